"""The inbound check pipeline end to end against FakeDNS: DNSBLs,
reverse DNS, sender domains, HELO names, client lists, the connection
rate, trusted clients, exemptions and the order of `checks`.

Connect, HELO and MAIL verdicts are answered at RCPT (so that a
recipient domain's rules can still override them); the dictionary-attack
block and the rate limit answer at once.  See test_policy_state.py for
greylisting, the dictionary-attack block and transcripts."""

import re

import pytest

from conftest import RawSMTP, header
from fakedns import FakeDNS, fakedns  # noqa: F401
from policy_util import dialogue, policy_server, rcpt_code, rptr

IP = "127.0.0.1"


# ------------------------------------------------------------ DNSBL

def test_dnsbl_listed_rejects_naming_the_list(make_ferry, fakedns):
    fakedns.add(rptr(IP, "bl.test"), "A", "127.0.0.2")
    fakedns.add(rptr(IP, "bl.test"), "TXT", "Listed for spamming, see bl.test")
    srv = policy_server(make_ferry, fakedns, dnsbl="clean.test, bl.test")
    d = dialogue(srv)
    assert d["greeting"].code == 220 and d["mail"].code == 250
    r = d["rcpts"][0]
    assert r.code == 554 and r.enhanced == "5.7.1", r
    assert "bl.test" in r.text and "Listed for spamming" in r.text
    assert "clean.test" not in r.text
    # Both zones were asked (in parallel, before the greeting).
    assert fakedns.asked(rptr(IP, "clean.test"), "A") >= 1
    srv.wait_log(r"policy check=dnsbl stage=connect verdict=reject .*list=bl\.test")
    srv.wait_log(r"policy decision stage=rcpt verdict=reject .*check=dnsbl")


def test_dnsbl_answer_outside_127_and_dns_failure_accept(make_ferry, fakedns):
    fakedns.add(rptr(IP, "odd.test"), "A", "192.0.2.1")
    fakedns.servfail(rptr(IP, "broken.test"))
    fakedns.add(rptr(IP, "err.test"), "A", "127.255.255.254")
    srv = policy_server(make_ferry, fakedns,
                        dnsbl="odd.test, broken.test, err.test")
    d = dialogue(srv)
    assert d["rcpts"][0].code == 250, d
    assert d["data"].code == 250
    srv.wait_log(r"check=dnsbl stage=connect verdict=accept .*dns_failed=broken\.test")


def test_dnsbl_tag_only_adds_header(make_ferry, fakedns):
    fakedns.add(rptr(IP, "bl.test"), "A", "127.0.0.2")
    srv = policy_server(make_ferry, fakedns, dnsbl="bl.test",
                        dnsbl_action="tag")
    d = dialogue(srv)
    assert d["rcpts"][0].code == 250 and d["data"].code == 250, d
    msg = srv.wait_delivered("alice@example.test")[0]
    tags = header(msg, "X-DNSBL")
    assert tags and "bl.test" in tags[0] and "[127.0.0.1]" in tags[0]
    # Right after the Received header it belongs to.
    names = [line.split(b":", 1)[0] for line in msg.split(b"\r\n")[:6]]
    assert names.index(b"X-DNSBL") > names.index(b"Received")
    srv.wait_log(r"check=dnsbl stage=connect verdict=tag")


# ------------------------------------------------------------ reverse DNS

def test_rdns_ptr_missing_and_dns_trouble(make_ferry, fakedns):
    fakedns.servfail(rptr("127.0.0.2"))
    srv = policy_server(make_ferry, fakedns, require_rdns="ptr")
    r = rcpt_code(srv)
    assert r.code == 550 and r.enhanced == "5.7.25", r
    r = rcpt_code(srv, source="127.0.0.2")
    assert r.code == 450 and r.enhanced == "4.7.25", r


def test_rdns_ptr_present_passes_without_forward_match(make_ferry, fakedns):
    fakedns.add(rptr(IP), "PTR", "host.sender.test")
    srv = policy_server(make_ferry, fakedns, require_rdns="ptr")
    assert rcpt_code(srv).code == 250


def test_rdns_fcrdns(make_ferry, fakedns):
    fakedns.add(rptr("127.0.0.1"), "PTR", "good.sender.test")
    fakedns.add("good.sender.test", "A", "127.0.0.1")
    fakedns.add(rptr("127.0.0.2"), "PTR", "liar.sender.test")
    fakedns.add("liar.sender.test", "A", "127.0.0.9")
    fakedns.add(rptr("127.0.0.3"), "PTR", "flaky.sender.test")
    fakedns.servfail("flaky.sender.test")
    srv = policy_server(make_ferry, fakedns, require_rdns="fcrdns")
    assert rcpt_code(srv).code == 250
    r = rcpt_code(srv, source="127.0.0.2")
    assert r.code == 550 and r.enhanced == "5.7.25", r
    r = rcpt_code(srv, source="127.0.0.3")
    assert r.code == 450 and r.enhanced == "4.7.25", r
    srv.wait_log(r"check=rdns stage=connect verdict=accept ptr=good\.sender\.test")


# ------------------------------------------------------------ MAIL FROM

