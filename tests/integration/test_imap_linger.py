"""What the mailbox role keeps of a user after the last session ends
(the user's folder states for MBOX_USER_LINGER seconds, the folders'
inotify watches for MBOX_WATCH_LINGER): the next session must see what
changed meanwhile, through the real protocol.  The index changed by
another program, the index removed, the Maildir removed and made again,
and a folder deleted and created again while its watch lingers."""

import re
import shutil
import sqlite3

import pytest

from conftest import wait_until
from test_imap_basic import ALICE, RawIMAP, imap_ferry, imap_login, \
    maildir_write


@pytest.fixture
def psrv(make_ferry, tmp_path):
    return imap_ferry(make_ferry, tmp_path, plaintext=True)


def msg(i):
    return (f"From: a@example.test\r\nSubject: m{i}\r\n\r\nbody {i}\r\n"
            ).encode()


def highestmodseq(srv, folder="INBOX"):
    """HIGHESTMODSEQ of a SELECT in a session of its own."""
    with RawIMAP(srv.imap_port) as c:
        c.login()
        r = c.cmd(f"s SELECT {folder}")
        assert r[-1].startswith(b"s OK"), r
        c.cmd("l LOGOUT")
    for l in r:
        m = re.search(rb"\[HIGHESTMODSEQ (\d+)\]", l)
        if m:
            return int(m.group(1))
    raise AssertionError(r)


def wait_highestmodseq(srv, want, pause_s, deadline_s=10.0):
    """Sessions opened pause_s apart, until one reports a HIGHESTMODSEQ
    of want or more (AssertionError after deadline_s).  A session that
    ends is closed on the server
    after its reply (the role's work pool), and a session opened before
    that shares the state still in use; so the first may see the old
    state, but a state overtaken by another program's commit must be
    gone once no session holds it, not kept for the linger's minute.
    The pause outlasts the server's close, so that the sessions here do
    not hold the state in use between them."""
    wait_until(lambda: highestmodseq(srv) >= want, timeout=deadline_s,
               interval=pause_s, what=f"HIGHESTMODSEQ {want} or more")


@pytest.mark.parametrize("close_delay_ms", [None, "400"])
def test_index_changed_by_another_program_is_read_again(make_ferry, tmp_path,
                                                        monkeypatch,
                                                        close_delay_ms):
    # With the close held back (FERRY_TEST_CLOSE_DELAY_MS, inherited by
    # the roles) the commit lands between the end of the session and the
    # user's last close every time: the stamp taken then must not count
    # that commit as part of the state.
    if close_delay_ms:
        monkeypatch.setenv("FERRY_TEST_CLOSE_DELAY_MS", close_delay_ms)
    psrv = imap_ferry(make_ferry, tmp_path, plaintext=True)
    for i in range(3):
        maildir_write(psrv, ALICE, f"17000000{i:02d}.M{i}P1.host", msg(i))
    before = highestmodseq(psrv)
    # Another program commits to the index while no session is open:
    # the state kept in memory must not be used.
    db = sqlite3.connect(psrv.maildir(ALICE) / "ferry-index.sqlite",
                         timeout=10)
    n = db.execute("UPDATE folder SET highestmodseq = ? WHERE name = "
                   "'INBOX'", (before + 1000,)).rowcount
    db.commit()
    db.close()
    assert n == 1
    pause = int(close_delay_ms or 0) / 1000 + 0.2
    wait_highestmodseq(psrv, before + 1000, pause)


def test_index_changed_by_another_program_during_a_session(psrv):
    """A commit by another program while a session has the folder
    selected is read at that session's next sync, not written over."""
    for i in range(3):
        maildir_write(psrv, ALICE, f"17000000{i:02d}.M{i}P1.host", msg(i))
    with RawIMAP(psrv.imap_port) as c:
        c.login()
        r = c.cmd("s SELECT INBOX")
        before = int(re.search(rb"\[HIGHESTMODSEQ (\d+)\]",
                               b"".join(r)).group(1))
        db = sqlite3.connect(psrv.maildir(ALICE) / "ferry-index.sqlite",
                             timeout=10)
        db.execute("UPDATE folder SET highestmodseq = ? WHERE name = "
                   "'INBOX'", (before + 1000,))
        db.commit()
        db.close()
        # a new message makes the next sync write the folder's row
        maildir_write(psrv, ALICE, "1700000099.M9P1.host", msg(9))
        r = c.cmd("t SELECT INBOX")
        assert r[-1].startswith(b"t OK"), r
        head = b"".join(r)
        assert b"* 4 EXISTS" in head, r
        after = int(re.search(rb"\[HIGHESTMODSEQ (\d+)\]",
                              head).group(1))
        assert after > before + 1000
        c.cmd("l LOGOUT")
    assert highestmodseq(psrv) > before + 1000


def test_index_removed_between_sessions_is_built_again(psrv):
    for i in range(3):
        maildir_write(psrv, ALICE, f"17000000{i:02d}.M{i}P1.host", msg(i))
    m = imap_login(psrv)
    m.select("INBOX")
    typ, data = m.uid("SEARCH", "ALL")
    uids = data[0].split()
    m.logout()
    md = psrv.maildir(ALICE)
    for f in md.iterdir():
        if f.name.startswith("ferry-index.sqlite"):
            f.unlink()
    m = imap_login(psrv)
    m.select("INBOX")
    typ, data = m.uid("SEARCH", "ALL")
    assert data[0].split() == uids
    m.logout()
    assert (md / "ferry-index.sqlite").exists()


def test_maildir_made_again_between_sessions(psrv):
    maildir_write(psrv, ALICE, "1700000000.M1P1.host", msg(1))
    m = imap_login(psrv)
    typ, data = m.select("INBOX")
    assert data == [b"1"]
    m.logout()
    md = psrv.maildir(ALICE)
    # the Maildir goes (an operator removed it); a new, empty one is
    # made by the next login, with its special folders
    shutil.rmtree(md)
    m = imap_login(psrv)
    typ, data = m.select("INBOX")
    assert data == [b"0"]
    typ, data = m.list()
    assert any(b"\\Sent" in l for l in data), data
    m.logout()
    assert (md / "cur").is_dir()


def test_folder_deleted_and_made_again_while_its_watch_lingers(psrv):
    m = imap_login(psrv)
    assert m.create("Box")[0] == "OK"
    assert m.select("Box")[0] == "OK"
    m.logout()          # the last registration on Box: its watch lingers
    m = imap_login(psrv)
    assert m.delete("Box")[0] == "OK"
    assert m.create("Box")[0] == "OK"
    with RawIMAP(psrv.imap_port) as c:
        c.login()
        r = c.cmd("s SELECT Box")
        assert b"* 0 EXISTS" in r
        c.send(b"i IDLE\r\n")
        assert c.line() == b"+ idling"
        # delivered by someone else, straight into the Maildir:
        # seen through the new directory's own watch (the 30 s backstop
        # would be too late)
        maildir_write(psrv, ALICE, "1700000001.M1P1.host", msg(1),
                      sub=".Box/new")
        line = c.line(timeout=10)
        assert line == b"* 1 EXISTS", line
        c.send(b"DONE\r\n")
        while not c.line().startswith(b"i "):
            pass
    m.logout()
