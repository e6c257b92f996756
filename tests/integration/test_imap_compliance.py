"""Protocol details that Dovecot's imaptest (test_imaptest.py) found
wrong in Ferry, each pinned down here with raw IMAP so that the fix
cannot regress without a readable failure."""

import re

import pytest

from test_imap_basic import RawIMAP, imap_ferry
from test_pop3 import deliver


@pytest.fixture
def psrv(make_ferry, tmp_path):
    return imap_ferry(make_ferry, tmp_path, plaintext=True, tls=False)


def untagged(lines, word):
    return [l for l in lines if l.startswith(b"* ") and word in l]


def test_new_keyword_is_announced_in_flags_before_use(psrv):
    """RFC 3501 7.2.6: a keyword appears in FETCH FLAGS only after an
    untagged FLAGS has listed it, in the session that stored it and in
    another session that learns of it at NOOP."""
    deliver(psrv, n=2)
    with RawIMAP(psrv.imap_port) as a, RawIMAP(psrv.imap_port) as b:
        a.login()
        b.login()
        r = a.cmd("s1 SELECT INBOX")
        assert b"$hello" not in b"".join(untagged(r, b"FLAGS"))
        b.cmd("s2 SELECT INBOX")
        r = a.cmd("t1 STORE 1 +FLAGS ($hello)")
        assert r[-1].startswith(b"t1 OK"), r
        flags = [i for i, l in enumerate(r) if l.startswith(b"* FLAGS (")]
        fetch = [i for i, l in enumerate(r) if b"FETCH" in l]
        assert flags and fetch and flags[0] < fetch[0], r
        assert b"$hello" in r[flags[0]]
        # the second keyword: FLAGS again; an old one: no FLAGS
        r = a.cmd("t2 STORE 2 +FLAGS ($hello $world)")
        assert any(l.startswith(b"* FLAGS (") and b"$world" in l
                   for l in r), r
        r = a.cmd("t3 STORE 1 -FLAGS ($hello)")
        assert not any(l.startswith(b"* FLAGS (") for l in r), r
        # the other session: FLAGS before the FETCH that uses them
        r = b.cmd("n1 NOOP")
        flags = [i for i, l in enumerate(r) if l.startswith(b"* FLAGS (")]
        fetch = [i for i, l in enumerate(r) if b"$world" in l and
                 b"FETCH" in l]
        assert flags and fetch and flags[0] < fetch[0], r
        assert re.search(rb"\$hello \$world|\$world \$hello", r[flags[0]])
        r = b.cmd("n2 NOOP")
        assert not any(l.startswith(b"* FLAGS (") for l in r), r


def test_append_to_the_selected_folder_reports_exists(psrv):
    with RawIMAP(psrv.imap_port) as c:
        c.login()
        c.cmd("s SELECT INBOX")
        c.send(b"a APPEND INBOX (\\Seen) {5+}\r\nHi!\r\n\r\n")
        r = c.until(b"a")
        assert r[-1].startswith(b"a OK [APPENDUID"), r
        assert b"* 1 EXISTS" in r, r
        # to another folder: nothing about it in the selected one
        c.send(b"b APPEND Drafts {5+}\r\nHo!\r\n\r\n")
        r = c.until(b"b")
        assert r[-1].startswith(b"b OK [APPENDUID"), r
        assert not untagged(r, b"EXISTS"), r


def test_appended_and_copied_messages_are_recent_once(psrv):
    """RFC 3501 2.3.2: a message new to the folder is \\Recent in the
    first session to see it (EXAMINE shows it without taking it)."""
    with RawIMAP(psrv.imap_port) as c:
        c.login()
        for _ in range(2):
            c.send(b"a APPEND Drafts (\\Seen) {5+}\r\nHi!\r\n\r\n")
            assert c.until(b"a")[-1].startswith(b"a OK")
        r = c.cmd('t STATUS Drafts (MESSAGES RECENT UNSEEN)')
        assert b"* STATUS \"Drafts\" (MESSAGES 2 RECENT 2 UNSEEN 0)" in r, r
        r = c.cmd("e EXAMINE Drafts")
        assert b"* 2 RECENT" in r, r
        r = c.cmd("f FETCH 1:* FLAGS")
        assert len([l for l in r if b"\\Recent" in l]) == 2, r
        r = c.cmd("s SELECT Drafts")
        assert b"* 2 RECENT" in r, r
        # a second session sees them as not recent
        with RawIMAP(psrv.imap_port) as d:
            d.login()
            r = d.cmd("s SELECT Drafts")
            assert b"* 2 EXISTS" in r and b"* 0 RECENT" in r, r
            # a copy into the folder: recent for the copier's session
            r = d.cmd("c COPY 1 Drafts")
            assert r[-1].startswith(b"c OK [COPYUID"), r
            r = d.cmd("n NOOP")
            assert b"* 3 EXISTS" in r and b"* 1 RECENT" in r, r
            r = d.cmd("g SEARCH RECENT")
            assert b"* SEARCH 3" in r, r
        r = c.cmd("n NOOP")     # still its own two
        assert b"* 3 EXISTS" in r and b"* 2 RECENT" in r, r
        r = c.cmd('t STATUS Drafts (RECENT)')
        assert b"* STATUS \"Drafts\" (RECENT 0)" in r, r


