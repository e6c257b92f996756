#!/usr/bin/python3
"""Crash loop under load (issue 17): kill the whole `ferry serve` process
tree with SIGKILL at random moments while clients submit at full speed,
restart it each time, and prove that nothing acknowledged is lost.

Clients (threads) send on the SMTP port (relay allowed from 127.0.0.0/8)
and on the submission port (AUTH PLAIN), to local mailboxes (direct
delivery, or the queue for mixed messages), to a remote domain whose MX
is a fake peer (tests/integration/fakemx.py) and to both at once.  Each
message carries a unique Message-ID and ends with a marker line, so a
torn copy is seen.  After the last restart the queue drains, then:

- every message answered 250 is in each local recipient's Maildir
  exactly once, and at the fake MX at least once per remote recipient;
- every Maildir file is whole (ends with its marker), no envelope was
  quarantined in spool/corrupt/, the queue is empty.

    tests/stress/crashloop.py [--kills 100] [--seed N] [--threads 6]
                              [--up-min 0.2] [--up-max 1.5] [--keep]

Prints a summary (and a Markdown table row with --markdown); exit status
0 when nothing was lost, duplicated locally or corrupt, else 1.
FERRY_BIN selects the binary (default build/ferry).  Root is not needed.
"""

import argparse
import base64
import os
import random
import re
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))

from conftest import (PASSWORD, RawSMTP, FerryServer, dot_stuff,  # noqa: E402
                      free_port, setup_accounts, tcp_listening, wait_until)
from fakedns import FakeDNS  # noqa: E402
from fakemx import FakeMX, free_port_on  # noqa: E402

LOCAL = ("alice@example.test", "bob@example.test")
REMOTE = ("carol@remote.test", "dave@remote.test")
MARK = "crashloop-end"
MSGID_RE = re.compile(rb"^Message-ID:\s*(<[^>\r\n]+>)", re.M | re.I)


class Clients:
    """Threads sending at full speed; records what got 250."""

    def __init__(self, srv, sub_port, threads, seed):
        self.srv, self.sub_port = srv, sub_port
        self.accepted = []      # (msgid, rcpts)
        self.sent = 0
        self.refused = 0
        self.codes = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(i, seed + i),
                                         daemon=True) for i in range(threads)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(30)

    @staticmethod
    def rcpts(rng):
        kind = rng.random()
        if kind < 0.45:
            return [rng.choice(LOCAL)]
        if kind < 0.8:
            return [rng.choice(REMOTE)]
        return [rng.choice(LOCAL), rng.choice(REMOTE)]

    def session(self, n, rng, seq):
        submission = n % 2 == 1
        port = self.sub_port if submission else self.srv.port
        with RawSMTP(port, timeout=10) as c:
            c.ehlo()
            if submission:
                tok = base64.b64encode(f"\0{LOCAL[0]}\0{PASSWORD}".encode())
                if c.cmd("AUTH PLAIN " + tok.decode()).code != 235:
                    return seq
            sender = LOCAL[0] if submission else "someone@elsewhere.test"
            for _ in range(rng.randint(1, 20)):
                if self.stop.is_set():
                    return seq
                seq += 1
                msgid = f"<c{n}-{seq}-{os.urandom(4).hex()}@crashloop.test>"
                rcpts = self.rcpts(rng)
                body = "\r\n".join("x" * 76 for _ in
                                     range(rng.randint(1, 40)))
                data = (f"From: <{sender}>\r\nTo: <{rcpts[0]}>\r\n"
                        f"Subject: crash loop {n} {seq}\r\n"
                        f"Message-ID: {msgid}\r\n\r\n{body}\r\n"
                        f"{MARK} {msgid}\r\n").encode()
                if c.cmd(f"MAIL FROM:<{sender}>").code != 250:
                    return seq
                for r in rcpts:
                    if c.cmd(f"RCPT TO:<{r}>").code != 250:
                        return seq
                if c.cmd("DATA").code != 354:
                    return seq
                c.send(dot_stuff(data) + b".\r\n")
                with self.lock:
                    self.sent += 1
                r = c.reply()
                if r is None:
                    return seq
                if r.code == 250:
                    with self.lock:
                        self.accepted.append((msgid, tuple(rcpts)))
                else:
                    with self.lock:
                        self.refused += 1
                        self.codes[r.text[:40]] = self.codes.get(r.text[:40], 0) + 1
            c.send(b"QUIT\r\n")
        return seq

    def run(self, n, seed):
        rng = random.Random(seed)
        seq = 0
        while not self.stop.is_set():
            try:
                seq = self.session(n, rng, seq)
            except (OSError, AssertionError, ValueError):
                time.sleep(0.02)    # killed under us: try again


def maildir_files(md):
    for sub in ("new", "cur"):
        d = md / sub
        if d.is_dir():
            yield from (p for p in d.iterdir() if p.is_file())


