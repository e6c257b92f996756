"""`ferry check mx DOMAIN`, the deep probe, black-box: fake MX peers on
127.0.0.x (one that greets and offers STARTTLS with a self-signed
certificate made here, a tarpit that greets late, a blackhole that never
greets, one that hangs in the TLS handshake, a refused port, one that
speaks garbage) and FakeDNS for the records.  Asserts verdict words and
flags, never durations: the bounds come from the configuration's
timeouts (short here) and --tarpit.
"""

import json
import socket
import subprocess
import threading
import time

import pytest

from conftest import FERRY_BIN
from fakedns import fakedns  # noqa: F401
from fakemx import FakeMX, Tarpit, free_port_on, make_cert

HOSTS = ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5",
         "127.0.0.6", "127.0.0.7"]


class ScriptedPeer:
    """Greets after `delay` seconds with `greeting` (bytes, sent as is),
    answers EHLO with a short list, QUIT with 221; everything bounded."""

    def __init__(self, host, port, delay=0.0,
                 greeting=b"220 scripted.test ESMTP\r\n"):
        self.host, self.port = host, port
        self.delay, self.greeting = delay, greeting
        self._stop = threading.Event()
        self._sock = None

    def start(self):
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((self.host, self.port))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self):
        while not self._stop.is_set():
            try:
                c, _ = self._sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(c,),
                             daemon=True).start()

    def _serve(self, c):
        try:
            c.settimeout(30)
            if self._stop.wait(self.delay):
                return
            c.sendall(self.greeting)
            f = c.makefile("rb")
            for line in f:
                verb = line[:4].upper()
                if verb == b"EHLO":
                    c.sendall(b"250-scripted.test\r\n250 PIPELINING\r\n")
                elif verb == b"QUIT":
                    c.sendall(b"221 bye\r\n")
                    break
                else:
                    c.sendall(b"502 no\r\n")
        except OSError:
            pass
        finally:
            c.close()

    def stop(self):
        self._stop.set()
        if self._sock:
            self._sock.close()


@pytest.fixture
def port():
    return free_port_on(HOSTS)


@pytest.fixture
def started():
    peers = []
    yield peers
    for p in peers:
        p.stop()


def write_conf(tmp_path, dns, port, **extra):
    lines = {
        "hostname": "mx.self.test",
        "state_dir": str(tmp_path / "state"),
        "dns_resolvers": dns.address,
        "remote_smtp_port": str(port),
        "timeout_connect": "2s",
        "timeout_helo": "3s",
        "timeout_tls": "2s",
        "log_level": "warn",
    }
    lines.update(extra)
    path = tmp_path / "ferry.conf"
    path.write_text("".join("%s = %s\n" % kv for kv in lines.items()))
    return path


def check(conf, *args, timeout=90):
    return subprocess.run([FERRY_BIN, "-c", str(conf), "check", *args],
                          capture_output=True, text=True, timeout=timeout)


def zone(dns, domain, hosts):
    for pref, name, ip in hosts:
        dns.add(domain, "MX", "%d %s" % (pref, name))
        if ip:
            dns.add(name, "A", ip)


def by_host(doc):
    return {h["host"]: h for h in doc["hosts"]}


