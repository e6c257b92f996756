"""POP3 (RFC 1939, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034 AUTH) against a
running Ferry: poplib (stls, POP3_SSL), curl (pop3://, pop3s://) and a raw
socket client for what libraries will not send.  Mail reaches the
mailboxes over SMTP through the server itself, or is written into the
Maildir directly (bare-LF files, the 10,000-message mailbox).

Helpers here (pop3_ferry, RawPOP3, deliver, login) are reused by
test_bans.py."""

import base64
import os
import poplib
import re
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from certs import client_context
from conftest import (PASSWORD, RawClient, mailbox_ferry, make_message,
                      tcp_listening,
                      wait_until)

CURL = shutil.which("curl")
ALICE = "alice@example.test"
BOB = "bob@example.test"


# ---------------------------------------------------------------- helpers

def pop3_ferry(make_ferry, tmp_path, plaintext=False, tls=True, name=None,
               **overrides):
    """A started server with pop3_listen (STLS) and pop3s_listen.  Its
    attributes pop3_port, pop3s_port and ca (CertPair) are set."""
    return mailbox_ferry(make_ferry, tmp_path, "pop3", plaintext, tls, name,
                         **overrides)


def wait_pop3(srv, timeout=10.0):
    wait_until(lambda: tcp_listening(srv.pop3_port), timeout,
               what="the POP3 listener")


def deliver(srv, to=ALICE, n=1, **kw):
    """Sends n messages to `to` over SMTP and waits for their delivery;
    returns the messages sent."""
    before = len(srv.maildir_files(to))
    sent = []
    with srv.smtp() as s:
        for _ in range(n):
            m = make_message(to=to, **kw)
            s.sendmail("sender@remote.example", [to], m)
            sent.append(m)
    srv.wait_delivered(to, before + n)
    return sent


def pop_plain(srv, timeout=10):
    return poplib.POP3("127.0.0.1", srv.pop3_port, timeout=timeout)


def pop_stls(srv, timeout=10):
    p = pop_plain(srv, timeout)
    p.stls(client_context(srv.ca))
    return p


def pop_ssl(srv, timeout=10):
    return poplib.POP3_SSL("127.0.0.1", srv.pop3s_port, timeout=timeout,
                           context=client_context(srv.ca))


def login(p, user=ALICE, password=PASSWORD):
    p.user(user)
    return p.pass_(password)


class RawPOP3(RawClient):
    """RawClient for POP3: lines end at CRLF only."""

    LINE_END = b"\r\n"

    def __init__(self, port, host="127.0.0.1", timeout=10.0, greeting=True,
                 source=None):
        super().__init__(port, host, timeout, source=source)
        self.greeting = self.line() if greeting else None

    def line(self, timeout=None):
        return self.read_line(timeout or None)

    def cmd(self, line):
        self.send((line if isinstance(line, bytes) else line.encode())
                  + b"\r\n")
        return self.line()

    def multi(self):
        """The lines of a multi-line body up to (not with) ".", un-stuffed."""
        out = []
        while True:
            l = self.line()
            assert l is not None, "EOF inside a multi-line response"
            if l == b".":
                return out
            out.append(l[1:] if l.startswith(b".") else l)

    def closed(self, timeout=5.0):
        return self.wait_closed(timeout)

    def starttls(self, ctx):
        self.sock = ctx.wrap_socket(self.sock, server_hostname="localhost")


def crlf_message(m: bytes) -> bytes:
    """What RETR returns for a delivered file, minus the terminator."""
    return m


def maildir_write(srv, user, name, data, sub="new"):
    md = srv.maildir(user)
    for d in ("tmp", "new", "cur"):
        (md / d).mkdir(parents=True, exist_ok=True)
    p = md / sub / name
    p.write_bytes(data)
    return p


# ---------------------------------------------------------------- fixtures

@pytest.fixture
def srv(make_ferry, tmp_path):
    """TLS listeners; plaintext logins are not allowed from 127.0.0.1."""
    return pop3_ferry(make_ferry, tmp_path)


@pytest.fixture
def psrv(make_ferry, tmp_path):
    """127.0.0.0/8 may log in without TLS (auth_plaintext_networks)."""
    return pop3_ferry(make_ferry, tmp_path, plaintext=True)


# ---------------------------------------------------------------- tests

def test_plaintext_login_refused_without_tls(srv):
    with RawPOP3(srv.pop3_port) as c:
        assert c.greeting.startswith(b"+OK")
        assert c.cmd("CAPA").startswith(b"+OK")
        caps = [l.split()[0] for l in c.multi()]
        assert b"STLS" in caps
        assert b"USER" not in caps and b"SASL" not in caps
        r = c.cmd("USER alice@example.test")
        assert r.startswith(b"-ERR [AUTH]"), r
        r = c.cmd("PASS secret")
        assert r.startswith(b"-ERR [AUTH]"), r
        r = c.cmd("AUTH PLAIN " + base64.b64encode(
            b"\0alice@example.test\0secret").decode())
        assert r.startswith(b"-ERR [AUTH]"), r
        assert c.cmd("QUIT").startswith(b"+OK")
    assert "secret" not in srv.log_text()


