"""Per-domain rules: `ferry rule add|list|del` and their effect at RCPT.
Every rule kind (allow sender ADDRESS, allow sender @DOMAIN, allow ip,
skip CHECK, deny sender, deny ip) against every system check it can
override (client, dnsbl, rdns, helo, mfcheck, greylist), for the rule's
domain only.  Rules are read per RCPT: no reload is needed."""

import json
import re

import pytest

from fakedns import FakeDNS, fakedns  # noqa: F401
from policy_util import OTHER, dialogue, policy_server, rcpt_code, rptr

SENDER = "someone@gone.sender.test"

# check -> (config that makes 127.0.0.1 fail it, extra dialogue args, code)
FAILING = {
    "client": ({"client_deny": "127.0.0.1"}, {}, 554),
    "dnsbl": ({"dnsbl": "bl.test"}, {}, 554),
    "rdns": ({"require_rdns": "ptr"}, {}, 550),
    "helo": ({"helo_reject_bare_ip": "yes"}, {"helo": "127.0.0.1"}, 550),
    "mfcheck": ({"mfcheck": "yes"}, {}, 553),
    "greylist": ({"greylist": "yes", "greylist_delay": "1h"}, {}, 451),
}


def rule_add(srv, *args):
    r = srv.cli_ok("rule", "add", *args)
    m = re.search(r"rule (\d+) added", r.stdout)
    assert m, r.stdout
    return m.group(1)


@pytest.fixture
def dns(fakedns):
    fakedns.add(rptr("127.0.0.1", "bl.test"), "A", "127.0.0.2")
    fakedns.nxdomain("gone.sender.test")
    fakedns.add("fine.sender.test", "MX", "10 mx.fine.sender.test")
    return fakedns


@pytest.mark.parametrize("check", sorted(FAILING))
def test_rules_override_each_system_check(make_ferry, dns, check):
    conf, kw, code = FAILING[check]
    srv = policy_server(make_ferry, dns, **conf)

    def code_for(rcpt="alice@example.test", sender=SENDER):
        return rcpt_code(srv, rcpt=rcpt, sender=sender, **kw).code

    assert code_for() == code
    # skip CHECK: that check does not count for this domain only.
    rid = rule_add(srv, "example.test", "skip", check)
    assert code_for() == 250
    assert code_for("carol@" + OTHER) == code
    srv.cli_ok("rule", "del", rid)
    assert code_for() == code
    # allow sender ADDRESS: that sender only.
    rid = rule_add(srv, "example.test", "allow", "sender", SENDER)
    assert code_for() == 250
    if check != "mfcheck":
        assert code_for(sender="other@gone.sender.test") == code
    srv.wait_log(rf"policy decision stage=rcpt verdict=allow .*rule={rid} ")
    srv.cli_ok("rule", "del", rid)
    # allow sender @DOMAIN, allow ip CIDR.
    rid = rule_add(srv, "example.test", "allow", "sender", "@Gone.Sender.Test")
    assert code_for() == 250
    srv.cli_ok("rule", "del", rid)
    rid = rule_add(srv, "example.test", "allow", "ip", "127.0.0.0/8")
    assert code_for() == 250
    assert code_for("carol@" + OTHER) == code
    # deny wins over allow.
    did = rule_add(srv, "example.test", "deny", "ip", "127.0.0.1")
    assert code_for() == 550
    srv.wait_log(rf"policy decision stage=rcpt verdict=reject .*check=rule rule={did} ")


def test_deny_rules(make_ferry, dns):
    srv = policy_server(make_ferry, dns)
    assert rcpt_code(srv, sender="a@fine.sender.test").code == 250
    rid = rule_add(srv, "example.test", "deny", "sender", "A@fine.sender.test")
    r = rcpt_code(srv, sender="a@fine.sender.test")
    assert r.code == 550 and r.enhanced == "5.7.1" and f"rule {rid}" in r.text
    assert rcpt_code(srv, sender="b@fine.sender.test").code == 250
    assert rcpt_code(srv, rcpt="carol@" + OTHER,
                     sender="a@fine.sender.test").code == 250
    srv.cli_ok("rule", "del", rid)
    rule_add(srv, "example.test", "deny", "sender", "@fine.sender.test")
    assert rcpt_code(srv, sender="b@fine.sender.test").code == 550
    rule_add(srv, OTHER, "deny", "ip", "127.0.0.2/32")
    assert rcpt_code(srv, rcpt="carol@" + OTHER, source="127.0.0.2").code == 550
    assert rcpt_code(srv, rcpt="carol@" + OTHER).code == 250
    # The null sender.
    rule_add(srv, OTHER, "deny", "sender", "<>")
    assert rcpt_code(srv, rcpt="carol@" + OTHER, sender="").code == 550


def test_rules_apply_per_recipient_in_one_message(make_ferry, dns):
    srv = policy_server(make_ferry, dns, dnsbl="bl.test")
    rule_add(srv, OTHER, "skip", "dnsbl")
    d = dialogue(srv, rcpts=("alice@example.test", "carol@" + OTHER))
    assert [r.code for r in d["rcpts"]] == [554, 250]
    assert d["data"].code == 250
    srv.wait_delivered("carol@" + OTHER)
    assert srv.maildir_messages("alice@example.test") == []


def test_rule_cli(make_ferry, dns):
    srv = policy_server(make_ferry, dns, start=False)
    a = rule_add(srv, "example.test", "allow", "sender", "Boss@Partner.test")
    b = rule_add(srv, "example.test", "skip", "dnsbl, rdns", "greylist")
    c = rule_add(srv, OTHER, "deny", "ip", "192.0.2.0/24")
    out = srv.cli_ok("rule", "list", "example.test").stdout.splitlines()
    assert out == [f"{a} example.test allow sender boss@partner.test",
                   f"{b} example.test skip dnsbl,rdns,greylist"]
    doc = json.loads(srv.cli_ok("rule", "list", "--json").stdout)
    assert [(r["id"], r["domain"], r["action"], r["kind"], r["value"])
            for r in doc] == [
        (int(a), "example.test", "allow", "sender", "boss@partner.test"),
        (int(b), "example.test", "skip", "check", "dnsbl,rdns,greylist"),
        (int(c), OTHER, "deny", "ip", "192.0.2.0/24")]
    srv.cli_ok("rule", "del", b)
    assert len(srv.cli_ok("rule", "list", "example.test").stdout.splitlines()) == 1
    for args, status in [
            (("add", "nosuch.test", "deny", "ip", "192.0.2.1"), 1),
            (("add", "example.test", "skip", "nonsense"), 1),
            (("add", "example.test", "deny", "ip", "not-an-ip"), 1),
            (("add", "example.test", "deny", "sender", "bad address"), 1),
            (("del", b), 1),
            (("list", "nosuch.test"), 1),
            (("add", "example.test", "deny", "host", "x"), 2),
            (("add", "example.test", "maybe", "ip", "192.0.2.1"), 2),
            (("add", "example.test", "allow", "ip"), 2),
            (("del", "abc"), 2),
            ((), 2),
            (("frobnicate",), 2)]:
        r = srv.cli("rule", *args)
        assert r.returncode == status, (args, r.returncode, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, (args, r.stderr)
    # Deleting the domain deletes its rules.
    srv.cli_ok("domain", "del", OTHER, "--force")
    assert srv.cli_ok("rule", "list").stdout.count(OTHER) == 0
