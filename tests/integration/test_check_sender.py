"""`ferry check sender DOMAIN [--ip IP]`: the sender-domain check's view
(MX, A, AAAA and the reply mfcheck would give), the SPF record and the
result for a client with the way through include:, and the DMARC record
(the domain's, else the organizational domain's).  FakeDNS on loopback.
"""

import json

from fakedns import fakedns  # noqa: F401
from test_dns import check, write_conf


def sender_zone(dns):
    dns.add("snd.test", "MX", "10 mx.snd.test")
    dns.add("snd.test", "A", "127.0.0.2")
    dns.add("snd.test", "TXT", "v=spf1 include:_spf.prov.test -all")
    dns.add("_spf.prov.test", "TXT",
            "v=spf1 ip4:192.0.2.0/24 include:more.prov.test ~all")
    dns.add("more.prov.test", "TXT", "v=spf1 ip4:198.51.100.0/24 -all")
    dns.add("_dmarc.snd.test", "TXT",
            "v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@snd.test; "
            "adkim=s")
    dns.add("sub.snd.test", "A", "127.0.0.3")
    dns.add("nullmx.test", "MX", "0 .")
    dns.add("addronly.test", "A", "127.0.0.4")
    dns.add("addronly.test", "TXT", "v=spf1 a -all")
    dns.add("addronly.test", "TXT", "unrelated text")
    dns.add("_dmarc.addronly.test", "TXT", "v=DMARC1; pct=50")
    dns.add("_dmarc.addronly.test", "TXT", "something else")
    dns.servfail("broken.test")
    dns.add("twospf.test", "A", "127.0.0.5")
    dns.add("twospf.test", "TXT", "v=spf1 -all")
    dns.add("twospf.test", "TXT", "v=spf1 +all")


def test_include_path_and_dmarc(tmp_path, fakedns):
    sender_zone(fakedns)
    conf = write_conf(tmp_path, fakedns, mfcheck="yes")
    r = check(conf, "sender", "snd.test", "--ip", "198.51.100.7", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    mf = doc["mfcheck"]
    assert mf["enabled"] is True and mf["passes"] is True
    assert mf["mx"]["records"] == "10 mx.snd.test"
    spf = doc["spf"]
    assert spf["record"] == "v=spf1 include:_spf.prov.test -all"
    assert spf["result"] == "pass"
    assert spf["mechanism"] == "include:_spf.prov.test"
    assert spf["path"] == ("snd.test: include:_spf.prov.test > "
                           "_spf.prov.test: include:more.prov.test > "
                           "more.prov.test: ip4:198.51.100.0/24")
    d = doc["dmarc"]
    assert d["name"] == "_dmarc.snd.test" and d["valid"] is True
    assert (d["p"], d["sp"], d["adkim"], d["aspf"]) == (
        "reject", "quarantine", "s", "r")
    assert d["rua"] == "mailto:d@snd.test"
    # A client no include knows: the top record's -all decides, and an
    # include that did not match leaves no path behind.
    doc = json.loads(check(conf, "sender", "--ip", "203.0.113.9",
                           "snd.test", "--json").stdout)
    assert doc["spf"]["result"] == "fail"
    assert doc["spf"]["path"] == "snd.test: -all"
    r = check(conf, "sender", "snd.test", "--ip", "192.0.2.1")
    assert "mfcheck: passes" in r.stdout
    assert "SPF for 192.0.2.1: pass (mechanism include:_spf.prov.test)" \
        in r.stdout
    assert "path: snd.test: include:_spf.prov.test > _spf.prov.test: " \
        "ip4:192.0.2.0/24" in r.stdout
    assert "DMARC: policy reject, subdomains quarantine" in r.stdout
    # check spf shows the same path
    r = check(conf, "spf", "198.51.100.7", "a@snd.test", "--json")
    assert json.loads(r.stdout)["path"].endswith(
        "more.prov.test: ip4:198.51.100.0/24")


def test_organizational_domain_and_odd_records(tmp_path, fakedns):
    sender_zone(fakedns)
    conf = write_conf(tmp_path, fakedns)
    doc = json.loads(check(conf, "sender", "sub.snd.test", "--json").stdout)
    assert doc["mfcheck"]["enabled"] is False
    assert doc["mfcheck"]["passes"] is True        # implicit MX
    assert doc["spf"]["record"] is None and doc["spf"]["result"] is None
    assert doc["dmarc"]["name"] == "_dmarc.snd.test"
    doc = json.loads(check(conf, "sender", "addronly.test", "--json").stdout)
    assert doc["spf"]["record"] == "v=spf1 a -all"
    assert doc["dmarc"]["valid"] is False          # no p=, no rua=
    assert doc["dmarc"]["error"]
    r = check(conf, "sender", "twospf.test", "--ip", "127.0.0.5")
    assert "(and more: permerror)" in r.stdout
    assert "SPF for 127.0.0.5: permerror" in r.stdout


def test_what_mfcheck_would_refuse(tmp_path, fakedns):
    sender_zone(fakedns)
    conf = write_conf(tmp_path, fakedns)
    cases = {
        "nullmx.test": "550 5.7.27",
        "gone.test": "553 5.1.8 domain not found",
        "broken.test": "451 4.4.3",
    }
    for domain, reply in cases.items():
        r = check(conf, "sender", domain, "--json")
        assert r.returncode == 0, (domain, r.stderr)
        mf = json.loads(r.stdout)["mfcheck"]
        assert mf["passes"] is False, domain
        assert mf["reply"].startswith(reply), (domain, mf)
    r = check(conf, "sender", "nullmx.test")
    assert "mfcheck: would refuse: 550 5.7.27" in r.stdout
    assert "DMARC: no record" in r.stdout


def test_bad_input(tmp_path, fakedns):
    conf = write_conf(tmp_path, fakedns)
    for bad in ("a..b.test", "x" * 64 + ".test", ".".join(["abcdefghi"] * 30),
                "exa mple.test", "a@b.test", ""):
        r = check(conf, "sender", bad)
        assert r.returncode == 1, bad
        assert "not a valid domain name" in r.stderr
    for ip in ("999.1.1.1", "example.test", "", "1.2.3.4/24", "::g"):
        r = check(conf, "sender", "snd.test", "--ip", ip)
        assert r.returncode == 1, ip
        assert "not an IP address" in r.stderr
    for args in (["sender"], ["sender", "a.test", "--ip"],
                 ["sender", "a.test", "b.test"],
                 ["sender", "a.test", "--ip", "1.2.3.4", "--ip", "1.2.3.5"],
                 ["sender", "--bogus"]):
        r = check(conf, *args)
        assert r.returncode == 2, args
        assert r.stderr.startswith("usage:")