@pytest.mark.parametrize("sender,code,enhanced", [
    ("a@mx.sender.test", 250, None),
    ("a@aonly.sender.test", 250, None),
    ("a@aaaaonly.sender.test", 250, None),
    ("a@gone.sender.test", 553, "5.1.8"),
    ("a@txtonly.sender.test", 553, "5.1.8"),
    ("a@broken.sender.test", 451, "4.4.3"),
    ("a@nullmx.sender.test", 550, "5.7.27"),
    ("", 250, None),
])
def test_mfcheck(make_ferry, fakedns, sender, code, enhanced):
    fakedns.add("mx.sender.test", "MX", "10 mail.sender.test")
    fakedns.add("aonly.sender.test", "A", "192.0.2.10")
    fakedns.add("aaaaonly.sender.test", "AAAA", "2001:db8::10")
    fakedns.nxdomain("gone.sender.test")
    fakedns.add("txtonly.sender.test", "TXT", "v=spf1 -all")
    fakedns.servfail("broken.sender.test")
    fakedns.add("nullmx.sender.test", "MX", "0 .")
    srv = policy_server(make_ferry, fakedns, mfcheck="yes")
    d = dialogue(srv, sender=sender, data=False)
    assert d["mail"].code == 250          # decided at RCPT
    r = d["rcpts"][0]
    assert r.code == code, (sender, r)
    if enhanced:
        assert r.enhanced == enhanced, r
        assert "DNS temporary failure" in r.text or code != 451


# ------------------------------------------------------------ HELO

@pytest.mark.parametrize("helo,ok", [
    ("mail.sender.test", True),
    ("[127.0.0.1]", True),
    ("127.0.0.1", False),
    ("mx.example.test", False),           # the server's own hostname
    ("localhost", False),
    ("bad_name!.test", False),
])
def test_helo_checks(make_ferry, fakedns, helo, ok):
    srv = policy_server(make_ferry, fakedns, helo_reject_malformed="yes",
                        helo_reject_bare_ip="yes", helo_reject_self="yes")
    d = dialogue(srv, helo=helo, data=False)
    assert d["ehlo"].code == 250
    r = d["rcpts"][0]
    if ok:
        assert r.code == 250, r
    else:
        assert r.code == 550 and r.enhanced == "5.7.1", r
        assert "HELO" in r.text


def test_helo_checks_each_configurable(make_ferry, fakedns):
    srv = policy_server(make_ferry, fakedns, helo_reject_bare_ip="yes")
    assert rcpt_code(srv, helo="localhost").code == 250
    assert rcpt_code(srv, helo="127.0.0.1").code == 550


# ------------------------------------------------------------ client lists, rate

def test_client_deny_and_allow(make_ferry, fakedns):
    fakedns.add(rptr("127.0.0.3", "bl.test"), "A", "127.0.0.2")
    srv = policy_server(make_ferry, fakedns, client_deny="127.0.0.2",
                        client_allow="127.0.0.3", dnsbl="bl.test")
    r = rcpt_code(srv, source="127.0.0.2")
    assert r.code == 554 and r.enhanced == "5.7.1" and "127.0.0.2" in r.text
    # Allowed: the DNSBL listing does not count.
    assert rcpt_code(srv, source="127.0.0.3").code == 250
    assert rcpt_code(srv).code == 250


def test_connection_rate_limit(make_ferry, fakedns):
    srv = policy_server(make_ferry, fakedns, conn_rate_limit="2",
                        conn_rate_window="1h")
    for _ in range(2):
        with RawSMTP(srv.port) as c:
            assert c.greeting.code == 220
    with RawSMTP(srv.port) as c:
        assert c.greeting.code == 421 and c.greeting.enhanced == "4.7.0"
        assert c.wait_closed()
    with RawSMTP(srv.port, source="127.0.0.2") as c:
        assert c.greeting.code == 220
    srv.wait_log(r"check=rate stage=connect verdict=tempfail code=421")


# ------------------------------------------------------------ trust, exemptions, order

def test_trusted_clients_skip_checks(make_ferry, fakedns):
    fakedns.add(rptr(IP, "bl.test"), "A", "127.0.0.2")
    srv = policy_server(make_ferry, fakedns, dnsbl="bl.test",
                        relay_networks="127.0.0.1/32")
    assert rcpt_code(srv).code == 250
    assert rcpt_code(srv, source="127.0.0.2").code == 250   # not listed
    srv.stop()
    srv.set_conf(check_trusted_clients="yes")
    srv.start()
    assert rcpt_code(srv).code == 554


def test_exemption_skips_only_named_checks(make_ferry, fakedns):
    fakedns.nxdomain("gone.sender.test")
    srv = policy_server(make_ferry, fakedns, mfcheck="yes",
                        helo_reject_bare_ip="yes", **{"exempt": "127.0.0.1 mfcheck"})
    assert rcpt_code(srv, sender="a@gone.sender.test").code == 250
    r = rcpt_code(srv, sender="a@gone.sender.test", source="127.0.0.2")
    assert r.code == 553
    # Only mfcheck: the HELO check still applies to the exempted client.
    assert rcpt_code(srv, helo="127.0.0.1").code == 550
    srv.wait_log(r"policy check=mfcheck stage=mail verdict=skip why=exempt")


@pytest.mark.parametrize("order,code", [("rdns, dnsbl", 550), ("dnsbl, rdns", 554)])
def test_checks_order_decides_first_verdict(make_ferry, fakedns, order, code):
    fakedns.add(rptr(IP, "bl.test"), "A", "127.0.0.2")
    srv = policy_server(make_ferry, fakedns, dnsbl="bl.test",
                        require_rdns="ptr", checks=order)
    assert rcpt_code(srv).code == code


def test_checks_off_by_default(make_ferry, fakedns):
    srv = policy_server(make_ferry, fakedns)
    d = dialogue(srv, helo="127.0.0.1", sender="a@gone.sender.test")
    assert d["rcpts"][0].code == 250 and d["data"].code == 250
    assert fakedns.queries == [] or all(
        not n.endswith("in-addr.arpa") for n, _, _ in fakedns.queries)
    assert not re.search(r"policy check=", srv.log_text())
