"""A large folder's first SELECT answers before writing its index rows
(docs/design-notes.md, "A large folder's first SELECT writes its rows
after the reply"): the rows are written afterwards on the pool, or by
the first command that writes to the folder; a mailbox role killed
before they are written costs only another full sync, with the same
UIDs, flags and dates, and a HIGHESTMODSEQ above the one reported.

FERRY_TEST_NO_ROW_FLUSH (read by the mailbox role) keeps the rows from
being written after the reply, so the kill lands between the reply and
the write every time."""

import os
import re
import signal
import sqlite3
import threading
import time

import pytest

from conftest import wait_until
from test_imap_basic import ALICE, RawIMAP, imap_ferry, maildir_write

COUNT = 1200        # above MBOX_DEFER_ROWS (1000)


def fill(srv, n=COUNT):
    """n messages in cur/, some \\Seen, some \\Flagged, with file times
    that differ from their name order; returns {base name: (flags,
    INTERNALDATE)} as they must be shown."""
    want = {}
    for i in range(n):
        fl = ("F" if i % 5 == 0 else "") + ("S" if i % 3 == 0 else "")
        name = f"{1700000000 + i}.M{i}P1.host:2,{fl}"
        p = maildir_write(srv, ALICE, name,
                          (f"From: a@example.test\r\nSubject: m{i}\r\n\r\n"
                           f"body {i}\r\n").encode(), sub="cur")
        t = 1600000000 + (n - i) * 3600
        os.utime(p, (t, t))
        flags = sorted(({"F": b"\\Flagged", "S": b"\\Seen"}[x] for x in fl))
        date = time.strftime("%d-%b-%Y %H:%M:%S +0000", time.gmtime(t))
        want[name.split(":")[0]] = (flags, date.encode())
    return want


def by_uid(srv, want):
    """want keyed by the UIDs ferry-uidlist gave the messages."""
    out = {}
    lines = (srv.maildir(ALICE) / "ferry-uidlist").read_text().splitlines()
    for l in lines[1:]:
        uid, _, base = l.split(" ", 2)
        out[int(uid)] = want[base]
    assert len(out) == len(want)
    return out


def select_head(c):
    """(EXISTS, UIDVALIDITY, HIGHESTMODSEQ) of a SELECT on c."""
    r = c.cmd("s SELECT INBOX")
    assert r[-1].startswith(b"s OK"), r[-3:]
    head = b"\n".join(r)
    return (int(re.search(rb"\* (\d+) EXISTS", head).group(1)),
            int(re.search(rb"\[UIDVALIDITY (\d+)\]", head).group(1)),
            int(re.search(rb"\[HIGHESTMODSEQ (\d+)\]", head).group(1)))


def select(srv):
    """(EXISTS, UIDVALIDITY, HIGHESTMODSEQ, {uid: (flags, date)}) from a
    session of its own: SELECT then UID FETCH 1:* (FLAGS INTERNALDATE)."""
    with RawIMAP(srv.imap_port, timeout=60) as c:
        c.login()
        exists, validity, hms = select_head(c)
        f = c.cmd("f UID FETCH 1:* (FLAGS INTERNALDATE)")
        assert f[-1].startswith(b"f OK"), f[-3:]
        c.cmd("l LOGOUT")
    msgs = {}
    for l in f[:-1]:
        m = re.match(rb"\* \d+ FETCH \((.*)\)$", l)
        assert m, l
        uid = int(re.search(rb"UID (\d+)", m.group(1)).group(1))
        flags = sorted(re.search(rb"FLAGS \(([^)]*)\)",
                                 m.group(1)).group(1).split())
        date = re.search(rb'INTERNALDATE "([^"]*)"', m.group(1)).group(1)
        msgs[uid] = (flags, date)
    assert len(msgs) == exists
    return exists, validity, hms, msgs


def index_rows(srv):
    """(msg rows, uidnext of the folder row) of INBOX in the index."""
    db = sqlite3.connect(f"file:{srv.maildir(ALICE)}/ferry-index.sqlite"
                         "?mode=ro", uri=True, timeout=10)
    try:
        row = db.execute("SELECT id, uidnext FROM folder WHERE name = "
                         "'INBOX'").fetchone()
        if row is None:
            return 0, 0
        n = db.execute("SELECT count(*) FROM msg WHERE folder = ?",
                       (row[0],)).fetchone()[0]
        return n, row[1]
    finally:
        db.close()


def index_dates(srv):
    """{uid: INTERNALDATE as shown} of INBOX's rows in the index."""
    db = sqlite3.connect(f"file:{srv.maildir(ALICE)}/ferry-index.sqlite"
                         "?mode=ro", uri=True, timeout=10)
    try:
        rows = db.execute("SELECT uid, internaldate FROM msg WHERE folder ="
                          " (SELECT id FROM folder WHERE name = 'INBOX')")
        return {uid: time.strftime("%d-%b-%Y %H:%M:%S +0000",
                                   time.gmtime(t)).encode()
                for uid, t in rows}
    finally:
        db.close()


