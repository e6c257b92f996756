"""The user's own account page (src/admin/pages_account.c): quota and
usage as the Maildir holds them, and the password change, whose effect
is checked through POP3 (the new password works at once, the old one no
longer) and through the other web sessions of the account (ended)."""

import poplib

import pytest

from conftest import PASSWORD, free_port, make_message
from webclient import Web, admin_ferry

ALICE = "alice@example.test"
NEW = "n3w-Passw0rd"


@pytest.fixture
def srv(make_ferry, tmp_path):
    return admin_ferry(make_ferry, tmp_path,
                       pop3_listen=f"127.0.0.1:{free_port()}",
                       auth_plaintext_networks="127.0.0.0/8")


def pop3_login(srv, user, password):
    port = int(srv.conf["pop3_listen"].rsplit(":", 1)[1])
    p = poplib.POP3("127.0.0.1", port, timeout=20)
    try:
        p.user(user)
        p.pass_(password)
        n = p.stat()[0]
        p.quit()
        return n
    except poplib.error_proto:
        p.close()
        return None


def test_account_shows_quota_and_usage(srv):
    srv.cli_ok("user", "quota", ALICE, "10M")
    for i in range(3):
        with srv.smtp() as s:
            s.sendmail("x@remote.example", [ALICE],
                       make_message(subject=f"m{i}", body=("x" * 500 + "\r\n") * 4))
    srv.wait_delivered(ALICE, count=3)
    w = Web(srv)
    w.login(ALICE)
    page = w.get("/account")
    assert page.status == 200
    assert ALICE in page.text
    assert "3 messages" in page.text and "of 10.0 MB used" in page.text
    # another user's quota is not a parameter away: the page is per login
    assert w.get("/account?user=bob@example.test").text.count("bob@") == 0


def test_password_change(srv):
    w = Web(srv)
    w.login(ALICE)
    other = Web(srv)
    other.login(ALICE)
    assert other.get("/account").status == 200
    token = w.csrf("/account")

    def change(cur, new, confirm=None, csrf=token):
        return w.post("/account/password", {
            "csrf": csrf, "current": cur, "new": new,
            "confirm": new if confirm is None else confirm})

    r = change("wrong-one", NEW)
    assert r.status == 403 and "current password is wrong" in r.text
    r = change(PASSWORD, NEW, confirm=NEW + "x")
    assert r.status == 400 and "differ" in r.text
    r = change(PASSWORD, "short")
    assert r.status == 400 and "too short" in r.text
    r = change(PASSWORD, ALICE)
    assert r.status == 400
    r = change(PASSWORD, "abc\x01defghij")
    assert r.status == 400 and "control" in r.text
    r = change(PASSWORD, NEW, csrf="0" * 64)
    assert r.status == 403
    assert pop3_login(srv, ALICE, PASSWORD) is not None
    # the real change
    r = change(PASSWORD, NEW)
    assert r.status == 303 and r.header("Location") == "/account?done=password"
    page = w.get("/account?done=password")
    assert page.status == 200 and "Your password was changed" in page.text
    srv.wait_log("admin password-changed user=alice@example.test", timeout=5)
    assert pop3_login(srv, ALICE, NEW) is not None
    assert pop3_login(srv, ALICE, PASSWORD) is None
    # the other session of the account ended, this one goes on
    assert other.get("/account").status == 303
    assert w.get("/account").status == 200
    # and the web login takes the new password only
    assert Web(srv).login(ALICE, PASSWORD).status == 401
    assert Web(srv).login(ALICE, NEW).status == 303
    assert "password" not in srv.log_bytes().decode().split(
        "password-changed")[-1].split("\n")[0].replace("password-changed", "")


def test_account_needs_login(srv):
    w = Web(srv)
    assert w.get("/account").status == 303
    assert w.post("/account/password", {"current": PASSWORD, "new": NEW,
                                        "confirm": NEW}).status == 403
    assert pop3_login(srv, ALICE, PASSWORD) is not None
