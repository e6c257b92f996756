"""No unauthenticated relaying through any address trick (DESIGN.md
rule 2).  A client outside relay_networks, without AUTH, tries every
classic way of getting mail for a remote domain accepted through a local
one; each must get a 5xx and nothing may reach the queue."""

import os

import pytest

from certs import client_context, make_tls_ferry
from conftest import RawSMTP, make_message

TRICKS = [
    "user%remote.example@example.test",          # percent hack
    "user%remote.example%example.test@example.test",
    "remote.example!user@example.test",          # bang path
    "remote.example!user",
    "@example.test:user@remote.example",         # source route (RFC 5321 C)
    "@example.test,@example.test:user@remote.example",
    '"user@remote.example"@example.test',        # quoted @
    '"user%remote.example"@example.test',
    '"remote.example!user"@example.test',
    '"user\\@remote.example"@example.test',       # quoted-pair escape
    "user@remote.example@example.test",          # two @
    "user@example.test@remote.example",
    "user\\@remote.example@example.test",
    "user@[192.0.2.1]",                          # address literals
    "user@[127.0.0.1]",
    "user@[IPv6:::1]",
    "user@[IPv6:2001:db8::1]",
    "postmaster@[127.0.0.1]",
    "user@remote.example.",                      # trailing dot
    "user@REMOTE.Example",                       # mixed case
    "user@example.test.remote.example",          # local name as prefix
    "user@remote-example.test",
    "user@localhost",
    "user=40remote.example@example.test",         # xtext-style encoding
    "user%40remote.example@example.test",         # URL-style encoding
    "user@remote.example%example.test",
    "user@[example.test]",
    "postmaster@remote.example",
    "user@rémote.example",                       # UTF-8 without SMTPUTF8
]


def spool_files(srv):
    out = []
    for sub in ("queue", "tmp"):
        d = srv.state_dir / "spool" / sub
        for root, _, files in os.walk(d):
            out.extend(os.path.join(root, f) for f in files)
    return out


def assert_nothing_queued(srv):
    srv.barrier()        # anything accepted would have been delivered/queued
    assert srv.queue_json() == []
    assert spool_files(srv) == []


@pytest.mark.parametrize("rcpt", TRICKS)
def test_relay_trick_refused(ferry, rcpt):
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<attacker@remote.example>", 250)
        r = c.cmd(f"RCPT TO:<{rcpt}>")
        assert 500 <= r.code < 600, f"{rcpt}: {r!r}"
        r = c.cmd("DATA")
        assert r.code in (503, 554), r
    assert_nothing_queued(ferry)


# Many unknown recipients from one client would trip the dictionary-attack
# block (on by default); this test is about relay control alone.
@pytest.mark.ferry_conf(bad_rcpt_limit="0")
def test_all_tricks_in_one_pipelined_transaction(ferry):
    """Every trick at once, pipelined, then a message: still nothing."""
    with ferry.raw() as c:
        c.ehlo()
        lines = ["MAIL FROM:<attacker@remote.example>"]
        lines += [f"RCPT TO:<{t}>" for t in TRICKS]
        lines += ["DATA"]
        c.send("".join(l + "\r\n" for l in lines).encode("utf-8"))
        replies = c.replies(len(lines))
        assert replies[0].code == 250
        for t, r in zip(TRICKS, replies[1:-1]):
            assert 500 <= r.code < 600, f"{t}: {r!r}"
        assert replies[-1].code in (503, 554), replies[-1]
        c.send(make_message(to="user@remote.example") + b"\r\n.\r\n")
        # The message lines are read as commands now: all refused.
    assert_nothing_queued(ferry)


def test_unbracketed_and_spaced_forms(ferry):
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<attacker@remote.example>", 250)
        for line in ("RCPT TO:user@remote.example",
                     "RCPT TO: <user@remote.example>",
                     "RCPT TO:<user@remote.example> NOTIFY=NEVER",
                     "RCPT TO:<<user@remote.example>>",
                     "RCPT TO:<user@remote.example>\x00<alice@example.test>"):
            r = c.cmd(line)
            assert 500 <= r.code < 600, f"{line!r}: {r!r}"
    assert_nothing_queued(ferry)


def test_local_recipients_still_work(ferry):
    """The defence is not a blanket refusal: real local mail, including
    +extensions and case variants, is accepted."""
    with ferry.smtp() as s:
        s.sendmail("sender@remote.example",
                   ["ALICE@Example.Test", "alice+tag@example.test."],
                   make_message())
    ferry.wait_delivered("alice@example.test")


def test_submission_port_refuses_unauthenticated(make_ferry, tmp_path):
    srv = make_tls_ferry(make_ferry, tmp_path)
    with RawSMTP(srv.sub_port) as c:
        c.ehlo()
        assert c.cmd("STARTTLS").code == 220
        c.sock = client_context().wrap_socket(c.sock)
        c.ehlo()
        assert c.cmd("MAIL FROM:<attacker@remote.example>").code == 530
        for t in TRICKS[:5] + ["user@remote.example"]:
            r = c.cmd(f"RCPT TO:<{t}>")
            assert 500 <= r.code < 600, r
        assert c.cmd("DATA").code == 503
    assert_nothing_queued(srv)