def test_stls_login_and_retr(srv):
    sent = deliver(srv, n=2, body="line one\r\n.leading dot\r\n..two\r\n")
    p = pop_stls(srv)
    caps = p.capa()
    assert "USER" in caps and "SASL" in caps and "STLS" not in caps
    assert login(p).startswith(b"+OK")
    files = sorted(srv.maildir_messages(ALICE), key=len)
    count, octets = p.stat()
    assert count == 2
    assert octets == sum(len(f) for f in files)
    resp, listing, _ = p.list()
    sizes = {int(l.split()[0]): int(l.split()[1]) for l in listing}
    for i in (1, 2):
        resp, lines, n = p.retr(i)
        assert resp == b"+OK %d octets" % sizes[i]
        body = b"\r\n".join(lines) + b"\r\n"
        assert len(body) == sizes[i]
        assert body.endswith(sent[i - 1][-40:])
        assert b"\r\n.leading dot\r\n..two\r\n" in body
    assert p.quit().startswith(b"+OK")
    srv.wait_log(r"pop3 login user=alice@example.test method=USER tls=yes")
    assert "secret" not in srv.log_text()


def test_pop3s_auth_plain(srv):
    deliver(srv)
    p = pop_ssl(srv)
    assert "SASL" in p.capa()
    ir = base64.b64encode(b"\0alice@example.test\0secret").decode()
    assert p._shortcmd("AUTH PLAIN " + ir).startswith(b"+OK")
    assert p.stat()[0] == 1
    p.quit()
    # Without an initial response: the "+ " continuation, then cancel.
    p = pop_ssl(srv)
    p._putcmd("AUTH PLAIN")
    assert p._getline()[0].startswith(b"+")
    p._putcmd("*")
    assert p._getline()[0].startswith(b"-ERR")
    p._putcmd("AUTH PLAIN")
    p._getline()
    assert p._shortcmd(ir).startswith(b"+OK")
    p.quit()


def test_wrong_password(srv):
    p = pop_stls(srv)
    p.user(ALICE)
    with pytest.raises(poplib.error_proto) as e:
        p.pass_("Wr0ngPassw0rd")
    assert b"[AUTH]" in e.value.args[0]
    with pytest.raises(poplib.error_proto):
        login(p, user="nobody@example.test")
    p.close()
    srv.wait_log(r"pop3 auth-failed address=127\.0\.0\.1 "
                 r"user=alice@example\.test method=USER")
    assert "Wr0ngPassw0rd" not in srv.log_text()


