"""Issue 13's quotas, black-box: a message that does not fit a mailbox
that is not yet full is refused at end of DATA (552 5.2.2) when every
recipient is local, and bounced at once (not retried for days) for the
one recipient it does not fit when there are others; one warning message
at 90% of the quota; `user list` and `user quota ADDRESS` show usage and
limit."""

import json
import re

from conftest import header, make_message, queue_id, wait_until
from test_queue_cmds import QUEUE_CONF

ALICE, BOB = "alice@example.test", "bob@example.test"
DAVE = "dave@example.test"
# The envelope sender is bob (local, so the DSNs are visible here); the
# From: field is an outside address, as mail from outside has (a hosted
# domain in From: from outside is refused as forged, test_dmarc.py).
OUTSIDE = "sender@remote.example"


def big_message(kb=8, subject="big", sender=OUTSIDE, to=DAVE):
    return make_message(subject=subject, sender=sender, to=to,
                        body=("z" * 70 + "\r\n") * (kb * 1024 // 72))


def test_mixed_local_recipients_bounce_only_the_full_one(ferry):
    """alice has room, dave's 4K quota cannot take 8K: 250, alice gets
    it, the sender (bob, local, so the DSN is visible) gets a bounce for
    dave at once with the reason, and nothing waits in the queue."""
    ferry.add_user(DAVE, quota="4K")
    with ferry.raw() as c:
        r = c.send_message(BOB, [ALICE, DAVE], big_message())
        assert r.code == 250, r
        qid = queue_id(r.text)
    assert len(ferry.maildir_messages(ALICE)) == 1
    assert ferry.maildir_messages(DAVE) == []
    (dsn,) = ferry.wait_delivered(BOB, 1)
    assert b"5.2.2" in dsn and b"dave@example.test" in dsn, dsn[:2000]
    assert b"does not fit in the quota" in dsn
    ferry.wait_log(rf"{qid} smtp over-quota rcpt=dave@example\.test ")
    ferry.wait_queue_empty()
    assert f"{qid} queue deferred" not in ferry.log_text()


def test_queued_local_recipient_over_quota_fails_at_once(make_ferry):
    """Through the queue (direct_delivery = no): the same message fails
    for dave on the first attempt with a clear reason, no retries."""
    srv = make_ferry({"direct_delivery": "no"})
    srv.add_user(DAVE, quota="4K")
    with srv.raw() as c:
        r = c.send_message(BOB, [ALICE, DAVE], big_message())
        assert r.code == 250, r
        qid = queue_id(r.text)
    srv.wait_delivered(ALICE, 1)
    srv.wait_log(rf"{qid} queue failed rcpt=dave@example\.test .*result=failed "
                 r"reason=\"5\.2\.2 mailbox full: the message \(\d+ bytes\) does not "
                 r"fit in the quota of 4096 bytes\"")
    (dsn,) = srv.wait_delivered(BOB, 1)
    assert b"5.2.2" in dsn
    srv.wait_queue_empty()
    assert f"{qid} queue deferred" not in srv.log_text()


def test_full_mailbox_is_still_refused_at_rcpt(ferry):
    ferry.add_user(DAVE, quota="100K")
    with ferry.raw() as c:
        c.send_message(BOB, [DAVE], big_message(kb=3))
    ferry.wait_delivered(DAVE, 1)
    ferry.cli_ok("user", "quota", DAVE, "2K")
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example>", 250)
        r = c.cmd(f"RCPT TO:<{DAVE}>")
        assert r.code == 552, r


def warnings_in(srv, addr):
    return [m for m in srv.maildir_messages(addr)
            if header(m, "Subject") and "full" in header(m, "Subject")[0]
            and header(m, "From") and "MAILER-DAEMON" in header(m, "From")[0]]


def lines_message(n, subject, to=DAVE):
    """A message of n 72-byte body lines (plus about 500 bytes of header
    at delivery)."""
    return make_message(subject=subject, sender=OUTSIDE, to=to,
                        body=("w" * 70 + "\r\n") * n)


def test_one_warning_at_ninety_percent(ferry):
    ferry.add_user(DAVE, quota="20K")
    # About 9.9K of 20K: no warning.
    with ferry.raw() as c:
        assert c.send_message(BOB, [DAVE], lines_message(130, "one")).code == 250
    assert warnings_in(ferry, DAVE) == []
    # About 19K: past 90%: one warning, in the INBOX.
    with ferry.raw() as c:
        assert c.send_message(BOB, [DAVE], lines_message(120, "two")).code == 250
    (w,) = warnings_in(ferry, DAVE)
    assert re.match(r"Your mailbox is 9\d% full", header(w, "Subject")[0])
    assert header(w, "To") == [f"<{DAVE}>"]
    assert header(w, "From") == ["Mail Delivery System <MAILER-DAEMON@mx.example.test>"]
    assert header(w, "Auto-Submitted") == ["auto-generated"]
    assert b"of its 20480 bytes" in w
    ferry.wait_log(r"quota warning-sent rcpt=dave@example\.test used=\d+ quota=20480")
    # Another small one still fits: no second warning.
    with ferry.raw() as c:
        assert c.send_message(BOB, [DAVE], make_message(subject="three")).code == 250
    assert len(warnings_in(ferry, DAVE)) == 1

    # The user cleans up (the files and the maildirsize go, as a client's
    # expunge would shrink it): below 90% again, the next crossing warns
    # once more.
    md = ferry.maildir(DAVE)
    for p in list((md / "new").iterdir()) + list((md / "cur").iterdir()):
        p.unlink()
    (md / "maildirsize").unlink()
    with ferry.raw() as c:
        assert c.send_message(BOB, [DAVE], make_message(subject="small")).code == 250
    assert not (md / "ferry-quota-warned").exists()
    with ferry.raw() as c:
        assert c.send_message(BOB, [DAVE], lines_message(250, "again")).code == 250
    assert len(warnings_in(ferry, DAVE)) == 1   # the first one was deleted
    assert (md / "ferry-quota-warned").exists()


def test_no_warning_without_quota(ferry):
    with ferry.raw() as c:
        c.send_message(BOB, [ALICE], big_message(kb=20, to=ALICE))
    assert warnings_in(ferry, ALICE) == []
    assert "quota warning" not in ferry.log_text()


def test_user_list_and_quota_show_usage(ferry):
    ferry.add_user(DAVE, quota="100K")
    with ferry.raw() as c:
        c.send_message(BOB, [DAVE], big_message(kb=10))
    out = ferry.cli_ok("user", "list").stdout
    line = next(l for l in out.splitlines() if l.startswith(DAVE))
    m = re.match(rf"{re.escape(DAVE)} used=(\S+) messages=1 quota=100K \((\d+)%\)$", line)
    assert m, line
    assert m.group(2) in ("9", "10", "11"), line
    line = next(l for l in out.splitlines() if l.startswith(ALICE))
    assert re.match(rf"{re.escape(ALICE)} used=0 messages=0 quota=none$", line), line

    rows = {u["address"]: u for u in json.loads(
        ferry.cli_ok("user", "list", "--json").stdout)}
    assert rows[DAVE]["quota"] == 102400 and rows[DAVE]["messages"] == 1
    assert 10000 < rows[DAVE]["used"] < 12000
    assert rows[ALICE]["used"] == 0 and rows[ALICE]["quota"] == 0

    out = ferry.cli_ok("user", "quota", DAVE).stdout
    assert out.startswith(f"{DAVE} used=") and "quota=100K" in out
    (one,) = json.loads(ferry.cli_ok("user", "quota", "Dave@Example.Test", "--json").stdout)
    assert one["address"] == DAVE and one["used"] == rows[DAVE]["used"]
    r = ferry.cli("user", "quota", "nobody@example.test")
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r
    assert ferry.cli("user", "quota", DAVE, "1M", "--json").returncode == 2
    ferry.cli_ok("user", "quota", DAVE, "1M")
    assert "quota=1M" in ferry.cli_ok("user", "quota", DAVE).stdout
