"""IMAP4rev2 (RFC 9051) beside IMAP4rev1, UTF8=ACCEPT (RFC 6855) and
LITERAL-/LITERAL+ (RFC 7888) against a running Ferry: both revisions are
advertised; a session that sends ENABLE IMAP4rev2 gets no RECENT or
[UNSEEN], a LIST response in SELECT, ESEARCH for SEARCH and UTF-8
mailbox names, while one that never enables keeps IMAP4rev1 answers.
Before login only LITERAL- applies ({n+} up to 4096 octets)."""

import re

import pytest

from conftest import make_message
from test_imap_basic import RawIMAP, imap_ferry
from test_pop3 import deliver


@pytest.fixture
def rsrv(make_ferry, tmp_path):
    return imap_ferry(make_ferry, tmp_path, plaintext=True, tls=False)


def caps(lines):
    return lines[0].split()[2:]


def session(srv, enable=None):
    c = RawIMAP(srv.imap_port)
    c.login()
    if enable:
        r = c.cmd(f"e ENABLE {enable}")
        assert r == [f"* ENABLED {enable}".encode(), b"e OK Enabled"], r
    return c


def test_capabilities_and_literal_minus(rsrv):
    c = RawIMAP(rsrv.imap_port)
    pre = caps(c.cmd("a CAPABILITY"))
    for cap in (b"IMAP4rev1", b"IMAP4rev2", b"LITERAL-", b"ENABLE"):
        assert cap in pre, pre
    assert b"LITERAL+" not in pre
    # a {n+} literal over 4096 octets is refused before login, and the
    # session goes on
    c.send(b"b LOGIN {5000+}\r\n" + b"x" * 5000 + b" y\r\n")
    r = c.until(b"b")
    assert r[-1].startswith(b"b BAD [TOOBIG]"), r
    # 4096 is fine (the login itself fails)
    c.send(b"c LOGIN {4096+}\r\n" + b"x" * 4096 + b" y\r\n")
    assert c.until(b"c")[-1].startswith(b"c NO"), r
    # a synchronising literal gets its continuation
    c.send(b"d LOGIN {5}\r\n")
    assert c.line().startswith(b"+ ")
    c.send(b"xxxxx y\r\n")
    assert c.until(b"d")[-1].startswith(b"d NO")
    c.login()
    post = caps(c.cmd("f CAPABILITY"))
    for cap in (b"IMAP4rev1", b"IMAP4rev2", b"LITERAL+", b"QRESYNC",
                b"BINARY", b"UTF8=ACCEPT", b"CONDSTORE"):
        assert cap in post, post
    assert b"LITERAL-" not in post
    # after login LITERAL+ takes big literals
    msg = make_message(subject="big", body="y" * 6000 + "\r\n")
    c.send(b"g APPEND INBOX {%d+}\r\n" % len(msg) + msg + b"\r\n")
    assert c.until(b"g")[-1].startswith(b"g OK"), r


def test_rev1_session_keeps_rev1_answers(rsrv):
    deliver(rsrv, n=2)
    c = session(rsrv)
    r = c.cmd("s SELECT INBOX")
    assert b"* 2 RECENT" in r and any(b"[UNSEEN 1]" in l for l in r), r
    assert not [l for l in r if l.startswith(b"* LIST")], r
    assert c.cmd("f SEARCH ALL")[0] == b"* SEARCH 1 2"
    deliver(rsrv, n=1)
    r = c.cmd("n NOOP")
    assert b"* 3 EXISTS" in r and b"* 3 RECENT" in r, r
    assert b"\\Recent" in c.cmd("fl FETCH 3 (FLAGS)")[0]


