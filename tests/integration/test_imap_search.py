"""IMAP SEARCH completeness (RFC 3501 / RFC 9051 section 6.4.4) against
a running Ferry with python imaplib: SENTBEFORE/SENTON/SENTSINCE on the
Date: field in its own zone, HEADER with an empty string, addresses
matched without their comments, BODY and TEXT in base64 and
quoted-printable parts and in other charsets (converted to UTF-8),
nested OR/NOT/parentheses, sequence sets up to 4294967295, and BAD for
broken programs while the session goes on."""

import base64

import pytest

from conftest import PASSWORD
from test_imap_basic import ALICE, RawIMAP, imap_ferry, imap_login
from test_imap_sort import append, msg


@pytest.fixture
def psrv(make_ferry, tmp_path):
    return imap_ferry(make_ferry, tmp_path, plaintext=True)


def search(m, *keys, charset=None):
    typ, data = m.search(charset, *keys)
    assert typ == "OK", data
    return [int(x) for x in data[0].split()]


def multipart(parts):
    out = ["From: a@x.example", "Subject: parts",
           "MIME-Version: 1.0",
           'Content-Type: multipart/mixed; boundary="BB"', "", ""]
    for ctype, cte, body in parts:
        out += ["--BB", f"Content-Type: {ctype}"]
        if cte:
            out.append(f"Content-Transfer-Encoding: {cte}")
        out += ["", body]
    out.append("--BB--")
    return "\r\n".join(out).encode()


def test_sent_dates(psrv):
    m = imap_login(psrv)
    # 1: 2 Jan 23:30 -0500 is 3 Jan in UTC but 2 Jan where it was sent
    append(m, msg("a", date="Fri, 02 Jan 2026 23:30:00 -0500"))
    append(m, msg("b", date="Sat, 03 Jan 2026 10:00:00 +0000"))
    # 3: no Date: the internal date stands in
    append(m, msg("c", date=None), '"05-Jan-2026 12:00:00 +0000"')
    append(m, msg("d", date="Sun, 04 Jan 2026 00:30:00 +0100"))
    m.select("INBOX")
    assert search(m, "SENTON", "2-Jan-2026") == [1]
    assert search(m, "SENTON", "3-Jan-2026") == [2]
    assert search(m, "SENTBEFORE", "3-Jan-2026") == [1]
    assert search(m, "SENTSINCE", "4-Jan-2026") == [3, 4]
    assert search(m, "SENTON", "5-Jan-2026") == [3]
    assert search(m, "NOT", "SENTSINCE", "4-Jan-2026") == [1, 2]
    assert search(m, "SENTSINCE", "1-Jan-2026", "SENTBEFORE",
                  "4-Jan-2026") == [1, 2]
    m.logout()


def test_header_and_addresses(psrv):
    m = imap_login(psrv)
    append(m, msg("x", frm="<someone (comment)@ (more) example.org>",
                  extra=("X-Empty:", "X-Tag: Blue")))
    append(m, msg("y", frm="=?utf-8?q?J=C3=B6rg?= <j@example.org>",
                  extra=("X-Tag: green",)))
    append(m, msg("z", frm="z@example.org"))
    m.select("INBOX")
    assert search(m, "FROM", "someone@example.org") == [1]
    assert search(m, "FROM", "example.org") == [1, 2, 3]
    assert search(m, "HEADER", "X-Empty", '""') == [1]
    assert search(m, "HEADER", "X-Tag", '""') == [1, 2]
    assert search(m, "HEADER", "x-tag", "BLUE") == [1]
    assert search(m, "HEADER", "X-Missing", '""') == []
    m.literal = "jörg <j@".encode()
    assert search(m, "FROM", charset="UTF-8") == [2]
    m.logout()


