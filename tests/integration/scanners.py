"""Real content scanners for the integration suite: ClamAV's clamd and
SpamAssassin's spamd (Debian packages clamav-daemon and spamd, installed
by scripts/install-deps), each started by the test on loopback with a
private configuration, and small protocol clients to check them:

    from scanners import Clamd, Spamd, clamd, spamd, EICAR, GTUBE

    c = Clamd().start()        # c.tcp "127.0.0.1:PORT", c.socket "/tmp/.../clamd.sock"
    c.scan(data)               # INSTREAM -> "stream: ... FOUND" / "stream: OK"
    c.stop()                   # c.start() again brings it back
    s = Spamd().start()        # s.target "127.0.0.1:PORT"
    s.check(message)           # (score, is_spam, [rules], raw reply)

clamd: TCPSocket on a free 127.0.0.1 port and a LocalSocket in a private
temporary directory; DatabaseDirectory holds ONLY local.ndb, one body
signature (any file type, any offset) that matches the 68-byte EICAR test
string, named Eicar-Test-Signature (clamd reports unofficial signatures
as "Eicar-Test-Signature.UNOFFICIAL").  No freshclam, no downloaded
database, no bytecode.  Foreground; ready when it answers zPING.

spamd: --listen 127.0.0.1:PORT, --allowed-ips 127.0.0.1, --local (no
network tests), no user configs (-x), the stock rules shipped in
/usr/share/spamassassin (-C) and a private site directory holding the
plugin-loading .pre files of /etc/spamassassin plus "use_bayes 0"; as root
it runs as nobody.  GTUBE scores 1000 with those rules.  Ready when it
answers PING.

The fixtures `clamd` and `spamd` give a started instance per test (each
test may stop it); `clamd_server`/`spamd_server` are shared by a module.
When a package is missing the test is skipped, saying which package; when
spamd's rules are missing the test fails, saying so.
"""

import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

CLAMD_BIN = "/usr/sbin/clamd"
SPAMD_BIN = "/usr/sbin/spamd"
SA_RULES = Path("/usr/share/spamassassin")
SA_SITE = Path("/etc/spamassassin")

# The EICAR anti-virus test file (68 bytes) and SpamAssassin's GTUBE.
EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!"
         b"$H+H*")
GTUBE = b"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
EICAR_NAME = "Eicar-Test-Signature"

assert len(EICAR) == 68


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _recv_all(sock, limit=1 << 20):
    out = b""
    while len(out) < limit:
        b = sock.recv(65536)
        if not b:
            break
        out += b
    return out


def _connect(target, timeout):
    """A socket connected to "host:port" or a UNIX socket path."""
    if target.startswith("/"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(target)
        return s
    host, port = target.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=timeout)


def clamd_instream(target, data, chunk=8192, timeout=30.0):
    """clamd INSTREAM: the reply as str, without the ending NUL."""
    with _connect(target, timeout) as s:
        s.sendall(b"zINSTREAM\0")
        for i in range(0, len(data), chunk):
            part = data[i:i + chunk]
            s.sendall(struct.pack("!I", len(part)) + part)
        s.sendall(struct.pack("!I", 0))
        return _recv_all(s).rstrip(b"\0\n").decode("utf-8", "replace")


def spamd_request(target, message, command="SYMBOLS", timeout=60.0):
    """One SPAMC/1.5 request: (score, is_spam, rules, raw reply bytes)."""
    with _connect(target, timeout) as s:
        s.sendall(b"%s SPAMC/1.5\r\nContent-length: %d\r\n\r\n"
                  % (command.encode(), len(message)) + message)
        raw = _recv_all(s)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    if not lines[0].startswith(b"SPAMD/") or b" 0 " not in lines[0]:
        raise AssertionError(f"spamd error: {raw[:200]!r}")
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"spam":
            verdict, _, rest = value.partition(b";")
            score = float(rest.split(b"/")[0])
            rules = [r for r in body.decode().strip().split(",") if r]
            return score, verdict.strip().lower() == b"true", rules, raw
    raise AssertionError(f"spamd reply without a verdict: {raw[:200]!r}")


