"""`ferry check dns [NAME] --resolvers` and `ferry check dns` alone:
every resolver of dns_resolvers and dns_fallback_resolvers asked the
same questions on its own.  Fakes on loopback: resolvers that answer, a
resolver that never answers (a UDP socket nobody reads), one that
answers wrongly, one that answers SERVFAIL.  Verdict words only.
"""

import json
import socket

import pytest

from conftest import FERRY_BIN  # noqa: F401
from fakedns import FakeDNS
from test_dns import check


@pytest.fixture
def fleet():
    servers = [FakeDNS() for _ in range(3)]
    for s in servers:
        s.start()
    dead = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dead.bind(("127.0.0.1", 0))
    yield servers, "127.0.0.1:%d" % dead.getsockname()[1]
    dead.close()
    for s in servers:
        s.stop()


def write_conf(tmp_path, resolvers, fallback=(), **extra):
    lines = {
        "hostname": "mx.self.test",
        "state_dir": str(tmp_path / "state"),
        "dns_resolvers": ", ".join(resolvers),
        "log_level": "warn",
    }
    if fallback:
        lines["dns_fallback_resolvers"] = ", ".join(fallback)
    lines.update(extra)
    path = tmp_path / "ferry.conf"
    path.write_text("".join("%s = %s\n" % kv for kv in lines.items()))
    return path


def zone(dns, a):
    dns.add("site.test", "A", a)
    dns.add("site.test", "MX", "10 mx.site.test")


def test_blocked_and_lying_resolvers(tmp_path, fleet):
    (good, good2, liar), dead = fleet
    zone(good, "127.0.0.2")
    zone(good2, "127.0.0.2")
    zone(liar, "192.0.2.66")
    conf = write_conf(tmp_path, [good.address, dead],
                      [liar.address, good2.address])
    r = check(conf, "dns", "site.test", "--resolvers", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["majority"]["A"] == "127.0.0.2"
    assert doc["majority"]["MX"] == "10 mx.site.test"
    assert doc["majority"]["AAAA"] == "nodata"
    by = {x["address"]: x for x in doc["resolvers"]}
    assert by[good.address]["verdict"] == "answers"
    assert by[good.address]["role"] == "dns_resolvers"
    assert by[dead]["verdict"] == "times-out"
    assert by[dead]["answers"]["A"]["timed_out"] is True
    assert by[liar.address]["verdict"] == "disagrees"
    assert by[liar.address]["role"] == "dns_fallback_resolvers"
    assert by[liar.address]["answers"]["A"]["agrees"] is False
    assert by[liar.address]["answers"]["MX"]["agrees"] is True
    assert by[good2.address]["verdict"] == "answers"
    # Each was asked itself: the fallback resolvers too, not only after
    # a failure of the first ones.
    assert liar.asked("site.test", "A") >= 1
    assert good2.asked("site.test", "MX") >= 1
    r = check(conf, "dns", "site.test", "--resolvers")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "site.test A (most say: 127.0.0.2)" in out
    assert "192.0.2.66  DISAGREES" in out
    assert "resolver %s (dns_resolvers): times out" % dead in out
    assert "resolver %s (dns_fallback_resolvers): disagrees" % \
        liar.address in out
    assert "resolver %s (dns_resolvers): answers" % good.address in out


def test_servfail_and_none_answering(tmp_path, fleet):
    (good, broken, _), dead = fleet
    zone(good, "127.0.0.2")
    broken.servfail("site.test")
    conf = write_conf(tmp_path, [broken.address], [good.address])
    doc = json.loads(check(conf, "dns", "site.test", "--resolvers",
                           "--json").stdout)
    by = {x["address"]: x for x in doc["resolvers"]}
    assert by[broken.address]["verdict"] == "fails"
    assert by[broken.address]["answers"]["A"]["why"] == "SERVFAIL"
    assert by[good.address]["verdict"] == "answers"
    conf = write_conf(tmp_path, [dead, broken.address])
    r = check(conf, "dns", "site.test", "--resolvers")
    assert r.returncode == 1
    assert "no resolver answered" in r.stderr
    assert "timed out" in r.stdout and "SERVFAIL" in r.stdout


def test_default_name_is_the_first_hosted_domain(tmp_path, fleet):
    (good, _, _), _ = fleet
    zone(good, "127.0.0.2")
    good.add("mx.self.test", "A", "127.0.0.9")
    conf = write_conf(tmp_path, [good.address])
    doc = json.loads(check(conf, "dns", "--json").stdout)
    assert doc["name"] == "mx.self.test"          # no store: hostname
    assert doc["majority"]["A"] == "127.0.0.9"
    import subprocess
    r = subprocess.run([FERRY_BIN, "-c", str(conf), "domain", "add",
                        "site.test"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    doc = json.loads(check(conf, "dns", "--json").stdout)
    assert doc["name"] == "site.test"
    assert doc["resolvers"][0]["verdict"] == "answers"


def test_bad_input(tmp_path, fleet):
    (good, _, _), _ = fleet
    conf = write_conf(tmp_path, [good.address])
    for bad in ("a..b.test", "x" * 64 + ".test", ".".join(["abcdefghi"] * 30),
                "exa mple.test", "", "a\tb"):
        r = check(conf, "dns", bad, "--resolvers")
        assert r.returncode == 1, bad
        assert "not a valid DNS name" in r.stderr
    assert check(conf, "dns", "a.test", "A", "--resolvers").returncode == 2
    assert check(conf, "dns", "--resolvers", "--no-connect").returncode == 2
    conf = write_conf(tmp_path, ["dns.example.net"])
    r = check(conf, "dns", "--resolvers")
    assert r.returncode == 1 and "IP address" in r.stderr
