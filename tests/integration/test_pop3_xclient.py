"""POP3 XCLIENT ADDR= (pop3_trusted_proxies, src/pop3/pop3_cmd_auth.c):
a trusted proxy names its client before login, and from then on the
session's logs and failed-login bans are the client's.  From any other
address, a second time, after USER or after login the command is
refused; malformed addresses are refused and the session goes on.
The node-to-node use (a front node proxying a login to the home node)
is in test_pg_proxy.py.  Raw sockets, since no library sends XCLIENT."""

import pytest

from conftest import PASSWORD
from test_pop3 import ALICE, RawPOP3, deliver, pop3_ferry


@pytest.fixture
def srv(make_ferry, tmp_path):
    """127.0.0.1 is a trusted proxy; 127.0.0.0/8 may log in without TLS;
    three failures ban."""
    return pop3_ferry(make_ferry, tmp_path, plaintext=True,
                      pop3_trusted_proxies="127.0.0.1/32",
                      auth_ban_max_failures="3", auth_ban_window="1h",
                      auth_ban_time="1h")


def login(c, password=PASSWORD):
    assert c.cmd(f"USER {ALICE}").startswith(b"+OK")
    return c.cmd(f"PASS {password}")


def test_trusted_proxy_names_the_client(srv):
    deliver(srv)
    with RawPOP3(srv.pop3_port) as c:
        assert c.cmd("XCLIENT ADDR=192.0.2.7") == b"+OK"
        assert login(c).startswith(b"+OK")
        assert c.cmd("STAT").startswith(b"+OK 1 ")
        assert c.cmd("QUIT").startswith(b"+OK")
    srv.wait_log(r"pop3 proxied address=192\.0\.2\.7 proxy=127\.0\.0\.1$")
    srv.wait_log(r"pop3 login user=alice@example\.test .* "
                 r"address=192\.0\.2\.7$")
    # IPv6, the verb and the attribute case-blind.
    with RawPOP3(srv.pop3_port) as c:
        assert c.cmd("xclient addr=2001:DB8::5") == b"+OK"
        assert c.cmd("QUIT").startswith(b"+OK")
    srv.wait_log(r"pop3 proxied address=2001:db8::5 proxy=127\.0\.0\.1$")


def test_failures_ban_the_named_client_not_the_proxy(srv):
    with RawPOP3(srv.pop3_port) as c:
        assert c.cmd("XCLIENT ADDR=192.0.2.8") == b"+OK"
        for _ in range(2):
            assert login(c, "wrong").startswith(b"-ERR [AUTH]")
        assert login(c, "wrong").startswith(b"-ERR [SYS/PERM]")
    srv.wait_log(r"pop3 auth-failed address=192\.0\.2\.8 ")
    srv.wait_log(r"ban banned address=192\.0\.2\.8 service=pop3")
    listing = srv.cli_ok("ban", "list").stdout
    assert "192.0.2.8" in listing and "127.0.0.1" not in listing
    # The named client is banned through the proxy, right password or not;
    # the proxy's own logins go on.
    with RawPOP3(srv.pop3_port) as c:
        assert c.cmd("XCLIENT ADDR=192.0.2.8") == b"+OK"
        assert login(c).startswith(b"-ERR [SYS/PERM]")
    with RawPOP3(srv.pop3_port) as c:
        assert login(c).startswith(b"+OK")
        assert c.cmd("QUIT").startswith(b"+OK")


def test_refused_from_an_untrusted_address(srv):
    with RawPOP3(srv.pop3_port, source="127.0.0.5") as c:
        assert c.cmd("XCLIENT ADDR=192.0.2.9").startswith(
            b"-ERR XCLIENT not permitted")
        # the session is still the connection's
        assert login(c, "wrong").startswith(b"-ERR [AUTH]")
        assert c.cmd("QUIT").startswith(b"+OK")
    srv.wait_log(r"pop3 xclient-refused address=127\.0\.0\.5 "
                 r"value=192\.0\.2\.9 reason=untrusted")
    srv.wait_log(r"pop3 auth-failed address=127\.0\.0\.5 ")
    assert "proxied address=192.0.2.9" not in srv.log_text()


def test_refused_when_not_configured(make_ferry, tmp_path):
    plain = pop3_ferry(make_ferry, tmp_path, plaintext=True, name="plain")
    with RawPOP3(plain.pop3_port) as c:
        assert c.cmd("XCLIENT ADDR=192.0.2.9").startswith(b"-ERR")
        assert c.cmd("QUIT").startswith(b"+OK")
    plain.wait_log(r"pop3 xclient-refused address=127\.0\.0\.1 "
                   r"value=192\.0\.2\.9 reason=untrusted")


def test_bad_input(srv):
    deliver(srv)
    with RawPOP3(srv.pop3_port) as c:
        for bad, reply in (
                ("XCLIENT", b"-ERR Wrong number of arguments"),
                ("XCLIENT ADDR=1.2.3.4 PORT=5",
                 b"-ERR Wrong number of arguments"),
                ("XCLIENT ADDR=", b"-ERR Invalid XCLIENT address"),
                ("XCLIENT FOO=1.2.3.4", b"-ERR Invalid XCLIENT address"),
                ("XCLIENT ADDR=[::1]", b"-ERR Invalid XCLIENT address"),
                ("XCLIENT ADDR=192.0.2.1x", b"-ERR Invalid XCLIENT address"),
                ("XCLIENT ADDR=" + "1" * 46, b"-ERR Invalid XCLIENT address"),
                ("XCLIENT ADDR=999.1.1.1", b"-ERR XCLIENT not permitted"),
                ("XCLIENT ADDR=1:2:3:4:5:6:7:8:9",
                 b"-ERR XCLIENT not permitted")):
            assert c.cmd(bad).startswith(reply), bad
        # nothing was taken: the session is still 127.0.0.1's
        assert c.cmd("QUIT").startswith(b"+OK")
    srv.wait_log(r"pop3 xclient-refused address=127\.0\.0\.1 "
                 r"value=999\.1\.1\.1 reason=invalid")
    with RawPOP3(srv.pop3_port) as c:
        assert c.cmd(b"XCLIENT ADDR=" + b"1" * 2000).startswith(
            b"-ERR Line too long")
        assert c.cmd(b"XCLIENT ADDR=1.2.3.4\x01").startswith(
            b"-ERR Control characters not allowed")
        # a second time
        assert c.cmd("XCLIENT ADDR=192.0.2.10") == b"+OK"
        assert c.cmd("XCLIENT ADDR=192.0.2.11").startswith(b"-ERR")
        assert c.cmd("QUIT").startswith(b"+OK")
    srv.wait_log(r"pop3 xclient-refused address=192\.0\.2\.10 "
                 r"value=192\.0\.2\.11 reason=repeated")
    with RawPOP3(srv.pop3_port) as c:
        # after USER
        assert c.cmd(f"USER {ALICE}").startswith(b"+OK")
        assert c.cmd("XCLIENT ADDR=192.0.2.12").startswith(b"-ERR")
        # after login
        assert c.cmd(f"PASS {PASSWORD}").startswith(b"+OK")
        assert c.cmd("XCLIENT ADDR=192.0.2.13").startswith(
            b"-ERR XCLIENT not allowed after login")
        assert c.cmd("STAT").startswith(b"+OK 1 ")
        assert c.cmd("QUIT").startswith(b"+OK")
    srv.wait_log(r"pop3 xclient-refused address=127\.0\.0\.1 "
                 r"value=192\.0\.2\.12 reason=after-user")
    assert "192.0.2.13" not in srv.log_text()
