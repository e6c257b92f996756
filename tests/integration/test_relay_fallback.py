"""Remote delivery when the network misbehaves: every MX unreachable and
the fallback relay takes the mail at once; the first resolvers SERVFAIL
and the fallback resolvers answer; a backup MX that holds mail until the
primary comes back; a tarpitting destination that must not slow others."""

from conftest import make_message, wait_until
from fakedns import fakedns, fakedns_fallback  # noqa: F401 (fixtures)
from fakemx import (SENDER, mx_zone, peers, port,  # noqa: F401
                    relay_conf, send, since)


def test_all_mx_unreachable_then_fallback_relay(make_ferry, fakedns, peers,
                                                port):
    peers.tarpit("127.0.0.2", port)          # accepts, never greets
    # 127.0.0.3: nothing listens (refused)
    fb = peers.mx("127.0.0.4", port)
    mx_zone(fakedns, "dest.test", [(10, "mx1.dest.test", "127.0.0.2"),
                                    (20, "mx2.dest.test", "127.0.0.3")])
    srv = make_ferry(relay_conf(port, fakedns, timeout_helo="1s",
                                fallback_relay=f"[127.0.0.4]:{port}"))
    send(srv, "bob@dest.test")
    got = fb.wait_messages(1)
    assert got[0].rcpt_tos == ["bob@dest.test"]
    srv.wait_log(r"relay delivery rcpt=bob@dest.test .*result=sent "
                 r"via=fallback_relay")
    srv.wait_log(r"relay using fallback_relay domain=dest.test")
    # At once: this was the first attempt, not a retry.
    assert "result=deferred" not in srv.log_text()


def test_no_fallback_for_a_refusal_by_the_mx(make_ferry, fakedns, peers,
                                             port):
    peers.mx("127.0.0.2", port, rcpt={"bob@dest.test": "450 4.2.0 later"})
    fb = peers.mx("127.0.0.4", port)
    mx_zone(fakedns, "dest.test", [(10, "mx1.dest.test", "127.0.0.2")])
    srv = make_ferry(relay_conf(port, fakedns,
                                fallback_relay=f"[127.0.0.4]:{port}"))
    send(srv, "bob@dest.test")
    srv.wait_log(r"rcpt=bob@dest.test .*result=deferred .*450 4.2.0 later")
    srv.barrier()
    assert fb.messages == []


def test_servfail_then_fallback_resolver(make_ferry, fakedns,
                                         fakedns_fallback, peers, port):
    mx = peers.mx("127.0.0.2", port)
    # The first resolvers cannot reach dest.test's name servers at all.
    fakedns.servfail("dest.test")
    fakedns.servfail("mx1.dest.test")
    mx_zone(fakedns_fallback, "dest.test",
            [(10, "mx1.dest.test", "127.0.0.2")])
    srv = make_ferry(relay_conf(port, fakedns,
                                dns_fallback_resolvers=fakedns_fallback.address))
    send(srv, "bob@dest.test")
    assert mx.wait_messages(1, timeout=30)[0].rcpt_tos == ["bob@dest.test"]


def test_backup_mx_holds_then_forwards(make_ferry, fakedns, peers, port):
    mx_zone(fakedns, "primary.test", [(10, "prim.primary.test", "127.0.0.2"),
                                       (20, "mx.example.test", "127.0.0.1")])
    srv = make_ferry(relay_conf(port, fakedns, relay_networks="",
                                backup_domains="primary.test"))
    # Anyone may send to the backup domain (no relay rights needed).
    with srv.smtp() as s:
        s.sendmail("someone@elsewhere.test", ["bob@primary.test"],
                   make_message(sender="someone@elsewhere.test",
                                to="bob@primary.test", subject="held"))
    srv.wait_log(r"rcpt=bob@primary.test .*result=deferred .*connection "
                 r"refused")
    mx = peers.mx("127.0.0.2", port)
    got = mx.wait_messages(1, timeout=20)
    assert got[0].rcpt_tos == ["bob@primary.test"]
    assert b"Subject: held" in got[0].data


