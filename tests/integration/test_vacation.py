"""Vacation auto-replies (RFC 3834; docs/operations.md "Vacation
replies"): a user's settings set with `ferry user vacation`, mail sent
over SMTP, the answer arriving at a fake remote MX.  The answer has the
null envelope sender, comes from the user, goes to the envelope sender
once per period (the test ages the store's record instead of waiting),
and is never sent to lists, bulk or automatic mail, the null sender,
robot senders, or mail that does not name the user.  Bad settings are
refused with the reason."""

import email
import email.policy
import json
import re
import sqlite3

import pytest

from conftest import make_message
from fakemx import peers, port, relay_conf  # noqa: F401

ALICE = "alice@example.test"
BODY = "Ich bin nicht da.\nZurück am Montag — Grüße\n"


@pytest.fixture
def away(make_ferry, peers, port, tmp_path):  # noqa: F811
    """A server whose remote mail goes to a fake MX at 127.0.0.2, with
    alice's vacation reply on (default subject, 7 days)."""
    mx = peers.mx("127.0.0.2", port)
    srv = make_ferry(relay_conf(port, route=f"* [127.0.0.2]:{port}"),
                     start=False)
    srv.body_file = tmp_path / "away.txt"
    srv.body_file.write_text(BODY, encoding="utf-8")
    srv.cli_ok("user", "vacation", ALICE, "on", "--body-file",
               str(srv.body_file))
    srv.mx = mx
    return srv


def send(srv, sender="friend@remote.example", to=ALICE, rcpt=ALICE,
         subject="Lunch?", extra=(), msgid=None):
    msg = make_message(sender=sender or "x@remote.example", to=to,
                       subject=subject, extra_headers=extra, msgid=msgid)
    with srv.smtp() as s:
        s.sendmail(sender, [rcpt], msg)
    return msg


def parsed(data):
    return email.message_from_bytes(data, policy=email.policy.default)


def test_reply_envelope_headers_and_body(away):
    away.start()
    send(away, subject="Lunch on Friday?", msgid="<orig-1@remote.example>",
         extra=["References: <orig-0@remote.example>"])
    # The original is delivered as usual.
    away.wait_delivered(ALICE, 1)
    got = away.mx.wait_messages(1)[0]
    assert got.mail_from == "<>"
    assert got.rcpt_tos == ["friend@remote.example"]
    m = parsed(got.data)
    assert re.search(rb"^From: <alice@example\.test>\r$", got.data, re.M)
    assert re.search(rb"^To: <friend@remote\.example>\r$", got.data, re.M)
    assert m["From"].addresses[0].addr_spec == ALICE
    assert m["Subject"] == "Auto: Lunch on Friday?"
    assert m["Auto-Submitted"] == "auto-replied"
    assert m["In-Reply-To"] == "<orig-1@remote.example>"
    assert m["References"].split() == ["<orig-0@remote.example>",
                                       "<orig-1@remote.example>"]
    assert re.fullmatch(r"<\S+\.vacation@mx\.example\.test>",
                        m["Message-ID"])
    assert m["Date"] is not None and m["Date"].datetime is not None
    assert m.get_content_type() == "text/plain"
    assert m.get_content_charset() == "utf-8"
    assert m.get_content() == BODY.replace("\n", "\r\n") or \
        m.get_content().replace("\r\n", "\n") == BODY
    # Every line of the raw reply is ASCII (RFC 2047 / base64 did it).
    assert all(b < 0x80 for b in got.data)
    away.wait_log(r"queue vacation-reply rcpt=alice@example.test "
                  r"to=friend@remote.example id=\S+")


def test_non_ascii_subject_is_encoded(away):
    away.cli_ok("user", "vacation", ALICE, "--subject",
                "Abwesend – zurück am Montag")
    away.start()
    send(away, subject="=?UTF-8?B?R3LDvMOfZQ==?=")
    got = away.mx.wait_messages(1)[0]
    raw_subject = re.search(rb"^Subject: (.*(?:\r\n .*)*)", got.data,
                            re.M).group(1)
    assert raw_subject.startswith(b"=?UTF-8?B?")
    assert parsed(got.data)["Subject"] == "Abwesend – zurück am Montag"


