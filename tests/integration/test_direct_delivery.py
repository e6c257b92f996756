"""Direct local delivery (direct_delivery, on by default): mail whose
recipients are all local mailboxes is written into their Maildirs before
the client gets 250, without a trip through the queue.  Mail with a remote
recipient, more than ten recipients, or direct_delivery = no goes through
the queue as before; a recipient that cannot be delivered directly is
queued alone.  Nothing is lost and nothing is delivered twice."""

import os
import re

import pytest

from conftest import header, make_message, queue_id, wait_until

ALICE, BOB = "alice@example.test", "bob@example.test"


def send_raw(ferry, rcpts, msg, sender="x@remote.example"):
    with ferry.raw() as c:
        r = c.send_message(sender, rcpts, msg)
        assert r.code == 250, r
        return queue_id(r.text)


def accepted(ferry, qid):
    """The fields of the 'smtp accepted' log line of qid."""
    m = ferry.wait_log(rf"smtp accepted id={qid} .*$")
    return dict(kv.split("=", 1) for kv in m.group(0).split()[2:] if "=" in kv)


def test_local_mail_is_in_the_maildir_when_250_arrives(ferry):
    msg = make_message(subject="direct")
    qid = send_raw(ferry, [ALICE], msg)
    # No waiting: the file is there the moment the reply is.
    (m,) = ferry.maildir_messages(ALICE)
    assert m.endswith(msg)
    assert header(m, "Return-Path") == ["<x@remote.example>"]
    assert header(m, "Delivered-To") == [ALICE]
    assert f"id {qid}" in header(m, "Received")[0]
    a = accepted(ferry, qid)
    assert a["delivered"] == "1" and a["queued"] == "no", a
    assert re.search(rf"{qid} smtp delivered rcpt={ALICE} "
                     r"mailbox=mail/example\.test/alice result=sent", ferry.log_text())
    assert ferry.queue_json() == []
    # Nothing left behind in the spool either.
    assert not list((ferry.state_dir / "spool" / "queue").rglob("*.env"))


def test_each_local_recipient_gets_its_own_copy(ferry):
    ferry.add_user("carol@example.test")
    ferry.add_alias("team@example.test", BOB, "carol@example.test")
    msg = make_message(subject="to several")
    qid = send_raw(ferry, [ALICE, "team@example.test"], msg)
    for addr in (ALICE, BOB, "carol@example.test"):
        (m,) = ferry.maildir_messages(addr)
        assert m.endswith(msg)
        assert header(m, "Delivered-To") == [addr]
    files = [ferry.maildir_files(a)[0] for a in (ALICE, BOB, "carol@example.test")]
    assert len({os.stat(f).st_ino for f in files}) == 3
    a = accepted(ferry, qid)
    assert a["delivered"] == "3" and a["queued"] == "no", a


def test_many_messages_on_one_connection(ferry):
    """The spool file of one message serves the next (spool.c recycling,
    which keeps the old bytes and cuts the file only for a shorter
    message): every message arrives whole, none mixes with another, also
    when a short one follows a long one."""
    sizes = [50 * ((i * 7) % 30) + 1 for i in range(30)]
    msgs = [make_message(subject=f"n{i}", body=("line %d\r\n" % i) * n)
            for i, n in enumerate(sizes)]
    with ferry.raw() as c:
        c.ehlo()
        for m in msgs:
            r = c.send_message("x@remote.example", [ALICE], m, ehlo=False)
            assert r.code == 250, r
    got = ferry.maildir_messages(ALICE)
    assert len(got) == 30
    by_subject = {header(g, "Subject")[0]: g for g in got}
    for i, m in enumerate(msgs):
        g = by_subject[f"n{i}"]
        assert g.endswith(m), i
        # nothing of a longer message before it is left at the end
        assert g.count(b"line ") == sizes[i], i
    # tmp/ holds only messages being received; the kept file waits in
    # free/ (with the last message's bytes), and goes when the server
    # stops.
    spool = ferry.state_dir / "spool"
    assert list((spool / "tmp").iterdir()) == []
    kept = list((spool / "free").iterdir())
    assert kept
    ferry.stop()
    assert list((spool / "free").iterdir()) == []