def check(srv, mx, accepted):
    """Counts per category; problems listed."""
    problems = []
    local_seen = {}         # (msgid, rcpt) -> copies
    corrupt_maildir = 0
    for rcpt in LOCAL:
        for p in maildir_files(srv.maildir(rcpt)):
            data = p.read_bytes()
            m = MSGID_RE.search(data)
            if not m or not data.endswith(f"{MARK} {m.group(1).decode()}\r\n"
                                          .encode()):
                corrupt_maildir += 1
                problems.append(f"torn Maildir file {p}")
                continue
            key = (m.group(1).decode(), rcpt)
            local_seen[key] = local_seen.get(key, 0) + 1
    remote_seen = {}
    for msg in list(mx.messages):
        m = MSGID_RE.search(msg.data)
        if not m:
            problems.append("remote copy without Message-ID")
            continue
        for r in msg.rcpt_tos:
            key = (m.group(1).decode(), r.lower())
            remote_seen[key] = remote_seen.get(key, 0) + 1
    lost_local = dup_local = lost_remote = dup_remote = 0
    n_local = n_remote = 0
    for msgid, rcpts in accepted:
        for r in rcpts:
            if r in LOCAL:
                n_local += 1
                c = local_seen.get((msgid, r), 0)
                if c == 0:
                    lost_local += 1
                    problems.append(f"lost local {msgid} {r}")
                elif c > 1:
                    dup_local += 1
                    problems.append(f"duplicate local {msgid} {r} x{c}")
            else:
                n_remote += 1
                c = remote_seen.get((msgid, r), 0)
                if c == 0:
                    lost_remote += 1
                    problems.append(f"lost remote {msgid} {r}")
                elif c > 1:
                    dup_remote += 1
    corrupt_dir = srv.state_dir / "spool" / "corrupt"
    quarantined = len(list(corrupt_dir.iterdir())) if corrupt_dir.is_dir() else 0
    if quarantined:
        problems.append(f"{quarantined} files in spool/corrupt")
    left = len(list((srv.state_dir / "spool" / "queue").rglob("*.env")))
    if left:
        problems.append(f"{left} envelopes still queued")
    return {
        "accepted": len(accepted), "local_deliveries": n_local,
        "remote_deliveries": n_remote, "lost_local": lost_local,
        "duplicate_local": dup_local, "lost_remote": lost_remote,
        "duplicate_remote": dup_remote, "torn_maildir_files": corrupt_maildir,
        "quarantined": quarantined, "left_in_queue": left,
    }, problems


def run(kills=100, seed=None, threads=6, up_min=0.2, up_max=1.5,
        workdir=None, log=print, binary=None):
    seed = random.randrange(1 << 30) if seed is None else seed
    rng = random.Random(seed)
    own = workdir is None
    workdir = Path(workdir or tempfile.mkdtemp(prefix="ferry-crashloop-"))
    dns = FakeDNS()
    dns.start()
    port = free_port_on(["127.0.0.2", "127.0.0.1"])
    dns.add("remote.test", "MX", "10 mx.remote.test")
    dns.add("mx.remote.test", "A", "127.0.0.2")
    mx = FakeMX("127.0.0.2", port).start()
    sub_port = free_port()
    conf = {
        "submission_listen": f"127.0.0.1:{sub_port}",
        "auth_plaintext_networks": "127.0.0.0/8",
        "relay_networks": "127.0.0.0/8",
        "dns_resolvers": dns.address,
        "remote_smtp_port": str(port),
        "retry_min": "1s", "retry_max": "2s",
        "host_down_memory": "1s",
        "log_level": "info",
        "max_connections_per_ip": "1000",
        # One account submits hundreds of messages a minute here: the
        # outbound abuse control (issue 13) would stop it, by design.
        "send_limit_messages_per_hour": "0",
        "send_limit_recipients_per_day": "0",
        "send_stop_factor": "0",
    }
    kw = {"binary": binary} if binary else {}
    srv = FerryServer(workdir / "ferry", conf, **kw)
    setup_accounts(srv)
    srv.start()
    wait_until(lambda: tcp_listening(sub_port), 15, what="submission port")
    clients = Clients(srv, sub_port, threads, seed).start()
    t0 = time.monotonic()
    restarts = 0
    try:
        for i in range(kills):
            time.sleep(rng.uniform(up_min, up_max))
            srv.kill9_tree()
            srv.start()
            restarts += 1
            if (i + 1) % 10 == 0:
                log(f"crashloop: {i + 1}/{kills} kills, "
                    f"{len(clients.accepted)} accepted")
        time.sleep(rng.uniform(up_min, up_max))
    finally:
        clients.finish()
    elapsed = time.monotonic() - t0
    try:
        wait_until(lambda: srv.queue_json() == [], 180, interval=0.5,
                   what="the queue to drain")
    except AssertionError as e:
        log(f"crashloop: {e}")
    # Remote copies still in flight at the fake MX settle.
    time.sleep(0.5)
    counts, problems = check(srv, mx, clients.accepted)
    counts.update({"kills": restarts, "seed": seed, "sent": clients.sent,
                   "refused": clients.refused, "seconds": round(elapsed),
                   "codes": dict(clients.codes)})
    srv.stop()
    mx.stop()
    dns.stop()
    if own and not problems:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        counts["workdir"] = str(workdir)
    return counts, problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=100)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--threads", type=int, default=6)
    ap.add_argument("--up-min", type=float, default=0.2)
    ap.add_argument("--up-max", type=float, default=1.5)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    counts, problems = run(args.kills, args.seed, args.threads, args.up_min,
                           args.up_max)
    for k, v in counts.items():
        print(f"{k:20} {v}")
    print("refusals", counts.get("codes"))
    for p in problems[:50]:
        print("PROBLEM", p)
    if args.markdown:
        print(f"| {counts['kills']} | {counts['seconds']} | {counts['sent']} "
              f"| {counts['accepted']} | {counts['local_deliveries']} | "
              f"{counts['remote_deliveries']} | {counts['lost_local']} | "
              f"{counts['duplicate_local']} | {counts['lost_remote']} | "
              f"{counts['duplicate_remote']} | {counts['torn_maildir_files']} "
              f"| {counts['quarantined']} | {counts['seed']} |")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
