"""Delivery that learns from a broken network (issue 12): the
reachability memory per address and port, persisted in state_dir; a
destination whose addresses are all known dead goes to the fallback
relay at once; live addresses first; a probe brings direct delivery
back; TLS trouble remembered per address.  The broken network is played
on loopback: a tarpit (accepts, never greets), a port where nothing
listens (refused), a 421 greeter, a peer whose TLS handshake hangs.
Nothing is timed: the tests watch which peer got what, and the log."""

import json
import re

from conftest import wait_until
from fakedns import fakedns  # noqa: F401 (fixture)
from fakemx import (mx_zone, peers, port, reach_file,  # noqa: F401
                    relay_conf, send, since)


def reach_conf(port, dns, **kw):
    c = dict(timeout_connect="1s", timeout_helo="1s", timeout_tls="1s",
             host_down_memory="1h", reach_probe_interval="0")
    c.update(kw)
    return relay_conf(port, dns, **c)


def test_dead_destination_goes_to_fallback_at_once(make_ferry, fakedns,
                                                   peers, port):
    pit = peers.tarpit("127.0.0.2", port)    # accepts, never greets
    # 127.0.0.3: nothing listens (refused)
    fb = peers.mx("127.0.0.4", port)
    hosts = [(10, "mx1.dest.test", "127.0.0.2"),
             (20, "mx2.dest.test", "127.0.0.3")]
    mx_zone(fakedns, "dest.test", hosts)
    # Another domain on the same hosts (the memory is per address).
    mx_zone(fakedns, "other.test", [(p, n, None) for p, n, _ in hosts])
    srv = make_ferry(reach_conf(port, fakedns,
                                fallback_relay=f"[127.0.0.4]:{port}"))
    send(srv, "one@dest.test")
    fb.wait_messages(1)
    srv.wait_log(rf"relay reach-down address=127.0.0.2:{port} "
                 r"reason=greeting-timeout")
    srv.wait_log(rf"relay reach-down address=127.0.0.3:{port} "
                 r"reason=refused")
    tried = pit.accepted
    assert tried >= 1
    off = srv.log_offset()
    send(srv, "two@dest.test")
    send(srv, "three@other.test")
    got = fb.wait_messages(3)
    assert sorted(m.rcpt_tos[0] for m in got[1:]) == ["three@other.test",
                                                      "two@dest.test"]
    srv.wait_log(r"relay delivery rcpt=three@other.test .*result=sent "
                 r"via=fallback_relay", since=off)
    srv.wait_log(r"relay delivery rcpt=two@dest.test .*result=sent "
                 r"via=fallback_relay", since=off)
    later = since(srv, off)
    # Straight to the fallback: the dead addresses were not tried again.
    assert re.search(r"relay all-known-down domain=other.test addresses=2",
                     later)
    assert "host-failed" not in later
    assert pit.accepted == tried


def test_live_addresses_first(make_ferry, fakedns, peers, port):
    pit = peers.tarpit("127.0.0.2", port)
    mx2 = peers.mx("127.0.0.3", port)
    fb = peers.mx("127.0.0.4", port)
    mx_zone(fakedns, "dest.test", [(10, "mx1.dest.test", "127.0.0.2"),
                                    (20, "mx2.dest.test", "127.0.0.3")])
    srv = make_ferry(reach_conf(port, fakedns,
                                fallback_relay=f"[127.0.0.4]:{port}"))
    send(srv, "one@dest.test")
    mx2.wait_messages(1)
    tried = pit.accepted
    assert tried >= 1
    off = srv.log_offset()
    for i in range(3):
        send(srv, f"u{i}@dest.test")
    mx2.wait_messages(4)
    later = since(srv, off)
    assert "host-failed" not in later
    assert "all-known-down" not in later
    assert pit.accepted == tried          # the dead host was left out
    assert fb.messages == []              # and the fallback not needed


def test_memory_survives_restart(make_ferry, fakedns, peers, port):
    pit = peers.tarpit("127.0.0.2", port)
    fb = peers.mx("127.0.0.4", port)
    mx_zone(fakedns, "dest.test", [(10, "mx1.dest.test", "127.0.0.2")])
    srv = make_ferry(reach_conf(port, fakedns,
                                fallback_relay=f"[127.0.0.4]:{port}"))
    send(srv, "one@dest.test")
    fb.wait_messages(1)
    srv.restart()
    text = (srv.state_dir / "reachability").read_text()
    assert text.startswith("ferry-reachability 1\n")
    assert re.search(rf"^127\.0\.0\.2:{port} down=greeting-timeout since=\d+ ",
                     text, re.M)
    tried = pit.accepted
    off = srv.log_offset()
    srv.wait_log(r"relay reachability-loaded .*entries=1",
                 since=srv.start_log_offset)
    send(srv, "two@dest.test")
    fb.wait_messages(2)
    later = since(srv, off)
    assert "relay all-known-down domain=dest.test addresses=1" in later
    assert "host-failed" not in later
    assert pit.accepted == tried


