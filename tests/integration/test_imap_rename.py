"""RENAME against a running Ferry: INBOX (RFC 3501 6.3.5: its messages
move to the new folder with their flags, INBOX stays and is empty), a
folder with children (they move along, keep their UIDVALIDITY and
messages), and names that try to leave the Maildir or are not canonical
modified UTF-7, with the Maildir's surroundings checked afterwards."""

import re

import pytest

from test_imap_basic import RawIMAP, imap_ferry, tree


@pytest.fixture
def psrv(make_ferry, tmp_path):
    return imap_ferry(make_ferry, tmp_path, plaintext=True)


def raw(srv):
    c = RawIMAP(srv.imap_port)
    c.login()
    return c


def ok(lines):
    assert re.match(rb"^\S+ OK", lines[-1]), lines
    return lines[:-1]


def append(c, folder, subject, flags=b""):
    msg = b"Subject: %s\r\n\r\nbody\r\n" % subject
    c.send(b"a APPEND %s %s{%d+}\r\n" % (folder.encode(), flags, len(msg))
           + msg + b"\r\n")
    return ok(c.until(b"a"))


def status(c, folder, items="MESSAGES UIDVALIDITY"):
    r = ok(c.cmd(f'st STATUS "{folder}" ({items})'))
    v = re.search(rb"\((.*)\)$", r[0]).group(1).split()
    return {v[i].decode(): int(v[i + 1]) for i in range(0, len(v), 2)}


def test_rename_inbox_moves_messages(psrv):
    c = raw(psrv)
    append(c, "INBOX", b"one", b"(\\Flagged) ")
    append(c, "INBOX", b"two")
    ok(c.cmd("r RENAME INBOX Saved"))
    assert status(c, "INBOX")["MESSAGES"] == 0
    assert status(c, "Saved")["MESSAGES"] == 2
    ok(c.cmd("s SELECT Saved"))
    r = ok(c.cmd("f FETCH 1:* (FLAGS ENVELOPE)"))
    text = b"\n".join(r)
    assert b"one" in text and b"two" in text and b"\\Flagged" in text
    # INBOX is still there and still takes mail
    append(c, "INBOX", b"three")
    assert status(c, "INBOX")["MESSAGES"] == 1
    # renaming an empty INBOX makes an empty folder
    ok(c.cmd("u UNSELECT"))
    r = c.cmd("r RENAME inbox Saved")        # exists already
    assert r[-1].startswith(b"r NO [ALREADYEXISTS]"), r
    assert status(c, "INBOX")["MESSAGES"] == 1
    ok(c.cmd("r RENAME INBOX Later/Box"))
    assert status(c, "Later/Box")["MESSAGES"] == 1
    assert status(c, "INBOX")["MESSAGES"] == 0


def test_rename_with_children(psrv):
    c = raw(psrv)
    ok(c.cmd("c CREATE Work/2025/Q1"))
    append(c, "Work/2025/Q1", b"q1")
    before = status(c, "Work/2025/Q1")
    ok(c.cmd("r RENAME Work Job"))
    r = ok(c.cmd('l LIST "" "*"'))
    names = b"\n".join(r)
    assert b'"Job/2025/Q1"' in names and b"Work" not in names
    after = status(c, "Job/2025/Q1")
    assert after == before
    r = c.cmd("r RENAME Job Job/Inner")         # into itself
    assert r[-1].startswith(b"r NO"), r
    r = c.cmd("r RENAME Nothing Else")
    assert r[-1].startswith(b"r NO [NONEXISTENT]"), r
    r = c.cmd("r RENAME Job Sent")
    assert r[-1].startswith(b"r NO [ALREADYEXISTS]"), r


BAD_NAMES = ["..", "../x", "a/../b", "Job/..", ".hidden", "a.b", "/abs",
             "a//b", "Job/", "&Jjo", "&AGE-", "*", "a%b", "x\x7fy"]


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_rename_to_bad_names_refused(psrv, bad):
    c = raw(psrv)
    ok(c.cmd("c CREATE Job"))
    md = psrv.maildir("alice@example.test")
    outside = tree(md.parent)
    q = '"' + bad.replace("\\", "\\\\").replace('"', '\\"') + '"'
    r = c.cmd(f"r RENAME Job {q}")
    assert re.match(rb"^r (NO|BAD)", r[-1]), (bad, r)
    r = c.cmd(f"r RENAME INBOX {q}")
    assert re.match(rb"^r (NO|BAD)", r[-1]), (bad, r)
    assert tree(md.parent) == outside
    assert status(c, "Job")["MESSAGES"] == 0
