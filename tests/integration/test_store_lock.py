"""The event loops never wait for the database (store.h, the request API):
another process holds ferry.db's write lock (`BEGIN EXCLUSIVE`) while
sessions go on.  Nothing here measures time: the proof is that replies
arrive while the holder still holds the lock, which a loop blocked on the
database could not do; the holder holds for 3 s (or until told).  A
database made by the previous ferry is opened and migrated in place."""

import base64
import socket
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from conftest import PASSWORD, RawSMTP
from test_pop3 import RawPOP3, pop3_ferry

HOLDER = r"""
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
db.execute("BEGIN EXCLUSIVE")
db.execute("INSERT INTO domains (name) VALUES ('held.test')")
print("locked", flush=True)
if sys.argv[2] == "stdin":
    sys.stdin.readline()
else:
    time.sleep(float(sys.argv[2]))
db.execute("ROLLBACK")
print("released", flush=True)
"""


def hold_lock(srv, how):
    """Starts the holder process; returns it once it holds the lock."""
    p = subprocess.Popen([sys.executable, "-c", HOLDER,
                          str(srv.state_dir / "ferry.db"), how],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True)
    assert p.stdout.readline().strip() == "locked"
    return p


def still_holding(p):
    return p.poll() is None


def plain(user, password):
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


def lock_ferry(make_ferry, tmp_path, **kw):
    return pop3_ferry(make_ferry, tmp_path, plaintext=True, tls=False,
                      auth_ban_max_failures="5", auth_ban_window="10m",
                      auth_ban_time="1h", **kw)


def start_failed_auth(srv):
    """An SMTP session whose AUTH fails: its failure must be written
    (auth/ban.c), so its 535 waits for the database.  Returns the
    session once the server has logged the failure and submitted the
    write."""
    since = srv.log_offset()
    c = RawSMTP(srv.port)
    c.ehlo()
    c.send("AUTH PLAIN " + plain("alice@example.test", "wrong") + "\r\n")
    srv.wait_log(r"smtp auth-failed address=127\.0\.0\.1", since=since)
    return c


def no_reply_yet(c):
    """True when nothing has come back on c (checked without waiting)."""
    if c.buf:
        return False
    c.sock.setblocking(False)
    try:
        data = c.sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return True
    finally:
        c.sock.setblocking(True)
    return data == b""


def failures(srv):
    db = sqlite3.connect(str(srv.state_dir / "ferry.db"), timeout=10)
    try:
        return db.execute("SELECT COUNT(*) FROM auth_failures WHERE "
                          "ip = '127.0.0.1'").fetchone()[0]
    finally:
        db.close()


def test_sessions_go_on_while_the_database_is_locked(make_ferry, tmp_path):
    srv = lock_ferry(make_ferry, tmp_path)
    holder = hold_lock(srv, "3")
    try:
        failed = start_failed_auth(srv)
        # A new SMTP session: greeting, EHLO, MAIL and RCPT replies.
        with RawSMTP(srv.port) as c:
            assert c.greeting.code == 220
            assert c.ehlo().code == 250
            assert c.cmd("MAIL FROM:<someone@remote.example>").code == 250
            assert c.cmd("RCPT TO:<alice@example.test>").code == 250
            assert c.cmd("QUIT").code == 221
        # A POP3 session's greeting (its ban check reads the store).
        with RawPOP3(srv.pop3_port) as p:
            assert p.greeting.startswith(b"+OK"), p.greeting
            assert p.cmd("QUIT").startswith(b"+OK")
        # All of that came while the lock was held, and the failed
        # login's write is still waiting for it.
        assert still_holding(holder), "the lock was released too early"
        assert no_reply_yet(failed)
        assert failures(srv) == 0       # readers see no half-done write
        assert still_holding(holder)
    finally:
        out = holder.communicate(timeout=30)[0]
    assert "released" in out
    # Once the lock is gone the failure is written and the 535 sent.
    r = failed.reply()
    assert r.code == 535, r
    failed.close()
    assert failures(srv) == 1
    srv.wait_log(r"smtp auth-failed")


def test_a_write_gives_up_after_the_busy_timeout(make_ferry, tmp_path):
    srv = lock_ferry(make_ferry, tmp_path)
    holder = hold_lock(srv, "stdin")
    try:
        failed = start_failed_auth(srv)
        # The holder never lets go on its own: the reply can only come
        # because the write gave up (busy timeout) and reported it.
        r = failed.reply(timeout=30)
        assert r.code == 535, r
        assert still_holding(holder)
        srv.wait_log(r"ban record-failed address=127\.0\.0\.1")
        # Meanwhile and afterwards, sessions are served.
        with RawSMTP(srv.port) as c:
            assert c.ehlo().code == 250
        assert still_holding(holder)
        failed.close()
    finally:
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.communicate(timeout=30)
    assert failures(srv) == 0


def schema_version():
    """STORE_SCHEMA_VERSION of the sources under test."""
    h = Path(__file__).parents[2] / "src" / "store" / "store_db.h"
    return int(re.search(r"#define STORE_SCHEMA_VERSION (\d+)",
                         h.read_text())[1])


def test_database_from_the_previous_schema_migrates(make_ferry, tmp_path):
    """ferry.db as the previous ferry left it (schema 2 with the rule
    tables made outside the migrations; a dump made with that build) is
    migrated in place on start: accounts, aliases, bans and rules stay."""
    srv = make_ferry({"auth_plaintext_networks": "127.0.0.0/8"},
                     start=False, accounts=False)
    srv.state_dir.mkdir(parents=True, exist_ok=True)
    dump = Path(__file__).parent / "data" / "ferry-db-schema2.sql"
    db = sqlite3.connect(str(srv.state_dir / "ferry.db"))
    db.executescript(dump.read_text())
    db.close()
    srv.start()
    srv.wait_greeting()
    db = sqlite3.connect(str(srv.state_dir / "ferry.db"))
    assert db.execute("SELECT MAX(version) FROM schema_version"
                      ).fetchone()[0] == schema_version()
    db.close()
    rules = srv.cli_ok("rule", "list", "example.org").stdout
    assert "spam@bad.test" in rules and "greylist,dnsbl" in rules
    assert "alice@example.org" in srv.cli_ok("user", "list").stdout
    assert "192.0.2.9" in srv.cli_ok("ban", "list").stdout
    # The rule made by the old ferry is enforced by the new one.
    with RawSMTP(srv.port) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<spam@bad.test>").code == 250
        r = c.cmd("RCPT TO:<alice@example.org>")
        assert r.code == 550 and "rule 1" in r.text, r
        assert c.cmd("RSET").code == 250
        assert c.cmd("MAIL FROM:<friend@good.test>").code == 250
        assert c.cmd("RCPT TO:<info@example.org>").code == 250
    # The old password hash still logs in.
    with RawSMTP(srv.port) as c:
        c.ehlo()
        r = c.cmd("AUTH PLAIN " + plain("alice@example.org", PASSWORD))
        assert r.code == 235, r
