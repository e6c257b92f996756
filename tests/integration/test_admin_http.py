"""The admin role's HTTP server: TLS, login, sessions, CSRF, security
headers, request limits and bad input (src/admin/http.c, session.c,
pages_login.c), driven over real HTTP(S) with http.client."""

import http.client
import os
import signal
import socket
import ssl
import time

import pytest

from conftest import PASSWORD, RawSMTP, wait_until
from webclient import ADMIN, OTHER_POSTMASTER, POSTMASTER, Web, admin_ferry


@pytest.fixture
def srv(make_ferry, tmp_path):
    return admin_ferry(make_ferry, tmp_path)


def test_login_required_and_security_headers(srv):
    w = Web(srv)
    r = w.get("/")
    assert r.status == 303
    assert r.header("Location") == "/login?next=%2F"
    page = w.get("/login")
    assert page.status == 200
    csp = page.header("Content-Security-Policy")
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert "frame-ancestors 'none'" in csp
    assert page.header("X-Frame-Options") == "DENY"
    assert page.header("X-Content-Type-Options") == "nosniff"
    assert page.header("Cache-Control") == "no-store"
    # same-origin, not no-referrer: with no-referrer chromium sends
    # "Origin: null" on every form post, which the Origin check refuses
    assert page.header("Referrer-Policy") == "same-origin"
    assert page.header("Strict-Transport-Security")
    assert "<script" not in page.text and "style=" not in page.text
    css = w.get("/static/ferry.css")
    assert css.status == 200 and css.header("Content-Type").startswith("text/css")


def test_login_sets_strict_cookie_and_new_session_id(srv):
    w = Web(srv)
    # A session id the browser already carries (planted by an attacker)
    # is never adopted.
    w.jar["ferry_session"] = "a" * 64
    r = w.login(ADMIN)
    assert r.status == 303 and r.header("Location") == "/"
    cookie = [c for c in r.cookies if c.startswith("ferry_session=")][0]
    for attr in ("HttpOnly", "SameSite=Strict", "Secure", "Path=/"):
        assert attr in cookie
    sid = w.jar["ferry_session"]
    assert sid != "a" * 64 and len(sid) == 64
    home = w.get("/")
    assert home.status == 200
    assert "admin@example.test" in home.text and "administrator" in home.text
    # Logging in again gives another id, and the first one is dead.
    first = dict(w.jar)
    w2 = Web(srv)
    w2.jar.update(first)
    w2.jar.pop("ferry_login", None)
    r = w2.login(ADMIN, next_path="/")
    assert r.status == 303
    assert w2.jar["ferry_session"] != first["ferry_session"]
    old = Web(srv)
    old.jar["ferry_session"] = first["ferry_session"]
    assert old.get("/").status == 303


def test_roles_see_their_own_domains(srv):
    admin, pm, other, user = Web(srv), Web(srv), Web(srv), Web(srv)
    assert admin.login(ADMIN).status == 303
    assert pm.login(POSTMASTER).status == 303
    assert other.login(OTHER_POSTMASTER).status == 303
    assert user.login("alice@example.test").status == 303
    a = admin.get("/").text
    assert "/domains/example.test" in a and "/domains/other.test" in a
    p = pm.get("/").text
    assert "postmaster" in p and "/domains/example.test" in p
    assert "other.test" not in p
    o = other.get("/").text
    assert "/domains/other.test" in o and "/domains/example.test" not in o
    u = user.get("/").text
    assert "mailbox user" in u and "/domains/" not in u


def test_wrong_password_then_ban_shared_with_smtp(make_ferry, tmp_path):
    srv = admin_ferry(make_ferry, tmp_path, auth_ban_max_failures="3",
                      submission_listen=None)
    w = Web(srv)
    for _ in range(3):
        r = w.login("alice@example.test", "wrong")
        assert r.status == 401 and "Wrong email address or password" in r.text
    srv.wait_log("admin auth-failed", timeout=5)
    # Now the right password is refused too: the address is banned ...
    r = w.login("alice@example.test", PASSWORD)
    assert r.status == 403 and "Too many failed logins" in r.text
    assert "ferry_session" not in w.jar
    # ... and the ban is the one SMTP, IMAP and POP3 use.
    bans = srv.cli("ban", "list").stdout
    assert "127.0.0.1" in bans


def test_login_form_needs_its_token(srv):
    w = Web(srv)
    r = w.post("/login", {"user": ADMIN, "password": PASSWORD, "next": "/"})
    assert r.status == 403 and "expired" in r.text
    assert "ferry_session" not in w.jar


def test_hostile_login_name_is_escaped(srv):
    w = Web(srv)
    evil = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
    r = w.login(evil, "x")
    assert r.status in (400, 401)
    assert "<script>" not in r.text and "<img" not in r.text
    assert "&lt;script&gt;" in r.text or "&quot;&gt;" in r.text


def test_next_goes_only_to_local_pages(srv):
    w = Web(srv)
    r = w.login(ADMIN, next_path="//evil.example/x")
    assert r.status == 303 and r.header("Location") == "/"
    w = Web(srv)
    r = w.login(ADMIN, next_path="/account")
    assert r.header("Location") == "/account"


