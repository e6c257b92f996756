"""IMAP (RFC 9051/3501) against a running Ferry: python imaplib (plain
with STARTTLS, IMAP4_SSL) for what it can send, and a raw socket client
for what it will not (SASL-IR, bad tags, NUL, overlong lines, literals
past the limits, commands in the wrong state).  Mail reaches the
mailboxes over SMTP through the server itself, or is written into the
Maildir directly.  Folder names that could leave the Maildir are tried
and the Maildir's surroundings checked afterwards."""

import base64
import imaplib
import os
import re
import socket
import time
from pathlib import Path

import pytest

from certs import client_context
from conftest import (PASSWORD, RawClient, free_port, mailbox_ferry, make_message,
                      tcp_listening,
                      wait_until)
from test_pop3 import deliver, pop_plain, login as pop_login, pop3_ferry

ALICE = "alice@example.test"
BOB = "bob@example.test"


# ---------------------------------------------------------------- helpers

def imap_ferry(make_ferry, tmp_path, plaintext=False, tls=True, name=None,
               **overrides):
    """A started server with imap_listen (STARTTLS) and imaps_listen; its
    attributes imap_port, imaps_port and ca are set."""
    return mailbox_ferry(make_ferry, tmp_path, "imap", plaintext, tls, name,
                         **overrides)


def imap_plain(srv):
    return imaplib.IMAP4("127.0.0.1", srv.imap_port, timeout=10)


def imap_login(srv, user=ALICE, password=PASSWORD):
    m = imap_plain(srv)
    m.login(user, password)
    return m


class RawIMAP(RawClient):
    """RawClient for IMAP: lines end at CRLF; literals are read whole."""

    LINE_END = b"\r\n"

    def __init__(self, port, host="127.0.0.1", timeout=10.0, greeting=True):
        super().__init__(port, host, timeout)
        self.greeting = self.read_line() if greeting else None

    def line(self, timeout=None):
        return self.read_line(timeout or None)

    def cmd(self, line, tag=None):
        """Sends line; returns every line up to the tagged reply (tag is
        the line's first word unless given)."""
        data = line if isinstance(line, bytes) else line.encode()
        self.send(data + b"\r\n")
        tag = tag or data.split(b" ", 1)[0]
        return self.until(tag)

    def until(self, tag):
        out = []
        while True:
            l = self.line()
            assert l is not None, f"EOF before {tag!r}: {out!r}"
            out.append(l)
            m = re.search(rb"\{(\d+)\}$", l)
            if m:
                n = int(m.group(1))
                while len(self.buf) < n:
                    self._fill(self.timeout)
                out.append(bytes(self.buf[:n]))
                self.buf = self.buf[n:]
            if l.startswith(tag + b" "):
                return out

    def login(self, user=ALICE, password=PASSWORD):
        r = self.cmd(f'l1 LOGIN "{user}" "{password}"')
        assert r[-1].startswith(b"l1 OK"), r
        return r


def tagged(lines):
    return lines[-1]


def maildir_write(srv, user, name, data, sub="new"):
    md = srv.maildir(user)
    for d in ("tmp", "new", "cur"):
        (md / d).mkdir(parents=True, exist_ok=True)
    p = md / sub / name
    p.write_bytes(data)
    return p


def tree(path):
    return sorted(str(p.relative_to(path)) for p in Path(path).rglob("*"))


# ---------------------------------------------------------------- fixtures

@pytest.fixture
def srv(make_ferry, tmp_path):
    """TLS listeners; plaintext logins are not allowed from 127.0.0.1."""
    return imap_ferry(make_ferry, tmp_path)


@pytest.fixture
def psrv(make_ferry, tmp_path):
    """127.0.0.0/8 may log in without TLS (auth_plaintext_networks)."""
    return imap_ferry(make_ferry, tmp_path, plaintext=True)


# ---------------------------------------------------------------- login

def test_greeting_and_logindisabled_without_tls(srv):
    with RawIMAP(srv.imap_port) as c:
        assert c.greeting.startswith(b"* OK [CAPABILITY IMAP4rev1 ")
        caps = c.cmd("a CAPABILITY")
        assert caps[-1] == b"a OK Capability completed"
        words = caps[0].split()
        assert b"STARTTLS" in words and b"LOGINDISABLED" in words
        assert b"AUTH=PLAIN" not in words
        r = c.cmd(f'b LOGIN "{ALICE}" "{PASSWORD}"')
        assert r[-1].startswith(b"b NO [PRIVACYREQUIRED]"), r
        ir = base64.b64encode(f"\0{ALICE}\0{PASSWORD}".encode()).decode()
        r = c.cmd(f"c AUTHENTICATE PLAIN {ir}")
        assert r[-1].startswith(b"c NO [PRIVACYREQUIRED]"), r
        r = c.cmd("d LOGOUT")
        assert r[0].startswith(b"* BYE") and r[-1].startswith(b"d OK")
        assert c.wait_closed()
    assert PASSWORD not in srv.log_text()


