"""Who gets what: aliases, catch-all, plus-addressing, case, unknown
users, and the relay decision (strangers vs relay_networks)."""

import pytest

from conftest import header, make_message, queue_id, wait_until


def send(ferry, rcpts, sender="sender@remote.example", **kw):
    with ferry.smtp() as s:
        refused = s.sendmail(sender, rcpts, make_message(**kw))
    assert refused == {}, refused


def rcpt_reply(ferry, rcpt, sender="sender@remote.example"):
    with ferry.raw() as c:
        c.ehlo()
        c.expect(f"MAIL FROM:<{sender}>", 250)
        return c.cmd(f"RCPT TO:<{rcpt}>")


# ------------------------------------------------------------ aliases

def test_alias_to_several_local_users(ferry):
    ferry.add_alias("team@example.test", "alice@example.test", "bob@example.test")
    send(ferry, ["team@example.test"], subject="team mail")
    for u in ("alice@example.test", "bob@example.test"):
        (m,) = ferry.wait_delivered(u)
        assert header(m, "Subject") == ["team mail"]


def test_alias_added_while_running_takes_effect(ferry):
    assert rcpt_reply(ferry, "sales@example.test").code == 550
    ferry.add_alias("sales@example.test", "bob@example.test")
    send(ferry, ["sales@example.test"])
    ferry.wait_delivered("bob@example.test")


def test_alias_to_remote_address_waits_in_queue(ferry):
    # The recipient is local (an alias), so a stranger may send to it;
    # the expansion is remote, so the message waits for remote delivery.
    ferry.add_alias("fwd@example.test", "someone@remote.example")
    send(ferry, ["fwd@example.test"])

    def queued():
        q = ferry.queue_json()
        return [r for m in q for r in m["recipients"]
                if r["addr"] == "someone@remote.example"]
    (r,) = wait_until(queued, 10, what="alias expansion in the queue")
    assert r["local"] is False
    assert r["state"] == "pending"


def test_alias_mixing_local_and_remote(ferry):
    ferry.add_alias("mix@example.test", "alice@example.test", "someone@remote.example")
    send(ferry, ["mix@example.test"])
    ferry.wait_delivered("alice@example.test")
    wait_until(lambda: any(r["addr"] == "someone@remote.example"
                           for m in ferry.queue_json() for r in m["recipients"]),
               10, what="remote part of the alias in the queue")


def test_alias_chain(ferry):
    ferry.add_alias("a1@example.test", "a2@example.test")
    ferry.add_alias("a2@example.test", "bob@example.test")
    send(ferry, ["a1@example.test"])
    ferry.wait_delivered("bob@example.test")


def test_alias_loop_does_not_crash(ferry):
    ferry.add_alias("loop1@example.test", "loop2@example.test")
    # `alias add` refuses the loop that would reach no mailbox (issue
    # 13); one that also reaches alice is allowed.
    r = ferry.cli("alias", "add", "loop2@example.test", "loop1@example.test")
    assert r.returncode == 1 and "alias loop" in r.stderr, r
    ferry.add_alias("self@example.test", "self@example.test", "alice@example.test")
    smtpd, queue = ferry.role_pid("smtpd"), ferry.role_pid("queue")
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example>", 250)
        r1 = c.cmd("RCPT TO:<loop1@example.test>")
        r2 = c.cmd("RCPT TO:<self@example.test>")
        assert r1.code in (250, 550, 554, 553, 450, 451), r1
        assert r2.code in (250, 550, 554, 553, 450, 451), r2
        if r1.code == 250 or r2.code == 250:
            c.expect("DATA", 354)
            c.send(make_message() + b".\r\n")
            assert c.reply().code in (250, 451, 554)
        c.expect("QUIT", 221)
    # The server still works and no role died.
    ferry.barrier()
    assert ferry.role_pid("smtpd") == smtpd and ferry.role_pid("queue") == queue
    if r2.code == 250:
        ferry.wait_delivered("alice@example.test")


def test_catch_all(ferry):
    ferry.add_alias("@example.test", "bob@example.test")
    send(ferry, ["whoever@example.test"], subject="to catch-all")
    (m,) = ferry.wait_delivered("bob@example.test")
    assert header(m, "Subject") == ["to catch-all"]
    # Existing users still get their own mail, not the catch-all's.
    send(ferry, ["alice@example.test"], subject="for alice")
    ferry.wait_delivered("alice@example.test")
    ferry.barrier()
    assert len(ferry.maildir_messages("bob@example.test")) == 1


def test_catch_all_does_not_cover_other_domains(ferry):
    ferry.add_domain("other.test")
    ferry.add_alias("@example.test", "bob@example.test")
    assert rcpt_reply(ferry, "whoever@other.test").code == 550


# ------------------------------------------------------------ plus, case

def test_plus_addressing(ferry):
    send(ferry, ["alice+lists@example.test"], subject="tagged")
    (m,) = ferry.wait_delivered("alice@example.test")
    assert header(m, "Subject") == ["tagged"]


def test_plus_addressing_unknown_user_rejected(ferry):
    r = rcpt_reply(ferry, "nobody+tag@example.test")
    assert r.code == 550 and r.enhanced == "5.1.1", r


def test_plus_addressing_on_alias(ferry):
    ferry.add_alias("team@example.test", "bob@example.test")
    send(ferry, ["team+x@example.test"])
    ferry.wait_delivered("bob@example.test")


