"""The postmaster and admin pages (src/admin/pages_domains.c and the
other pages_*.c on src/ops/), over real HTTPS with webclient.py: every
change is checked through the real protocols or the CLI too."""

import poplib
import re

import pytest

from conftest import PASSWORD, RawSMTP, free_port, wait_until
from webclient import ADMIN, OTHER_POSTMASTER, POSTMASTER, Web, admin_ferry


@pytest.fixture
def srv(make_ferry, tmp_path):
    return admin_ferry(make_ferry, tmp_path,
                       pop3_listen=f"127.0.0.1:{free_port()}",
                       auth_plaintext_networks="127.0.0.0/8")


def pop3_port(srv):
    return int(srv.conf["pop3_listen"].rsplit(":", 1)[1])


def pop3_login(srv, user, password):
    p = poplib.POP3("127.0.0.1", pop3_port(srv), timeout=10)
    try:
        p.user(user)
        p.pass_(password)
        return p.stat()
    finally:
        p.quit()


def logged_in(srv, who):
    w = Web(srv)
    assert w.login(who).status == 303
    return w


def form(w, path, **fields):
    """POST to path with the session's CSRF token."""
    return w.post(path, {"csrf": w.csrf("/"), **fields})


def users_of(srv, domain):
    return srv.cli_ok("user", "list", domain).stdout


def test_domains_list_by_role(srv):
    admin, pm = logged_in(srv, ADMIN), logged_in(srv, POSTMASTER)
    a = admin.get("/domains")
    assert a.status == 200
    assert "/domains/example.test" in a.text and "/domains/other.test" in a.text
    assert 'name="op" value="add"' in a.text
    p = pm.get("/domains")
    assert p.status == 200
    assert "/domains/example.test" in p.text and "other.test" not in p.text
    assert 'value="add"' not in p.text
    user = logged_in(srv, "alice@example.test")
    assert user.get("/domains").status == 403
    assert user.get("/domains/example.test").status == 403


def test_admin_adds_and_deletes_domain(srv):
    admin = logged_in(srv, ADMIN)
    r = form(admin, "/domains", op="add", domain="New.Example")
    assert r.status == 303 and r.header("Location") == "/domains?done=domain_added"
    assert "new.example" in srv.cli_ok("domain", "list").stdout
    page = admin.get(r.header("Location"))
    assert "The domain was added." in page.text
    assert form(admin, "/domains", op="add", domain="new.example").status == 409
    assert form(admin, "/domains", op="add", domain="bad..domain").status == 400
    srv.add_user("dave@new.example")
    # With a user it goes only when the box is ticked.
    r = form(admin, "/domains", op="del", domain="new.example")
    assert r.status == 409 and "1 users" in r.text
    assert "new.example" in srv.cli_ok("domain", "list").stdout
    r = form(admin, "/domains", op="del", domain="new.example", force="yes")
    assert r.status == 303
    assert "new.example" not in srv.cli_ok("domain", "list").stdout
    assert form(admin, "/domains", op="del", domain="new.example").status == 404
    # A postmaster may not add domains at all.
    pm = logged_in(srv, POSTMASTER)
    assert form(pm, "/domains", op="add", domain="pm.example").status == 403
    assert "pm.example" not in srv.cli_ok("domain", "list").stdout


