"""Signals: SIGTERM/SIGINT stop cleanly (421 4.3.2 to open sessions, no
process left behind), SIGHUP and `ferry reload` reread the config."""

import signal
import subprocess

import pytest

from conftest import make_message, proc_alive, wait_until


def stop_and_check(ferry, sig=signal.SIGTERM, timeout=15):
    pids = ferry.tree()
    assert len(pids) >= 3, f"expected supervisor + roles, found {pids}"
    ferry.signal(sig)
    rc = ferry.proc.wait(timeout)
    wait_until(lambda: not any(proc_alive(p) for p in pids), 5,
               what="every ferry process to exit")
    return rc


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stop_with_open_session_gets_421(ferry, sig):
    c = ferry.raw()
    try:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example>", 250)
        pids = ferry.tree()
        ferry.signal(sig)
        r = c.reply(timeout=10)
        assert r is not None and r.code == 421 and r.enhanced == "4.3.2", r
        assert c.wait_closed(5), "session not closed after 421"
    finally:
        c.close()
    assert ferry.proc.wait(15) == 0
    wait_until(lambda: not any(proc_alive(p) for p in pids), 5,
               what="every ferry process to exit")


def test_stop_during_data_gets_421_and_nothing_half_delivered(ferry):
    c = ferry.raw()
    try:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example>", 250)
        c.expect("RCPT TO:<alice@example.test>", 250)
        c.expect("DATA", 354)
        c.send(b"Subject: interrupted\r\n\r\nhalf a message")
        ferry.signal(signal.SIGTERM)
        r = c.reply(timeout=10)
        assert r is not None and r.code == 421 and r.enhanced == "4.3.2", r
    finally:
        c.close()
    assert ferry.proc.wait(15) == 0
    ferry.start()
    ferry.barrier()
    assert ferry.maildir_messages("alice@example.test") == []
    ferry.wait_queue_empty()


def test_sigterm_leaves_no_process_behind(ferry):
    with ferry.smtp() as s:
        s.sendmail("x@remote.example", ["alice@example.test"], make_message())
    ferry.wait_delivered("alice@example.test")
    assert stop_and_check(ferry) == 0


def test_stop_command(ferry):
    pids = ferry.tree()
    # `ferry stop` waits for the server to go away; the server is our
    # child, so reap it meanwhile (else it stays a zombie).
    stopper = subprocess.Popen([ferry.binary, "-c", str(ferry.conf_path), "stop"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert ferry.proc.wait(15) == 0
        out, err = stopper.communicate(timeout=15)
    finally:
        if stopper.poll() is None:
            stopper.kill()
            stopper.wait()
    assert stopper.returncode == 0, (out, err)
    wait_until(lambda: not any(proc_alive(p) for p in pids), 5,
               what="every ferry process to exit")


def test_restart_after_clean_stop(ferry):
    assert stop_and_check(ferry) == 0
    ferry.start()
    with ferry.smtp() as s:
        s.sendmail("x@remote.example", ["bob@example.test"], make_message())
    ferry.wait_delivered("bob@example.test")


def rcpt_codes(ferry, n):
    """Codes for RCPT to n different users (u0@ ... created on demand)."""
    have = getattr(ferry, "_rcpt_users", 0)
    for i in range(have, n):
        ferry.add_user(f"u{i}@example.test")
    ferry._rcpt_users = max(have, n)
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example>", 250)
        return [c.cmd(f"RCPT TO:<u{i}@example.test>").code for i in range(n)]


@pytest.mark.ferry_conf(max_recipients=2)
@pytest.mark.parametrize("how", ["sighup", "cli"])
def test_reload_changes_max_recipients(ferry, how):
    assert rcpt_codes(ferry, 3) == [250, 250, 452]
    ferry.set_conf(max_recipients=5)
    if how == "sighup":
        ferry.signal(signal.SIGHUP)
    else:
        r = ferry.cli("reload")
        assert r.returncode == 0, r
    wait_until(lambda: rcpt_codes(ferry, 3) == [250, 250, 250], 10, interval=0.2,
               what="the new max_recipients to apply")
    assert ferry.running()


@pytest.mark.ferry_conf(message_size_limit="10K")
def test_reload_changes_size_limit(ferry):
    def size():
        with ferry.raw() as c:
            return [l for l in c.ehlo().lines if l.upper().startswith("SIZE")]
    assert size() == ["SIZE 10240"]
    ferry.set_conf(message_size_limit="20K")
    ferry.signal(signal.SIGHUP)
    wait_until(lambda: size() == ["SIZE 20480"], 10, interval=0.2,
               what="SIZE 20480 after reload")


@pytest.mark.ferry_conf(max_recipients=2)
def test_reload_with_bad_config_keeps_running(ferry):
    """A typo at reload must not take the server down; it keeps the
    configuration it has."""
    assert rcpt_codes(ferry, 3) == [250, 250, 452]
    off = ferry.log_offset()
    ferry.write_config(extra_lines=["no_such_key = 1"])
    ferry.signal(signal.SIGHUP)
    ferry.wait_log(r"no_such_key|reload", since=off)
    assert ferry.running()
    ferry.wait_greeting()
    assert rcpt_codes(ferry, 3) == [250, 250, 452]
    with ferry.smtp() as s:
        s.sendmail("x@remote.example", ["alice@example.test"], make_message())
    ferry.wait_delivered("alice@example.test")


def test_open_session_survives_reload(ferry):
    c = ferry.raw()
    try:
        c.ehlo()
        c.expect("MAIL FROM:<x@remote.example>", 250)
        ferry.signal(signal.SIGHUP)
        c.expect("RCPT TO:<alice@example.test>", 250)
        c.expect("DATA", 354)
        c.send(make_message(subject="across reload") + b".\r\n")
        r = c.reply()
        assert r.code == 250, r
    finally:
        c.close()
    ferry.wait_delivered("alice@example.test")