def test_logout_needs_csrf_and_ends_the_session(srv):
    w = Web(srv)
    w.login(ADMIN)
    token = w.csrf("/")
    assert token and len(token) == 64
    r = w.post("/logout", {})
    assert r.status == 403
    r = w.post("/logout", {"csrf": "b" * 64})
    assert r.status == 403
    # A right token from another origin is refused as well.
    r = w.post("/logout", {"csrf": token},
               headers={"Origin": "https://evil.example"})
    assert r.status == 403
    # ... and so is another port of this host, "null" (a sandboxed
    # frame, a page that hides its origin) and an origin that is no URL
    for origin in (f"https://127.0.0.1:{srv.admin_port + 1}",
                   "https://127.0.0.1", "null", "127.0.0.1",
                   f"https://127.0.0.1:{srv.admin_port}/x", "https://"):
        r = w.post("/logout", {"csrf": token}, headers={"Origin": origin})
        assert r.status == 403, origin
    assert w.get("/").status == 200
    sid = w.jar["ferry_session"]
    # the page's own origin, as a browser sends it, is accepted
    r = w.post("/logout", {"csrf": token},
               headers={"Origin": f"https://127.0.0.1:{srv.admin_port}"})
    assert r.status == 303 and r.header("Location") == "/login"
    assert "ferry_session" not in w.jar
    stale = Web(srv)
    stale.jar["ferry_session"] = sid
    assert stale.get("/").status == 303


def test_idle_session_expires(make_ferry, tmp_path):
    srv = admin_ferry(make_ferry, tmp_path, admin_session_idle="1s")
    w = Web(srv)
    w.login(ADMIN)
    sid = w.jar["ferry_session"]
    time.sleep(2.2)
    r = w.get("/")
    assert r.status == 303 and r.header("Location").startswith("/login")
    # and it does not come back
    w.jar["ferry_session"] = sid
    assert w.get("/").status == 303


def test_bad_requests(srv):
    w = Web(srv)
    assert w.get("/no/such/page").status == 404
    assert w.request("PUT", "/", body="x").status in (405, 501)
    assert w.request("DELETE", "/login").status in (405, 501)
    assert w.get("/login", headers={}).status == 200
    # a form POST to a GET page
    assert w.post("/", {"a": "b"}).status in (403, 405)
    # malformed %-escapes, NUL bytes, dot segments
    assert w.get("/login?next=%zz").status == 400
    assert w.get("/login?next=%00").status == 400
    assert w.get("/a%00b").status == 400
    assert w.get("/static/../etc/passwd").status in (400, 404)


def test_request_limits(srv):
    w = Web(srv)
    big = "x=" + "a" * (300 * 1024)
    r = None
    try:
        r = w.request("POST", "/login", body=big, headers={
            "Content-Type": "application/x-www-form-urlencoded"})
    except (ConnectionError, http.client.HTTPException, ssl.SSLError):
        pass        # evhttp may also just close the connection
    assert r is None or r.status == 413
    headers = {f"X-Filler-{i}": "y" for i in range(80)}
    r = w.get("/login", headers=headers)
    assert r.status == 431
    try:
        r = w.get("/login", headers={"X-Big": "z" * 20000})
        assert r.status in (400, 413, 431)
    except (ConnectionError, http.client.HTTPException, ssl.SSLError):
        pass
    # still serving
    assert w.get("/login").status == 200


def test_silent_client_is_dropped(make_ferry, tmp_path):
    srv = admin_ferry(make_ferry, tmp_path, admin_timeout="2s")
    s = socket.create_connection(("127.0.0.1", srv.admin_port), timeout=15)
    ctx = ssl.create_default_context(cafile=str(srv.ca.cert))
    t = ctx.wrap_socket(s, server_hostname="127.0.0.1")
    t.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")     # and then nothing
    start = time.monotonic()
    try:
        data = t.recv(4096)
    except (ConnectionError, ssl.SSLError):
        data = b""
    assert data == b"" or data.startswith(b"HTTP/1.1 4")
    assert time.monotonic() - start < 14
    t.close()
    assert Web(srv).get("/login").status == 200


def test_plain_http_only_on_loopback(make_ferry, tmp_path):
    srv = admin_ferry(make_ferry, tmp_path, tls=False, name="plain")
    w = Web(srv)
    r = w.login(ADMIN)
    assert r.status == 303
    cookie = [c for c in r.cookies if c.startswith("ferry_session=")][0]
    assert "Secure" not in cookie and "HttpOnly" in cookie
    assert w.get("/").status == 200
    # A non-loopback listener without a certificate does not start.
    bad = make_ferry({"admin_listen": "0.0.0.0:1"}, start=False, name="bad")
    r = bad.cli("serve", timeout=20)
    assert r.returncode != 0
    assert "admin_listen" in r.stderr and "tls_cert" in r.stderr


def test_admin_role_restarts_and_logins_still_work(srv):
    w = Web(srv)
    w.login(ADMIN)
    pid = srv.role_pid("admin")
    assert pid
    os.kill(pid, signal.SIGKILL)
    srv.wait_role_pid("admin", timeout=20, not_pid=pid)
    wait_until(lambda: srv.wait_log("admin ready", since=0) and
               Web(srv).get("/login").status == 200, 20,
               what="the new admin role serving")
    # Sessions lived in the old process: the safe failure is a new login.
    r = w.get("/")
    assert r.status == 303
    assert Web(srv).login(ADMIN).status == 303


def test_reload_reaches_the_admin_role(srv):
    off = srv.log_offset()
    r = srv.cli("reload")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "admin reloaded" in srv.log_bytes()[off:].decode()
    assert Web(srv).get("/login").status == 200
