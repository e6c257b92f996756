"""Limits and hostile clients: quota, message size, recipients, line
lengths, error count, timeouts, connection limits, early talkers, NUL."""

import smtplib
import time

import pytest

from conftest import make_message, wait_until


def assert_nothing_queued(ferry):
    ferry.wait_queue_empty()


# ------------------------------------------------------------ quota

def test_over_quota_rejected_at_rcpt(ferry):
    ferry.add_user("dave@example.test", quota="100M")
    with ferry.smtp() as s:
        s.sendmail("x@remote.example", ["dave@example.test"],
                   make_message(body=("x" * 75 + "\r\n") * 40))
    ferry.wait_delivered("dave@example.test")
    assert (ferry.maildir("dave@example.test") / "maildirsize").is_file()
    ferry.cli_ok("user", "quota", "dave@example.test", "1K")
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example>", 250)
        r = c.cmd("RCPT TO:<dave@example.test>")
        assert r.code == 552 and r.enhanced == "5.2.2", r
        # Other recipients in the same transaction are unaffected.
        c.expect("RCPT TO:<bob@example.test>", 250)
    # Raising the quota again takes effect at once.
    ferry.cli_ok("user", "quota", "dave@example.test", "100M")
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example>", 250)
        c.expect("RCPT TO:<dave@example.test>", 250)


def test_maildirsize_tracks_deliveries(ferry):
    ferry.add_user("dave@example.test", quota="1M")
    with ferry.smtp() as s:
        for _ in range(2):
            s.sendmail("x@remote.example", ["dave@example.test"],
                       make_message(body=("y" * 75 + "\r\n") * 26))
    msgs = ferry.wait_delivered("dave@example.test", 2)
    text = (ferry.maildir("dave@example.test") / "maildirsize").read_text()
    lines = text.splitlines()
    assert lines[0].strip() in ("1048576S", "1048576S,0C") or lines[0].startswith("1048576S"), text
    total = sum(int(l.split()[0]) for l in lines[1:] if l.strip())
    count = sum(int(l.split()[1]) for l in lines[1:] if l.strip())
    assert count == 2, text
    assert total == sum(len(m) for m in msgs), (text, [len(m) for m in msgs])


# ------------------------------------------------------------ size

@pytest.mark.ferry_conf(message_size_limit="10K")
def test_size_parameter_over_limit_rejected_at_mail(ferry):
    with ferry.raw() as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<x@remote.example> SIZE=20000")
        assert r.code == 552 and r.enhanced == "5.3.4", r
        c.expect("MAIL FROM:<x@remote.example> SIZE=5000", 250)


@pytest.mark.ferry_conf(message_size_limit="10K")
def test_oversized_data_rejected_after_data(ferry):
    big = make_message(body=("z" * 78 + "\r\n") * 300)   # about 24 KB
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example>", 250)
        c.expect("RCPT TO:<alice@example.test>", 250)
        c.expect("DATA", 354)
        c.send(big + b".\r\n")
        r = c.reply()
        assert r.code == 552 and r.enhanced == "5.3.4", r
        # The session goes on; a small message still gets through.
        r = c.send_message("x@remote.example", ["bob@example.test"], make_message(), ehlo=False)
        assert r.code == 250, r
    ferry.wait_delivered("bob@example.test")
    ferry.barrier()
    assert ferry.maildir_messages("alice@example.test") == []
    assert_nothing_queued(ferry)


@pytest.mark.ferry_conf(message_size_limit="10K")
def test_size_parameter_lies(ferry):
    big = make_message(body=("z" * 78 + "\r\n") * 300)
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example> SIZE=100", 250)
        c.expect("RCPT TO:<alice@example.test>", 250)
        c.expect("DATA", 354)
        c.send(big + b".\r\n")
        r = c.reply()
        assert r.code == 552 and r.enhanced == "5.3.4", r
    ferry.barrier()
    assert ferry.maildir_messages("alice@example.test") == []


