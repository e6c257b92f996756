"""SEARCHRES (RFC 5182) against a running Ferry: SEARCH RETURN (SAVE)
keeps its result in the session, and "$" names it wherever a sequence
set goes (FETCH, STORE, COPY, MOVE, UID EXPUNGE, their UID forms, SEARCH
and SORT keys).  python imaplib drives what it can send; a raw socket
client pipelines SEARCH with the command that uses "$".  Checked: the
saved messages follow expunges (the result is kept as UIDs), SELECT
empties it, a SEARCH that fails with NO empties it, one that fails with
BAD leaves it, MIN/MAX with SAVE keep only those, and "$" mixed into a
set or a range is BAD while the session goes on."""

import imaplib
import re

import pytest

from conftest import PASSWORD
from test_imap_basic import ALICE, RawIMAP, imap_ferry, imap_login
from test_imap_sort import append, msg


@pytest.fixture
def psrv(make_ferry, tmp_path):
    return imap_ferry(make_ferry, tmp_path, plaintext=True)


def filled(srv, subjects=("a", "b", "a", "c", "a")):
    m = imap_login(srv)
    for s in subjects:
        append(m, msg(s))
    typ, _ = m.select("INBOX")
    assert typ == "OK"
    return m


def cmd(m, *args):
    """A command through imaplib; (status, [untagged lines of the
    command's own name])."""
    name = args[0]
    typ, data = m._simple_command(*args)
    return typ, m._untagged_response(typ, data, name)[1]


def fetched(m, setspec, item="(UID)", uid=False):
    if uid:
        typ, data = m.uid("FETCH", setspec, item)
    else:
        typ, data = m.fetch(setspec, item)
    assert typ == "OK", data
    return [int(re.match(rb"(\d+) ", d).group(1)) for d in data
            if d is not None]


def search(m, *keys, uid=False):
    typ, data = m.uid("SEARCH", *keys) if uid else m.search(None, *keys)
    assert typ == "OK", data
    return [int(x) for x in data[0].split()]


def save(m, *keys, ret="(SAVE)", uid=False):
    """SEARCH RETURN ret keys; the ESEARCH lines it got (none for SAVE
    alone)."""
    name = "SEARCH"
    if uid:
        typ, data = m._simple_command("UID", name, "RETURN", ret, *keys)
    else:
        typ, data = m._simple_command(name, "RETURN", ret, *keys)
    assert typ == "OK", data
    esearch = m._untagged_response(typ, data, "ESEARCH")[1]
    old = m._untagged_response(typ, data, "SEARCH")[1]
    assert old == [None], old
    return [e for e in esearch if e is not None]


def test_capability(psrv):
    m = imap_login(psrv)
    typ, data = m.capability()
    assert b"SEARCHRES" in data[0].split()
    m.logout()


def test_save_then_fetch_store_search(psrv):
    m = filled(psrv)
    assert save(m, "SUBJECT", "a") == []      # SAVE alone: no ESEARCH
    assert fetched(m, "$") == [1, 3, 5]
    assert fetched(m, "$", uid=True) == [1, 3, 5]
    typ, _ = m.store("$", "+FLAGS", "(\\Flagged)")
    assert typ == "OK"
    assert search(m, "FLAGGED") == [1, 3, 5]
    assert search(m, "$") == [1, 3, 5]
    assert search(m, "NOT", "$") == [2, 4]
    assert search(m, "OR", "$", "SUBJECT", "b") == [1, 2, 3, 5]
    assert search(m, "UID", "$", "2:4") == [3]
    assert search(m, "UID", "$", uid=True) == [1, 3, 5]
    # SORT's search program takes "$" too
    typ, data = m.sort("(ARRIVAL)", "UTF-8", "$")
    assert typ == "OK" and data[0].split() == [b"1", b"3", b"5"], data
    m.logout()


def test_saved_result_is_kept_as_uids(psrv):
    m = filled(psrv)
    save(m, "SUBJECT", "a")                    # UIDs 1 3 5
    typ, _ = m.store("1", "+FLAGS", "(\\Deleted)")
    assert typ == "OK"
    typ, _ = m.expunge()
    assert typ == "OK"
    # UID 1 is gone; UIDs 3 and 5 are now messages 2 and 4
    assert fetched(m, "$") == [2, 4]
    assert fetched(m, "$", "(UID)", uid=True) == [2, 4]
    assert search(m, "$", uid=True) == [3, 5]
    m.logout()