def test_starttls_then_login(srv):
    m = imap_plain(srv)
    assert "STARTTLS" in m.capabilities
    m.starttls(client_context(srv.ca))
    typ, caps = m.capability()
    words = caps[0].split()
    assert b"AUTH=PLAIN" in words and b"STARTTLS" not in words
    assert b"LOGINDISABLED" not in words
    typ, data = m.login(ALICE, PASSWORD)
    assert typ == "OK"
    assert m.logout()[0] == "BYE"
    srv.wait_log(r"imap login user=alice@example.test method=LOGIN tls=yes")


def test_imaps_login(srv):
    m = imaplib.IMAP4_SSL("127.0.0.1", srv.imaps_port,
                          ssl_context=client_context(srv.ca), timeout=10)
    assert "AUTH=PLAIN" in m.capabilities
    assert m.login(ALICE, PASSWORD)[0] == "OK"
    m.logout()


def test_authenticate_plain_sasl_ir_and_continuation(psrv):
    ir = base64.b64encode(f"\0{ALICE}\0{PASSWORD}".encode()).decode()
    with RawIMAP(psrv.imap_port) as c:
        r = c.cmd(f"a AUTHENTICATE PLAIN {ir}")
        assert r[-1].startswith(b"a OK [CAPABILITY IMAP4rev1"), r
    with RawIMAP(psrv.imap_port) as c:
        c.send(b"a AUTHENTICATE PLAIN\r\n")
        assert c.line() == b"+ "
        r = c.cmd(ir.encode(), tag=b"a")
        assert r[-1].startswith(b"a OK"), r
    with RawIMAP(psrv.imap_port) as c:
        c.send(b"a AUTHENTICATE PLAIN\r\n")
        assert c.line() == b"+ "
        r = c.cmd(b"*", tag=b"a")
        assert r[-1].startswith(b"a BAD"), r
        r = c.cmd("b AUTHENTICATE PLAIN !!!notbase64")
        assert r[-1].startswith(b"b BAD"), r
        r = c.cmd("c AUTHENTICATE CRAM-MD5")
        assert r[-1].startswith(b"c NO"), r
        bad = base64.b64encode(f"{BOB}\0{ALICE}\0{PASSWORD}".encode())
        r = c.cmd(b"d AUTHENTICATE PLAIN " + bad)
        assert r[-1].startswith(b"d NO [AUTHORIZATIONFAILED]"), r


def test_wrong_password_and_shared_ban(make_ferry, tmp_path):
    srv = imap_ferry(make_ferry, tmp_path, plaintext=True, tls=False,
                     auth_ban_max_failures="3", auth_ban_window="10m",
                     auth_ban_time="1h")
    with RawIMAP(srv.imap_port) as c:
        for t in ("a", "b"):
            r = c.cmd(f'{t} LOGIN "{ALICE}" "Wrong-one"')
            assert r[-1].startswith(f"{t} NO [AUTHENTICATIONFAILED]".encode())
        r = c.cmd(f'c LOGIN "{ALICE}" "Wrong-two"')
        assert r[-1].startswith(b"c NO [AUTHENTICATIONFAILED]"), r
        assert c.line().startswith(b"* BYE")
        assert c.wait_closed()
    # banned now, for IMAP as for the other protocols (one store)
    with RawIMAP(srv.imap_port) as c:
        assert c.greeting.startswith(b"* BYE [UNAVAILABLE]")
        assert c.wait_closed()
    srv.wait_log(r"imap auth-failed .* banned=yes")
    assert "Wrong-one" not in srv.log_text()


def test_ban_from_pop3_failures_applies_to_imap(make_ferry, tmp_path):
    import poplib
    imap_port = free_port()
    srv = pop3_ferry(make_ferry, tmp_path, plaintext=True, tls=False,
                     auth_ban_max_failures="2", auth_ban_window="10m",
                     auth_ban_time="1h",
                     imap_listen=f"127.0.0.1:{imap_port}")
    for _ in range(2):
        p = pop_plain(srv)
        with pytest.raises(poplib.error_proto):
            pop_login(p, password="Wrong")
        try:
            p.quit()
        except (poplib.error_proto, OSError):
            pass
    wait_until(lambda: tcp_listening(imap_port), 10, what="IMAP listener")
    with RawIMAP(imap_port) as c:
        assert c.greeting.startswith(b"* BYE [UNAVAILABLE]"), c.greeting


# ---------------------------------------------------------------- bad input

def test_commands_in_the_wrong_state(psrv):
    with RawIMAP(psrv.imap_port) as c:
        assert c.cmd("a SELECT INBOX")[-1].startswith(b"a BAD")
        assert c.cmd("b FETCH 1 FLAGS")[-1].startswith(b"b BAD")
        assert c.cmd("c LIST \"\" *")[-1].startswith(b"c BAD")
        assert c.cmd("d ENABLE IMAP4rev2")[-1].startswith(b"d BAD")
        c.login()
        assert c.cmd("e LOGIN a b")[-1].startswith(b"e BAD")
        assert c.cmd("f STARTTLS")[-1].startswith(b"f BAD")
        assert c.cmd("g FETCH 1 FLAGS")[-1].startswith(b"g BAD")
        assert c.cmd("h EXPUNGE")[-1].startswith(b"h BAD")
        assert c.cmd("i UID FETCH 1 FLAGS")[-1].startswith(b"i BAD")
        assert c.cmd("j CLOSE")[-1].startswith(b"j BAD")
        assert c.cmd("k NOOP")[-1] == b"k OK NOOP completed"


