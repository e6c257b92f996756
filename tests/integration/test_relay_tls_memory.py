"""TLS-broken memory per address (issue 12): a peer whose STARTTLS
handshake hangs is remembered (in state_dir/reachability, so across a
restart), the next messages prefer the other addresses of the same
preference (tls=may) or skip it (encrypt, with a fallback relay), and a
background TLS probe (greeting, EHLO, STARTTLS, handshake) ends the
memory once the handshake works again.  `ferry check reach` and
`ferry status` show it.  Nothing is timed."""

import json
import re

import pytest

from conftest import wait_until
from fakedns import fakedns  # noqa: F401 (fixture)
from fakemx import (make_cert, mx_zone, peers, port,  # noqa: F401
                    reach_file, relay_conf, send, since)


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    return make_cert(tmp_path_factory.mktemp("cert"))


def tls_conf(port, dns, **kw):
    c = dict(timeout_connect="1s", timeout_helo="1s", timeout_tls="1s",
             host_down_memory="6s", tls_broken_memory="1h",
             reach_probe_interval="1s")
    c.update(kw)
    return relay_conf(port, dns, **c)


def test_tls_hang_prefers_other_address_then_probed_back(
        make_ferry, fakedns, peers, port, cert):
    bad = peers.mx("127.0.0.2", port, tls=cert, broken_tls=True)
    good = peers.mx("127.0.0.3", port)
    # hang.test reaches only the broken address; shared.test has both,
    # at one preference.
    mx_zone(fakedns, "hang.test", [(10, "mx1.hang.test", "127.0.0.2")])
    fakedns.add("shared.test", "MX", "10 mx.shared.test")
    fakedns.add("mx.shared.test", "A", "127.0.0.2")
    fakedns.add("mx.shared.test", "A", "127.0.0.3")
    # No probes before the restart: the memory must come from the file.
    srv = make_ferry(tls_conf(port, fakedns, reach_probe_interval="0"))
    send(srv, "one@hang.test")
    bad.wait_messages(1)                  # in plaintext after the hang
    srv.wait_log(rf"relay reach-tls-broken address=127\.0\.0\.2:{port} "
                 r"reason=tls-hang")
    wait_until(lambda: "tls=tls-hang" in reach_file(srv), 10,
               what="the TLS failure saved")
    srv.restart()
    off = srv.log_offset()
    for i in range(4):
        send(srv, f"u{i}@shared.test")
    good.wait_messages(4)
    later = since(srv, off)
    assert len(bad.messages) == 1         # the other address was preferred
    assert "tls-failed" not in later
    r = srv.cli("check", "reach")
    assert r.returncode == 0, r.stderr
    assert re.search(rf"^127\.0\.0\.2:{port}\s+up, .*TLS broken \(tls-hang\)",
                     r.stdout, re.M), r.stdout
    r = srv.cli("status")
    assert "reachability: 0 addresses down, 1 TLS-broken" in r.stdout, \
        r.stdout
    doc = json.loads(srv.cli("status", "--json").stdout)
    assert doc["reachability"] == {"down": 0, "tls_broken": 1}
    # The path heals; with probes on, a TLS probe ends the memory.
    bad.broken_tls = False
    srv.set_conf(reach_probe_interval="1s")
    srv.restart()
    srv.wait_log(rf"relay reach-tls-ok address=127\.0\.0\.2:{port} "
                 r"was=tls-hang broken_for=\d+s by=probe", timeout=30)
    wait_until(lambda: re.search(rf"^127\.0\.0\.2:{port} down=ok .*tls=ok ",
                                 reach_file(srv), re.M), 10,
               what="the healed address saved")
    doc = json.loads(srv.cli("status", "--json").stdout)
    assert doc["reachability"] == {"down": 0, "tls_broken": 0}
    # One line per change.
    assert len(re.findall(r"reach-tls-broken address=127\.0\.0\.2",
                          srv.log_text())) == 1


def test_tls_required_probe_restores_direct_delivery(
        make_ferry, fakedns, peers, port, cert):
    bad = peers.mx("127.0.0.2", port, tls=cert, broken_tls=True)
    fb = peers.mx("127.0.0.4", port)
    mx_zone(fakedns, "dest.test", [(10, "mx1.dest.test", "127.0.0.2")])
    srv = make_ferry(tls_conf(port, fakedns, tls_policy="* encrypt",
                              fallback_relay=f"[127.0.0.4]:{port} tls=none"))
    send(srv, "one@dest.test")
    fb.wait_messages(1)
    srv.wait_log(rf"relay reach-tls-broken address=127\.0\.0\.2:{port}")
    # Never downgraded: nothing reached the broken host in plaintext.
    assert bad.messages == []
    bad.broken_tls = False
    srv.wait_log(rf"relay reach-tls-ok address=127\.0\.0\.2:{port} "
                 r".*by=probe", timeout=30)
    send(srv, "two@dest.test")
    got = bad.wait_messages(1)
    assert got[0].rcpt_tos == ["two@dest.test"]
    assert len(fb.messages) == 1
    srv.wait_log(r"relay delivery rcpt=two@dest.test .*result=sent")


def test_tls_probe_of_host_without_starttls_keeps_memory(
        make_ferry, fakedns, peers, port, cert):
    # The address stops offering STARTTLS: the probe cannot show that TLS
    # works, so the memory stays (refreshed), and nothing is downgraded.
    bad = peers.mx("127.0.0.2", port, tls=cert, broken_tls=True)
    mx_zone(fakedns, "dest.test", [(10, "mx1.dest.test", "127.0.0.2")])
    srv = make_ferry(tls_conf(port, fakedns, log_level="debug"))
    send(srv, "one@dest.test")
    bad.wait_messages(1)
    srv.wait_log(rf"relay reach-tls-broken address=127\.0\.0\.2:{port}")
    bad.stop()
    plain = peers.mx("127.0.0.2", port)
    srv.wait_log(rf"relay probe-tls-failed address=127\.0\.0\.2:{port} "
                 r"reason=tls-failed", timeout=30)
    assert "reach-tls-ok" not in srv.log_text()
    assert plain.messages == []
