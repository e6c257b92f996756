"""Message content: end of data, dot-stuffing, SMTP smuggling, strict
CRLF, BDAT (CHUNKING), pipelining, slow and vanishing clients."""

import socket
import struct
import time

import pytest

from conftest import body_of, header, make_message, queue_id, wait_until


def assert_nothing_queued(ferry):
    ferry.wait_queue_empty()


def spool_tmp_empty(ferry):
    d = ferry.state_dir / "spool" / "tmp"
    return not d.is_dir() or not any(d.iterdir())


def open_data(c, rcpts=("alice@example.test",), sender="x@remote.example"):
    c.ehlo()
    c.expect(f"MAIL FROM:<{sender}>", 250)
    for r in rcpts:
        c.expect(f"RCPT TO:<{r}>", 250)
    c.expect("DATA", 354)


# ------------------------------------------------------------ dot-stuffing

def test_dot_stuffing_is_undone(ferry):
    wire = (b"Subject: dots\r\n\r\n"
            b"..one dot\r\n"
            b"...two dots\r\n"
            b"..\r\n"
            b"not.at.start\r\n"
            b"end\r\n")
    with ferry.raw() as c:
        open_data(c)
        c.send(wire + b".\r\n")
        r = c.reply()
        assert r.code == 250, r
    (m,) = ferry.wait_delivered("alice@example.test")
    assert body_of(m) == b".one dot\r\n..two dots\r\n.\r\nnot.at.start\r\nend\r\n", m


def test_smtplib_dot_lines_round_trip(ferry):
    body = ".\r\n..\r\n.leading\r\n\r\n.\r\nlast\r\n"
    with ferry.smtp() as s:
        s.sendmail("x@remote.example", ["alice@example.test"], make_message(body=body))
    (m,) = ferry.wait_delivered("alice@example.test")
    assert body_of(m) == body.encode(), m


def test_empty_body(ferry):
    with ferry.raw() as c:
        open_data(c)
        c.send(b"Subject: empty\r\n\r\n.\r\n")
        assert c.reply().code == 250
    (m,) = ferry.wait_delivered("alice@example.test")
    assert m.endswith(b"Subject: empty\r\n\r\n"), m


# ------------------------------------------------------------ smuggling

SMUGGLING = {
    "LF.LF": b"\n.\n",
    "LF.CRLF": b"\n.\r\n",
    "CR.CRLF": b"\r.\r\n",
    "CRLF.LF": b"\r\n.\n",
    "CRLF.CR": b"\r\n.\r",
    "LF.CR": b"\n.\r",
    "CR.LF": b"\r.\n",
    "CR.CR": b"\r.\r",
}


@pytest.mark.parametrize("name", list(SMUGGLING))
def test_smuggling_variant_never_splits_message(ferry, name):
    """A fake end of data followed by a second, smuggled transaction must
    stay inside the first message, which is rejected for its bare CR/LF:
    no 250 for it, and nothing delivered to anyone."""
    end = SMUGGLING[name]
    payload = (b"From: <x@remote.example>\r\nSubject: first\r\n\r\nbody" + end +
               b"MAIL FROM:<evil@remote.example>\r\n"
               b"RCPT TO:<bob@example.test>\r\n"
               b"DATA\r\n"
               b"From: <evil@remote.example>\r\nSubject: smuggled\r\n\r\nevil\r\n"
               b".\r\n"
               b"QUIT\r\n")
    with ferry.raw() as c:
        open_data(c)
        c.send(payload)
        replies = c.read_all(timeout=10)
    codes = [r.code for r in replies]
    assert codes.count(250) == 0, (name, replies)
    assert codes.count(354) == 0, (name, replies)
    assert codes == [550, 221], (name, replies)
    assert replies[0].enhanced == "5.5.2", replies
    ferry.barrier()
    assert ferry.maildir_messages("alice@example.test") == []
    assert ferry.maildir_messages("bob@example.test") == []
    assert_nothing_queued(ferry)


@pytest.mark.parametrize("name", list(SMUGGLING))
def test_smuggling_variant_with_pipelined_second_message(ferry, name):
    """The same with the smuggled tail followed by the real end and a
    legitimate second transaction: exactly one 250 overall (for the
    legitimate one), never two."""
    end = SMUGGLING[name]
    with ferry.raw() as c:
        open_data(c)
        c.send(b"Subject: first\r\n\r\nbody" + end +
               b"MAIL FROM:<evil@remote.example>\r\nRCPT TO:<bob@example.test>\r\n"
               b"DATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n")
        r = c.reply()
        assert r.code == 550 and r.enhanced == "5.5.2", (name, r)
        r = c.send_message("y@remote.example", ["alice@example.test"],
                           make_message(subject="legit"), ehlo=False)
        assert r.code == 250, r
        c.send(b"QUIT\r\n")
        rest = c.read_all(timeout=10)
        assert [x.code for x in rest] == [221], rest
    (m,) = ferry.wait_delivered("alice@example.test")
    assert header(m, "Subject") == ["legit"]
    ferry.barrier()
    assert ferry.maildir_messages("bob@example.test") == []
    assert len(ferry.maildir_messages("alice@example.test")) == 1


