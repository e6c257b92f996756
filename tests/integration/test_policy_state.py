"""Checks that keep state: greylisting end to end with short delays,
the dictionary-attack block and its expiry, and session transcripts
(transcript_ips) with AUTH data redacted."""

import re
import time

from conftest import RawSMTP, wait_until
from fakedns import FakeDNS, fakedns  # noqa: F401
from policy_util import dialogue, plain_auth, policy_server, rcpt_code

PASSWORD = "secret"


# ------------------------------------------------------------ greylisting

def test_greylist_end_to_end(make_ferry, fakedns):
    srv = policy_server(make_ferry, fakedns, greylist="yes",
                        greylist_delay="1s", greylist_window="1h")
    # The store keeps whole seconds: the server saw the first attempt at
    # or after w0 and at or before w1 (wall clock, as the server's).
    w0 = time.time()
    r = rcpt_code(srv, sender="a@sender.test")
    w1 = time.time()
    assert r.code == 451 and r.enhanced == "4.7.1" and "reylist" in r.text
    # A retry within the same second as the first attempt is deferred
    # again (asserted only when the whole exchange fit in one second).
    r = rcpt_code(srv, sender="a@sender.test")
    if int(time.time()) == int(w0):
        assert r.code == 451
    # A second boundary after the first attempt, the same triplet passes
    # and the message arrives.
    wait_until(lambda: time.time() >= int(w1) + 1.05, 5)
    d = dialogue(srv, sender="a@sender.test")
    assert d["rcpts"][0].code == 250 and d["data"].code == 250, d
    srv.wait_delivered("alice@example.test")
    # The client's /24 passed: other triplets from it pass at once,
    # answered within a minute of the store's word without asking it...
    assert rcpt_code(srv, sender="b@sender.test",
                     rcpt="bob@example.test").code == 250
    assert rcpt_code(srv, sender="c@sender.test", source="127.0.0.77").code == 250
    srv.wait_log(r"check=greylist stage=rcpt verdict=accept "
                 r"greylist=trusted net=127\.0\.0\.0/24 cached=yes")
    assert not re.search(r"greylist=trusted net=127\.0\.0\.0/24(?! cached)",
                         srv.log_text())
    # ...and the state survives a restart (it is in the store).
    srv.restart()
    assert rcpt_code(srv, sender="d@sender.test").code == 250
    srv.wait_log(r"check=greylist stage=rcpt verdict=accept "
                 r"greylist=trusted net=127\.0\.0\.0/24(?! cached)")


def test_greylist_window_expiry_starts_over(make_ferry, fakedns):
    srv = policy_server(make_ferry, fakedns, greylist="yes",
                        greylist_delay="0s", greylist_window="1s")
    assert rcpt_code(srv).code == 451
    time.sleep(2.1)     # the window is the thing under test
    # Too late: counts as a first attempt again.
    assert rcpt_code(srv).code == 451
    assert rcpt_code(srv).code == 250


def test_greylist_per_recipient_and_null_sender(make_ferry, fakedns):
    srv = policy_server(make_ferry, fakedns, greylist="yes",
                        greylist_delay="1h")
    d = dialogue(srv, sender="", rcpts=("alice@example.test", "bob@example.test"),
                 data=False)
    assert [r.code for r in d["rcpts"]] == [451, 451]


# ------------------------------------------------------------ dictionary attack

def test_dictionary_attack_block_and_expiry(make_ferry, fakedns):
    srv = policy_server(make_ferry, fakedns, bad_rcpt_limit="3",
                        bad_rcpt_window="10m", bad_rcpt_block="2s")
    with RawSMTP(srv.port) as c:
        c.ehlo()
        c.expect("MAIL FROM:<spammer@sender.test>", 250)
        codes = [c.cmd(f"RCPT TO:<nobody{i}@example.test>").code
                 for i in range(4)]
        assert codes == [550, 550, 550, 451], codes
        blocked_at = time.monotonic()
        # Every command now: 451 for known recipients too, and MAIL.
        r = c.cmd("RCPT TO:<alice@example.test>")
        assert r.code == 451 and r.enhanced == "4.7.1", r
        c.expect("RSET", 250)
        assert c.cmd("MAIL FROM:<a@sender.test>").code == 451
    with RawSMTP(srv.port) as c:
        assert c.greeting.code == 421 and c.greeting.enhanced == "4.7.1"
    # Another address is not affected.
    assert rcpt_code(srv, source="127.0.0.2").code == 250
    wait_until(lambda: time.monotonic() - blocked_at > 2.1, 5)
    assert rcpt_code(srv).code == 250
    srv.wait_log(r"check=bad_rcpt stage=rcpt verdict=block ip=127\.0\.0\.1 unknown=4")


