"""Loops and floods: RFC 5321 6.3 hop counting (max_hops, 554 5.4.6 at
the end of DATA and of BDAT LAST, the Received field Ferry adds counted
too, an alias that sends mail out and gets it back) and RCPT commands
counted per transaction (max_recipients: 452 4.5.3 past it, 421 at twice
it), with the exact replies and log lines."""

import re
import smtplib

import pytest

from conftest import header, make_message
from fakedns import fakedns  # noqa: F401 (fixture)
from fakemx import peers, port, relay_conf  # noqa: F401


def with_received(n, **kw):
    hops = tuple(f"Received: from hop{i}.example by relay{i}.example; "
                 f"Thu, 01 Jan 2026 00:00:{i % 60:02d} +0000"
                 for i in range(n))
    return make_message(extra_headers=hops, **kw)


def data_reply(ferry, msg, rcpt="alice@example.test"):
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example>", 250)
        c.expect(f"RCPT TO:<{rcpt}>", 250)
        c.expect("DATA", 354)
        c.send(msg + b".\r\n")
        return c.reply()


def bdat_reply(ferry, msg, rcpt="alice@example.test"):
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example>", 250)
        c.expect(f"RCPT TO:<{rcpt}>", 250)
        half = len(msg) // 2
        c.send(b"BDAT %d\r\n" % half + msg[:half])
        assert c.reply().code == 250
        c.send(b"BDAT %d LAST\r\n" % (len(msg) - half) + msg[half:])
        return c.reply()


# ------------------------------------------------------------ hops

@pytest.mark.ferry_conf(max_hops=5)
@pytest.mark.parametrize("how", [data_reply, bdat_reply])
def test_hops_at_the_limit_accepted_one_more_refused(ferry, how):
    # 4 Received fields + the one Ferry adds = 5: allowed.
    r = how(ferry, with_received(4, subject="four"))
    assert r.code == 250, r
    msgs = ferry.wait_delivered("alice@example.test")
    assert len(header(msgs[0], "Received")) == 5
    off = ferry.log_offset()
    r = how(ferry, with_received(5, subject="five"))
    assert r.code == 554 and r.enhanced == "5.4.6", r
    assert "6 Received header fields" in r.text
    ferry.wait_log(r"smtp reject stage=data code=554 id=\S+ size=\d+ "
                   r"reason=\"Too many hops: 6 Received header fields "
                   r"\(mail loop\?\)\"", since=off)
    ferry.barrier()
    assert len(ferry.maildir_messages("alice@example.test")) == 1


def test_default_max_hops_is_50(ferry):
    r = data_reply(ferry, with_received(49))
    assert r.code == 250, r
    r = data_reply(ferry, with_received(50))
    assert r.code == 554 and r.enhanced == "5.4.6", r


@pytest.mark.ferry_conf(max_hops=3)
def test_received_counted_case_blind_and_folded(ferry):
    hdrs = ("RECEIVED: from a\r\n\tby b; Thu, 01 Jan 2026 00:00:00 +0000",
            "received:from c by d; Thu, 01 Jan 2026 00:00:00 +0000",
            "X-Received: not one of them",
            "Received-SPF: pass (neither)")
    r = data_reply(ferry, make_message(extra_headers=hdrs))
    assert r.code == 250, r                     # 2 + ours = 3
    hdrs = hdrs + ("Received : obsolete space before the colon",)
    r = data_reply(ferry, make_message(extra_headers=hdrs))
    assert r.code == 554 and r.enhanced == "5.4.6", r


@pytest.mark.ferry_conf(max_hops=2)
def test_received_in_the_body_does_not_count(ferry):
    body = "".join(f"Received: from body{i}\r\n" for i in range(5))
    r = data_reply(ferry, make_message(body=body))
    assert r.code == 250, r


