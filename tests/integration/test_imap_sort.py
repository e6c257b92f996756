"""IMAP SORT (RFC 5256), SORT=DISPLAY (RFC 5957) and ESORT (RFC 5267)
against a running Ferry with python imaplib: every sort key, REVERSE,
UID SORT, the base subject (encoded words, Re:/Fwd:/[tags]/(fwd)),
a missing Date, the search program, the sort records kept in the
mailbox index (used, and rebuilt when damaged), and bad input."""

import imaplib
import re
import sqlite3

import pytest

from conftest import PASSWORD
from test_imap_basic import ALICE, RawIMAP, imap_ferry, imap_login


@pytest.fixture
def psrv(make_ferry, tmp_path):
    return imap_ferry(make_ferry, tmp_path, plaintext=True)


def msg(subject=None, frm="a@x.example", to="b@x.example", cc=None,
        date="Thu, 01 Jan 2026 00:00:00 +0000", msgid=None, refs=None,
        irt=None, body="body\r\n", extra=()):
    lines = []
    if frm is not None:
        lines.append(f"From: {frm}")
    if to is not None:
        lines.append(f"To: {to}")
    if cc is not None:
        lines.append(f"Cc: {cc}")
    if subject is not None:
        lines.append(f"Subject: {subject}")
    if date is not None:
        lines.append(f"Date: {date}")
    if msgid is not None:
        lines.append(f"Message-ID: {msgid}")
    if refs is not None:
        lines.append(f"References: {refs}")
    if irt is not None:
        lines.append(f"In-Reply-To: {irt}")
    lines.extend(extra)
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def append(m, data, idate=None, folder="INBOX"):
    typ, _ = m.append(folder, None, idate, data)
    assert typ == "OK"


def sort(m, crit, *search, charset="UTF-8", uid=False):
    if uid:
        typ, data = m.uid("SORT", crit, charset, *(search or ("ALL",)))
    else:
        typ, data = m.sort(crit, charset, *(search or ("ALL",)))
    assert typ == "OK", data
    return [int(x) for x in data[0].split()]


def idate(day):
    return f'"{day:02d}-Jan-2026 10:00:00 +0000"'


def test_capabilities(psrv):
    m = imap_login(psrv)
    caps = m.capabilities
    for c in ("SORT", "SORT=DISPLAY", "ESORT", "THREAD=ORDEREDSUBJECT",
              "THREAD=REFERENCES"):
        assert c in caps
    m.logout()


def test_every_sort_key(psrv):
    m = imap_login(psrv)
    # seq 1..4; each key orders them differently
    append(m, msg("Charlie", frm="Zed <zed@x.example>",
                  to="mike@x.example", cc="ccc@x.example",
                  date="Mon, 05 Jan 2026 00:00:00 +0000",
                  body="x" * 300), idate(3))
    append(m, msg("alpha", frm='"Bob" <yak@x.example>', to="Zulu@x.example",
                  cc="aaa@x.example",
                  date="Sat, 03 Jan 2026 00:00:00 +0000",
                  body="x" * 10), idate(4))
    append(m, msg("Bravo", frm="Amy <xray@x.example>", to="adam@x.example",
                  cc=None, date="Tue, 06 Jan 2026 00:00:00 +0000",
                  body="x" * 100), idate(1))
    append(m, msg("delta", frm="walt@x.example", to="Carl <k@x.example>",
                  cc="Bbb@x.example",
                  date="Fri, 02 Jan 2026 23:00:00 -0500",
                  body="x" * 200), idate(2))
    m.select("INBOX")
    assert sort(m, "(ARRIVAL)") == [3, 4, 1, 2]
    # message 4 is 2026-01-03 04:00 UTC, after message 2 (01-03 00:00)
    assert sort(m, "(DATE)") == [2, 4, 1, 3]
    assert sort(m, "(SIZE)") == [2, 3, 4, 1]
    assert sort(m, "(SUBJECT)") == [2, 3, 1, 4]
    # addr-mailbox of the first From: walt, xray, yak, zed
    assert sort(m, "(FROM)") == [4, 3, 2, 1]
    # To: adam, k, mike, Zulu (case-blind)
    assert sort(m, "(TO)") == [3, 4, 1, 2]
    # Cc: none sorts first (empty), then aaa, Bbb, ccc
    assert sort(m, "(CC)") == [3, 2, 4, 1]
    # display names: Amy, Bob, walt@x.example, Zed
    assert sort(m, "(DISPLAYFROM)") == [3, 2, 4, 1]
    # display To: adam@x.example, Carl, mike@x.example, Zulu@x.example
    assert sort(m, "(DISPLAYTO)") == [3, 4, 1, 2]
    assert sort(m, "(REVERSE SIZE)") == [1, 4, 3, 2]
    assert sort(m, "(REVERSE ARRIVAL)") == [2, 1, 4, 3]
    uids = {}
    for seq in range(1, 5):
        uids[seq] = int(re.search(rb"UID (\d+)",
                                  m.fetch(str(seq), "UID")[1][0]).group(1))
    assert sort(m, "(SUBJECT)", uid=True) == [uids[s] for s in (2, 3, 1, 4)]
    # the search program narrows it
    assert sort(m, "(SUBJECT)", "LARGER", "150") == [3, 1, 4]
    assert sort(m, "(SUBJECT)", "OR", "FROM", "zed", "FROM", "walt") == \
        [1, 4]
    assert sort(m, "(DATE)", "NOT", "ALL") == []
    assert sort(m, "(DATE)", charset="US-ASCII") == [2, 4, 1, 3]
    m.logout()