def test_postmaster_manages_users(srv):
    pm = logged_in(srv, POSTMASTER)
    r = form(pm, "/domains/example.test", op="user_add", user="dan",
             password="dan-pass-1", quota="10M")
    assert r.status == 303, r
    assert r.header("Location") == "/domains/example.test?done=user_added"
    assert "dan@example.test" in users_of(srv, "example.test")
    # The new user logs in over POP3 with the password set on the page.
    assert pop3_login(srv, "dan@example.test", "dan-pass-1") == (0, 0)
    page = pm.get("/domains/example.test")
    assert page.status == 200
    assert "dan@example.test" in page.text and "10M" in page.text
    # Twice: 409; another domain's address: 400; and no change.
    assert form(pm, "/domains/example.test", op="user_add", user="dan",
                password="x").status == 409
    assert form(pm, "/domains/example.test", op="user_add",
                user="eve@other.test", password="x").status == 400
    assert "eve@" not in users_of(srv, "other.test")
    # Password reset: the old one stops working.
    r = form(pm, "/domains/example.test", op="user_passwd",
             user="dan@example.test", password="dan-pass-2")
    assert r.status == 303
    assert pop3_login(srv, "dan@example.test", "dan-pass-2") == (0, 0)
    with pytest.raises(poplib.error_proto):
        pop3_login(srv, "dan@example.test", "dan-pass-1")
    # Quota.
    r = form(pm, "/domains/example.test", op="user_quota",
             user="dan@example.test", quota="2G")
    assert r.status == 303
    assert "quota=2G" in srv.cli_ok("user", "quota", "dan@example.test").stdout
    assert form(pm, "/domains/example.test", op="user_quota",
                user="dan@example.test", quota="lots").status == 400
    # Delete; then unknown.
    r = form(pm, "/domains/example.test", op="user_del", user="dan@example.test")
    assert r.status == 303
    assert "dan@example.test" not in users_of(srv, "example.test")
    assert form(pm, "/domains/example.test", op="user_del",
                user="dan@example.test").status == 404


def test_user_usage_shown(srv):
    with RawSMTP(srv.port) as c:
        reply = c.send_message("x@remote.example", ["alice@example.test"],
                               b"Subject: hi\r\n\r\n" + b"x" * 60 + b"\r\n")
        assert reply.code == 250
    srv.wait_delivered("alice@example.test")
    page = logged_in(srv, POSTMASTER).get("/domains/example.test")
    row = re.search(r"<tr><td>alice@example.test</td><td>([^<]*)</td>",
                    page.text)
    assert row and "(1 messages)" in row.group(1), page.text


def test_user_delete_refused_while_aliased(srv):
    srv.add_alias("sales@example.test", "alice@example.test")
    pm = logged_in(srv, POSTMASTER)
    r = form(pm, "/domains/example.test", op="user_del", user="alice")
    assert r.status == 409 and "alias" in r.text
    assert "alice@example.test" in users_of(srv, "example.test")
    r = form(pm, "/domains/example.test", op="user_del", user="alice",
             force="yes")
    assert r.status == 303
    assert "alice@example.test" not in users_of(srv, "example.test")
    assert "sales@" not in srv.cli_ok("alias", "list", "example.test").stdout


def test_aliases_forwards_catchall(srv):
    pm = logged_in(srv, POSTMASTER)
    r = form(pm, "/domains/example.test", op="alias_add", alias="info",
             targets="alice@example.test, bob@example.test")
    assert r.status == 303, r
    r = form(pm, "/domains/example.test", op="alias_add", alias="*",
             targets="bob@example.test")
    assert r.status == 303, r
    r = form(pm, "/domains/example.test", op="alias_add", alias="fwd",
             targets="someone@elsewhere.example")
    assert r.status == 303, r
    listing = srv.cli_ok("alias", "list", "example.test").stdout
    assert "info@example.test" in listing and "@example.test" in listing
    assert "someone@elsewhere.example" in listing
    page = pm.get("/domains/example.test")
    assert "(catch-all)" in page.text and "someone@elsewhere.example" in page.text
    # The alias and the catch-all deliver over SMTP.
    with RawSMTP(srv.port) as c:
        assert c.send_message("x@remote.example", ["info@example.test"],
                              b"Subject: a\r\n\r\nhi\r\n").code == 250
    srv.wait_delivered("alice@example.test")
    srv.wait_delivered("bob@example.test")
    with RawSMTP(srv.port) as c:
        assert c.send_message("x@remote.example", ["nobody@example.test"],
                              b"Subject: b\r\n\r\nhi\r\n").code == 250
    srv.wait_delivered("bob@example.test", count=2)
    # Bad targets and another domain's alias.
    assert form(pm, "/domains/example.test", op="alias_add", alias="x",
                targets="not an address").status == 400
    assert form(pm, "/domains/example.test", op="alias_add",
                alias="x@other.test", targets="bob@example.test").status == 400
    r = form(pm, "/domains/example.test", op="alias_del", alias="@example.test")
    assert r.status == 303
    r = form(pm, "/domains/example.test", op="alias_del", alias="info")
    assert r.status == 303
    listing = srv.cli_ok("alias", "list", "example.test").stdout
    assert "info@" not in listing and "catch-all" not in listing
    assert form(pm, "/domains/example.test", op="alias_del",
                alias="info").status == 404


