"""Black-box fixtures for Ferry's integration suite.

Every test gets its own `ferry serve` on a free 127.0.0.1 port with a
temporary state_dir, and talks to it with smtplib, swaks and raw sockets.
The pieces are meant to be reused by later issues (fake DNS, fake MX
peers, submission, POP3, IMAP):

  free_port()                 a free TCP port on 127.0.0.1
  FerryServer                 config file, start/stop/kill/restart, CLI,
                              log reader, Maildir reader, process lookup
  ferry (fixture)             a started server with example.test and the
                              users alice@ and bob@ (password "secret");
                              @pytest.mark.ferry_conf(key=value, ...) sets
                              config overrides for that test
  make_ferry (fixture)        factory for servers with other setups
  RawSMTP                     socket client: send bytes, read replies with
                              timeouts, parse multi-line replies

Every wait is bounded; nothing sleeps to assert timing.  The binary is
$FERRY_BIN (default: build/ferry in this checkout).
"""

import json
import os
import random
import re
import signal
import smtplib
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FERRY_BIN = os.environ.get("FERRY_BIN", str(ROOT / "build" / "ferry"))

DOMAIN = "example.test"
HOSTNAME = "mx.example.test"
PASSWORD = "secret"
USERS = ("alice@example.test", "bob@example.test")

# Defaults for every test server: short timeouts so that a stuck test
# fails quickly instead of hanging, and quick local retries.  The
# pre-greeting pause (early-talker detection, default 1s) is switched off
# so that each connection does not cost a second; tests of early talkers
# set it back (ferry_conf(smtp_greeting_delay="1s")).
BASE_CONF = {
    "hostname": HOSTNAME,
    "smtp_greeting_delay": "0s",
    "log_level": "debug",
    "relay_networks": "",
    "smtp_timeout": "30s",
    "smtp_data_timeout": "30s",
    "retry_min": "1s",
    "retry_max": "5s",
    # DMARC asks DNS for every message from outside; the default resolver
    # here never answers (see FerryServer), so tests that want it say so.
    "dmarc": "no",
}


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "ferry_conf(**kw): config overrides for the ferry fixture")


# ---------------------------------------------------------------- helpers

# free_port hands out ports below the kernel's ephemeral range (32768 and
# up by default), where no client socket's local port can take one between
# the pick and the server's bind.  Under pytest-xdist each worker
# (PYTEST_XDIST_WORKER gw0, gw1, ...) has a block of its own, so parallel
# workers never pick the same port; within it ports are taken in turn from
# a random start (another suite may run on the same machine), never twice
# in a row.
_PORT_LOW, _PORT_HIGH = 10000, 32000
_port_next = None


def free_port(host="127.0.0.1"):
    """A TCP port that nothing listens on right now."""
    global _port_next
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    size = (_PORT_HIGH - _PORT_LOW) // max(count, 1)
    base = _PORT_LOW + (index % max(count, 1)) * size
    if _port_next is None:
        _port_next = random.randrange(size)
    for _ in range(size):
        port = base + _port_next % size
        _port_next = (_port_next + 1) % size
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in %d-%d" % (base, base + size - 1))


def mailbox_ferry(make_ferry, tmp_path, proto, plaintext=False, tls=True,
                  name=None, **overrides):
    """A started server with PROTO_listen (STARTTLS/STLS) and, with tls,
    PROTOs_listen on implicit TLS (proto "pop3" or "imap"); attributes
    PROTO_port, PROTOs_port (None without tls) and ca are set.  plaintext
    lets 127.0.0.0/8 log in without TLS (auth_plaintext_networks)."""
    from certs import server_certs
    conf = {f"{proto}_listen": f"127.0.0.1:{free_port()}"}
    ca = None
    if tls:
        ca, cert = server_certs(tmp_path / f"certs-{name or proto}")
        conf.update({f"{proto}s_listen": f"127.0.0.1:{free_port()}",
                     "tls_cert": cert.cert, "tls_key": cert.key})
    if plaintext:
        conf["auth_plaintext_networks"] = "127.0.0.0/8"
    conf.update(overrides)
    srv = make_ferry(conf, name=name)
    port = int(conf[f"{proto}_listen"].rsplit(":", 1)[1])
    setattr(srv, f"{proto}_port", port)
    setattr(srv, f"{proto}s_port",
            int(conf[f"{proto}s_listen"].rsplit(":", 1)[1]) if tls else None)
    srv.ca = ca
    wait_until(lambda: tcp_listening(port), 10,
               what=f"the {proto.upper()} listener")
    return srv


