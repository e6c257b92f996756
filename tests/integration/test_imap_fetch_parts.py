"""A long FETCH answer goes out in parts (docs/design-notes.md, "A
large folder's FETCH goes out while it is made"): the lines of each
part are sent while the next part is made on the pool, the session
stays suspended in between, and the client sees one answer, in order,
with nothing lost or repeated at a part's edge.  \\Seen set by BODY[]
in the first part is reported with FLAGS in every later part; a peer
that leaves in the middle of such an answer costs the server nothing,
and one that stops reading holds about a megabyte of it in the server,
not all of it (plain, under COMPRESS=DEFLATE and under STARTTLS), and then gets all of
it when it reads again.
The index rows a large folder's first SELECT leaves for later are
written by a thread of lower CPU priority."""

import base64
import imaplib
import os
import re
import time

import pytest

from certs import client_context
from conftest import PASSWORD, sanitized, wait_until
from test_imap_basic import ALICE, RawIMAP, imap_ferry, maildir_write
from test_imap_compress import DeflateIMAP

COUNT = 3000        # FLAGS + INTERNALDATE + RFC822.SIZE: about 300 KB


@pytest.fixture
def psrv(make_ferry, tmp_path):
    return imap_ferry(make_ferry, tmp_path, plaintext=True)


def fill(srv, n=COUNT):
    """n messages in cur/, every third \\Seen; their bodies by number."""
    bodies = {}
    for i in range(n):
        fl = "S" if i % 3 == 0 else ""
        body = (f"From: a@example.test\r\nSubject: m{i}\r\n\r\n"
                f"body {i} " + "x" * (i % 50) + "\r\n").encode()
        maildir_write(srv, ALICE, f"{1700000000 + i}.M{i}P1.host:2,{fl}",
                      body, sub="cur")
        bodies[i] = body
    return bodies


def fetch_lines(lines):
    """{seq: the line's items} of the untagged FETCH lines, in order."""
    seqs, items = [], {}
    for l in lines:
        m = re.match(rb"\* (\d+) FETCH \((.*)\)$", l)
        if m:
            seqs.append(int(m.group(1)))
            items[int(m.group(1))] = m.group(2)
    return seqs, items


def test_long_fetch_whole_and_in_order_then_next_command(psrv):
    fill(psrv)
    with RawIMAP(psrv.imap_port, timeout=60) as c:
        c.login()
        r = c.cmd("s SELECT INBOX")
        assert b"* %d EXISTS" % COUNT in r, r[:6]
        # the next command is already waiting when the long answer
        # starts: it is answered after the FETCH's tagged reply
        c.send(b"f UID FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE)\r\n"
               b"n NOOP\r\n")
        f = c.until(b"f")
        assert f[-1].startswith(b"f OK"), f[-3:]
        assert sum(len(l) for l in f) > 256 * 1024
        seqs, items = fetch_lines(f)
        assert seqs == list(range(1, COUNT + 1))
        uids = [int(re.search(rb"UID (\d+)", items[s]).group(1))
                for s in seqs]
        assert uids == sorted(set(uids))
        for s in seqs:
            assert re.search(rb'FLAGS \([^)]*\) INTERNALDATE "[^"]+" '
                             rb"RFC822.SIZE \d+", items[s]), items[s]
        n = c.until(b"n")
        assert n[-1].startswith(b"n OK"), n
        c.cmd("l LOGOUT")


