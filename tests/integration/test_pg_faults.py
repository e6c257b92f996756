"""Faults of the PostgreSQL store's server (issue 15), on a real
PostgreSQL 15 that the test starts and stops itself (pgserver.py):

  - `ferry serve` started while PostgreSQL is down says so (one line
    naming the URI, its password masked, and libpq's reason), listens on
    nothing meanwhile, stops at once on SIGTERM, and once PostgreSQL
    answers migrates the empty database and serves;
  - roles killed while PostgreSQL is down are restarted and run (SMTP
    answers 4xx, logins fail cleanly) instead of dying over and over;
    once PostgreSQL is back everything serves without restarting Ferry;
  - a load run (200 messages over 10 SMTP sessions) with PostgreSQL
    stopped and started in the middle: every message is delivered exactly
    once, the clients got 4xx (never 5xx) while it was down.

Every wait is bounded (wait_until); nothing sleeps to assert timing."""

import json
import os
import re
import signal
import smtplib
import threading
import time
import uuid

import pytest

from conftest import (PASSWORD, free_port, make_message,
                      tcp_listening, wait_until)
from fakedns import fakedns  # noqa: F401
from pgserver import pg  # noqa: F401
from test_pg_store import imap_login, pop3_login, rcpt

ALICE = "alice@example.test"


@pytest.fixture
def pg_url(pg):
    """A fresh, empty database of its own for each test; PostgreSQL is
    running again at the end of the test, whatever the test did."""
    url = pg.create_db("t" + uuid.uuid4().hex[:12])
    yield url
    if not pg.running:
        pg.start()


def with_password(url, password="hunter2"):
    """url with a password (unused: the test cluster trusts its socket)."""
    return url.replace("postgresql://ferry@", f"postgresql://ferry:{password}@")


def make_node(make_ferry, url, dns, accounts=True, admin=False, **extra):
    """A Ferry (not started) with SMTP, POP3 and IMAP (and the admin pages)
    on 127.0.0.1, store = url."""
    pop3, imap = free_port(), free_port()
    conf = {"store": url, "dns_resolvers": dns.address,
            "bad_rcpt_limit": "0", "pop3_listen": f"127.0.0.1:{pop3}",
            "imap_listen": f"127.0.0.1:{imap}",
            "auth_plaintext_networks": "127.0.0.0/8"}
    if admin:
        conf["admin_listen"] = f"127.0.0.1:{free_port()}"
    conf.update({k: str(v) for k, v in extra.items()})
    srv = make_ferry(conf, start=False, accounts=accounts)
    srv.pop3_port, srv.imap_port = pop3, imap
    return srv


def listening(srv):
    return [p for p in (srv.port, srv.pop3_port, srv.imap_port)
            if tcp_listening(p)]


# ------------------------------------------------------------ at start

def test_serve_waits_for_the_database_then_serves(make_ferry, pg, pg_url,
                                                  fakedns):
    url = with_password(pg_url)
    srv = make_node(make_ferry, url, fakedns, accounts=False)
    pg.stop()
    srv.start(wait=False)
    m = srv.wait_log(r"serve store-unreachable store=(\S+) reason=(.*)",
                     timeout=30)
    line = m.group(0)
    # The database named (password masked) and libpq's own reason.
    assert "hunter2" not in srv.log_text()
    assert "postgresql://ferry:*******@/" in m.group(1), line
    assert "cannot connect" in m.group(2) and ".s.PGSQL" in m.group(2), line
    # Nothing listens while it waits: peers see a refused connection
    # (and try the next MX) rather than a silent server.
    assert srv.running()
    assert listening(srv) == []
    assert srv.children() == {}
    pg.start()
    srv.wait_ready(timeout=60)
    srv.wait_log(r"serve store-reachable .*attempts=\d+", timeout=5)
    wait_until(lambda: len(listening(srv)) == 3, 10, what="every listener")
    # The empty database was migrated: accounts work, mail is delivered.
    srv.add_domain("example.test")
    srv.add_user(ALICE)
    with srv.smtp() as s:
        s.sendmail("x@sender.test", [ALICE], make_message(to=ALICE))
    srv.wait_delivered(ALICE)
    assert pop3_login(srv, ALICE, PASSWORD).startswith(b"+OK")
    # The unreachable database was said once, not at every attempt.
    assert srv.log_text().count("store-unreachable") == 1