def state_snapshot(srv):
    """Everything a page could change, as the CLI sees it."""
    return [srv.cli_ok(*a).stdout for a in (
        ("domain", "list"), ("user", "list"), ("alias", "list"),
        ("rule", "list"), ("ban", "list"))]


def rule_id(srv, domain):
    m = re.search(r"^(\d+)\s", srv.cli_ok("rule", "list", domain).stdout,
                  re.M)
    return m.group(1)


def foreign_requests(srv):
    """Every endpoint, aimed at other.test and its mailboxes (carol,
    postmaster@other.test), with path and form parameters."""
    o = "other.test"
    gets = [f"/domains/{o}", f"/domains/{o.upper()}", f"/rules/{o}",
            "/admin/bans", f"/queue/{o}", "/queue", f"/dns/{o}",
            "/admin/status", "/admin/settings",
            f"/why?domain={o}&address=carol@{o}"]
    posts = [
        ("/domains", {"op": "add", "domain": "evil.test"}),
        ("/domains", {"op": "del", "domain": o, "force": "yes"}),
        (f"/domains/{o}", {"op": "user_add", "user": "mallory",
                           "password": "x"}),
        (f"/domains/{o}", {"op": "user_del", "user": f"carol@{o}",
                           "force": "yes"}),
        (f"/domains/{o}", {"op": "user_passwd", "user": f"carol@{o}",
                           "password": "owned"}),
        (f"/domains/{o}", {"op": "user_quota", "user": f"carol@{o}",
                           "quota": "1"}),
        (f"/domains/{o}", {"op": "alias_add", "alias": "*",
                           "targets": "postmaster@example.test"}),
        (f"/domains/{o}", {"op": "alias_del", "alias": "@other.test"}),
        # Own domain in the path, the other's objects in the form.
        ("/domains/example.test", {"op": "user_passwd",
                                   "user": f"carol@{o}", "password": "owned"}),
        ("/domains/example.test", {"op": "user_del", "user": f"carol@{o}"}),
        ("/domains/example.test", {"op": "alias_add", "alias": f"x@{o}",
                                   "targets": "alice@example.test"}),
        ("/domains/example.test", {"op": "alias_del", "alias": f"@{o}"}),
        (f"/rules/{o}", {"op": "add", "action": "deny", "kind": "ip",
                         "value": "127.0.0.0/8"}),
        (f"/rules/{o}", {"op": "del", "id": rule_id(srv, o)}),
        ("/rules/example.test", {"op": "del", "id": rule_id(srv, o)}),
        ("/admin/bans", {"op": "del", "ip": "192.0.2.88"}),
        ("/admin/bans", {"op": "add", "ip": "192.0.2.99"}),
        (f"/help/{o}", {"what": "a report for the other domain"}),
    ]
    return gets, posts


@pytest.mark.parametrize("who", [POSTMASTER, "alice@example.test"])
def test_wrong_postmaster_and_user_reach_nothing(srv, who):
    srv.add_alias("@other.test", "carol@other.test")
    srv.cli_ok("rule", "add", "other.test", "deny", "sender", "x@bad.example")
    srv.cli_ok("ban", "add", "192.0.2.88")
    before = state_snapshot(srv)
    w = logged_in(srv, who)
    gets, posts = foreign_requests(srv)
    for path in gets:
        r = w.get(path)
        assert r.status in (403, 404), (path, r)
        assert "carol" not in r.text, path
    for path, fields in posts:
        r = form(w, path, **fields)
        assert r.status in (400, 403, 404), (path, fields, r)
    assert state_snapshot(srv) == before
    # The other domain's accounts still work as they did.
    assert pop3_login(srv, "carol@other.test", PASSWORD) == (0, 0)


