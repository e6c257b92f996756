"""ENVELOPE, BODY and BODYSTRUCTURE kept in the per-user mailbox index
(field 2 of its cache table, imap_mime_blob.c) against a running Ferry
with python imaplib and a raw client: the answers are the same whether
they were built from the message or read from the index, the index is
what answers once it holds them, a damaged or foreign row is built
again from the message, and COPY carries the cached answers along."""

import sqlite3
import struct

import pytest

from test_imap_basic import ALICE, RawIMAP, imap_ferry, imap_login, \
    maildir_write
from test_imap_mail import MULTIPART

FIELD = 2
ITEMS = "(UID ENVELOPE BODY BODYSTRUCTURE)"

EIGHTBIT = (b"From: =?utf-8?q?J=C3=BCrgen?= <j@example.test>\r\n"
            b"To: undisclosed-recipients:;\r\n"
            b"Subject: gr\xc3\xbc\xc3\x9fe \"quoted\" \\ back\r\n"
            b"Message-ID: <8bit@example.test>\r\n"
            b"In-Reply-To: <parent@example.test>\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: 8bit\r\n"
            b"\r\n"
            b"gr\xc3\xbc\xc3\x9fe\r\n")

NESTED = (b"From: a@example.test\r\n"
          b"Subject: nested\r\n"
          b"Content-Type: multipart/alternative; boundary=\"o\"\r\n"
          b"\r\n"
          b"--o\r\n"
          b"Content-Type: text/plain\r\n"
          b"\r\n"
          b"plain\r\n"
          b"--o\r\n"
          b"Content-Type: multipart/related; boundary=\"i\"\r\n"
          b"\r\n"
          b"--i\r\n"
          b"Content-Type: text/html; charset=us-ascii\r\n"
          b"Content-Language: en\r\n"
          b"Content-Location: http://example.test/x\r\n"
          b"\r\n"
          b"<p>html</p>\r\n"
          b"--i\r\n"
          b"Content-Type: image/png\r\n"
          b"Content-ID: <img@example.test>\r\n"
          b"Content-Description: a picture\r\n"
          b"Content-Transfer-Encoding: base64\r\n"
          b"\r\n"
          b"iVBORw0KGgo=\r\n"
          b"--i--\r\n"
          b"--o--\r\n")

# no empty line: all header, no body
BARE = b"no header at all, bare LF line ends\nsecond line\n"

MESSAGES = (MULTIPART, EIGHTBIT, NESTED, BARE)


@pytest.fixture
def psrv(make_ferry, tmp_path):
    return imap_ferry(make_ferry, tmp_path, plaintext=True)


def fill(srv):
    for i, data in enumerate(MESSAGES):
        maildir_write(srv, ALICE, f"17000000{i:02d}.M{i}P1.host", data)


def fetch(port, items=ITEMS, set_="1:*", folder="INBOX"):
    """Every line and literal of a UID FETCH's untagged answers."""
    with RawIMAP(port) as c:
        c.login()
        assert c.cmd(f"s SELECT {folder}")[-1].startswith(b"s OK")
        out = c.cmd(f"f UID FETCH {set_} {items}")
        assert out[-1].startswith(b"f OK"), out
        return out[:-1]


def index(srv):
    return sqlite3.connect(srv.maildir(ALICE) / "ferry-index.sqlite",
                           timeout=10)


def rows(srv):
    db = index(srv)
    try:
        return dict(db.execute("SELECT uid, data FROM cache WHERE field = ?",
                               (FIELD,)).fetchall())
    finally:
        db.close()


def set_rows(srv, data_for_uid):
    db = index(srv)
    try:
        n = 0
        for uid, data in data_for_uid.items():
            n += db.execute("UPDATE cache SET data = ? WHERE field = ? AND "
                            "uid = ?", (data, FIELD, uid)).rowcount
        db.commit()
    finally:
        db.close()
    assert n == len(data_for_uid)


def fnv1a(data):
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def blob(*texts):
    """A well-formed blob (magic, three texts, checksum)."""
    out = b"FMC1" + b"".join(struct.pack("<I", len(t)) + t for t in texts)
    return out + struct.pack("<I", fnv1a(out))


