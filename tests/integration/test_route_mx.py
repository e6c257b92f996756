"""Routes by MX host (route_mx, issue 12): every domain whose MX hosts
match a rule follows it, a `route` for the recipient domain wins over
it, and it wins over `route = *`; a route's own fallback relay takes
the mail when the route's hosts are all dead.  Played on loopback with
fake peers and the fake DNS server; nothing is timed."""

import re

from fakedns import fakedns  # noqa: F401 (fixture)
from fakemx import mx_zone, peers, port, relay_conf, send  # noqa: F401


def conf(port, dns, **kw):
    c = dict(timeout_connect="1s", timeout_helo="1s",
             host_down_memory="1h", reach_probe_interval="0")
    c.update(kw)
    return relay_conf(port, dns, **c)


def start(make_ferry, c, lines):
    srv = make_ferry(c, start=False)
    srv.write_config(extra_lines=lines)
    srv.start()
    return srv


def test_route_mx_sends_a_providers_domains_one_way(make_ferry, fakedns,
                                                     peers, port):
    provider = peers.mx("127.0.0.2", port)   # the provider's own MX
    relay = peers.mx("127.0.0.4", port)      # the route_mx relay
    pinned = peers.mx("127.0.0.5", port)     # a route for one domain
    smart = peers.mx("127.0.0.6", port)      # route = *
    other = peers.mx("127.0.0.3", port)
    for d in ("a.test", "b.test", "pinned.test"):
        fakedns.add(d, "MX", f"10 mx{d[0]}.provider.test")
    fakedns.add("mxa.provider.test", "A", "127.0.0.2")
    fakedns.add("mxb.provider.test", "A", "127.0.0.2")
    fakedns.add("mxp.provider.test", "A", "127.0.0.2")
    # Best host elsewhere, a backup at the provider: the rule applies.
    fakedns.add("mixed.test", "MX", "20 mxa.provider.test")
    fakedns.add("mixed.test", "MX", "10 mx.other.test")
    fakedns.add("mx.other.test", "A", "127.0.0.3")
    # No MX: the domain itself is the host, and it matches by name.
    fakedns.add("self.provider.test", "A", "127.0.0.2")
    mx_zone(fakedns, "plain.test", [(10, "mx.plain.test", "127.0.0.3")])
    srv = start(make_ferry, conf(port, fakedns), [
        f"route_mx = *.provider.test [127.0.0.4]:{port}",
        f"route = pinned.test [127.0.0.5]:{port}",
        f"route = * [127.0.0.6]:{port}",
    ])
    for rcpt in ("u@a.test", "u@b.test", "u@pinned.test", "u@mixed.test",
                 "u@self.provider.test", "u@plain.test"):
        send(srv, rcpt)
    relay.wait_messages(4)
    pinned.wait_messages(1)
    smart.wait_messages(1)
    assert sorted(relay.rcpts()) == ["u@a.test", "u@b.test", "u@mixed.test",
                                     "u@self.provider.test"]
    assert pinned.rcpts() == ["u@pinned.test"]
    assert smart.rcpts() == ["u@plain.test"]
    assert provider.messages == [] and other.messages == []
    srv.wait_log(r"relay delivery rcpt=u@a\.test .*result=sent "
                 r"via=route_mx route_mx=\*\.provider\.test")
    assert not re.search(r"rcpt=u@pinned\.test .*via=route_mx",
                         srv.log_text())


def test_route_mx_without_default_route_leaves_others_direct(
        make_ferry, fakedns, peers, port):
    relay = peers.mx("127.0.0.4", port)
    direct = peers.mx("127.0.0.3", port)
    mx_zone(fakedns, "a.test", [(10, "mx1.provider.test", "127.0.0.2")])
    mx_zone(fakedns, "plain.test", [(10, "mx.plain.test", "127.0.0.3")])
    srv = start(make_ferry, conf(port, fakedns), [
        f"route_mx = mx1.provider.test. [127.0.0.4]:{port}",
    ])
    send(srv, "u@a.test")
    send(srv, "u@plain.test")
    assert relay.wait_messages(1)[0].rcpt_tos == ["u@a.test"]
    assert direct.wait_messages(1)[0].rcpt_tos == ["u@plain.test"]


def test_route_fallback_used_when_route_hosts_are_dead(make_ferry, fakedns,
                                                      peers, port):
    # The route's host refuses (nothing listens on 127.0.0.3); its own
    # fallback takes the mail, not the global fallback_relay.
    own = peers.mx("127.0.0.4", port)
    glob = peers.mx("127.0.0.5", port)
    mx_zone(fakedns, "a.test", [(10, "mx1.provider.test", "127.0.0.2")])
    mx_zone(fakedns, "b.test", [(10, "mx2.provider.test", "127.0.0.2")])
    mx_zone(fakedns, "dead.test", [(10, "mx.dead.test", "127.0.0.7")])
    srv = start(make_ferry, conf(port, fakedns,
                                 fallback_relay=f"[127.0.0.5]:{port}"), [
        f"route_mx = *.provider.test [127.0.0.3]:{port} "
        f"fallback=[127.0.0.4]:{port}",
    ])
    send(srv, "one@a.test")
    own.wait_messages(1)
    srv.wait_log(r"relay using route-fallback domain=a\.test "
                 r"relay=127\.0\.0\.4")
    srv.wait_log(r"relay delivery rcpt=one@a\.test .*result=sent "
                 r"via=route_fallback")
    # Known dead now: the next domain on the rule goes there at once.
    off = srv.log_offset()
    send(srv, "two@b.test")
    own.wait_messages(2)
    later = srv.log_text().encode()[off:].decode()
    assert "relay all-known-down domain=b.test addresses=1" in later
    assert "host-failed" not in later
    # Mail outside the rule still uses fallback_relay.
    send(srv, "three@dead.test")
    assert glob.wait_messages(1)[0].rcpt_tos == ["three@dead.test"]
    assert sorted(own.rcpts()) == ["one@a.test", "two@b.test"]


def test_route_mx_bad_config_refused(make_ferry, fakedns):
    srv = make_ferry(conf(2525, fakedns), start=False)
    srv.write_config(extra_lines=["route_mx = * [127.0.0.4]:25"])
    for line in ("route_mx = * [127.0.0.4]:25",
                 "route_mx = *.x.test [127.0.0.4]:25 fallback=[bad",
                 "route_mx = *.x.test"):
        srv.write_config(extra_lines=[line])
        r = srv.cli("check", "reach")
        assert r.returncode != 0, line
        assert "route_mx:" in r.stderr, r.stderr
