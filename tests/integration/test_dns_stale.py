"""Serve-stale (RFC 8767, issue 12): when no resolver answers, delivery
uses the last good MX/A/AAAA answers (up to dns_stale_max) and logs each
lookup answered stale; inbound checks never take a stale or failed
answer for a pass.  The fake DNS server answers first, then fails (a
resolver that answers wrongly: SERVFAIL); records carry TTL 0 so that
libunbound's own cache does not hide the failure.  A reload makes the
relay look its hosts up again.  Nothing is timed."""

import json
import re
import socket
import struct

from conftest import wait_until
from fakedns import fakedns, fakedns_fallback  # noqa: F401 (fixtures)
from fakemx import mx_zone, peers, port, relay_conf, send  # noqa: F401
from policy_util import rcpt_code


def zone(dns):
    dns.add("dest.test", "MX", "10 mx1.dest.test", ttl=0)
    dns.add("mx1.dest.test", "A", "127.0.0.2", ttl=0)
    dns.add("example.test", "A", "192.0.2.1")     # the test sender's domain


def break_dns(dns):
    for name in ("dest.test", "mx1.dest.test"):
        dns.servfail(name)


def open_connections(ip, port):
    """TCP connections established to ip:port (the relay keeps a
    finished connection a moment for reuse; a reused one would need no
    lookup)."""
    want = "%08X:%04X" % (struct.unpack("<I", socket.inet_aton(ip))[0],
                          port)
    with open("/proc/net/tcp") as f:
        return sum(1 for line in f.read().splitlines()[1:]
                   if line.split()[1] == want and line.split()[3] == "01")


def relay_idle_gone(port):
    wait_until(lambda: open_connections("127.0.0.2", port) == 0, 30,
               what="the relay's idle connection to close")


def inbound_code(srv, sender):
    """The RCPT reply to a client outside relay_networks whose MAIL FROM
    domain the sender domain check (mfcheck) looks up."""
    r = rcpt_code(srv, sender=sender, source="127.0.0.5")
    return r.code, f"{r.enhanced} {r.text}"


def test_delivery_uses_stale_answers_inbound_never(make_ferry, fakedns,
                                                   peers, port):
    mx = peers.mx("127.0.0.2", port)
    zone(fakedns)
    srv = make_ferry(relay_conf(port, fakedns, mfcheck="yes",
                                relay_networks="127.0.0.1/32"))
    # The sender domain check passes while DNS answers.
    assert inbound_code(srv, "a@dest.test")[0] == 250
    send(srv, "one@dest.test")
    mx.wait_messages(1)
    break_dns(fakedns)
    relay_idle_gone(port)
    assert srv.cli("reload").returncode == 0
    srv.wait_log(r"queue reloaded", since=srv.start_log_offset)
    off = srv.log_offset()
    send(srv, "two@dest.test")
    got = mx.wait_messages(2)
    assert got[1].rcpt_tos == ["two@dest.test"]
    srv.wait_log(r"dns stale-answer name=dest\.test type=MX age=\d+s "
                 r"records=1 reason=", since=off)
    srv.wait_log(r"dns stale-answer name=mx1\.dest\.test type=A age=\d+s",
                 since=off)
    # The same names for an inbound check: a temporary failure, not a
    # pass and not a refusal.
    code, msg = inbound_code(srv, "a@dest.test")
    assert code == 451, (code, msg)
    assert "4.4.3" in msg
    later = srv.log_text().encode()[off:].decode("utf-8", "replace")
    # One line per lookup answered stale: the MX once for the delivery.
    assert len(re.findall(r"stale-answer name=dest\.test type=MX",
                          later)) == 1


def test_stale_off_defers(make_ferry, fakedns, peers, port):
    mx = peers.mx("127.0.0.2", port)
    zone(fakedns)
    srv = make_ferry(relay_conf(port, fakedns, dns_stale_max="0",
                                retry_min="1h", retry_max="2h"))
    send(srv, "one@dest.test")
    mx.wait_messages(1)
    break_dns(fakedns)
    relay_idle_gone(port)
    assert srv.cli("reload").returncode == 0
    srv.wait_log(r"queue reloaded", since=srv.start_log_offset)
    off = srv.log_offset()
    send(srv, "two@dest.test")
    srv.wait_log(r"rcpt=two@dest\.test .*result=deferred .*DNS lookup of "
                 r"MX for dest\.test failed", since=off)
    assert "stale-answer" not in srv.log_text()
    assert len(mx.messages) == 1


def test_never_answered_name_is_not_made_up(make_ferry, fakedns, peers,
                                           port):
    # Serve-stale has nothing for a name never answered: deferred.
    zone(fakedns)
    fakedns.servfail("new.test")
    srv = make_ferry(relay_conf(port, fakedns, retry_min="1h",
                                retry_max="2h"))
    send(srv, "one@new.test")
    srv.wait_log(r"rcpt=one@new\.test .*result=deferred .*DNS lookup of MX "
                 r"for new\.test failed")
    assert "stale-answer" not in srv.log_text()


def test_silent_resolver_stale_answer(make_ferry, fakedns, peers, port):
    # A resolver that never answers (no fallback resolvers): one timeout
    # per lookup, then the last good answer.
    mx = peers.mx("127.0.0.2", port)
    zone(fakedns)
    srv = make_ferry(relay_conf(port, fakedns))
    send(srv, "one@dest.test")
    mx.wait_messages(1)
    for name in ("dest.test", "mx1.dest.test"):
        fakedns.timeout(name)
    relay_idle_gone(port)
    assert srv.cli("reload").returncode == 0
    srv.wait_log(r"queue reloaded", since=srv.start_log_offset)
    off = srv.log_offset()
    send(srv, "two@dest.test")
    assert mx.wait_messages(2, timeout=60)[1].rcpt_tos == ["two@dest.test"]
    srv.wait_log(r"dns stale-answer name=dest\.test type=MX .*reason="
                 r"\"timed out\"", since=off)


def test_blocked_resolver_set_aside_shown_by_status(make_ferry, fakedns,
                                                    fakedns_fallback, peers,
                                                    port):
    fakedns.timeout("one.test")
    mx = peers.mx("127.0.0.2", port)
    mx_zone(fakedns_fallback, "one.test", [(10, "mx.one.test", "127.0.0.2")])
    srv = make_ferry(relay_conf(port, fakedns,
                                dns_fallback_resolvers=fakedns_fallback.address))
    wait_until(lambda: (srv.state_dir / "resolvers").exists(), 10,
               what="the resolvers' state written at start")
    r = srv.cli("status")
    assert re.search(rf"resolver {re.escape(fakedns.address)} "
                     r"group=resolvers state=up since=start", r.stdout), \
        r.stdout
    send(srv, "bob@one.test")
    mx.wait_messages(1, timeout=40)
    srv.wait_log(r"dns resolvers-set-aside for=30s")

    def aside():
        return re.search(rf"resolver {re.escape(fakedns.address)} "
                         r"group=resolvers state=set-aside since=\"[-0-9]+ "
                         r"[:0-9]+Z\" until=", srv.cli("status").stdout)
    wait_until(aside, 10, what="status to show the resolver set aside")
    r = srv.cli("status")
    assert re.search(rf"resolver {re.escape(fakedns_fallback.address)} "
                     r"group=fallback state=up", r.stdout), r.stdout
    doc = json.loads(srv.cli("status", "--json").stdout)
    assert any("state=set-aside" in line for line in doc["resolver_health"])
