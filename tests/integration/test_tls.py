"""TLS on the SMTP listeners: STARTTLS (RFC 3207) on smtp and submission,
implicit TLS (RFC 8314) on submissions, the plaintext-injection defence
(CVE-2011-0411), the state reset after the handshake, SNI, SIGHUP
certificate reload, handshake timeouts, and the Received header's record
of the TLS session.  Certificates are made per test with openssl."""

import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import time

import pytest

from certs import (cert_fingerprint, client_context, make_ca, make_cert,
                   make_tls_ferry, presented_fingerprint, s_client)
from conftest import RawSMTP, header, make_message, wait_until

SWAKS = shutil.which("swaks")
CURL = shutil.which("curl")


@pytest.fixture
def tls_ferry(make_ferry, tmp_path):
    return make_tls_ferry(make_ferry, tmp_path)


def ehlo_keywords(reply):
    return [l.split()[0].upper() for l in reply.lines[1:]]


def starttls_raw(c, ctx, server_hostname=None):
    """STARTTLS on a RawSMTP and wraps its socket; returns the SSLSocket."""
    r = c.cmd("STARTTLS")
    assert r.code == 220, r
    assert c.buf == b"", f"data after 220: {c.buf!r}"
    c.sock = ctx.wrap_socket(c.sock, server_hostname=server_hostname)
    return c.sock


# ------------------------------------------------------------ advertising

def test_starttls_advertised_with_certificate(tls_ferry):
    with tls_ferry.raw() as c:
        kw = ehlo_keywords(c.ehlo())
        assert "STARTTLS" in kw
        assert "AUTH" not in kw         # not before TLS
    with RawSMTP(tls_ferry.sub_port) as c:
        assert "STARTTLS" in ehlo_keywords(c.ehlo())


def test_starttls_not_advertised_without_certificate(ferry):
    with ferry.raw() as c:
        assert "STARTTLS" not in ehlo_keywords(c.ehlo())
        r = c.cmd("STARTTLS")
        assert r.code == 454, r


# ------------------------------------------------------------ STARTTLS

def test_smtplib_starttls_delivers_and_records_tls(tls_ferry):
    with tls_ferry.smtp() as s:
        s.ehlo()
        code, _ = s.starttls(context=client_context(tls_ferry.ca))
        assert code == 220
        s.ehlo()
        assert not s.has_extn("starttls")   # already active
        s.sendmail("sender@remote.example", ["alice@example.test"],
                   make_message(subject="over tls"))
    (m,) = tls_ferry.wait_delivered("alice@example.test")
    (rcv,) = [h for h in header(m, "Received") if "Ferry" in h]
    assert " with ESMTPS " in rcv, rcv
    assert "version=TLSv1.3" in rcv and "cipher=TLS_" in rcv, rcv
    assert tls_ferry.wait_log(r"smtp tls version=TLSv1\.3 cipher=")


def test_tls12_works_and_old_versions_refused(tls_ferry):
    rc, out = s_client(tls_ferry.port, starttls="smtp", extra=["-tls1_2"])
    assert rc == 0 and "TLSv1.2" in out, out
    assert "221" in out, out
    rc, out = s_client(tls_ferry.port, starttls="smtp",
                       extra=["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"])
    # The handshake fails: no cipher (s_client still prints the version
    # it offered in its session summary).
    assert "Cipher is (NONE)" in out or rc != 0, out
    tls_ferry.wait_log(r"tls-failed .*(version|protocol)")


def test_openssl_s_client_starttls(tls_ferry):
    rc, out = s_client(tls_ferry.port, starttls="smtp",
                       extra=["-verify_return_error", "-CAfile",
                              tls_ferry.ca.cert, "-verify_hostname",
                              "mx.example.test"],
                       data=b"EHLO client.example\r\nQUIT\r\n")
    assert rc == 0, out
    assert "Verify return code: 0 (ok)" in out, out
    assert "250-mx.example.test" in out or "250-" in out, out
    assert "221 2.0.0" in out, out