def test_probe_restores_direct_delivery(make_ferry, fakedns, peers, port):
    # 127.0.0.2 refuses at first (nothing listens), then heals.
    fb = peers.mx("127.0.0.4", port)
    mx_zone(fakedns, "dest.test", [(10, "mx1.dest.test", "127.0.0.2")])
    srv = make_ferry(reach_conf(port, fakedns, reach_probe_interval="1s",
                                fallback_relay=f"[127.0.0.4]:{port}"))
    send(srv, "one@dest.test")
    fb.wait_messages(1)
    srv.wait_log(rf"relay reach-down address=127.0.0.2:{port} "
                 r"reason=refused")
    mx = peers.mx("127.0.0.2", port)
    srv.wait_log(rf"relay reach-up address=127.0.0.2:{port} was=refused "
                 r"down_for=\d+s by=probe", timeout=30)
    wait_until(lambda: "down=ok" in reach_file(srv), 10,
               what="the healed address saved")
    send(srv, "two@dest.test")
    got = mx.wait_messages(1)
    assert got[0].rcpt_tos == ["two@dest.test"]
    assert len(fb.messages) == 1
    # One line per change: the probes that failed in between said nothing.
    assert len(re.findall(r"reach-down address=127\.0\.0\.2",
                          srv.log_text())) == 1


def test_421_greeting_is_remembered_and_falls_back(make_ferry, fakedns,
                                                   peers, port):
    g = peers.greeter("127.0.0.2", port, "421 4.7.0 not from your network")
    fb = peers.mx("127.0.0.4", port)
    mx_zone(fakedns, "dest.test", [(10, "mx1.dest.test", "127.0.0.2")])
    mx_zone(fakedns, "other.test", [(10, "mx1.dest.test", None)])
    srv = make_ferry(reach_conf(port, fakedns,
                                fallback_relay=f"[127.0.0.4]:{port}"))
    send(srv, "one@dest.test")
    fb.wait_messages(1)
    srv.wait_log(rf"relay reach-down address=127.0.0.2:{port} "
                 r"reason=greeting-4xx")
    seen = g.accepted
    send(srv, "two@other.test")
    fb.wait_messages(2)
    srv.wait_log(r"relay all-known-down domain=other.test")
    assert g.accepted == seen


def test_without_fallback_a_dead_address_is_still_tried(make_ferry, fakedns,
                                                        peers, port):
    # No fallback: dead addresses go last but are not skipped (as before).
    mx_zone(fakedns, "dest.test", [(10, "mx1.dest.test", "127.0.0.2")])
    srv = make_ferry(reach_conf(port, fakedns, retry_min="1s"))
    send(srv, "one@dest.test")
    srv.wait_log(r"rcpt=one@dest.test .*result=deferred .*connection "
                 r"refused")
    mx = peers.mx("127.0.0.2", port)
    assert mx.wait_messages(1, timeout=20)[0].rcpt_tos == ["one@dest.test"]
    srv.wait_log(rf"relay reach-up address=127.0.0.2:{port} was=refused "
                 r".*by=delivery")


def test_tls_hang_remembered_across_restart(make_ferry, fakedns, peers,
                                            port):
    mx = peers.mx("127.0.0.2", port, broken_tls=True)
    mx_zone(fakedns, "dest.test", [(10, "mx1.dest.test", "127.0.0.2")])
    srv = make_ferry(reach_conf(port, fakedns, tls_broken_memory="1h"))
    send(srv, "one@dest.test")
    mx.wait_messages(1)
    srv.wait_log(rf"relay reach-tls-broken address=127.0.0.2:{port} "
                 r"reason=tls-hang")
    srv.restart()
    off = srv.log_offset()
    send(srv, "two@dest.test")
    mx.wait_messages(2)
    later = since(srv, off)
    # Plaintext at once after the restart: no handshake tried again.
    assert "tls-failed" not in later
    assert "reach-tls-broken" not in later


