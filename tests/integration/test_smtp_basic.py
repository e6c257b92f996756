"""The SMTP conversation: greeting, EHLO/HELO, the small commands, bad
input answers, and what a delivered message looks like (Return-Path,
Delivered-To, Received)."""

import re

import pytest

from conftest import HOSTNAME, header, body_of, make_message, queue_id, unfold_headers


def test_greeting(ferry):
    with ferry.raw() as c:
        g = c.greeting
        assert g.code == 220, g
        assert g.lines[0].startswith(f"{HOSTNAME} ESMTP Ferry"), g


def test_ehlo_keywords(ferry):
    with ferry.raw() as c:
        r = c.ehlo()
        assert r.lines[0].startswith(HOSTNAME), r
        kw = [l.upper() for l in r.lines[1:]]
        for k in ("PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8", "CHUNKING"):
            assert k in kw, (k, r)
        assert any(re.fullmatch(r"SIZE \d+", k) for k in kw), r


def test_ehlo_announces_configured_size(make_ferry):
    srv = make_ferry({"message_size_limit": "10K"})
    with srv.raw() as c:
        assert "SIZE 10240" in c.ehlo().lines


def test_helo(ferry):
    with ferry.raw() as c:
        r = c.expect("HELO client.example", 250)
        assert r.lines[0].startswith(HOSTNAME), r


def test_helo_and_ehlo_need_argument(ferry):
    with ferry.raw() as c:
        assert c.cmd("HELO").code == 501
        assert c.cmd("EHLO").code == 501


def test_noop_rset_vrfy_help_quit(ferry):
    with ferry.raw() as c:
        c.ehlo()
        r = c.expect("NOOP", 250)
        assert r.enhanced == "2.0.0", r
        c.expect("RSET", 250)
        r = c.cmd("VRFY alice@example.test")
        assert r.code == 252, r
        r = c.cmd("VRFY nobody")
        assert r.code == 252, r
        r = c.cmd("HELP")
        assert r.code == 214, r
        r = c.cmd("QUIT")
        assert r.code == 221, r
        assert r.enhanced == "2.0.0", r
        assert c.wait_closed(5), "server did not close after QUIT"


def test_pipelined_batch_ending_in_quit(ferry):
    """Replies of a batch that ends with QUIT all arrive, in order, before
    the close; what follows QUIT in the same write is never answered."""
    with ferry.raw() as c:
        c.send(b"EHLO client.example\r\nNOOP\r\nRSET\r\nQUIT\r\nNOOP\r\n")
        rs = c.read_all()
        assert [r.code for r in rs] == [250, 250, 250, 221], rs
        assert rs[3].enhanced == "2.0.0", rs


def test_sessions_one_after_another(ferry):
    """Connection after connection: each gets its greeting at once, its
    message accepted, and the close after QUIT."""
    for i in range(20):
        with ferry.raw() as c:
            assert c.greeting.code == 220, c.greeting
            r = c.send_message("s@remote.example", ["alice@example.test"],
                               make_message(subject=f"n{i}"))
            assert r.code == 250, r
            assert c.cmd("QUIT").code == 221
            assert c.wait_closed(5), "server did not close after QUIT"
    assert len(ferry.wait_delivered("alice@example.test", 20)) >= 20


def test_commands_are_case_insensitive(ferry):
    with ferry.raw() as c:
        c.expect("ehlo client.example", 250)
        c.expect("mail from:<x@remote.example>", 250)
        c.expect("rcpt to:<alice@example.test>", 250)
        c.expect("rset", 250)


def test_unknown_command(ferry):
    with ferry.raw() as c:
        r = c.cmd("FROBNICATE now")
        assert r.code == 500 and r.enhanced == "5.5.1", r
        c.expect("NOOP", 250)


@pytest.mark.parametrize("seq,bad", [
    ([], "RCPT TO:<alice@example.test>"),
    (["MAIL FROM:<x@remote.example>"], "DATA"),
    ([], "DATA"),
    (["MAIL FROM:<x@remote.example>"], "MAIL FROM:<y@remote.example>"),
])
def test_bad_sequence(ferry, seq, bad):
    with ferry.raw() as c:
        c.ehlo()
        for s in seq:
            c.expect(s, 250)
        r = c.cmd(bad)
        assert r.code == 503 and r.enhanced == "5.5.1", r


