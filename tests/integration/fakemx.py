"""Fake remote MX peers for the relay tests, on 127.0.0.2, 127.0.0.3, ...

Every fake of a test can listen on the same port at a different loopback
address, so one `remote_smtp_port` serves them all.

    from fakemx import FakeMX, Tarpit, make_cert, free_port_on

    mx = FakeMX("127.0.0.2", port).start()       # accepts everything
    mx = FakeMX(host, port, rcpt={"b@x.example": "550 5.1.1 no user"},
                data=["451 4.3.0 try later", None],  # 1st DATA 451, then ok
                pipelining=False, eightbit=True, smtputf8=True,  # EHLO
                size_limit=None,                   # SIZE advertised
                mail=None, greeting=None, delay=0.0,
                tls=(cert, key) or None,           # offer STARTTLS
                broken_tls=False,                  # 220 then never handshake
                auth={"user": "password"} or None) # AUTH PLAIN/LOGIN over TLS
    mx.messages            # [Received(mail_from, rcpt_tos, data, options)]
    mx.wait_messages(n, timeout)                   # bounded wait
    mx.connections         # sessions seen; mx.logins: users authenticated
    mx.stop()
    Tarpit(host, port).start()   # accepts TCP, never says a word
    SynDrop(host, port).start()  # silently drops SYNs (a blackholed host)
    Greeter(host, port, "421 4.7.0 go away").start()  # that greeting, close
    ChunkingMX(host, port).start()  # offers CHUNKING: BDAT only
    free_port_on(hosts)          # a port free on every given address

Helpers for the relay tests (import the fixtures into the test module):
    port, peers (fixtures), relay_conf(port, dns, **overrides),
    send(srv, rcpts, ...), mx_zone(dns, domain, [(pref, name, ip)]),
    dsn_for(srv, addr, count)

Scripted replies are full SMTP reply lines ("550 5.1.1 no such user").
A list of replies is consumed one per attempt; None in a list means the
normal answer.  Everything is bounded: stop() closes the listener and
cancels sessions.
"""

import asyncio
import socket
import ssl
import subprocess
import threading
import time
from collections import namedtuple

import pytest

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult

from conftest import free_port, make_message

Received = namedtuple("Received", "mail_from rcpt_tos data options peer")


def free_port_on(hosts):
    """A TCP port nothing listens on at any of hosts (tries a few)."""
    for _ in range(50):
        port = free_port(hosts[0])
        ok = True
        for h in hosts[1:]:
            with socket.socket() as s:
                try:
                    s.bind((h, port))
                except OSError:
                    ok = False
                    break
        if ok:
            return port
    raise RuntimeError("no common free port")


def make_cert(directory, cn="mx.fake.example"):
    """A self-signed certificate and key (PEM) in directory."""
    cert, key = f"{directory}/cert.pem", f"{directory}/key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-keyout", key, "-out", cert, "-days", "2", "-subj", f"/CN={cn}"],
        check=True, capture_output=True, timeout=60)
    return cert, key


def _take(script):
    """The next scripted reply: a str stays, a list is consumed."""
    if isinstance(script, list):
        return script.pop(0) if script else None
    return script


class _Handler:
    def __init__(self, mx):
        self.mx = mx

    async def handle_EHLO(self, server, session, envelope, hostname,
                          responses):
        session.host_name = hostname
        if self.mx.pipelining:
            responses.insert(-1, "250-PIPELINING")
        if not self.mx.eightbit:
            responses = [r for r in responses if "8BITMIME" not in r]
        return responses

    async def handle_MAIL(self, server, session, envelope, address, options):
        r = _take(self.mx.mail)
        if r and not r.startswith("2"):
            return r
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, server, session, envelope, address, options):
        r = _take(self.mx.rcpt.get(address.lower())) if self.mx.rcpt else None
        if r and not r.startswith("2"):
            return r
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        if self.mx.delay:
            await asyncio.sleep(self.mx.delay)
        r = _take(self.mx.data)
        if r and not r.startswith("2"):
            return r
        with self.mx.lock:
            self.mx.messages.append(Received(
                envelope.mail_from, list(envelope.rcpt_tos),
                bytes(envelope.original_content or envelope.content or b""),
                list(envelope.mail_options), session.peer))
        return "250 2.0.0 Ok: queued"


class _Session(SMTP):
    """aiosmtpd's SMTP with the fakes' extra behaviour."""

    def __init__(self, handler, mx, **kw):
        super().__init__(handler, **kw)
        self._mx = mx

    def _count(self):
        # Counted at the first EHLO/HELO, so the controller's readiness
        # probe (connect, read the greeting, close) is not a session.
        if not getattr(self, "_counted", False):
            self._counted = True
            with self._mx.lock:
                self._mx.connections += 1

    async def smtp_EHLO(self, arg):
        self._count()
        return await super().smtp_EHLO(arg)

    async def smtp_HELO(self, arg):
        self._count()
        return await super().smtp_HELO(arg)

    async def smtp_STARTTLS(self, arg):
        if not self._mx.broken_tls:
            return await super().smtp_STARTTLS(arg)
        await self.push("220 2.0.0 Ready to start TLS")
        # Never handshake: the client's TLS hello goes unanswered.
        await asyncio.sleep(30)