def fetch_dates(c, tag, seqs):
    """{seq: INTERNALDATE} of a non-UID FETCH (which may not report an
    expunge, so the expunged messages are still there)."""
    r = c.cmd(f"{tag} FETCH {seqs} (INTERNALDATE)")
    assert r[-1].startswith(tag.encode() + b" OK"), r[-3:]
    out = {}
    for l in r[:-1]:
        m = re.match(rb'\* (\d+) FETCH \(INTERNALDATE "([^"]*)"\)$', l)
        assert m, l
        out[int(m.group(1))] = m.group(2)
    return out


def kill_mailbox(srv):
    old = srv.role_pid("mailbox")
    assert old, "no ferry-mailbox role"
    os.kill(old, signal.SIGKILL)
    srv.wait_role_pid("mailbox", timeout=10, not_pid=old)
    wait_until(lambda: _answers(srv), 10, interval=0.1,
               what="IMAP answering after the restart")


def _answers(srv):
    try:
        with RawIMAP(srv.imap_port, timeout=5) as c:
            c.login()
            c.cmd("l LOGOUT")
        return True
    except (OSError, AssertionError):
        return False


@pytest.fixture
def held(make_ferry, tmp_path, monkeypatch):
    """A server whose mailbox role never writes deferred rows on its
    own (the environment is inherited by the roles)."""
    monkeypatch.setenv("FERRY_TEST_NO_ROW_FLUSH", "1")
    return imap_ferry(make_ferry, tmp_path, plaintext=True)


@pytest.fixture
def psrv(make_ferry, tmp_path):
    return imap_ferry(make_ferry, tmp_path, plaintext=True)


def test_killed_before_rows_are_written_same_uids_and_flags(held):
    want = fill(held)
    with RawIMAP(held.imap_port, timeout=60) as c:
        c.login()
        exists, validity, hms = select_head(c)
        assert exists == COUNT
        # the reply came before the rows: none are in the index, and
        # the folder row says it was never scanned
        assert index_rows(held) == (0, 0)
        kill_mailbox(held)
    exists2, validity2, hms2, after = select(held)
    assert (exists2, validity2) == (exists, validity)
    assert after == by_uid(held, want)
    assert sorted(after) == list(range(1, COUNT + 1))
    # the rebuild counts above what clients were told
    assert hms2 > hms


def test_a_command_after_the_reply_writes_the_rows_first(held):
    want = fill(held)
    with RawIMAP(held.imap_port, timeout=60) as c:
        c.login()
        _, validity, hms = select_head(c)
        assert index_rows(held) == (0, 0)
        r = c.cmd("t UID STORE 2 +FLAGS.SILENT (\\Answered)")
        assert r[-1].startswith(b"t OK"), r
        # every row was written before the STORE's own
        n, uidnext = index_rows(held)
        assert n == COUNT and uidnext == COUNT + 1
        kill_mailbox(held)
    _, validity2, hms2, after = select(held)
    assert validity2 == validity
    want = by_uid(held, want)
    want[2] = (sorted(want[2][0] + [b"\\Answered"]), want[2][1])
    assert after == want
    assert hms2 > hms


def test_rows_are_written_after_the_reply(psrv):
    want = fill(psrv)
    with RawIMAP(psrv.imap_port, timeout=60) as c:
        c.login()
        _, validity, hms = select_head(c)
        # the session sends nothing more: only the job after the reply
        # can write them
        wait_until(lambda: index_rows(psrv) == (COUNT, COUNT + 1), 30,
                   interval=0.1, what="the rows written after the reply")
        # the first sync left the dates unread; the rows' writer read
        # them (a row with 0 would show "not read yet")
        assert index_dates(psrv) == {u: d for u, (_, d) in
                                     by_uid(psrv, want).items()}
        kill_mailbox(psrv)
    _, validity2, hms2, after = select(psrv)
    assert validity2 == validity
    assert after == by_uid(psrv, want)
    # read from the rows, not counted again
    assert hms2 == hms