def test_alias_loop_is_stopped(make_ferry, peers, port):
    """loop@example.test is an alias for a remote address whose server
    sends everything back to loop@example.test: each pass adds Ferry's
    Received field, and the pass that would make it max_hops + 1 is
    refused."""
    mx = peers.mx("127.0.0.2", port)
    srv = make_ferry(relay_conf(port, max_hops=4,
                                route=f"away.test [127.0.0.2]:{port}"))
    srv.add_alias("loop@example.test", "back@away.test")
    msg = make_message(to="loop@example.test", subject="round and round")
    replies = []
    for n in range(1, 10):
        try:
            with srv.smtp() as s:
                s.sendmail("x@remote.example", ["loop@example.test"], msg)
            replies.append(250)
        except smtplib.SMTPDataError as e:
            replies.append((e.smtp_code, e.smtp_error.decode()))
            break
        msg = mx.wait_messages(n)[-1].data      # the peer sends it back
        assert len(header(msg, "Received")) == n
        msg = msg.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    assert replies[:4] == [250, 250, 250, 250]
    code, text = replies[4]
    assert code == 554 and text.startswith("5.4.6 Too many hops: 5 "), text
    srv.wait_log(r"smtp reject stage=data code=554 .*Too many hops: 5 ")
    assert len(mx.messages) == 4


# ------------------------------------------------------------ recipients

def rcpt_replies(c, addrs):
    return [c.cmd(f"RCPT TO:<{a}>") for a in addrs]


@pytest.mark.ferry_conf(max_recipients=3)
def test_duplicates_count_against_max_recipients(ferry):
    off = ferry.log_offset()
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example>", 250)
        rs = rcpt_replies(c, ["alice@example.test"] * 5)
        assert [r.code for r in rs] == [250, 250, 250, 452, 452]
        assert all(r.enhanced == "4.5.3" for r in rs[3:])
        assert rs[3].text == "4.5.3 Too many recipients"
        c.expect("DATA", 354)
        c.send(make_message() + b".\r\n")
        assert c.reply().code == 250
    ferry.wait_delivered("alice@example.test")
    ferry.wait_log(r"smtp reject stage=rcpt rcpt=alice@example.test "
                   r"code=452 dsn=4.5.3 reason=\"too many recipients\" "
                   r"rcpt_commands=5 max_recipients=3", since=off)


@pytest.mark.ferry_conf(max_recipients=3)
def test_refused_rcpts_count_too(ferry):
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example>", 250)
        rs = rcpt_replies(c, ["nobody@example.test", "alice@example.test",
                              "nobody2@example.test", "bob@example.test"])
        assert [r.code for r in rs] == [550, 250, 550, 452]


@pytest.mark.ferry_conf(max_recipients=3)
def test_flood_of_rcpts_disconnected_at_twice_the_limit(ferry):
    off = ferry.log_offset()
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example>", 250)
        rs = rcpt_replies(c, ["bob@example.test"] * 6)
        assert [r.code for r in rs] == [250, 250, 250, 452, 452, 452]
        r = c.cmd("RCPT TO:<bob@example.test>")
        assert r.code == 421 and r.enhanced == "4.7.0", r
        assert "Too many recipients, closing connection" in r.text
        assert c.wait_closed()
    ferry.wait_log(r"smtp reject stage=rcpt code=421 dsn=4.7.0 "
                   r"reason=\"too many recipients\" rcpt_commands=7 "
                   r"max_recipients=3", since=off)
    ferry.barrier()
    assert ferry.maildir_messages("bob@example.test") == []


@pytest.mark.ferry_conf(max_recipients=2)
def test_rcpt_count_is_per_transaction(ferry):
    with ferry.raw() as c:
        c.ehlo()
        for _ in range(3):
            c.expect("MAIL FROM:<x@remote.example>", 250)
            rs = rcpt_replies(c, ["alice@example.test"] * 3)
            assert [r.code for r in rs] == [250, 250, 452]
            c.expect("RSET", 250)
        c.expect("MAIL FROM:<x@remote.example>", 250)
        c.expect("RCPT TO:<alice@example.test>", 250)
        c.expect("DATA", 354)
        c.send(make_message() + b".\r\n")
        assert c.reply().code == 250
    assert re.search(rb"Subject: ", ferry.wait_delivered(
        "alice@example.test")[0])