def test_hostile_text_is_escaped(srv):
    # Rows that did not come through the pages (an old import, a hand
    # edit of the database): the pages escape whatever the store holds.
    import sqlite3
    db = sqlite3.connect(str(srv.state_dir / "ferry.db"))
    db.execute("INSERT INTO aliases (address, domain, targets) VALUES (?,?,?)",
               ('"><script>alert(1)</script>@example.test', "example.test",
                "<img src=x onerror=alert(1)>@x.example,'onmouseover='a"))
    db.commit()
    db.close()
    pm = logged_in(srv, POSTMASTER)
    page = pm.get("/domains/example.test")
    assert page.status == 200
    assert "<script" not in page.text and "<img" not in page.text
    assert "&lt;script&gt;" in page.text and "&lt;img src=x" in page.text
    assert "'onmouseover='" not in page.text
    # Error texts echo the input: escaped as well.
    r = form(pm, "/domains/example.test", op="alias_add", alias="x",
             targets='"><script>alert(2)</script>')
    assert r.status == 400 and "<script" not in r.text
    r = form(pm, "/domains/example.test", op="user_add",
             user='<b onclick="x">', password="p")
    assert r.status == 400 and "<b " not in r.text
    r = pm.get("/domains/%3Cscript%3E.test")
    assert r.status in (400, 403, 404) and "<script" not in r.text