def test_sigterm_while_waiting_for_the_database(make_ferry, pg, pg_url,
                                                fakedns):
    srv = make_node(make_ferry, pg_url, fakedns, accounts=False)
    pg.stop()
    srv.start(wait=False)
    srv.wait_log(r"serve store-unreachable", timeout=30)
    # SIGHUP while waiting is ignored (it would kill a process that has
    # no handler yet); SIGTERM stops it, cleanly.
    off = srv.log_offset()
    srv.signal(signal.SIGHUP)
    srv.wait_log(r"serve signal-ignored signal=1", since=off)
    assert srv.running()
    assert srv.stop() == 0
    assert re.search(r"serve stopping signal=15 .*waiting for the database",
                     srv.log_text())
    # Nothing was started, so nothing is left behind.
    assert not (srv.state_dir / "ferry.pid").exists()


def test_unreachable_is_retried_but_a_bad_schema_is_not(make_ferry, pg,
                                                        pg_url, fakedns):
    srv = make_node(make_ferry, pg_url, fakedns, accounts=False)
    srv.cli_ok("domain", "list")
    db = pg_url.split("/")[3].split("?")[0]
    pg.psql("UPDATE schema_version SET version = 99", db)
    srv.start(wait=False)
    assert srv.proc.wait(30) == 1
    text = srv.log_text()
    assert "database schema is newer than this ferry" in text
    assert "store-unreachable" not in text


# ------------------------------------------------------------ roles

def test_roles_restarted_while_the_database_is_down(make_ferry, pg, pg_url,
                                                    fakedns):
    srv = make_node(make_ferry, pg_url, fakedns, admin=True)
    srv.start()
    roles = ("smtpd", "queue", "mailbox", "admin")
    for r in roles:
        srv.wait_role_pid(r)
    assert rcpt(srv).code == 250
    pg.stop()
    old = {r: srv.role_pid(r) for r in roles}
    off = srv.log_offset()
    for r in roles:
        os.kill(old[r], signal.SIGKILL)
    new = {r: srv.wait_role_pid(r, timeout=15, not_pid=old[r])
           for r in roles}
    srv.wait_log(r"smtpd ready", since=off, timeout=15)
    # They run without the database: SMTP answers (4xx for a recipient),
    # logins fail cleanly.
    for _ in range(3):
        r = rcpt(srv)
        assert 400 <= r.code < 500, r
    assert pop3_login(srv, ALICE, PASSWORD).startswith(b"-ERR")
    assert not imap_login(srv, ALICE, PASSWORD)
    # ... and kept running: each was started once, none died again.
    assert {r: srv.role_pid(r) for r in roles} == new
    text = srv.log_bytes()[off:].decode("utf-8", "replace")
    for r in roles:
        assert len(re.findall(rf"serve role-exited role={r} ", text)) == 1, \
            text
    pg.start()
    wait_until(lambda: rcpt(srv).code == 250, 30, interval=0.2,
               what="RCPT to work again")
    wait_until(lambda: pop3_login(srv, ALICE, PASSWORD).startswith(b"+OK"),
               30, interval=0.2, what="logins to work again")
    assert imap_login(srv, ALICE, PASSWORD)
    with srv.smtp() as s:
        s.sendmail("x@sender.test", [ALICE], make_message(to=ALICE))
    srv.wait_delivered(ALICE)
    # Still the same processes: no restart of Ferry or of its roles.
    assert {r: srv.role_pid(r) for r in roles} == new
    assert srv.cli_ok("user", "list").stdout.count("@example.test") == 2


# ------------------------------------------------------------ load run

SESSIONS = 10
PER_SESSION = 20


