"""BINARY (RFC 3516) against a running Ferry: FETCH BINARY[part],
BINARY.PEEK and BINARY.SIZE undo base64 and quoted-printable, leave
7bit/8bit alone, send content with NUL as a literal8, take partial
ranges, refuse an unknown transfer encoding with NO [UNKNOWN-CTE], set
\\Seen unless PEEK; APPEND takes literal8 (~{n}) content with NUL."""

import base64
import re

import pytest

from test_imap_basic import RawIMAP, imap_ferry

BLOB = bytes(range(256)) * 3 + b"\x00\x00end"
# the CRLF before a boundary belongs to the boundary (RFC 2046)
QP_TEXT = "café softbreak and = sign"

MSG = (
    b"From: a@remote.example\r\n"
    b"To: alice@example.test\r\n"
    b"Subject: binary parts\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
    b"\r\n"
    b"--b1\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"caf=C3=A9 soft=\r\nbreak and =3D sign\r\n"
    b"--b1\r\n"
    b"Content-Type: application/octet-stream\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n" + base64.encodebytes(BLOB).replace(b"\n", b"\r\n") +
    b"--b1\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"na\xc3\xafve 8bit\r\n"
    b"--b1\r\n"
    b"Content-Type: application/x-thing\r\n"
    b"Content-Transfer-Encoding: x-uuencode\r\n"
    b"\r\n"
    b"begin 644 x\r\n`\r\nend\r\n"
    b"--b1--\r\n")


@pytest.fixture
def bsrv(make_ferry, tmp_path):
    return imap_ferry(make_ferry, tmp_path, plaintext=True, tls=False)


def append(c, data, lit8=False, tag="a"):
    c.send(f"{tag} APPEND INBOX {'~' if lit8 else ''}{{{len(data)}+}}\r\n"
           .encode() + data + b"\r\n")
    return c.until(tag.encode())


def literal(lines, item):
    """The literal after the FETCH line that ends in `item {n}`."""
    for i, l in enumerate(lines):
        if re.search(re.escape(item.encode()) + rb" ~?\{\d+\}$", l):
            return lines[i + 1]
    raise AssertionError(f"{item} not in {lines!r}")


@pytest.fixture
def c(bsrv):
    c = RawIMAP(bsrv.imap_port)
    c.login()
    assert b"BINARY" in c.cmd("k CAPABILITY")[0].split()
    assert append(c, MSG)[-1].startswith(b"a OK")
    assert c.cmd("s SELECT INBOX")[-1].startswith(b"s OK")
    return c


def test_decoded_parts(c):
    r = c.cmd("f FETCH 1 (BINARY.PEEK[1] BINARY.PEEK[2] BINARY.PEEK[3])")
    assert r[-1] == b"f OK FETCH completed", r
    assert literal(r, "BINARY[1]") == QP_TEXT.encode()
    assert literal(r, "BINARY[2]") == BLOB
    assert literal(r, "BINARY[3]") == "naïve 8bit".encode()
    # NUL inside: a literal8; none: a plain literal
    assert re.search(rb"BINARY\[2\] ~\{%d\}$" % len(BLOB),
                     [l for l in r if b"BINARY[2]" in l][0])
    assert any(re.search(rb"BINARY\[1\] \{\d+\}$", l) for l in r), r
    r = c.cmd("g FETCH 1 (BINARY.SIZE[1] BINARY.SIZE[2] BINARY.SIZE[3])")
    assert b"BINARY.SIZE[1] %d" % len(QP_TEXT.encode()) in r[0], r
    assert b"BINARY.SIZE[2] %d" % len(BLOB) in r[0], r
    assert b"BINARY.SIZE[3] 11" in r[0], r
    # PEEK left \Seen alone
    assert b"\\Seen" not in c.cmd("h FETCH 1 FLAGS")[0]


def test_partial_ranges(c):
    r = c.cmd("f FETCH 1 (BINARY.PEEK[2]<3.10> BINARY.PEEK[1]<0.4> "
              "BINARY.PEEK[2]<100000.5> BINARY.PEEK[2]<760.100>)")
    assert r[-1].startswith(b"f OK"), r
    assert literal(r, "BINARY[2]<3>") == BLOB[3:13]
    assert literal(r, "BINARY[1]<0>") == "caf".encode() + b"\xc3"
    assert literal(r, "BINARY[2]<100000>") == b""
    assert literal(r, "BINARY[2]<760>") == BLOB[760:860]


def test_whole_message_nonexistent_part_and_seen(c):
    r = c.cmd("f FETCH 1 (BINARY[])")
    assert literal(r, "BINARY[]") == MSG
    assert b"\\Seen" in c.cmd("g FETCH 1 FLAGS")[0]   # not PEEK
    r = c.cmd("h FETCH 1 (BINARY.PEEK[9] BINARY.SIZE[9])")
    assert r[-1].startswith(b"h OK"), r
    assert literal(r, "BINARY[9]") == b""
    assert any(b"BINARY.SIZE[9] 0" in l for l in r), r


def test_unknown_cte(c):
    for i, item in enumerate(("BINARY.PEEK[4]", "BINARY[4]",
                              "BINARY.SIZE[4]", "(FLAGS BINARY.PEEK[4])")):
        r = c.cmd(f"u{i} FETCH 1 {item}")
        assert r == [b"u%d NO [UNKNOWN-CTE] Unknown content transfer "
                     b"encoding" % i], r
    # BODY[4] still gives it as it is
    r = c.cmd("b FETCH 1 BODY.PEEK[4]")
    assert literal(r, "BODY[4]") == b"begin 644 x\r\n`\r\nend"


def test_append_literal8_with_nul(c):
    raw = (b"Subject: nul\r\nContent-Type: application/octet-stream\r\n"
           b"Content-Transfer-Encoding: binary\r\n\r\nab\x00cd\xff\r\n")
    r = append(c, raw, lit8=True, tag="l8")
    assert r[-1].startswith(b"l8 OK [APPENDUID "), r
    # NUL in a plain literal is refused
    r = append(c, raw, tag="l9")
    assert r[-1].startswith(b"l9 NO") or r[-1].startswith(b"l9 BAD"), r
    r = c.cmd("n NOOP")
    r = c.cmd("f FETCH 2 (BINARY.PEEK[] BINARY.PEEK[1] BINARY.SIZE[1])")
    assert literal(r, "BINARY[]") == raw
    assert literal(r, "BINARY[1]") == b"ab\x00cd\xff\r\n"


def test_bad_binary_items(c):
    for i, item in enumerate(("BINARY[1.HEADER]", "BINARY[TEXT]",
                              "BINARY.SIZE[1]<0.5>", "BINARY[1]<5>",
                              "BINARY[1", "BINARY[0]", "BINARY[1.0]",
                              "BINARY.PEEK[x]", "BINARY[1]<0.5.6>",
                              "BINARY[1]<4294967296000000000000.1>")):
        r = c.cmd(f"x{i} FETCH 1 {item}")
        assert r[-1].startswith(b"x%d BAD" % i), (item, r)
