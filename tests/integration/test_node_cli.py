"""`ferry node add|del|list` and `ferry domain node|show` (mailbox homing,
src/cmd/cmd_node.c, src/ops/ops_node.c) on the default SQLite store:
what is stored and listed, and every kind of bad input refused with the
right exit status (2 usage, 1 refused) and nothing changed."""

import json

import pytest


@pytest.fixture
def srv(make_ferry):
    return make_ferry(start=False)      # example.test, alice, bob


def nodes(srv):
    return json.loads(srv.cli_ok("node", "list", "--json").stdout)


def test_node_add_list_replace_del(srv):
    assert nodes(srv) == []
    srv.cli_ok("node", "add", "A", "--smtp", "127.0.0.2:25", "--imap",
               "127.0.0.2:143", "--pop3", "127.0.0.2:110")
    srv.cli_ok("node", "add", "b", "--smtp", "[2001:DB8::0:1]:2525")
    assert nodes(srv) == [
        {"name": "a", "smtp": "127.0.0.2:25", "imap": "127.0.0.2:143",
         "pop3": "127.0.0.2:110"},
        {"name": "b", "smtp": "[2001:db8::1]:2525", "imap": "", "pop3": ""}]
    text = srv.cli_ok("node", "list").stdout
    assert "a smtp=127.0.0.2:25 imap=127.0.0.2:143 pop3=127.0.0.2:110" in text
    assert "b smtp=[2001:db8::1]:2525 imap=- pop3=-" in text
    r = srv.cli("node", "add", "a", "--smtp", "127.0.0.9:25")
    assert r.returncode == 1 and "node exists" in r.stderr
    srv.cli_ok("node", "add", "a", "--smtp", "127.0.0.9:25", "--replace")
    assert nodes(srv)[0] == {"name": "a", "smtp": "127.0.0.9:25",
                             "imap": "", "pop3": ""}
    r = srv.cli("node", "add", "c", "--smtp", "127.0.0.9:25", "--replace")
    assert r.returncode == 1 and "no such node" in r.stderr
    srv.cli_ok("node", "del", "B")
    r = srv.cli("node", "del", "b")
    assert r.returncode == 1 and "b: no such node" in r.stderr
    assert [n["name"] for n in nodes(srv)] == ["a"]


def test_domain_home(srv):
    srv.cli_ok("node", "add", "a", "--smtp", "127.0.0.2:25")
    srv.add_domain("free.test")
    srv.cli_ok("domain", "node", "example.test", "a")
    lines = srv.cli_ok("domain", "list").stdout.splitlines()
    assert lines == ["example.test (node a)", "free.test"]
    data = json.loads(srv.cli_ok("domain", "list", "--json").stdout)
    assert data == [{"domain": "example.test", "node": "a"},
                    {"domain": "free.test", "node": None}]
    show = srv.cli_ok("domain", "show", "example.test").stdout
    assert "node: a (smtp 127.0.0.2:25)" in show
    assert json.loads(srv.cli_ok("domain", "show", "free.test",
                                 "--json").stdout) == \
        {"domain": "free.test", "node": None}
    assert "unchanged" in srv.cli_ok("domain", "node", "example.test",
                                     "a").stdout
    # The home node cannot be deleted while it is one.
    r = srv.cli("node", "del", "a")
    assert r.returncode == 1 and "home of 1 domain" in r.stderr
    srv.cli_ok("domain", "node", "EXAMPLE.test", "--none")
    assert "node: none" in srv.cli_ok("domain", "show",
                                      "example.test").stdout
    srv.cli_ok("node", "del", "a")
    # Deleting a domain takes its home with it.
    srv.cli_ok("node", "add", "a", "--smtp", "127.0.0.2:25")
    srv.cli_ok("domain", "node", "free.test", "a")
    srv.cli_ok("domain", "del", "free.test")
    srv.cli_ok("node", "del", "a")


@pytest.mark.parametrize("args,code,text", [
    (("node",), 2, "usage"),
    (("node", "frob"), 2, "usage"),
    (("node", "add", "a"), 2, "usage"),                   # no --smtp
    (("node", "add", "--smtp", "127.0.0.2:25"), 2, "usage"),
    (("node", "add", "a", "--smtp"), 2, "usage"),
    (("node", "add", "a", "b", "--smtp", "127.0.0.2:25"), 2, "usage"),
    (("node", "add", "a", "--smtp", "127.0.0.2:25", "--smtp",
      "127.0.0.3:25"), 2, "usage"),
    (("node", "add", "a", "--smtp", "127.0.0.2:25", "--json"), 2, "usage"),
    (("node", "add", "a", "--smtp", "mx.example:25"), 1, "no host names"),
    (("node", "add", "a", "--smtp", "127.0.0.2"), 1, "IP:PORT"),
    (("node", "add", "a", "--smtp", "127.0.0.2:0"), 1, "port"),
    (("node", "add", "a", "--smtp", "127.0.0.2:99999"), 1, "port"),
    (("node", "add", "a", "--smtp", "2001:db8::1:25"), 1, "IPv4"),
    (("node", "add", "a", "--smtp", "[2001:db8::1]"), 1, "IP:PORT"),
    (("node", "add", "a", "--smtp", "127.0.0.2:25", "--imap", "x"), 1,
     "imap address"),
    (("node", "add", "a", "--smtp", "127.0.0.2:25", "--pop3", ":110"), 1,
     "pop3 address"),
    (("node", "add", "a_b", "--smtp", "127.0.0.2:25"), 1,
     "invalid node name"),
    (("node", "add", "a.", "--smtp", "127.0.0.2:25"), 1,
     "invalid node name"),
    (("node", "add", "x" * 64, "--smtp", "127.0.0.2:25"), 1, "1 to 63"),
    (("node", "add", "a\x1b[2J", "--smtp", "127.0.0.2:25"), 1,
     "invalid node name"),
    (("node", "del"), 2, "usage"),
    (("node", "del", "a", "b"), 2, "usage"),
    (("node", "del", "nosuch"), 1, "no such node"),
    (("node", "list", "x"), 2, "usage"),
    (("domain", "node", "example.test"), 2, "usage"),
    (("domain", "node", "example.test", "a", "b"), 2, "usage"),
    (("domain", "node", "example.test", "a", "--none"), 2, "usage"),
    (("domain", "node", "example.test", "nosuch"), 1, "no such node"),
    (("domain", "node", "nosuch.test", "--none"), 1, "no such domain"),
    (("domain", "node", "bad..domain", "--none"), 1, "bad..domain"),
    (("domain", "show"), 2, "usage"),
    (("domain", "show", "nosuch.test"), 1, "no such domain"),
])
def test_bad_input(srv, args, code, text):
    before = srv.cli_ok("domain", "list", "--json").stdout
    r = srv.cli(*args)
    assert r.returncode == code, (r.stdout, r.stderr)
    assert text in r.stderr, r.stderr
    assert "\x1b" not in r.stderr
    assert nodes(srv) == []
    assert srv.cli_ok("domain", "list", "--json").stdout == before
