"""Content scanners at DATA (issue 5): clamd (INSTREAM) and spamd
(SPAMC/SPAMD), both real daemons started by the suite on loopback (see
scanners.py: clamd with a local signature file matching EICAR and no
downloaded databases, spamd with the stock rules and GTUBE).

The first tests check the scanner fixtures on their own (a Python
INSTREAM client finds EICAR; spamd scores GTUBE); the rest drive Ferry
end to end through SMTP:
  EICAR                        -> 554 5.7.1 naming Eicar-Test-Signature
  clean mail                   -> delivered
  GTUBE                        -> delivered with X-Spam-Score/X-Spam-Status
                                  and the Subject prefixed
  GTUBE, spam_reject_score     -> 554 5.7.1
  scanner stopped              -> 451 4.3.0; scan_failure = accept: delivered
  larger than scan_max_size    -> not scanned, delivered
"""

import base64
import re

import pytest

from conftest import body_of, header, make_message
from scanners import (EICAR, EICAR_NAME, GTUBE, clamd, clamd_server,  # noqa: F401
                      spamd, spamd_server)

RCPT = "alice@example.test"
SENDER = "sender@remote.example"


def eicar_message(attached=False):
    """A message carrying EICAR in its body, or as a base64 attachment."""
    if not attached:
        return make_message(subject="eicar", body=EICAR.decode() + "\r\n")
    b64 = base64.encodebytes(EICAR).decode().replace("\n", "\r\n")
    body = ("--XX\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
            "--XX\r\nContent-Type: application/octet-stream\r\n"
            "Content-Transfer-Encoding: base64\r\n"
            "Content-Disposition: attachment; filename=eicar.com\r\n\r\n"
            + b64 + "--XX--\r\n")
    return make_message(subject="eicar attached", body=body, extra_headers=(
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="XX"'))


def gtube_message(subject="gtube"):
    return make_message(subject=subject, body="This is spam.\r\n"
                        + GTUBE.decode() + "\r\n")


def send(srv, data):
    """Sends data from SENDER to RCPT; the reply to the end of DATA."""
    with srv.raw() as c:
        return c.send_message(SENDER, [RCPT], data)


def log_has(srv, *words, since=0):
    """Waits for one log line holding every word."""
    rx = "".join(f"(?=.*{re.escape(w)})" for w in words)
    return srv.wait_log(rf"^{rx}.*$", since=since)


# ------------------------------------------------------------ the fixtures

def test_clamd_fixture_finds_eicar(clamd_server):
    """The private clamd loads only the local signature and finds EICAR
    over TCP and over its UNIX socket; clean data is OK."""
    assert [p.name for p in clamd_server.db.iterdir()] == ["local.ndb"]
    for target in (clamd_server.tcp, clamd_server.socket):
        r = clamd_server.scan(eicar_message(), target)
        assert r.startswith("stream: ") and r.endswith(" FOUND"), r
        assert EICAR_NAME in r
        r = clamd_server.scan(eicar_message(attached=True), target)
        assert EICAR_NAME in r and r.endswith(" FOUND"), r
        assert clamd_server.scan(make_message(), target) == "stream: OK"
    # Large clean data in many chunks.
    assert clamd_server.scan(b"x" * 3_000_000) == "stream: OK"


def test_spamd_fixture_scores_gtube(spamd_server):
    score, spam, rules, _ = spamd_server.check(gtube_message())
    assert spam and score >= 1000, (score, rules)
    assert "GTUBE" in rules
    score, spam, rules, _ = spamd_server.check(make_message(
        body="Hello Alice,\r\nlunch on Thursday?\r\nBob\r\n"))
    assert not spam and score < 5, (score, rules)
    score, spam, _, raw = spamd_server.check(gtube_message(), "CHECK")
    assert spam and score >= 1000 and raw.startswith(b"SPAMD/1.")


# ------------------------------------------------------- clamd through SMTP

def test_clamd_rejects_eicar(make_ferry, clamd_server):
    srv = make_ferry({"clamd": clamd_server.tcp})
    r = send(srv, eicar_message())
    assert r.code == 554 and r.enhanced == "5.7.1", r
    assert EICAR_NAME in r.text and "virus" in r.text, r
    r = send(srv, eicar_message(attached=True))
    assert r.code == 554 and EICAR_NAME in r.text, r
    log_has(srv, "check=clamd", "reject")
    srv.barrier()
    assert srv.maildir_messages(RCPT) == []


def test_clamd_accepts_clean_mail(make_ferry, clamd_server):
    srv = make_ferry({"clamd": clamd_server.tcp})
    data = make_message(subject="clean")
    r = send(srv, data)
    assert r.code == 250, r
    msgs = srv.wait_delivered(RCPT)
    assert header(msgs[0], "Subject") == ["clean"]
    assert body_of(msgs[0]) == body_of(data)


def test_clamd_over_unix_socket(make_ferry, clamd_server):
    srv = make_ferry({"clamd": clamd_server.socket})
    r = send(srv, eicar_message())
    assert r.code == 554 and EICAR_NAME in r.text, r
    assert send(srv, make_message()).code == 250
    srv.wait_delivered(RCPT)


def test_clamd_large_clean_message_streamed(make_ferry, clamd_server):
    """A message of several MB goes to clamd in many chunks."""
    srv = make_ferry({"clamd": clamd_server.tcp})
    line = "All work and no play makes Jack a dull boy. " * 2 + "\r\n"
    data = make_message(subject="big", body=line * 40000)     # ~3.6 MB
    assert send(srv, data).code == 250
    msgs = srv.wait_delivered(RCPT, timeout=30)
    assert body_of(msgs[0]) == body_of(data)


def test_clamd_down_tempfails(make_ferry, clamd):
    srv = make_ferry({"clamd": clamd.tcp})
    clamd.stop()
    r = send(srv, eicar_message())
    assert r.code == 451 and r.enhanced == "4.3.0", r
    r = send(srv, make_message())
    assert r.code == 451 and r.enhanced == "4.3.0", r
    log_has(srv, "clamd", "scan-failed", "action=tempfail")
    # Back up: scanning works again without restarting Ferry.
    clamd.start()
    r = send(srv, eicar_message())
    assert r.code == 554 and EICAR_NAME in r.text, r


def test_clamd_down_scan_failure_accept(make_ferry, clamd):
    srv = make_ferry({"clamd": clamd.tcp, "scan_failure": "accept"})
    clamd.stop()
    data = make_message(subject="unscanned")
    r = send(srv, data)
    assert r.code == 250, r
    log_has(srv, "clamd", "scan-failed", "action=accept")
    msgs = srv.wait_delivered(RCPT)
    assert header(msgs[0], "Subject") == ["unscanned"]


def test_clamd_skips_mail_above_scan_max_size(make_ferry, clamd_server):
    srv = make_ferry({"clamd": clamd_server.tcp, "scan_max_size": "1K"})
    data = make_message(subject="big eicar", body=EICAR.decode() + "\r\n"
                        + "padding line of text\r\n" * 100)
    assert len(data) > 1024
    r = send(srv, data)
    assert r.code == 250, r
    log_has(srv, "clamd", "not-scanned")
    srv.wait_delivered(RCPT)
    # A small one is still scanned.
    r = send(srv, eicar_message())
    assert r.code == 554 and EICAR_NAME in r.text, r


# ------------------------------------------------------- spamd through SMTP

def test_spamd_tags_gtube(make_ferry, spamd_server):
    srv = make_ferry({"spamd": spamd_server.target})
    r = send(srv, gtube_message(subject="buy now"))
    assert r.code == 250, r
    msg = srv.wait_delivered(RCPT)[0]
    # GTUBE scores 1000 plus whatever other stock rules fire (1001.6 ...).
    score = header(msg, "X-Spam-Score")
    assert len(score) == 1 and float(score[0]) >= 1000.0, msg[:600]
    status = header(msg, "X-Spam-Status")
    assert len(status) == 1 and \
        status[0].startswith("Yes, score=%s" % score[0]), status
    assert "tag=5.0" in status[0] and "reject=off" in status[0]
    assert "GTUBE" in status[0]
    assert header(msg, "Subject") == [":SPAM: buy now"]
    log_has(srv, "check=spamd", "tag")


def test_spamd_clean_mail_gets_status_no(make_ferry, spamd_server):
    srv = make_ferry({"spamd": spamd_server.target})
    data = make_message(subject="lunch",
                        body="Hello Alice,\r\nlunch on Thursday?\r\nBob\r\n")
    assert send(srv, data).code == 250
    msg = srv.wait_delivered(RCPT)[0]
    status = header(msg, "X-Spam-Status")
    assert len(status) == 1 and status[0].startswith("No, score="), status
    score = float(header(msg, "X-Spam-Score")[0])
    assert score < 5
    assert header(msg, "Subject") == ["lunch"]
    assert body_of(msg) == body_of(data)


@pytest.mark.parametrize("tag", ["2.5"])
def test_spamd_own_thresholds(make_ferry, spamd_server, tag):
    """Ferry's spam_tag_score and prefix decide, not spamd's 5.0."""
    srv = make_ferry({"spamd": spamd_server.target, "spam_tag_score": tag,
                      "spam_subject_prefix": "[spam]",
                      "spam_reject_score": "5000"})
    assert send(srv, gtube_message(subject="offer")).code == 250
    msg = srv.wait_delivered(RCPT)[0]
    status = header(msg, "X-Spam-Status")[0]
    assert status.startswith("Yes,") and f"tag={float(tag):.1f}" in status
    assert "reject=5000.0" in status
    assert header(msg, "Subject")[0].startswith("[spam]")
    assert header(msg, "Subject")[0].endswith("offer")


def test_spamd_rejects_above_reject_score(make_ferry, spamd_server):
    srv = make_ferry({"spamd": spamd_server.target,
                      "spam_reject_score": "20"})
    r = send(srv, gtube_message())
    assert r.code == 554 and r.enhanced == "5.7.1", r
    m = re.search(r"score (\d+\.\d)", r.text)
    assert "spam" in r.text and m and float(m.group(1)) >= 1000.0, r
    log_has(srv, "check=spamd", "reject")
    # Clean mail still passes.
    assert send(srv, make_message(
        body="Hello Alice,\r\nlunch on Thursday?\r\nBob\r\n")).code == 250
    srv.wait_delivered(RCPT)


def test_spamd_down_tempfails(make_ferry, spamd):
    srv = make_ferry({"spamd": spamd.target})
    spamd.stop()
    r = send(srv, gtube_message())
    assert r.code == 451 and r.enhanced == "4.3.0", r
    log_has(srv, "spamd", "scan-failed", "action=tempfail")


def test_spamd_down_scan_failure_accept(make_ferry, spamd):
    srv = make_ferry({"spamd": spamd.target, "scan_failure": "accept"})
    spamd.stop()
    assert send(srv, gtube_message(subject="unscanned")).code == 250
    msg = srv.wait_delivered(RCPT)[0]
    assert header(msg, "X-Spam-Status") == []
    assert header(msg, "Subject") == ["unscanned"]


# ------------------------------------------------------------ both at once

def test_both_scanners(make_ferry, clamd_server, spamd_server):
    srv = make_ferry({"clamd": clamd_server.tcp,
                      "spamd": spamd_server.target})
    r = send(srv, eicar_message())
    assert r.code == 554 and EICAR_NAME in r.text, r
    assert send(srv, gtube_message(subject="both")).code == 250
    msg = srv.wait_delivered(RCPT)[0]
    assert float(header(msg, "X-Spam-Score")[0]) >= 1000.0
    assert header(msg, "Subject") == [":SPAM: both"]