def test_starttls_injection_is_discarded(tls_ferry):
    """CVE-2011-0411: commands sent in the clear behind STARTTLS in the
    same packet must not be executed after the handshake."""
    with tls_ferry.raw() as c:
        c.ehlo()
        c.send(b"STARTTLS\r\nRSET\r\nMAIL FROM:<evil@remote.example>\r\n")
        r = c.reply()
        assert r.code == 220, r
        try:
            c._fill(0.5)
        except socket.timeout:
            pass
        assert c.buf == b"", f"plaintext reply after 220: {c.buf!r}"
        c.sock = client_context().wrap_socket(c.sock)
        # The first reply under TLS must belong to our EHLO, not to the
        # injected RSET or MAIL.
        r = c.cmd("EHLO client.example")
        assert r.code == 250 and len(r.lines) > 1, r
        assert r.lines[0].startswith("mx.example.test"), r
        r = c.cmd("NOOP")
        assert r.code == 250 and "2.0.0" in r.text, r
    tls_ferry.wait_log(r"starttls-discarded bytes=\d+")


def test_state_reset_after_starttls(tls_ferry):
    """RFC 3207 4.2: after TLS the client must EHLO again."""
    with tls_ferry.raw() as c:
        c.ehlo()
        starttls_raw(c, client_context())
        r = c.cmd("MAIL FROM:<a@remote.example>")
        assert r.code == 503, r
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.example>").code == 250
        r = c.cmd("STARTTLS")
        assert r.code in (503, 554), r


def test_starttls_inside_transaction_refused(tls_ferry):
    with tls_ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<a@remote.example>", 250)
        r = c.cmd("STARTTLS")
        assert r.code == 503, r


def test_starttls_with_argument_refused(tls_ferry):
    with tls_ferry.raw() as c:
        c.ehlo()
        r = c.cmd("STARTTLS now")
        assert r.code == 501, r


def test_handshake_timeout(make_ferry, tmp_path):
    srv = make_tls_ferry(make_ferry, tmp_path, {"timeout_tls": "2s"})
    with srv.raw() as c:
        c.ehlo()
        assert c.cmd("STARTTLS").code == 220
        t0 = time.monotonic()
        assert c.wait_closed(10), "no close after a stalled handshake"
        assert time.monotonic() - t0 < 8
    with socket.create_connection(("127.0.0.1", srv.subs_port), 10) as s:
        t0 = time.monotonic()
        s.settimeout(10)
        assert s.recv(100) == b""       # no greeting before TLS
        assert time.monotonic() - t0 < 8
    srv.wait_log(r"tls-failed .*reason=timeout")


def test_garbage_handshake_closes_and_server_survives(tls_ferry):
    with tls_ferry.raw() as c:
        c.ehlo()
        assert c.cmd("STARTTLS").code == 220
        c.send(b"this is not a TLS client hello\r\n" * 4)
        assert c.wait_closed(10)
    tls_ferry.wait_log(r"tls-failed")
    with tls_ferry.smtp() as s:
        s.starttls(context=client_context())
        assert s.noop()[0] == 250


# ------------------------------------------------------------ implicit TLS

def test_implicit_tls_submissions(tls_ferry):
    ctx = client_context(tls_ferry.ca)
    with smtplib.SMTP_SSL("127.0.0.1", tls_ferry.subs_port,
                          local_hostname="client.example", context=ctx,
                          timeout=15) as s:
        code, msg = s.ehlo()
        assert code == 250
        assert s.has_extn("auth")
        assert not s.has_extn("starttls")
        assert "PLAIN" in s.esmtp_features["auth"].upper()


def test_implicit_tls_plaintext_client_gets_nothing(tls_ferry):
    with socket.create_connection(("127.0.0.1", tls_ferry.subs_port), 10) as s:
        s.sendall(b"EHLO client.example\r\n")
        s.settimeout(10)
        data = b""
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except (ConnectionResetError, socket.timeout):
            pass
        assert b"220" not in data and b"250" not in data, data


# ------------------------------------------------------------ SNI and reload