class Sender(threading.Thread):
    """One client: its messages over one SMTP session (a new one when the
    server closes it), each tried again after a 4xx as an MTA would.
    After `first` messages it waits for `gate` (the database stopped)."""

    def __init__(self, srv, n, first, gate, deadline):
        super().__init__(daemon=True)
        self.srv, self.gate, self.first = srv, gate, first
        self.deadline = deadline
        self.todo = [f"load-{n}-{i}-{uuid.uuid4().hex[:8]}"
                     for i in range(PER_SESSION)]
        self.accepted = []
        self.codes = []          # every refusal's code
        self.lost = 0            # sessions that broke under a message
        self.error = None

    def _one(self, s, token):
        msg = make_message(subject=token, to=ALICE)
        try:
            s.sendmail(f"{token}@sender.test", [ALICE], msg)
            return True
        except smtplib.SMTPRecipientsRefused as e:
            self.codes.extend(c for c, _ in e.recipients.values())
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as e:
            self.codes.append(e.smtp_code)
        try:
            s.rset()
        except smtplib.SMTPException:
            pass
        return False

    def run(self):
        s = None
        try:
            while self.todo and time.monotonic() < self.deadline:
                if len(self.accepted) == self.first:
                    self.gate.wait(60)
                if s is None:
                    s = self.srv.smtp(timeout=30)
                token = self.todo[0]
                try:
                    ok = self._one(s, token)
                except (smtplib.SMTPServerDisconnected, OSError):
                    self.lost += 1
                    s = None
                    ok = False
                if ok:
                    self.accepted.append(self.todo.pop(0))
                else:
                    # A refused message goes to the back, as a queue
                    # would retry it later.
                    self.todo.append(self.todo.pop(0))
                    time.sleep(0.05)
        except Exception as e:  # reported by the test
            self.error = e
        finally:
            if s is not None:
                try:
                    s.quit()
                except (smtplib.SMTPException, OSError):
                    pass


def test_load_with_the_database_stopped_and_started(make_ferry, pg, pg_url,
                                                    fakedns):
    srv = make_node(make_ferry, pg_url, fakedns,
                    smtp_max_errors="1000")
    srv.start()
    assert rcpt(srv).code == 250
    gate = threading.Event()
    deadline = time.monotonic() + 240
    senders = [Sender(srv, n, 5, gate, deadline) for n in range(SESSIONS)]
    for t in senders:
        t.start()
    try:
        # Half-way through the first messages of every session...
        wait_until(lambda: all(len(t.accepted) >= 5 for t in senders)
                   or any(t.error for t in senders), 120,
                   what="the first messages of every session")
        pg.stop()
        gate.set()
        # ... the database goes away until the clients have felt it.
        wait_until(lambda: sum(len(t.codes) for t in senders) >= 20
                   or not any(t.is_alive() for t in senders), 60,
                   what="refusals while the database is down")
    finally:
        gate.set()
        if not pg.running:
            pg.start()
    for t in senders:
        t.join(300)
    errors = [t.error for t in senders if t.error]
    assert not errors, errors
    codes = [c for t in senders for c in t.codes]
    assert codes, "no client saw the outage"
    assert all(400 <= c < 500 for c in codes), sorted(set(codes))
    accepted = [tok for t in senders for tok in t.accepted]
    assert sorted(set(accepted)) == sorted(accepted)
    assert len(accepted) == SESSIONS * PER_SESSION, \
        [len(t.todo) for t in senders]
    # Every acknowledged message is in the mailbox exactly once.
    srv.wait_delivered(ALICE, len(accepted), timeout=60)
    seen = {}
    for msg in srv.maildir_messages(ALICE):
        m = re.search(rb"^Subject: (load-\S+)", msg, re.M)
        if m:
            tok = m.group(1).decode()
            seen[tok] = seen.get(tok, 0) + 1
    assert set(seen) == set(accepted)
    assert [t for t, n in seen.items() if n != 1] == []


# ------------------------------------------------------------ store bench

@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_store_bench(make_ferry, pg, pg_url, store):
    """`ferry store bench` (bench/ingest --lookups) on either store: every
    lookup timed, its own domain gone afterwards, bad arguments refused."""
    srv = make_ferry({"store": pg_url} if store == "postgresql" else {},
                     start=False, accounts=True)
    r = srv.cli("store", "bench", "--count", "20", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["store"] == store and out["count"] == 20
    names = [lk["name"] for lk in out["lookups"]]
    assert names == ["user", "user-missing", "alias", "domain",
                     "resolve-rcpt", "ban-check", "greylist",
                     "send-reserve"]
    for lk in out["lookups"]:
        assert 0 < lk["median_us"] <= lk["p99_us"], lk
    r = srv.cli("store", "bench", "--count", "10")
    assert r.returncode == 0 and "resolve-rcpt" in r.stdout, r.stderr
    # Only the accounts the test made are left.
    assert srv.cli_ok("domain", "list").stdout.split() == ["example.test"]
    for bad in (["--count", "5"], ["--count", "x"], ["--count", "-20"],
                ["--count"], ["--fast"]):
        r = srv.cli("store", "bench", *bad)
        assert r.returncode == 2 and "usage" in r.stderr, (bad, r.stderr)