def test_body_fetch_across_parts_reports_seen_and_content(psrv):
    bodies = fill(psrv)
    with RawIMAP(psrv.imap_port, timeout=60) as c:
        c.login()
        assert c.cmd("s SELECT INBOX")[-1].startswith(b"s OK")
        f = c.cmd("f FETCH 1:* (UID BODY[])")
        assert f[-1].startswith(b"f OK"), f[-3:]
        # each message: its line (ending in the literal's size), the
        # literal, then ")" or the rest of the items
        got, i = {}, 0
        while i < len(f) - 1:
            m = re.match(rb"\* (\d+) FETCH \(UID (\d+) BODY\[\] "
                         rb"\{(\d+)\}$", f[i])
            assert m, f[i][:80]
            seq = int(m.group(1))
            assert len(f[i + 1]) == int(m.group(3))
            rest = f[i + 2]
            got[seq] = (f[i + 1], rest)
            i += 3
        assert sorted(got) == list(range(1, COUNT + 1))
        by_subject = {int(re.search(rb"Subject: m(\d+)", b).group(1)): b
                      for b, _ in got.values()}
        assert by_subject == bodies
        for seq, (body, rest) in got.items():
            n = int(re.search(rb"Subject: m(\d+)", body).group(1))
            if n % 3 == 0:
                assert rest == b")", (seq, rest)        # already \Seen
            else:
                # set by this FETCH, reported in its line (RFC 9051 6.4.5)
                assert rest.startswith(b" FLAGS (") and b"\\Seen" in rest
        r = c.cmd("u SEARCH UNSEEN")
        assert r[0] == b"* SEARCH", r[:2]
        c.cmd("l LOGOUT")


def assert_full_fetch(srv, n):
    """A new session's UID FETCH 1:* (FLAGS) lists messages 1..n."""
    with RawIMAP(srv.imap_port, timeout=60) as c:
        c.login()
        assert c.cmd("s SELECT INBOX")[-1].startswith(b"s OK")
        f = c.cmd("f UID FETCH 1:* (FLAGS)")
        assert f[-1].startswith(b"f OK")
        assert fetch_lines(f)[0] == list(range(1, n + 1))
        c.cmd("l LOGOUT")


def test_peer_leaving_mid_answer_costs_nothing(psrv):
    fill(psrv)
    for _ in range(3):
        c = RawIMAP(psrv.imap_port, timeout=60)
        c.login()
        assert c.cmd("s SELECT INBOX")[-1].startswith(b"s OK")
        c.send(b"f FETCH 1:* (BODY.PEEK[])\r\n")
        c.line()                # the answer has started
        c.close()
    assert_full_fetch(psrv, COUNT)
    assert psrv.role_pid("mailbox")
    assert "panic" not in psrv.log_text().lower()


def mailbox_nices(pid):
    """The nice value of each thread of process pid."""
    out = []
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/stat") as f:
                # the fields after the command name, which may hold spaces
                out.append(int(f.read().rsplit(")", 1)[1].split()[16]))
        except FileNotFoundError:
            pass
    return out


def test_rows_writer_thread_runs_at_lower_priority(psrv):
    pid = psrv.role_pid("mailbox")
    assert pid
    base = os.getpriority(os.PRIO_PROCESS, pid)
    low = min(base + 10, 19)
    wait_until(lambda: mailbox_nices(pid).count(low) == 1, 10,
               interval=0.1, what="one thread of the mailbox role niced")
    assert mailbox_nices(pid).count(base) >= 2


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def rss_peak_until_steady(pid):
    """The server makes parts until the client's buffers and its own
    megabyte are full, then waits: its memory stops growing.  The
    largest RSS seen until it has not moved for 2 s."""
    peak = last = rss_kb(pid)
    steady_since = time.monotonic()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and \
            time.monotonic() - steady_since < 2:
        time.sleep(0.2)
        now = rss_kb(pid)
        peak = max(peak, now)
        if abs(now - last) > 256:
            last, steady_since = now, time.monotonic()
    return peak


BIG_N, BIG_SIZE = 200, 200 * 1024      # a 40 MB answer