@pytest.mark.ferry_conf(relay_networks="127.0.0.0/8")
def test_short_queued_message_after_a_long_direct_one(ferry):
    """A message that goes through the queue reuses the spool file of a
    longer one delivered directly before it on the same connection: the
    queued content is cut to its own length."""
    long_msg = make_message(subject="long", body="long line\r\n" * 3000)
    short = make_message(subject="short", body="short body\r\n")
    with ferry.raw() as c:
        c.ehlo()
        r = c.send_message("x@remote.example", [ALICE], long_msg, ehlo=False)
        assert r.code == 250, r
        r = c.send_message("x@remote.example", [ALICE, "someone@remote.example"],
                           short, ehlo=False)
        assert r.code == 250, r
    qid = queue_id(r.text)
    a = accepted(ferry, qid)
    assert a["queued"] == "yes", a
    ferry.wait_log(rf"{qid} queue delivered rcpt={ALICE} .*result=sent")
    got = {header(m, "Subject")[0]: m for m in ferry.wait_delivered(ALICE, 2)}
    assert got["long"].endswith(long_msg)
    assert got["short"].endswith(short) and b"long line" not in got["short"]


@pytest.mark.ferry_conf(relay_networks="127.0.0.0/8")
def test_mixed_local_and_remote_goes_through_the_queue(ferry):
    msg = make_message(subject="mixed")
    qid = send_raw(ferry, [ALICE, "someone@remote.example"], msg)
    a = accepted(ferry, qid)
    assert a["delivered"] == "0" and a["queued"] == "yes", a
    ferry.wait_log(rf"{qid} queue delivered rcpt={ALICE} .*result=sent")
    (m,) = ferry.wait_delivered(ALICE)
    assert m.endswith(msg) and header(m, "Delivered-To") == [ALICE]
    (q,) = [x for x in ferry.queue_json() if x["id"] == qid]
    states = {r["addr"]: r["state"] for r in q["recipients"]}
    assert states == {ALICE: "done", "someone@remote.example": "pending"}


def test_more_than_ten_recipients_go_through_the_queue(ferry):
    users = [f"u{i}@example.test" for i in range(11)]
    for u in users:
        ferry.add_user(u)
    qid = send_raw(ferry, users, make_message(subject="eleven"))
    a = accepted(ferry, qid)
    assert a["queued"] == "yes" and a["delivered"] == "0", a
    for u in users:
        (m,) = ferry.wait_delivered(u)
        assert header(m, "Delivered-To") == [u]
    ferry.wait_queue_empty()


@pytest.mark.ferry_conf(direct_delivery="no")
def test_direct_delivery_off_uses_the_queue(ferry):
    qid = send_raw(ferry, [ALICE], make_message(subject="queued"))
    a = accepted(ferry, qid)
    assert a["queued"] == "yes" and a["delivered"] == "0", a
    ferry.wait_log(rf"{qid} queue delivered rcpt={ALICE} .*result=sent")
    (m,) = ferry.wait_delivered(ALICE)
    assert header(m, "Delivered-To") == [ALICE]
    assert f"{qid} smtp delivered" not in ferry.log_text()


def test_a_recipient_that_fails_is_queued_alone(ferry):
    """bob's Maildir cannot take mail (new/ is a file): alice gets hers
    before 250, bob's copy waits in the queue, and once the Maildir is
    repaired a retry delivers it, without a second copy for alice."""
    md = ferry.maildir(BOB)
    for sub in ("tmp", "cur"):
        (md / sub).mkdir(parents=True, exist_ok=True)
    (md / "new").write_text("not a directory")
    msg = make_message(subject="half")
    qid = send_raw(ferry, [ALICE, BOB], msg)
    assert len(ferry.maildir_messages(ALICE)) == 1
    a = accepted(ferry, qid)
    assert a["delivered"] == "1" and a["queued"] == "yes", a
    assert re.search(rf"{qid} smtp direct-delivery-failed rcpt={BOB} .*queued=yes",
                     ferry.log_text())

    def bob_deferred():
        for x in ferry.queue_json():
            if x["id"] == qid:
                st = {r["addr"]: r for r in x["recipients"]}
                return (st[ALICE]["state"] == "done" and st[BOB]["state"] == "pending"
                        and st[BOB]["attempts"] >= 1 and st[BOB]["last_error"])
        return False
    wait_until(bob_deferred, 10, what="bob's copy deferred in the queue")
    (md / "new").unlink()
    ferry.cli_ok("queue", "retry", qid)
    (m,) = ferry.wait_delivered(BOB)
    assert m.endswith(msg) and header(m, "Delivered-To") == [BOB]
    ferry.wait_queue_empty()
    assert len(ferry.maildir_messages(ALICE)) == 1