@pytest.mark.ferry_conf(recipient_delimiter="-")
def test_other_recipient_delimiter(ferry):
    send(ferry, ["alice-news@example.test"])
    ferry.wait_delivered("alice@example.test")
    assert rcpt_reply(ferry, "alice+news@example.test").code == 550


def test_local_part_and_domain_case_insensitive(ferry):
    send(ferry, ["ALICE@Example.TEST", "Bob@EXAMPLE.test"])
    ferry.wait_delivered("alice@example.test")
    ferry.wait_delivered("bob@example.test")


def test_user_added_with_capitals_gets_lower_case_maildir(ferry):
    ferry.add_user("Carol@Example.Test")
    send(ferry, ["carol@example.test"])
    ferry.wait_delivered("carol@example.test")
    assert (ferry.state_dir / "mail" / "example.test" / "carol").is_dir()


@pytest.mark.ferry_conf(local_part_case_sensitive="yes")
def test_local_part_case_sensitive(ferry):
    r = rcpt_reply(ferry, "ALICE@example.test")
    assert r.code == 550, r
    # Domains stay case-insensitive.
    send(ferry, ["alice@EXAMPLE.TEST"])
    ferry.wait_delivered("alice@example.test")


def test_unknown_user_rejected(ferry):
    r = rcpt_reply(ferry, "nobody@example.test")
    assert r.code == 550 and r.enhanced == "5.1.1", r


def test_deleted_user_rejected(ferry):
    ferry.cli_ok("user", "del", "bob@example.test")
    r = rcpt_reply(ferry, "bob@example.test")
    assert r.code == 550 and r.enhanced == "5.1.1", r


def test_domain_added_while_running(ferry):
    assert rcpt_reply(ferry, "dave@new.test").code == 554
    ferry.add_domain("new.test")
    ferry.add_user("dave@new.test")
    send(ferry, ["dave@new.test"])
    ferry.wait_delivered("dave@new.test")


def test_partial_recipient_failure(ferry):
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example>", 250)
        c.expect("RCPT TO:<alice@example.test>", 250)
        assert c.cmd("RCPT TO:<nobody@example.test>").code == 550
        c.expect("DATA", 354)
        c.send(make_message() + b".\r\n")
        assert c.reply().code == 250
    ferry.wait_delivered("alice@example.test")


# ------------------------------------------------------------ relay

def test_relay_denied_for_stranger(ferry):
    # Default test config: relay_networks is empty, so 127.0.0.1 is a
    # stranger.
    r = rcpt_reply(ferry, "someone@remote.example")
    assert r.code == 554 and r.enhanced == "5.7.1", r


def test_relay_denied_even_with_local_sender(ferry):
    r = rcpt_reply(ferry, "someone@remote.example", sender="alice@example.test")
    assert r.code == 554 and r.enhanced == "5.7.1", r


@pytest.mark.parametrize("trick", [
    "someone%remote.example@example.test",
    "@example.test:someone@remote.example",
    "\"someone@remote.example\"@example.test",
    "someone@remote.example@example.test",
    "remote.example!someone@example.test",
    "someone@[127.0.0.1]",
    "someone@remote.example.",
    "someone@example.test.remote.example",
])
def test_relay_tricks_denied_for_stranger(ferry, trick):
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example>", 250)
        r = c.cmd(f"RCPT TO:<{trick}>")
        assert 500 <= r.code <= 559, (trick, r)
        r = c.cmd("DATA")
        assert r.code != 354, r
    assert ferry.queue_json() == []


@pytest.mark.ferry_conf(relay_networks="127.0.0.0/8")
def test_relay_accepted_from_relay_networks_and_queued(ferry):
    with ferry.raw() as c:
        r = c.send_message("alice@example.test", ["someone@remote.example"], make_message())
        assert r.code == 250, r
        qid = queue_id(r.text)
    q = ferry.queue_json()
    (m,) = [m for m in q if m["id"] == qid]
    (rc,) = m["recipients"]
    assert rc["addr"] == "someone@remote.example"
    assert rc["local"] is False
    assert rc["state"] == "pending"
    spool = ferry.state_dir / "spool" / "queue"
    assert list(spool.glob(f"*/{qid}.env")) and list(spool.glob(f"*/{qid}.msg"))


@pytest.mark.ferry_conf(relay_networks="10.0.0.0/8, 192.0.2.0/24")
def test_relay_networks_not_matching_localhost(ferry):
    r = rcpt_reply(ferry, "someone@remote.example")
    assert r.code == 554 and r.enhanced == "5.7.1", r


@pytest.mark.ferry_conf(relay_networks="127.0.0.1/32")
def test_relay_local_and_remote_mixed(ferry):
    with ferry.smtp() as s:
        s.sendmail("alice@example.test", ["bob@example.test", "someone@remote.example"],
                   make_message())
    ferry.wait_delivered("bob@example.test")

    def states():
        st = {r["addr"]: r["state"] for m in ferry.queue_json() for r in m["recipients"]}
        # the Maildir file can appear before the queue records bob's delivery
        return st if st.get("bob@example.test") != "pending" else None
    st = wait_until(states, 10, what="the local recipient recorded as delivered")
    assert [a for a, s in st.items() if s == "pending"] == ["someone@remote.example"]