def test_ties_and_several_keys(psrv):
    m = imap_login(psrv)
    for subj, size in (("b", 10), ("a", 20), ("b", 5), ("a", 20)):
        append(m, msg(subj, body="y" * size))
    m.select("INBOX")
    # equal keys keep sequence order
    assert sort(m, "(SUBJECT)") == [2, 4, 1, 3]
    assert sort(m, "(SUBJECT REVERSE SIZE)") == [2, 4, 1, 3]
    assert sort(m, "(SUBJECT SIZE)") == [2, 4, 3, 1]
    assert sort(m, "(REVERSE SUBJECT SIZE)") == [3, 1, 2, 4]
    m.logout()


def test_base_subject(psrv):
    m = imap_login(psrv)
    subjects = [
        "Re: Re: [list] Zeta",                       # 1 -> ZETA
        "=?UTF-8?B?w4RwZmVs?=",                      # 2 -> ÄPFEL (UTF-8)
        "Fwd: [fwd: Re: beta] (fwd)",                # 3 -> BETA
        "[tag] [other]   Gamma   stuff",             # 4 -> GAMMA STUFF
        "RE:  [x] FW: alpha",                        # 5 -> ALPHA
        "[only-a-tag]",                              # 6 -> [ONLY-A-TAG]
        "=?iso-8859-1?q?Re=3A_delta?=",              # 7 -> DELTA
        None,                                        # 8 -> ""
    ]
    for s in subjects:
        append(m, msg(s))
    m.select("INBOX")
    # "" < ALPHA < BETA < DELTA < GAMMA STUFF < ZETA < [ONLY... < Ä (0xC3)
    assert sort(m, "(SUBJECT)") == [8, 5, 3, 7, 4, 1, 6, 2]
    assert sort(m, "(REVERSE SUBJECT)") == [2, 6, 1, 4, 7, 3, 5, 8]
    m.logout()


def test_missing_or_bad_date_sorts_by_arrival(psrv):
    m = imap_login(psrv)
    append(m, msg("a", date="Wed, 07 Jan 2026 00:00:00 +0000"), idate(1))
    append(m, msg("b", date=None), idate(5))
    append(m, msg("c", date="not a date"), idate(9))
    append(m, msg("d", date="Sun, 04 Jan 2026 00:00:00 +0000"), idate(2))
    m.select("INBOX")
    assert sort(m, "(DATE)") == [4, 2, 1, 3]
    m.logout()


def test_encoded_display_names(psrv):
    m = imap_login(psrv)
    append(m, msg("x", frm="=?UTF-8?Q?Zoe_M=C3=BCller?= <a@x.example>"))
    append(m, msg("x", frm="=?ISO-8859-1?Q?Andr=E9?= <z@x.example>"))
    append(m, msg("x", frm="<m@x.example>"))
    append(m, msg("x", frm=None))
    m.select("INBOX")
    # display: "", ANDRÉ, M@X.EXAMPLE, ZOE MÜLLER
    assert sort(m, "(DISPLAYFROM)") == [4, 2, 3, 1]
    # mailbox: "", a, m, z
    assert sort(m, "(FROM)") == [4, 1, 3, 2]
    m.logout()


def test_esort_return_options(psrv):
    m = imap_login(psrv)
    for s in ("c", "a", "b", "d", "e"):
        append(m, msg(s))
    m.select("INBOX")
    r = RawIMAP(psrv.imap_port)
    r.cmd(f'a LOGIN {ALICE} "{PASSWORD}"')
    r.cmd("b SELECT INBOX")
    out = r.cmd("c SORT RETURN (MIN MAX COUNT ALL) (SUBJECT) UTF-8 ALL")
    assert out[0] == b'* ESEARCH (TAG "c") MIN 2 MAX 5 COUNT 5 ALL 2:3,1,4:5'
    assert out[-1].startswith(b"c OK")
    out = r.cmd("d SORT RETURN () (REVERSE SUBJECT) UTF-8 ALL")
    assert out[0] == b'* ESEARCH (TAG "d") ALL 5,4,1,3,2'
    out = r.cmd("e UID SORT RETURN (COUNT) (SUBJECT) UTF-8 SUBJECT zzz")
    assert out[0] == b'* ESEARCH (TAG "e") UID COUNT 0'
    out = r.cmd("f SORT RETURN (SAVE) (SUBJECT) UTF-8 ALL")
    assert out[-1].startswith(b"f BAD")
    r.close()
    m.logout()