def test_bad_syntax_is_answered_and_the_session_goes_on(psrv):
    with RawIMAP(psrv.imap_port) as c:
        c.send(b"+bad NOOP\r\n")
        assert c.line().startswith(b"* BAD")
        c.send(b"a\x00b NOOP\r\n")
        assert c.line().startswith(b"* BAD NUL")
        r = c.cmd(b"t1 NOOP\x00")
        assert r[-1].startswith(b"t1 BAD NUL"), r
        assert c.cmd("t2 FROBNICATE")[-1].startswith(b"t2 BAD")
        assert c.cmd("t3 CAPABILITY (")[-1].startswith(b"t3 BAD")
        assert c.cmd("t4 LOGIN \"unterminated")[-1].startswith(b"t4 BAD")
        assert c.cmd("t5 LOGIN a  b")[-1].startswith(b"t5 BAD")
        assert c.cmd("t6 UID")[-1].startswith(b"t6 BAD")
        # overlong line: BAD with the tag, then the next command works
        r = c.cmd(b"t7 LOGIN " + b"x" * 40000)
        assert r[-1].startswith(b"t7 BAD [TOOBIG]"), r[-1][:80]
        # a literal too large before login: no continuation, BAD
        c.send(b"t8 LOGIN {100000}\r\n")
        assert c.line().startswith(b"t8 BAD [TOOBIG]")
        assert c.cmd("t9 NOOP")[-1] == b"t9 OK NOOP completed"
        # {n+} within the limit but in a bad command: skipped
        c.send(b"u1 LOGIN ) {5+}\r\nab\r\n)\r\nu2 NOOP\r\n")
        assert c.line().startswith(b"u1 BAD")
        assert c.line() == b"u2 OK NOOP completed"


def test_nonsync_literal_past_the_limit_closes(psrv):
    with RawIMAP(psrv.imap_port) as c:
        c.send(b"a LOGIN {100000+}\r\n" + b"x" * 1000)
        assert c.line().startswith(b"a BAD [TOOBIG]")
        assert c.line().startswith(b"* BYE")
        assert c.wait_closed()


def test_too_many_errors_closes(psrv):
    with RawIMAP(psrv.imap_port) as c:
        for i in range(19):
            assert c.cmd(f"t{i} BOGUS")[-1].startswith(f"t{i} BAD".encode())
        c.send(b"last BOGUS\r\n")
        assert c.line().startswith(b"last BAD")
        assert c.line().startswith(b"* BYE")
        assert c.wait_closed()


def test_login_with_literals(psrv):
    with RawIMAP(psrv.imap_port) as c:
        c.send(b"a LOGIN {%d}\r\n" % len(ALICE))
        assert c.line().startswith(b"+ ")
        c.send(ALICE.encode() + b" {%d+}\r\n" % len(PASSWORD) +
               PASSWORD.encode() + b"\r\n")
        r = c.until(b"a")
        assert r[-1].startswith(b"a OK"), r


def test_vanishing_client_mid_literal_costs_nothing(psrv):
    for _ in range(3):
        c = RawIMAP(psrv.imap_port)
        c.login()
        c.send(b"a APPEND INBOX {1000000}\r\n")
        assert c.line().startswith(b"+ ")
        c.send(b"x" * 1000)
        c.close()
    m = imap_login(psrv)
    assert m.noop()[0] == "OK"
    m.logout()


def test_id_at_the_rfc_2971_maximum_before_login(psrv):
    """RFC 2971 3.3 lets a client send 30 pairs of 30-octet fields and
    1024-octet values, about 32 KB in one line; before login that is
    answered (imaptest's id group), one pair more is BAD, a longer line
    BAD [TOOBIG], and the session goes on after each."""
    def pairs(n):
        return " ".join(f'"f{i:029d}" "{"v" * 1024}"' for i in range(n))
    with RawIMAP(psrv.imap_port) as c:
        r = c.cmd(f"i1 ID ({pairs(30)})")
        assert r[0].startswith(b'* ID ("name" "Ferry"'), r
        assert r[-1] == b"i1 OK ID completed", r
        assert c.cmd(f"i2 ID ({pairs(31)})")[-1].startswith(b"i2 BAD")
        r = c.cmd(f"i3 ID ({pairs(29)} \"x\" \"{'v' * 3000}\")")
        assert r[-1].startswith(b"i3 BAD [TOOBIG]"), r[-1][:80]
        assert c.cmd("i4 ID (\"a\")")[-1].startswith(b"i4 BAD")
        assert c.cmd("i5 ID NIL")[-1] == b"i5 OK ID completed"