def test_answers_same_built_and_cached(psrv):
    fill(psrv)
    built = fetch(psrv.imap_port)
    assert len(rows(psrv)) == len(MESSAGES)
    cached = fetch(psrv.imap_port)
    assert cached == built
    # the same again after the index loses the rows
    db = index(psrv)
    db.execute("DELETE FROM cache WHERE field = ?", (FIELD,))
    db.commit()
    db.close()
    assert fetch(psrv.imap_port) == built
    # built from a message read for BODY[] as well: same text
    both = fetch(psrv.imap_port, "(UID ENVELOPE BODY BODYSTRUCTURE "
                 "BODY.PEEK[])")
    for line in built:
        if line.startswith(b"* "):
            assert any(b.startswith(line[:-1]) for b in both), line
    # and what imaplib reads of it is what the uncached code answered
    m = imap_login(psrv)
    m.select("INBOX")
    typ, data = m.fetch("1", "(ENVELOPE)")
    assert b'(("Alice A." NIL "alice" "example.test"))' in data[0]
    typ, data = m.fetch("2", "(ENVELOPE)")
    assert data[0][1] == b'gr\xc3\xbc\xc3\x9fe "quoted" \\ back'
    typ, data = m.fetch("3", "(BODYSTRUCTURE)")
    assert (b'("image" "png" NIL "<img@example.test>" "a picture" '
            b'"base64" 12 NIL NIL NIL NIL)') in data[0]
    assert b'"related" ("boundary" "i") NIL NIL NIL)' in data[0]
    assert b'"en" "http://example.test/x")' in data[0]
    typ, data = m.fetch("4", "(ENVELOPE BODY)")
    assert data[0] == (b'4 (ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL '
                       b'NIL) BODY ("text" "plain" ("charset" "us-ascii") NIL NIL '
                       b'"7bit" 0 0))')
    m.logout()


def test_index_answers_once_it_holds_them(psrv):
    fill(psrv)
    before = fetch(psrv.imap_port, set_="1")
    # Rewrite the message behind the server's back (Maildir files never
    # change, so nothing tells the server): the index still answers.
    md = psrv.maildir(ALICE)
    f = next(p for p in (md / "cur").iterdir() if p.name.startswith(
        "1700000000."))
    f.write_bytes(f.read_bytes().replace(b"<m1@example.test>",
                                         b"<m2@example.test>"))
    assert fetch(psrv.imap_port, set_="1") == before
    # a valid row with other text is what FETCH sends (so it comes
    # from the index, not the file)
    set_rows(psrv, {1: blob(b"(NIL \"from the index\" NIL NIL NIL NIL NIL "
                              b"NIL NIL NIL)", b"(\"text\" \"plain\" NIL "
                              b"NIL NIL \"7bit\" 1 1)", b"(\"text\" \"plain\""
                              b" NIL NIL NIL \"7bit\" 1 1 NIL NIL NIL NIL)")})
    out = fetch(psrv.imap_port, "(ENVELOPE)", "1")
    assert b'"from the index"' in out[0]
    # damaged: built again, from the rewritten file
    set_rows(psrv, {1: b"\x00\xff"})
    out = fetch(psrv.imap_port, "(ENVELOPE)", "1")
    assert b'"<m2@example.test>"' in out[0]
    assert rows(psrv)[1].startswith(b"FMC1")


GOOD = blob(b"(NIL)", b"(NIL)", b"(NIL)")


@pytest.mark.parametrize("bad", [
    b"",
    b"FMC1",
    GOOD[:-1],                                   # cut short
    GOOD[:-4] + b"\x00\x00\x00\x00",             # checksum wrong
    b"FMC2" + GOOD[4:],                          # other magic
    GOOD[:8] + b"X" + GOOD[9:],                  # a byte changed
    GOOD + b"\x00",                              # trailing octet
    blob(b"(NIL)", b"(NIL)"),                    # a text missing
    blob(b"(NIL)", b"(NIL)", b"(NIL)", b"(NIL)"),  # one too many
    blob(b"NIL", b"(NIL)", b"(NIL)"),            # not a list
    blob(b"(NIL)", b"(NIL", b"(NIL)"),           # not closed
    blob(b"(NIL)", b"(NIL)", b"(N\x00L)"),       # NUL
    blob(b"(NIL)", b"(NIL)", b"()") [:-4] + b"\xff\xff\xff\xff",
    b"FMC1" + b"\xff\xff\xff\xff" * 4,           # lengths past the end
])
def test_damaged_rows_are_rebuilt(psrv, bad):
    fill(psrv)
    want = fetch(psrv.imap_port)
    good = rows(psrv)
    set_rows(psrv, {uid: bad for uid in good})
    assert fetch(psrv.imap_port) == want
    assert rows(psrv) == good


def test_copy_carries_cached_answers(psrv):
    fill(psrv)
    want = fetch(psrv.imap_port)
    m = imap_login(psrv)
    m.create("Other")
    m.select("INBOX")
    typ, _ = m.copy("1:*", "Other")
    assert typ == "OK"
    m.logout()
    db = index(psrv)
    per_folder = db.execute("SELECT count(*) FROM cache WHERE field = ? "
                            "GROUP BY folder", (FIELD,)).fetchall()
    db.close()
    assert per_folder == [(len(MESSAGES),), (len(MESSAGES),)]
    assert fetch(psrv.imap_port, folder="Other") == want