def test_tls_required_skips_tls_broken_address(make_ferry, fakedns, peers,
                                               port):
    bad = peers.mx("127.0.0.2", port, broken_tls=True)
    fb = peers.mx("127.0.0.4", port)
    mx_zone(fakedns, "dest.test", [(10, "mx1.dest.test", "127.0.0.2")])
    mx_zone(fakedns, "other.test", [(10, "mx1.dest.test", None)])
    srv = make_ferry(reach_conf(port, fakedns,
                                tls_policy="* encrypt",
                                fallback_relay=f"[127.0.0.4]:{port} tls=none"))
    send(srv, "one@dest.test")
    fb.wait_messages(1)
    srv.wait_log(rf"relay reach-tls-broken address=127.0.0.2:{port}")
    off = srv.log_offset()
    send(srv, "two@other.test")
    fb.wait_messages(2)
    srv.wait_log(r"relay delivery rcpt=two@other.test .*result=sent",
                 since=off)
    later = since(srv, off)
    assert "relay all-known-down domain=other.test addresses=1" in later
    assert "host-failed" not in later
    assert bad.messages == []


def test_check_mx_and_check_reach_show_the_memory(make_ferry, fakedns,
                                                  peers, port):
    peers.tarpit("127.0.0.2", port)
    peers.mx("127.0.0.4", port)
    mx_zone(fakedns, "dest.test", [(10, "mx1.dest.test", "127.0.0.2"),
                                    (20, "mx2.dest.test", "127.0.0.3")])
    mx_zone(fakedns, "live.test", [(10, "mx1.live.test", "127.0.0.4")])
    srv = make_ferry(reach_conf(port, fakedns,
                                fallback_relay=f"[127.0.0.4]:{port}"))
    r = srv.cli("check", "reach")
    assert r.returncode == 0, r.stderr
    assert "0 address(es) remembered" in r.stdout
    send(srv, "one@dest.test")
    wait_until(lambda: len(reach_file(srv).splitlines()) == 3 and
               "down=refused" in reach_file(srv), 10,
               what="both failures saved")
    r = srv.cli("check", "mx", "dest.test")
    assert r.returncode == 0, r.stderr
    assert re.search(r"mx1\.dest\.test\s+127\.0\.0\.2\s+open\s+memory: down "
                     r"\(greeting-timeout\) since \d{4}-", r.stdout), r.stdout
    assert re.search(r"mx2\.dest\.test\s+127\.0\.0\.3\s+refused\s+memory: "
                     r"down \(refused\)", r.stdout), r.stdout
    assert ("path now: fallback_relay 127.0.0.4 (all 2 addresses "
            "remembered down)") in r.stdout
    doc = json.loads(srv.cli("check", "mx", "dest.test", "--json").stdout)
    mem = {a["address"]: a["memory"] for h in doc["hosts"]
           for a in h["addresses"]}
    assert mem["127.0.0.2"]["down"] is True
    assert mem["127.0.0.2"]["reason"] == "greeting-timeout"
    assert mem["127.0.0.3"]["reason"] == "refused"
    r = srv.cli("check", "mx", "live.test", "--no-connect")
    assert "memory: no failures remembered" in r.stdout
    assert "path now: direct, lower preference first" in r.stdout
    r = srv.cli("check", "reach")
    assert r.returncode == 0, r.stderr
    assert re.search(rf"^127\.0\.0\.3:{port}\s+down \(refused\) since ",
                     r.stdout, re.M), r.stdout
    assert "2 address(es) remembered, 2 down" in r.stdout
    doc = json.loads(srv.cli("check", "reach", "--json").stdout)
    assert sorted(e["address"] for e in doc) == [f"127.0.0.2:{port}",
                                                 f"127.0.0.3:{port}"]
    assert all(e["down"] for e in doc)


def test_check_reach_bad_file_and_usage(make_ferry, fakedns):
    srv = make_ferry(relay_conf(2525, fakedns), start=False)
    srv.state_dir.mkdir(parents=True, exist_ok=True)
    (srv.state_dir / "reachability").write_text("not ours\n")
    r = srv.cli("check", "reach")
    assert r.returncode == 1
    assert "not a reachability file" in r.stderr
    r = srv.cli("check", "reach", "extra")
    assert r.returncode == 2
    # A bad line is skipped, the rest is shown.
    (srv.state_dir / "reachability").write_text(
        "ferry-reachability 1\nbogus line\n192.0.2.1:25 down=refused "
        "since=1 last_fail=1\n")
    r = srv.cli("check", "reach")
    assert r.returncode == 0, r.stderr
    assert "192.0.2.1:25" in r.stdout and "bogus" not in r.stdout
    # Long forgotten: believed no more.
    assert "1 address(es) remembered, 0 down" in r.stdout


