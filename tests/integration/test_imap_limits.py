"""IMAP session limits and trusted proxies against a running Ferry:
imap_max_user_sessions (NO [LIMIT] past it, room again after a logout),
max_connections_per_ip for IMAP (BYE at connect), list nesting in
commands, and ID's x-originating-ip, honoured only from
imap_trusted_proxies and only before login: the logs and the failed-login
bans then use the client's address; plaintext login is still decided by
the connection's own address (auth_plaintext_networks)."""

import re

import pytest

from conftest import PASSWORD, wait_until
from test_imap_basic import ALICE, RawIMAP, imap_ferry


def login(srv, user=ALICE, password=PASSWORD):
    c = RawIMAP(srv.imap_port)
    r = c.cmd(f'l LOGIN "{user}" "{password}"')
    return c, r[-1]


def test_max_user_sessions(make_ferry, tmp_path):
    srv = imap_ferry(make_ferry, tmp_path, plaintext=True,
                     imap_max_user_sessions="2")
    a, ra = login(srv)
    b, rb = login(srv)
    assert ra.startswith(b"l OK") and rb.startswith(b"l OK")
    c, rc = login(srv)
    assert rc.startswith(b"l NO [LIMIT]"), rc
    assert b"Too many sessions" in rc
    # the refused session is still there, unauthenticated
    r = c.cmd("s SELECT INBOX")
    assert r[-1].startswith(b"s BAD"), r
    # another user is not affected
    srv.add_user("carol@example.test")
    d, rd = login(srv, user="carol@example.test")
    assert rd.startswith(b"l OK"), rd
    # a logout makes room
    assert a.cmd("o LOGOUT")[-1].startswith(b"o OK")
    a.wait_closed()
    r = c.cmd(f'm LOGIN "{ALICE}" "{PASSWORD}"')
    assert r[-1].startswith(b"m OK"), r
    srv.wait_log(r"imap reject stage=auth .*check=max_user_sessions")


def test_max_connections_per_ip(make_ferry, tmp_path):
    srv = imap_ferry(make_ferry, tmp_path, plaintext=True,
                     max_connections_per_ip="2")
    a = RawIMAP(srv.imap_port)
    b = RawIMAP(srv.imap_port)
    c = RawIMAP(srv.imap_port)
    assert a.greeting.startswith(b"* OK") and b.greeting.startswith(b"* OK")
    assert c.greeting.startswith(b"* BYE [UNAVAILABLE] Too many connections")


def test_imap_max_connections_per_ip(make_ferry, tmp_path):
    """IMAP's own per-address limit, apart from the shared one: 3 IMAP
    connections while SMTP allows 2, the other way round after a reload,
    and 0 going back to the shared limit."""
    import smtplib
    srv = imap_ferry(make_ferry, tmp_path, plaintext=True,
                     max_connections_per_ip="2",
                     imap_max_connections_per_ip="3")

    def imap_accepts(n):
        """Opens n+1 IMAP connections: the first n must be greeted, the
        last refused."""
        conns = [RawIMAP(srv.imap_port) for _ in range(n + 1)]
        greet = [c.greeting for c in conns]
        # the server closes each one itself, so none is still counted
        # when the next check opens its connections
        for c in conns[:n]:
            c.send(b"z LOGOUT\r\n")
        for c in conns:
            assert c.wait_closed()
            c.close()
        assert all(g.startswith(b"* OK") for g in greet[:n]), greet
        assert greet[n].startswith(
            b"* BYE [UNAVAILABLE] Too many connections"), greet

    def smtp_accepts(n):
        conns = [smtplib.SMTP("127.0.0.1", srv.port, timeout=10)
                 for _ in range(n)]
        for s in conns:
            assert s.noop()[0] == 250
        with pytest.raises(smtplib.SMTPException):
            smtplib.SMTP("127.0.0.1", srv.port, timeout=10).noop()
        for s in conns:
            s.quit()

    imap_accepts(3)
    smtp_accepts(2)
    srv.set_conf(max_connections_per_ip="4", imap_max_connections_per_ip="1")
    r = srv.cli("reload")
    assert r.returncode == 0, r.stdout + r.stderr
    imap_accepts(1)
    smtp_accepts(4)
    # 0 (the default) means: as max_connections_per_ip
    srv.set_conf(imap_max_connections_per_ip="0")
    assert srv.cli("reload").returncode == 0
    imap_accepts(4)


@pytest.mark.parametrize("value", ["-1", "many", "1000001", ""])
def test_imap_max_connections_per_ip_bad_values(make_ferry, tmp_path, value):
    srv = imap_ferry(make_ferry, tmp_path, plaintext=True)
    srv.conf_path.write_text(srv.conf_path.read_text() +
                             f"imap_max_connections_per_ip = {value}\n")
    r = srv.cli("reload")
    assert r.returncode == 1, r.stdout + r.stderr
    n = len(srv.conf_path.read_text().splitlines())
    assert f"{srv.conf_path}:{n}:" in r.stderr, r.stderr
    assert "imap_max_connections_per_ip" in r.stderr, r.stderr


def test_list_nesting_limit(make_ferry, tmp_path):
    srv = imap_ferry(make_ferry, tmp_path, plaintext=True)
    c, r = login(srv)
    assert r.startswith(b"l OK")
    deep = "(" * 40 + ")" * 40
    r = c.cmd(f"n SEARCH {deep}")
    assert r[-1].startswith(b"n BAD [TOOBIG]"), r
    ok = "(" * 5 + "ALL" + ")" * 5
    c.cmd("s SELECT INBOX")
    r = c.cmd(f"n SEARCH {ok}")
    assert r[-1].startswith(b"n OK"), r


