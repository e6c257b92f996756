"""A full disk (issue 17): the state directory is a small tmpfs that the
test mounts (root only; skipped elsewhere) and fills with a file.

- Below min_free_space, SMTP answers 452 4.3.1 at MAIL (never 250 for
  mail it could not store, never 5xx); submission still takes AUTH;
  POP3 and IMAP still log in and read; the queue holds back the local
  deliveries it cannot finish and says so once; when the file goes,
  everything resumes by itself and every message answered 250 is
  delivered.
- With min_free_space = 0 the disk really fills: ENOSPC in the middle of
  DATA is a 452 and the partial spool file is gone; a smaller message
  right after is accepted.
"""

import imaplib
import os
import poplib
import re
import signal
import smtplib
import subprocess

import pytest

from conftest import (PASSWORD, RawSMTP, dot_stuff, free_port, make_message, setup_accounts,
                      tcp_listening, wait_until)

ALICE = "alice@example.test"

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="mounting a tmpfs needs root")


def avail(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill_to(path, left):
    """Grows path/filler until about `left` octets stay available."""
    filler = os.path.join(path, "filler")
    with open(filler, "ab") as f:
        chunk = b"\0" * 65536
        while avail(path) > left + len(chunk):
            f.write(chunk)
            f.flush()
        rest = avail(path) - left
        if rest > 0:
            f.write(b"\0" * rest)
        f.flush()
        os.fsync(f.fileno())
    return filler


@pytest.fixture
def tmpfs_ferry(make_ferry, tmp_path):
    """make(size, **conf): a server whose state_dir is a tmpfs of `size`,
    with SMTP, submission, POP3 and IMAP (plaintext logins allowed)."""
    mounts = []
    servers = []

    def make(size, **conf):
        ports = {k: free_port() for k in ("submission", "pop3", "imap")}
        overrides = {
            "submission_listen": f"127.0.0.1:{ports['submission']}",
            "pop3_listen": f"127.0.0.1:{ports['pop3']}",
            "imap_listen": f"127.0.0.1:{ports['imap']}",
            "auth_plaintext_networks": "127.0.0.0/8",
        }
        overrides.update(conf)
        srv = make_ferry(overrides, start=False, accounts=False)
        srv.state_dir.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}",
                            "tmpfs", str(srv.state_dir)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs: {r.stderr.strip()}")
        mounts.append(srv.state_dir)
        servers.append(srv)
        setup_accounts(srv)
        srv.start()
        for p in ports.values():
            wait_until(lambda p=p: tcp_listening(p), 10, what="listener")
        srv.ports = ports
        return srv

    yield make
    for srv in servers:
        srv.stop()
    for m in mounts:
        subprocess.run(["umount", "-l", str(m)], capture_output=True)


def wait_seen(srv, role, since, below):
    """Waits for role's free-space watch to log a figure under `below`."""
    rx = re.compile(rf"{role} disk-check avail=(\d+)")

    def seen():
        text = srv.log_bytes()[since:].decode("utf-8", "replace")
        return any(int(m.group(1)) < below for m in rx.finditer(text))
    wait_until(seen, 10, what=f"{role} seeing the disk fill")


def send(srv, data, rcpt=ALICE):
    """One message over a fresh SMTP connection: the final Reply (the
    first non-250 reply of the transaction, or the one after DATA)."""
    with RawSMTP(srv.port) as c:
        c.ehlo()
        for line, want in (("MAIL FROM:<sender@remote.example>", 250),
                           (f"RCPT TO:<{rcpt}>", 250), ("DATA", 354)):
            r = c.cmd(line)
            if r.code != want:
                return r
        c.send(dot_stuff(data) + b".\r\n")
        r = c.reply()
        c.send(b"QUIT\r\n")
        return r