def test_default_subject_decodes_the_original(away):
    away.start()
    send(away, subject="=?ISO-8859-1?Q?Gr=FC=DFe?= aus Berlin")
    got = away.mx.wait_messages(1)[0]
    assert parsed(got.data)["Subject"] == "Auto: Grüße aus Berlin"


def age_replies(srv, days):
    """Moves every recorded answer `days` into the past, as if that much
    time had gone by (the store's own dates, no waiting)."""
    db = sqlite3.connect(srv.state_dir / "ferry.db", timeout=10)
    with db:
        db.execute("UPDATE vacation_replies SET at = at - ?",
                   (days * 86400,))
    db.close()


def test_once_per_sender_per_period(away):
    away.cli_ok("user", "vacation", ALICE, "--days", "3")
    away.start()
    send(away, subject="first")
    away.mx.wait_messages(1)
    off = away.log_offset()
    send(away, sender="Friend@REMOTE.example", subject="second")
    away.wait_log(r"queue vacation-skip rcpt=alice@example.test "
                  r"from=Friend@REMOTE.example reason=answered-recently",
                  since=off)
    # Another sender is answered in the same period.
    send(away, sender="other@remote.example", subject="third")
    away.mx.wait_messages(2)
    # Two days later: still within the 3 days.
    age_replies(away, 2)
    off = away.log_offset()
    send(away, subject="fourth")
    away.wait_log(r"vacation-skip rcpt=alice@example.test "
                  r"from=friend@remote.example reason=answered-recently",
                  since=off)
    # Two more days: the period has passed, a new answer goes out.
    age_replies(away, 2)
    send(away, subject="fifth")
    msgs = away.mx.wait_messages(3)
    assert [parsed(m.data)["Subject"] for m in msgs] == [
        "Auto: first", "Auto: third", "Auto: fifth"]
    away.barrier()
    assert len(away.mx.messages) == 3
    assert len(away.maildir_files(ALICE)) == 5


NO_REPLY = [
    ("list-id", dict(extra=["List-Id: <talk.lists.remote.example>"]),
     "list"),
    ("list-unsubscribe", dict(extra=["List-Unsubscribe: <mailto:u@r.e>"]),
     "list"),
    ("bulk", dict(extra=["Precedence: bulk"]), "precedence"),
    ("junk", dict(extra=["Precedence: junk"]), "precedence"),
    ("auto-submitted", dict(extra=["Auto-Submitted: auto-generated"]),
     "auto-submitted"),
    ("auto-replied", dict(extra=["Auto-Submitted: auto-replied"]),
     "auto-submitted"),
    ("null-sender", dict(sender=""), "null-sender"),
    ("mailer-daemon", dict(sender="MAILER-DAEMON@remote.example"),
     "robot-sender"),
    ("owner", dict(sender="owner-talk@remote.example"), "robot-sender"),
    ("request", dict(sender="talk-request@remote.example"),
     "robot-sender"),
    ("bcc", dict(to="someone@remote.example"), "not-addressed"),
]


def test_no_reply_to_lists_bulk_automatic_and_indirect_mail(away):
    away.start()
    for i, (name, kw, reason) in enumerate(NO_REPLY):
        kw = dict(kw)
        sender = kw.pop("sender", f"{name}@remote.example")
        off = away.log_offset()
        send(away, sender=sender, subject=name, **kw)
        away.wait_log(rf"queue vacation-skip rcpt=alice@example\.test "
                      rf"from=\S+ reason={reason}$", since=off)
        away.wait_delivered(ALICE, i + 1)
    away.barrier()
    assert away.mx.messages == []


def test_reply_through_an_alias_and_plus_address(away):
    away.add_alias("team@example.test", ALICE, "bob@example.test")
    away.start()
    send(away, sender="a@remote.example", to="team@example.test",
         rcpt="team@example.test")
    send(away, sender="b@remote.example", to="alice+news@example.test",
         rcpt="alice+news@example.test")
    msgs = away.mx.wait_messages(2)
    assert sorted(m.rcpt_tos[0] for m in msgs) == ["a@remote.example",
                                                   "b@remote.example"]


