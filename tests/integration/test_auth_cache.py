"""The verified-credentials cache (auth_cache_ttl, default 1h): a user who
logged in recently with a password is checked again without a new
password hash run (the log says cached=yes).  Only that exact password
hits: a wrong one is refused and counted towards a ban as always, a
password changed with `ferry user passwd` works (and the old one stops
working) at once, a deleted user cannot log in, a reload with
auth_cache_ttl = 0 forgets everything.  SMTP submission and POP3."""

import poplib
import re
import smtplib

import pytest

from certs import client_context, make_tls_ferry
from conftest import PASSWORD
from test_pop3 import pop3_ferry

ALICE = "alice@example.test"


@pytest.fixture
def sub(make_ferry, tmp_path):
    return make_tls_ferry(make_ferry, tmp_path)


def smtp_login(srv, user=ALICE, password=PASSWORD):
    """One submission connection with STARTTLS and AUTH; returns the AUTH
    reply code (235, 535, ...)."""
    with smtplib.SMTP("127.0.0.1", srv.sub_port, local_hostname="client.example",
                      timeout=15) as s:
        s.starttls(context=client_context(srv.ca))
        s.ehlo()
        try:
            code, _ = s.login(user, password)
        except smtplib.SMTPAuthenticationError as e:
            code = e.smtp_code
        return code


def auth_lines(srv):
    return re.findall(r"smtp auth user=(\S+) mech=\w+ cached=(yes|no)", srv.log_text())


def wait_auth_lines(srv, n):
    srv.wait_log(r"(?s)(?:smtp auth user=.*){%d}" % n)
    return auth_lines(srv)


def test_second_login_is_answered_from_the_cache(sub):
    assert smtp_login(sub) == 235
    assert smtp_login(sub) == 235
    assert wait_auth_lines(sub, 2) == [(ALICE, "no"), (ALICE, "yes")]


def test_wrong_password_is_never_a_hit(sub):
    assert smtp_login(sub) == 235
    assert smtp_login(sub, password=PASSWORD + "x") == 535
    assert smtp_login(sub, password=PASSWORD[:-1]) == 535
    assert smtp_login(sub, password="") in (535, 501)
    sub.wait_log(r"smtp auth-failed .*reason=\"?bad credentials")
    assert smtp_login(sub) == 235
    assert wait_auth_lines(sub, 2) == [(ALICE, "no"), (ALICE, "yes")]


def test_password_change_takes_effect_at_once(sub):
    assert smtp_login(sub) == 235
    assert smtp_login(sub) == 235
    sub.cli_ok("user", "passwd", ALICE, input="n3w-secret\n")
    assert smtp_login(sub) == 535
    assert smtp_login(sub, password="n3w-secret") == 235
    assert smtp_login(sub, password="n3w-secret") == 235
    assert wait_auth_lines(sub, 4) == [(ALICE, "no"), (ALICE, "yes"),
                                       (ALICE, "no"), (ALICE, "yes")]


def test_deleted_user_cannot_log_in(sub):
    sub.add_user("carol@example.test")
    assert smtp_login(sub, "carol@example.test") == 235
    sub.cli_ok("user", "del", "carol@example.test")
    assert smtp_login(sub, "carol@example.test") == 535


def test_failures_still_lead_to_a_ban(make_ferry, tmp_path):
    srv = make_tls_ferry(make_ferry, tmp_path, {"auth_ban_max_failures": "4"})
    assert smtp_login(srv) == 235
    # smtplib tries PLAIN, then LOGIN: two failures per call.
    for _ in range(2):
        assert smtp_login(srv, password="wrong") == 535
    # Banned now: even the cached password gets nowhere.
    with pytest.raises((smtplib.SMTPException, OSError)):
        smtp_login(srv)
    srv.wait_log(r"smtp banned address=127\.0\.0\.1")


def test_ttl_zero_turns_it_off_and_reload_forgets(sub):
    assert smtp_login(sub) == 235
    assert smtp_login(sub) == 235
    assert wait_auth_lines(sub, 2)[-1] == (ALICE, "yes")
    off = sub.log_offset()
    sub.set_conf(auth_cache_ttl="0")
    sub.cli_ok("reload")
    sub.wait_log(r"smtpd reloaded", since=off)
    assert smtp_login(sub) == 235
    assert smtp_login(sub) == 235
    assert wait_auth_lines(sub, 4)[2:] == [(ALICE, "no"), (ALICE, "no")]


def test_pop3_logins_use_it_too(make_ferry, tmp_path):
    srv = pop3_ferry(make_ferry, tmp_path)
    for _ in range(2):
        p = poplib.POP3_SSL("127.0.0.1", srv.pop3s_port, timeout=10,
                            context=client_context(srv.ca))
        p.user(ALICE)
        assert p.pass_(PASSWORD).startswith(b"+OK")
        p.quit()
    p = poplib.POP3_SSL("127.0.0.1", srv.pop3s_port, timeout=10,
                        context=client_context(srv.ca))
    p.user(ALICE)
    with pytest.raises(poplib.error_proto):
        p.pass_(PASSWORD + "x")
    p.quit()
    srv.wait_log(r"(?s)pop3 login user=alice@example\.test .*cached=no.*"
                 r"pop3 login user=alice@example\.test .*cached=yes")
