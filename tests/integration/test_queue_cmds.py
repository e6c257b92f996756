"""`ferry queue list|show|hold|release|retry|delete|bounce`, black-box.

Mail is relayed from 127.0.0.1 (relay_networks) to remote domains.  Every
remote domain is routed to a closed loopback port (and the resolver is a
loopback port where nothing answers), and retries are an hour apart, so
after its first attempt every message simply waits in the queue whether
or not remote delivery exists yet.  A held message is left alone
by the queue role, which makes the envelope changes of `retry` visible;
`release` then shows the queue role waking up at once (its attempt sets
a new next attempt long before any timer would).
"""

import json
import re

import pytest

from conftest import free_port, header, make_message, wait_until

SENDER = "alice@example.test"
NOSUCH = "0123456789abcdef"


def dead_resolver():
    """host:port on loopback where no DNS server listens."""
    return f"127.0.0.1:{free_port()}"


QUEUE_CONF = dict(relay_networks="127.0.0.0/8", retry_min="1h",
                  retry_max="2h", dns_resolvers=dead_resolver(),
                  route=f"* [127.0.0.1]:{free_port()}")


def relay(srv, rcpt, sender=SENDER, subject=None):
    """Sends one message to rcpt and returns its queue entry once the
    queue role has made its first attempt (a next attempt is set)."""
    before = {m["id"] for m in srv.queue_json()}
    with srv.smtp() as s:
        s.sendmail(sender, [rcpt], make_message(subject=subject, sender=sender,
                                                to=rcpt))

    def attempted():
        for m in srv.queue_json():
            if m["id"] not in before and all(
                    r["next_attempt"] > 0 for r in m["recipients"]):
                return m
        return None
    return wait_until(attempted, 15, what=f"first attempt for {rcpt}")


def entry(srv, qid):
    for m in srv.queue_json():
        if m["id"] == qid:
            return m
    return None


def one_line(text):
    assert text.endswith("\n") and text.count("\n") == 1, repr(text)
    return text.strip()


# ------------------------------------------------------------ list / show

@pytest.mark.ferry_conf(**QUEUE_CONF)
def test_list_and_show_describe_the_queue(ferry):
    m = relay(ferry, "someone@remote.example", subject="list me")
    for key in ("id", "arrival", "age", "sender", "size", "held",
                "next_attempt", "recipients"):
        assert key in m, (key, m)
    assert m["sender"] == SENDER and m["held"] is False
    assert m["age"] >= 0 and m["next_attempt"] > 0
    (r,) = m["recipients"]
    for key in ("orig", "addr", "local", "state", "attempts",
                "next_attempt", "last_error"):
        assert key in r, (key, r)
    assert r["addr"] == "someone@remote.example" and r["local"] is False
    assert r["state"] == "pending"
    assert m["next_attempt"] == r["next_attempt"]

    out = ferry.cli_ok("queue", "list").stdout
    assert m["id"] in out and "someone@remote.example (remote)" in out
    assert "next=" in out
    if r["last_error"] is not None:
        assert "error=" in out

    out = ferry.cli_ok("queue", "show", m["id"]).stdout
    assert f"id: {m['id']}" in out and "held: no" in out
    assert "Subject: list me" in out

    shown = json.loads(ferry.cli_ok("queue", "show", m["id"], "--json").stdout)
    assert shown["id"] == m["id"] and shown["recipients"] == m["recipients"]


# ------------------------------------------------------------ hold, retry, release

@pytest.mark.ferry_conf(**QUEUE_CONF)
def test_hold_retry_release(ferry):
    m = relay(ferry, "someone@remote.example")
    qid = m["id"]
    ferry.cli_ok("queue", "hold", qid)
    ferry.cli_ok("queue", "hold", qid)          # holding twice is fine
    held = entry(ferry, qid)
    assert held["held"] is True
    assert re.search(rf"^{qid} .* held$", ferry.cli_ok("queue", "list").stdout, re.M)
    assert "held: yes" in ferry.cli_ok("queue", "show", qid).stdout

    # The queue role leaves a held message alone: retry's change stays.
    out = ferry.cli_ok("queue", "retry", qid).stdout
    assert "1 recipient in 1 message" in out, out
    m = entry(ferry, qid)
    assert m["held"] is True
    assert m["recipients"][0]["next_attempt"] == 0

    # Released, it is attempted at once: a new next attempt an hour out.
    ferry.cli_ok("queue", "release", qid)
    wait_until(lambda: (lambda e: e and not e["held"] and
                        e["recipients"][0]["next_attempt"] > 0)(entry(ferry, qid)),
               15, what="the queue role to attempt the released message")


