"""Staggered connects (issue 12): a session dials its next address while
the earlier attempt is still pending, and when a fallback can take the
mail it stops waiting one connect timeout after its first dial (the
round's deadline), leaving the attempts still in flight to finish alone:
a destination whose addresses all silently drop SYNs reaches its
fallback within one connect timeout, not one per address, nor one plus
the stagger.  The blackholed hosts are SynDrop peers (a listener whose
full accept queue makes the kernel drop SYNs).  No timing is asserted:
the log's order says what happened when."""

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


def two_hosts(make_ferry, fakedns, peers, port, live_second=False):
    """dest.test on mx1 (blackholed) and mx2 (blackholed, or live), with
    a fallback relay: the server, the fallback peer and mx2's peer."""
    peers.syndrop("127.0.0.2", port)
    mx2 = (peers.mx if live_second else peers.syndrop)("127.0.0.3", port)
    fb = peers.mx("127.0.0.4", port)
    mx_zone(fakedns, "dest.test", [(10, "mx1.dest.test", "127.0.0.2"),
                                    (20, "mx2.dest.test", "127.0.0.3")])
    srv = make_ferry(conf(port, fakedns,
                          fallback_relay=f"[127.0.0.4]:{port}"))
    return srv, fb, mx2


def deliver_one(srv, peer, delivery):
    """Sends one@dest.test and waits for peer to get it and for the
    relay's delivery line (delivery: the regex after the recipient);
    the log offset from before the send."""
    off = srv.log_offset()
    send(srv, "one@dest.test")
    peer.wait_messages(1, timeout=60)
    srv.wait_log(r"relay delivery rcpt=one@dest.test " + delivery,
                 since=off)
    return off


def test_blackholed_addresses_cost_one_timeout(make_ferry, fakedns, peers,
                                               port):
    srv, fb, _ = two_hosts(make_ferry, fakedns, peers, port)
    off = deliver_one(srv, fb, r".*result=sent via=fallback_relay")
    # The second address, dialled a stagger after the first, times out
    # after the fallback took the message, alone; still remembered.
    srv.wait_log(timed_out("mx2.dest.test", "127.0.0.3") + " alone=yes",
                 since=off)
    for ip in ("127.0.0.2", "127.0.0.3"):
        srv.wait_log(rf"relay reach-down address={re.escape(ip)}:{port} "
                     r"reason=connect-timeout", since=off)
    text = since(srv, off)
    # Both addresses were dialled before the first attempt timed out ...
    first_timeout = pos(text, timed_out("mx1.dest.test", "127.0.0.2"))
    assert pos(text, connecting("mx2.dest.test", "127.0.0.3")) < first_timeout
    # ... the session gave up at the first dial's deadline, before the
    # second attempt's own timeout ran out, and went to the fallback.
    deadline = pos(text, r"relay connect-deadline domain=dest.test "
                   r"waited=3s pending=[12]")
    fallback = pos(text, r"relay using fallback_relay domain=dest.test "
                   r'.*reason=".*connected within timeout_connect')
    second_timeout = pos(text, timed_out("mx2.dest.test", "127.0.0.3"))
    assert deadline < fallback < second_timeout
    assert len(re.findall(r"relay connecting relay=\"mx", text)) == 2


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


def test_live_address_is_used_though_a_fallback_waits(make_ferry, fakedns,
                                                      peers, port):
    # The deadline only cuts waiting for silence: a destination with an
    # address that answers delivers there directly, fallback or not.
    srv, fb, mx2 = two_hosts(make_ferry, fakedns, peers, port,
                             live_second=True)
    off = deliver_one(srv, mx2, r'relay="mx2.dest.test \[127.0.0.3\]:\d+" '
                      r".*result=sent")
    srv.wait_log(timed_out("mx1.dest.test", "127.0.0.2") + " alone=yes",
                 since=off)
    text = since(srv, off)
    assert "connect-deadline" not in text
    assert "relay using fallback_relay" not in text
    assert fb.messages == []
    # Known down now: the next message goes straight to the live one.
    off = srv.log_offset()
    send(srv, "two@dest.test")
    mx2.wait_messages(2, timeout=60)
    assert fb.messages == []
    assert not re.search(connecting("mx1.dest.test", "127.0.0.2"),
                         since(srv, off))


def test_deadline_left_attempt_is_tried_again(make_ferry, fakedns, peers,
                                              port):
    # Three blackholed addresses, two dialled at once: the deadline comes
    # before the third is dialled; the next session dials it (the first
    # two are remembered down and skipped), and the fallback takes both.
    # (The second message is for another domain on the same hosts: one
    # for dest.test would ride the idle connection to the fallback.)
    for ip in ("127.0.0.2", "127.0.0.3", "127.0.0.5"):
        peers.syndrop(ip, port)
    fb = peers.mx("127.0.0.4", port)
    hosts = [(10, "mx1.dest.test", "127.0.0.2"),
             (20, "mx2.dest.test", "127.0.0.3"),
             (30, "mx3.dest.test", "127.0.0.5")]
    mx_zone(fakedns, "dest.test", hosts)
    mx_zone(fakedns, "dest2.test", [(p, h, None) for p, h, _ in hosts])
    srv = make_ferry(conf(port, fakedns, connect_parallel="2",
                          fallback_relay=f"[127.0.0.4]:{port}"))
    off = srv.log_offset()
    send(srv, "one@dest.test")
    fb.wait_messages(1, timeout=60)
    srv.wait_log(timed_out("mx2.dest.test", "127.0.0.3") + " alone=yes",
                 since=off)
    text = since(srv, off)
    assert not re.search(connecting("mx3.dest.test", "127.0.0.5"), text), text
    off = srv.log_offset()
    send(srv, "two@dest2.test")
    fb.wait_messages(2, timeout=60)
    text = since(srv, off)
    assert re.search(connecting("mx3.dest.test", "127.0.0.5"), text)
    assert not re.search(connecting("mx1.dest.test", "127.0.0.2"), text)
    assert not re.search(connecting("mx2.dest.test", "127.0.0.3"), text)