def test_dates_bound_the_replies(away):
    away.cli_ok("user", "vacation", ALICE, "--from", "2099-01-01")
    away.start()
    send(away)
    away.wait_log(r"queue vacation-skip rcpt=alice@example.test "
                  r"from=friend@remote.example reason=out-of-dates")
    away.cli_ok("user", "vacation", ALICE, "--from", "none",
                "--until", "2099-01-01")
    send(away, subject="now")
    got = away.mx.wait_messages(1)[0]
    assert parsed(got.data)["Subject"] == "Auto: now"


def test_off_means_no_reply_and_direct_delivery(away):
    away.cli_ok("user", "vacation", ALICE, "off")
    away.start()
    send(away)
    away.wait_delivered(ALICE, 1)
    away.barrier()
    assert away.mx.messages == []
    assert "vacation-" not in away.log_text()
    settings = json.loads(away.cli_ok("user", "vacation", ALICE,
                                      "--json").stdout)
    assert settings["enabled"] is False
    assert settings["body"] == BODY


def test_reply_is_dkim_signed(away):
    dkim = pytest.importorskip("dkim")
    key = json.loads(away.cli_ok("dkim", "keygen", "example.test",
                                 "--selector", "v1", "--algorithm",
                                 "ed25519", "--json").stdout)
    away.start()
    send(away)
    got = away.mx.wait_messages(1)[0]
    assert got.data.startswith(b"DKIM-Signature:")

    def dnsfunc(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        return key["record"].encode() if name.rstrip(".") == \
            key["name"] else None
    assert dkim.DKIM(got.data).verify(dnsfunc=dnsfunc)


def test_settings_json_and_bad_input(away, tmp_path):
    away.start()
    r = away.cli_ok("user", "vacation", ALICE, "on", "--subject", "Away",
                    "--from", "2026-01-01", "--until", "2099-12-31T18:00",
                    "--days", "14", "--json")
    assert json.loads(r.stdout) == {
        "address": ALICE, "enabled": True, "subject": "Away", "body": BODY,
        "from": "2026-01-01 00:00:00", "until": "2099-12-31 18:00:00",
        "days": 14}
    nul = tmp_path / "nul.txt"
    nul.write_bytes(b"away\x00\n")
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Grüße\n".encode("latin-1"))
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 65537)
    cases = [
        (["nobody@example.test", "on"], 1, "no such user"),
        (["nobody@elsewhere.example", "show"], 1, "no such user"),
        ([ALICE, "on", "--from", "2026-02-30"], 1, "no such day"),
        ([ALICE, "on", "--from", "yesterday"], 1, "not a date"),
        ([ALICE, "on", "--until", "2020-01-01", "--from", "none"], 1,
         "the end is already past"),
        ([ALICE, "on", "--from", "2099-02-01", "--until", "2099-01-01"], 1,
         "the end is not after the start"),
        ([ALICE, "on", "--subject", "x" * 201], 1, "subject too long"),
        ([ALICE, "on", "--subject", "a\nBcc: x@y"], 1,
         "subject contains a control character"),
        ([ALICE, "on", "--body-file", str(nul)], 1,
         "body contains a NUL byte"),
        ([ALICE, "on", "--body-file", str(latin1)], 1,
         "body is not valid UTF-8"),
        ([ALICE, "on", "--body-file", str(big)], 1, "body too long"),
        ([ALICE, "on", "--body-file", str(tmp_path / "none.txt")], 1,
         "No such file"),
        ([ALICE, "on", "--days", "0"], 1, "a number from 1 to 365"),
        ([ALICE, "on", "--days", "366"], 1, "a number from 1 to 365"),
        ([ALICE, "on", "--days"], 2, "usage:"),
        ([ALICE, "maybe"], 2, "usage:"),
        ([ALICE, "show", "--days", "3"], 2, "usage:"),
    ]
    for args, code, text in cases:
        r = away.cli("user", "vacation", *args)
        assert r.returncode == code, (args, r)
        assert text in r.stderr, (args, r.stderr)
    # None of them changed anything.
    r = away.cli_ok("user", "vacation", ALICE, "--json")
    assert json.loads(r.stdout)["days"] == 14
    # A first reply needs a body.
    r = away.cli("user", "vacation", "bob@example.test", "on")
    assert r.returncode == 1 and "needs a body" in r.stderr
