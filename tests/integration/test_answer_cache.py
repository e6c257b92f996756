"""The smtpd answer cache (src/smtp/smtp_cache.c): RCPT answers and the
connect-time ban check are remembered by the smtpd process and forgotten
as soon as the store's change counter or the configuration moves.  Every
test asks the same question twice before a change (so the second answer
can come from the cache), changes something with the command line or a
reload, and expects the very next command to see it."""

from conftest import make_message

NEW = "newbie@example.test"


def rcpt(c, address):
    return c.cmd(f"RCPT TO:<{address}>")


def session(ferry):
    c = ferry.raw()
    c.ehlo()
    c.expect("MAIL FROM:<x@remote.example>", 250)
    return c


def test_user_added_and_deleted_is_seen_at_once(ferry):
    with session(ferry) as c:
        for _ in range(2):
            assert rcpt(c, NEW).code == 550
        ferry.add_user(NEW)
        # the same connection, the next command
        assert rcpt(c, NEW).code == 250
        assert rcpt(c, NEW).code == 250
    with session(ferry) as c:
        assert rcpt(c, NEW).code == 250
        ferry.cli_ok("user", "del", NEW)
        assert rcpt(c, NEW).code == 550


def test_alias_added_is_seen_at_once(ferry):
    with session(ferry) as c:
        for _ in range(2):
            assert rcpt(c, "team@example.test").code == 550
        ferry.add_alias("team@example.test", "alice@example.test")
        assert rcpt(c, "team@example.test").code == 250
        c.expect("DATA", 354)
        c.send(make_message(subject="to the alias") + b".\r\n")
        assert c.reply().code == 250
    (m,) = ferry.wait_delivered("alice@example.test")
    assert b"to the alias" in m


def test_domain_deleted_is_seen_at_once(ferry):
    ferry.cli_ok("domain", "add", "other.example")
    ferry.add_user("carl@other.example")
    with session(ferry) as c:
        for _ in range(2):
            assert rcpt(c, "carl@other.example").code == 250
        ferry.cli_ok("domain", "del", "other.example", "--force")
        # not local any more, and 127.0.0.1 may not relay here
        assert rcpt(c, "carl@other.example").code == 554


def test_ban_added_is_seen_at_once(ferry):
    for _ in range(2):
        with ferry.raw() as c:
            assert c.greeting.code == 220
    ferry.cli_ok("ban", "add", "127.0.0.1", "--for", "1h")
    with ferry.raw() as c:
        assert c.greeting.code == 421 and "banned" in c.greeting.text
        assert c.reply() is None
    ferry.cli_ok("ban", "del", "127.0.0.1")
    with ferry.raw() as c:
        assert c.greeting.code == 220


def test_quota_filled_is_seen_at_once(ferry):
    """Answers for mailboxes with a quota are never kept: the usage
    changes with every delivery."""
    ferry.add_user("dora@example.test", quota="4K")
    msg = make_message(body=("y" * 75 + "\r\n") * 30)
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example> SIZE=2000", 250)
        for _ in range(2):
            assert rcpt(c, "dora@example.test").code == 250
        c.expect("DATA", 354)
        c.send(msg + b".\r\n")
        assert c.reply().code == 250
        c.expect("MAIL FROM:<x@remote.example> SIZE=2000", 250)
        r = rcpt(c, "dora@example.test")
        assert r.code == 552 and r.enhanced == "5.2.2", r


def test_reload_drops_the_answers(ferry):
    ferry.set_conf(recipient_delimiter="+")
    ferry.cli_ok("reload")
    with session(ferry) as c:
        for _ in range(2):
            assert rcpt(c, "alice+tag@example.test").code == 250
    ferry.set_conf(recipient_delimiter="-")
    ferry.cli_ok("reload")
    with session(ferry) as c:
        assert rcpt(c, "alice+tag@example.test").code == 550
        assert rcpt(c, "alice-tag@example.test").code == 250
