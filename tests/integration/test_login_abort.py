"""Logins whose client leaves before the answer (issue 9, point 1).

A login's password check runs on the role's worker pool while the session
reads nothing.  Many clients that each send a login and disconnect at
once must not keep their sessions (the listener's session gauge drops to
zero without waiting for the hashes), must not be counted as logins of
either kind, and must not cost a hash each: the checks not started yet
are skipped.  The server stays healthy and the next login works.

The user's password hash is made slow on purpose (SHA-crypt with a
million rounds, about a second here), so that the worker threads (4) are
still busy with the first logins while the clients close."""

import base64
import ctypes
import ctypes.util
import imaplib
import poplib
import re
import smtplib
import socket
import sqlite3
import urllib.request

import pytest

from conftest import PASSWORD, free_port, mailbox_ferry, wait_until

ALICE = "alice@example.test"
CLIENTS = 12            # > the 4 worker threads: some logins wait in line


def slow_hash(password):
    name = ctypes.util.find_library("crypt") or "libcrypt.so.1"
    lib = ctypes.CDLL(name)
    lib.crypt.restype = ctypes.c_char_p
    lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    out = lib.crypt(password.encode(), b"$6$rounds=1000000$ferrytestsalt$")
    assert out and out.startswith(b"$6$"), out
    return out.decode()


def make_slow(srv, user=ALICE, password=PASSWORD):
    db = sqlite3.connect(srv.state_dir / "ferry.db")
    try:
        n = db.execute("UPDATE users SET password = ? WHERE address = ?",
                       (slow_hash(password), user)).rowcount
        db.commit()
    finally:
        db.close()
    assert n == 1


def metrics(srv):
    with urllib.request.urlopen(f"http://127.0.0.1:{srv.metrics_port}/metrics",
                                timeout=10) as r:
        return r.read().decode()


def sessions(srv, kind):
    total = 0
    for m in re.finditer(r'^ferry_listener_sessions\{([^}]*)\} (\d+)',
                         metrics(srv), re.M):
        if f'kind="{kind}"' in m.group(1):
            total += int(m.group(2))
    return total


def logins(srv, proto):
    out = {}
    for result in ("ok", "failed"):
        m = re.search(r'^ferry_logins_total\{protocol="%s",result="%s"\} (\d+)'
                      % (proto, result), metrics(srv), re.M)
        out[result] = int(m.group(1)) if m else 0
    return out


def base_conf(extra=None):
    mport = free_port()
    conf = {"metrics_listen": f"127.0.0.1:{mport}",
            # every login pays the full hash: no answers from the cache
            "auth_cache_ttl": "0",
            # wrong passwords are counted, but nobody gets banned here
            "auth_ban_max_failures": "1000"}
    conf.update(extra or {})
    return conf, mport


def connect_all(port, greeting, n=CLIENTS):
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        f = s.makefile("rb")
        line = f.readline()
        assert line.startswith(greeting), line
        socks.append((s, f))
    return socks


def abandon(srv, kind, socks, send):
    """Each client sends its login (send(sock, file)), then all leave
    together while the first hashes still run."""
    for s, f in socks:
        send(s, f)
    wait_until(lambda: sessions(srv, kind) == len(socks), 20,
               what=f"{len(socks)} {kind} sessions")
    for s, f in socks:
        f.close()
        s.close()
    wait_until(lambda: sessions(srv, kind) == 0, 20,
               what=f"the {kind} sessions to go")


@pytest.fixture
def pop3(make_ferry, tmp_path):
    conf, mport = base_conf()
    srv = mailbox_ferry(make_ferry, tmp_path, "pop3", plaintext=True, tls=False,
                        **conf)
    srv.metrics_port = mport
    make_slow(srv)
    return srv


@pytest.fixture
def imap(make_ferry, tmp_path):
    conf, mport = base_conf()
    srv = mailbox_ferry(make_ferry, tmp_path, "imap", plaintext=True, tls=False,
                        **conf)
    srv.metrics_port = mport
    make_slow(srv)
    return srv


@pytest.fixture
def submission(make_ferry):
    port = free_port()
    conf, mport = base_conf({"submission_listen": f"127.0.0.1:{port}",
                             "auth_plaintext_networks": "127.0.0.0/8"})
    srv = make_ferry(conf)
    srv.sub_port, srv.metrics_port = port, mport
    make_slow(srv)
    return srv


def aborted_lines(srv, proto):
    return re.findall(r"%s login-aborted address=\S+ .*started=(yes|no)" % proto,
                      srv.log_text())


def check_gone_first(srv, proto):
    """Each aborted login's session logged its disconnection before its
    job reported: the session did not wait for the hash."""
    lines = srv.log_text().splitlines()
    rx = re.compile(r" (\S+) %s (disconnected|login-aborted) " % proto)
    events = [(i, m.group(1), m.group(2)) for i, ln in enumerate(lines)
              for m in [rx.search(ln)] if m]
    ids = [sid for _, sid, what in events if what == "login-aborted"]
    assert len(ids) == CLIENTS
    for sid in ids:
        gone = [i for i, x, what in events if x == sid and what == "disconnected"]
        done = [i for i, x, what in events if x == sid and what == "login-aborted"]
        assert gone and gone[0] < done[0], (sid, gone, done)


def failure_rows(srv):
    db = sqlite3.connect(srv.state_dir / "ferry.db")
    try:
        return db.execute("SELECT count(*) FROM auth_failures").fetchone()[0]
    finally:
        db.close()


@pytest.mark.parametrize("method,password", [("USER", PASSWORD),
                                             ("AUTH", "wrong")])