@pytest.mark.skipif(not CURL, reason="curl not installed")
def test_curl_pop3s_and_stls(srv):
    deliver(srv, subject="curl subject")
    r = subprocess.run(
        [CURL, "-sS", "--max-time", "20", "-k", "--user", f"{ALICE}:secret",
         f"pop3s://127.0.0.1:{srv.pop3s_port}/1"],
        capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert b"Subject: curl subject" in r.stdout
    r = subprocess.run(
        [CURL, "-sS", "--max-time", "20", "--ssl-reqd", "--cacert",
         srv.ca.cert, "--user", f"{ALICE}:secret",
         f"pop3://localhost:{srv.pop3_port}/"],
        capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert re.match(rb"1 \d+", r.stdout), r.stdout


def test_uidl_stable_across_sessions(psrv):
    deliver(psrv, n=2)
    p = pop_plain(psrv)
    login(p)
    first = [l.split()[1] for l in p.uidl()[1]]
    assert len(first) == 2 and len(set(first)) == 2
    assert p.uidl(2).split()[2] == first[1]
    p.retr(1)            # moved to cur/ with S at QUIT
    p.quit()
    assert any(f.parent.name == "cur" and f.name.endswith(":2,S")
               for f in psrv.maildir_files(ALICE))
    deliver(psrv)
    p = pop_plain(psrv)
    login(p)
    second = [l.split()[1] for l in p.uidl()[1]]
    assert second[:2] == first
    assert len(second) == 3 and second[2] not in first
    p.quit()
    # After a restart too.
    psrv.restart()
    wait_pop3(psrv)
    p = pop_plain(psrv)
    login(p)
    assert [l.split()[1] for l in p.uidl()[1]] == second
    p.quit()


def test_top(psrv):
    deliver(psrv, body="b1\r\n.b2\r\nb3\r\n")
    p = pop_plain(psrv)
    login(p)
    resp, lines, _ = p.top(1, 0)
    assert resp.startswith(b"+OK")
    assert lines[-1] == b"" and b"b1" not in lines
    assert any(l.startswith(b"Subject:") for l in lines)
    resp, lines, _ = p.top(1, 2)
    assert lines[-3:] == [b"", b"b1", b".b2"]
    resp, lines, _ = p.top(1, 100)
    assert lines[-3:] == [b"b1", b".b2", b"b3"]
    p.quit()


def test_dele_then_rset(psrv):
    deliver(psrv, n=3)
    p = pop_plain(psrv)
    login(p)
    total = p.stat()
    assert p.dele(2).startswith(b"+OK")
    assert p.stat()[0] == 2
    assert [l.split()[0] for l in p.list()[1]] == [b"1", b"3"]
    with pytest.raises(poplib.error_proto):
        p.retr(2)
    with pytest.raises(poplib.error_proto):
        p.dele(2)
    assert p.rset().startswith(b"+OK")
    assert p.stat() == total
    p.quit()
    assert len(psrv.maildir_files(ALICE)) == 3


def test_dele_then_quit(psrv):
    # With a quota, maildirsize accounts for the deletion.
    psrv.cli_ok("user", "quota", ALICE, "100M")
    deliver(psrv, n=3)
    md = psrv.maildir(ALICE)
    p = pop_plain(psrv)
    login(p)
    size2 = int(p.list(2).split()[2])
    p.dele(2)
    assert p.quit().startswith(b"+OK")
    assert len(psrv.maildir_files(ALICE)) == 2
    last = (md / "maildirsize").read_text().splitlines()[-1]
    assert last == f"-{size2} -1"
    p = pop_plain(psrv)
    login(p)
    assert p.stat()[0] == 2
    p.quit()
    psrv.wait_log(r"pop3 update user=alice@example\.test deleted=1")


def test_dele_without_quota_keeps_no_maildirsize(psrv):
    deliver(psrv, n=2)
    md = psrv.maildir(ALICE)
    assert not (md / "maildirsize").exists()
    p = pop_plain(psrv)
    login(p)
    p.dele(1)
    assert p.quit().startswith(b"+OK")
    assert len(psrv.maildir_files(ALICE)) == 1
    assert not (md / "maildirsize").exists()


def test_dele_without_quit_deletes_nothing(psrv):
    deliver(psrv, n=2)
    with RawPOP3(psrv.pop3_port) as c:
        c.cmd("USER alice@example.test")
        assert c.cmd("PASS secret").startswith(b"+OK")
        assert c.cmd("DELE 1").startswith(b"+OK")
    psrv.wait_log(r"pop3 disconnected .*no QUIT")
    p = pop_plain(psrv)
    login(p)
    assert p.stat()[0] == 2
    p.quit()


def test_in_use(psrv):
    deliver(psrv)
    a = pop_plain(psrv)
    login(a)
    b = pop_plain(psrv)
    b.user(ALICE)
    with pytest.raises(poplib.error_proto) as e:
        b.pass_(PASSWORD)
    assert b"[IN-USE]" in e.value.args[0]
    # Another user is not affected.
    c = pop_plain(psrv)
    login(c, BOB)
    c.quit()
    a.quit()
    login(b)
    assert b.stat()[0] == 1
    b.quit()


def test_stls_discards_pipelined_plaintext(srv):
    with RawPOP3(srv.pop3_port) as c:
        # USER injected behind STLS in the same packet.
        c.send(b"STLS\r\nUSER alice@example.test\r\n")
        assert c.line().startswith(b"+OK")
        assert c.buf == b""
        c.starttls(client_context(srv.ca))
        r = c.cmd("PASS secret")
        assert r.startswith(b"-ERR"), r
        assert b"USER first" in r
        # The session works normally after that.
        assert c.cmd("USER alice@example.test").startswith(b"+OK")
        assert c.cmd("PASS secret").startswith(b"+OK")
        assert c.cmd("QUIT").startswith(b"+OK")
    srv.wait_log(r"pop3 stls-discarded octets=25")


def test_stls_twice_and_unknown_state(srv):
    p = pop_stls(srv)
    with pytest.raises(poplib.error_proto):
        p._shortcmd("STLS")
    with pytest.raises(poplib.error_proto):
        p._shortcmd("STAT")          # not before login
    login(p)
    with pytest.raises(poplib.error_proto):
        p._shortcmd("USER bob@example.test")    # not after login
    p.quit()


def test_bad_input(psrv):
    deliver(psrv)
    with RawPOP3(psrv.pop3_port) as c:
        assert c.cmd(b"X" * 5000).startswith(b"-ERR Line too long")
        assert c.cmd(b"NOOP\0").startswith(b"-ERR")
        assert c.cmd(b"FROB").startswith(b"-ERR")
        assert c.cmd(b"").startswith(b"-ERR")
        assert c.cmd("QUIT").startswith(b"+OK")
    with RawPOP3(psrv.pop3_port) as c:
        c.cmd("USER alice@example.test")
        assert c.cmd("PASS secret").startswith(b"+OK")
        for bad in ("RETR 0", "RETR 2", "RETR abc", "RETR -1", "RETR",
                    "RETR 1 2", "TOP 1", "TOP 1 -1", "TOP 1 x"):
            r = c.cmd(bad)
            assert r.startswith(b"-ERR"), (bad, r)
        assert c.cmd("NOOP").startswith(b"+OK")
        assert c.cmd("QUIT").startswith(b"+OK")
    with RawPOP3(psrv.pop3_port) as c:
        c.cmd("USER alice@example.test")
        assert c.cmd("PASS secret").startswith(b"+OK")
        for bad in ("LIST 4294967296", "LIST 99999999999999999999",
                    "DELE 7", "UIDL +1"):
            r = c.cmd(bad)
            assert r.startswith(b"-ERR"), (bad, r)
        assert c.cmd("noop").startswith(b"+OK")      # case-blind
        assert c.cmd("LIST 1").startswith(b"+OK 1 ")
        assert c.cmd("QUIT").startswith(b"+OK")


def test_too_many_errors_closes(psrv):
    with RawPOP3(psrv.pop3_port) as c:
        for _ in range(9):
            assert c.cmd("FROB").startswith(b"-ERR")
        r = c.cmd("FROB")
        assert r.startswith(b"-ERR")
        assert c.line() and c.closed() or c.closed()


def test_pipelining(psrv):
    deliver(psrv, n=3)
    with RawPOP3(psrv.pop3_port) as c:
        c.send(b"USER alice@example.test\r\nPASS secret\r\nSTAT\r\n"
               b"RETR 1\r\nRETR 2\r\nLIST\r\nQUIT\r\n")
        assert c.line().startswith(b"+OK")
        assert c.line().startswith(b"+OK Logged in")
        assert c.line().startswith(b"+OK 3 ")
        for _ in (1, 2):
            assert c.line().startswith(b"+OK")
            assert any(l.startswith(b"Subject:") for l in c.multi())
        assert c.line().startswith(b"+OK")
        assert len(c.multi()) == 3
        assert c.line().startswith(b"+OK Bye")
        assert c.closed()


def test_delivered_mid_session_appears_next_session(psrv):
    deliver(psrv)
    p = pop_plain(psrv)
    login(p)
    assert p.stat()[0] == 1
    deliver(psrv)
    assert p.stat()[0] == 1
    assert len(p.uidl()[1]) == 1
    p.quit()
    p = pop_plain(psrv)
    login(p)
    assert p.stat()[0] == 2
    p.quit()


def test_bare_lf_file_counts_crlf(psrv):
    data = b"Subject: lf\n\nline1\n.dot\nlast without newline"
    maildir_write(psrv, ALICE, "1700000000.M1P1Q1.test", data)
    p = pop_plain(psrv)
    login(p)
    want = data.replace(b"\n", b"\r\n")
    assert p.stat() == (1, len(want))
    resp, lines, _ = p.retr(1)
    assert resp == b"+OK %d octets" % len(want)
    assert lines == [b"Subject: lf", b"", b"line1", b".dot",
                     b"last without newline"]
    p.quit()


def test_mailbox_of_10000_messages(psrv):
    n = 10000
    md = psrv.maildir(ALICE)
    for d in ("tmp", "new", "cur"):
        (md / d).mkdir(parents=True, exist_ok=True)
    total = 0
    for i in range(n):
        body = b"Subject: m%d\r\n\r\nbody %d\r\n" % (i, i)
        (md / "new" / ("%d.M%dP1Q1.bulk,S=%d" % (1700000000 + i, i,
                                                  len(body)))).write_bytes(body)
        total += len(body)
    t0 = time.monotonic()
    p = pop_plain(psrv, timeout=60)
    login(p)
    assert p.stat() == (n, total)
    uidl = p.uidl()[1]
    assert len(uidl) == n
    listing = p.list()[1]
    assert len(listing) == n
    assert p.retr(n)[1][0] == b"Subject: m%d" % (n - 1)
    p.quit()
    # A second session reuses the index: same UIDs.
    p = pop_plain(psrv, timeout=60)
    login(p)
    assert p.uidl()[1] == uidl
    p.quit()
    assert time.monotonic() - t0 < 60
    assert len(list((md / "cur").iterdir())) == n


def test_auth_state_quit_and_apop(psrv):
    with RawPOP3(psrv.pop3_port) as c:
        assert c.cmd("APOP alice@example.test 0123456789abcdef").startswith(
            b"-ERR")
        assert c.cmd("QUIT").startswith(b"+OK")
        assert c.closed()