@pytest.mark.parametrize("line", [
    "MAIL FROM:x@remote.example",
    "MAIL FROM:<x@remote.example",
    "MAIL FROM:<x@@remote.example>",
    "MAIL TO:<x@remote.example>",
    "MAIL FROM:<x@remote.example> BOGUS=1",
])
def test_bad_mail_syntax(ferry, line):
    with ferry.raw() as c:
        c.ehlo()
        r = c.cmd(line)
        assert 500 <= r.code <= 555, r
        c.expect("MAIL FROM:<x@remote.example>", 250)


def test_null_sender_accepted(ferry):
    with ferry.smtp() as s:
        s.sendmail("", ["alice@example.test"], make_message())
    (m,) = ferry.wait_delivered("alice@example.test")
    assert m.startswith(b"Return-Path: <>\r\n"), m[:200]


def test_one_recipient_delivery_and_headers(ferry):
    msg = make_message(subject="hello alice", body="Line one.\r\nLine two.\r\n")
    with ferry.raw() as c:
        r = c.send_message("sender@remote.example", ["alice@example.test"], msg)
        assert r.code == 250 and r.enhanced == "2.0.0", r
        qid = queue_id(r.text)
        c.expect("QUIT", 221)
    (m,) = ferry.wait_delivered("alice@example.test")
    assert m.startswith(b"Return-Path: <sender@remote.example>\r\n"
                        b"Delivered-To: "), m[:300]
    dt = header(m, "Delivered-To")
    assert len(dt) == 1 and re.fullmatch(r"<?alice@example\.test>?", dt[0]), dt
    hdrs = unfold_headers(m)
    assert [n.lower() for n, _ in hdrs[:3]] == ["return-path", "delivered-to", "received"], hdrs[:3]
    rec = header(m, "Received")[0]
    assert rec.startswith("from "), rec
    assert f"by {HOSTNAME}" in rec, rec
    assert re.search(r"\bwith ESMTP\b", rec), rec
    assert re.search(rf"\bid <?{re.escape(qid)}>?", rec), (qid, rec)
    assert re.search(r"\bfor <?alice@example\.test>?", rec), rec
    assert "client.example" in rec and "127.0.0.1" in rec, rec
    # A date after the semicolon (RFC 5322 3.6.7).
    assert re.search(r";\s*\S.*\d{4}", rec), rec
    # The message as sent follows the trace headers, byte for byte.
    assert m.endswith(msg), m
    # CRLF everywhere, no bare LF.
    assert b"\n" not in m.replace(b"\r\n", b""), m


def test_helo_gives_with_smtp(ferry):
    with ferry.raw() as c:
        c.expect("HELO client.example", 250)
        r = c.send_message("sender@remote.example", ["alice@example.test"],
                           make_message(), ehlo=False)
        assert r.code == 250, r
    (m,) = ferry.wait_delivered("alice@example.test")
    rec = header(m, "Received")[0]
    assert re.search(r"\bwith SMTP\b", rec), rec


def test_many_recipients(ferry):
    ferry.add_user("carol@example.test")
    rcpts = ["alice@example.test", "bob@example.test", "carol@example.test"]
    msg = make_message(subject="to three")
    with ferry.smtp() as s:
        refused = s.sendmail("sender@remote.example", rcpts, msg)
        assert refused == {}
    for r in rcpts:
        (m,) = ferry.wait_delivered(r)
        assert header(m, "Delivered-To") and r in header(m, "Delivered-To")[0], m[:300]
        assert m.endswith(msg)
        rec = header(m, "Received")[0]
        # With several recipients the Received header must not name one
        # of them to the others (the "for" clause is for one recipient).
        for other in rcpts:
            if other != r:
                assert other not in rec, rec


def test_same_recipient_twice_delivers_once(ferry):
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example>", 250)
        c.expect("RCPT TO:<alice@example.test>", 250)
        r = c.cmd("RCPT TO:<alice@example.test>")
        assert r.code in (250, 251, 452, 550, 553), r
        c.expect("DATA", 354)
        c.send(make_message() + b".\r\n")
        assert c.reply().code == 250
    ferry.barrier()
    assert len(ferry.maildir_messages("alice@example.test")) == 1


