"""COMPRESS=DEFLATE (RFC 4978) against a running Ferry.  imaplib knows no
COMPRESS, so DeflateIMAP below teaches it: after the tagged OK every octet
it sends goes through a raw deflate stream (zlib, wbits -15, a sync flush
per write) and every octet it reads through the matching inflater; the
rest of imaplib (literals, APPEND, FETCH, IDLE by hand) is unchanged.
Plain and TLS connections, IDLE, large literals both ways, a compressed
bomb of one overlong line, and bad input: unknown mechanisms, COMPRESS
twice or before login, a corrupt stream and an ended stream."""

import imaplib
import socket
import zlib

import pytest

from certs import client_context
from conftest import PASSWORD, make_message, wait_until
from test_imap_basic import ALICE, RawIMAP, imap_ferry, imap_login

imaplib.Commands.setdefault("COMPRESS", ("AUTH", "SELECTED"))


class DeflateMixin:
    """Overrides imaplib's socket edge once deflate() succeeded."""

    z = None

    def deflate(self):
        typ, data = self._simple_command("COMPRESS", "DEFLATE")
        assert typ == "OK", data
        self.z = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION,
                                  zlib.DEFLATED, -15)
        self.unz = zlib.decompressobj(-15)
        self.zbuf = bytearray()
        # imaplib reads through a buffered file: anything it already
        # holds came after the OK and is compressed
        self.sock_raw = self.sock

    def send(self, data):
        if self.z is None:
            return super().send(data)
        self.sock.sendall(self.z.compress(data) +
                          self.z.flush(zlib.Z_SYNC_FLUSH))

    def send_raw(self, data):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise imaplib.IMAP4.abort("socket closed")
        self.zbuf += self.unz.decompress(chunk)

    def read(self, size):
        if self.z is None:
            return super().read(size)
        while len(self.zbuf) < size:
            self._fill()
        out = bytes(self.zbuf[:size])
        del self.zbuf[:size]
        return out

    def readline(self):
        if self.z is None:
            return super().readline()
        while b"\n" not in self.zbuf:
            self._fill()
        i = self.zbuf.index(b"\n") + 1
        out = bytes(self.zbuf[:i])
        del self.zbuf[:i]
        return out


class DeflateIMAP(DeflateMixin, imaplib.IMAP4):
    pass


class DeflateIMAPS(DeflateMixin, imaplib.IMAP4_SSL):
    pass


@pytest.fixture
def psrv(make_ferry, tmp_path):
    return imap_ferry(make_ferry, tmp_path, plaintext=True)


def plain_login(srv):
    m = DeflateIMAP("127.0.0.1", srv.imap_port, timeout=20)
    m.login(ALICE, PASSWORD)
    return m


def check_session(m):
    """APPEND a large, compressible literal and FETCH it back."""
    body = "".join(f"line {i} of a long and repetitive message\r\n"
                   for i in range(20000))
    msg = make_message(subject="deflated", body=body)
    typ, data = m.append("INBOX", None, None, msg)
    assert typ == "OK", data
    typ, data = m.select("INBOX")
    assert typ == "OK"
    n = data[0]
    typ, data = m.fetch(n, "(BODY.PEEK[])")
    assert typ == "OK"
    assert data[0][1] == msg
    typ, data = m.capability()
    assert b"COMPRESS=DEFLATE" in data[0]


def test_compress_plain(psrv):
    m = plain_login(psrv)
    typ, data = m.capability()
    assert b"COMPRESS=DEFLATE" in data[0]
    m.deflate()
    check_session(m)
    # a second COMPRESS is refused, compressed
    typ, data = m._simple_command("COMPRESS", "DEFLATE")
    assert typ == "NO" and b"[COMPRESSIONACTIVE]" in data[0], data
    assert m.noop()[0] == "OK"
    typ, data = m.logout()
    assert typ == "BYE", (typ, data)


