"""Slow and hostile peers (issue 17), on SMTP, submission, POP3 and IMAP:

- a client that trickles a command one octet at a time is cut off (the
  idle timeout alone never fires: every octet resets it);
- a client that trickles DATA in short complete lines is cut off by the
  minimum data rate;
- a client that never reads its replies stops being read (the output
  backlog is bounded), costs bounded memory, is cut off in the end, and
  others are served meanwhile.

Nothing here asserts how long anything took: the waits are bounded
generously and the pauses between octets only keep the trickle slow.
docs/robustness.md has the by-hand measurements
(tests/stress/hostile.py).
"""

import base64
import socket
import time

import pytest

from conftest import (PASSWORD, RawSMTP, free_port, make_message, sanitized,
                      tcp_listening, wait_until)

ALICE = "alice@example.test"
TRICKLE = 0.25      # seconds between octets: slow, not a timing assertion


@pytest.fixture
def hostile(make_ferry):
    """A server with short timeouts on every protocol (2 s)."""
    ports = {k: free_port() for k in ("submission", "pop3", "imap")}
    srv = make_ferry({
        "submission_listen": f"127.0.0.1:{ports['submission']}",
        "pop3_listen": f"127.0.0.1:{ports['pop3']}",
        "imap_listen": f"127.0.0.1:{ports['imap']}",
        "auth_plaintext_networks": "127.0.0.0/8",
        "smtp_timeout": "2s", "smtp_data_timeout": "2s",
        "pop3_timeout": "2s", "imap_timeout": "2s",
    })
    for p in ports.values():
        wait_until(lambda p=p: tcp_listening(p), 10, what="listener")
    srv.ports = ports
    return srv


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Conn:
    """A raw client: lines in, and a reader that notices the close."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def read_until(self, pred, timeout=20):
        end = time.monotonic() + timeout
        while not pred(self.buf) and time.monotonic() < end:
            self.s.settimeout(max(0.05, end - time.monotonic()))
            try:
                d = self.s.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                return None
            if not d:
                return None     # closed
            self.buf += d
        return self.buf

    def line(self, timeout=10):
        b = self.read_until(lambda b: b"\n" in b, timeout)
        assert b is not None, "closed"
        line, _, self.buf = self.buf.partition(b"\n")
        return line.rstrip(b"\r")

    def send(self, data):
        self.s.sendall(data)

    def trickle(self, data, max_octets=400):
        """Sends data one octet at a time until the server closes; True
        when it did (before max_octets)."""
        for i, ch in enumerate(data[:max_octets]):
            try:
                self.s.sendall(bytes([ch]))
            except (BrokenPipeError, ConnectionResetError):
                return True
            self.s.settimeout(TRICKLE)
            try:
                d = self.s.recv(65536)
                if not d:
                    return True
                self.buf += d
            except socket.timeout:
                pass
            except ConnectionResetError:
                return True
        return False

    def wait_closed(self, timeout=20):
        return self.read_until(lambda b: False, timeout) is None

    def close(self):
        self.s.close()


def smtp_ready(port, auth=False):
    c = Conn(port)
    assert c.line().startswith(b"220")
    c.send(b"EHLO slow.example\r\n")
    while not c.line().startswith(b"250 "):
        pass
    if auth:
        tok = base64.b64encode(f"\0{ALICE}\0{PASSWORD}".encode())
        c.send(b"AUTH PLAIN " + tok + b"\r\n")
        assert c.line().startswith(b"235")
    return c


def pop3_ready(port, user=ALICE):
    c = Conn(port)
    assert c.line().startswith(b"+OK")
    c.send(f"USER {user}\r\n".encode())
    assert c.line().startswith(b"+OK")
    c.send(f"PASS {PASSWORD}\r\n".encode())
    assert c.line().startswith(b"+OK")
    return c


def imap_ready(port):
    c = Conn(port)
    assert c.line().startswith(b"* OK")
    c.send(f"a LOGIN {ALICE} {PASSWORD}\r\n".encode())
    while not c.line().startswith(b"a "):
        pass
    return c


def opened(srv, proto, other=False):
    if proto == "smtp":
        return smtp_ready(srv.port)
    if proto == "submission":
        return smtp_ready(srv.ports["submission"], auth=True)
    if proto == "pop3":
        # POP3 locks the mailbox: another session takes another user's
        return pop3_ready(srv.ports["pop3"],
                          "bob@example.test" if other else ALICE)
    return imap_ready(srv.ports["imap"])


COMMAND = {"smtp": b"NOOP\r\n", "submission": b"NOOP\r\n",
           "pop3": b"NOOP\r\n", "imap": b"n NOOP\r\n"}
GOODBYE = {"smtp": b"421 4.4.2", "submission": b"421 4.4.2",
           "pop3": b"-ERR", "imap": b"* BYE"}
ROLE = {"smtp": "smtpd", "submission": "smtpd", "pop3": "mailbox",
        "imap": "mailbox"}
PROTOS = ["smtp", "submission", "pop3", "imap"]


@pytest.mark.parametrize("proto", PROTOS)
def test_slowloris_command_is_cut_off(hostile, proto):
    c = opened(hostile, proto)
    # A command that never ends, an octet at a time: each resets the
    # idle timeout, the per-command limit ends it.
    assert c.trickle(COMMAND[proto][:-2] + b"x" * 1000), \
        "still connected after the whole trickle"
    assert GOODBYE[proto] in c.buf, c.buf
    c.close()
    # Served as usual meanwhile and after.
    d = opened(hostile, proto)
    d.send(COMMAND[proto])
    assert not d.line().startswith(GOODBYE[proto])
    d.close()


@pytest.mark.parametrize("proto", ["smtp", "submission"])
def test_slowloris_data_is_cut_off_and_nothing_delivered(hostile, proto):
    c = opened(hostile, proto)
    sender = ALICE if proto == "submission" else "x@remote.example"
    c.send(f"MAIL FROM:<{sender}>\r\nRCPT TO:<{ALICE}>\r\nDATA\r\n".encode())
    for want in (b"250", b"250", b"354"):
        assert c.line().startswith(want)
    # Whole short lines, slowly: only the minimum data rate ends it.
    assert c.trickle(b"Subject: slow\r\n\r\n" + b"a\r\n" * 300, 1000)
    assert b"421 4.4.2" in c.buf, c.buf
    hostile.barrier()
    assert hostile.maildir_messages(ALICE) == []


@pytest.mark.parametrize("proto", PROTOS)
def test_non_reading_client_is_bounded_and_others_are_served(hostile, proto):
    role = hostile.role_pid(ROLE[proto])
    c = opened(hostile, proto)
    before = rss_kb(role)
    # Commands as fast as the socket takes them, replies never read.
    c.s.setblocking(False)
    chunk = COMMAND[proto] * 10000
    sent, stalls = 0, 0
    while sent < 64 * 1024 * 1024 and stalls < 20:
        try:
            sent += c.s.send(chunk)
            stalls = 0
        except BlockingIOError:
            stalls += 1
            time.sleep(0.05)
        except (BrokenPipeError, ConnectionResetError):
            break
    # The server stopped reading long before 64 MB of commands ...
    assert sent < 64 * 1024 * 1024
    grown = rss_kb(role) - before
    # ... and holds a bounded backlog for it (replies to ~1 MB of
    # commands at most, plus the read buffer), nowhere near what was sent.
    assert grown < 16 * 1024 or sanitized(role), (grown, sent)
    # Another client is served meanwhile.
    d = opened(hostile, proto, other=True)
    d.send(COMMAND[proto])
    assert not d.line().startswith(GOODBYE[proto])
    d.close()
    if proto in ("smtp", "submission"):
        with RawSMTP(hostile.port) as m:
            r = m.send_message("x@remote.example", [ALICE],
                               make_message(subject="served"))
            assert r.code == 250, r
    # The non-reader is cut off in the end, its replies undelivered: the
    # server says so, and the socket ends however much is read of it.
    log_name = "smtp" if proto == "submission" else proto
    hostile.wait_log(rf"{log_name} timeout", timeout=30)
    c.s.setblocking(True)
    assert c.wait_closed(30), "the non-reading client is still connected"
    c.close()