def test_dates_read_late_stay_the_same_after_an_expunge(held):
    """The first sync of a large folder leaves INTERNALDATE unread (the
    rows' writer or the first view that asks reads it; held: no writer).
    A date one session saw must be the one another session, which has
    not yet seen the message expunged, is shown afterwards; a date no
    one read before the expunge is one date for everyone."""
    want = fill(held)
    with RawIMAP(held.imap_port, timeout=60) as a, \
            RawIMAP(held.imap_port, timeout=60) as b, \
            RawIMAP(held.imap_port, timeout=60) as c:
        for s in (a, b, c):
            s.login()
            assert select_head(s)[0] == COUNT
        want = by_uid(held, want)
        # UIDs are 1..COUNT, so sequence numbers are UIDs here
        assert fetch_dates(a, "a1", "5") == {5: want[5][1]}
        r = b.cmd("b1 STORE 5:6 +FLAGS.SILENT (\\Deleted)")
        assert r[-1].startswith(b"b1 OK"), r
        r = b.cmd("b2 EXPUNGE")
        assert r[-1].startswith(b"b2 OK"), r
        assert sum(1 for l in r if l.endswith(b" EXPUNGE")) == 2
        # c and a have not been told: both still show 5 and 6
        seen_c = fetch_dates(c, "c1", "4:7")
        assert seen_c[4] == want[4][1] and seen_c[7] == want[7][1]
        assert seen_c[5] == want[5][1]      # as a saw it, not "now"
        seen_a = fetch_dates(a, "a2", "4:7")
        assert seen_a == seen_c             # 6: one date for both
        for s in (a, b, c):
            s.cmd("l LOGOUT")


def test_files_renamed_while_rows_are_written_keep_their_dates(psrv):
    """The rows' writer reads the dates of a step's files without the
    user's lock and keeps a date only for a record that still has that
    file name.  Files renamed by hand (a flag added, as a Maildir tool
    would) while the rows are written must come out with the new flag
    and their own dates, whichever moment the renames hit."""
    want = fill(psrv)
    cur = psrv.maildir(ALICE) / "cur"
    with RawIMAP(psrv.imap_port, timeout=60) as c:
        c.login()
        assert select_head(c)[0] == COUNT
        # at once, while the writer starts on the rows
        for name in sorted(os.listdir(cur)):
            base, fl = name.split(":2,")
            os.rename(cur / name, cur / f"{base}:2,D{fl}")
        wait_until(lambda: index_rows(psrv) == (COUNT, COUNT + 1), 30,
                   interval=0.1, what="the rows written after the reply")
        c.cmd("l LOGOUT")
    _, _, _, after = select(psrv)
    want = {u: (sorted(fl + [b"\\Draft"]), d)
            for u, (fl, d) in by_uid(psrv, want).items()}
    assert after == want


def test_rows_are_written_while_commands_keep_coming(psrv):
    """The rows' writer waits for the user's sessions to pause before it
    starts (a first SELECT is followed at once by the client's FETCH),
    but not for ever: a client that never pauses still gets its rows,
    and its commands keep being answered meanwhile."""
    want = fill(psrv)
    with RawIMAP(psrv.imap_port, timeout=60) as c:
        c.login()
        select_head(c)
        deadline = time.monotonic() + 30
        n = 0
        while index_rows(psrv) != (COUNT, COUNT + 1):
            assert time.monotonic() < deadline, \
                "rows not written while commands kept coming"
            n += 1
            r = c.cmd(f"n{n} NOOP")
            assert r[-1].startswith(f"n{n} OK".encode()), r
            time.sleep(0.02)
        assert index_dates(psrv) == {u: d for u, (_, d) in
                                     by_uid(psrv, want).items()}
        c.cmd("l LOGOUT")


def test_rows_writer_leaves_another_programs_commit(psrv):
    """Another program commits to the index after a first SELECT left
    its rows for later: the writer must not write the state it held
    over that commit.  The next sessions read the other program's
    HIGHESTMODSEQ (or one above), and every message with its flags and
    date is still there."""
    want = fill(psrv)
    with RawIMAP(psrv.imap_port, timeout=60) as c:
        c.login()
        _, _, hms = select_head(c)
        # The writer starts once the user has been quiet 100 ms: GETQUOTA
        # (which takes the user's lock, unlike NOOP never writes the rows
        # itself) keeps it waiting until the other program has committed.
        done = threading.Event()

        def busy():
            k = 0
            while not done.is_set():
                k += 1
                r = c.cmd(f'q{k} GETQUOTA ""')
                assert r[-1].startswith(f"q{k} NO [NONEXISTENT]".encode()), r
                time.sleep(0.02)
        t = threading.Thread(target=busy)
        t.start()
        try:
            db = sqlite3.connect(psrv.maildir(ALICE) / "ferry-index.sqlite",
                                 timeout=10)
            n = db.execute("UPDATE folder SET highestmodseq = ? WHERE name"
                           " = 'INBOX'", (hms + 1000,)).rowcount
            db.commit()
            db.close()
        finally:
            done.set()
            t.join()
        assert n == 1
        c.cmd("l LOGOUT")
    # the writer's turn comes, and it writes nothing
    psrv.wait_log(r"mailbox index-changed-elsewhere .*rows=left-to-next-scan",
                  timeout=30)
    last = {}

    def reached():
        last["select"] = select(psrv)
        return last["select"][2] >= hms + 1000
    wait_until(reached, timeout=30, interval=0.5,
               what=f"HIGHESTMODSEQ {hms + 1000} or more")
    exists, _, _, msgs = last["select"]
    assert exists == COUNT
    assert msgs == by_uid(psrv, want)