def body(n):
    line = b"x" * 76 + b"\r\n"
    return make_message(body=(line * (n // len(line) + 1)).decode())


def test_min_free_space_refuses_then_resumes(tmpfs_ferry):
    # direct_delivery = no: accepted mail goes through the queue, which
    # then has local deliveries to hold back.
    srv = tmpfs_ferry("32m", min_free_space="6M", direct_delivery="no")
    state = str(srv.state_dir)
    assert send(srv, make_message(subject="before")).code == 250
    srv.wait_delivered(ALICE, 1)

    since = srv.log_offset()
    fill_to(state, 9 * 1024 * 1024)
    # Both watches (smtpd and queue) have seen the disk fill.
    for role in ("smtpd", "queue"):
        wait_seen(srv, role, since, 10 * 1024 * 1024)
    accepted, refused, codes = 1, 0, []
    msg = body(200 * 1024)
    for _ in range(200):
        r = send(srv, msg)
        codes.append(r.code)
        if r.code == 250:
            accepted += 1
        else:
            assert r.code == 452 and r.enhanced == "4.3.1", r
            refused += 1
            if refused >= 3:
                break
    assert all(c in (250, 452) for c in codes), codes
    assert refused >= 3 and accepted > 1, codes
    srv.wait_log(r"smtpd disk-low")

    # Refused at MAIL already, on submission too (after AUTH, which
    # needs no space).
    with RawSMTP(srv.port) as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<a@remote.example>")
        assert r.code == 452 and r.enhanced == "4.3.1", r
    sub = smtplib.SMTP("127.0.0.1", srv.ports["submission"], timeout=10)
    sub.ehlo()
    sub.login(ALICE, PASSWORD)
    code, text = sub.mail(ALICE)
    assert code == 452 and b"4.3.1" in text, (code, text)
    sub.quit()

    # Reading mail needs no space.
    pop = poplib.POP3("127.0.0.1", srv.ports["pop3"], timeout=10)
    pop.user(ALICE)
    pop.pass_(PASSWORD)
    count, _ = pop.stat()
    assert count >= 1
    assert b"Subject: before" in b"\r\n".join(pop.retr(1)[1])
    pop.quit()
    imap = imaplib.IMAP4("127.0.0.1", srv.ports["imap"], timeout=10)
    imap.login(ALICE, PASSWORD)
    typ, data = imap.select("INBOX", readonly=True)
    assert typ == "OK" and int(data[0]) >= 1, (typ, data)
    typ, data = imap.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK" and b"before" in data[0][1], data
    # Saving a message over IMAP would go below min_free_space: refused
    # as a full disk (NO [OVERQUOTA], as Dovecot says it), nothing kept.
    before = len(srv.maildir_files(ALICE))
    typ, data = imap.append("INBOX", None, None, body(100 * 1024))
    assert typ == "NO" and b"[OVERQUOTA]" in data[0] and \
        b"disk space" in data[0], (typ, data)
    assert len(srv.maildir_files(ALICE)) == before
    imap.logout()

    # The queue held back what it could not deliver, and said so once.
    srv.wait_log(r"queue disk-low")
    os.unlink(os.path.join(state, "filler"))
    srv.wait_log(r"smtpd disk-ok")
    srv.wait_log(r"queue disk-ok")
    assert send(srv, make_message(subject="after")).code == 250
    accepted += 1
    # And IMAP saves again.
    imap = imaplib.IMAP4("127.0.0.1", srv.ports["imap"], timeout=10)
    imap.login(ALICE, PASSWORD)
    typ, data = imap.append("INBOX", None, None,
                            make_message(subject="appended"))
    assert typ == "OK" and b"APPENDUID" in data[0], (typ, data)
    imap.logout()
    accepted += 1
    # Every 250 is delivered, none twice.
    msgs = srv.wait_delivered(ALICE, accepted, timeout=30)
    assert len(msgs) == accepted, (len(msgs), accepted)
    srv.wait_queue_empty(timeout=30)
    log = srv.log_text()
    assert len(re.findall(r"queue disk-low", log)) == 1, log[-3000:]
    assert len(re.findall(r"smtpd disk-low", log)) == 1
    assert "mailbox write failed" not in log
    assert log.count("mailbox save-refused") == 1, log[-3000:]


@pytest.mark.parametrize("direct", ["yes", "no"])
def test_enospc_mid_data_is_452_and_leaves_nothing(tmpfs_ferry, direct):
    srv = tmpfs_ferry("16m", min_free_space="0", direct_delivery=direct)
    state = str(srv.state_dir)
    fill_to(state, 1024 * 1024)
    r = send(srv, body(3 * 1024 * 1024))
    assert r.code == 452 and r.enhanced == "4.3.1", r
    # Nothing of it is left: the spool holds no content, no Maildir
    # holds a partial copy.
    def used(sub):
        total = 0
        for root, _, files in os.walk(os.path.join(state, sub)):
            for f in files:
                try:
                    total += os.path.getsize(os.path.join(root, f))
                except FileNotFoundError:
                    pass
        return total
    wait_until(lambda: used("spool") == 0, 10, what="an empty spool")
    assert used("mail") < 64 * 1024, used("mail")
    # The space came back: a small message fits, and is delivered.
    r = send(srv, make_message(subject="small"))
    assert r.code == 250, r
    msgs = srv.wait_delivered(ALICE, 1, timeout=30)
    assert len(msgs) == 1 and b"Subject: small" in msgs[0]


def test_queue_holds_local_delivery_until_space_returns(tmpfs_ferry):
    # The queue is stopped while three messages are accepted into the
    # spool, then the disk is filled below their size: its deliveries
    # fail for want of space, wait (no attempt counted, one log line),
    # and go out by themselves once the filler is removed.
    srv = tmpfs_ferry("16m", min_free_space="0", direct_delivery="no")
    state = str(srv.state_dir)
    qpid = srv.role_pid("queue")
    os.kill(qpid, signal.SIGSTOP)
    try:
        for i in range(3):
            r = send(srv, body(300 * 1024))
            assert r.code == 250, r
        fill_to(state, 100 * 1024)
    finally:
        os.kill(qpid, signal.SIGCONT)
    srv.wait_log(r"queue disk-hold")
    assert srv.maildir_files(ALICE) == []
    os.unlink(os.path.join(state, "filler"))
    srv.wait_log(r"queue disk-release", timeout=20)
    msgs = srv.wait_delivered(ALICE, 3, timeout=20)
    assert len(msgs) == 3
    srv.wait_queue_empty(timeout=20)
    log = srv.log_text()
    assert log.count("queue disk-hold") == 1, log[-3000:]
    assert "mailbox write failed" not in log
    assert "deferred" not in log


def test_imap_append_on_a_full_disk_leaves_nothing(tmpfs_ferry):
    # min_free_space = 0: a message larger than what is left is refused
    # before anything is written (the literal's size is known); the
    # client gets NO [OVERQUOTA], nothing is in tmp/, cur/ or new/, the
    # session goes on, and a message that fits is saved.
    srv = tmpfs_ferry("16m", min_free_space="0")
    state = str(srv.state_dir)
    imap = imaplib.IMAP4("127.0.0.1", srv.ports["imap"], timeout=10)
    imap.login(ALICE, PASSWORD)
    typ, _ = imap.select("INBOX")
    assert typ == "OK"
    fill_to(state, 512 * 1024)
    typ, data = imap.append("INBOX", None, None, body(2 * 1024 * 1024))
    assert typ == "NO" and b"[OVERQUOTA]" in data[0] and \
        b"disk space" in data[0], (typ, data)
    md = srv.maildir(ALICE)
    for sub in ("tmp", "cur", "new"):
        left = [f for f in os.listdir(os.path.join(md, sub))
                if not f.startswith(".")]
        assert left == [], (sub, left)
    typ, data = imap.noop()
    assert typ == "OK"
    typ, data = imap.append("INBOX", None, None,
                            make_message(subject="fits"))
    assert typ == "OK", (typ, data)
    typ, data = imap.search(None, "ALL")
    assert data[0].split() == [b"1"], data
    imap.logout()
    assert "mailbox save-refused" in srv.log_text()