def test_why_to_shows_deliveries(make_ferry, fakedns, peers, port):
    # 127.0.0.2 answers the recipient with 450 first, then takes it; a
    # second domain is dead and goes through the fallback relay.
    peers.mx("127.0.0.2", port,
             rcpt={"bob@dest.test": ["450 4.2.0 mailbox busy", None]})
    peers.mx("127.0.0.4", port)
    mx_zone(fakedns, "dest.test", [(10, "mx1.dest.test", "127.0.0.2")])
    mx_zone(fakedns, "dead.test", [(10, "mx1.dead.test", "127.0.0.3")])
    srv = make_ferry(reach_conf(port, fakedns, retry_min="1s",
                                fallback_relay=f"[127.0.0.4]:{port}"),
                     start=False)
    srv.conf["log_file"] = str(srv.dir / "ferry-file.log")
    srv.write_config()
    srv.start()
    send(srv, "bob@dest.test")
    send(srv, "carol@dead.test")
    srv.wait_log(r"rcpt=bob@dest.test .*result=sent", timeout=20)
    srv.wait_log(r"rcpt=carol@dead.test .*result=sent via=fallback_relay")
    # The attempts come from the delivery history (the store), the
    # inbound session from the log.
    wait_until(lambda: "outcome <bob@dest.test>: delivered" in srv.cli(
        "why", "--to", "bob@dest.test").stdout,
               10, what="the history to have the delivery")
    r = srv.cli("why", "--to", "bob@dest.test")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "accepted id=" in out                  # the inbound session
    assert re.search(r"^  \S+ deferred <bob@dest\.test> direct "
                     r"mx1\.dest\.test \[127\.0\.0\.2\]:\d+ reply=\".*450 "
                     r"4\.2\.0 mailbox busy\"$", out, re.M), out
    assert re.search(r"^      next attempt \S+, given up at \S+$", out,
                     re.M), out
    assert re.search(r"^  \S+ delivered <bob@dest\.test> direct "
                     r"mx1\.dest\.test", out, re.M), out
    # In order: the deferral before the delivery.
    assert out.index(" deferred <") < out.index(" delivered <")
    # The log's lines about the same message are not repeated.
    assert "(from the log)" not in out
    wait_until(lambda: "outcome <carol@dead.test>: delivered" in srv.cli(
        "why", "--to", "carol@dead.test").stdout, 10,
               what="the fallback delivery in the history")
    r = srv.cli("why", "--to", "carol@dead.test")
    assert re.search(r" delivered <carol@dead\.test> fallback_relay "
                     r"\[127\.0\.0\.4\]:\d+", r.stdout), r.stdout
    assert "reachability memory: no address of dead.test answered: " \
        "fallback_relay" in r.stdout
    r = srv.cli("why", "--to", "nobody@nowhere.test")
    assert r.returncode == 1


def test_probe_connect_ends_before_the_next_probe(make_ferry, fakedns,
                                                  peers, port):
    # 127.0.0.2 drops SYNs.  Its probes come every 2 s, and a probe's
    # connect waits at most 1 s (a second before the next is due), not
    # timeout_connect (4 s): each probe fails, and the next starts with
    # a fresh SYN, instead of a pending connect retransmitting its SYN.
    drop = peers.syndrop("127.0.0.2", port)
    fb = peers.mx("127.0.0.4", port)
    mx_zone(fakedns, "dest.test", [(10, "mx1.dest.test", "127.0.0.2")])
    srv = make_ferry(reach_conf(port, fakedns, timeout_connect="4s",
                                reach_probe_interval="2s",
                                reach_probe_max_interval="2s",
                                fallback_relay=f"[127.0.0.4]:{port}"))
    send(srv, "one@dest.test")
    fb.wait_messages(1)
    down = srv.wait_log(rf"relay reach-down address=127.0.0.2:{port} "
                        r"reason=connect-timeout", timeout=30)
    off = len(srv.log_text()[:down.end()].encode())
    addr = rf"address=127\.0\.0\.2:{port}"
    srv.wait_log(rf"relay probe {addr} probes=1 tls=no wait=1s",
                 since=off, timeout=30)
    text = since(srv, off)
    lines = [m.group(0) for m in re.finditer(
        rf"relay probe(-failed)? {addr} \S+ \S+", text)]
    assert lines[:3] == [
        f"relay probe address=127.0.0.2:{port} probes=0 tls=no",
        f"relay probe-failed address=127.0.0.2:{port} "
        "reason=connect-timeout probes=1",
        f"relay probe address=127.0.0.2:{port} probes=1 tls=no"], lines
    assert re.search(rf"relay probe {addr} probes=0 tls=no wait=1s", text)
    # The path heals: a probe brings it back, direct delivery resumes.
    drop.stop()
    mx = peers.mx("127.0.0.2", port)
    # (was=refused when a probe's SYN met the closed listener)
    srv.wait_log(rf"relay reach-up {addr} was=\S+ "
                 r"down_for=\d+s by=probe", since=off, timeout=30)
    send(srv, "two@dest.test")
    assert mx.wait_messages(1)[0].rcpt_tos == ["two@dest.test"]
    assert len(fb.messages) == 1
