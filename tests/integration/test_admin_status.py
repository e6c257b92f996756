"""/admin/status and /admin/settings (src/admin/pages_status.c) over
real HTTPS: the page shows what `ferry status` shows (both gather through
ops_status.c), with held messages, send-held users and suspended domains
escaped; the settings page shows the configuration in force and never a
secret; both for the admin only."""

import json
import re

import pytest

from conftest import free_port, make_message, wait_until
from webclient import ADMIN, POSTMASTER, Web, admin_ferry


@pytest.fixture
def srv(make_ferry, tmp_path):
    secret = tmp_path / "srs-secret"
    secret.write_text("TOPSECRETVALUE\n")
    return admin_ferry(make_ferry, tmp_path, relay_networks="127.0.0.0/8",
                       retry_min="1h", retry_max="2h",
                       dns_resolvers=f"127.0.0.1:{free_port()}",
                       route=f"* [127.0.0.1]:{free_port()}",
                       srs_secret_file=str(secret), max_recipients="77")


def logged_in(srv, who):
    w = Web(srv)
    assert w.login(who).status == 303
    return w


def queued(srv, rcpt):
    before = {m["id"] for m in srv.queue_json()}
    with srv.smtp() as s:
        s.sendmail("alice@example.test", [rcpt],
                   make_message(sender="alice@example.test", to=rcpt))

    def first():
        for m in srv.queue_json():
            if m["id"] not in before and m["next_attempt"] > 0:
                return m
        return None
    return wait_until(first, 15, what="a first attempt")["id"]


def test_status_page_matches_the_cli(srv):
    held = queued(srv, "x@remote.example")
    queued(srv, "y@remote.example")
    srv.cli_ok("queue", "hold", held)
    srv.add_domain("quiet.test")
    srv.cli_ok("domain", "suspend", "quiet.test")
    srv.cli_ok("user", "send-hold", "bob@example.test", "--reason",
               "<script>alert(1)</script>")
    srv.cli_ok("ban", "add", "192.0.2.7")
    # The send-hold queues a notice to the postmaster; it is delivered
    # here, and the two remote messages are all that stay queued.
    wait_until(lambda: len(srv.queue_json()) == 2, 15,
               what="the send-hold notice delivered")
    cli = json.loads(srv.cli_ok("status", "--json").stdout)
    page = logged_in(srv, ADMIN).get("/admin/status")
    assert page.status == 200, page
    t = page.text
    assert f"Running as pid {srv.pid}" in t
    for role in cli["roles"]:
        assert f"<td>{role['name']}</td><td>{role['pid']}</td>" in t
    assert f"<td>smtp</td><td>127.0.0.1:{srv.port}</td>" in t
    assert f"<td>admin</td><td>127.0.0.1:{srv.admin_port}</td>" in t
    q = cli["queue"]
    assert q["messages"] == 2 and q["held"] == 1
    assert f"<tr><th>Messages</th><td>{q['messages']}</td></tr>" in t
    assert f"<tr><th>Recipients held</th><td>{q['held']}</td></tr>" in t
    assert "Held messages (1)" in t and f'href="/queue/msg/{held}"' in t
    assert "1 failed-login ban in force" in t
    assert "<td>bob@example.test</td>" in t
    assert "<script" not in t and "&lt;script&gt;alert(1)" in t
    assert "Suspended domains: quiet.test." in t
    assert re.search(r"<tr><td>primary</td>(<td>\d+</td>){4}</tr>", t), t
    # The CLI shows the same held message and outbound state.
    out = srv.cli_ok("status").stdout
    assert f"held messages: 1\n  {held} " in out
    assert "outbound: 1 user send-held, 1 domain suspended" in out
    assert [h["id"] for h in cli["held_messages"]] == [held]


def test_settings_in_force_without_secrets(srv):
    page = logged_in(srv, ADMIN).get("/admin/settings")
    assert page.status == 200, page
    t = page.text
    assert "<tr><td>max_recipients</td><td><code>77</code></td></tr>" in t
    assert f"<tr><td>admin_users</td><td><code>{ADMIN}</code></td></tr>" in t
    assert "<tr><td>retry_min</td><td><code>3600s</code></td></tr>" in t
    assert "<tr><td>hostname</td><td><code>" in t
    # A default is shown as the value in force.
    assert re.search(r"<tr><td>queue_lifetime</td><td><code>\d+s</code>", t)
    # The secret's file is neither named nor read.
    assert "<tr><td>srs_secret_file</td><td class=\"system\">set (not " \
        "shown)</td></tr>" in t
    assert "srs-secret" not in t and "TOPSECRET" not in t
    # After a reload the page follows the new snapshot.
    srv.set_conf(max_recipients="88")
    srv.cli_ok("reload")
    wait_until(lambda: "<code>88</code>" in logged_in(srv, ADMIN).get(
        "/admin/settings").text, 15, what="the reloaded settings")


def test_admin_only(srv):
    for who in (POSTMASTER, "alice@example.test"):
        w = logged_in(srv, who)
        for path in ("/admin/status", "/admin/settings"):
            r = w.get(path)
            assert r.status == 403, (who, path, r)
            assert "max_recipients" not in r.text
    anon = Web(srv)
    for path in ("/admin/status", "/admin/settings"):
        r = anon.get(path)
        assert r.status == 303 and r.header("Location").startswith("/login")
    admin = logged_in(srv, ADMIN)
    assert admin.post("/admin/status", {"csrf": admin.csrf("/")}).status \
        == 405
