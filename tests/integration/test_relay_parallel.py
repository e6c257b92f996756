"""Staggered connects (issue 12): a session dials its next address while
the earlier attempt is still pending, so a destination whose addresses
all silently drop SYNs reaches its fallback after about one connect
timeout, not one per address.  The blackholed hosts are SynDrop peers
(a listener whose full accept queue makes the kernel drop SYNs).  No
timing is asserted: the log's order says whether the second address was
dialled before the first attempt timed out."""

import re

from fakedns import fakedns  # noqa: F401 (fixture)
from fakemx import (mx_zone, peers, port, relay_conf,  # noqa: F401
                    send, since)


def conf(port, dns, **kw):
    c = dict(timeout_connect="3s", host_down_memory="1h",
             reach_probe_interval="0")
    c.update(kw)
    return relay_conf(port, dns, **c)


def pos(text, pattern):
    m = re.search(pattern, text)
    assert m, f"no {pattern!r} in the log"
    return m.start()


def connecting(host, ip):
    return rf'relay connecting relay="{host} \[{re.escape(ip)}\]"'


def timed_out(host, ip):
    return (rf'relay host-failed relay="{host} \[{re.escape(ip)}\]" '
            r'stage=connect reason="4.4.1 connection timed out"')


def test_blackholed_addresses_cost_one_timeout(make_ferry, fakedns, peers,
                                               port):
    peers.syndrop("127.0.0.2", port)
    peers.syndrop("127.0.0.3", port)
    fb = peers.mx("127.0.0.4", port)
    mx_zone(fakedns, "dest.test", [(10, "mx1.dest.test", "127.0.0.2"),
                                    (20, "mx2.dest.test", "127.0.0.3")])
    srv = make_ferry(conf(port, fakedns,
                          fallback_relay=f"[127.0.0.4]:{port}"))
    off = srv.log_offset()
    send(srv, "one@dest.test")
    fb.wait_messages(1, timeout=60)
    srv.wait_log(r"relay delivery rcpt=one@dest.test .*result=sent "
                 r"via=fallback_relay", since=off)
    text = since(srv, off)
    # Both addresses were dialled before the first attempt timed out ...
    first_timeout = pos(text, timed_out("mx1.dest.test", "127.0.0.2"))
    assert pos(text, connecting("mx2.dest.test", "127.0.0.3")) < first_timeout
    # ... each failure is in the memory, each address tried once, and the
    # fallback came after both.
    fallback = pos(text, r"relay using fallback_relay domain=dest.test")
    assert pos(text, timed_out("mx2.dest.test", "127.0.0.3")) < fallback
    assert first_timeout < fallback
    assert len(re.findall(r"relay connecting relay=\"mx", text)) == 2
    for ip in ("127.0.0.2", "127.0.0.3"):
        srv.wait_log(rf"relay reach-down address={re.escape(ip)}:{port} "
                     r"reason=connect-timeout", since=off)


def test_one_at_a_time_when_parallel_is_one(make_ferry, fakedns, peers,
                                            port):
    peers.syndrop("127.0.0.2", port)
    peers.syndrop("127.0.0.3", port)
    fb = peers.mx("127.0.0.4", port)
    mx_zone(fakedns, "dest.test", [(10, "mx1.dest.test", "127.0.0.2"),
                                    (20, "mx2.dest.test", "127.0.0.3")])
    srv = make_ferry(conf(port, fakedns, connect_parallel="1",
                          fallback_relay=f"[127.0.0.4]:{port}"))
    off = srv.log_offset()
    send(srv, "one@dest.test")
    fb.wait_messages(1, timeout=60)
    text = since(srv, off)
    # The old order: the second address only after the first timed out.
    assert (pos(text, timed_out("mx1.dest.test", "127.0.0.2")) <
            pos(text, connecting("mx2.dest.test", "127.0.0.3")))


def test_live_address_wins_and_dead_one_is_remembered(make_ferry, fakedns,
                                                      peers, port):
    peers.syndrop("127.0.0.2", port)
    mx2 = peers.mx("127.0.0.3", port)
    mx_zone(fakedns, "dest.test", [(10, "mx1.dest.test", "127.0.0.2"),
                                    (20, "mx2.dest.test", "127.0.0.3")])
    srv = make_ferry(conf(port, fakedns))
    off = srv.log_offset()
    send(srv, "one@dest.test")
    mx2.wait_messages(1, timeout=60)
    # The pending attempt was left to finish alone, and its timeout still
    # reached the memory (the next session puts the address last).
    srv.wait_log(r'relay connect-left relay="mx1.dest.test \[127.0.0.2\]"',
                 since=off)
    srv.wait_log(timed_out("mx1.dest.test", "127.0.0.2") + " alone=yes",
                 since=off)
    srv.wait_log(rf"relay reach-down address=127.0.0.2:{port} "
                 r"reason=connect-timeout", since=off)
    off = srv.log_offset()
    send(srv, "two@dest.test")
    mx2.wait_messages(2, timeout=60)
    srv.wait_log(r"relay delivery rcpt=two@dest.test .*result=sent",
                 since=off)
