"""Failed-login bans (auth/ban.h) seen through POP3 and `ferry ban`:
a ban after auth_ban_max_failures, the one-line refusal while banned,
expiry, auth_ban_exempt, persistence across a restart, and the CLI."""

import json
import time

import pytest

from conftest import wait_until
from test_pop3 import ALICE, RawPOP3, pop3_ferry, wait_pop3

BANNED = b"-ERR [SYS/PERM]"


def fail_login(srv, password="Guess1ng"):
    """One failed USER/PASS; returns the reply to PASS."""
    with RawPOP3(srv.pop3_port) as c:
        if not c.greeting.startswith(b"+OK"):
            return c.greeting
        c.cmd("USER alice@example.test")
        return c.cmd("PASS " + password)


def refused(srv):
    """True when a new connection gets the ban line and is closed."""
    with RawPOP3(srv.pop3_port) as c:
        if c.greeting is None or not c.greeting.startswith(BANNED):
            return False
        assert b"banned" in c.greeting
        return c.closed()


def good_login(srv):
    with RawPOP3(srv.pop3_port) as c:
        if not c.greeting.startswith(b"+OK"):
            return False
        c.cmd("USER alice@example.test")
        ok = c.cmd("PASS secret").startswith(b"+OK")
        c.cmd("QUIT")
        return ok


def ban_conf(**kw):
    conf = dict(auth_ban_max_failures="3", auth_ban_window="10m",
                auth_ban_time="1h")
    conf.update(kw)
    return conf


def test_ban_after_failures(make_ferry, tmp_path):
    srv = pop3_ferry(make_ferry, tmp_path, plaintext=True, tls=False,
                     **ban_conf())
    for _ in range(2):
        assert fail_login(srv).startswith(b"-ERR [AUTH]")
    # The third failure starts the ban and ends the session.
    r = fail_login(srv)
    assert r.startswith(BANNED), r
    assert refused(srv)
    # Even the right password is not checked now.
    assert not good_login(srv)
    srv.wait_log(r"ban banned address=127\.0\.0\.1 service=pop3 failures=3")
    srv.wait_log(r"pop3 reject stage=connect address=127\.0\.0\.1 check=ban")
    assert "Guess1ng" not in srv.log_text()
    bans = json.loads(srv.cli_ok("ban", "list", "--json").stdout)
    assert [b["ip"] for b in bans] == ["127.0.0.1"]
    assert "pop3" in bans[0]["reason"]


def test_failures_in_one_session_count(make_ferry, tmp_path):
    srv = pop3_ferry(make_ferry, tmp_path, plaintext=True, tls=False,
                     **ban_conf())
    with RawPOP3(srv.pop3_port) as c:
        for i in range(3):
            c.cmd("USER alice@example.test")
            r = c.cmd("PASS nope%d" % i)
        assert r.startswith(BANNED)
        assert c.closed()
    assert refused(srv)


def test_ban_expires(make_ferry, tmp_path):
    srv = pop3_ferry(make_ferry, tmp_path, plaintext=True, tls=False,
                     **ban_conf(auth_ban_time="2s"))
    for _ in range(3):
        fail_login(srv)
    assert refused(srv)
    t0 = time.monotonic()
    wait_until(lambda: good_login(srv), 10, interval=0.3,
               what="the ban to expire")
    assert time.monotonic() - t0 >= 0.5
    # A fresh count starts after the ban.
    assert fail_login(srv).startswith(b"-ERR [AUTH]")


def test_exempt_network_never_banned(make_ferry, tmp_path):
    srv = pop3_ferry(make_ferry, tmp_path, plaintext=True, tls=False,
                     **ban_conf(auth_ban_exempt="127.0.0.0/8"))
    for _ in range(6):
        assert fail_login(srv).startswith(b"-ERR [AUTH]")
    assert good_login(srv)
    assert json.loads(srv.cli_ok("ban", "list", "--json").stdout) == []
    r = srv.cli("ban", "add", "127.0.0.1")
    assert r.returncode == 1 and "auth_ban_exempt" in r.stderr


def test_ban_survives_restart(make_ferry, tmp_path):
    srv = pop3_ferry(make_ferry, tmp_path, plaintext=True, tls=False,
                     **ban_conf())
    for _ in range(3):
        fail_login(srv)
    assert refused(srv)
    srv.restart()
    wait_pop3(srv)
    assert refused(srv)


