"""A user's forwarding (`ferry user forward`, src/ops/ops_forward.c): the
alias named like the user, so mail is forwarded at RCPT time like any
alias's, with or without a copy kept in the mailbox, and forwarded
remote copies leave with an SRS0 envelope sender when srs is on.  Bad
input is refused with the reason and changes nothing."""

import json
import re

from conftest import make_message
from fakemx import peers, port, relay_conf  # noqa: F401

SRS0 = (r"SRS0=[A-Za-z0-9+/]{4}=[A-Z2-7]{2}=remote\.example="
        r"orig@example\.test")


def server(make_ferry, peers, port, **kw):
    """A server whose remote mail goes to a fake MX at 127.0.0.2."""
    mx = peers.mx("127.0.0.2", port)
    srv = make_ferry(relay_conf(port, route=f"* [127.0.0.2]:{port}", **kw))
    return srv, mx


def send_to_alice(srv, subject="forward me"):
    msg = make_message(sender="orig@remote.example", to="alice@example.test",
                       subject=subject)
    with srv.smtp() as s:
        s.sendmail("orig@remote.example", ["alice@example.test"], msg)
    return msg


def forward_json(srv, addr="alice@example.test"):
    return json.loads(srv.cli_ok("user", "forward", addr, "--json").stdout)


def test_forward_without_copy_goes_out_with_srs(make_ferry, peers, port):
    srv, mx = server(make_ferry, peers, port)
    srv.cli_ok("user", "forward", "alice@example.test", "set",
               "friend@away.test")
    assert forward_json(srv) == {"address": "alice@example.test",
                                 "targets": ["friend@away.test"],
                                 "keep": False}
    send_to_alice(srv)
    got = mx.wait_messages(1)[0]
    assert got.rcpt_tos == ["friend@away.test"]
    assert re.fullmatch(SRS0, got.mail_from), got.mail_from
    assert b"Subject: forward me" in got.data
    srv.barrier()
    assert srv.maildir_files("alice@example.test") == []


def test_forward_with_copy_keeps_one_in_the_mailbox(make_ferry, peers, port):
    srv, mx = server(make_ferry, peers, port)
    srv.cli_ok("user", "forward", "alice@example.test", "set",
               "friend@away.test,other@away.test", "--keep")
    r = srv.cli_ok("user", "forward", "alice@example.test", "show")
    assert r.stdout == ("alice@example.test -> friend@away.test, "
                        "other@away.test (a copy stays in the mailbox)\n")
    send_to_alice(srv)
    got = mx.wait_messages(1)[0]
    assert sorted(got.rcpt_tos) == ["friend@away.test", "other@away.test"]
    assert re.fullmatch(SRS0, got.mail_from), got.mail_from
    kept = srv.wait_delivered("alice@example.test", 1)
    assert b"Subject: forward me" in kept[0]


def test_forward_to_a_local_user_and_clear(make_ferry, peers, port):
    srv, mx = server(make_ferry, peers, port)
    srv.cli_ok("user", "forward", "alice@example.test", "set",
               "Bob@Example.TEST")
    assert forward_json(srv)["targets"] == ["bob@example.test"]
    send_to_alice(srv, "first")
    assert b"Subject: first" in srv.wait_delivered("bob@example.test", 1)[0]
    srv.cli_ok("user", "forward", "alice@example.test", "clear")
    assert forward_json(srv) == {"address": "alice@example.test",
                                 "targets": [], "keep": False}
    send_to_alice(srv, "second")
    assert b"Subject: second" in srv.wait_delivered("alice@example.test",
                                                      1)[0]
    srv.barrier()
    assert len(srv.maildir_files("bob@example.test")) == 1
    assert mx.messages == []


def test_forward_without_srs_keeps_the_sender(make_ferry, peers, port):
    srv, mx = server(make_ferry, peers, port, srs="no")
    srv.cli_ok("user", "forward", "alice@example.test", "set",
               "friend@away.test")
    send_to_alice(srv)
    got = mx.wait_messages(1)[0]
    assert got.mail_from == "orig@remote.example"