def test_uid_sets_reach_the_largest_uid(psrv):
    deliver(psrv, n=2)
    with RawIMAP(psrv.imap_port) as c:
        c.login()
        r = c.cmd("s SELECT INBOX")
        nxt = int(re.search(rb"UIDNEXT (\d+)", b"\n".join(r)).group(1))
        r = c.cmd("u UID SEARCH UID 1:4294967295")
        assert r[-1].startswith(b"u OK"), r
        assert re.search(rb"^\* SEARCH \d+ \d+$", r[0]), r
        # past the last UID: nothing (unlike n:*, which names the last)
        r = c.cmd(f"v UID SEARCH UID {nxt}:4294967295")
        assert r[0] == b"* SEARCH", r
        r = c.cmd(f"w UID FETCH {nxt}:* UID")
        assert untagged(r, b"FETCH"), r
        r = c.cmd("x UID FETCH 4294967296 UID")
        assert r[-1].startswith(b"x BAD"), r


def test_open_bracket_is_an_atom_char(psrv):
    """'[' is an ATOM-CHAR (RFC 9051 section 9): a mailbox name with one
    is answered NO (no such mailbox), not BAD; a pattern with one is
    listed (nothing matches), and FETCH's BODY[...] still parses."""
    deliver(psrv, n=1)
    with RawIMAP(psrv.imap_port) as c:
        c.login()
        r = c.cmd("a SELECT !#$&'+,-.0123456789:;<=>?@^_`|[}")
        assert r[-1].startswith(b"a NO"), r
        r = c.cmd('b LIST "" x[y%*')
        assert r == [b"b OK LIST completed"], r
        r = c.cmd("c CREATE a]b")
        assert r[-1].startswith(b"c OK"), r
        r = c.cmd('d LIST "" a]%')
        assert r[0] == b'* LIST (\\HasNoChildren) "/" "a]b"', r
        r = c.cmd("s SELECT INBOX")
        r = c.cmd("f FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])")
        assert r[-1].startswith(b"f OK"), r
        r = c.cmd("g FETCH 1 BODY[[]]")
        assert r[-1].startswith(b"g BAD"), r


def test_condstore_turned_on_by_use_reports_highestmodseq(psrv):
    """RFC 7162 3.1: the first CONDSTORE-enabling command in a selected
    folder gets an untagged OK [HIGHESTMODSEQ]; ESEARCH's MODSEQ with
    only MIN or MAX is that message's, not the highest of all hits."""
    deliver(psrv, n=3)
    with RawIMAP(psrv.imap_port) as c:
        c.login()
        c.cmd("s SELECT INBOX")
        r = c.cmd("f FETCH 1 MODSEQ")
        assert any(l.startswith(b"* OK [HIGHESTMODSEQ ") for l in r), r
        r = c.cmd("g FETCH 1 MODSEQ")
        assert not any(b"HIGHESTMODSEQ" in l for l in r), r
        ms = {}
        for seq in (1, 3, 2):       # 2 changes last: the highest
            r = c.cmd(f"t{seq} STORE {seq} +FLAGS (\\Seen)")
            ms[seq] = int(re.search(rb"MODSEQ \((\d+)\)", r[0]).group(1))
        crit = 'MODSEQ "/flags/\\\\seen" all 1'
        r = c.cmd(f"a SEARCH RETURN (MIN) 1:3 {crit}")
        assert r[0] == b'* ESEARCH (TAG "a") MIN 1 MODSEQ %d' % ms[1], r
        r = c.cmd(f"b SEARCH RETURN (MAX) 1:3 {crit}")
        assert r[0] == b'* ESEARCH (TAG "b") MAX 3 MODSEQ %d' % ms[3], r
        r = c.cmd(f"c SEARCH RETURN (ALL) 1:3 {crit}")
        assert r[0] == b'* ESEARCH (TAG "c") ALL 1:3 MODSEQ %d' % ms[2], r
    with RawIMAP(psrv.imap_port) as c:     # ENABLEd first: no extra OK
        c.login()
        c.cmd("e ENABLE CONDSTORE")
        r = c.cmd("s SELECT INBOX")
        r = c.cmd("f FETCH 1 MODSEQ")
        assert not any(b"HIGHESTMODSEQ" in l for l in r), r


def test_envelope_takes_a_bare_address_comment_as_the_name(psrv):
    msg = (b"From: user@domain (Real Name)\r\nTo: a@b, c@d (C D)\r\n"
           b"Cc: E <e@f> (not a name)\r\n\r\nbody\r\n")
    with RawIMAP(psrv.imap_port) as c:
        c.login()
        c.send(b"a APPEND INBOX {%d+}\r\n" % len(msg) + msg + b"\r\n")
        assert c.until(b"a")[-1].startswith(b"a OK")
        c.cmd("s SELECT INBOX")
        r = c.cmd("f FETCH 1 ENVELOPE")
        assert r[0] == (b'* 1 FETCH (ENVELOPE (NIL NIL (("Real Name" NIL '
                        b'"user" "domain")) (("Real Name" NIL "user" '
                        b'"domain")) (("Real Name" NIL "user" "domain")) '
                        b'((NIL NIL "a" "b")("C D" NIL "c" "d")) '
                        b'(("E" NIL "e" "f")) NIL NIL NIL))'), r
