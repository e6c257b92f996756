"""Test certificates made with the openssl command line.

  make_ca(dir)                      a CA: CertPair(cert, key) in dir
  make_cert(dir, ca, names, ...)    a server certificate signed by ca for
                                    DNS names / IP addresses in `names`
  server_certs(dir)                 CA + a certificate for 127.0.0.1,
                                    localhost and the mx names of the tests
  cert_fingerprint(path)            SHA-256 fingerprint of a PEM cert
  peer_cert_names(host, port, ...)  the subject CN + SANs a server presents
                                    (implicit TLS or STARTTLS), via s_client

Keys are ECDSA P-256 by default (fast to make); key="rsa" gives RSA 2048.
Reusable by every TLS test (SMTP, POP3, relay peers).
"""

import hashlib
import ssl
import subprocess
from collections import namedtuple
from pathlib import Path

CertPair = namedtuple("CertPair", "cert key")

DEFAULT_NAMES = ("mx.example.test", "localhost", "127.0.0.1")


def _run(*args, cwd=None):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True,
                       text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed: {r.stderr}")
    return r.stdout


def _newkey(path, key):
    if key == "rsa":
        _run("genpkey", "-algorithm", "RSA", "-pkeyopt",
             "rsa_keygen_bits:2048", "-out", str(path))
    else:
        _run("genpkey", "-algorithm", "EC", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-out", str(path))


def make_ca(directory, name="ca", cn="Ferry Test CA", key="ec"):
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    k, c = d / f"{name}.key", d / f"{name}.pem"
    _newkey(k, key)
    _run("req", "-x509", "-new", "-key", str(k), "-out", str(c), "-days",
         "30", "-subj", f"/CN={cn}", "-addext",
         "basicConstraints=critical,CA:TRUE", "-addext",
         "keyUsage=critical,keyCertSign,cRLSign")
    return CertPair(str(c), str(k))


def _san(names):
    out = []
    for n in names:
        if all(ch.isdigit() or ch == "." for ch in n) or ":" in n:
            out.append(f"IP:{n}")
        else:
            out.append(f"DNS:{n}")
    return ",".join(out)


def make_cert(directory, ca, names=DEFAULT_NAMES, name="server", key="ec",
              days=30, chain=False):
    """A server certificate for `names` (first one is the CN).  With
    chain=True the cert file holds the certificate followed by the CA
    (a PEM chain, as tls_cert allows)."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    k, csr, c = d / f"{name}.key", d / f"{name}.csr", d / f"{name}.pem"
    ext = d / f"{name}.ext"
    _newkey(k, key)
    _run("req", "-new", "-key", str(k), "-out", str(csr), "-subj",
         f"/CN={names[0]}")
    ext.write_text(f"subjectAltName={_san(names)}\n"
                   "extendedKeyUsage=serverAuth\n"
                   "basicConstraints=CA:FALSE\n")
    _run("x509", "-req", "-in", str(csr), "-CA", ca.cert, "-CAkey", ca.key,
         "-CAcreateserial", "-out", str(c), "-days", str(days),
         "-extfile", str(ext))
    if chain:
        c.write_text(c.read_text() + Path(ca.cert).read_text())
    return CertPair(str(c), str(k))


def server_certs(directory, names=DEFAULT_NAMES, key="ec"):
    """(ca, server) pairs for a test server."""
    ca = make_ca(directory, key=key)
    return ca, make_cert(directory, ca, names, key=key)


def cert_fingerprint(path):
    pem = Path(path).read_text()
    first = pem[:pem.index("-----END CERTIFICATE-----") + 25]
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(first)).hexdigest()


def client_context(ca=None):
    """An SSLContext trusting only `ca` (or verifying nothing)."""
    if ca is None:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    ctx = ssl.create_default_context(cafile=ca.cert if hasattr(ca, "cert") else ca)
    return ctx


def s_client(port, host="127.0.0.1", starttls=None, servername=None,
             extra=(), data=b"QUIT\r\n", timeout=20):
    """Runs openssl s_client and returns (returncode, stdout text)."""
    args = ["openssl", "s_client", "-connect", f"{host}:{port}",
            "-showcerts", "-ign_eof"]
    if starttls:
        args += ["-starttls", starttls]
    if servername:
        args += ["-servername", servername]
    else:
        args += ["-noservername"]
    args += list(extra)
    r = subprocess.run(args, input=data, capture_output=True, timeout=timeout)
    return r.returncode, r.stdout.decode("utf-8", "replace") + \
        r.stderr.decode("utf-8", "replace")


def presented_fingerprint(port, host="127.0.0.1", starttls=None,
                          servername=None):
    """SHA-256 fingerprint of the leaf certificate the server presents."""
    rc, out = s_client(port, host, starttls, servername)
    start = out.find("-----BEGIN CERTIFICATE-----")
    assert start >= 0, f"no certificate from {host}:{port}: {out}"
    end = out.index("-----END CERTIFICATE-----", start) + 25
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(out[start:end])).hexdigest()


# ---------------------------------------------------------------- servers

def make_tls_ferry(make_ferry, directory, overrides=None, start=True,
                   submission=True, submissions=True, key="ec"):
    """A Ferry server (via conftest's make_ferry) with a certificate for
    127.0.0.1/localhost/mx.example.test, a submission and a submissions
    listener on free ports.  Sets srv.ca, srv.cert, srv.sub_port and
    srv.subs_port (None when not configured)."""
    from conftest import free_port, tcp_listening, wait_until

    ca, cert = server_certs(Path(directory) / "certs", key=key)
    conf = {"tls_cert": cert.cert, "tls_key": cert.key}
    sub_port = free_port() if submission else None
    subs_port = free_port() if submissions else None
    if sub_port:
        conf["submission_listen"] = f"127.0.0.1:{sub_port}"
    if subs_port:
        conf["submissions_listen"] = f"127.0.0.1:{subs_port}"
    conf.update(overrides or {})

    def first_port(key, default):
        v = conf.get(key)
        return int(v.split(",")[0].rsplit(":", 1)[1]) if v else default
    sub_port = first_port("submission_listen", None)
    subs_port = first_port("submissions_listen", None)
    srv = make_ferry(conf, start=False)
    srv.ca, srv.cert = ca, cert
    srv.sub_port, srv.subs_port = sub_port, subs_port
    if start:
        srv.start()
        for p in (sub_port, subs_port):
            if p:
                wait_until(lambda: tcp_listening(p), 10,
                           what=f"listener on {p}")
    return srv
