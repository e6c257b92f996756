"""`ferry check dns` and `ferry check mx`, black-box, against FakeDNS.

Each test writes a minimal configuration whose dns_resolvers (and maybe
dns_fallback_resolvers) point at fake servers on loopback, runs the CLI
and reads its output.  Names live under .test, .example, .invalid and
127.in-addr.arpa on purpose: libunbound would answer those itself unless
Ferry makes them transparent.
"""

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from fakedns import FakeDNS, fakedns, fakedns_fallback  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
FERRY_BIN = os.environ.get("FERRY_BIN", str(ROOT / "build" / "ferry"))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_conf(tmp_path, primary, fallback=None, **extra):
    lines = {
        "hostname": "mx.self.test",
        "state_dir": str(tmp_path / "state"),
        "smtp_listen": "127.0.0.1:%d" % _free_port(),
        "dns_resolvers": primary.address if primary else "",
        "log_level": "warn",
    }
    if fallback is not None:
        lines["dns_fallback_resolvers"] = fallback.address
    lines.update(extra)
    path = tmp_path / "ferry.conf"
    path.write_text("".join("%s = %s\n" % kv for kv in lines.items()))
    return path


def check(conf, *args, timeout=60):
    return subprocess.run([FERRY_BIN, "-c", str(conf), "check", *args],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def conf(tmp_path, fakedns):
    return write_conf(tmp_path, fakedns)


# ------------------------------------------------------------ check dns

def test_a_and_aaaa(conf, fakedns):
    fakedns.add("mx.example.test", "A", "127.0.0.2")
    fakedns.add("mx.example.test", "A", "127.0.0.3")
    fakedns.add("mx.example.test", "AAAA", "2001:db8::25")
    r = check(conf, "dns", "mx.example.test")
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.splitlines()) == [
        "mx.example.test A 127.0.0.2", "mx.example.test A 127.0.0.3"]
    r = check(conf, "dns", "mx.example.test", "AAAA")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "mx.example.test AAAA 2001:db8::25"
    assert fakedns.asked("mx.example.test", "AAAA") >= 1