@pytest.mark.ferry_conf(message_size_limit="10K")
def test_oversized_bdat_rejected(ferry):
    big = make_message(body=("z" * 78 + "\r\n") * 300)
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example>", 250)
        c.expect("RCPT TO:<alice@example.test>", 250)
        c.send(b"BDAT %d LAST\r\n" % len(big) + big)
        r = c.reply()
        assert r.code == 552 and r.enhanced == "5.3.4", r
    ferry.barrier()
    assert ferry.maildir_messages("alice@example.test") == []


# ------------------------------------------------------------ recipients

@pytest.mark.ferry_conf(max_recipients=3)
def test_max_recipients(ferry):
    for u in ("carol", "dave"):
        ferry.add_user(f"{u}@example.test")
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example>", 250)
        for u in ("alice", "bob", "carol"):
            c.expect(f"RCPT TO:<{u}@example.test>", 250)
        r = c.cmd("RCPT TO:<dave@example.test>")
        assert r.code == 452 and r.enhanced == "4.5.3", r
        c.expect("DATA", 354)
        c.send(make_message() + b".\r\n")
        assert c.reply().code == 250
    for u in ("alice", "bob", "carol"):
        ferry.wait_delivered(f"{u}@example.test")
    ferry.barrier()
    assert ferry.maildir_messages("dave@example.test") == []


# ------------------------------------------------------------ line lengths

def test_command_line_limit_boundary(ferry):
    with ferry.raw() as c:
        c.ehlo()
        ok = b"NOOP " + b"x" * (512 - 2 - 5)          # 512 octets with CRLF
        assert len(ok) + 2 == 512
        r = c.cmd(ok)
        assert r.code == 250, r
        r = c.cmd(ok + b"x")                          # 513 octets
        assert r.code == 500 and r.enhanced == "5.5.2", r
        c.expect("NOOP", 250)


def test_very_long_command_line_one_reply_and_resync(ferry):
    with ferry.raw() as c:
        c.ehlo()
        c.send(b"MAIL FROM:<" + b"a" * 20000 + b"@remote.example>\r\nNOOP\r\n")
        r = c.reply()
        assert r.code == 500 and r.enhanced == "5.5.2", r
        r = c.reply()
        assert r.code == 250, r
        # No stray replies are left over from the long line.
        c.expect("RSET", 250)
        c.expect("MAIL FROM:<x@remote.example>", 250)


@pytest.mark.ferry_conf(smtp_max_line=1024)
def test_configured_command_line_limit(ferry):
    with ferry.raw() as c:
        c.ehlo()
        c.expect(b"NOOP " + b"x" * (1024 - 7), 250)
        r = c.cmd(b"NOOP " + b"x" * (1024 - 6))
        assert r.code == 500 and r.enhanced == "5.5.2", r


def test_text_line_limit(ferry):
    ok = make_message(subject="ok", body="a" * 998 + "\r\n")
    bad = make_message(subject="bad", body="b" * 999 + "\r\n")
    with ferry.raw() as c:
        r = c.send_message("x@remote.example", ["alice@example.test"], ok)
        assert r.code == 250, r
        r = c.send_message("x@remote.example", ["bob@example.test"], bad, ehlo=False)
        assert 550 <= r.code <= 554, r
        assert r.enhanced and r.enhanced.startswith("5."), r
        c.expect("NOOP", 250)
    ferry.wait_delivered("alice@example.test")
    ferry.barrier()
    assert ferry.maildir_messages("bob@example.test") == []
    assert_nothing_queued(ferry)


@pytest.mark.ferry_conf(smtp_max_text_line=2000)
def test_configured_text_line_limit(ferry):
    ok = make_message(body="a" * 1998 + "\r\n")
    bad = make_message(body="b" * 1999 + "\r\n")
    with ferry.raw() as c:
        r = c.send_message("x@remote.example", ["alice@example.test"], ok)
        assert r.code == 250, r
        r = c.send_message("x@remote.example", ["bob@example.test"], bad, ehlo=False)
        assert 550 <= r.code <= 554, r


