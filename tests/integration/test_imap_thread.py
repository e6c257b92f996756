"""IMAP THREAD (RFC 5256) against a running Ferry with python imaplib:
ORDEREDSUBJECT and REFERENCES, UID THREAD, a search program, reply
chains whose parents are missing, References loops, duplicate and
missing Message-IDs, In-Reply-To without References, and bad input."""

import re

import pytest

from conftest import PASSWORD
from test_imap_basic import ALICE, RawIMAP, imap_ferry, imap_login
from test_imap_sort import append, msg


@pytest.fixture
def psrv(make_ferry, tmp_path):
    return imap_ferry(make_ferry, tmp_path, plaintext=True)


def day(d):
    return f"{d:02d} Jan 2026 12:00:00 +0000"


def thread(m, alg, *search, uid=False):
    if uid:
        typ, data = m.uid("THREAD", alg, "UTF-8", *(search or ("ALL",)))
    else:
        typ, data = m.thread(alg, "UTF-8", *(search or ("ALL",)))
    assert typ == "OK", data
    return data[0].decode() if data and data[0] else ""


def test_orderedsubject(psrv):
    m = imap_login(psrv)
    append(m, msg("b", date=day(2)))
    append(m, msg("a", date=day(3)))
    append(m, msg("Re: b", date=day(4)))
    append(m, msg("=?utf-8?q?A?=", date=day(1)))
    append(m, msg("[list] re: a", date=day(6)))
    append(m, msg("c", date=None), '"05-Jan-2026 12:00:00 +0000"')
    m.select("INBOX")
    assert thread(m, "ORDEREDSUBJECT") == "(4 (2)(5))(1 3)(6)"
    assert thread(m, "ORDEREDSUBJECT", "NOT", "SUBJECT", "c") == \
        "(4 (2)(5))(1 3)"
    m.logout()


def test_references(psrv):
    m = imap_login(psrv)
    # 1 <- 2 <- 3, and 4 replying to 2 from another subject
    append(m, msg("topic", msgid="<a@x>", date=day(1)))
    append(m, msg("Re: topic", msgid="<b@x>", refs="<a@x>", date=day(2)))
    append(m, msg("Re: topic", msgid="<c@x>", refs="<a@x> <b@x>",
                  date=day(4)))
    append(m, msg("side", msgid="<d@x>", refs="<a@x> <b@x>", date=day(3)))
    # 5 and 6 answer a message that is not there
    append(m, msg("orphan", msgid="<e@x>", refs="<gone@x>", date=day(5)))
    append(m, msg("Re: orphan", msgid="<f@x>", refs="<gone@x>",
                  date=day(6)))
    # 7 and 8 refer to each other; 9 refers to itself
    append(m, msg("loop1", msgid="<g@x>", refs="<h@x>", date=day(7)))
    append(m, msg("loop2", msgid="<h@x>", refs="<g@x>", date=day(8)))
    append(m, msg("self", msgid="<i@x>", refs="<i@x>", date=day(9)))
    # 10 has no Message-ID, 11 repeats 1's; 12 answers by In-Reply-To
    append(m, msg("lonely", date=day(10)))
    append(m, msg("copy", msgid="<a@x>", date=day(11)))
    append(m, msg("Re: copy", msgid="<l@x>", irt="<l0@x> <k@x>",
                  date=day(12)))
    # 13 starts a subject that 14 (no references) answers
    append(m, msg("plan", msgid="<m@x>", date=day(13)))
    append(m, msg("Re: plan", msgid="<n@x>", date=day(14)))
    m.select("INBOX")
    assert thread(m, "REFERENCES") == \
        "(1 2 (4)(3))((5)(6))(8 7)(9)(10)(11 12)(13 14)"
    uids = {}
    typ, data = m.fetch("1:*", "UID")
    for line in data:
        s, u = re.match(rb"(\d+) \(UID (\d+)\)", line).groups()
        uids[int(s)] = int(u)
    assert thread(m, "REFERENCES", "SUBJECT", "topic", uid=True) == \
        f"({uids[1]} {uids[2]} {uids[3]})"
    # a search that leaves the root out: what is left stays together
    assert thread(m, "REFERENCES", "SUBJECT", "\"Re: topic\"") == "(2 3)"
    assert thread(m, "REFERENCES", "OR", "SUBJECT", "side",
                  "SUBJECT", "\"Re: topic\"") == "(2 (4)(3))"
    m.logout()


def test_thread_empty_and_bad_input(psrv):
    m = imap_login(psrv)
    append(m, msg("x"))
    m.logout()
    r = RawIMAP(psrv.imap_port)
    r.cmd(f'a LOGIN {ALICE} "{PASSWORD}"')
    r.cmd("b SELECT INBOX")
    assert r.cmd("c THREAD REFERENCES UTF-8 SUBJECT nothing") == \
        [b"* THREAD", b"c OK THREAD completed"]
    for line, want in (
            (b"d THREAD BOGUS UTF-8 ALL", b"d BAD"),
            (b"e THREAD", b"e BAD"),
            (b"f THREAD REFERENCES", b"f BAD"),
            (b"g THREAD REFERENCES UTF-8", b"g BAD"),
            (b"h THREAD REFERENCES X-UNKNOWN ALL", b"h NO [BADCHARSET"),
            (b"i THREAD REFERENCES UTF-8 (ALL", b"i BAD"),
            (b"j THREAD REFERENCES UTF-8 " + b"(" * 100 + b"ALL" +
             b")" * 100, b"j BAD"),
            (b"k THREAD (REFERENCES) UTF-8 ALL", b"k BAD"),
            (b"l UID THREAD REFERENCES UTF-8 UID 1:*\x00", b"l BAD")):
        out = r.cmd(line)
        assert out[-1].startswith(want), (line, out)
    out = r.cmd("z THREAD ORDEREDSUBJECT US-ASCII ALL")
    assert out == [b"* THREAD (1)", b"z OK THREAD completed"]
    r.close()