def test_json_answer(conf, fakedns):
    fakedns.add("host.example", "A", "192.0.2.9")
    r = check(conf, "dns", "host.example", "A", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["name"] == "host.example"
    assert doc["type"] == "A"
    assert doc["status"] == "ok"
    assert doc["fallback"] is False
    assert doc["records"] == ["192.0.2.9"]


def test_mx_records(conf, fakedns):
    fakedns.add("example.test", "MX", "20 mx2.example.test")
    fakedns.add("example.test", "MX", "10 mx1.example.test")
    r = check(conf, "dns", "example.test", "MX", "--json")
    assert r.returncode == 0, r.stderr
    recs = json.loads(r.stdout)["records"]
    assert sorted((x["pref"], x["host"]) for x in recs) == [
        (10, "mx1.example.test"), (20, "mx2.example.test")]


def test_txt_joined_and_escaped(conf, fakedns):
    long = "v=spf1 " + "ip4:192.0.2.1 " * 30 + "-all"
    fakedns.add("example.test", "TXT", long)            # > 255: split
    fakedns.add("two.example.test", "TXT", ["abc", "def"])
    fakedns.add("odd.example.test", "TXT", [b'q"\x01\xff'])
    r = check(conf, "dns", "example.test", "TXT", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["records"] == [long]
    r = check(conf, "dns", "two.example.test", "TXT")
    assert r.stdout.strip() == 'two.example.test TXT "abcdef"'
    r = check(conf, "dns", "odd.example.test", "TXT")
    assert r.stdout.strip() == 'odd.example.test TXT "q\\"\\x01\\xff"'


def test_large_answer_over_tcp(conf, fakedns):
    big = "k=" + "x" * 3000
    fakedns.add("big.example.test", "TXT", big)
    r = check(conf, "dns", "big.example.test", "TXT", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["records"] == [big]
    assert ("big.example.test", "TXT", "tcp") in fakedns.queries


def test_ptr_from_ip(conf, fakedns):
    fakedns.add("2.0.0.127.in-addr.arpa", "PTR", "mx.example.test")
    fakedns.add("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0."
                "1.0.0.2.ip6.arpa", "PTR", "v6.example.test")
    r = check(conf, "dns", "127.0.0.2")             # an IP: PTR by default
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "2.0.0.127.in-addr.arpa PTR mx.example.test"
    r = check(conf, "dns", "2001:db8::1", "PTR")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[-1] == "v6.example.test"


def test_special_use_zones_reach_the_resolver(conf, fakedns):
    for name in ("a.test", "b.invalid", "c.example", "d.home.arpa",
                 "e.localhost"):
        fakedns.add(name, "A", "127.0.0.7")
        r = check(conf, "dns", name)
        assert r.returncode == 0, (name, r.stderr)
        assert r.stdout.strip() == "%s A 127.0.0.7" % name
        assert fakedns.asked(name, "A") >= 1


def test_cname_followed(conf, fakedns):
    fakedns.add("www.example.test", "CNAME", "web.example.test")
    fakedns.add("web.example.test", "A", "127.0.0.8")
    r = check(conf, "dns", "www.example.test")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "www.example.test A 127.0.0.8"


def test_nxdomain(conf, fakedns):
    fakedns.add("other.example.test", "A", "127.0.0.2")
    r = check(conf, "dns", "nope.example.test")
    assert r.returncode == 1
    assert "does not exist" in r.stderr and "NXDOMAIN" in r.stderr
    fakedns.nxdomain("gone.example.test")
    r = check(conf, "dns", "gone.example.test", "MX", "--json")
    assert r.returncode == 1
    assert json.loads(r.stdout)["status"] == "nxdomain"


def test_nodata(conf, fakedns):
    fakedns.add("v4only.example.test", "A", "127.0.0.2")
    r = check(conf, "dns", "v4only.example.test", "AAAA")
    assert r.returncode == 1
    assert "no AAAA records" in r.stderr
    assert "exists" in r.stderr


def test_servfail_is_temporary(conf, fakedns):
    fakedns.servfail("broken.example.test")
    r = check(conf, "dns", "broken.example.test")
    assert r.returncode == 1
    assert "temporary" in r.stderr and "SERVFAIL" in r.stderr
    assert "does not exist" not in r.stderr


def test_timeout_is_temporary_and_bounded(conf, fakedns):
    fakedns.timeout("slow.example.test")
    start = time.monotonic()
    r = check(conf, "dns", "slow.example.test", "--json")
    took = time.monotonic() - start
    assert r.returncode == 1
    assert "temporary" in r.stderr and "timed out" in r.stderr
    assert json.loads(r.stdout)["status"] == "tempfail"
    assert took < 20, took
    assert fakedns.asked("slow.example.test") >= 1


def test_invalid_name_and_usage(conf):
    r = check(conf, "dns", "a..b.example")
    assert r.returncode == 1
    assert "not a valid" in r.stderr
    # `check dns` alone asks every resolver (test_check_dns_resolvers.py).
    assert check(conf, "dns", "a.example", "b.example",
                 "--resolvers").returncode == 2
    assert check(conf, "dns", "a.example", "A", "x").returncode == 2
    assert check(conf, "dns", "x.example", "SOA").returncode == 2
    assert check(conf, "bogus").returncode == 2


def test_resolver_must_be_an_address(tmp_path, fakedns):
    conf = write_conf(tmp_path, fakedns, dns_resolvers="dns.example.net")
    r = check(conf, "dns", "example.test")
    assert r.returncode == 1
    assert "IP address" in r.stderr


@pytest.mark.skipif(os.path.exists("/usr/share/dns/root.key") or
                    os.path.exists("/var/lib/unbound/root.key"),
                    reason="a root trust anchor is installed")
def test_dnssec_needs_trust_anchor(tmp_path, fakedns):
    conf = write_conf(tmp_path, fakedns, dnssec="yes")
    r = check(conf, "dns", "example.test")
    assert r.returncode == 1
    assert "root.key" in r.stderr


# ------------------------------------------------------------ fallback

def test_fallback_after_servfail(tmp_path, fakedns, fakedns_fallback):
    conf = write_conf(tmp_path, fakedns, fakedns_fallback)
    fakedns.servfail("far.example.test")
    fakedns_fallback.add("far.example.test", "A", "127.0.0.9")
    r = check(conf, "dns", "far.example.test")
    assert r.returncode == 0, r.stderr
    assert "far.example.test A 127.0.0.9" in r.stdout
    assert "dns_fallback_resolvers" in r.stdout
    assert "SERVFAIL" in r.stdout
    r = check(conf, "dns", "far.example.test", "--json")
    doc = json.loads(r.stdout)
    assert doc["fallback"] is True and doc["records"] == ["127.0.0.9"]
    assert fakedns.asked("far.example.test") >= 1
    assert fakedns_fallback.asked("far.example.test") >= 1


def test_fallback_after_timeout(tmp_path, fakedns, fakedns_fallback):
    conf = write_conf(tmp_path, fakedns, fakedns_fallback)
    fakedns.timeout("far.example.test")
    fakedns_fallback.add("far.example.test", "MX", "10 mx.far.example.test")
    fakedns_fallback.add("mx.far.example.test", "A", "127.0.0.10")
    fakedns.add("mx.far.example.test", "A", "127.0.0.10")
    start = time.monotonic()
    r = check(conf, "mx", "far.example.test", "--no-connect")
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - start < 30
    assert "mx.far.example.test" in r.stdout and "127.0.0.10" in r.stdout
    assert "dns_fallback_resolvers" in r.stdout
    assert "timed out" in r.stdout


def test_no_fallback_for_nxdomain(tmp_path, fakedns, fakedns_fallback):
    conf = write_conf(tmp_path, fakedns, fakedns_fallback)
    fakedns_fallback.add("nope.example.test", "A", "127.0.0.9")
    r = check(conf, "dns", "nope.example.test")
    assert r.returncode == 1
    assert "does not exist" in r.stderr
    assert fakedns_fallback.asked("nope.example.test") == 0


def test_fallback_fails_too(tmp_path, fakedns, fakedns_fallback):
    conf = write_conf(tmp_path, fakedns, fakedns_fallback)
    fakedns.servfail("dead.example.test")
    fakedns_fallback.servfail("dead.example.test")
    r = check(conf, "dns", "dead.example.test")
    assert r.returncode == 1
    assert "temporary" in r.stderr
    assert "fallback resolvers: SERVFAIL" in r.stderr


# ------------------------------------------------------------ check mx

def test_mx_preference_order(tmp_path, fakedns):
    conf = write_conf(tmp_path, fakedns)
    fakedns.add("example.test", "MX", "30 c.example.test")
    fakedns.add("example.test", "MX", "10 a.example.test")
    fakedns.add("example.test", "MX", "20 b.example.test")
    fakedns.add("a.example.test", "A", "127.0.0.2")
    fakedns.add("a.example.test", "AAAA", "::1")
    fakedns.add("b.example.test", "A", "127.0.0.3")
    fakedns.add("c.example.test", "A", "127.0.0.4")
    r = check(conf, "mx", "example.test", "--json", "--no-connect")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["kind"] == "mx" and doc["status"] == "ok"
    assert [(h["pref"], h["host"]) for h in doc["hosts"]] == [
        (10, "a.example.test"), (20, "b.example.test"),
        (30, "c.example.test")]
    assert [a["address"] for a in doc["hosts"][0]["addresses"]] == [
        "127.0.0.2", "::1"]
    r = check(conf, "mx", "example.test", "--no-connect")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "preference order" in lines[0]
    hosts = [ln.split()[1] for ln in lines[2:]
             if not ln.startswith("path now:")]
    assert hosts == ["a.example.test", "a.example.test", "b.example.test",
                     "c.example.test"]
    assert lines[-1] == "path now: direct, lower preference first"


def test_mx_host_without_address(tmp_path, fakedns):
    conf = write_conf(tmp_path, fakedns)
    fakedns.add("example.test", "MX", "10 ghost.example.test")
    fakedns.add("example.test", "MX", "20 b.example.test")
    fakedns.add("b.example.test", "A", "127.0.0.3")
    r = check(conf, "mx", "example.test", "--no-connect")
    assert r.returncode == 0, r.stderr
    assert "ghost.example.test" in r.stdout
    assert "does not exist" in r.stdout


def test_mx_no_host_has_an_address(tmp_path, fakedns):
    conf = write_conf(tmp_path, fakedns)
    fakedns.add("example.test", "MX", "10 ghost.example.test")
    r = check(conf, "mx", "example.test", "--no-connect")
    assert r.returncode == 1
    assert "no MX host has an address" in r.stderr


def test_implicit_mx(tmp_path, fakedns):
    conf = write_conf(tmp_path, fakedns)
    fakedns.add("plain.example", "A", "127.0.0.5")
    r = check(conf, "mx", "plain.example", "--no-connect")
    assert r.returncode == 0, r.stderr
    assert "no MX: implicit MX plain.example" in r.stdout
    assert "127.0.0.5" in r.stdout
    r = check(conf, "mx", "plain.example", "--json", "--no-connect")
    doc = json.loads(r.stdout)
    assert doc["kind"] == "implicit"
    assert doc["hosts"][0]["host"] == "plain.example"


def test_implicit_mx_without_address(tmp_path, fakedns):
    conf = write_conf(tmp_path, fakedns)
    fakedns.add("bare.example", "TXT", "hello")
    r = check(conf, "mx", "bare.example", "--no-connect")
    assert r.returncode == 1
    assert "no MX and no address" in r.stderr


def test_null_mx(tmp_path, fakedns):
    conf = write_conf(tmp_path, fakedns)
    fakedns.add("nomail.example.test", "MX", "0 .")
    fakedns.add("nomail.example.test", "A", "127.0.0.6")
    r = check(conf, "mx", "nomail.example.test")
    assert r.returncode == 0, r.stderr
    assert "null MX (RFC 7505)" in r.stdout
    r = check(conf, "mx", "nomail.example.test", "--json")
    doc = json.loads(r.stdout)
    assert doc["kind"] == "null" and doc["hosts"] == []


def test_mx_nxdomain_and_tempfail(tmp_path, fakedns):
    conf = write_conf(tmp_path, fakedns)
    fakedns.add("other.example.test", "A", "127.0.0.2")
    r = check(conf, "mx", "missing.example.test")
    assert r.returncode == 1
    assert "does not exist" in r.stderr
    assert r.stdout == ""
    fakedns.servfail("broken.example.test")
    r = check(conf, "mx", "broken.example.test", "--json")
    assert r.returncode == 1
    assert "temporary" in r.stderr
    doc = json.loads(r.stdout)
    assert doc["kind"] == "none" and doc["status"] == "tempfail"


def test_mx_reachability(tmp_path, fakedns):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]
    try:
        conf = write_conf(tmp_path, fakedns, remote_smtp_port=str(port),
                          hostname="up.example.test")
        fakedns.add("example.test", "MX", "10 up.example.test")
        fakedns.add("example.test", "MX", "20 down.example.test")
        fakedns.add("up.example.test", "A", "127.0.0.1")
        fakedns.add("down.example.test", "A", "127.0.0.2")
        r = check(conf, "mx", "example.test", "--json")
        assert r.returncode == 0, r.stderr
        hosts = json.loads(r.stdout)["hosts"]
        up, down = hosts[0]["addresses"][0], hosts[1]["addresses"][0]
        assert hosts[0]["self"] is True
        assert up["port"] == port and up["reachable"] is True
        assert up["connect"] == "open"
        assert down["reachable"] is False and down["connect"] == "refused"
        r = check(conf, "mx", "example.test")
        assert "port %d" % port in r.stdout
        assert "open (this host)" in r.stdout and "refused" in r.stdout
    finally:
        listener.close()