def test_quota_reached_after_rcpt_is_refused_at_end_of_data(ferry):
    """RCPT passes (no SIZE given, mailbox below quota), the message turns
    out larger than what is left: refused at end of DATA with 552 5.2.2
    (issue 13: no longer accepted and retried for days), not queued."""
    ferry.add_user("dave@example.test", quota="20K")
    big = make_message(subject="big", body=("z" * 70 + "\r\n") * 500)
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example>", 250)
        c.expect("RCPT TO:<dave@example.test>", 250)
        c.expect("DATA", 354)
        c.send(big + b".\r\n")
        r = c.reply()
        assert r.code == 552 and r.enhanced == "5.2.2", r
        assert "quota" in r.text
        # The session goes on.
        c.expect("MAIL FROM:<x@remote.example>", 250)
    assert ferry.maildir_messages("dave@example.test") == []
    assert ferry.queue_json() == []
    ferry.wait_log(r"smtp over-quota rcpt=dave@example\.test ")
    ferry.wait_log(r"smtp reject stage=data code=552 dsn=5\.2\.2 ")


def test_quota_lowered_after_rcpt_is_applied_at_commit(ferry):
    """The commit skips reading the users again only while the store is
    unchanged since RCPT: a quota lowered in between is what delivery
    enforces (the message does not fit: 552)."""
    ferry.add_user("erin@example.test", quota="100M")
    msg = make_message(subject="big", body=("q" * 70 + "\r\n") * 100)
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example>", 250)
        c.expect("RCPT TO:<erin@example.test>", 250)
        ferry.cli_ok("user", "quota", "erin@example.test", "2K")
        c.expect("DATA", 354)
        c.send(msg + b".\r\n")
        r = c.reply()
        assert r.code == 552, r
    assert ferry.maildir_messages("erin@example.test") == []
    assert ferry.queue_json() == []


def test_direct_copy_starts_with_the_delivery_headers(ferry):
    """Return-Path and Delivered-To come first, then Ferry's Received
    header, then the client's headers unchanged.  (Headers that DATA
    checks add on this path: test_scanners.py, spamd.)"""
    msg = make_message(subject="hdrs")
    send_raw(ferry, [ALICE], msg)
    (m,) = ferry.maildir_messages(ALICE)
    head = m.split(b"\r\n\r\n", 1)[0].decode()
    names = [l.split(":", 1)[0] for l in head.split("\r\n") if l and not l[0].isspace()]
    assert names[:3] == ["Return-Path", "Delivered-To", "Received"], names


def test_user_deleted_after_rcpt_is_not_delivered_directly(ferry):
    """carol is deleted while her message is being sent: it is not
    written into a mailbox that no longer has a user (the queue finds the
    user gone and fails the recipient, as for any queued mail)."""
    carol = "carol@example.test"
    ferry.add_user(carol)
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<>", 250)
        c.expect(f"RCPT TO:<{carol}>", 250)
        ferry.cli_ok("user", "del", carol)
        c.expect("DATA", 354)
        c.send(make_message(to=carol, subject="too late") + b".\r\n")
        r = c.reply()
        assert r.code == 250, r
        qid = queue_id(r.text)
    a = accepted(ferry, qid)
    assert a["delivered"] == "0" and a["queued"] == "yes", a
    ferry.wait_log(rf"{qid} queue failed rcpt={carol} .*result=failed .*5\.1\.1")
    assert not ferry.maildir(carol).exists()