@pytest.mark.parametrize("content", [
    b"Subject: bare lf\r\n\r\nline one\nline two\r\n",
    b"Subject: bare cr\r\n\r\nline one\rline two\r\n",
    b"Subject: bare lf in header\nX-Other: 1\r\n\r\nbody\r\n",
    b"Subject: trailing cr\r\n\r\nbody\r\r\n",
    b"Subject: lf at end\r\n\r\nbody\n\r\n",
])
def test_bare_cr_or_lf_in_data_rejected(ferry, content):
    with ferry.raw() as c:
        open_data(c)
        c.send(content + b".\r\n")
        r = c.reply()
        assert r.code == 550 and r.enhanced == "5.5.2", (content, r)
        c.expect("NOOP", 250)
    ferry.barrier()
    assert ferry.maildir_messages("alice@example.test") == []
    assert_nothing_queued(ferry)


def test_data_ends_only_at_crlf_dot_crlf(ferry):
    with ferry.raw() as c:
        open_data(c)
        # If ".x" or ". " ended the data, the final "." would be a
        # command (500) and the body would be cut short.
        c.send(b"Subject: x\r\n\r\nbody\r\n.x\r\n. \r\n")
        c.send(b".\r\n")
        r = c.reply()
        assert r.code == 250, r
    (m,) = ferry.wait_delivered("alice@example.test")
    assert body_of(m) == b"body\r\nx\r\n \r\n", m


# ------------------------------------------------------------ BDAT

def test_bdat_single_chunk(ferry):
    msg = make_message(subject="bdat one")
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example>", 250)
        c.expect("RCPT TO:<alice@example.test>", 250)
        c.send(b"BDAT %d LAST\r\n" % len(msg) + msg)
        r = c.reply()
        assert r.code == 250 and r.enhanced == "2.0.0", r
        queue_id(r.text)
    (m,) = ferry.wait_delivered("alice@example.test")
    assert m.endswith(msg), m


def test_bdat_several_chunks_then_empty_last(ferry):
    msg = make_message(subject="bdat many", body="part one\r\npart two\r\npart three\r\n")
    # Split in awkward places, including between CR and LF.
    cut1 = msg.index(b"\r\n", 10) + 1
    cut2 = msg.index(b"part two") + 3
    chunks = [msg[:cut1], msg[cut1:cut2], msg[cut2:]]
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example>", 250)
        c.expect("RCPT TO:<alice@example.test>", 250)
        for ch in chunks:
            c.send(b"BDAT %d\r\n" % len(ch) + ch)
            r = c.reply()
            assert r.code == 250, r
        c.send(b"BDAT 0 LAST\r\n")
        r = c.reply()
        assert r.code == 250, r
        queue_id(r.text)
    (m,) = ferry.wait_delivered("alice@example.test")
    assert m.endswith(msg), m


def test_bdat_chunks_with_last_on_data_chunk(ferry):
    msg = make_message(subject="bdat last")
    a, b = msg[:50], msg[50:]
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example>", 250)
        c.expect("RCPT TO:<bob@example.test>", 250)
        c.send(b"BDAT %d\r\n" % len(a) + a + b"BDAT %d LAST\r\n" % len(b) + b)
        r1, r2 = c.replies(2)
        assert r1.code == 250 and r2.code == 250, (r1, r2)
        queue_id(r2.text)
    (m,) = ferry.wait_delivered("bob@example.test")
    assert m.endswith(msg)


def test_bdat_content_is_not_unstuffed(ferry):
    body = b"line\r\n.\r\n..two\r\n.\r\nafter the dot\r\n"
    msg = b"Subject: bdat dots\r\n\r\n" + body
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example>", 250)
        c.expect("RCPT TO:<alice@example.test>", 250)
        c.send(b"BDAT %d LAST\r\n" % len(msg) + msg)
        r = c.reply()
        assert r.code == 250, r
    (m,) = ferry.wait_delivered("alice@example.test")
    assert body_of(m) == body, m