def maildir_order(p):
    """Delivery order of a Maildir file: its name is SECONDS.MUSEC... with
    the microseconds not zero-padded, so plain name order puts M98765
    after M123456 within one second."""
    m = re.match(r"(\d+)\.M(\d+)", p.name)
    return (int(m.group(1)), int(m.group(2)), p.name) if m else (0, 0, p.name)


def sanitized(pid):
    """Whether process pid runs an AddressSanitizer build.  ASan keeps
    freed memory in quarantine: RSS then follows the work done, not what
    is live, and says nothing about a bound."""
    with open(f"/proc/{pid}/maps") as f:
        return "libasan" in f.read()


def wait_until(pred, timeout=10.0, interval=0.05, what="condition"):
    """Polls pred() until it returns something truthy; returns it.
    Raises AssertionError after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def proc_stat(pid):
    """(comm, state, ppid) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("latin-1")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # comm is in parentheses and may contain spaces or parentheses.
    lp, rp = data.index("("), data.rindex(")")
    comm = data[lp + 1:rp]
    rest = data[rp + 2:].split()
    return comm, rest[0], int(rest[1])


def proc_alive(pid):
    """True while any thread of pid runs.  A killed process's main thread
    can be a zombie while a worker thread still finishes an fsync: the
    process's files (its listening sockets too) stay open until the last
    thread is gone."""
    st = proc_stat(pid)
    if st is None:
        return False
    if st[1] not in ("Z", "X"):
        return True
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except (FileNotFoundError, ProcessLookupError):
        return False
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat", "rb") as f:
                data = f.read().decode("latin-1")
        except (FileNotFoundError, ProcessLookupError):
            continue
        if data[data.rindex(")") + 2:].split()[0] not in ("Z", "X"):
            return True
    return False


def proc_children(ppid):
    """Live direct children of ppid as {pid: comm}."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        st = proc_stat(int(d))
        if st and st[2] == ppid and st[1] not in ("Z", "X"):
            out[int(d)] = st[0]
    return out


def proc_tree(pid):
    """pid and all its live descendants."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        if p in found:
            continue
        found.append(p)
        todo.extend(proc_children(p))
    return found


def tcp_listening(port, host="127.0.0.1"):
    """True when /proc/net/tcp shows a LISTEN socket on host:port (or on
    0.0.0.0:port).  Checked without connecting, so the server sees no
    stray connection that could count against its limits."""
    want = {f"{port:04X}"}
    addrs = {"00000000"}
    a = socket.inet_aton(host)
    addrs.add("%08X" % int.from_bytes(a, "little"))
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                parts = line.split()
                la, st = parts[1], parts[3]
                ip, p = la.split(":")
                if st == "0A" and p in want and ip in addrs:
                    return True
    except OSError:
        pass
    return False


def unfold_headers(msg: bytes):
    """Header block of a message as a list of (name, value) with folded
    lines joined.  Splits on CRLF; stops at the first empty line."""
    head = msg.split(b"\r\n\r\n", 1)[0]
    out = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and out:
            n, v = out[-1]
            out[-1] = (n, v + b" " + line.strip())
        elif b":" in line:
            n, v = line.split(b":", 1)
            out.append((n.decode("latin-1"), v.strip()))
    return out