class _Daemon:
    """A scanner process in its own session, stopped with its children."""

    name = "daemon"

    def __init__(self):
        self.proc = None
        self.dir = Path(tempfile.mkdtemp(prefix=f"ferry-{self.name}-"))
        os.chmod(self.dir, 0o755)
        self.log = self.dir / f"{self.name}.out"

    def _spawn(self, argv):
        self._logf = open(self.log, "ab")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=self._logf, stderr=self._logf,
                                     start_new_session=True)

    def _wait(self, ping, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if ping():
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        out = self.log.read_text(errors="replace")[-3000:]
        self.stop()
        raise AssertionError(f"{self.name} did not answer PING within "
                             f"{timeout}s; its output:\n{out}")

    def stop(self):
        """Stops the daemon and its children (SIGTERM, then SIGKILL)."""
        if self.proc is None:
            return
        pid = self.proc.pid
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        try:
            os.killpg(pid, signal.SIGKILL)      # children left behind
        except ProcessLookupError:
            pass
        self.proc = None
        self._logf.close()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Clamd(_Daemon):
    name = "clamd"

    def __init__(self):
        if not os.access(CLAMD_BIN, os.X_OK):
            pytest.skip("clamd is not installed (Debian package "
                        "clamav-daemon; scripts/install-deps installs it)")
        super().__init__()
        self.port = _free_port()
        self.tcp = f"127.0.0.1:{self.port}"
        self.socket = str(self.dir / "clamd.sock")
        self.db = self.dir / "db"
        self.db.mkdir()
        (self.db / "local.ndb").write_text(
            f"{EICAR_NAME}:0:*:{EICAR.hex()}\n")
        self.conf = self.dir / "clamd.conf"
        self.conf.write_text("\n".join([
            "Foreground yes",
            f"LogFile {self.dir / 'clamd.log'}",
            f"LocalSocket {self.socket}",
            "LocalSocketMode 666",
            f"TCPSocket {self.port}",
            "TCPAddr 127.0.0.1",
            f"DatabaseDirectory {self.db}",
            f"TemporaryDirectory {self.dir}",
            "Bytecode no",
            "SelfCheck 0",
            "MaxThreads 4",
            "",
        ]))

    def start(self, timeout=60.0):
        self._spawn([CLAMD_BIN, "-c", str(self.conf)])
        return self._wait(self.ping, timeout)

    def ping(self, target=None):
        with _connect(target or self.tcp, 2.0) as s:
            s.sendall(b"zPING\0")
            return _recv_all(s, 64) == b"PONG\0"

    def scan(self, data, target=None):
        return clamd_instream(target or self.tcp, data)


class Spamd(_Daemon):
    name = "spamd"

    def __init__(self):
        if not os.access(SPAMD_BIN, os.X_OK):
            pytest.skip("spamd is not installed (Debian package spamd; "
                        "scripts/install-deps installs it)")
        if not list(SA_RULES.glob("*.cf")):
            pytest.fail(f"SpamAssassin's stock rules are missing from "
                        f"{SA_RULES} (package spamassassin); this suite "
                        f"does not run sa-update")
        super().__init__()
        self.port = _free_port()
        self.target = f"127.0.0.1:{self.port}"
        self.site = self.dir / "site"
        self.site.mkdir()
        for pre in SA_SITE.glob("*.pre"):
            shutil.copy(pre, self.site / pre.name)
        (self.site / "local.cf").write_text(
            "use_bayes 0\nbayes_auto_learn 0\n")
        for p in [self.site, *self.site.iterdir()]:
            os.chmod(p, 0o755 if p.is_dir() else 0o644)

    def start(self, timeout=90.0):
        argv = [SPAMD_BIN, "--listen", self.target,
                "--allowed-ips", "127.0.0.1", "--local", "--nouser-config",
                "--configpath", str(SA_RULES),
                "--siteconfigpath", str(self.site),
                "--max-children", "3", "--min-children", "1",
                "--helper-home-dir", str(self.dir), "--syslog", "stderr"]
        if os.geteuid() == 0:
            argv += ["--username", "nobody"]
        self._spawn(argv)
        return self._wait(self.ping, timeout)

    def ping(self):
        with _connect(self.target, 2.0) as s:
            s.sendall(b"PING SPAMC/1.5\r\n\r\n")
            return b" 0 PONG" in _recv_all(s, 256)

    def check(self, message, command="SYMBOLS"):
        return spamd_request(self.target, message, command)


@pytest.fixture
def clamd():
    """A started clamd for one test (the test may stop/start it)."""
    c = Clamd().start()
    yield c
    c.cleanup()


@pytest.fixture
def spamd():
    """A started spamd for one test (the test may stop/start it)."""
    s = Spamd().start()
    yield s
    s.cleanup()


@pytest.fixture(scope="module")
def clamd_server():
    """A clamd shared by a module's tests; do not stop it."""
    c = Clamd().start()
    yield c
    c.cleanup()


@pytest.fixture(scope="module")
def spamd_server():
    """A spamd shared by a module's tests; do not stop it."""
    s = Spamd().start()
    yield s
    s.cleanup()