def test_bdat_bare_lf_rejected(ferry):
    msg = b"Subject: bdat bare lf\r\n\r\nbody\n.\nMAIL FROM:<e@remote.example>\r\n"
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example>", 250)
        c.expect("RCPT TO:<alice@example.test>", 250)
        c.send(b"BDAT %d LAST\r\n" % len(msg) + msg)
        r = c.reply()
        assert r.code == 550 and r.enhanced == "5.5.2", r
        c.expect("NOOP", 250)
    ferry.barrier()
    assert ferry.maildir_messages("alice@example.test") == []
    assert_nothing_queued(ferry)


def test_bdat_without_transaction_consumes_chunk(ferry):
    with ferry.raw() as c:
        c.ehlo()
        chunk = b"HELP\r\nVRFY x\r\n"
        c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
        r = c.reply()
        assert r.code == 503, r
        # HELP and VRFY were chunk data, not commands: no 214 or 252.
        c.expect("RSET", 250)
        c.expect("NOOP", 250)


def test_bdat_bad_argument(ferry):
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example>", 250)
        c.expect("RCPT TO:<alice@example.test>", 250)
        r = c.cmd("BDAT lots")
        assert r.code == 501, r


def test_data_after_bdat_is_bad_sequence(ferry):
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example>", 250)
        c.expect("RCPT TO:<alice@example.test>", 250)
        c.send(b"BDAT 5\r\nabcde")
        assert c.reply().code == 250
        r = c.cmd("DATA")
        assert r.code == 503, r


def test_bdat_two_messages_pipelined(ferry):
    m1 = make_message(subject="piped one")
    m2 = make_message(subject="piped two")
    with ferry.raw() as c:
        c.ehlo()
        c.send(b"MAIL FROM:<x@remote.example>\r\nRCPT TO:<alice@example.test>\r\n"
               b"BDAT %d LAST\r\n" % len(m1) + m1 +
               b"MAIL FROM:<y@remote.example>\r\nRCPT TO:<bob@example.test>\r\n"
               b"BDAT %d LAST\r\n" % len(m2) + m2 + b"QUIT\r\n")
        replies = c.read_all(timeout=10)
    assert [r.code for r in replies] == [250, 250, 250, 250, 250, 250, 221], replies
    id1, id2 = queue_id(replies[2].text), queue_id(replies[5].text)
    assert id1 != id2
    (a,) = ferry.wait_delivered("alice@example.test")
    (b,) = ferry.wait_delivered("bob@example.test")
    assert header(a, "Subject") == ["piped one"] and header(b, "Subject") == ["piped two"]


# ------------------------------------------------------------ pipelining

def test_pipelining_answers_in_order(ferry):
    m1 = make_message(subject="first")
    m2 = make_message(subject="second")
    with ferry.raw() as c:
        c.ehlo()
        c.send(b"MAIL FROM:<x@remote.example>\r\n"
               b"RCPT TO:<alice@example.test>\r\n"
               b"RCPT TO:<nobody@example.test>\r\n"
               b"RCPT TO:<bob@example.test>\r\n"
               b"DATA\r\n")
        rs = c.replies(5)
        assert [r.code for r in rs] == [250, 250, 550, 250, 354], rs
        c.send(m1 + b".\r\n"
               b"RSET\r\n"
               b"MAIL FROM:<y@remote.example>\r\n"
               b"RCPT TO:<bob@example.test>\r\n"
               b"DATA\r\n")
        rs = c.replies(5)
        assert [r.code for r in rs] == [250, 250, 250, 250, 354], rs
        queue_id(rs[0].text)
        c.send(m2 + b".\r\nNOOP\r\nQUIT\r\n")
        rs = c.read_all(timeout=10)
        assert [r.code for r in rs] == [250, 250, 221], rs
    ferry.wait_delivered("alice@example.test", 1)
    msgs = ferry.wait_delivered("bob@example.test", 2)
    assert sorted(header(m, "Subject")[0] for m in msgs) == ["first", "second"]


def test_pipelined_commands_after_error(ferry):
    with ferry.raw() as c:
        c.ehlo()
        c.send(b"RCPT TO:<alice@example.test>\r\n"      # 503: no MAIL yet
               b"MAIL FROM:<x@remote.example>\r\n"
               b"BOGUS\r\n"
               b"RCPT TO:<alice@example.test>\r\n"
               b"NOOP\r\n")
        rs = c.replies(5)
        assert [r.code for r in rs] == [503, 250, 500, 250, 250], rs


def test_many_pipelined_transactions(ferry):
    n = 20
    blob = b""
    for i in range(n):
        m = make_message(subject=f"bulk {i}")
        blob += (b"MAIL FROM:<x@remote.example>\r\nRCPT TO:<alice@example.test>\r\n"
                 b"BDAT %d LAST\r\n" % len(m) + m)
    with ferry.raw() as c:
        c.ehlo()
        c.send(blob + b"QUIT\r\n")
        rs = c.read_all(timeout=20)
    assert [r.code for r in rs] == [250] * (3 * n) + [221], rs
    ids = {queue_id(rs[3 * i + 2].text) for i in range(n)}
    assert len(ids) == n
    msgs = ferry.wait_delivered("alice@example.test", n, timeout=20)
    assert sorted(header(m, "Subject")[0] for m in msgs) == sorted(f"bulk {i}" for i in range(n))