def test_search_with_dollar_saves_from_the_old_result(psrv):
    m = filled(psrv)
    save(m, "SUBJECT", "a")                    # 1 3 5
    # "$" inside a saving SEARCH is the previous result
    save(m, "$", "NOT", "3")                   # 1 5
    assert fetched(m, "$") == [1, 5]
    save(m, "$", "SUBJECT", "b")               # nothing
    assert fetched(m, "$") == []
    assert search(m, "$") == []
    m.logout()


@pytest.mark.parametrize("ret,want_saved,esearch", [
    ("(SAVE MIN)", [1], rb"MIN 1$"),
    ("(MAX SAVE)", [5], rb"MAX 5$"),
    ("(SAVE MIN MAX)", [1, 5], rb"MIN 1 MAX 5$"),
    ("(SAVE MIN COUNT)", [1, 3, 5], rb"MIN 1 COUNT 3$"),
    ("(SAVE ALL)", [1, 3, 5], rb"ALL 1,3,5$"),
    ("(SAVE MAX ALL)", [1, 3, 5], rb"MAX 5 ALL 1,3,5$"),
])
def test_save_with_other_return_options(psrv, ret, want_saved, esearch):
    m = filled(psrv)
    lines = save(m, "SUBJECT", "a", ret=ret)
    assert len(lines) == 1 and re.search(esearch, lines[0]), lines
    assert fetched(m, "$") == want_saved
    m.logout()


def test_uid_search_save_and_uid_commands(psrv):
    m = filled(psrv)
    typ, _ = m.create("Kept")
    assert typ == "OK"
    lines = save(m, "SUBJECT", "a", ret="(SAVE COUNT)", uid=True)
    assert lines and re.search(rb"UID COUNT 3$", lines[0]), lines
    typ, data = m.uid("COPY", "$", "Kept")
    assert typ == "OK", data
    _, code = m.response("COPYUID")
    assert code and code[-1].endswith(b" 1,3,5 1:3"), code
    typ, data = m.uid("STORE", "$", "+FLAGS", "(\\Seen)")
    assert typ == "OK"
    assert search(m, "SEEN") == [1, 3, 5]
    typ, _ = m.uid("EXPUNGE", "$")   # nothing \Deleted: nothing goes
    assert typ == "OK"
    typ, _ = m.store("$", "+FLAGS", "(\\Deleted)")
    typ, _ = m.uid("EXPUNGE", "$")
    assert typ == "OK"
    assert search(m, "ALL") == [1, 2]
    assert search(m, "ALL", uid=True) == [2, 4]
    # every saved message is gone now: "$" is empty, not an error
    assert fetched(m, "$") == []
    typ, data = m.status("Kept", "(MESSAGES)")
    assert typ == "OK" and b"MESSAGES 3" in data[0], data
    m.logout()


def test_move_dollar(psrv):
    m = filled(psrv)
    typ, _ = m.create("Moved")
    save(m, "SUBJECT", "a")
    typ, data = m._simple_command("MOVE", "$", "Moved")
    assert typ == "OK", data
    assert search(m, "ALL") == [1, 2]
    assert search(m, "SUBJECT", "a") == []
    typ, data = m.status("Moved", "(MESSAGES)")
    assert b"MESSAGES 3" in data[0], data
    m.logout()


def test_empty_before_any_search_and_after_select(psrv):
    m = filled(psrv)
    # never saved: "$" is the empty set, commands on it are OK and do
    # nothing
    assert fetched(m, "$") == []
    typ, _ = m.store("$", "+FLAGS", "(\\Flagged)")
    assert typ == "OK"
    typ, data = m.copy("$", "INBOX")
    assert typ == "OK", data
    assert search(m, "FLAGGED") == []
    save(m, "ALL")
    assert fetched(m, "$") == [1, 2, 3, 4, 5]
    # RFC 5182 2.1: SELECT (even of the same mailbox) empties it
    typ, _ = m.select("INBOX")
    assert typ == "OK"
    assert fetched(m, "$") == []
    save(m, "ALL")
    typ, _ = m.select("INBOX", readonly=True)   # EXAMINE
    assert fetched(m, "$") == []
    m.logout()


