"""The user's own account page (src/admin/pages_account.c): quota and
usage as the Maildir holds them, and the password change, whose effect
is checked through POP3 (the new password works at once, the old one no
longer) and through the other web sessions of the account (ended)."""

import json
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


def test_forwarding_from_the_account_page(srv):
    w = Web(srv)
    w.login(ALICE)
    token = w.csrf("/account")
    r = w.post("/account/forward", {"csrf": token,
                                    "targets": "bob@example.test"})
    assert r.status == 303 and r.header("Location") == "/account?done=forward"
    assert "bob@example.test" in srv.cli_ok("user", "forward", ALICE,
                                             "show").stdout
    with srv.smtp() as s:
        s.sendmail("x@remote.example", [ALICE], make_message(subject="fwd1"))
    srv.wait_delivered("bob@example.test")
    assert not srv.maildir_files(ALICE)
    page = w.get("/account?done=forward")
    assert "Forwarding saved" in page.text
    assert 'value="bob@example.test"' in page.text
    # with a copy kept, then cleared
    w.post("/account/forward", {"csrf": token, "targets": "bob@example.test",
                                "keep": "yes"})
    w.post("/account/forward", {"csrf": token, "targets": ""})
    assert "bob@" not in srv.cli_ok("user", "forward", ALICE, "show").stdout
    # a loop to itself and garbage are refused with the reason
    r = w.post("/account/forward", {"csrf": token, "targets": ALICE})
    assert r.status == 400
    r = w.post("/account/forward", {"csrf": token,
                                    "targets": "<script>@x"})
    assert r.status == 400 and "<script>" not in r.text


def test_vacation_from_the_account_page(srv):
    w = Web(srv)
    w.login(ALICE)
    token = w.csrf("/account")
    evil = '<script>alert(1)</script> "away"'
    r = w.post("/account/vacation", {
        "csrf": token, "enabled": "yes", "subject": evil,
        "body": "I am away until Monday.\r\nRegards", "days": "3",
        "start": "", "end": ""})
    assert r.status == 303, r
    shown = srv.cli_ok("user", "vacation", ALICE, "show", "--json").stdout
    v = json.loads(shown)
    assert v["enabled"] is True and v["days"] == 3, v
    assert v["subject"] == evil and "away until Monday" in v["body"]
    page = w.get("/account?done=vacation")
    assert "Vacation reply saved" in page.text
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text
    # bad input: an end in the past, NUL in the body, a bad day count
    for fields in ({"end": "2001-01-01"}, {"body": "a\x00b"},
                   {"days": "9999"}, {"days": "x"}):
        f = {"csrf": token, "enabled": "yes", "subject": "s",
             "body": "b", "days": "3", "start": "", "end": ""}
        f.update(fields)
        r = w.post("/account/vacation", f)
        assert r.status == 400, (fields, r)
    # off again
    r = w.post("/account/vacation", {"csrf": token, "subject": "",
                                     "body": "b", "days": "7",
                                     "start": "", "end": ""})
    assert r.status == 303
    v = json.loads(srv.cli_ok("user", "vacation", ALICE, "show",
                              "--json").stdout)
    assert v["enabled"] is False
