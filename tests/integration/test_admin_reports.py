"""The "report a mail problem" form on the help page and the list on the
domain page (src/admin/pages_reports.c over src/ops/ops_report.c), over
real HTTPS: a logged-in user reports to their own domain's postmaster,
who sees it escaped; nobody else sees it; the reports are bounded."""

import http.client
import re
import ssl

import pytest

from webclient import ADMIN, OTHER_POSTMASTER, POSTMASTER, Web, admin_ferry


@pytest.fixture
def srv(make_ferry, tmp_path):
    return admin_ferry(make_ferry, tmp_path)


def logged_in(srv, who):
    w = Web(srv)
    assert w.login(who).status == 303
    return w


def report(w, domain="example.test", **fields):
    page = w.get(f"/help/{domain}")
    token = w.field(page, "csrf") or w.csrf("/")
    return w.post(f"/help/{domain}", {"csrf": token, **fields})


def reports_on(w, domain):
    page = w.get(f"/domains/{domain}")
    assert page.status == 200, page
    return page.text[page.text.index("<h2>Reported problems</h2>"):]


def test_user_reports_to_their_postmaster(srv):
    alice = logged_in(srv, "alice@example.test")
    page = alice.get("/help/example.test")
    assert page.status == 200
    assert 'action="/help/example.test"' in page.text
    assert 'name="what"' in page.text and "alice@example.test" in page.text
    r = report(alice, what="My mail to Bob bounced\r\n"
               "<script>alert(1)</script>", when="today <b>10:00</b>",
               address="bob@remote.example", reporter="mallory@evil.test")
    assert r.status == 303, r
    assert r.header("Location") == "/help/example.test?done=reported"
    assert "Your report was sent to the postmaster." in \
        alice.get(r.header("Location")).text
    listing = reports_on(logged_in(srv, POSTMASTER), "example.test")
    assert "<td>alice@example.test</td>" in listing
    assert "mallory" not in listing
    assert "<pre>My mail to Bob bounced\n&lt;script&gt;alert(1)" \
        "&lt;/script&gt;</pre>" in listing
    assert "<script" not in listing and "<b>" not in listing
    assert "today &lt;b&gt;10:00&lt;/b&gt;" in listing
    assert "<td>bob@remote.example</td>" in listing
    # The admin sees it too; the other domain's postmaster does not.
    assert "My mail to Bob" in reports_on(logged_in(srv, ADMIN),
                                           "example.test")
    other = logged_in(srv, OTHER_POSTMASTER)
    assert other.get("/domains/example.test").status == 403
    assert "No problem was reported." in reports_on(other, "other.test")


def test_only_to_ones_own_domain(srv):
    alice = logged_in(srv, "alice@example.test")
    r = report(alice, domain="other.test", what="let me in")
    assert r.status == 403, r
    r = report(alice, domain="nosuch.test", what="x")
    assert r.status in (403, 404)
    assert "No problem was reported." in reports_on(
        logged_in(srv, OTHER_POSTMASTER), "other.test")
    # Not logged in: a link to log in, and no way to post.
    anon = Web(srv)
    page = anon.get("/help/example.test")
    assert page.status == 200 and 'name="what"' not in page.text
    assert 'href="/login?next=/help/example.test"' in page.text
    assert anon.post("/help/example.test", {"what": "x"}).status == 403
    # Without the token nothing is recorded.
    assert alice.post("/help/example.test", {"what": "x"}).status == 403
    assert "No problem was reported." in reports_on(
        logged_in(srv, POSTMASTER), "example.test")


def test_bad_input(srv):
    alice = logged_in(srv, "alice@example.test")
    token = alice.csrf("/help/example.test")
    for fields in ({"what": ""}, {}, {"what": "x" * 2001},
                   {"what": "x", "when": "a\nb"},
                   {"what": "x", "when": "w" * 101},
                   {"what": "x", "address": "a b@c"},
                   {"what": "x", "address": "a" * 400}):
        r = alice.post("/help/example.test", {"csrf": token, **fields})
        assert r.status == 400, (fields, r)
    r = alice.post("/help/example.test", f"csrf={token}&what=nul%00byte",
                   headers={"Content-Type":
                            "application/x-www-form-urlencoded"})
    assert r.status == 400
    r = None
    try:
        r = alice.post("/help/example.test",
                       {"csrf": token, "what": "x" * 300000})
    except (ConnectionError, http.client.HTTPException, ssl.SSLError):
        pass        # evhttp may also close before the body is sent
    assert r is None or r.status == 413
    assert alice.post("/help/example.test/x",
                      {"csrf": token, "what": "x"}).status == 404
    assert "No problem was reported." in reports_on(
        logged_in(srv, POSTMASTER), "example.test")


def test_bounded_count(srv):
    bob = logged_in(srv, "bob@example.test")
    token = bob.csrf("/help/example.test")
    for i in range(55):
        r = bob.post("/help/example.test",
                     {"csrf": token, "what": f"problem number {i}."})
        assert r.status == 303, (i, r)
    listing = reports_on(logged_in(srv, POSTMASTER), "example.test")
    shown = [int(n) for n in re.findall(r"problem number (\d+)\.", listing)]
    assert shown == list(range(54, 4, -1))
    assert (srv.state_dir / "reports" / "example.test").stat().st_size \
        < 50 * 200