# ------------------------------------------------------------ errors

@pytest.mark.ferry_conf(smtp_max_errors=3)
def test_too_many_errors_disconnects(ferry):
    with ferry.raw() as c:
        c.ehlo()
        got = []
        for i in range(6):
            try:
                c.send(b"BOGUS%d\r\n" % i)
            except OSError:
                break
            r = c.reply()
            if r is None:
                break
            got.append(r)
            if r.code == 421:
                break
        codes = [r.code for r in got]
        assert 421 in codes, got
        assert codes.index(421) <= 3, got
        assert c.wait_closed(5), "server did not close after 421"


def test_default_max_errors_is_ten(ferry):
    with ferry.raw() as c:
        c.ehlo()
        codes = []
        for i in range(12):
            try:
                c.send(b"BOGUS%d\r\n" % i)
            except OSError:
                break
            r = c.reply()
            if r is None:
                break
            codes.append(r.code)
            if r.code == 421:
                break
        assert codes[-1] == 421, codes
        assert 9 <= len(codes) - 1 <= 10, codes
        assert c.wait_closed(5)


# ------------------------------------------------------------ timeouts

@pytest.mark.ferry_conf(smtp_timeout="2s")
def test_idle_client_times_out(ferry):
    with ferry.raw() as c:
        c.ehlo()
        t0 = time.monotonic()
        r = c.reply(timeout=15)
        assert r is not None and r.code == 421 and r.enhanced == "4.4.2", r
        assert time.monotonic() - t0 >= 1.5
        assert c.wait_closed(5)


@pytest.mark.ferry_conf(smtp_data_timeout="2s", smtp_timeout="2s")
def test_stalled_data_times_out_and_nothing_is_delivered(ferry):
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example>", 250)
        c.expect("RCPT TO:<alice@example.test>", 250)
        c.expect("DATA", 354)
        c.send(b"Subject: stalled\r\n\r\npartial")
        r = c.reply(timeout=15)
        assert r is not None and r.code == 421 and r.enhanced == "4.4.2", r
        assert c.wait_closed(5)
    ferry.barrier()
    assert ferry.maildir_messages("alice@example.test") == []
    assert_nothing_queued(ferry)


# ------------------------------------------------------------ connections

def first_reply(ferry, source=None, timeout=5):
    c = ferry.raw(greeting=False, source=source, timeout=timeout)
    return c, c.reply(timeout)


@pytest.mark.ferry_conf(max_connections=2)
def test_max_connections(ferry):
    c1, c2 = ferry.raw(), ferry.raw()
    try:
        c3, r = first_reply(ferry)
        assert r is not None and r.code == 421 and r.enhanced == "4.7.0", r
        assert c3.wait_closed(5)
        c3.close()
        # A freed slot is usable again.
        c1.send(b"QUIT\r\n")
        assert c1.reply().code == 221
        c1.close()

        def slot():
            c, r = first_reply(ferry)
            c.close()
            return r is not None and r.code == 220
        wait_until(slot, 10, interval=0.2, what="a free connection slot")
    finally:
        c1.close()
        c2.close()


@pytest.mark.ferry_conf(max_connections=20, max_connections_per_ip=2)
def test_max_connections_per_ip(ferry):
    c1, c2 = ferry.raw(), ferry.raw()
    try:
        c3, r = first_reply(ferry)
        assert r is not None and r.code == 421 and r.enhanced == "4.7.0", r
        assert c3.wait_closed(5)
        c3.close()
        # Another address is not affected.
        c4, r = first_reply(ferry, source="127.0.0.2")
        c4.close()
        assert r is not None and r.code == 220, r
    finally:
        c1.close()
        c2.close()


@pytest.mark.ferry_conf(smtp_greeting_delay="1s")
def test_early_talker_rejected(ferry):
    c = ferry.raw(greeting=False)
    try:
        c.send(b"EHLO early.example\r\n")
        r = c.reply(timeout=10)
        assert r is not None and r.code == 554 and r.enhanced == "5.5.0", r
        assert c.wait_closed(5)
    finally:
        c.close()


