"""INTERNALDATE is the message file's mtime, read only when a client
asks for it (FETCH INTERNALDATE, SEARCH BEFORE/ON/SINCE and the SENT*
keys' fallback, SORT ARRIVAL and DATE): a folder's first sync does not
stat every message.  What was read is kept in the index."""

import os
import re

import pytest

from test_imap_basic import ALICE, RawIMAP, imap_ferry, maildir_write

DAY = 86400
# 2001-01-10, 2001-01-20 and 2001-01-30, noon UTC
TIMES = [979128000, 979992000, 980856000]


@pytest.fixture
def psrv(make_ferry, tmp_path):
    return imap_ferry(make_ferry, tmp_path, plaintext=True)


def put_messages(srv):
    # names in the opposite order of the dates: ARRIVAL must follow the
    # files' times, not their names or UIDs
    for i, t in enumerate(TIMES):
        p = maildir_write(srv, ALICE, f"17000000{9 - i:02d}.M{i}P1.host",
                          (f"From: a@example.test\r\nSubject: d{i}\r\n\r\n"
                           f"body {i}\r\n").encode(), sub="cur")
        os.utime(p, (t, t))


def session(srv):
    c = RawIMAP(srv.imap_port)
    c.login()
    assert c.cmd("s SELECT INBOX")[-1].startswith(b"s OK")
    return c


def dates(c):
    r = c.cmd("f FETCH 1:* (UID INTERNALDATE)")
    return {int(m.group(1)): m.group(2).decode() for m in
            (re.search(rb"UID (\d+) INTERNALDATE \"([^\"]+)\"", l)
             for l in r) if m}


def uids(line):
    return [int(x) for x in line.split()[2:]]


def test_dates_read_when_asked_and_kept(psrv):
    put_messages(psrv)
    c = session(psrv)
    # the first ask is a SEARCH: the dates are read for it
    r = c.cmd("a UID SEARCH SINCE 15-Jan-2001 BEFORE 25-Jan-2001")
    found = uids(r[0])
    assert len(found) == 1
    r = c.cmd("b UID SEARCH ON 30-Jan-2001")
    assert len(uids(r[0])) == 1
    r = c.cmd("c UID SEARCH NOT SENTSINCE 15-Jan-2001")  # no Date: header
    assert len(uids(r[0])) == 1
    got = dates(c)
    assert sorted(got.values()) == sorted(
        ["10-Jan-2001 12:00:00 +0000", "20-Jan-2001 12:00:00 +0000",
         "30-Jan-2001 12:00:00 +0000"])
    assert got[found[0]] == "20-Jan-2001 12:00:00 +0000"
    r = c.cmd("d UID SORT (ARRIVAL) UTF-8 ALL")
    order = uids(r[0])
    assert [got[u][:2] for u in order] == ["10", "20", "30"]
    c.cmd("z LOGOUT")
    c.close()

    # The files' times change; the server restarts (its state is gone):
    # the dates come from the index, as read the first time.
    md = psrv.maildir(ALICE)
    for f in (md / "cur").iterdir():
        os.utime(f, (1000000000, 1000000000))
    psrv.restart()
    c = session(psrv)
    assert dates(c) == got
    c.cmd("z LOGOUT")
    c.close()


def test_fetch_internaldate_first(psrv):
    put_messages(psrv)
    c = session(psrv)
    got = dates(c)
    assert sorted(got.values())[0] == "10-Jan-2001 12:00:00 +0000"
    c.cmd("z LOGOUT")
    c.close()