def test_ehlo_again_resets_transaction(ferry):
    # RFC 5321 4.1.4: a second EHLO clears the transaction in progress.
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example>", 250)
        c.expect("RCPT TO:<alice@example.test>", 250)
        c.ehlo()
        r = c.cmd("DATA")
        assert r.code == 503, r
        c.expect("MAIL FROM:<x@remote.example>", 250)


@pytest.mark.parametrize("param", ["SIZE=abc", "SIZE=", "SIZE=-1", "BODY=9BITMIME"])
def test_bad_mail_parameters(ferry, param):
    with ferry.raw() as c:
        c.ehlo()
        r = c.cmd(f"MAIL FROM:<x@remote.example> {param}")
        assert 500 <= r.code <= 555, r


def test_two_messages_in_one_session(ferry):
    with ferry.smtp() as s:
        s.sendmail("x@remote.example", ["alice@example.test"], make_message(subject="one"))
        s.sendmail("x@remote.example", ["alice@example.test"], make_message(subject="two"))
    msgs = ferry.wait_delivered("alice@example.test", 2)
    assert sorted(header(m, "Subject")[0] for m in msgs) == ["one", "two"]


def test_rset_discards_transaction(ferry):
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example>", 250)
        c.expect("RCPT TO:<bob@example.test>", 250)
        c.expect("RSET", 250)
        r = c.cmd("DATA")
        assert r.code == 503, r
        r = c.send_message("y@remote.example", ["alice@example.test"], make_message(), ehlo=False)
        assert r.code == 250, r
    ferry.wait_delivered("alice@example.test")
    assert ferry.maildir_messages("bob@example.test") == []


def test_8bitmime_body(ferry):
    body = "Grüße aus Köln — ñandú 日本語\r\n".encode("utf-8") + bytes(range(0x80, 0x100)) + b"\r\n"
    msg = make_message(subject="8bit").replace(b"Hello.\r\n", b"") + body
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example> BODY=8BITMIME", 250)
        c.expect("RCPT TO:<alice@example.test>", 250)
        c.expect("DATA", 354)
        c.send(msg + b".\r\n")
        assert c.reply().code == 250
    (m,) = ferry.wait_delivered("alice@example.test")
    assert body_of(m).endswith(body), m


def test_smtputf8_addresses(ferry):
    sender = "jörg@bücher.example"
    with ferry.raw() as c:
        c.ehlo()
        c.expect(f"MAIL FROM:<{sender}> SMTPUTF8", 250)
        c.expect("RCPT TO:<alice@example.test>", 250)
        c.expect("DATA", 354)
        c.send(make_message(sender=sender) + b".\r\n")
        assert c.reply().code == 250
    (m,) = ferry.wait_delivered("alice@example.test")
    assert m.startswith(f"Return-Path: <{sender}>\r\n".encode("utf-8")), m[:200]


def test_message_without_final_newline_in_body(ferry):
    # smtplib adds the CRLF before the dot; the message arrives intact.
    with ferry.smtp() as s:
        s.sendmail("x@remote.example", ["alice@example.test"],
                   make_message(body="no newline at end"))
    (m,) = ferry.wait_delivered("alice@example.test")
    assert body_of(m) == b"no newline at end\r\n", m


def test_maildir_layout(ferry):
    with ferry.smtp() as s:
        s.sendmail("x@remote.example", ["alice@example.test"], make_message())
        s.sendmail("x@remote.example", ["alice@example.test"], make_message())
    ferry.wait_delivered("alice@example.test", 2)
    md = ferry.maildir("alice@example.test")
    assert md == ferry.state_dir / "mail" / "example.test" / "alice"
    for sub in ("new", "cur", "tmp"):
        assert (md / sub).is_dir(), sub
    names = [p.name for p in ferry.maildir_files("alice@example.test")]
    assert len(set(names)) == 2
    assert not any((md / "tmp").iterdir())


def test_several_listen_addresses(make_ferry):
    from conftest import free_port
    p2 = free_port()
    srv = make_ferry(start=False)
    srv.set_conf(smtp_listen=f"127.0.0.1:{srv.port}, 127.0.0.1:{p2}")
    srv.start()
    for port in (srv.port, p2):
        from conftest import RawSMTP
        with RawSMTP(port) as c:
            assert c.greeting.code == 220
            r = c.send_message("x@remote.example", ["bob@example.test"], make_message())
            assert r.code == 250, r
    srv.wait_delivered("bob@example.test", 2)