@pytest.fixture
def proxsrv(make_ferry, tmp_path):
    # 127.0.0.1 is the webmail host: trusted, and may log in in plaintext
    return imap_ferry(make_ferry, tmp_path, plaintext=True,
                      imap_trusted_proxies="127.0.0.1/32",
                      auth_ban_max_failures="2")


def id_cmd(c, ip):
    r = c.cmd(f'i ID ("name" "webmail" "x-originating-ip" "{ip}")')
    assert r[-1].startswith(b"i OK"), r


def test_trusted_proxy_sets_the_client_address(proxsrv):
    c = RawIMAP(proxsrv.imap_port)
    id_cmd(c, "192.0.2.55")
    r = c.cmd(f'l LOGIN "{ALICE}" "{PASSWORD}"')
    assert r[-1].startswith(b"l OK"), r
    proxsrv.wait_log(r"imap proxied address=192\.0\.2\.55 proxy=127\.0\.0\.1")
    c.cmd("o LOGOUT")
    proxsrv.wait_log(r"imap disconnected address=192\.0\.2\.55 user=")


def test_bans_apply_to_the_client_behind_the_proxy(proxsrv):
    for _ in range(2):
        c = RawIMAP(proxsrv.imap_port)
        id_cmd(c, "2001:db8::7")
        r = c.cmd(f'l LOGIN "{ALICE}" "wrong"')
        assert r[-1].startswith(b"l NO"), r
    proxsrv.wait_log(r"imap auth-failed address=2001:db8::7 .*banned=yes")
    # the banned client cannot log in through the proxy, even rightly
    c = RawIMAP(proxsrv.imap_port)
    id_cmd(c, "2001:db8::7")
    r = c.cmd(f'l LOGIN "{ALICE}" "{PASSWORD}"')
    assert r[-1].startswith(b"l NO"), r
    # another client through the same proxy, and the proxy itself, can
    c = RawIMAP(proxsrv.imap_port)
    id_cmd(c, "192.0.2.9")
    r = c.cmd(f'l LOGIN "{ALICE}" "{PASSWORD}"')
    assert r[-1].startswith(b"l OK"), r
    c = RawIMAP(proxsrv.imap_port)
    assert c.greeting.startswith(b"* OK")
    r = c.cmd(f'l LOGIN "{ALICE}" "{PASSWORD}"')
    assert r[-1].startswith(b"l OK"), r


def test_untrusted_peer_cannot_claim_an_address(make_ferry, tmp_path):
    srv = imap_ferry(make_ferry, tmp_path, plaintext=True,
                     imap_trusted_proxies="192.0.2.1/32")
    c = RawIMAP(srv.imap_port)
    id_cmd(c, "198.51.100.4")
    srv.wait_log(r"imap id-ignored address=127\.0\.0\.1 "
                 r"field=x-originating-ip .*reason=untrusted")
    r = c.cmd(f'l LOGIN "{ALICE}" "{PASSWORD}"')
    assert r[-1].startswith(b"l OK"), r
    assert "proxied" not in srv.log_text()


@pytest.mark.parametrize("value,reason", [
    ("not-an-address", "invalid"), ("192.0.2.1:143", "invalid"),
    ("[2001:db8::1]", "invalid"), ("", "invalid"),
    ("192.0.2.300", "invalid")])
def test_bad_originating_ip_ignored(proxsrv, value, reason):
    c = RawIMAP(proxsrv.imap_port)
    id_cmd(c, value)
    proxsrv.wait_log(r"imap id-ignored .*reason=" + reason)
    r = c.cmd(f'l LOGIN "{ALICE}" "{PASSWORD}"')
    assert r[-1].startswith(b"l OK"), r
    assert "imap proxied" not in proxsrv.log_text()


def test_originating_ip_only_once_and_before_login(proxsrv):
    c = RawIMAP(proxsrv.imap_port)
    id_cmd(c, "192.0.2.10")
    id_cmd(c, "192.0.2.11")
    proxsrv.wait_log(r"imap id-ignored .*reason=repeated")
    r = c.cmd(f'l LOGIN "{ALICE}" "{PASSWORD}"')
    assert r[-1].startswith(b"l OK"), r
    id_cmd(c, "192.0.2.12")
    proxsrv.wait_log(r"imap id-ignored .*reason=logged-in")
    assert "address=192.0.2.11" not in proxsrv.log_text()
    assert "address=192.0.2.12" not in proxsrv.log_text()


def test_plaintext_login_still_needs_the_connection_allowed(make_ferry,
                                                             tmp_path):
    # the proxy is trusted for its address claims, but may not send
    # passwords in the clear: auth_plaintext_networks is not set
    srv = imap_ferry(make_ferry, tmp_path, plaintext=False,
                     imap_trusted_proxies="127.0.0.1/32")
    c = RawIMAP(srv.imap_port)
    assert b"LOGINDISABLED" in c.greeting
    id_cmd(c, "127.0.0.9")
    r = c.cmd(f'l LOGIN "{ALICE}" "{PASSWORD}"')
    assert r[-1].startswith(b"l NO [PRIVACYREQUIRED]"), r
