"""Remote delivery results: per-recipient answers, retries with backoff,
DSNs for permanent failures and for queue_lifetime, delay warnings, the
operator's `queue bounce`, and DSNs for local failures."""

import re

from conftest import make_message, wait_until
from fakedns import fakedns  # noqa: F401 (fixture)
from fakemx import (SENDER, dsn_for, mx_zone, peers, port,  # noqa: F401
                    relay_conf, send)


def routed(port, **kw):
    return relay_conf(port, route=f"dest.test [127.0.0.2]:{port}", **kw)


def text_of(msg):
    """The DSN as text with every run of white space (line wrapping and
    header folding included) made one space."""
    return re.sub(r"\s+", " ", msg.decode("utf-8", "replace"))


def test_4xx_then_success(make_ferry, peers, port):
    mx = peers.mx("127.0.0.2", port, data=["451 4.3.0 try again later"])
    srv = make_ferry(routed(port))
    send(srv, "bob@dest.test")
    srv.wait_log(r"rcpt=bob@dest.test .*result=deferred .*451 4.3.0 try "
                 r"again later")
    got = mx.wait_messages(1, timeout=20)
    assert got[0].rcpt_tos == ["bob@dest.test"]
    srv.wait_log(r"rcpt=bob@dest.test .*result=sent")
    srv.wait_log(r"queue removed reason=finished")
    # No DSN for mail that got through in the end.
    srv.barrier()
    assert dsn_for(srv, count=0) == []


def test_5xx_gives_dsn_with_content(make_ferry, peers, port):
    peers.mx("127.0.0.2", port, rcpt={
        "bob@dest.test": "550 5.1.1 <bob@dest.test>: no such user here"})
    srv = make_ferry(routed(port))
    send(srv, "bob@dest.test", subject="will bounce")
    dsn = dsn_for(srv)
    assert len(dsn) == 1
    text = text_of(dsn[0])
    assert re.search(r"From: .*MAILER-DAEMON@mx\.example\.test", text)
    assert "multipart/report" in text and "delivery-status" in text
    assert "bob@dest.test" in text
    assert "5.1.1" in text and "no such user here" in text
    assert "127.0.0.2" in text            # the remote host
    assert "Subject: will bounce" in text  # the original headers
    assert "Hello there." not in text      # not the body
    # The DSN has the null sender.
    assert text.startswith("Return-Path: <> ")


def test_mixed_per_recipient_results(make_ferry, peers, port):
    mx = peers.mx("127.0.0.2", port, rcpt={
        "perm@dest.test": "550 5.1.1 unknown user",
        "temp@dest.test": ["450 4.2.1 mailbox busy"]})
    srv = make_ferry(routed(port))
    send(srv, ["ok@dest.test", "perm@dest.test", "temp@dest.test"])
    # ok@ now, temp@ on the retry, perm@ never (bounced).
    wait_until(lambda: sorted(mx.rcpts()) == ["ok@dest.test",
                                              "temp@dest.test"],
               20, what="ok@ and temp@ delivered")
    assert len(mx.messages) == 2
    assert mx.messages[0].rcpt_tos == ["ok@dest.test"]
    dsn = dsn_for(srv)
    assert len(dsn) == 1
    text = text_of(dsn[0])
    assert "perm@dest.test" in text
    assert "Final-Recipient: rfc822; temp@dest.test" not in text
    assert "Final-Recipient: rfc822; ok@dest.test" not in text


def test_queue_lifetime_expiry_gives_up(make_ferry, peers, port):
    peers.mx("127.0.0.2", port, data="451 4.3.0 still not ready")
    srv = make_ferry(routed(port, queue_lifetime="3s"))
    send(srv, "bob@dest.test", subject="expires")
    dsn = dsn_for(srv, timeout=30)
    text = text_of(dsn[0])
    assert "bob@dest.test" in text
    assert "still not ready" in text
    assert "Subject: expires" in text
    assert re.search(r"(?i)giv(en|e|ing) up|gave up", text)
    srv.wait_log(r"queue removed reason=finished")


def test_connection_refused_retries(make_ferry, port):
    srv = make_ferry(routed(port))
    send(srv, "bob@dest.test")
    m = srv.wait_log(r"queue deferred rcpt=bob@dest.test result=deferred "
                     r".* attempts=1 ")
    srv.wait_log(r"queue deferred rcpt=bob@dest.test result=deferred "
                 r".* attempts=2 ")
    srv.wait_log(r"relay delivery rcpt=bob@dest.test relay=\[127.0.0.2\]:"
                 r"\d+ dsn=4.4.1 result=deferred "
                 r"reply=\"\[127.0.0.2\]: 4.4.1 connection refused\"")
    assert m


def test_null_sender_failure_only_logged(make_ferry, peers, port):
    peers.mx("127.0.0.2", port, rcpt={"bob@dest.test": "550 5.1.1 nope"})
    srv = make_ferry(routed(port))
    with srv.smtp() as s:
        s.sendmail("", ["bob@dest.test"], make_message(sender="x@y.test"))
    srv.wait_log(r"queue dsn kind=failure result=none")
    srv.wait_log(r"queue removed reason=finished")


def test_delay_warning_once(make_ferry, peers, port):
    mx = peers.mx("127.0.0.2", port,
                  data=["451 4.3.0 later"] * 3)
    srv = make_ferry(routed(port, delay_warning="1s"))
    send(srv, "bob@dest.test", subject="slow one")
    dsn = dsn_for(srv, timeout=20)
    text = text_of(dsn[0])
    assert "bob@dest.test" in text and "Subject: slow one" in text
    assert re.search(r"Action: delayed", text)
    mx.wait_messages(1, timeout=30)
    srv.barrier()
    # Exactly one warning, and no failure DSN.
    assert len(dsn_for(srv)) == 1


def test_operator_bounce(make_ferry, port):
    srv = make_ferry(routed(port, retry_min="30s", retry_max="60s"))
    send(srv, "bob@dest.test", subject="operator bounce")
    srv.wait_log(r"rcpt=bob@dest.test .*result=deferred")
    q = srv.queue_json()
    msgs = q["messages"] if isinstance(q, dict) else q
    qid = msgs[0]["id"]
    r = srv.cli("queue", "bounce", qid)
    assert r.returncode == 0, r.stderr
    dsn = dsn_for(srv, timeout=15)
    assert "5.0.0" in text_of(dsn[0])
    assert "bounced by the operator" in text_of(dsn[0])


def test_local_failure_bounces(make_ferry, port):
    """A local recipient that fails for good (here: the message does not
    fit the quota, which fails at once since issue 13) gets a DSN like a
    remote one.  Through the queue (direct delivery would refuse it at
    the end of DATA)."""
    srv = make_ferry(routed(port, queue_lifetime="2s", direct_delivery="no"))
    srv.add_user("carol@example.test", quota="100")
    with srv.raw() as c:      # no SIZE= declared, so RCPT is accepted
        r = c.send_message(SENDER, ["carol@example.test"],
                           make_message(sender=SENDER, to="carol@example.test",
                                        subject="to carol",
                                        body="x" * 400 + "\r\n"))
        assert r.code == 250
    srv.wait_log(r"rcpt=carol@example.test .*result=failed .*5\.2\.2")
    dsn = dsn_for(srv, timeout=20)
    text = text_of(dsn[0])
    assert "carol@example.test" in text and "Subject: to carol" in text
    assert srv.maildir_files("carol@example.test") == []