def test_sort_records_are_cached_and_rebuilt(psrv):
    m = imap_login(psrv)
    append(m, msg("Bbb"))
    append(m, msg("Aaa"))
    m.select("INBOX")
    assert sort(m, "(SUBJECT)") == [2, 1]
    # Change message 2's subject behind the server's back (Maildir
    # files never change, so the index has no reason to notice).
    md = psrv.maildir(ALICE)
    files = sorted((md / "cur").iterdir(), key=lambda p: p.stat().st_mtime)
    f2 = [p for p in files if b"Subject: Aaa" in p.read_bytes()][0]
    f2.write_bytes(f2.read_bytes().replace(b"Subject: Aaa",
                                           b"Subject: Ccc"))
    # the record in the index is used: the old order
    assert sort(m, "(SUBJECT)") == [2, 1]
    # damage the records: they are built again from the messages
    db = sqlite3.connect(md / "ferry-index.sqlite", timeout=10)
    n = db.execute("UPDATE cache SET data = x'00ff' WHERE field = 1"
                   ).rowcount
    db.commit()
    db.close()
    assert n == 2
    assert sort(m, "(SUBJECT)") == [1, 2]
    m.logout()


@pytest.mark.parametrize("line,want", [
    (b"t1 SORT (BOGUS) UTF-8 ALL", b"t1 BAD"),
    (b"t2 SORT () UTF-8 ALL", b"t2 BAD"),
    (b"t3 SORT SUBJECT UTF-8 ALL", b"t3 BAD"),
    (b"t4 SORT (REVERSE) UTF-8 ALL", b"t4 BAD"),
    (b"t5 SORT (REVERSE REVERSE DATE) UTF-8 ALL", b"t5 BAD"),
    (b"t6 SORT (DATE) KOI8-R ALL", b"t6 NO [BADCHARSET"),
    (b"t7 SORT (DATE) UTF-8", b"t7 BAD"),
    (b"t8 SORT (DATE)", b"t8 BAD"),
    (b"t9 SORT (DATE) UTF-8 (ALL", b"t9 BAD"),
    (b"t10 SORT (DATE UTF-8 ALL", b"t10 BAD"),
    (b"t11 SORT (DATE) UTF-8 ALL)", b"t11 BAD"),
    (b"t12 SORT (DATE) UTF-8 " + b"(" * 200 + b"ALL" + b")" * 200,
     b"t12 BAD"),
    (b"t13 SORT (DATE) UTF-8 " + b"NOT " * 300 + b"ALL", b"t13 BAD"),
    (b"t14 SORT (DATE) UTF-8 SUBJECT a\x00b", b"t14 BAD"),
    (b"t15 SORT (DATE) UTF-8 BOGUS", b"t15 BAD"),
    (b"t16 SORT RETURN (MIN (DATE) UTF-8 ALL", b"t16 BAD"),
    (b"t17 SORT RETURN (FOO) (DATE) UTF-8 ALL", b"t17 BAD"),
    (b"t18 SORT (DATE) CHARSET UTF-8 ALL", b"t18 NO [BADCHARSET"),
    (b"t19 SORT (DATE) UTF-8 CHARSET UTF-8 ALL", b"t19 BAD"),
])
def test_bad_sort_input(psrv, line, want):
    m = imap_login(psrv)
    append(m, msg("x"))
    m.logout()
    r = RawIMAP(psrv.imap_port)
    r.cmd(f'a LOGIN {ALICE} "{PASSWORD}"')
    out = r.cmd(b"b SORT (DATE) UTF-8 ALL")
    assert out[-1].startswith(b"b NO") or out[-1].startswith(b"b BAD")
    r.cmd("c SELECT INBOX")
    out = r.cmd(line)
    assert out[-1].startswith(want), out
    # the session goes on
    out = r.cmd("z SORT (SUBJECT) UTF-8 ALL")
    assert out == [b"* SORT 1", b"z OK SORT completed"]
    r.close()


def test_sort_needs_a_selected_folder(psrv):
    m = imap_login(psrv)
    with pytest.raises(imaplib.IMAP4.error):
        m.sort("(DATE)", "UTF-8", "ALL")
    m.logout()