def test_dictionary_attack_block_on_by_default(make_ferry, fakedns):
    srv = policy_server(make_ferry, fakedns, bad_rcpt_limit=None)
    with RawSMTP(srv.port) as c:
        c.ehlo()
        c.expect("MAIL FROM:<spammer@sender.test>", 250)
        codes = [c.cmd(f"RCPT TO:<nobody{i}@example.test>").code
                 for i in range(6)]
    assert codes == [550] * 5 + [451], codes


def test_dictionary_attack_block_skips_trusted(make_ferry, fakedns):
    srv = policy_server(make_ferry, fakedns, bad_rcpt_limit="1",
                        relay_networks="127.0.0.1/32")
    d = dialogue(srv, rcpts=[f"x{i}@example.test" for i in range(3)] +
                 ["alice@example.test"], data=False)
    assert [r.code for r in d["rcpts"]] == [550, 550, 550, 250]


# ------------------------------------------------------------ transcripts

def transcript(srv, sid=None):
    lines = re.findall(r"(\w{16}) smtp transcript (C:|S:) (.*)", srv.log_text())
    return [(s, d, t) for s, d, t in lines if sid is None or s == sid]


def test_transcript_both_ways_with_auth_redacted(make_ferry, fakedns):
    srv = policy_server(make_ferry, fakedns, transcript_ips="127.0.0.1",
                        auth_plaintext_networks="127.0.0.0/8")
    secret = plain_auth("alice@example.test", PASSWORD)
    with RawSMTP(srv.port) as c:
        c.ehlo()
        c.expect("AUTH PLAIN " + secret, 235)
        c.expect("MAIL FROM:<alice@example.test>", 250)
        c.expect("RCPT TO:<bob@example.test>", 250)
        c.expect("DATA", 354)
        c.send(b"Subject: transcribed\r\n\r\nbody line\r\n.\r\n")
        assert c.reply().code == 250
        c.expect("QUIT", 221)
    with RawSMTP(srv.port) as c:
        c.ehlo()
        c.expect("AUTH LOGIN", 334)
        c.expect("YWxpY2VAZXhhbXBsZS50ZXN0", 334)     # the user name
        c.expect("c2VjcmV0", 235)                       # the password
        c.expect("QUIT", 221)
    with RawSMTP(srv.port, source="127.0.0.2") as c:
        c.ehlo("untranscribed.test")
        c.expect("QUIT", 221)
    srv.wait_log(r"transcript S: \"221 ")
    log = srv.log_text()
    t = transcript(srv)
    texts = [x[2] for x in t]
    assert any(x[1] == "S:" and x[2].startswith('"220 ') for x in t)
    assert '"EHLO client.example"' in texts
    assert '"AUTH PLAIN <redacted>"' in texts
    assert '"AUTH LOGIN"' in texts
    assert texts.count("<redacted>") == 2
    assert '"Subject: transcribed"' in texts and '"body line"' in texts
    assert any(x[2].startswith('"250 2.0.0 Ok: queued as') for x in t)
    for leak in (secret, "YWxpY2VAZXhhbXBsZS50ZXN0", "c2VjcmV0", PASSWORD):
        assert leak not in log
    other = re.search(r"(\w{16}) smtp connected address=127\.0\.0\.2", log)
    assert other and transcript(srv, other.group(1)) == []
    # Timestamps: every transcript line is a log line with its time.
    for line in log.splitlines():
        if " smtp transcript " in line:
            assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ", line)
