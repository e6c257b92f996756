"""Operator papercuts of issue 13 around logs: the log file is reopened
after rotation on `ferry reload` and on SIGUSR1 (every role, not only
the supervisor), so `ferry why` keeps working; `make run`'s demo writes
a log file; SMTP auth failures name the user; TLS protocol and cipher in
the Received header and the session log."""

import os
import signal

from conftest import free_port, make_message, wait_until

ALICE = "alice@example.test"


def log_server(make_ferry, **over):
    conf = {"log_file": None}
    conf.update(over)
    srv = make_ferry(conf, start=False)
    srv.conf["log_file"] = str(srv.dir / "mail.log")
    srv.write_config()
    srv.start()
    return srv


def send(srv, subject, sender="friend@remote.example"):
    with srv.smtp() as s:
        s.sendmail(sender, [ALICE], make_message(subject=subject))


def rotate(srv):
    """What logrotate does without copytruncate: rename the file away."""
    live = srv.dir / "mail.log"
    old = srv.dir / "mail.log.1"
    os.rename(live, old)
    return live, old


def test_reload_reopens_the_log_file_in_every_role(make_ferry):
    srv = log_server(make_ferry)
    send(srv, "before")
    srv.wait_delivered(ALICE, 1)
    live, old = rotate(srv)
    r = srv.cli("reload")
    assert r.returncode == 0, r.stderr
    assert live.exists(), "reload did not reopen the log file"
    send(srv, "after", sender="later@remote.example")
    srv.wait_delivered(ALICE, 2)
    # The session (smtpd) and the delivery (queue) both log to the new file.
    wait_until(lambda: b"later@remote.example" in live.read_bytes(),
               what="the smtpd's lines in the new log file")
    assert b"later@remote.example" not in old.read_bytes()
    r = srv.cli("why", "--from", "later@remote.example")
    assert r.returncode == 0, r.stderr
    assert "accepted" in r.stdout


def test_sigusr1_reopens_the_log_file(make_ferry):
    srv = log_server(make_ferry)
    live, old = rotate(srv)
    srv.signal(signal.SIGUSR1)
    wait_until(live.exists, what="the supervisor to reopen the log")
    wait_until(lambda: b"serve log-reopened" in live.read_bytes(),
               what="the reopen logged in the new file")
    # Roles reopen too (at their next line): a session and a delivery.
    send(srv, "usr1", sender="usr1@remote.example")
    srv.wait_delivered(ALICE, 1)
    wait_until(lambda: b"usr1@remote.example" in live.read_bytes(),
               what="the smtpd's lines in the new log file")
    assert b"usr1@remote.example" not in old.read_bytes()
    # Still running: the signal killed no role.
    assert srv.running()
    assert srv.role_pid("smtpd") and srv.role_pid("queue")
    assert srv.cli("why", "--from", "usr1@remote.example").returncode == 0


def test_sigusr1_without_log_file_is_harmless(ferry):
    pids = (ferry.role_pid("smtpd"), ferry.role_pid("queue"))
    ferry.signal(signal.SIGUSR1)
    send(ferry, "still")
    ferry.wait_delivered(ALICE, 1)
    assert (ferry.role_pid("smtpd"), ferry.role_pid("queue")) == pids


# ------------------------------------------------------------ make run

def demo_port_base():
    """A base whose five demo ports (base+525, +587, +465, +110, +143)
    are all free on loopback."""
    import socket
    for _ in range(50):
        base = free_port() - 587
        if base < 1024:
            continue
        socks = []
        try:
            for off in (525, 587, 465, 110, 143):
                s = socket.socket()
                s.bind(("127.0.0.1", base + off))
                socks.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError("no free port block for the demo")


def test_make_run_demo_prints_working_commands_and_logs(tmp_path):
    """scripts/run-demo (what `make run` runs): the curl example it prints
    is accepted (CRLF lines), paths are absolute, and `ferry why` works
    from the first run because the demo configuration sets log_file."""
    import re
    import subprocess
    from conftest import FERRY_BIN, ROOT, tcp_listening
    base = demo_port_base()
    env = dict(os.environ, FERRY_DEMO_DIR=str(tmp_path / "demo"),
               FERRY_DEMO_PORT_BASE=str(base))
    env.pop("FERRY_CONF", None)
    out = tmp_path / "demo.out"
    with open(out, "wb") as f:
        p = subprocess.Popen(["scripts/run-demo", FERRY_BIN], cwd=ROOT, env=env,
                             stdin=subprocess.DEVNULL, stdout=f, stderr=f)
    try:
        wait_until(lambda: tcp_listening(base + 525), 30,
                   what="the demo to listen")
        text = out.read_text()
        m = re.search(r"# or: (printf .*) \\\n\s*#\s*(--mail-from .*-T -)", text)
        assert m, text
        cmd = m.group(1) + " " + m.group(2)
        r = subprocess.run(cmd, shell=True, capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 0, (cmd, r.stderr)
        m = re.search(r"^  (/\S+/ferry) -c (/\S+) why (.*)$", text, re.M)
        assert m, text
        conf = m.group(2)
        assert os.path.isabs(m.group(1)) and os.path.isabs(conf)
        assert "log_file = " in open(conf).read()
        assert "auth_ban_exempt = 127.0.0.0/8" in open(conf).read()

        def why():
            r = subprocess.run([m.group(1), "-c", conf, "why", *m.group(3).split()],
                               capture_output=True, text=True, timeout=30)
            return r.returncode == 0 and "accepted" in r.stdout
        wait_until(why, 10, what="ferry why to find the demo message")
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