def test_body_and_text_are_decoded(psrv):
    m = imap_login(psrv)
    b64 = base64.b64encode("Grüße aus Köln".encode()).decode()
    append(m, multipart([("text/plain; charset=utf-8", "base64", b64)]))
    append(m, multipart([("text/plain; charset=iso-8859-1",
                          "quoted-printable",
                          "Caf=E9 cr=E8me, soft=\r\nbreak")]))
    append(m, multipart([("text/html; charset=koi8-r", "base64",
                          base64.b64encode("Привет".encode("koi8-r"))
                          .decode())]))
    append(m, multipart([("application/octet-stream", "base64",
                          base64.b64encode(b"hidden words").decode())]))
    append(m, msg("=?utf-8?q?Stra=C3=9Fe?=", body="plain body\r\n"))
    m.select("INBOX")

    def lit(s, key="BODY"):
        m.literal = s.encode()
        return search(m, key, charset="UTF-8")

    assert lit("grüße aus") == [1]
    assert lit("KÖLN") == [1]
    assert search(m, "BODY", "R3L") == []          # not the base64 text
    assert lit("café crème") == [2]
    assert search(m, "BODY", "softbreak") == [2]   # soft line break gone
    assert lit("привет") == [3]
    assert search(m, "BODY", "hidden") == []       # not a text part
    assert search(m, "BODY", "Subject") == []      # header is not body
    assert lit("straße", "TEXT") == [5]            # decoded header
    assert search(m, "TEXT", '"PLAIN BODY"') == [5]
    assert search(m, "TEXT", "parts") == [1, 2, 3, 4]
    m.logout()


def test_nesting_and_sets(psrv):
    m = imap_login(psrv)
    for s in ("a1", "b2", "a3", "b4", "a5"):
        append(m, msg(s))
    m.select("INBOX")
    assert search(m, "OR", "(SUBJECT a1 SUBJECT a)", "NOT", "(OR 2 3)") == \
        [1, 4, 5]
    assert search(m, "NOT", "NOT", "NOT", "SUBJECT", "a") == [2, 4]
    assert search(m, "((((SUBJECT b))))") == [2, 4]
    assert search(m, "OR", "OR", "1", "2", "OR", "4", "5") == [1, 2, 4, 5]
    assert search(m, "2:*") == [2, 3, 4, 5]
    assert search(m, "*") == [5]
    assert search(m, "*:4") == [4, 5]
    typ, data = m.uid("SEARCH", "UID", "1:4294967295")
    assert typ == "OK" and len(data[0].split()) == 5
    typ, data = m.uid("SEARCH", "UID", "4294967295")
    assert typ == "OK" and data == [b""]
    m.logout()


@pytest.mark.parametrize("line,want", [
    (b"s1 SEARCH BOGUS", b"s1 BAD"),
    (b"s2 SEARCH (SUBJECT a", b"s2 BAD"),
    (b"s3 SEARCH SUBJECT a)", b"s3 BAD"),
    (b"s4 SEARCH ()", b"s4 BAD"),
    (b"s5 SEARCH OR SUBJECT a", b"s5 BAD"),
    (b"s6 SEARCH NOT", b"s6 BAD"),
    (b"s7 SEARCH " + b"(" * 100 + b"ALL" + b")" * 100, b"s7 BAD"),
    (b"s8 SEARCH " + b"NOT " * 200 + b"ALL", b"s8 BAD"),
    (b"s9 SEARCH SUBJECT a\x00b", b"s9 BAD"),
    (b"s10 SEARCH SENTON 31-Foo-2026", b"s10 BAD"),
    (b"s11 SEARCH SENTBEFORE", b"s11 BAD"),
    (b"s12 SEARCH CHARSET KOI8-R ALL", b"s12 NO [BADCHARSET"),
    (b"s13 SEARCH HEADER X-Tag", b"s13 BAD"),
    (b"s14 SEARCH 0:3", b"s14 BAD"),
    (b"s15 SEARCH 4294967296", b"s15 BAD"),
    (b"s16 SEARCH $,1", b"s16 BAD"),
    (b"s17 SEARCH LARGER -1", b"s17 BAD"),
    (b"s18 SEARCH CHARSET", b"s18 BAD"),
])
def test_bad_search_programs(psrv, line, want):
    m = imap_login(psrv)
    append(m, msg("a"))
    m.logout()
    r = RawIMAP(psrv.imap_port)
    r.cmd(f'a LOGIN {ALICE} "{PASSWORD}"')
    r.cmd("b SELECT INBOX")
    out = r.cmd(line)
    assert out[-1].startswith(want), out
    assert r.cmd("z SEARCH SUBJECT a") == [b"* SEARCH 1",
                                            b"z OK SEARCH completed"]
    r.close()