@pytest.mark.ferry_conf(smtp_greeting_delay="1s")
def test_pipelined_after_greeting_is_fine(ferry):
    with ferry.raw() as c:
        c.send(b"EHLO client.example\r\nNOOP\r\n")
        assert c.reply().code == 250
        assert c.reply().code == 250


# ------------------------------------------------------------ NUL

@pytest.mark.parametrize("line", [
    b"NOOP\x00\r\n",
    b"MAIL FROM:<a\x00b@remote.example>\r\n",
    b"\x00EHLO x\r\n",
])
def test_nul_in_command(ferry, line):
    with ferry.raw() as c:
        c.ehlo()
        c.send(line)
        r = c.reply()
        assert r.code == 500 and r.enhanced == "5.5.2", r
        c.expect("NOOP", 250)


def test_nul_in_data_is_not_silently_truncated(ferry):
    msg = make_message(body="before\x00after\r\n")
    with ferry.raw() as c:
        r = c.send_message("x@remote.example", ["alice@example.test"], msg)
    if r.code == 250:
        (m,) = ferry.wait_delivered("alice@example.test")
        assert b"after" in m, m
    else:
        assert 500 <= r.code <= 554, r


# ------------------------------------------------------------ disk full

@pytest.fixture
def tiny_disk(tmp_path):
    """A 16 MB tmpfs (root only; skipped where mounting is not allowed)."""
    import os
    import subprocess
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small tmpfs")
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount tmpfs: {r.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def fill_disk(path):
    """Writes path until the filesystem is full."""
    import os
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1 << 20, 65536, 512, 1):
            buf = b"\0" * size
            try:
                while True:
                    os.write(fd, buf)
            except OSError:
                pass
    finally:
        os.close(fd)


def test_disk_full_gives_452_and_leaves_nothing(make_ferry, tiny_disk):
    srv = make_ferry(start=False, accounts=False)
    srv.state_dir = tiny_disk / "state"
    srv.set_conf(state_dir=str(srv.state_dir))
    from conftest import setup_accounts
    setup_accounts(srv)
    srv.start()
    with srv.smtp() as s:
        s.sendmail("x@remote.example", ["alice@example.test"], make_message(subject="fits"))
    srv.wait_delivered("alice@example.test")
    filler = tiny_disk / "filler"
    fill_disk(filler)
    big = make_message(subject="too big for the disk", body=("f" * 78 + "\r\n") * 3000)
    with srv.raw() as c:
        c.ehlo()
        # 452 may come at MAIL, RCPT or after DATA, depending on whether
        # the free-space watch (min_free_space) has seen the disk yet.
        r = c.cmd("MAIL FROM:<x@remote.example>")
        if r.code == 250:
            r = c.cmd("RCPT TO:<bob@example.test>")
        if r.code == 250:
            c.expect("DATA", 354)
            c.send(big + b".\r\n")
            r = c.reply()
        assert r.code == 452 and r.enhanced == "4.3.1", r
        c.expect("RSET", 250)
    tmp = srv.state_dir / "spool" / "tmp"
    wait_until(lambda: not any(tmp.iterdir()), 5, what="partial files removed from spool/tmp")
    assert srv.maildir_messages("bob@example.test") == []
    # With room again, mail flows.
    filler.unlink()
    # Until the free-space watch (once a second) has sampled the disk
    # again, smtpd may still count it as low and answer 452 (temporary):
    # a client retries, and so does this test, until the mail is taken.
    def send_when_room():
        try:
            with srv.smtp() as s:
                s.sendmail("x@remote.example", ["bob@example.test"], big)
            return True
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as e:
            if e.smtp_code != 452:
                raise
        except smtplib.SMTPRecipientsRefused as e:
            if any(code != 452 for code, _ in e.recipients.values()):
                raise
        return False
    wait_until(send_when_room, 15, interval=0.2,
               what="the mail taken once the disk has room again")
    srv.wait_delivered("bob@example.test")
