#!/usr/bin/python3
"""Slow and hostile peers, measured by hand (issue 17): for SMTP,
submission, POP3 and IMAP, the memory that idle connections cost, and how
long a one-octet-a-second client and a client that never reads its
replies keep their connection, while a normal client is served.

    tests/stress/hostile.py [--idle 2000] [--timeout 5]

Starts its own server (FERRY_BIN, default build/ferry) with every
protocol's timeout set to --timeout seconds, and prints a Markdown table:

    protocol | idle conns | role RSS growth | per conn | slowloris cut
    after | non-reader: octets sent before it stopped being read | role
    RSS growth | cut after | normal client served meanwhile

Timings here are measurements, not assertions: the integration test
tests/integration/test_hostile_peers.py checks the behaviour.
"""

import argparse
import base64
import os
import resource
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "integration"))

from conftest import (PASSWORD, FerryServer, free_port, setup_accounts,  # noqa: E402
                      tcp_listening, wait_until)

ALICE, BOB = "alice@example.test", "bob@example.test"
COMMAND = {"smtp": b"NOOP\r\n", "submission": b"NOOP\r\n",
           "pop3": b"NOOP\r\n", "imap": b"n NOOP\r\n"}
ROLE = {"smtp": "smtpd", "submission": "smtpd", "pop3": "mailbox",
        "imap": "mailbox"}


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def recv_line(s, buf=b""):
    while b"\n" not in buf:
        d = s.recv(4096)
        if not d:
            raise EOFError
        buf += d
    line, _, rest = buf.partition(b"\n")
    return line, rest


def session(port, proto, user=ALICE):
    """A logged-in session (SMTP: after EHLO), blocking socket."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    line, rest = recv_line(s)
    if proto in ("smtp", "submission"):
        s.sendall(b"EHLO hostile.example\r\n")
        while True:
            line, rest = recv_line(s, rest)
            if line.startswith(b"250 "):
                break
        if proto == "submission":
            tok = base64.b64encode(f"\0{user}\0{PASSWORD}".encode())
            s.sendall(b"AUTH PLAIN " + tok + b"\r\n")
            line, rest = recv_line(s, rest)
    elif proto == "pop3":
        s.sendall(f"USER {user}\r\nPASS {PASSWORD}\r\n".encode())
        line, rest = recv_line(s, rest)
        line, rest = recv_line(s, rest)
    else:
        s.sendall(f"a LOGIN {user} {PASSWORD}\r\n".encode())
        while not line.startswith(b"a "):
            line, rest = recv_line(s, rest)
    return s


def served(port, proto):
    s = session(port, proto, BOB)
    s.sendall(COMMAND[proto])
    line, _ = recv_line(s)
    s.close()
    return not line.startswith((b"421", b"-ERR", b"* BYE"))


def wait_gone(s, limit=600):
    """Seconds until the server closes s (reading everything)."""
    t0 = time.monotonic()
    s.settimeout(1)
    while time.monotonic() - t0 < limit:
        try:
            if not s.recv(65536):
                break
        except socket.timeout:
            continue
        except ConnectionResetError:
            break
    return time.monotonic() - t0


def idle(srv, port, proto, n):
    role = srv.role_pid(ROLE[proto])
    before = rss_kb(role)
    conns = []
    for _ in range(n):
        try:
            conns.append(socket.create_connection(("127.0.0.1", port), 10))
        except OSError:
            break
    # Every greeting sent: the sessions exist.
    for c in conns:
        c.settimeout(10)
        try:
            c.recv(512)
        except OSError:
            pass
    grown = rss_kb(role) - before
    ok = served(port, proto)
    for c in conns:
        c.close()
    return len(conns), grown, ok


def slowloris(port, proto):
    s = session(port, proto)
    t0 = time.monotonic()
    data = COMMAND[proto][:-2] + b"x" * 100000
    s.settimeout(1)
    for ch in data:
        try:
            s.sendall(bytes([ch]))
            if s.recv(4096) == b"":
                break
        except socket.timeout:
            continue
        except (BrokenPipeError, ConnectionResetError):
            break
    return time.monotonic() - t0


def non_reader(srv, port, proto):
    role = srv.role_pid(ROLE[proto])
    s = session(port, proto)
    before = rss_kb(role)
    since = srv.log_offset()
    s.setblocking(False)
    chunk = COMMAND[proto] * 10000
    sent, stalls = 0, 0
    t0 = time.monotonic()
    while stalls < 40:
        try:
            sent += s.send(chunk)
            stalls = 0
        except BlockingIOError:
            stalls += 1
            time.sleep(0.05)
        except OSError:
            break
    grown = rss_kb(role) - before
    ok = served(port, proto)
    # Not read: how long until the server gives up on it.
    wait_until(lambda: b"timeout" in srv.log_bytes()[since:], 600,
               interval=0.5, what="the non-reader's timeout")
    cut = time.monotonic() - t0
    s.setblocking(True)
    wait_gone(s, 60)
    return sent, grown, cut, ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--idle", type=int, default=2000)
    ap.add_argument("--timeout", type=int, default=5)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    ports = {k: free_port() for k in ("submission", "pop3", "imap")}
    t = f"{args.timeout}s"
    srv = FerryServer(tempfile.mkdtemp(prefix="ferry-hostile-"), {
        "submission_listen": f"127.0.0.1:{ports['submission']}",
        "pop3_listen": f"127.0.0.1:{ports['pop3']}",
        "imap_listen": f"127.0.0.1:{ports['imap']}",
        "auth_plaintext_networks": "127.0.0.0/8",
        "smtp_timeout": t, "smtp_data_timeout": t, "pop3_timeout": t,
        "imap_timeout": t, "log_level": "info",
        "max_connections": str(args.idle * 2 + 100),
        "max_connections_per_ip": str(args.idle * 2 + 100),
        "imap_max_user_sessions": "100000",
    })
    setup_accounts(srv)
    srv.start()
    for p in ports.values():
        wait_until(lambda p=p: tcp_listening(p), 10, what="listener")
    ports["smtp"] = srv.port
    print(f"timeouts {t}; {args.idle} idle connections per protocol\n")
    print("| protocol | idle conns | RSS growth | per conn | served | "
          "slowloris cut after | non-reader: sent before stopped "
          "| RSS growth | cut after | served |")
    print("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |")
    for proto in ("smtp", "submission", "pop3", "imap"):
        port = ports[proto]
        n, grown, ok1 = idle(srv, port, proto, args.idle)
        time.sleep(args.timeout + 2)    # the idle ones time out
        slow = slowloris(port, proto)
        sent, grown2, cut, ok2 = non_reader(srv, port, proto)
        print(f"| {proto} | {n} | {grown} KiB | {grown * 1024 // max(n, 1)} B "
              f"| {'yes' if ok1 else 'NO'} | {slow:.1f} s | {sent // 1024} KiB "
              f"| {grown2} KiB | {cut:.1f} s | {'yes' if ok2 else 'NO'} |",
              flush=True)
    srv.stop()


if __name__ == "__main__":
    main()