def fill_big(srv):
    """BIG_N messages of BIG_SIZE octets of base64 (deflate cannot
    shrink them much); their bodies by number."""
    bodies = {}
    for i in range(BIG_N):
        text = base64.encodebytes(os.urandom(BIG_SIZE * 3 // 4)).replace(
            b"\n", b"\r\n")
        body = f"From: a@example.test\r\nSubject: big{i}\r\n\r\n".encode() \
            + text
        maildir_write(srv, ALICE, f"{1700000000 + i}.M{i}P1.host:2,S",
                      body, sub="cur")
        bodies[i + 1] = body
    return bodies


@pytest.mark.parametrize("mode", ["plain", "deflate", "starttls"])
def test_client_that_stops_reading_holds_a_megabyte_not_the_answer(
        psrv, mode):
    """Under COMPRESS and STARTTLS the session writes through a filter
    whose own output buffer is bounded too."""
    bodies = fill_big(psrv)
    m = (DeflateIMAP if mode == "deflate" else imaplib.IMAP4)(
        "127.0.0.1", psrv.imap_port, timeout=60)
    if mode == "starttls":
        assert m.starttls(ssl_context=client_context(psrv.ca))[0] == "OK"
    m.login(ALICE, PASSWORD)
    if mode == "deflate":
        m.deflate()
    typ, data = m.select("INBOX")
    assert typ == "OK" and data == [str(BIG_N).encode()], data
    pid = psrv.role_pid("mailbox")
    assert pid
    before = rss_kb(pid)
    m.send(b"f FETCH 1:* (BODY.PEEK[])\r\n")
    grown_mb = (rss_peak_until_steady(pid) - before) / 1024
    answer_mb = BIG_N * BIG_SIZE / 1024 / 1024
    # (under ASan RSS follows what was allocated, not what is live)
    assert grown_mb < 12 or sanitized(pid), (grown_mb, answer_mb)
    # reading again: the whole answer, in order, every body intact
    got = {}
    while True:
        line = m.readline()
        assert line, "connection closed mid-answer"
        if line.startswith(b"f "):
            assert line.startswith(b"f OK"), line
            break
        mm = re.match(rb"\* (\d+) FETCH .*\{(\d+)\}\r\n$", line)
        assert mm, line[:200]
        got[int(mm.group(1))] = m.read(int(mm.group(2)))
        assert m.readline() == b")\r\n"
    assert sorted(got) == list(range(1, BIG_N + 1))
    for seq, body in bodies.items():
        assert got[seq] == body, seq
    m.logout()


def test_client_that_stops_reading_then_leaves_ends_its_session(psrv):
    """The answer's next part waits for the client; a client that leaves
    instead ends the session (and the waiting job) at once."""
    fill_big(psrv)
    m = imaplib.IMAP4("127.0.0.1", psrv.imap_port, timeout=60)
    m.login(ALICE, PASSWORD)
    m.select("INBOX")
    pid = psrv.role_pid("mailbox")
    m.send(b"f FETCH 1:* (BODY.PEEK[])\r\n")
    rss_peak_until_steady(pid)
    n = psrv.log_text().count("imap disconnected")
    m.shutdown()        # imaplib closes its file and its socket
    wait_until(lambda: psrv.log_text().count("imap disconnected") > n, 10,
               what="the session's end logged")
    assert_full_fetch(psrv, BIG_N)
    assert psrv.role_pid("mailbox") == pid


def test_role_stops_cleanly_with_an_answer_parked(psrv):
    """Stopping the server while a client has stopped reading a long
    answer: the stop completes within the role's grace time, and freeing
    the session with its parked part gives no sanitizer report (the
    roles end with _exit, so LeakSanitizer does not look at them; the
    free itself runs under ASan's checks)."""
    fill_big(psrv)
    m = imaplib.IMAP4("127.0.0.1", psrv.imap_port, timeout=60)
    m.login(ALICE, PASSWORD)
    m.select("INBOX")
    m.send(b"f FETCH 1:* (BODY.PEEK[])\r\n")
    rss_peak_until_steady(psrv.role_pid("mailbox"))
    assert psrv.stop(timeout=40) == 0
    log = psrv.log_text()
    assert "Sanitizer" not in log and "runtime error" not in log, \
        log[-3000:]
    m.shutdown()
