"""`ferry check mx DOMAIN` when the MX lookup itself fails (issue 12):
it still says which path Ferry would take now and the verdict.  With
answers the running queue holds for serve-stale (asked over its control
socket, verb "stale"), the check goes on with those, probes included;
without, it names the route, or says the mail waits for DNS (the
fallback relay takes mail whose hosts do not answer, not mail whose DNS
fails), and why nothing stale is known.  The fake DNS server answers
first, then SERVFAILs; records carry TTL 0.  Nothing is timed."""

import json
import os
import socket

from conftest import wait_until
from fakedns import fakedns  # noqa: F401 (fixture)
from fakemx import peers, port, relay_conf, send  # noqa: F401


def zone(dns):
    dns.add("dest.test", "MX", "10 mx1.dest.test", ttl=0)
    dns.add("mx1.dest.test", "A", "127.0.0.2", ttl=0)


def break_dns(dns, *names):
    for name in names:
        dns.servfail(name)


def ctl_ask(srv, line):
    """One raw request on queue.ctl; (status word, body)."""
    path = os.path.join(srv.state_dir, "queue.ctl")
    wait_until(lambda: os.path.exists(path), 10, what="queue.ctl")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(path)
        s.sendall(line.encode() + b"\n")
        buf = b""
        while b"\n" not in buf or len(buf.split(b"\n", 1)[1]) < int(
                buf.split(b"\n", 1)[0].split()[1]):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    head, body = buf.split(b"\n", 1)
    return head.split()[0].decode(), body.decode()


def test_failed_lookup_uses_the_queues_stale_answers(make_ferry, fakedns,
                                                     peers, port):
    mx = peers.mx("127.0.0.2", port)
    zone(fakedns)
    srv = make_ferry(relay_conf(port, fakedns))
    send(srv, "one@dest.test")
    mx.wait_messages(1)
    break_dns(fakedns, "dest.test", "mx1.dest.test")
    # The queue's answers, as the verb gives them.
    st, body = ctl_ask(srv, "stale name=dest.test type=MX")
    assert st == "ok", body
    assert body.startswith("age ") and "mx 10 mx1.dest.test\n" in body
    st, body = ctl_ask(srv, "stale name=mx1.dest.test type=A")
    assert st == "ok" and "addr 127.0.0.2\n" in body, body
    r = srv.cli("check", "mx", "dest.test")
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "dest.test: the MX lookup failed:" in out, out
    assert "serve-stale: delivery uses the queue's last good answers" in out
    assert "mx1.dest.test" in out and "127.0.0.2" in out, out
    assert "host mx1.dest.test: answers" in out, out
    assert "domain: deliverable from here" in out, out
    assert "path now: direct" in out, out
    doc = json.loads(srv.cli("check", "mx", "dest.test", "--json").stdout)
    assert isinstance(doc["stale"]["age"], int)
    assert doc["hosts"][0]["host"] == "mx1.dest.test"
    assert doc["hosts"][0]["addresses"][0]["address"] == "127.0.0.2"
    assert doc["deliverable"] is True and doc["path"]["kind"] == "direct"


def test_failed_lookup_without_stale_answers(make_ferry, fakedns, port):
    fakedns.servfail("never.test")
    srv = make_ferry(relay_conf(port, fakedns,
                                fallback_relay=f"[127.0.0.4]:{port}"))
    r = srv.cli("check", "mx", "never.test")
    assert r.returncode == 1
    out = r.stdout
    assert "never.test: the MX lookup failed:" in out, out
    assert "serve-stale: none: the queue holds no answer" in out, out
    assert "path now: none: the mail waits (deferred with 4.4.3" in out, out
    assert "fallback_relay takes mail whose hosts do not answer" in out, out
    assert "domain: NOT deliverable from here now" in out, out
    assert "temporary DNS failure" in r.stderr
    doc = json.loads(srv.cli("check", "mx", "never.test", "--json").stdout)
    assert doc["stale"] is None and doc["deliverable"] is False
    assert doc["path"]["kind"] == "wait"
    assert "no answer" in doc["stale_none"]
    # Nothing stale when no queue runs, and it says why.
    srv.stop()
    r = srv.cli("check", "mx", "never.test", "--no-connect")
    assert r.returncode == 1
    assert "the queue is not running" in r.stdout, r.stdout


def test_failed_lookup_with_a_route(make_ferry, fakedns, port):
    fakedns.servfail("routed.test")
    srv = make_ferry(relay_conf(port, fakedns,
                                route="routed.test relay.example.net:587"))
    r = srv.cli("check", "mx", "routed.test")
    assert r.returncode == 1
    assert ("path now: route relay.example.net (a route needs no MX "
            "records of the domain)") in r.stdout, r.stdout
    assert "domain: goes through the route" in r.stdout
    doc = json.loads(srv.cli("check", "mx", "routed.test", "--json").stdout)
    assert doc["path"]["kind"] == "route" and doc["deliverable"] is None


def test_stale_verb_refuses_bad_requests(make_ferry, fakedns, port):
    srv = make_ferry(relay_conf(port, fakedns))
    for line in ("stale", "stale name=dest.test", "stale type=MX",
                 "stale name=dest.test type=TXT",
                 "stale name=dest.test type=MX extra=1",
                 "stale name=dest.test type=bogus"):
        st, body = ctl_ask(srv, line)
        assert st == "error" and "stale takes name=NAME" in body, (line,
                                                                   body)
    st, body = ctl_ask(srv, "stale name=unknown.test type=A")
    assert st == "error" and "no stale answer" in body
    st, body = ctl_ask(srv, "stale name=" + "a" * 300 + " type=MX")
    assert st == "error"