def test_compress_under_tls(psrv):
    ctx = client_context(psrv.ca)
    m = DeflateIMAPS("127.0.0.1", psrv.imaps_port, ssl_context=ctx,
                     timeout=20)
    m.login(ALICE, PASSWORD)
    m.deflate()
    check_session(m)
    typ, data = m.logout()
    assert typ == "BYE", (typ, data)


def test_compress_after_starttls(psrv):
    ctx = client_context(psrv.ca)
    m = DeflateIMAP("127.0.0.1", psrv.imap_port, timeout=20)
    m.starttls(ssl_context=ctx)
    m.login(ALICE, PASSWORD)
    m.deflate()
    check_session(m)
    assert m.logout()[0] == "BYE"


def test_compress_with_idle(psrv):
    m = plain_login(psrv)
    m.deflate()
    m.select("INBOX")
    tag = m._new_tag()
    m.send(tag + b" IDLE\r\n")
    assert m.readline().startswith(b"+")
    other = imap_login(psrv)
    assert other.append("INBOX", None, None,
                        make_message(subject="wake"))[0] == "OK"
    other.logout()
    line = m.readline()
    while not line.endswith(b"EXISTS\r\n"):
        line = m.readline()
    assert line == b"* 1 EXISTS\r\n"
    m.send(b"DONE\r\n")
    line = m.readline()
    while not line.startswith(tag):
        line = m.readline()
    assert line.startswith(tag + b" OK"), line
    assert m.noop()[0] == "OK"
    m.logout()


def test_compressed_overlong_line_is_refused_and_session_goes_on(psrv):
    # ~10 MB of one line from ~10 KB on the wire: refused as too long
    # without the server buffering it, and the session goes on
    m = plain_login(psrv)
    m.deflate()
    m.send(b"x1 NOOP " + b"a" * (10 * 1024 * 1024) + b"\r\n")
    line = m.readline()
    assert line.startswith(b"x1 BAD [TOOBIG]"), line
    assert m.noop()[0] == "OK"
    m.logout()


def raw_login(srv):
    c = RawIMAP(srv.imap_port)
    c.login()
    return c


@pytest.mark.parametrize("cmd", ["COMPRESS", "COMPRESS FOO",
                                 "COMPRESS DEFLATE EXTRA",
                                 'COMPRESS "DEFLATE"', "COMPRESS (DEFLATE)"])
def test_bad_compress_commands(psrv, cmd):
    c = raw_login(psrv)
    r = c.cmd("z " + cmd)
    assert r[-1].startswith(b"z BAD"), r
    r = c.cmd("n NOOP")          # still uncompressed
    assert r[-1].startswith(b"n OK"), r


def test_compress_before_login_refused(psrv):
    c = RawIMAP(psrv.imap_port)
    r = c.cmd("z COMPRESS DEFLATE")
    assert r[-1].startswith(b"z BAD"), r


def deflated_raw(srv):
    s = socket.create_connection(("127.0.0.1", srv.imap_port), timeout=10)
    f = s.makefile("rb")
    assert f.readline().startswith(b"* OK")
    s.sendall(f'l LOGIN "{ALICE}" "{PASSWORD}"\r\n'.encode())
    while not f.readline().startswith(b"l OK"):
        pass
    s.sendall(b"z COMPRESS DEFLATE\r\n")
    assert f.readline().startswith(b"z OK")
    return s


def closed(s):
    s.settimeout(10)
    try:
        while True:
            if not s.recv(65536):
                return True
    except ConnectionResetError:
        return True


def test_corrupt_stream_closes(psrv):
    s = deflated_raw(psrv)
    s.sendall(b"\xff\xff\xff\xff this is not deflate\r\n")
    assert closed(s)
    psrv.wait_log(r"imap compress-error")
    # the server is fine
    assert imap_login(psrv).noop()[0] == "OK"


def test_ended_stream_closes(psrv):
    s = deflated_raw(psrv)
    z = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    s.sendall(z.compress(b"n NOOP\r\n") + z.flush(zlib.Z_FINISH) +
              b"more after the end")
    assert closed(s)