class _Controller(Controller):
    def __init__(self, mx, **kw):
        self._mx = mx
        super().__init__(_Handler(mx), **kw)

    def factory(self):
        return _Session(self.handler, self._mx, **self.SMTP_kwargs)


class FakeMX:
    def __init__(self, host, port, rcpt=None, mail=None, data=None,
                 delay=0.0, tls=None, broken_tls=False, auth=None,
                 hostname=None, size_limit=None, pipelining=False,
                 eightbit=True, smtputf8=True):
        self.host, self.port = host, port
        self.rcpt = {k.lower(): v for k, v in (rcpt or {}).items()}
        self.mail, self.data, self.delay = mail, data, delay
        self.tls, self.broken_tls, self.auth = tls, broken_tls, auth
        self.hostname = hostname or f"fake-{host}"
        self.size_limit = size_limit
        self.pipelining, self.eightbit = pipelining, eightbit
        self.smtputf8 = smtputf8
        self.messages, self.logins = [], []
        self.connections = 0
        self.lock = threading.Lock()
        self.controller = None

    def _authenticator(self, server, session, envelope, mechanism, data):
        user = data.login.decode() if isinstance(data.login, bytes) else data.login
        pw = data.password.decode() if isinstance(data.password, bytes) else data.password
        ok = self.auth.get(user) == pw
        if ok:
            with self.lock:
                self.logins.append(user)
        return AuthResult(success=ok)

    def start(self):
        kw = dict(hostname=self.host, port=self.port,
                  server_hostname=self.hostname,
                  enable_SMTPUTF8=self.smtputf8)
        if self.size_limit:
            kw["data_size_limit"] = self.size_limit
        if self.tls or self.broken_tls:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            if self.tls:
                ctx.load_cert_chain(*self.tls)
            kw["tls_context"] = ctx
        if self.auth is not None:
            kw["authenticator"] = self._authenticator
            kw["auth_require_tls"] = True
        self.controller = _Controller(self, **kw)
        self.controller.start()
        return self

    def stop(self):
        if self.controller is not None:
            try:
                self.controller.stop()
            except Exception:
                pass
            self.controller = None

    def wait_messages(self, n=1, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= n:
                    return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(
            f"{self.host}: {len(self.messages)} of {n} message(s) "
            f"within {timeout}s")

    def rcpts(self):
        with self.lock:
            return [r for m in self.messages for r in m.rcpt_tos]


class ChunkingMX:
    """A minimal peer that offers CHUNKING (RFC 3030), which aiosmtpd
    lacks: EHLO, MAIL, RCPT, BDAT n [LAST], RSET, QUIT.  DATA is refused,
    so a client must use BDAT.  Records messages like FakeMX."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.messages, self.lock = [], threading.Lock()
        self._stop = threading.Event()
        self._sock = None

    def start(self):
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((self.host, self.port))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self):
        while not self._stop.is_set():
            try:
                c, _ = self._sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(c,),
                             daemon=True).start()

    def _serve(self, c):
        c.settimeout(10)
        f = c.makefile("rb")
        c.sendall(b"220 chunky ESMTP\r\n")
        mail, rcpts, data = None, [], b""
        try:
            for line in f:
                cmd = line.rstrip(b"\r\n").decode("latin-1")
                verb = cmd.split(" ", 1)[0].upper()
                if verb == "EHLO":
                    c.sendall(b"250-chunky\r\n250-PIPELINING\r\n"
                              b"250-8BITMIME\r\n250 CHUNKING\r\n")
                elif verb == "MAIL":
                    mail, rcpts, data = cmd[10:].split(">")[0].lstrip("<"), [], b""
                    c.sendall(b"250 2.1.0 Ok\r\n")
                elif verb == "RCPT":
                    rcpts.append(cmd[8:].split(">")[0].lstrip("<"))
                    c.sendall(b"250 2.1.5 Ok\r\n")
                elif verb == "BDAT":
                    parts = cmd.split()
                    data += f.read(int(parts[1]))
                    if len(parts) > 2 and parts[2].upper() == "LAST":
                        with self.lock:
                            self.messages.append(Received(
                                mail, rcpts, data, [], None))
                    c.sendall(b"250 2.0.0 Ok\r\n")
                elif verb == "RSET":
                    c.sendall(b"250 2.0.0 Ok\r\n")
                elif verb == "QUIT":
                    c.sendall(b"221 2.0.0 Bye\r\n")
                    break
                else:
                    c.sendall(b"502 5.5.1 Not here\r\n")
        except OSError:
            pass
        finally:
            c.close()

    def wait_messages(self, n=1, timeout=15.0):
        return FakeMX.wait_messages(self, n, timeout)

    def stop(self):
        self._stop.set()
        if self._sock:
            self._sock.close()


class Tarpit:
    """Accepts TCP connections and never speaks; holds them open."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.conns = []
        self._sock = None
        self._stop = threading.Event()
        self._thread = None

    def start(self):
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((self.host, self.port))
        self._sock.listen(128)
        self._sock.settimeout(0.2)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            try:
                c, _ = self._sock.accept()
                self.conns.append(c)
            except OSError:
                continue

    @property
    def accepted(self):
        return len(self.conns)

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(5)
        for c in self.conns:
            c.close()
        if self._sock:
            self._sock.close()


class SynDrop:
    """A host that silently drops SYNs, as a blocked provider's addresses
    do: a listener with a backlog of 0 that never accepts, its accept
    queue filled by our own connections, so the kernel drops every later
    SYN (no RST, no reply: the client waits for its connect timeout).
    No root and no packet filter needed."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self._sock = None
        self._fill = []

    def start(self):
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((self.host, self.port))
        self._sock.listen(0)
        for _ in range(3):
            c = socket.socket()
            c.setblocking(False)
            try:
                c.connect((self.host, self.port))
            except BlockingIOError:
                pass
            self._fill.append(c)
        # Bounded check that the queue is full: a probe connect times out.
        deadline = time.monotonic() + 10
        while True:
            t = socket.socket()
            t.settimeout(0.3)
            try:
                t.connect((self.host, self.port))
            except (socket.timeout, TimeoutError):
                t.close()
                break
            except OSError:
                t.close()
            else:
                self._fill.append(t)
            if time.monotonic() > deadline:
                raise RuntimeError("SynDrop: accept queue never filled")
        return self

    def stop(self):
        for c in self._fill:
            c.close()
        if self._sock:
            self._sock.close()


class Greeter:
    """Accepts TCP connections, sends one fixed greeting line, reads
    until the client closes (or QUIT), then closes."""

    def __init__(self, host, port, line):
        self.host, self.port, self.line = host, port, line
        self.accepted = 0
        self._sock = None
        self._stop = threading.Event()
        self._thread = None

    def start(self):
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((self.host, self.port))
        self._sock.listen(128)
        self._sock.settimeout(0.2)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            try:
                c, _ = self._sock.accept()
            except OSError:
                continue
            self.accepted += 1
            try:
                c.settimeout(5)
                c.sendall(self.line.encode() + b"\r\n")
                c.recv(1024)
            except OSError:
                pass
            c.close()

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(5)
        if self._sock:
            self._sock.close()


# ---------------------------------------------------- relay test helpers

MX_HOSTS = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5",
            "127.0.0.6", "127.0.0.7"]
SENDER = "alice@example.test"


def reach_file(srv):
    """The server's reachability memory file ("" before it exists)."""
    try:
        return (srv.state_dir / "reachability").read_text()
    except FileNotFoundError:
        return ""


def since(srv, off):
    """The server's log from byte offset off."""
    return srv.log_text().encode()[off:].decode("utf-8", "replace")


@pytest.fixture
def port():
    return free_port_on(MX_HOSTS + ["127.0.0.1"])


@pytest.fixture
def peers():
    """Registry of fake peers, all stopped at teardown."""
    started = []

    class Peers:
        def mx(self, host, port, **kw):
            p = FakeMX(host, port, **kw).start()
            started.append(p)
            return p

        def chunking(self, host, port):
            p = ChunkingMX(host, port).start()
            started.append(p)
            return p

        def tarpit(self, host, port):
            p = Tarpit(host, port).start()
            started.append(p)
            return p

        def syndrop(self, host, port):
            p = SynDrop(host, port).start()
            started.append(p)
            return p

        def greeter(self, host, port, line):
            p = Greeter(host, port, line).start()
            started.append(p)
            return p

    yield Peers()
    for p in started:
        p.stop()


def relay_conf(port, dns=None, **kw):
    c = {
        "relay_networks": "127.0.0.0/8",
        "remote_smtp_port": str(port),
        "timeout_connect": "2s",
        "timeout_helo": "3s",
        "timeout_tls": "2s",
        "timeout_mail": "5s",
        "timeout_rcpt": "5s",
        "timeout_data_init": "5s",
        "timeout_data_block": "5s",
        "timeout_data_done": "5s",
        "retry_min": "1s",
        "retry_max": "2s",
        "host_down_memory": "1s",
        "delay_warning": "0",
        # No smarthost unless the test sets one (a base config may).
        "route": None,
    }
    if dns is not None:
        c["dns_resolvers"] = dns.address
    c.update({k: str(v) for k, v in kw.items()})
    return c


def send(srv, rcpts, sender=SENDER, subject=None, body="Hello there.\r\n"):
    if isinstance(rcpts, str):
        rcpts = [rcpts]
    msg = make_message(subject=subject, sender=sender, to=rcpts[0], body=body)
    with srv.smtp() as s:
        s.sendmail(sender, rcpts, msg)
    return msg


def mx_zone(dns, domain, hosts):
    """hosts: [(pref, name, ip)]"""
    for pref, name, ip in hosts:
        dns.add(domain, "MX", f"{pref} {name}")
        if ip:
            dns.add(name, "A", ip)


def dsn_for(srv, addr=SENDER, count=1, timeout=15):
    msgs = srv.wait_delivered(addr, count, timeout)
    return [m for m in msgs if b"multipart/report" in m]