def header(msg: bytes, name: str):
    """All values of header `name` (case-blind) as str (utf-8, replace)."""
    return [v.decode("utf-8", "replace") for n, v in unfold_headers(msg)
            if n.lower() == name.lower()]


def body_of(msg: bytes) -> bytes:
    parts = msg.split(b"\r\n\r\n", 1)
    return parts[1] if len(parts) == 2 else b""


def make_message(subject=None, body="Hello.\r\n", sender="sender@remote.example",
                 to="alice@example.test", msgid=None, extra_headers=()):
    """A small RFC 5322 message as bytes with CRLF line ends and a
    Message-ID (unique unless msgid is given)."""
    msgid = msgid or f"<{uuid.uuid4().hex}@test.example>"
    subject = subject or f"test {msgid}"
    lines = [f"From: <{sender}>", f"To: <{to}>", f"Subject: {subject}",
             f"Message-ID: {msgid}", "Date: Thu, 01 Jan 2026 00:00:00 +0000"]
    lines.extend(extra_headers)
    text = "\r\n".join(lines) + "\r\n\r\n" + body
    if isinstance(text, str):
        text = text.encode("utf-8")
    return text


# ---------------------------------------------------------------- raw SMTP

class Reply:
    """One SMTP reply: code (int), lines (list of str, without the code
    and separator), raw (list of bytes lines without CRLF)."""

    def __init__(self, raw_lines):
        self.raw = raw_lines
        first = raw_lines[0]
        self.code = int(first[:3])
        self.lines = [l[4:].decode("utf-8", "replace") for l in raw_lines]

    @property
    def text(self):
        return "\n".join(self.lines)

    @property
    def enhanced(self):
        """The enhanced status code of the first line, e.g. "5.5.2"."""
        m = re.match(r"([245]\.\d{1,3}\.\d{1,3})\b", self.lines[0])
        return m.group(1) if m else None

    def __repr__(self):
        return f"Reply({b' | '.join(self.raw)!r})"


class RawClient:
    """A plain TCP client for line protocols: sends exactly the bytes it
    is told to and reads lines, each read bounded by a timeout.  Lines end
    at LINE_END (a trailing CR is dropped when that is a bare LF)."""

    LINE_END = b"\n"

    def __init__(self, port, host="127.0.0.1", timeout=10.0, source=None):
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if source:
            self.sock.bind((source, 0))
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.buf = b""
        self.eof = False

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.sock.sendall(data)

    def _fill(self, timeout):
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
        self.buf += chunk

    def read_line(self, timeout=None):
        """The next line without its end, or None at EOF.  Raises
        socket.timeout when nothing complete arrives in time."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while self.LINE_END not in self.buf:
            if self.eof:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout(f"no line within {timeout}s (have {self.buf!r})")
            self._fill(left)
        line, self.buf = self.buf.split(self.LINE_END, 1)
        if self.LINE_END == b"\n" and line.endswith(b"\r"):
            line = line[:-1]
        return line

    def wait_closed(self, timeout=5.0):
        """True when the server closes the connection within timeout
        (any data that arrives first is kept in self.buf)."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                self._fill(left)
            except socket.timeout:
                return False
            except OSError:
                self.eof = True
        return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class RawSMTP(RawClient):
    """RawClient for SMTP: reads the greeting, parses (multi-line)
    replies, sends commands and whole messages."""

    def __init__(self, port, host="127.0.0.1", timeout=10.0, greeting=True,
                 source=None):
        super().__init__(port, host, timeout, source)
        self.greeting = self.reply() if greeting else None

    def reply(self, timeout=None):
        """The next complete (possibly multi-line) reply, or None at EOF."""
        lines = []
        while True:
            line = self.read_line(timeout)
            if line is None:
                if lines:
                    raise AssertionError(f"EOF inside a multi-line reply {lines!r}")
                return None
            if len(line) < 3 or not line[:3].isdigit():
                raise AssertionError(f"malformed reply line {line!r}")
            lines.append(line)
            if len(line) == 3 or line[3:4] == b" ":
                return Reply(lines)
            if line[3:4] != b"-":
                raise AssertionError(f"malformed reply line {line!r}")

    def replies(self, n, timeout=None):
        out = []
        for _ in range(n):
            r = self.reply(timeout)
            assert r is not None, f"EOF after {len(out)} of {n} replies: {out!r}"
            out.append(r)
        return out

    def cmd(self, line, timeout=None):
        """Sends one command line (CRLF added) and returns its reply."""
        if isinstance(line, str):
            line = line.encode("utf-8")
        self.send(line + b"\r\n")
        r = self.reply(timeout)
        assert r is not None, f"connection closed after {line!r}"
        return r

    def expect(self, line, code, timeout=None):
        r = self.cmd(line, timeout)
        assert r.code == code, f"{line!r}: expected {code}, got {r!r}"
        return r

    def ehlo(self, name="client.example"):
        return self.expect(f"EHLO {name}", 250)

    def read_all(self, timeout=5.0):
        """Every reply until EOF (bounded by timeout overall)."""
        out = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no EOF within {timeout}s; replies so far {out!r}")
            r = self.reply(left)
            if r is None:
                return out
            out.append(r)

    def send_message(self, sender, rcpts, data, ehlo=True):
        """EHLO, MAIL, RCPT..., DATA with dot-stuffing done here; returns
        the final reply.  data is the message as bytes with CRLF ends."""
        if ehlo:
            self.ehlo()
        self.expect(f"MAIL FROM:<{sender}>", 250)
        for r in rcpts:
            self.expect(f"RCPT TO:<{r}>", 250)
        self.expect("DATA", 354)
        self.send(dot_stuff(data) + b".\r\n")
        return self.reply()