def test_forward_loop_between_users_delivers_once(make_ferry, peers, port):
    # As with aliases, resolution breaks the cycle at a mailbox: a loop
    # that reaches a user delivers there instead of losing the mail.
    srv, mx = server(make_ferry, peers, port)
    srv.cli_ok("user", "forward", "alice@example.test", "set",
               "bob@example.test")
    srv.cli_ok("user", "forward", "bob@example.test", "set",
               "alice@example.test")
    send_to_alice(srv)
    srv.wait_delivered("alice@example.test", 1)
    srv.barrier()
    assert len(srv.maildir_files("alice@example.test")) == 1
    assert srv.maildir_files("bob@example.test") == []


def test_forward_bad_input(make_ferry, peers, port):
    srv, mx = server(make_ferry, peers, port)
    srv.add_alias("list@example.test", "alice@example.test")
    cases = [
        (["nobody@example.test", "set", "x@away.test"], 1,
         "nobody@example.test: no such user"),
        (["alice@example.test", "set", "alice@example.test"], 1,
         "that is the mailbox itself"),
        (["alice@example.test", "set", "ghost@example.test"], 1,
         "target ghost@example.test: no such local address"),
        (["alice@example.test", "set", "not an address"], 1,
         "target not an address: "),
        (["alice@example.test", "set", "x@[127.0.0.1]"], 1,
         "address literals are not allowed"),
        (["alice@example.test", "set", ",".join(
            f"u{i}@away.test" for i in range(17))], 1, "too many targets"),
        (["alice@example.test", "set", " , "], 1, "no targets given"),
        (["alice@example.test", "set"], 2, "usage:"),
        (["alice@example.test", "clear", "--keep"], 2, "usage:"),
        (["alice@example.test", "frobnicate"], 2, "usage:"),
        (["bad address", "show"], 1, "bad address: "),
    ]
    for args, code, text in cases:
        r = srv.cli("user", "forward", *args)
        assert r.returncode == code, (args, r)
        assert text in r.stderr, (args, r.stderr)
    # Nothing was set by any of them; an alias pointing at the user is
    # a target, not a forward.
    assert forward_json(srv)["targets"] == []
    aliases = json.loads(srv.cli_ok("alias", "list", "--json").stdout)
    assert [a["address"] for a in aliases] == ["list@example.test"]


def test_user_del_takes_its_forward_hold_and_limits(make_ferry, peers,
                                                    port):
    """Deleting a user deletes its account's pieces: the forward (which
    would keep sending its mail away), a send-hold and limit overrides
    (which would bind a new account made under the same address).  The
    user's own forward with a copy is not an alias "pointing at" it, so
    no --force is needed."""
    srv, mx = server(make_ferry, peers, port)
    srv.cli_ok("user", "forward", "alice@example.test", "set",
               "friend@away.test", "--keep")
    srv.cli_ok("user", "limit", "alice@example.test", "--messages-per-hour",
               "7")
    srv.cli_ok("user", "send-hold", "alice@example.test")
    r = srv.cli_ok("user", "del", "alice@example.test")
    assert r.stdout == ("deleted alice@example.test; its forward to "
                        "friend@away.test removed; its "
                        "send-hold lifted; its sending limits removed\n"), \
        r.stdout
    assert "alice@example.test" not in srv.cli_ok("alias", "list").stdout
    with srv.smtp() as s:
        s.ehlo()
        s.mail("orig@remote.example")
        code, text = s.rcpt("alice@example.test")
    assert code == 550, (code, text)
    # The same address made again starts clean.
    srv.add_user("alice@example.test")
    info = srv.cli_ok("user", "limit", "alice@example.test").stdout
    assert "messages in the last hour: 0 of 300 (default)" in info and \
        "send-hold: no" in info, info
    assert forward_json(srv)["targets"] == []
    # Without any of them, user del says only that it deleted.
    r = srv.cli_ok("user", "del", "alice@example.test")
    assert r.stdout == "", r.stdout