def test_rev2_session(rsrv):
    deliver(rsrv, n=2)
    c = session(rsrv, "IMAP4rev2")
    assert c.cmd("e2 ENABLE IMAP4rev2")[0] == b"* ENABLED"
    r = c.cmd("s SELECT INBOX")
    assert r[-1].startswith(b"s OK [READ-WRITE]"), r
    assert b"* 2 EXISTS" in r
    assert not [l for l in r if b"RECENT" in l or b"[UNSEEN" in l], r
    assert b'* LIST (\\HasNoChildren \\Subscribed) "/" "INBOX"' in r, r
    r = c.cmd("f SEARCH ALL")
    assert r[0] == b'* ESEARCH (TAG "f") ALL 1:2', r
    r = c.cmd("g UID SEARCH UNSEEN")
    assert re.match(rb'\* ESEARCH \(TAG "g"\) UID ALL \d+:\d+$', r[0]), r
    r = c.cmd("h SEARCH DELETED")
    assert r[0] == b'* ESEARCH (TAG "h")', r
    deliver(rsrv, n=1)
    r = c.cmd("n NOOP")
    assert b"* 3 EXISTS" in r and not [l for l in r if b"RECENT" in l], r
    # no \\Recent flag either (a rev1 session would see it here)
    r = c.cmd("fl FETCH 1:3 (FLAGS)")
    assert len(r) == 4 and not [l for l in r if b"Recent" in l], r
    r = c.cmd("t STATUS Sent (MESSAGES DELETED SIZE)")
    assert r[0] == b'* STATUS "Sent" (MESSAGES 0 DELETED 0 SIZE 0)', r
    r = c.cmd("x EXAMINE Sent")
    assert r[0] == b"* OK [CLOSED] Previous mailbox closed", r
    assert b'* LIST (\\HasNoChildren \\Subscribed \\Sent) "/" "Sent"' in r, r


def test_utf8_names_with_rev2_and_utf8_accept(rsrv):
    name = "Entwürfe"
    # IMAP4rev1: modified UTF-7 on the wire, 8-bit quoted refused
    c = session(rsrv)
    assert c.cmd("a CREATE Entw&APw-rfe")[-1].startswith(b"a OK")
    r = c.cmd('l LIST "" Entw*')
    assert r[0] == b'* LIST (\\HasNoChildren) "/" "Entw&APw-rfe"', r
    r = c.cmd(f'b CREATE "{name}2"'.encode())
    assert not r[-1].startswith(b"b OK"), r
    for enable in ("IMAP4rev2", "UTF8=ACCEPT"):
        c = session(rsrv, enable)
        r = c.cmd('l LIST "" Entw*')
        assert r[0] == f'* LIST (\\HasNoChildren) "/" "{name}"'.encode(), r
        r = c.cmd(f'x EXAMINE "{name}"'.encode())
        assert r[-1].startswith(b"x OK"), r
        r = c.cmd(f'y STATUS "{name}" (MESSAGES)'.encode())
        assert r[0] == f'* STATUS "{name}" (MESSAGES 0)'.encode(), r


def test_utf8_accept_append(rsrv):
    msg = ("Subject: Grüße\r\nFrom: jörg@例え.jp\r\n\r\nHallo.\r\n"
           ).encode()
    c = session(rsrv)
    # UTF8 (...) is not APPEND syntax before ENABLE UTF8=ACCEPT
    c.send(b"a APPEND INBOX UTF8 (~{%d+}\r\n" % len(msg) + msg + b")\r\n")
    assert c.until(b"a")[-1].startswith(b"a BAD")
    c = session(rsrv, "UTF8=ACCEPT")
    c.send(b"b APPEND INBOX UTF8 (~{%d+}\r\n" % len(msg) + msg + b")\r\n")
    assert c.until(b"b")[-1].startswith(b"b OK [APPENDUID"), msg
    c.send(b"c APPEND INBOX (\\Seen) UTF8 ({%d+}\r\n" % len(msg) + msg +
           b")\r\n")
    assert c.until(b"c")[-1].startswith(b"c OK [APPENDUID")
    for bad in (b"UTF8 ()", b"UTF8 (x)", b"UTF8 ({1+}\r\nx {1+}\r\ny)",
                b"UTF8"):
        r = c.cmd(b"d APPEND INBOX " + bad)
        assert r[-1].startswith(b"d BAD"), (bad, r)
    c.cmd("s SELECT INBOX")
    r = c.cmd("f FETCH 1:* BODY.PEEK[]")
    assert r.count(msg) == 2, r