def test_sni_selects_certificate(make_ferry, tmp_path):
    d = tmp_path / "sni"
    ca = make_ca(d, name="sni-ca")
    other = make_cert(d, ca, ("other.example.org",), name="other")
    srv = make_tls_ferry(make_ferry, tmp_path, start=False)
    srv.write_config([f"tls_sni = other.example.org {other.cert} {other.key}"])
    srv.start()
    default_fp = cert_fingerprint(srv.cert.cert)
    other_fp = cert_fingerprint(other.cert)
    assert presented_fingerprint(srv.port, starttls="smtp",
                                 servername="other.example.org") == other_fp
    assert presented_fingerprint(srv.port, starttls="smtp",
                                 servername="OTHER.example.org") == other_fp
    assert presented_fingerprint(srv.port, starttls="smtp",
                                 servername="mx.example.test") == default_fp
    assert presented_fingerprint(srv.port, starttls="smtp") == default_fp
    assert presented_fingerprint(srv.subs_port,
                                 servername="other.example.org") == other_fp
    # Python's client checks the name against the SNI certificate.
    ctx = ssl.create_default_context(cafile=ca.cert)
    with socket.create_connection(("127.0.0.1", srv.subs_port), 10) as raw:
        with ctx.wrap_socket(raw, server_hostname="other.example.org") as t:
            assert t.recv(100).startswith(b"220 ")


def test_sighup_reloads_certificate(tls_ferry, tmp_path):
    old_fp = cert_fingerprint(tls_ferry.cert.cert)
    assert presented_fingerprint(tls_ferry.port, starttls="smtp") == old_fp
    # An established session keeps working across the reload.
    keep = tls_ferry.smtp()
    keep.starttls(context=client_context())
    new = make_cert(tmp_path / "new", make_ca(tmp_path / "new", name="ca2"),
                    name="server2")
    shutil.copyfile(new.cert, tls_ferry.cert.cert)
    shutil.copyfile(new.key, tls_ferry.cert.key)
    off = tls_ferry.log_offset()
    tls_ferry.signal(signal.SIGHUP)
    tls_ferry.wait_log(r"smtpd tls-reloaded", since=off)
    new_fp = cert_fingerprint(new.cert)
    assert presented_fingerprint(tls_ferry.port, starttls="smtp") == new_fp
    assert presented_fingerprint(tls_ferry.subs_port) == new_fp
    assert keep.noop()[0] == 250
    keep.quit()


def test_sighup_with_broken_certificate_keeps_old(tls_ferry):
    fp = cert_fingerprint(tls_ferry.cert.cert)
    with open(tls_ferry.cert.key, "w") as f:
        f.write("garbage\n")
    off = tls_ferry.log_offset()
    tls_ferry.signal(signal.SIGHUP)
    tls_ferry.wait_log(r"reload-failed", since=off)
    assert presented_fingerprint(tls_ferry.port, starttls="smtp") == fp


# ------------------------------------------------------------ other clients

@pytest.mark.skipif(SWAKS is None, reason="swaks not installed")
def test_swaks_tls(tls_ferry):
    r = subprocess.run([SWAKS, "--server", f"127.0.0.1:{tls_ferry.port}",
                        "--tls", "--helo", "client.example",
                        "--from", "sender@remote.example",
                        "--to", "bob@example.test",
                        "--header", "Subject: swaks tls"],
                       capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "TLS started" in r.stdout, r.stdout
    (m,) = tls_ferry.wait_delivered("bob@example.test")
    assert header(m, "Subject") == ["swaks tls"]


@pytest.mark.skipif(CURL is None, reason="curl not installed")
def test_curl_smtp_ssl_reqd(tls_ferry, tmp_path):
    msg = tmp_path / "msg.eml"
    msg.write_bytes(make_message(subject="curl starttls", to="bob@example.test"))
    r = subprocess.run([CURL, "-sS", "--ssl-reqd", "--cacert",
                        tls_ferry.ca.cert,
                        "--url", f"smtp://127.0.0.1:{tls_ferry.port}/client.example",
                        "--mail-from", "sender@remote.example",
                        "--mail-rcpt", "bob@example.test",
                        "-T", str(msg)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    (m,) = tls_ferry.wait_delivered("bob@example.test")
    assert header(m, "Subject") == ["curl starttls"]
