"""`ferry domain records DOMAIN [--check] [--json]`: the records a hosted
domain should publish, checked against FakeDNS through the server's own
resolver configuration (dns_resolvers).

Each test writes a configuration with the listeners it needs, adds the
domain and a DKIM key with the CLI, publishes (or not) records in the
fake DNS and reads the JSON that the command prints.
"""

import json
import os
import socket
import subprocess
from pathlib import Path

import pytest

from dkimkeys import rsa_key_pair
from fakedns import FakeDNS, fakedns  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
FERRY_BIN = os.environ.get("FERRY_BIN", str(ROOT / "build" / "ferry"))
HOST = "mail.host.test"
DOMAIN = "shop.test"
HOST_ADDR = "192.0.2.10"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Conf:
    def __init__(self, path, ports):
        self.path = path
        self.ports = ports

    def __fspath__(self):
        return str(self.path)

    def __str__(self):
        return str(self.path)


def ferry(conf, *args, timeout=90):
    return subprocess.run([FERRY_BIN, "-c", str(conf), *args],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def conf(tmp_path, fakedns):  # noqa: F811
    ports = {k: _free_port() for k in ("smtp", "sub", "sub2", "subs",
                                       "imaps", "pop3")}
    lines = {
        "hostname": HOST,
        "state_dir": str(tmp_path / "state"),
        "smtp_listen": "127.0.0.1:%d" % ports["smtp"],
        "submission_listen": "127.0.0.1:%d, 127.0.0.1:%d" % (
            ports["sub"], ports["sub2"]),
        "submissions_listen": "127.0.0.1:%d" % ports["subs"],
        "imaps_listen": "127.0.0.1:%d" % ports["imaps"],
        "pop3_listen": "127.0.0.1:%d" % ports["pop3"],
        "tls_cert": str(tmp_path / "cert.pem"),
        "tls_key": str(tmp_path / "key.pem"),
        "dns_resolvers": fakedns.address,
        "log_level": "warn",
    }
    path = tmp_path / "ferry.conf"
    path.write_text("".join("%s = %s\n" % kv for kv in lines.items()))
    r = ferry(path, "domain", "add", DOMAIN)
    assert r.returncode == 0, r.stderr
    r = ferry(path, "dkim", "keygen", DOMAIN, "--selector", "s1",
              "--bits", "1024")
    assert r.returncode == 0, r.stderr
    return Conf(path, ports)


def records(conf, check=True):
    args = ["domain", "records", DOMAIN, "--json"]
    if check:
        args.append("--check")
    r = ferry(conf, *args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def by_name(recs, name, rtype=None):
    return [r for r in recs if r["name"] == name and
            (rtype is None or r["type"] == rtype)]


def one(recs, name, rtype=None):
    found = by_name(recs, name, rtype)
    assert len(found) == 1, (name, found)
    return found[0]


def publish_all(dns, recs):
    """Publishes every record as the command asks (CNAMEs as CNAMEs)."""
    dns.add(HOST, "A", HOST_ADDR)
    for r in recs:
        value = r["value"]
        if r["type"] == "MX":
            pref, target = value.split()
            dns.add(r["name"], "MX", "%s %s" % (pref, target.rstrip(".")))
        elif r["type"] == "CNAME":
            dns.add(r["name"], "CNAME", value.rstrip("."))
        elif r["type"] == "SRV":
            dns.add(r["name"], "SRV", value)
        else:
            dns.add(r["name"], "TXT", value)


def test_records_follow_the_configuration(conf):
    recs = records(conf, check=False)
    p = conf.ports
    assert one(recs, DOMAIN, "MX")["value"] == "10 %s." % HOST
    assert one(recs, DOMAIN, "TXT")["value"] == "v=spf1 mx -all"
    dkim = one(recs, "s1._domainkey." + DOMAIN)
    assert dkim["type"] == "TXT" and dkim["value"].startswith(
        "v=DKIM1; k=rsa; p=")
    assert one(recs, "_dmarc." + DOMAIN)["value"].startswith("v=DMARC1;")
    assert one(recs, "autoconfig." + DOMAIN)["value"] == HOST + "."
    assert one(recs, "autodiscover." + DOMAIN)["value"] == HOST + "."
    srv = {r["name"].split("." + DOMAIN)[0]: [] for r in recs
           if r["type"] == "SRV"}
    for r in recs:
        if r["type"] == "SRV":
            srv[r["name"][:-len(DOMAIN) - 1]].append(r["value"])
    assert srv == {
        "_submissions._tcp": ["0 1 %d %s." % (p["subs"], HOST)],
        "_submission._tcp": ["0 1 %d %s." % (p["sub"], HOST),
                             "10 1 %d %s." % (p["sub2"], HOST)],
        "_imaps._tcp": ["0 1 %d %s." % (p["imaps"], HOST)],
        "_imap._tcp": ["0 0 0 ."],
        "_pop3s._tcp": ["0 0 0 ."],
        "_pop3._tcp": ["0 1 %d %s." % (p["pop3"], HOST)],
    }
    assert all("dns" not in r for r in recs)
    # The text form is zone-file lines.
    r = ferry(conf, "domain", "records", DOMAIN)
    assert r.returncode == 0, r.stderr
    assert "%s. IN MX 10 %s.\n" % (DOMAIN, HOST) in r.stdout
    assert '_dmarc.%s. IN TXT ( "v=DMARC1;' % DOMAIN in r.stdout


def test_everything_published_matches(conf, fakedns):  # noqa: F811
    publish_all(fakedns, records(conf, check=False))
    recs = records(conf)
    assert [(r["name"], r["dns"]) for r in recs if r["dns"] != "match"] == []
    assert one(recs, DOMAIN, "MX")["published"] == ["10 %s." % HOST]
    assert one(recs, "autoconfig." + DOMAIN)["published"] == [HOST_ADDR]
    # The check asked the configured resolver for every kind.
    for name, rtype in ((DOMAIN, "MX"), (DOMAIN, "TXT"),
                        ("_imaps._tcp." + DOMAIN, "SRV"),
                        ("autoconfig." + DOMAIN, "A")):
        assert fakedns.asked(name, rtype) >= 1, (name, rtype)
    r = ferry(conf, "domain", "records", DOMAIN, "--check")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count(";   dns: match\n") == len(recs)


def test_other_records_differ(conf, fakedns, tmp_path):  # noqa: F811
    want = records(conf, check=False)
    fakedns.add(HOST, "A", HOST_ADDR)
    fakedns.add(DOMAIN, "MX", "10 mx.elsewhere.test")
    fakedns.add(DOMAIN, "TXT", "v=spf1 ip4:198.51.100.1 -all")
    fakedns.add(DOMAIN, "TXT", "google-site-verification=x")
    _, other_key = rsa_key_pair(tmp_path, bits=1024)
    fakedns.add("s1._domainkey." + DOMAIN, "TXT", other_key)
    # Two DMARC records are an error for receivers, each valid or not.
    fakedns.add("_dmarc." + DOMAIN, "TXT", "v=DMARC1; p=reject")
    fakedns.add("_dmarc." + DOMAIN, "TXT", "v=DMARC1; p=none")
    fakedns.add("autoconfig." + DOMAIN, "A", "198.51.100.7")
    fakedns.add("autodiscover." + DOMAIN, "CNAME", "www.elsewhere.test")
    fakedns.add("www.elsewhere.test", "A", "198.51.100.8")
    for r in want:
        if r["type"] == "SRV":
            prio, weight, port, target = r["value"].split()
            # Right target, wrong port; and a service offered where we
            # say it is not.
            fakedns.add(r["name"], "SRV", "%s %s %d %s" % (
                prio, weight, int(port) + 1 if port != "0" else 993,
                HOST if target == "." else target))
    recs = records(conf)
    assert [(r["name"], r["type"]) for r in recs if r["dns"] != "differs"] \
        == []
    assert one(recs, DOMAIN, "MX")["published"] == ["10 mx.elsewhere.test."]
    assert one(recs, DOMAIN, "TXT")["published"] == [
        "v=spf1 ip4:198.51.100.1 -all"]
    assert one(recs, "s1._domainkey." + DOMAIN)["published"] == [other_key]
    assert sorted(one(recs, "_dmarc." + DOMAIN)["published"]) == [
        "v=DMARC1; p=none", "v=DMARC1; p=reject"]
    assert one(recs, "autodiscover." + DOMAIN)["published"] == [
        "198.51.100.8"]


def test_spf_naming_the_host_matches(conf, fakedns):  # noqa: F811
    fakedns.add(DOMAIN, "TXT", "v=spf1 a:%s include:other.test ~all" % HOST)
    assert one(records(conf), DOMAIN, "TXT")["dns"] == "match"


def test_nothing_published_is_missing(conf, fakedns):  # noqa: F811
    # The domain exists (a TXT that is no SPF record) but holds no MX.
    fakedns.add(DOMAIN, "TXT", "hello")
    recs = records(conf)
    assert {r["dns"] for r in recs} == {"missing"}
    assert all(r["published"] == [] for r in recs)


def test_servfail_and_timeout_are_lookup_failures(conf, fakedns):  # noqa: F811
    want = records(conf, check=False)
    publish_all(fakedns, want)
    fakedns.servfail(DOMAIN)
    fakedns.timeout("_dmarc." + DOMAIN)
    fakedns.servfail(HOST)
    recs = records(conf)
    states = {(r["name"], r["type"]): r["dns"] for r in recs}
    assert states[(DOMAIN, "MX")] == "failed"
    assert states[(DOMAIN, "TXT")] == "failed"
    assert states[("_dmarc." + DOMAIN, "TXT")] == "failed"
    # autoconfig is compared with the hostname's addresses, which failed.
    assert states[("autoconfig." + DOMAIN, "CNAME")] == "failed"
    assert HOST in one(recs, "autoconfig." + DOMAIN)["why"]
    assert all(r["why"] for r in recs if r["dns"] == "failed")
    assert states[("s1._domainkey." + DOMAIN, "TXT")] == "match"
    assert states[("_imaps._tcp." + DOMAIN, "SRV")] == "match"
    r = ferry(conf, "domain", "records", DOMAIN, "--check")
    assert r.returncode == 0, r.stderr
    assert ";   dns: failed (" in r.stdout


def test_domain_without_dkim_key(conf):
    r = ferry(conf, "domain", "add", "plain.test")
    assert r.returncode == 0, r.stderr
    r = ferry(conf, "domain", "records", "plain.test")
    assert r.returncode == 0, r.stderr
    assert "; no DKIM key yet: `ferry dkim keygen plain.test`" in r.stdout
    recs = json.loads(ferry(conf, "domain", "records", "plain.test",
                            "--json").stdout)
    assert not [x for x in recs if "_domainkey" in x["name"]]
    assert "no DKIM key" not in ferry(conf, "domain", "records",
                                      DOMAIN).stdout


def test_bad_arguments(conf):
    r = ferry(conf, "domain", "records", "nope.test")
    assert r.returncode == 1
    assert "nope.test: no such domain" in r.stderr
    r = ferry(conf, "domain", "records")
    assert r.returncode == 2 and "usage:" in r.stderr
    r = ferry(conf, "domain", "records", DOMAIN, "extra")
    assert r.returncode == 2
    r = ferry(conf, "domain", "records", "bad domain!")
    assert r.returncode == 1