def test_pop3_logins_left_behind(pop3, method, password):
    before = logins(pop3, "pop3")
    plain = base64.b64encode(f"\0{ALICE}\0{password}".encode()).decode()

    def send(s, f):
        if method == "USER":
            s.sendall(f"USER {ALICE}\r\n".encode())
            assert f.readline().startswith(b"+OK")
            s.sendall(f"PASS {password}\r\n".encode())
        else:
            s.sendall(f"AUTH PLAIN {plain}\r\n".encode())
    abandon(pop3, "pop3", connect_all(pop3.pop3_port, b"+OK"), send)

    pop3.wait_log(r"(?s)(?:pop3 login-aborted .*){%d}" % CLIENTS, timeout=60)
    started = aborted_lines(pop3, "pop3")
    assert len(started) == CLIENTS
    assert "no" in started, "every queued hash ran although its client left"
    check_gone_first(pop3, "pop3")
    assert "pop3 login user=" not in pop3.log_text()
    assert "pop3 auth-failed" not in pop3.log_text()
    assert logins(pop3, "pop3") == before
    # a wrong password is still counted towards a ban when its check ran,
    # and only then
    assert failure_rows(pop3) == (started.count("yes") if password != PASSWORD
                                  else 0)

    # healthy: the next client logs in (and is counted once)
    c = poplib.POP3("127.0.0.1", pop3.pop3_port, timeout=60)
    c.user(ALICE)
    assert c.pass_(PASSWORD).startswith(b"+OK")
    c.quit()
    after = logins(pop3, "pop3")
    assert after["ok"] == before["ok"] + 1
    assert after["failed"] == before["failed"]


def test_pop3_pipelined_login_is_still_answered(pop3):
    """A client that pipelines PASS and QUIT before closing its sending
    side left input unread: the login is not aborted, it runs and QUIT
    is answered, as before."""
    s = socket.create_connection(("127.0.0.1", pop3.pop3_port), timeout=60)
    f = s.makefile("rb")
    assert f.readline().startswith(b"+OK")
    s.sendall(f"USER {ALICE}\r\nPASS {PASSWORD}\r\nQUIT\r\n".encode())
    s.shutdown(socket.SHUT_WR)
    lines = [f.readline() for _ in range(3)]
    assert lines[0].startswith(b"+OK")
    assert lines[1].startswith(b"+OK Logged in"), lines
    assert lines[2].startswith(b"+OK"), lines
    s.close()
    assert "login-aborted" not in pop3.log_text()


@pytest.mark.parametrize("method,password", [("LOGIN", PASSWORD),
                                             ("AUTHENTICATE", "wrong")])
def test_imap_logins_left_behind(imap, method, password):
    before = logins(imap, "imap")
    plain = base64.b64encode(f"\0{ALICE}\0{password}".encode()).decode()

    def send(s, f):
        if method == "LOGIN":
            s.sendall(f'a LOGIN {ALICE} "{password}"\r\n'.encode())
        else:
            s.sendall(b"a AUTHENTICATE PLAIN\r\n")
            assert f.readline().startswith(b"+")
            s.sendall(f"{plain}\r\n".encode())
    abandon(imap, "imap", connect_all(imap.imap_port, b"* OK"), send)

    imap.wait_log(r"(?s)(?:imap login-aborted .*){%d}" % CLIENTS, timeout=60)
    started = aborted_lines(imap, "imap")
    assert len(started) == CLIENTS
    assert "no" in started, "every queued hash ran although its client left"
    check_gone_first(imap, "imap")
    assert "imap login user=" not in imap.log_text()
    assert "imap auth-failed" not in imap.log_text()
    assert logins(imap, "imap") == before
    assert failure_rows(imap) == (started.count("yes") if password != PASSWORD
                                  else 0)

    c = imaplib.IMAP4("127.0.0.1", imap.imap_port, timeout=60)
    assert c.login(ALICE, PASSWORD)[0] == "OK"
    c.logout()
    after = logins(imap, "imap")
    assert after["ok"] == before["ok"] + 1
    assert after["failed"] == before["failed"]


@pytest.mark.parametrize("password", [PASSWORD, "wrong"])
def test_smtp_auth_left_behind(submission, password):
    srv = submission
    before = logins(srv, "smtp")
    plain = base64.b64encode(f"\0{ALICE}\0{password}".encode()).decode()

    def send(s, f):
        s.sendall(b"EHLO client.example\r\n")
        while not f.readline().startswith(b"250 "):
            pass
        s.sendall(f"AUTH PLAIN {plain}\r\n".encode())
    abandon(srv, "submission", connect_all(srv.sub_port, b"220"), send)

    srv.wait_log(r"(?s)(?:smtp auth-aborted .*){%d}" % CLIENTS, timeout=60)
    text = srv.log_text()
    assert "smtp auth user=" not in text
    assert "smtp auth-failed" not in text
    assert logins(srv, "smtp") == before
    # SMTP counts a failure on the loop once the answer is known: an
    # answer dropped counts nothing
    assert failure_rows(srv) == 0
    # each session went at its client's close, not when its check ended
    sids = re.findall(r" (\S+) smtp auth-aborted ", text)
    assert len(sids) == CLIENTS
    for sid in sids:
        assert re.search(r" %s smtp disconnected " % sid, text)

    with smtplib.SMTP("127.0.0.1", srv.sub_port, local_hostname="client.example",
                      timeout=60) as c:
        c.ehlo()
        assert c.login(ALICE, PASSWORD)[0] == 235
    after = logins(srv, "smtp")
    assert after["ok"] == before["ok"] + 1
    assert after["failed"] == before["failed"]