def test_failed_searches(psrv):
    m = filled(psrv)
    save(m, "SUBJECT", "a")
    # BAD leaves the saved result as it was (imaplib raises on BAD)
    with pytest.raises(imaplib.IMAP4.error, match="BAD"):
        m._simple_command("SEARCH", "RETURN", "(SAVE)", "BOGUS")
    assert fetched(m, "$") == [1, 3, 5]
    with pytest.raises(imaplib.IMAP4.error, match="BAD"):
        m._simple_command("SEARCH", "RETURN", "(SAVE BOGUS)", "ALL")
    assert fetched(m, "$") == [1, 3, 5]
    # a SEARCH without SAVE leaves it too, and one with NO without
    # SAVE as well
    assert search(m, "SUBJECT", "b") == [2]
    typ, _ = m._simple_command("SEARCH", "CHARSET", "KOI8-R", "ALL")
    assert typ == "NO"
    assert fetched(m, "$") == [1, 3, 5]
    # NO with SAVE empties it (RFC 5182 2.1)
    typ, data = m._simple_command("SEARCH", "RETURN", "(SAVE)", "CHARSET",
                                  "KOI8-R", "ALL")
    assert typ == "NO" and b"BADCHARSET" in data[0], data
    assert fetched(m, "$") == []
    m.logout()


def test_pipelined_search_then_dollar(psrv):
    m = filled(psrv)
    m.logout()
    r = RawIMAP(psrv.imap_port)
    r.login()
    r.cmd("s SELECT INBOX")
    # all three sent at once: each command sees the one before it
    r.send(b"a SEARCH RETURN (SAVE) SUBJECT a\r\n"
           b"b STORE $ +FLAGS.SILENT (\\Answered)\r\n"
           b"c UID FETCH $ (FLAGS)\r\n")
    out = r.until(b"a")
    assert out == [b"a OK SEARCH completed"], out
    out = r.until(b"b")
    assert out == [b"b OK STORE completed"], out
    out = r.until(b"c")
    assert out[-1].startswith(b"c OK"), out
    uids = sorted(int(re.search(rb"UID (\d+)", l).group(1))
                  for l in out[:-1])
    assert uids == [1, 3, 5], out
    assert all(b"\\Answered" in l for l in out[:-1]), out
    r.close()


def test_rev2_session(psrv):
    filled(psrv).logout()
    m = imap_login(psrv)
    typ, _ = m._simple_command("ENABLE", "IMAP4rev2")
    assert typ == "OK"
    m.select("INBOX")
    # SAVE alone gives no ESEARCH in IMAP4rev2 either
    assert save(m, "SUBJECT", "a") == []
    assert fetched(m, "$") == [1, 3, 5]
    m.logout()


@pytest.mark.parametrize("line", [
    b"x1 FETCH $,1 (UID)",
    b"x2 FETCH 1,$ (UID)",
    b"x3 FETCH $:3 (UID)",
    b"x4 FETCH 1:$ (UID)",
    b"x5 FETCH $$ (UID)",
    b"x6 STORE $* +FLAGS (\\Seen)",
    b"x7 UID COPY $1 INBOX",
    b"x8 SEARCH $:1",
    b"x9 SEARCH UID $,5",
    b"x10 SEARCH RETURN (SAVE SAVE ZZZ) ALL",
    b"x11 SEARCH RETURN SAVE ALL",
    b"x12 FETCH \"$\" (UID)",
    b"x13 UID EXPUNGE $,1",
    b"x14 MOVE $",
])
def test_bad_dollar_uses(psrv, line):
    m = filled(psrv)
    m.logout()
    r = RawIMAP(psrv.imap_port)
    r.login()
    r.cmd("s SELECT INBOX")
    r.cmd("s2 SEARCH RETURN (SAVE) SUBJECT b")
    tag = line.split(b" ", 1)[0]
    out = r.cmd(line)
    assert out[-1].startswith(tag + b" BAD"), out
    # the session goes on, and the saved result is unchanged
    out = r.cmd("z FETCH $ (UID)")
    assert out == [b"* 2 FETCH (UID 2)", b"z OK FETCH completed"], out
    r.close()


def test_dollar_needs_a_selected_mailbox(psrv):
    r = RawIMAP(psrv.imap_port)
    r.login()
    out = r.cmd("a FETCH $ (UID)")
    assert out[-1].startswith(b"a BAD"), out
    out = r.cmd("b SEARCH RETURN (SAVE) ALL")
    assert out[-1].startswith(b"b BAD"), out
    r.close()