def test_bad_input(srv):
    pm = logged_in(srv, POSTMASTER)
    token = pm.csrf("/")
    before = state_snapshot(srv)
    # Overlong fields.
    for fields in ({"op": "user_add", "user": "a" * 5000, "password": "p"},
                   {"op": "user_add", "user": "ok", "password": "p" * 5000},
                   {"op": "user_add", "user": "ok", "password": "p",
                    "quota": "9" * 100},
                   {"op": "alias_add", "alias": "x",
                    "targets": "a@b.example," * 500},
                   {"op": "x" * 100}, {"op": "nonsense"}, {}):
        r = pm.post("/domains/example.test", {"csrf": token, **fields})
        assert r.status == 400, (fields, r)
    # A NUL byte through %00, in the form and in the path.
    r = pm.post("/domains/example.test",
                f"csrf={token}&op=user_add&user=nul%00x&password=p",
                headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 400
    assert pm.get("/domains/example.test%00").status == 400
    # Unknown names and pages.
    assert pm.get("/domains/nope.test").status in (403, 404)
    assert pm.get("/domains/example.test/extra").status == 404
    assert pm.post("/domains/example.test",
                   {"csrf": token, "op": "user_del",
                    "user": "ghost"}).status == 404
    # Without the token nothing happens.
    r = pm.post("/domains/example.test", {"op": "user_add", "user": "nocsrf",
                                          "password": "p"})
    assert r.status == 403
    assert state_snapshot(srv) == before


def test_rules_beside_system_settings(srv):
    pm = logged_in(srv, POSTMASTER)
    page = pm.get("/rules/example.test")
    assert page.status == 200
    assert 'class="system"' in page.text and "greylist" in page.text
    r = form(pm, "/rules/example.test", op="add", action="deny",
             kind="sender", value="spammer@bad.example")
    assert r.status == 303 and r.header("Location") == \
        "/rules/example.test?done=rule_added"
    r = form(pm, "/rules/example.test", op="add", action="skip",
             value="greylist, dnsbl")
    assert r.status == 303
    listing = srv.cli_ok("rule", "list", "example.test").stdout
    assert "deny sender spammer@bad.example" in listing
    assert "skip" in listing and "greylist" in listing
    page = pm.get("/rules/example.test?done=rule_added")
    assert "The rule was added." in page.text
    assert "spammer@bad.example" in page.text
    assert re.search(r"<td>greylist</td><td class=\"system\">[^<]*</td>"
                     r"<td>skipped \(rule \d+\)</td>", page.text), page.text
    # The rule refuses over SMTP, for this domain only.
    with RawSMTP(srv.port) as c:
        c.ehlo()
        c.expect("MAIL FROM:<spammer@bad.example>", 250)
        assert c.cmd("RCPT TO:<alice@example.test>").code == 550
        assert c.cmd("RCPT TO:<carol@other.test>").code == 250
    # Bad rules, unknown ids, and the other domain's rule.
    for fields in ({"action": "deny", "kind": "ip", "value": "300.1.2.3"},
                   {"action": "skip", "value": "nosuchcheck"},
                   {"action": "frobnicate", "kind": "ip", "value": "1.2.3.4"},
                   {"action": "deny", "kind": "sender", "value": "<x"}):
        r = form(pm, "/rules/example.test", op="add", **fields)
        assert r.status == 400, (fields, r)
    ids = re.findall(r'name="id" value="(\d+)"', page.text)
    assert len(ids) == 2
    srv.cli_ok("rule", "add", "other.test", "deny", "ip", "192.0.2.0/24")
    other_id = re.search(r"^(\d+)\s", srv.cli_ok("rule", "list",
                                                  "other.test").stdout, re.M)
    assert other_id
    assert form(pm, "/rules/example.test", op="del",
                id=other_id.group(1)).status == 404
    assert form(pm, "/rules/example.test", op="del", id="99999").status == 404
    assert form(pm, "/rules/example.test", op="del", id="12abc").status == 400
    assert "192.0.2.0/24" in srv.cli_ok("rule", "list", "other.test").stdout
    for i in ids:
        assert form(pm, "/rules/example.test", op="del", id=i).status == 303
    assert "spammer" not in srv.cli_ok("rule", "list", "example.test").stdout
    with RawSMTP(srv.port) as c:
        c.ehlo()
        c.expect("MAIL FROM:<spammer@bad.example>", 250)
        assert c.cmd("RCPT TO:<alice@example.test>").code == 250


def test_admin_bans(srv):
    admin = logged_in(srv, ADMIN)
    page = admin.get("/admin/bans")
    assert page.status == 200 and "No address is banned." in page.text
    r = form(admin, "/admin/bans", op="add", ip="192.0.2.77", hours="2")
    assert r.status == 303 and r.header("Location") == "/admin/bans?done=ban_added"
    assert "192.0.2.77" in srv.cli_ok("ban", "list").stdout
    page = admin.get("/admin/bans")
    assert "192.0.2.77" in page.text and "manual" in page.text
    for fields in ({"ip": "not-an-ip"}, {"ip": "192.0.2.1", "hours": "x"},
                   {"ip": "192.0.2.1", "hours": "0"},
                   {"ip": "1" * 100}, {"ip": ""}):
        assert form(admin, "/admin/bans", op="add", **fields).status == 400, fields
    assert form(admin, "/admin/bans", op="del", ip="192.0.2.9").status == 404
    r = form(admin, "/admin/bans", op="del", ip="192.0.2.77")
    assert r.status == 303
    assert "192.0.2.77" not in srv.cli_ok("ban", "list").stdout
    # Nobody else: not the postmaster, not a user.
    srv.cli_ok("ban", "add", "192.0.2.88")
    for who in (POSTMASTER, "alice@example.test"):
        w = logged_in(srv, who)
        assert w.get("/admin/bans").status == 403
        assert form(w, "/admin/bans", op="del", ip="192.0.2.88").status == 403
        assert form(w, "/admin/bans", op="add", ip="192.0.2.99").status == 403
    bans = srv.cli_ok("ban", "list").stdout
    assert "192.0.2.88" in bans and "192.0.2.99" not in bans
