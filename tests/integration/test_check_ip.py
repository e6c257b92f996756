"""`ferry check ip IP`: PTR and forward-confirmed reverse DNS, every
dnsbl zone's answer, the ban and greylist state in the store, the
`ferry rule` rules that match, and the configuration's lists and
exemptions.  FakeDNS on loopback; a real server for the greylist.
"""

import json

from fakedns import fakedns  # noqa: F401
from policy_util import policy_server, rcpt_code, rptr
from test_dns import check, write_conf


def ip_zone(dns):
    dns.add(rptr("127.0.0.9"), "PTR", "good.client.test")
    dns.add("good.client.test", "A", "127.0.0.9")
    dns.add(rptr("127.0.0.10"), "PTR", "liar.client.test")
    dns.add("liar.client.test", "A", "127.0.0.99")
    dns.add(rptr("127.0.0.9", "bl.test"), "A", "127.0.0.2")
    dns.add(rptr("127.0.0.9", "bl.test"), "TXT", "listed: spam \x1b source")
    dns.add(rptr("127.0.0.9", "err.test"), "A", "127.255.255.254")
    dns.servfail(rptr("127.0.0.9", "down.test"))


def test_rdns_and_dnsbl(tmp_path, fakedns):
    ip_zone(fakedns)
    conf = write_conf(tmp_path, fakedns, dnsbl="bl.test, err.test, "
                      "down.test, clean.test", require_rdns="fcrdns")
    r = check(conf, "ip", "127.0.0.9", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["ptr"]["names"] == [{"name": "good.client.test",
                                    "confirmed": True}]
    assert doc["fcrdns"] == "pass"
    z = {x["zone"]: x for x in doc["dnsbl"]}
    assert z["bl.test"]["listed"] is True
    assert z["bl.test"]["reason"] == "listed: spam ? source"
    assert z["err.test"]["listed"] is False         # the list's error code
    assert z["err.test"]["answer"] == "127.255.255.254"
    assert z["down.test"]["listed"] is False
    assert z["down.test"]["status"] == "tempfail"
    assert z["clean.test"]["listed"] is False
    assert doc["store"] is False and doc["banned"] is False
    r = check(conf, "ip", "127.0.0.9")
    assert "PTR: good.client.test (resolves back: confirmed)" in r.stdout
    assert "forward-confirmed reverse DNS: pass (require_rdns = fcrdns)" \
        in r.stdout
    assert "dnsbl bl.test: LISTED (127.0.0.2): listed: spam ? source" \
        in r.stdout
    assert "dnsbl down.test: no answer" in r.stdout
    assert "\x1b" not in r.stdout
    doc = json.loads(check(conf, "ip", "127.0.0.10", "--json").stdout)
    assert doc["fcrdns"] == "fail"
    assert doc["ptr"]["names"][0]["confirmed"] is False
    doc = json.loads(check(conf, "ip", "127.0.0.11", "--json").stdout)
    assert doc["ptr"]["status"] == "nxdomain" and doc["fcrdns"] == "fail"
    # IPv4-mapped IPv6 is the IPv4 client; IPv6 works too.
    doc = json.loads(check(conf, "ip", "::ffff:127.0.0.9", "--json").stdout)
    assert doc["ip"] == "127.0.0.9" and doc["fcrdns"] == "pass"
    doc = json.loads(check(conf, "ip", "2001:db8::1", "--json").stdout)
    assert doc["ip"] == "2001:db8::1"
    assert all(not z["listed"] for z in doc["dnsbl"])


def test_lists_and_exemptions(tmp_path, fakedns):
    conf = write_conf(tmp_path, fakedns, relay_networks="127.0.0.0/8",
                      client_deny="192.0.2.0/24",
                      auth_ban_exempt="192.0.2.7/32",
                      exempt="192.0.2.0/25 dnsbl,greylist")
    doc = json.loads(check(conf, "ip", "192.0.2.7", "--json").stdout)
    assert doc["lists"] == ["client_deny", "auth_ban_exempt"]
    assert doc["exempt"] == ["dnsbl", "greylist"]
    r = check(conf, "ip", "192.0.2.7")
    assert "in client_deny: refused by the client check" in r.stdout
    assert "exempt (exempt =) from: dnsbl, greylist" in r.stdout
    r = check(conf, "ip", "127.0.0.1")
    assert "in relay_networks: may relay; skips every check" in r.stdout
    doc = json.loads(check(conf, "ip", "198.51.100.1", "--json").stdout)
    assert doc["lists"] == [] and doc["exempt"] == []


def test_ban_greylist_and_rules_from_the_store(make_ferry, fakedns):
    srv = policy_server(make_ferry, fakedns, greylist="yes",
                        greylist_delay="1h", relay_networks="10.9.9.0/24")
    assert rcpt_code(srv, sender="a@sender.test").code == 451
    srv.cli_ok("ban", "add", "127.0.0.1", "--for", "1h")
    srv.cli_ok("rule", "add", "example.test", "deny", "ip", "127.0.0.0/24")
    srv.cli_ok("rule", "add", "example.test", "allow", "ip", "10.0.0.0/8")
    srv.cli_ok("rule", "add", "other.test", "skip", "spf")
    r = srv.cli("check", "ip", "127.0.0.1", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["store"] is True and doc["banned"] is True
    assert doc["greylist_net"] == "127.0.0.0/24"
    assert doc["greylist_waiting"] == 1
    rules = {(x["domain"], x["action"], x["kind"], x["value"])
             for x in doc["rules"]}
    assert rules == {("example.test", "deny", "ip", "127.0.0.0/24"),
                     ("other.test", "skip", "check", "spf")}
    r = srv.cli("check", "ip", "127.0.0.1")
    assert "ban: banned until" in r.stdout
    assert "greylist: 127.0.0.0/24 not trusted, 1 triplet(s) waiting" \
        in r.stdout
    assert "(example.test): deny ip 127.0.0.0/24" in r.stdout
    doc = json.loads(srv.cli("check", "ip", "10.1.2.3", "--json").stdout)
    assert doc["banned"] is False and doc["greylist_waiting"] == 0
    assert ("example.test", "allow", "ip", "10.0.0.0/8") in {
        (x["domain"], x["action"], x["kind"], x["value"])
        for x in doc["rules"]}


def test_bad_input(tmp_path, fakedns):
    conf = write_conf(tmp_path, fakedns)
    for bad in ("999.1.1.1", "example.test", "", "127.0.0.1/24", "::g",
                "1.2.3", "1.2.3.4 ", "x" * 300):
        r = check(conf, "ip", bad)
        assert r.returncode == 1, bad
        assert "not an IP address" in r.stderr
    for args in (["ip"], ["ip", "1.2.3.4", "5.6.7.8"], ["ip", "--bogus"]):
        r = check(conf, *args)
        assert r.returncode == 2, args
        assert r.stderr.startswith("usage:")
    # No store yet: nothing is created by looking.
    r = check(conf, "ip", "127.0.0.1", "--json")
    assert json.loads(r.stdout)["store"] is False
    assert not (tmp_path / "state" / "ferry.db").exists()