def dot_stuff(data: bytes) -> bytes:
    """RFC 5321 4.5.2 transparency, for a message with CRLF ends; makes
    sure the result ends in CRLF."""
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    lines = data.split(b"\r\n")
    return b"\r\n".join((b"." + l) if l.startswith(b".") else l for l in lines)


QUEUED_RE = re.compile(r"queued as <?([0-9A-Za-z]+)>?")


def queue_id(reply_text):
    """The queue id from a '250 ... queued as ID' reply text."""
    if isinstance(reply_text, bytes):
        reply_text = reply_text.decode("utf-8", "replace")
    m = QUEUED_RE.search(reply_text)
    assert m, f"no 'queued as ID' in {reply_text!r}"
    return m.group(1)


# ---------------------------------------------------------------- server

class FerryServer:
    """One Ferry instance under a directory of its own.

    The config is the dict self.conf (BASE_CONF + overrides), written to
    DIR/ferry.conf; stderr and stdout of `serve` go to DIR/ferry.log
    (appended across restarts)."""

    def __init__(self, base_dir, overrides=None, binary=FERRY_BIN):
        self.dir = Path(base_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.binary = binary
        self.state_dir = self.dir / "state"
        self.conf_path = self.dir / "ferry.conf"
        self.log_path = self.dir / "ferry.log"
        self.port = free_port()
        self.host = "127.0.0.1"
        self.hostname = HOSTNAME
        self.conf = dict(BASE_CONF)
        self.conf["state_dir"] = str(self.state_dir)
        self.conf["smtp_listen"] = f"127.0.0.1:{self.port}"
        # No test may reach the real DNS: by default the resolver is a
        # loopback port where nothing answers, so mail for remote domains
        # gets temporary failures and waits in the queue.  Tests with a
        # fake DNS server override dns_resolvers.
        self.conf["dns_resolvers"] = f"127.0.0.1:{free_port()}"
        if overrides:
            self.conf.update(overrides)
        self.hostname = self.conf.get("hostname", HOSTNAME)
        self.proc = None
        self.seen_pids = set()
        self._logf = None
        self.write_config()

    # -- configuration

    def write_config(self, extra_lines=()):
        """Writes self.conf (None values are left out) plus raw lines."""
        lines = ["# written by tests/integration/conftest.py"]
        for k, v in self.conf.items():
            if v is None:
                continue
            lines.append(f"{k} = {v}")
        lines.extend(extra_lines)
        self.conf_path.write_text("\n".join(lines) + "\n")

    def set_conf(self, **changes):
        self.conf.update(changes)
        self.write_config()

    # -- processes

    def start(self, wait=True, timeout=15.0):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        if not os.path.exists(self.binary):
            pytest.fail(f"ferry binary not found: {self.binary} (run make)")
        self._logf = open(self.log_path, "ab")
        self.start_log_offset = self.log_path.stat().st_size   # for wait_log(since=)
        self.proc = subprocess.Popen(
            [self.binary, "-c", str(self.conf_path), "serve"],
            stdin=subprocess.DEVNULL, stdout=self._logf, stderr=self._logf,
            env=self._env())
        self.seen_pids.add(self.proc.pid)
        if wait:
            self.wait_ready(timeout)
        return self

    def _env(self):
        env = dict(os.environ)
        env.pop("FERRY_CONF", None)
        return env

    def wait_ready(self, timeout=15.0):
        """Waits until the supervisor listens on the SMTP port and its
        roles (smtpd and queue) are forked and set up.  Does not connect, so no
        stray session counts against connection limits."""
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"ferry serve exited with {self.proc.returncode}:\n{self.log_tail()}")
            if not tcp_listening(self.port, self.host):
                return False
            # The roles have finished their set-up (certificates loaded,
            # signal handlers installed) once they log it; without a log
            # on stderr (log_file set) the forked processes must do.
            text = self.log_bytes()[self.start_log_offset:]
            if b"- serve starting" in text and not (
                    b"- smtpd ready" in text and b"- queue started" in text):
                return False
            kids = self.children()
            comms = set(kids.values())
            if {"ferry-smtpd", "ferry-queue"} <= comms:
                return True
            # Roles not (yet) named: accept two children after a while.
            return len(kids) >= 2 and time.monotonic() - t0 > 2.0
        t0 = time.monotonic()
        try:
            wait_until(ready, timeout, what="ferry serve to be ready")
        except AssertionError as e:
            raise AssertionError(f"{e}\n--- log tail ---\n{self.log_tail()}") from None

    def wait_greeting(self, timeout=15.0):
        """Waits until a connection gets the 220 greeting."""
        def greet():
            try:
                with RawSMTP(self.port, timeout=3.0) as c:
                    ok = c.greeting is not None and c.greeting.code == 220
                    c.send(b"QUIT\r\n")
                    return ok
            except (OSError, AssertionError):
                return False
        wait_until(greet, timeout, interval=0.2, what="the SMTP greeting")

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def children(self):
        if not self.running():
            return {}
        kids = proc_children(self.proc.pid)
        self.seen_pids.update(kids)
        return kids

    def role_pid(self, name):
        """Pid of the role `name` ("smtpd", "queue"): a child of the
        supervisor whose /proc/PID/comm is "ferry-NAME", or None."""
        for pid, comm in self.children().items():
            if comm == f"ferry-{name}":
                return pid
        return None

    def wait_role_pid(self, name, timeout=5.0, not_pid=None):
        return wait_until(
            lambda: (lambda p: p if p and p != not_pid else None)(self.role_pid(name)),
            timeout, what=f"role {name} (other than pid {not_pid})")

    def tree(self):
        if not self.running():
            return []
        t = proc_tree(self.proc.pid)
        self.seen_pids.update(t)
        return t

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=15.0):
        """SIGTERM to the supervisor and waits for it; returns its exit
        status.  Kills the tree with SIGKILL if it does not stop in time
        (and then fails)."""
        if not self.running():
            return self.proc.returncode if self.proc else None
        self.tree()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9_tree()
            raise AssertionError(f"ferry did not stop within {timeout}s of SIGTERM")
        self._close_log()
        return rc

    def kill9_tree(self):
        """SIGKILL the supervisor and every descendant, all at once as far
        as possible: stop the supervisor first so it cannot fork
        replacements, then kill everything found under it."""
        if not self.running():
            return
        sup = self.proc.pid
        try:
            os.kill(sup, signal.SIGSTOP)
        except ProcessLookupError:
            pass
        pids = self.tree()
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(10)
        wait_until(lambda: not any(proc_alive(p) for p in pids), 10,
                   what="killed processes to disappear")
        wait_until(lambda: not tcp_listening(self.port), 10,
                   what="the killed server's SMTP port to close")
        self._close_log()

    def restart(self, kill=False, timeout=15.0):
        if kill:
            self.kill9_tree()
        else:
            self.stop()
        self.proc = None
        return self.start(timeout=timeout)

    def _close_log(self):
        if self._logf:
            self._logf.close()
            self._logf = None

    def cleanup(self):
        """Teardown: stop if running, then SIGKILL any process of this
        server that is still around (only pids we saw as ours)."""
        try:
            if self.running():
                try:
                    self.stop()
                except AssertionError:
                    pass
        finally:
            for p in self.seen_pids:
                st = proc_stat(p)
                if st and st[0].startswith("ferry") and st[1] not in ("Z", "X"):
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            self._close_log()

    # -- command line

    def cli(self, *args, input=None, timeout=30.0, use_env=False):
        """Runs `ferry -c CONF ARGS...` (or with FERRY_CONF when use_env)
        and returns the CompletedProcess (text mode)."""
        env = self._env()
        if use_env:
            env["FERRY_CONF"] = str(self.conf_path)
            argv = [self.binary, *args]
        else:
            argv = [self.binary, "-c", str(self.conf_path), *args]
        return subprocess.run(argv, input=input, capture_output=True, text=True,
                              timeout=timeout, env=env)

    def cli_ok(self, *args, input=None):
        r = self.cli(*args, input=input)
        assert r.returncode == 0, (
            f"ferry {' '.join(args)} -> {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}")
        return r

    def add_domain(self, domain):
        return self.cli_ok("domain", "add", domain)

    def add_user(self, address, password=PASSWORD, quota=None):
        args = ["user", "add", address]
        if quota:
            args += ["--quota", quota]
        return self.cli_ok(*args, input=password + "\n")

    def add_alias(self, address, *targets):
        return self.cli_ok("alias", "add", address, ",".join(targets))

    def queue_json(self):
        r = self.cli_ok("queue", "list", "--json")
        return json.loads(r.stdout)

    def wait_queue_empty(self, timeout=10.0):
        """Waits until `queue list --json` is []: a message just delivered
        may still be listed for a moment while its entry is removed."""
        last = []

        def empty():
            last[:] = self.queue_json()
            return not last
        try:
            wait_until(empty, timeout, interval=0.1, what="the queue to be empty")
        except AssertionError as e:
            raise AssertionError(f"{e}; still queued: {last}") from None

    # -- logs

    def log_bytes(self):
        try:
            return self.log_path.read_bytes()
        except FileNotFoundError:
            return b""

    def log_text(self):
        return self.log_bytes().decode("utf-8", "replace")

    def log_tail(self, n=40):
        return "\n".join(self.log_text().splitlines()[-n:])

    def wait_log(self, regex, timeout=10.0, since=0):
        """Waits for a log line matching regex (from byte offset since);
        returns the re.Match."""
        rx = re.compile(regex, re.M)

        def find():
            return rx.search(self.log_bytes()[since:].decode("utf-8", "replace"))
        try:
            return wait_until(find, timeout, what=f"log line /{regex}/")
        except AssertionError as e:
            raise AssertionError(f"{e}\n--- log tail ---\n{self.log_tail()}") from None

    def log_offset(self):
        return len(self.log_bytes())

    # -- mailboxes

    def maildir(self, address):
        local, domain = address.rsplit("@", 1)
        return self.state_dir / "mail" / domain.lower() / local.lower()

    def maildir_files(self, address):
        md = self.maildir(address)
        files = []
        for sub in ("new", "cur"):
            d = md / sub
            if d.is_dir():
                files.extend(p for p in d.iterdir() if p.is_file())
        return sorted(files, key=maildir_order)

    def maildir_messages(self, address):
        """Delivered messages of address (new/ and cur/) as bytes."""
        out = []
        for p in self.maildir_files(address):
            try:
                out.append(p.read_bytes())
            except FileNotFoundError:
                pass
        return out

    def wait_delivered(self, address, count=1, timeout=10.0):
        """Waits until address has at least count messages; returns them."""
        try:
            wait_until(lambda: len(self.maildir_files(address)) >= count,
                       timeout, what=f"{count} message(s) for {address}")
        except AssertionError as e:
            raise AssertionError(
                f"{e}; have {len(self.maildir_files(address))}\n--- log tail ---\n"
                f"{self.log_tail()}") from None
        return self.maildir_messages(address)

    def barrier(self, timeout=10.0):
        """Sends one message to barrier@DOMAIN through SMTP, waits for its
        delivery, then waits until the queue has made its first attempt
        at everything it holds (no recipient pending with zero attempts,
        no failed one whose bounce is still to be queued; held messages
        aside): anything that would have been delivered or bounced before
        it has had its chance.  Local mail is delivered before its 250
        (direct_delivery), so the barrier message alone would not wait
        for the queue.  Used before asserting that nothing arrived."""
        addr = f"barrier@{DOMAIN}"
        if not getattr(self, "_barrier_user", False):
            self.add_user(addr)
            self._barrier_user = True
        n = len(self.maildir_files(addr))
        with self.smtp() as s:
            s.sendmail("sync@remote.example", [addr], make_message(subject="barrier", to=addr))
        self.wait_delivered(addr, n + 1, timeout)

        def settled():
            for m in self.queue_json():
                if m["held"]:
                    continue
                for r in m["recipients"]:
                    if r["state"] == "failed" or (
                            r["state"] == "pending" and r["attempts"] == 0):
                        return False
            return True
        wait_until(settled, timeout, interval=0.1,
                   what="the queue to attempt everything it holds")

    # -- clients

    def smtp(self, timeout=15.0, **kw):
        """smtplib.SMTP connected to this server (greeting read)."""
        return smtplib.SMTP(self.host, self.port, local_hostname="client.example",
                            timeout=timeout, **kw)

    def raw(self, greeting=True, timeout=10.0, **kw):
        return RawSMTP(self.port, self.host, timeout=timeout, greeting=greeting, **kw)


def setup_accounts(srv):
    srv.add_domain(DOMAIN)
    for u in USERS:
        srv.add_user(u)


@pytest.fixture
def make_ferry(tmp_path):
    """Factory: make_ferry(overrides=None, start=True, accounts=True).
    Every server it makes is cleaned up after the test."""
    servers = []

    def make(overrides=None, start=True, accounts=True, name=None):
        d = tmp_path / (name or f"ferry{len(servers)}")
        srv = FerryServer(d, overrides)
        servers.append(srv)
        if accounts:
            setup_accounts(srv)
        if start:
            srv.start()
        return srv

    yield make
    for s in servers:
        s.cleanup()


@pytest.fixture
def ferry(request, make_ferry):
    """A started server with example.test, alice@ and bob@.  Config
    overrides come from @pytest.mark.ferry_conf(key=value, ...)."""
    overrides = {}
    for m in request.node.iter_markers("ferry_conf"):
        for k, v in m.kwargs.items():
            overrides.setdefault(k, v)
    return make_ferry(overrides)


@pytest.fixture
def smtp(ferry):
    """smtplib.SMTP connected to the `ferry` server."""
    s = ferry.smtp()
    yield s
    try:
        s.close()
    except Exception:
        pass