# ------------------------------------------------------------ slow / vanishing clients

def trickle(c, data, delay=0.002):
    for i in range(len(data)):
        c.send(data[i:i + 1])
        time.sleep(delay)


def test_slow_client_trickling_bytes(ferry):
    msg = make_message(subject="trickled", body="slow\r\n.dot\r\nlines\r\n")
    with ferry.raw() as c:
        trickle(c, b"EHLO slow.example\r\n")
        assert c.reply().code == 250
        trickle(c, b"MAIL FROM:<x@remote.example>\r\n")
        assert c.reply().code == 250
        trickle(c, b"RCPT TO:<alice@example.test>\r\n")
        assert c.reply().code == 250
        trickle(c, b"DATA\r\n")
        assert c.reply().code == 354
        trickle(c, msg.replace(b"\r\n.dot", b"\r\n..dot") + b".\r\n")
        r = c.reply()
        assert r.code == 250, r
    (m,) = ferry.wait_delivered("alice@example.test")
    assert m.endswith(msg), m


def test_slow_client_bdat(ferry):
    msg = make_message(subject="trickled bdat")
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example>", 250)
        c.expect("RCPT TO:<alice@example.test>", 250)
        trickle(c, b"BDAT %d LAST\r\n" % len(msg) + msg, delay=0.001)
        r = c.reply()
        assert r.code == 250, r
    (m,) = ferry.wait_delivered("alice@example.test")
    assert m.endswith(msg)


@pytest.mark.parametrize("how", ["close", "reset"])
@pytest.mark.parametrize("mode", ["data", "bdat"])
def test_client_vanishing_mid_message(ferry, how, mode):
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example>", 250)
        c.expect("RCPT TO:<alice@example.test>", 250)
        if mode == "data":
            c.expect("DATA", 354)
            c.send(b"Subject: vanishing\r\n\r\n" + b"partial line\r\n" * 200)
        else:
            c.send(b"BDAT 100000 LAST\r\nSubject: vanishing\r\n\r\n" + b"partial line\r\n" * 200)
        if how == "reset":
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    ferry.barrier()
    assert ferry.maildir_messages("alice@example.test") == []
    assert_nothing_queued(ferry)
    wait_until(lambda: spool_tmp_empty(ferry), 10, what="spool/tmp to be cleaned up")


# ------------------------------------------------------------ volume

def test_large_message_intact(ferry):
    line = b"".join(bytes([33 + (i % 90)]) for i in range(76)) + b"\r\n"
    body = line * 40000                      # about 3 MB
    msg = make_message(subject="large").replace(b"Hello.\r\n", b"") + body
    with ferry.smtp(timeout=60) as s:
        s.sendmail("x@remote.example", ["alice@example.test"], msg)
    (m,) = ferry.wait_delivered("alice@example.test", timeout=20)
    assert m.endswith(msg)


@pytest.mark.ferry_conf(max_connections=200, max_connections_per_ip=100)
def test_many_concurrent_sessions(ferry):
    import threading
    n = 40
    errors = []

    def one(i):
        try:
            with ferry.smtp(timeout=30) as s:
                s.sendmail("x@remote.example", ["bob@example.test"],
                           make_message(subject=f"concurrent {i}"))
        except Exception as e:      # collected and reported below
            errors.append(repr(e))
    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[:5]
    msgs = ferry.wait_delivered("bob@example.test", n, timeout=20)
    assert sorted(header(m, "Subject")[0] for m in msgs) == sorted(f"concurrent {i}" for i in range(n))


def test_burst_while_queue_busy_is_delivered_promptly(ferry):
    """The queue role is busy (stopped) while 30 messages are accepted;
    once it runs again every one is delivered within the usual ~10 s,
    not only at some later periodic rescan of the spool."""
    import os
    import signal
    q = ferry.role_pid("queue")
    assert q, "no ferry-queue role"
    os.kill(q, signal.SIGSTOP)
    try:
        with ferry.smtp() as s:
            for i in range(30):
                s.sendmail("x@remote.example", ["bob@example.test"],
                           make_message(subject=f"burst {i}"))
    finally:
        os.kill(q, signal.SIGCONT)
    msgs = ferry.wait_delivered("bob@example.test", 30, timeout=10)
    assert len(msgs) == 30