def test_tarpit_does_not_slow_other_destinations(make_ferry, fakedns, peers,
                                                 port):
    pit = peers.tarpit("127.0.0.5", port)
    fast = peers.mx("127.0.0.2", port)
    mx_zone(fakedns, "slow.test", [(10, "mx.slow.test", "127.0.0.5")])
    mx_zone(fakedns, "fast.test", [(10, "mx.fast.test", "127.0.0.2")])
    srv = make_ferry(relay_conf(port, fakedns, timeout_helo="60s",
                                concurrency_remote=6,
                                concurrency_per_domain=3))
    with srv.smtp() as s:
        for i in range(6):
            s.sendmail(SENDER, [f"u{i}@slow.test"],
                       make_message(sender=SENDER, to=f"u{i}@slow.test"))
        wait_until(lambda: pit.accepted >= 3, 10,
                   what="the tarpit to hold connections")
        for i in range(30):
            s.sendmail(SENDER, [f"u{i}@fast.test"],
                       make_message(sender=SENDER, to=f"u{i}@fast.test"))
    fast.wait_messages(30, timeout=30)
    # The tarpit still holds its connections; nothing went through it.
    assert pit.accepted >= 3
    assert "rcpt=u0@slow.test" not in srv.log_text()


def test_blocked_resolver_costs_one_timeout(make_ferry, fakedns,
                                            fakedns_fallback, peers, port):
    # The first resolver never answers anything (a blocked resolver);
    # the fallback resolver knows both domains.
    for name in ("one.test", "mx.one.test", "two.test", "mx.two.test"):
        fakedns.timeout(name)
    mx = peers.mx("127.0.0.2", port)
    mx_zone(fakedns_fallback, "one.test", [(10, "mx.one.test", "127.0.0.2")])
    mx_zone(fakedns_fallback, "two.test", [(10, "mx.two.test", "127.0.0.2")])
    srv = make_ferry(relay_conf(port, fakedns,
                                dns_fallback_resolvers=fakedns_fallback.address,
                                log_level="debug"))
    send(srv, "bob@one.test")
    mx.wait_messages(1, timeout=40)
    srv.wait_log(r"dns resolvers-set-aside for=30s reason=\"timed out\"")
    off = srv.log_offset()
    send(srv, "carol@two.test")
    assert mx.wait_messages(2, timeout=20)[1].rcpt_tos == ["carol@two.test"]
    srv.wait_log(r"dns fallback name=two.test type=MX reason=\"resolvers: "
                 r"set aside after a timeout\"", since=off)
    # Straight to the fallback: the blocked resolver was not asked again,
    # and the set-aside was logged once.
    assert fakedns.asked("one.test")
    assert not fakedns.asked("two.test")
    assert not fakedns.asked("mx.two.test")
    assert srv.log_text().count("resolvers-set-aside") == 1


def test_resolver_that_goes_silent_costs_at_most_one_timeout(
        make_ferry, fakedns, fakedns_fallback, peers, port):
    # The first resolver answers for a while (libunbound learns it is
    # fast), then goes silent.  libunbound then gives up with SERVFAIL
    # after its own retries, before our timeout; that counts as the
    # timeout: the resolvers are set aside at once, and the address
    # lookups of the same message go straight to the fallback resolvers
    # (they used to wait a full timeout on the silent resolver).
    mx = peers.mx("127.0.0.2", port)
    for d in (fakedns, fakedns_fallback):
        for i in range(6):
            mx_zone(d, f"warm{i}.test", [(10, f"mx.warm{i}.test",
                                          "127.0.0.2")])
        mx_zone(d, "one.test", [(10, "mx.one.test", "127.0.0.2")])
    srv = make_ferry(relay_conf(port, fakedns,
                                dns_fallback_resolvers=fakedns_fallback.address,
                                log_level="debug"))
    for i in range(6):
        send(srv, f"bob@warm{i}.test")
        mx.wait_messages(i + 1, timeout=40)
    for name in ("one.test", "mx.one.test"):
        fakedns.timeout(name)
    off = srv.log_offset()
    send(srv, "bob@one.test")
    assert mx.wait_messages(7, timeout=40)[6].rcpt_tos == ["bob@one.test"]
    srv.wait_log(r"dns resolvers-set-aside for=30s", since=off)
    # The blocked resolver was asked the MX question only.
    assert fakedns.asked("one.test", "MX")
    assert not fakedns.asked("mx.one.test")
    assert fakedns_fallback.asked("mx.one.test")
    assert since(srv, off).count("resolvers-set-aside") == 1