@pytest.mark.ferry_conf(**QUEUE_CONF)
def test_retry_all_and_domain(ferry):
    a = relay(ferry, "someone@remote.example")["id"]
    b = relay(ferry, "other@far.example")["id"]
    for qid in (a, b):
        ferry.cli_ok("queue", "hold", qid)

    def nexts():
        return {qid: entry(ferry, qid)["recipients"][0]["next_attempt"]
                for qid in (a, b)}

    out = ferry.cli_ok("queue", "retry", "--domain", "nowhere.example").stdout
    assert "0 recipients in 0 messages" in out, out
    assert all(v > 0 for v in nexts().values())

    out = ferry.cli_ok("queue", "retry", "--domain", "Remote.Example.").stdout
    assert "1 recipient in 1 message" in out, out
    n = nexts()
    assert n[a] == 0 and n[b] > 0, n

    out = ferry.cli_ok("queue", "retry", "--all").stdout
    assert "2 recipients in 2 messages" in out, out
    assert nexts() == {a: 0, b: 0}

    r = ferry.cli("queue", "retry", "--domain", "bad domain!")
    assert r.returncode == 1, r
    one_line(r.stderr)

    for qid in (a, b):
        ferry.cli_ok("queue", "release", qid)
    wait_until(lambda: all(v > 0 for v in nexts().values()), 15,
               what="both released messages to be attempted")


# ------------------------------------------------------------ delete

@pytest.mark.ferry_conf(**QUEUE_CONF)
def test_delete(ferry):
    qid = relay(ferry, "someone@remote.example")["id"]
    ferry.cli_ok("queue", "delete", qid)
    assert entry(ferry, qid) is None
    for verb in ("show", "delete", "hold", "release", "retry", "bounce"):
        r = ferry.cli("queue", verb, qid)
        assert r.returncode == 1, (verb, r)
        assert one_line(r.stderr) == f"ferry: no such message {qid}"


# ------------------------------------------------------------ errors

@pytest.mark.ferry_conf(**QUEUE_CONF)
@pytest.mark.parametrize("args", [
    (), ("frobnicate", NOSUCH), ("hold",), ("hold", NOSUCH, NOSUCH),
    ("release",), ("bounce",), ("delete", "--json", NOSUCH),
    ("hold", "--json", NOSUCH), ("retry",), ("retry", "--domain"),
    ("retry", "--bogus"), ("retry", "--all", "x"), ("retry", "--json", "--all"),
    ("show",), ("show", NOSUCH, NOSUCH), ("list", "x"),
])
def test_usage_errors_exit_2(ferry, args):
    r = ferry.cli("queue", *args)
    assert r.returncode == 2, r
    assert one_line(r.stderr).startswith("usage: ferry queue")


@pytest.mark.ferry_conf(**QUEUE_CONF)
@pytest.mark.parametrize("verb", ["show", "delete", "hold", "release", "retry", "bounce"])
def test_unknown_id_exit_1(ferry, verb):
    for qid in (NOSUCH, "../../etc/passwd", "0123456789ABCDEF"):
        r = ferry.cli("queue", verb, qid)
        assert r.returncode == 1, (qid, r)
        assert one_line(r.stderr) == f"ferry: no such message {qid}"


# ------------------------------------------------------------ bounce

@pytest.mark.ferry_conf(**QUEUE_CONF)
def test_bounce(ferry):
    m = relay(ferry, "someone@remote.example", subject="please bounce me")
    qid = m["id"]
    before = m["recipients"][0]["last_error"]
    # With the server stopped the envelope the command leaves is exactly
    # what the queue role will find when it starts again.
    ferry.stop()
    ferry.proc = None
    out = ferry.cli_ok("queue", "bounce", qid).stdout
    assert "1 recipient marked failed" in out, out
    e = entry(ferry, qid)
    assert e is not None and e["held"] is False
    (r,) = e["recipients"]
    assert r["state"] == "failed"
    assert r["last_error"].startswith("5.0.0 bounced by the operator")
    if before:
        assert before in r["last_error"]
    again = ferry.cli("queue", "bounce", qid)
    assert again.returncode == 1, again
    one_line(again.stderr)

    ferry.start()
    # The queue role finishes the message; a DSN, once queue roles send
    # them, is queued before the recipient becomes "bounced" or the
    # original goes.
    def finished():
        e = entry(ferry, qid)
        return e is None or e["recipients"][0]["state"] == "bounced"
    wait_until(finished, 15, what="the queue role to finish the bounce")
    dsn_queued = any(x["sender"] == "" for x in ferry.queue_json())
    if not dsn_queued and not ferry.maildir_files(SENDER):
        pytest.xfail("pending the queue-role integration: FAILED recipients "
                     "-> bounce_queue() -> BOUNCED; no DSN was sent")
    (dsn,) = ferry.wait_delivered(SENDER, 1, timeout=15)
    assert header(dsn, "Return-Path") == ["<>"]
    assert "MAILER-DAEMON@" in header(dsn, "From")[0]
    assert header(dsn, "Subject") == ["Undelivered Mail Returned to Sender"]
    assert header(dsn, "Auto-Submitted") == ["auto-replied"]
    ctype = header(dsn, "Content-Type")[0]
    assert "multipart/report" in ctype and "report-type=delivery-status" in ctype
    text = dsn.decode("utf-8", "replace")
    unfolded = re.sub(r"\r\n[ \t]", " ", text)
    assert "Final-Recipient: rfc822;someone@remote.example" in unfolded
    assert "Action: failed" in unfolded and "Status: 5.0.0" in unfolded
    assert "bounced by the operator" in unfolded
    assert "Subject: please bounce me" in text
    assert "Hello." not in text            # headers only, not the body
