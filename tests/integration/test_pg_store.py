"""The PostgreSQL store (store = postgresql://..., src/store/store_db_pg.c)
on a real PostgreSQL 15 that the test starts itself (pgserver.py):

  - the store's unit tests again on PostgreSQL (same results and errors;
    test_ops_dmarc: the DMARC rows summed by the database);
  - schema: nodes migrating at once migrate once; a newer schema refused;
    a bad `store` value and an unreachable database said clearly by the
    command line (`ferry serve` waiting for it: test_pg_faults.py);
  - two Ferry nodes on 127.0.0.2 and 127.0.0.3 sharing one database: a
    user added on A logs in on B (POP3 and IMAP) and gets mail there; a
    ban made on A refuses on B; greylisting passes on B after a first try
    on A; a password change on A takes effect on B within seconds;
  - PostgreSQL stopped: SMTP answers 4xx (never 5xx), logins fail
    cleanly; started again, everything works without restarting Ferry.

Every wait is bounded (wait_until); nothing sleeps to assert timing."""

import imaplib
import os
import re
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from conftest import (FERRY_BIN, PASSWORD, RawSMTP, free_port, make_message,
                      tcp_listening, wait_until)
from fakedns import FakeDNS, fakedns  # noqa: F401
from pgserver import pg  # noqa: F401
from test_pop3 import RawPOP3
from test_store_lock import schema_version

BUILD = Path(FERRY_BIN).parent
CAROL = "carol@example.test"


@pytest.fixture
def pg_url(pg):
    """A fresh, empty database of its own for each test."""
    return pg.create_db("t" + uuid.uuid4().hex[:12])


def node(make_ferry, url, addr, name, dns, accounts=False, **extra):
    """A started Ferry on addr (SMTP, POP3 and IMAP, plaintext logins
    allowed from loopback) with store = url."""
    smtp, pop3, imap = (free_port(addr) for _ in range(3))
    conf = {"store": url, "dns_resolvers": dns.address,
            "bad_rcpt_limit": "0", "smtp_listen": f"{addr}:{smtp}",
            "pop3_listen": f"{addr}:{pop3}", "imap_listen": f"{addr}:{imap}",
            "auth_plaintext_networks": "127.0.0.0/8"}
    conf.update({k: str(v) for k, v in extra.items()})
    srv = make_ferry(conf, start=False, accounts=accounts, name=name)
    srv.host, srv.port, srv.pop3_port, srv.imap_port = addr, smtp, pop3, imap
    srv.start()
    for p in (pop3, imap):
        wait_until(lambda p=p: tcp_listening(p, addr), 10,
                   what=f"listener {addr}:{p}")
    return srv


@pytest.fixture
def two_nodes(make_ferry, pg_url, fakedns):
    """Nodes A (127.0.0.2, which added example.test, alice and bob) and
    B (127.0.0.3) on one database."""
    def make(**extra):
        a = node(make_ferry, pg_url, "127.0.0.2", "a", fakedns,
                 accounts=True, **extra)
        b = node(make_ferry, pg_url, "127.0.0.3", "b", fakedns, **extra)
        return a, b
    return make


def pop3_login(srv, user, password):
    """The reply to PASS (b"" when the connection gave no greeting)."""
    with RawPOP3(srv.pop3_port, srv.host) as c:
        if c.greeting is None or not c.greeting.startswith(b"+OK"):
            return c.greeting or b""
        c.cmd(f"USER {user}")
        r = c.cmd(f"PASS {password}")
        c.cmd("QUIT")
        return r


def imap_login(srv, user, password):
    """True when LOGIN succeeds, False when refused."""
    m = imaplib.IMAP4(srv.host, srv.imap_port, timeout=10)
    try:
        m.login(user, password)
        m.select("INBOX")
        m.logout()
        return True
    except imaplib.IMAP4.error:
        return False