def test_each_kind_of_peer_gets_its_verdict(tmp_path, fakedns, port,
                                            started):
    cert, key = make_cert(tmp_path, cn="mx1.dest.test")
    started.append(FakeMX("127.0.0.2", port, tls=(cert, key)).start())
    started.append(FakeMX("127.0.0.3", port, broken_tls=True).start())
    started.append(Tarpit("127.0.0.4", port).start())       # blackhole
    # 127.0.0.5: nothing listens (refused)
    zone(fakedns, "dest.test", [(10, "mx1.dest.test", "127.0.0.2"),
                                (20, "mx2.dest.test", "127.0.0.3"),
                                (30, "mx3.dest.test", "127.0.0.4"),
                                (40, "mx4.dest.test", "127.0.0.5")])
    conf = write_conf(tmp_path, fakedns, port)
    r = check(conf, "mx", "dest.test", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    hosts = by_host(doc)
    assert [h["host"] for h in doc["hosts"]] == [
        "mx1.dest.test", "mx2.dest.test", "mx3.dest.test", "mx4.dest.test"]
    assert doc["rule"].startswith("lower preference is tried first")
    good = hosts["mx1.dest.test"]["addresses"][0]
    assert good["verdict"] == "answers" and good["connect"] == "open"
    assert good["probe"]["greeting"]["code"] == 220
    assert "STARTTLS" in good["probe"]["capabilities"]
    tls = good["probe"]["tls"]
    assert tls["ok"] is True and tls["version"].startswith("TLSv1.")
    assert tls["certificate"]["subject"] == "CN=mx1.dest.test"
    assert tls["certificate"]["name_match"] is True
    assert tls["certificate"]["chain_ok"] is False     # self-signed
    assert tls["certificate"]["not_after"] > 0
    assert hosts["mx2.dest.test"]["verdict"] == "tls-hangs"
    assert hosts["mx2.dest.test"]["addresses"][0]["probe"]["tls"]["ok"] \
        is False
    assert hosts["mx3.dest.test"]["verdict"] == "no-greeting"
    assert hosts["mx4.dest.test"]["verdict"] == "refused"
    assert hosts["mx4.dest.test"]["addresses"][0]["reachable"] is False
    assert doc["deliverable"] is True and doc["hosts_answering"] == 2
    assert doc["path"]["kind"] == "direct"
    assert doc["flags"] == []

    r = check(conf, "mx", "dest.test")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "lower preference is tried first" in out.splitlines()[0]
    assert "host mx1.dest.test: answers" in out
    assert "host mx2.dest.test: TLS hangs" in out
    assert "host mx3.dest.test: accepts, never greets" in out
    assert "host mx4.dest.test: refused" in out
    assert "name mx1.dest.test matches the certificate" in out
    assert "chain not trusted: self-signed certificate" in out
    assert "domain: deliverable from here (2 of 4 hosts answer)" in out
    assert out.splitlines()[-1] == "path now: direct, lower preference first"


def test_tarpit_is_told_apart_from_a_blackhole(tmp_path, fakedns, port,
                                               started):
    started.append(ScriptedPeer("127.0.0.2", port, delay=4).start())
    started.append(Tarpit("127.0.0.3", port).start())
    zone(fakedns, "slow.test", [(10, "mx1.slow.test", "127.0.0.2"),
                                (20, "mx2.slow.test", "127.0.0.3")])
    conf = write_conf(tmp_path, fakedns, port, timeout_helo="8s")
    r = check(conf, "mx", "slow.test", "--json", "--tarpit", "1")
    assert r.returncode == 0, r.stderr
    hosts = by_host(json.loads(r.stdout))
    slow = hosts["mx1.slow.test"]["addresses"][0]
    assert slow["verdict"] == "tarpits"
    assert slow["probe"]["greeting"]["code"] == 220
    assert slow["usable"] is True
    assert hosts["mx2.slow.test"]["verdict"] == "no-greeting"
    assert hosts["mx2.slow.test"]["addresses"][0]["usable"] is False
    # --timeout caps every phase below the configured timeouts: the slow
    # greeting is then never seen.
    r = check(conf, "mx", "slow.test", "--json", "--timeout", "1")
    hosts = by_host(json.loads(r.stdout))
    assert hosts["mx1.slow.test"]["verdict"] == "no-greeting"


def test_undeliverable_domain_and_the_path_now(tmp_path, fakedns, port,
                                               started):
    started.append(Tarpit("127.0.0.2", port).start())
    zone(fakedns, "dead.test", [(10, "mx1.dead.test", "127.0.0.2"),
                                (20, "mx2.dead.test", "127.0.0.3")])
    conf = write_conf(tmp_path, fakedns, port,
                      fallback_relay="[127.0.0.6]:%d" % port,
                      host_down_memory="1h")
    r = check(conf, "mx", "dead.test")
    assert r.returncode == 0, r.stderr         # an answer, not a failure
    assert "domain: NOT deliverable from here (no host answers)" in r.stdout
    assert "path now: direct, lower preference first" in r.stdout
    # What the queue remembers decides the path (the file it writes).
    now = int(time.time())
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    (state / "reachability").write_text(
        "ferry-reachability 1\n" + "".join(
            "127.0.0.%d:%d down=%s since=%d last_fail=%d last_ok=0 tls=ok "
            "tls_since=0 probes=1 next_probe=0\n" % (i, port, why, now, now)
            for i, why in ((2, "greeting-timeout"), (3, "refused"))))
    doc = json.loads(check(conf, "mx", "dead.test", "--json").stdout)
    assert doc["deliverable"] is False and doc["hosts_answering"] == 0
    assert doc["path"]["kind"] == "fallback"
    assert "127.0.0.6" in doc["path"]["text"]
    mem = doc["hosts"][0]["addresses"][0]["memory"]
    assert mem["down"] is True and mem["reason"] == "greeting-timeout"
    # A route wins over MX hosts and memory.
    conf = write_conf(tmp_path, fakedns, port,
                      route="dead.test relay.example.net:587")
    doc = json.loads(check(conf, "mx", "dead.test", "--json",
                           "--no-connect").stdout)
    assert doc["path"]["kind"] == "route"
    assert doc["deliverable"] is None
    assert doc["hosts"][0]["addresses"][0]["verdict"] is None


def test_path_follows_route_mx_and_route_precedence(tmp_path, fakedns,
                                                   port):
    zone(fakedns, "cust.test", [(10, "mx1.cust.test", "127.0.0.2"),
                                (20, "alt.provider.test", "127.0.0.3")])
    # The best-preference host a route_mx rule matches decides, even a
    # backup host (as the relay decides, relay_mx.c).
    conf = write_conf(tmp_path, fakedns, port, route_mx="*.provider.test "
                      "relay.provider-route.test:587")
    doc = json.loads(check(conf, "mx", "cust.test", "--json",
                           "--no-connect").stdout)
    assert doc["path"]["kind"] == "route"
    assert "route_mx *.provider.test" in doc["path"]["text"]
    assert "relay.provider-route.test" in doc["path"]["text"]
    assert "alt.provider.test" in doc["path"]["text"]
    r = check(conf, "mx", "cust.test", "--no-connect")
    assert "path now: route_mx *.provider.test: relay " \
        "relay.provider-route.test" in r.stdout
    # route_mx beats the "*" route ...
    conf.write_text(conf.read_text() + "route = * smart.example.net\n")
    doc = json.loads(check(conf, "mx", "cust.test", "--json",
                           "--no-connect").stdout)
    assert "route_mx" in doc["path"]["text"]
    # ... which takes a domain no rule matches.
    zone(fakedns, "plain.test", [(10, "mx1.plain.test", "127.0.0.2")])
    doc = json.loads(check(conf, "mx", "plain.test", "--json",
                           "--no-connect").stdout)
    assert doc["path"]["kind"] == "route"
    assert "smart.example.net" in doc["path"]["text"]
    assert "route_mx" not in doc["path"]["text"]
    # A route for the domain itself beats route_mx.
    conf.write_text(conf.read_text() + "route = cust.test own.example.net\n")
    doc = json.loads(check(conf, "mx", "cust.test", "--json",
                           "--no-connect").stdout)
    assert doc["path"]["kind"] == "route"
    assert "own.example.net" in doc["path"]["text"]
    # Without any rule matching and no routes: direct.
    conf = write_conf(tmp_path, fakedns, port,
                      route_mx="*.other-provider.test relay.x.test")
    doc = json.loads(check(conf, "mx", "cust.test", "--json",
                           "--no-connect").stdout)
    assert doc["path"]["kind"] == "direct"


def test_tls_policy_decides_what_deliverable_means(tmp_path, fakedns, port,
                                                   started):
    started.append(ScriptedPeer("127.0.0.2", port).start())   # no STARTTLS
    zone(fakedns, "plain.test", [(10, "mx1.plain.test", "127.0.0.2")])
    conf = write_conf(tmp_path, fakedns, port)
    doc = json.loads(check(conf, "mx", "plain.test", "--json").stdout)
    addr = doc["hosts"][0]["addresses"][0]
    assert addr["verdict"] == "answers" and addr["probe"]["tls"] is None
    assert addr["probe"]["starttls"] is False
    assert doc["deliverable"] is True
    conf = write_conf(tmp_path, fakedns, port,
                      tls_policy="plain.test encrypt")
    r = check(conf, "mx", "plain.test")
    assert "STARTTLS not offered" in r.stdout
    assert "NOT deliverable from here" in r.stdout
    assert "tls_policy demands" in r.stdout


def test_flags(tmp_path, fakedns, port, started):
    started.append(ScriptedPeer("127.0.0.2", port).start())
    fakedns.add("odd.test", "MX", "10 mx1.odd.test")
    fakedns.add("odd.test", "MX", "10 mx1.odd.test")
    fakedns.add("odd.test", "MX", "20 alias.odd.test")
    fakedns.add("odd.test", "MX", "30 127.0.0.2")
    fakedns.add("odd.test", "MX", "40 ghost.odd.test")
    fakedns.add("mx1.odd.test", "A", "127.0.0.2")
    fakedns.add("alias.odd.test", "CNAME", "mx1.odd.test")
    conf = write_conf(tmp_path, fakedns, port)
    r = check(conf, "mx", "odd.test", "--json", "--no-connect")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    flags = {(f["flag"], f["host"]) for f in doc["flags"]}
    assert ("duplicate-host", "mx1.odd.test") in flags
    assert ("cname", "alias.odd.test") in flags
    assert ("duplicate-address", "alias.odd.test") in flags
    assert ("ip-literal", "127.0.0.2") in flags
    assert ("no-address", "ghost.odd.test") in flags
    assert by_host(doc)["alias.odd.test"]["cname"] == "mx1.odd.test"
    assert by_host(doc)["127.0.0.2"]["ip_literal"] is True
    r = check(conf, "mx", "odd.test", "--no-connect")
    assert "flag cname: alias.odd.test is an alias (CNAME) of " \
        "mx1.odd.test" in r.stdout
    # No MX at all, and the null MX, are flags too.
    fakedns.add("bare.test", "A", "127.0.0.2")
    doc = json.loads(check(conf, "mx", "bare.test", "--json").stdout)
    assert [f["flag"] for f in doc["flags"]] == ["no-mx"]
    assert doc["hosts"][0]["verdict"] == "answers"
    assert doc["deliverable"] is True
    fakedns.add("none.test", "MX", "0 .")
    doc = json.loads(check(conf, "mx", "none.test", "--json").stdout)
    assert [f["flag"] for f in doc["flags"]] == ["null-mx"]
    assert doc["deliverable"] is False


def test_hostile_peers(tmp_path, fakedns, port, started):
    """Garbage, control bytes and an endless line end the probe cleanly."""
    started.append(ScriptedPeer("127.0.0.2", port,
                                greeting=b"HELLO THERE\r\n").start())
    started.append(ScriptedPeer(
        "127.0.0.3", port,
        greeting=b"220 evil\x00\x1b[31m\xff.test ESMTP\r\n").start())
    started.append(ScriptedPeer("127.0.0.4", port,
                                greeting=b"220-" + b"x" * 70000).start())
    zone(fakedns, "bad.test", [(10, "mx1.bad.test", "127.0.0.2"),
                               (20, "mx2.bad.test", "127.0.0.3"),
                               (30, "mx3.bad.test", "127.0.0.4")])
    conf = write_conf(tmp_path, fakedns, port)
    r = check(conf, "mx", "bad.test", "--json")
    assert r.returncode == 0, r.stderr
    hosts = by_host(json.loads(r.stdout))
    garbage = hosts["mx1.bad.test"]["addresses"][0]
    assert garbage["verdict"] == "closed"
    assert garbage["probe"]["error"] == "malformed reply"
    ctl = hosts["mx2.bad.test"]["addresses"][0]["probe"]["greeting"]
    assert ctl["text"] == "evil??[31m?.test ESMTP"
    assert hosts["mx3.bad.test"]["verdict"] == "closed"
    assert "\x1b" not in check(conf, "mx", "bad.test").stdout


def test_bad_input(tmp_path, fakedns, port):
    conf = write_conf(tmp_path, fakedns, port)
    for bad in ("a..b.test", "", "x" * 64 + ".test",
                ".".join(["abcdefghij"] * 26), "exa mple.test", "a/b"):
        r = check(conf, "mx", bad)
        assert r.returncode == 1, bad
        assert "not a valid domain name" in r.stderr
    for args in (["--timeout"], ["--timeout", "0"], ["--timeout", "x"],
                 ["--tarpit", "-1"], ["--timeout", "301"]):
        r = check(conf, "mx", "dest.test", *args)
        assert r.returncode == 2, args
        assert r.stderr.startswith("usage:")
    assert check(conf, "mx").returncode == 2
    assert check(conf, "mx", "a.test", "b.test").returncode == 2
