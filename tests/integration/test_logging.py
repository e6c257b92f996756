"""The log on stderr: one event per line, `TIMESTAMP ROLE[PID]: ID MODULE
EVENT key=value ...`, ids that tie sessions to queue entries, and peer
data escaped so that a client cannot forge log lines."""

import re

import pytest

from conftest import make_message, queue_id

# 2026-11-22T14:50:00.123Z smtpd[1234]: <id> smtp <event> key=value ...
# (a level word such as "debug:" may precede the id).
LINE_RE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (?P<role>[a-z]+)\[(?P<pid>\d+)\]: "
    r"(?:(?:debug|info|warning|warn|error|err): )?(?P<id>\S+) (?P<module>[a-z]+) (?P<event>\S+)")


PREFIX_RE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (?P<role>[a-z]+)\[(?P<pid>\d+)\]: \S")


@pytest.mark.parametrize("direct", ["yes", "no"])
def test_log_lines_have_the_documented_shape(make_ferry, direct):
    ferry = make_ferry({"direct_delivery": direct})
    with ferry.raw() as c:
        r = c.send_message("x@remote.example", ["alice@example.test"], make_message())
        qid = queue_id(r.text)
        c.expect("QUIT", 221)
    ferry.wait_delivered("alice@example.test")
    # Delivered before the 250 (direct) the message is logged by smtpd
    # under its queue id; otherwise the queue role logs the delivery.
    deliverer = "smtpd" if direct == "yes" else "queue"
    ferry.wait_log(rf"{deliverer}\[\d+\]: {qid} \w+ delivered rcpt=alice@example\.test "
                   r".*result=sent")
    ferry.wait_log(r"queue\[\d+\]: - queue started ")
    lines = [l for l in ferry.log_text().splitlines() if l.strip()]
    # Every line has the timestamp and role prefix; the roles' lines
    # also carry an id ("-" when there is none) before module and event.
    # (The supervisor's own lines may leave the id out.)
    bad = [l for l in lines if not PREFIX_RE.match(l)]
    assert not bad, f"{len(bad)} malformed log lines, e.g. {bad[:5]}"
    bad = [l for l in lines if PREFIX_RE.match(l).group("role") in ("smtpd", "queue")
           and not LINE_RE.match(l)]
    assert not bad, f"{len(bad)} malformed role log lines, e.g. {bad[:5]}"
    lines = [l for l in lines if LINE_RE.match(l)]
    roles = {LINE_RE.match(l).group("role") for l in lines}
    assert {"smtpd", "queue"} <= roles, roles
    smtpd_pid = ferry.role_pid("smtpd")
    assert any(LINE_RE.match(l).group("role") == "smtpd" and
               int(LINE_RE.match(l).group("pid")) == smtpd_pid for l in lines)
    # The queue id ties the smtpd acceptance to the delivery.
    assert re.search(rf"smtpd\[\d+\]: .*smtp accepted id={qid}\b", ferry.log_text()), \
        ferry.log_tail()
    assert re.search(rf"{deliverer}\[\d+\]: (?:\w+: )?{qid} ", ferry.log_text()), \
        ferry.log_tail()


def test_rejections_are_logged_with_session_id(ferry):
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example>", 250)
        assert c.cmd("RCPT TO:<someone@remote.example>").code == 554
    m = ferry.wait_log(r"smtpd\[\d+\]: (?:\w+: )?([0-9a-f]{16}) smtp \S+ .*someone@remote\.example")
    sid = m.group(1)
    assert re.search(rf"{sid} smtp \S+ .*address=127\.0\.0\.1", ferry.log_text()) or \
        re.search(rf"{sid} smtp connected", ferry.log_text()), ferry.log_tail()


def test_peer_data_is_escaped_in_the_log(ferry):
    evil = b"evil\x1b[31m\x07.example"
    with ferry.raw() as c:
        c.send(b"EHLO " + evil + b"\r\n")
        c.reply()
        c.send(b"MAIL FROM:<a@b.example>\r\n")
        c.reply()
        c.send(b"RCPT TO:<x\x1b]0;pwned\x07@remote.example>\r\n")
        c.reply()
        c.send(b"FAKE\rCMD 2026-01-01T00:00:00.000Z serve[1]: forged\r\n")
        c.reply()
        c.expect("QUIT", 221)
    ferry.wait_log(r"smtp (?:closed|disconnected|quit|\S+)")
    raw = ferry.log_bytes()
    for b in (b"\x1b", b"\x07"):
        assert b not in raw, f"raw control byte {b!r} in the log"
    for line in raw.split(b"\n"):
        assert b"\r" not in line, line
        assert not line.startswith(b"CMD "), line


def test_password_never_logged(ferry):
    ferry.add_user("carol@example.test", password="Very-Secret-Pass-42")
    ferry.cli_ok("user", "passwd", "carol@example.test", input="Other-Secret-Pass-43\n")
    with ferry.smtp() as s:
        s.sendmail("x@remote.example", ["carol@example.test"], make_message())
    ferry.wait_delivered("carol@example.test")
    text = ferry.log_text()
    assert "Very-Secret-Pass-42" not in text and "Other-Secret-Pass-43" not in text