def rcpt(srv, to="alice@example.test", sender="someone@sender.test"):
    """The RCPT reply of one SMTP dialogue from 127.0.0.1."""
    with RawSMTP(srv.port, srv.host, source="127.0.0.1") as c:
        assert c.greeting is not None and c.greeting.code == 220, c.greeting
        assert c.cmd("EHLO client.sender.test").code == 250
        assert c.cmd(f"MAIL FROM:<{sender}>").code == 250
        r = c.cmd(f"RCPT TO:<{to}>")
        c.send(b"QUIT\r\n")
        return r


# ------------------------------------------------------------ unit tests

@pytest.mark.parametrize("binary", ["test_store", "test_store_req",
                                    "test_sendlimit", "test_vacation",
                                    "test_ops", "test_history",
                                    "test_ops_dmarc"])
def test_unit_tests_on_postgresql(pg, binary):
    path = BUILD / "tests" / binary
    if not path.exists():
        pytest.skip(f"{path} not built (make unit)")
    env = dict(os.environ, FERRY_TEST_STORE=pg.create_db(
        "u" + uuid.uuid4().hex[:12]))
    r = subprocess.run([str(path)], env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert " 0 failed" in r.stdout


# ------------------------------------------------------------ schema

def cli_node(make_ferry, url, name="cli"):
    srv = make_ferry({"store": url}, start=False, accounts=False, name=name)
    return srv


def test_concurrent_migration_runs_once(make_ferry, pg, pg_url):
    srv = cli_node(make_ferry, pg_url)
    procs = [subprocess.Popen([FERRY_BIN, "-c", str(srv.conf_path), "domain",
                               "list"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for _ in range(6)]
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    db = pg_url.split("/")[3].split("?")[0]
    assert pg.psql("SELECT version FROM schema_version", db) == \
        str(schema_version())
    # Every table both drivers have, and the PostgreSQL counter.
    tables = set(pg.psql("SELECT tablename FROM pg_tables WHERE "
                         "schemaname = 'public'", db).split())
    assert {"domains", "users", "aliases", "bans", "auth_failures", "rules",
            "greylist", "greylist_clients", "dmarc_results", "dmarc_reports",
            "vacations", "vacation_replies", "send_limits", "send_counts",
            "send_holds", "send_released", "domain_suspended",
            "dmarc_in_reports", "dmarc_in_records", "nodes", "domain_homes",
            "history_msgs", "history_rcpts", "history_attempts",
            "queue_summary", "queue_nodes",
            "schema_version", "ferry_generation"} <= tables
    # The same errors as on SQLite.
    srv.cli_ok("domain", "add", "example.test")
    r = srv.cli("domain", "add", "EXAMPLE.test")
    assert r.returncode == 1 and "domain exists" in r.stderr
    r = srv.cli("user", "add", "x@nowhere.test", input="pw\n")
    assert r.returncode == 1 and "no such domain" in r.stderr


def test_newer_schema_refused(make_ferry, pg, pg_url):
    srv = cli_node(make_ferry, pg_url)
    srv.cli_ok("domain", "list")
    db = pg_url.split("/")[3].split("?")[0]
    pg.psql("UPDATE schema_version SET version = 99", db)
    r = srv.cli("domain", "list")
    assert r.returncode == 1
    assert "database schema is newer than this ferry" in r.stderr


def test_bad_store_value_refused(make_ferry):
    srv = make_ferry({"store": "mysql://db.example/ferry"}, start=False,
                     accounts=False)
    r = srv.cli("domain", "list")
    assert r.returncode != 0
    assert "store" in r.stderr and "postgresql://" in r.stderr


def test_cli_with_unreachable_database_says_so(make_ferry, tmp_path):
    # `ferry serve` waits for it instead: test_pg_faults.py.
    url = (f"postgresql://ferry:hunter2@/ferry?host={tmp_path}/nothing"
           "&port=5432")
    srv = make_ferry({"store": url}, start=False, accounts=False)
    r = srv.cli("domain", "list")
    assert r.returncode == 1 and "cannot connect" in r.stderr
    assert "hunter2" not in r.stderr


# ------------------------------------------------------------ two nodes

def test_user_added_on_a_works_on_b(two_nodes):
    a, b = two_nodes()
    assert pop3_login(b, CAROL, "carols-pw").startswith(b"-ERR")
    a.add_user(CAROL, "carols-pw")
    wait_until(lambda: pop3_login(b, CAROL, "carols-pw").startswith(b"+OK"),
               10, what="carol's POP3 login on B")
    assert imap_login(b, CAROL, "carols-pw")
    assert not imap_login(b, CAROL, "wrong")
    # B accepts mail for her and delivers it into its own mailboxes.
    with b.smtp() as s:
        s.sendmail("x@sender.test", [CAROL], make_message(to=CAROL))
    b.wait_delivered(CAROL)
    # What A lists, B's command line lists too.
    assert CAROL in b.cli_ok("user", "list").stdout


def test_ban_on_a_refuses_on_b(two_nodes):
    a, b = two_nodes(auth_ban_max_failures=3, auth_ban_window="10m",
                     auth_ban_time="1h")
    assert pop3_login(b, "alice@example.test", PASSWORD).startswith(b"+OK")
    a.cli_ok("ban", "add", "127.0.0.1", "--for", "10m")

    def refused():
        with RawPOP3(b.pop3_port, b.host) as c:
            return c.greeting is not None and \
                c.greeting.startswith(b"-ERR [SYS/PERM]")
    wait_until(refused, 10, what="B to refuse the address A banned")
    a.cli_ok("ban", "del", "127.0.0.1")
    wait_until(lambda: pop3_login(b, "alice@example.test",
                                  PASSWORD).startswith(b"+OK"),
               10, what="B to lift the ban")


def test_greylist_first_try_on_a_passes_on_b(two_nodes):
    a, b = two_nodes(greylist="yes", greylist_delay="1s",
                     greylist_window="1h")
    t0 = time.time()
    r = rcpt(a, sender="g@sender.test")
    assert r.code == 451 and "reylist" in r.text, r
    wait_until(lambda: time.time() >= int(t0) + 2.05, 5,
               what="the greylist delay")
    r = rcpt(b, sender="g@sender.test")
    assert r.code == 250, r
    # The network is trusted now, for both nodes.
    assert rcpt(a, sender="other@sender.test").code == 250


def test_password_change_on_a_reaches_b(two_nodes):
    a, b = two_nodes()
    alice = "alice@example.test"
    # B has the old password cached after a good login.
    assert pop3_login(b, alice, PASSWORD).startswith(b"+OK")
    assert imap_login(b, alice, PASSWORD)
    a.cli_ok("user", "passwd", alice, input="n3w-Secret\n")
    wait_until(lambda: pop3_login(b, alice, "n3w-Secret").startswith(b"+OK"),
               10, what="B to take the new password")
    wait_until(lambda: pop3_login(b, alice, PASSWORD).startswith(b"-ERR"),
               10, what="B to refuse the old password")
    assert imap_login(b, alice, "n3w-Secret")
    assert not imap_login(b, alice, PASSWORD)


def test_database_down_then_back(two_nodes, pg):
    a, b = two_nodes()
    alice = "alice@example.test"
    assert rcpt(a).code == 250 and rcpt(b).code == 250
    seen = []
    pg.stop()
    try:
        def deferred():
            r = rcpt(a, to="bob@example.test")
            seen.append(r.code)
            return 400 <= r.code < 500
        wait_until(deferred, 15, interval=0.2,
                   what="a 4xx RCPT with the database down")
        for srv in (a, b):
            r = rcpt(srv, to="newcomer@example.test")
            seen.append(r.code)
            assert 400 <= r.code < 500, r
            assert pop3_login(srv, alice, PASSWORD).startswith(b"-ERR")
            assert not imap_login(srv, alice, PASSWORD)
    finally:
        pg.start()
    assert not [c for c in seen if c >= 500], seen
    for srv in (a, b):
        wait_until(lambda srv=srv: rcpt(srv).code == 250, 15, interval=0.2,
                   what="RCPT to work again")
        wait_until(lambda srv=srv: pop3_login(srv, alice, PASSWORD)
                   .startswith(b"+OK"), 15, interval=0.2,
                   what="logins to work again")
        assert imap_login(srv, alice, PASSWORD)
    # A change made now reaches the other node again.
    a.add_user(CAROL, "carols-pw")
    wait_until(lambda: pop3_login(b, CAROL, "carols-pw").startswith(b"+OK"),
               10, what="carol's login on B after the outage")


# ------------------------------------------------------------ store migrate

def migrate_counts(out):
    """{table: [copied, in source, in destination]} of a migrate run."""
    rx = re.compile(r"^(\w+) +(\d+) copied +(\d+) in source +(\d+) in "
                    r"destination$", re.M)
    return {m[1]: [int(m[2]), int(m[3]), int(m[4])] for m in rx.finditer(out)}


def test_store_migrate_from_sqlite(make_ferry, pg, pg_url, fakedns):
    old = make_ferry({"pop3_listen": None}, start=False)   # SQLite, alice, bob
    old.add_alias("sales@example.test", "alice@example.test")
    old.cli_ok("rule", "add", "example.test", "deny", "sender",
               "spam@bad.test")
    old.cli_ok("ban", "add", "192.0.2.9", "--for", "1h")
    db = str(old.state_dir / "ferry.db")
    r = old.cli_ok("store", "migrate", "--from", f"sqlite:{db}", "--to", pg_url)
    counts = migrate_counts(r.stdout)
    assert len(counts) == 20     # every table but auth_failures
    assert counts["domains"] == [1, 1, 1] and counts["users"] == [2, 2, 2]
    assert counts["aliases"] == [1, 1, 1] and counts["rules"] == [1, 1, 1]
    assert counts["bans"] == [1, 1, 1]
    assert r.stdout.rstrip().endswith("done: every table copied")
    # Again: nothing new, still complete.
    r = old.cli_ok("store", "migrate", "--from", f"sqlite:{db}", "--to",
                   pg_url)
    again = migrate_counts(r.stdout)
    assert again["users"] == [0, 2, 2] and again["domains"] == [0, 1, 1]
    # A node on the database has everything, and new rules get new ids.
    b = node(make_ferry, pg_url, "127.0.0.3", "b", fakedns)
    assert pop3_login(b, "alice@example.test", PASSWORD).startswith(b"+OK")
    assert "sales@example.test" in b.cli_ok("alias", "list").stdout
    b.cli_ok("rule", "add", "example.test", "deny", "sender", "x@bad.test")
    rules = b.cli_ok("rule", "list").stdout
    assert "spam@bad.test" in rules and "x@bad.test" in rules
    assert "192.0.2.9" in b.cli_ok("ban", "list").stdout


def test_store_migrate_bad_input(make_ferry, pg_url, tmp_path):
    srv = make_ferry(start=False, accounts=False)
    assert srv.cli("store", "migrate").returncode == 2
    assert srv.cli("store", "migrate", "--from", "x", "--to",
                   pg_url).returncode == 2
    assert srv.cli("store", "copy", "--from", "sqlite:/a", "--to",
                   pg_url).returncode == 2
    assert srv.cli("store", "migrate", "--from", "sqlite:/a").returncode == 2
    r = srv.cli("store", "migrate", "--from", f"sqlite:{tmp_path}/none.db",
                "--to", pg_url)
    assert r.returncode == 1 and "no such database" in r.stderr
    assert not (tmp_path / "none.db").exists()
    r = srv.cli("store", "migrate", "--from", pg_url, "--to", pg_url)
    assert r.returncode == 1 and "the same store" in r.stderr