def test_window_slides(make_ferry, tmp_path):
    srv = pop3_ferry(make_ferry, tmp_path, plaintext=True, tls=False,
                     **ban_conf(auth_ban_window="2s"))
    fail_login(srv)
    fail_login(srv)
    time.sleep(2.5)
    # The two old failures aged out: this one is the first of a new count.
    assert fail_login(srv).startswith(b"-ERR [AUTH]")
    assert good_login(srv)


def test_ban_cli(make_ferry, tmp_path):
    srv = pop3_ferry(make_ferry, tmp_path, plaintext=True, tls=False,
                     **ban_conf())
    assert srv.cli_ok("ban", "list").stdout == "no bans\n"
    assert srv.cli_ok("ban", "list", "--json").stdout.strip() == "[]"
    srv.cli_ok("ban", "add", "192.0.2.7", "--for", "2h")
    srv.cli_ok("ban", "add", "2001:DB8::1")
    out = srv.cli_ok("ban", "list").stdout
    assert "192.0.2.7" in out and "2001:db8::1" in out
    bans = {b["ip"]: b for b in
            json.loads(srv.cli_ok("ban", "list", "--json").stdout)}
    assert set(bans) == {"192.0.2.7", "2001:db8::1"}
    now = time.time()
    assert abs(bans["192.0.2.7"]["until"] - (now + 7200)) < 60
    assert abs(bans["2001:db8::1"]["until"] - (now + 3600)) < 60
    # A manual ban applies to running servers at once.
    assert good_login(srv)
    srv.cli_ok("ban", "add", "127.0.0.1", "--for", "10m")
    assert refused(srv)
    srv.cli_ok("ban", "del", "127.0.0.1")
    assert good_login(srv)
    # Errors: one line on stderr, 1 for failures and 2 for usage.
    for args, code in ((("ban", "del", "127.0.0.1"), 1),
                       (("ban", "add", "not-an-ip"), 1),
                       (("ban", "add", "10.0.0.0/33"), 1),
                       (("ban", "add", "10.0.0.0/"), 1),
                       (("ban", "add", "192.0.2.9", "--for", "soon"), 1),
                       (("ban",), 2),
                       (("ban", "add"), 2),
                       (("ban", "frob", "1.2.3.4"), 2),
                       (("ban", "add", "1.2.3.4", "--for"), 2),
                       (("ban", "list", "extra"), 2)):
        r = srv.cli(*args)
        assert r.returncode == code, (args, r.returncode, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, (args, r.stderr)


def test_ban_cidr_range(make_ferry, tmp_path):
    """`ban add` takes a range: every address in it is refused at
    connect; it is listed in its canonical form and lifted by del."""
    srv = pop3_ferry(make_ferry, tmp_path, plaintext=True, tls=False,
                     **ban_conf())
    assert good_login(srv)
    srv.cli_ok("ban", "add", "127.0.0.77/8", "--for", "10m")
    assert [b["ip"] for b in json.loads(
        srv.cli_ok("ban", "list", "--json").stdout)] == ["127.0.0.0/8"]
    assert "127.0.0.0/8" in srv.cli_ok("ban", "list").stdout
    assert refused(srv)
    # A range that does not hold the client changes nothing for it.
    srv.cli_ok("ban", "del", "127.0.0.0/8")
    srv.cli_ok("ban", "add", "192.0.2.0/24")
    srv.cli_ok("ban", "add", "2001:db8::/32")
    assert good_login(srv)
    assert {b["ip"] for b in json.loads(srv.cli_ok("ban", "list", "--json").stdout)} == {
        "192.0.2.0/24", "2001:db8::/32"}
    r = srv.cli("ban", "del", "127.0.0.0/8")
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1


def test_ban_range_over_exempt_is_refused(make_ferry, tmp_path):
    srv = pop3_ferry(make_ferry, tmp_path, plaintext=True, tls=False,
                     **ban_conf(auth_ban_exempt="127.0.0.0/8, ::1"))
    for bad in ("127.0.0.0/24", "0.0.0.0/0", "::/0", "127.0.0.1", "::1"):
        r = srv.cli("ban", "add", bad)
        assert r.returncode == 1, (bad, r)
        assert "auth_ban_exempt" in r.stderr, r.stderr
    assert srv.cli_ok("ban", "list").stdout == "no bans\n"
    srv.cli_ok("ban", "add", "10.0.0.0/8")
    assert good_login(srv)
