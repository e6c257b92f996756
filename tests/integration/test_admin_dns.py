"""/dns/DOMAIN (src/admin/pages_dns.c): the records a domain should
publish, checked against FakeDNS through the server's resolvers, as
`ferry domain records DOMAIN --check` does; for the domain's postmaster
and the admin only."""

import json
import re

import pytest

from fakedns import fakedns  # noqa: F401
from webclient import ADMIN, OTHER_POSTMASTER, POSTMASTER, Web, admin_ferry


@pytest.fixture
def srv(make_ferry, tmp_path, fakedns):  # noqa: F811
    return admin_ferry(make_ferry, tmp_path, dns_resolvers=fakedns.address)


def logged_in(srv, who):
    w = Web(srv)
    assert w.login(who).status == 303
    return w


def cell(page, name, rtype):
    """The "In DNS" cell of the row for name and rtype."""
    m = re.search(r"<tr><td>%s<br><small>[^<]*</small></td><td>%s</td>"
                  r"<td><code>[^<]*</code></td><td class=\"dns-(\w+)\">"
                  % (re.escape(name), rtype), page.text)
    return m.group(1) if m else None


def test_records_and_their_state(srv, fakedns):  # noqa: F811
    host = srv.conf["hostname"]
    recs = json.loads(srv.cli_ok("domain", "records", "example.test",
                                 "--json").stdout)
    mx = [r for r in recs if r["type"] == "MX"][0]
    fakedns.add("example.test", "MX", "10 " + host)
    fakedns.add("example.test", "TXT", "v=spf1 a:elsewhere.example -all")
    pm = logged_in(srv, POSTMASTER)
    page = pm.get("/dns/example.test")
    assert page.status == 200, page
    assert mx["value"] in page.text
    assert cell(page, "example.test", "MX") == "match", page.text
    assert cell(page, "example.test", "TXT") == "differs"
    assert cell(page, "_dmarc.example.test", "TXT") == "missing"
    assert "now: <code>v=spf1 a:elsewhere.example -all</code>" in page.text
    assert "No DKIM key yet" in page.text
    # Linked from the domain's page.
    assert 'href="/dns/example.test"' in pm.get("/domains/example.test").text
    # The same through the CLI.
    checked = json.loads(srv.cli_ok("domain", "records", "example.test",
                                    "--check", "--json").stdout)
    assert [r["dns"] for r in checked if r["type"] == "MX"] == ["match"]
    assert logged_in(srv, ADMIN).get("/dns/other.test").status == 200


def test_only_the_domains_postmaster(srv):
    for who in (OTHER_POSTMASTER, "alice@example.test"):
        assert logged_in(srv, who).get("/dns/example.test").status == 403
    pm = logged_in(srv, POSTMASTER)
    assert pm.get("/dns/other.test").status == 403
    assert pm.get("/dns/nosuch.test").status == 403
    assert logged_in(srv, ADMIN).get("/dns/nosuch.test").status == 404
    assert pm.get("/dns/example.test/x").status == 404
    assert pm.get("/dns/example.test%00").status == 400
    assert pm.get("/dns/" + "a" * 300).status in (400, 404)
    r = pm.get("/dns/%3Cscript%3E.test")
    assert r.status in (400, 403, 404) and "<script" not in r.text
