"""The queue commands go through the queue role's control socket
(state_dir/queue.ctl) while the server runs, and work on the spool files
when it is stopped; bad requests on the socket get clear answers.

That the role did the work is seen in its log: one line per request,
`<id> queue control verb=... result=...`.  Mail waits in the queue as in
test_queue_cmds.py (remote routes to a closed port, retries an hour
apart)."""

import os
import re
import socket
import stat

import pytest

from conftest import wait_until
from test_queue_cmds import QUEUE_CONF, entry, one_line, relay

NOSUCH = "0123456789abcdef"


def ctl_path(srv):
    return str(srv.state_dir / "queue.ctl")


def wait_ctl(srv):
    """The queue role binds its socket shortly after the server is ready."""
    wait_until(lambda: os.path.exists(ctl_path(srv)), 10,
               what="the queue role's control socket")


def ask(srv, data: bytes, read_to_eof=False):
    """Sends raw bytes to queue.ctl; returns what comes back (one answer,
    or everything until the server closes)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(ctl_path(srv))
        s.sendall(data)
        buf = b""
        while True:
            if not read_to_eof and b"\n" in buf:
                head, rest = buf.split(b"\n", 1)
                n = int(head.split()[1])
                if len(rest) >= n:
                    return buf
            chunk = s.recv(65536)
            if not chunk:
                return buf
            buf += chunk


def proc_listens(path):
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(path)
        return True
    except OSError:
        return False


def control_lines(srv, since):
    return re.findall(r"queue control verb=(\S+) result=(\S+)",
                      srv.log_bytes()[since:].decode("utf-8", "replace"))


@pytest.mark.ferry_conf(**QUEUE_CONF)
def test_every_queue_command_goes_through_the_running_role(ferry):
    wait_ctl(ferry)
    st = os.stat(ctl_path(ferry))
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    qid = relay(ferry, "someone@remote.example", subject="via the role")["id"]

    def did(verb, args, idpart):
        off = ferry.log_offset()
        r = ferry.cli_ok("queue", verb, *args)
        ferry.wait_log(rf"^.*queue\[\d+\].* {idpart} queue control "
                       rf"verb={verb} result=ok", since=off)
        return r

    out = did("list", [], "-").stdout
    assert out.startswith(qid + " "), out
    assert qid in did("list", ["--json"], "-").stdout
    assert "subject: via the role" in did("show", [qid], qid).stdout.lower()
    did("hold", [qid], qid)
    assert entry(ferry, qid)["held"] is True
    out = did("retry", [qid], qid).stdout
    assert "1 recipient in 1 message" in out, out
    assert entry(ferry, qid)["recipients"][0]["next_attempt"] == 0
    out = did("retry", ["--domain", "remote.example"], "-").stdout
    assert "1 recipient in 1 message" in out, out
    out = did("retry", ["--all"], "-").stdout
    assert "1 recipient in 1 message" in out, out
    # Released through the role, it is attempted at once.
    did("release", [qid], qid)
    wait_until(lambda: (lambda e: e and not e["held"] and
                        e["recipients"][0]["next_attempt"] > 0)(entry(ferry, qid)),
               15, what="the released message to be attempted")
    out = did("bounce", [qid], qid).stdout
    assert out == f"{qid}: 1 recipient marked failed; the queue sends the bounce\n"
    other = relay(ferry, "other@remote.example")["id"]
    did("delete", [other], other)
    assert entry(ferry, other) is None


@pytest.mark.ferry_conf(**QUEUE_CONF)
def test_role_answers_errors_the_cli_prints(ferry):
    wait_ctl(ferry)
    for verb in ("show", "delete", "hold", "release", "retry", "bounce"):
        off = ferry.log_offset()
        r = ferry.cli("queue", verb, NOSUCH)
        assert r.returncode == 1, (verb, r)
        assert one_line(r.stderr) == f"ferry: no such message {NOSUCH}"
        ferry.wait_log(rf"{NOSUCH} queue control verb={verb} result=error "
                       rf"reason=\"no such message {NOSUCH}\"", since=off)
    r = ferry.cli("queue", "retry", "--domain", "bad domain!")
    assert r.returncode == 1 and one_line(r.stderr).startswith("ferry: bad domain!: ")


@pytest.mark.ferry_conf(**QUEUE_CONF)
def test_stopped_server_commands_work_on_the_files(ferry):
    qid = relay(ferry, "someone@remote.example", subject="offline")["id"]
    ferry.stop()
    assert not os.path.exists(ctl_path(ferry))
    off = ferry.log_offset()
    assert ferry.cli_ok("queue", "list").stdout.startswith(qid + " ")
    assert "subject: offline" in ferry.cli_ok("queue", "show", qid).stdout.lower()
    ferry.cli_ok("queue", "hold", qid)
    assert entry(ferry, qid)["held"] is True
    out = ferry.cli_ok("queue", "retry", "--all").stdout
    assert "1 recipient in 1 message" in out, out
    assert entry(ferry, qid)["recipients"][0]["next_attempt"] == 0
    ferry.cli_ok("queue", "release", qid)
    assert entry(ferry, qid)["held"] is False
    out = ferry.cli_ok("queue", "bounce", qid).stdout
    assert "1 recipient marked failed" in out, out
    r = ferry.cli("queue", "hold", NOSUCH)
    assert r.returncode == 1 and one_line(r.stderr) == f"ferry: no such message {NOSUCH}"
    ferry.cli_ok("queue", "delete", qid)
    assert ferry.cli_ok("queue", "list").stdout == "queue is empty\n"
    assert control_lines(ferry, off) == []


@pytest.mark.ferry_conf(**QUEUE_CONF)
def test_stale_socket_is_refused_then_replaced(ferry):
    """A socket file nobody accepts on (what a role killed by SIGKILL
    leaves) means "stopped" to the CLI, and a new queue role replaces it."""
    wait_ctl(ferry)
    qid = relay(ferry, "someone@remote.example")["id"]
    ferry.stop()
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(ctl_path(ferry))       # bound, never listening: refused
    stale.close()
    assert stat.S_ISSOCK(os.stat(ctl_path(ferry)).st_mode)
    assert not proc_listens(ctl_path(ferry))
    ferry.cli_ok("queue", "hold", qid)                      # on the files
    assert entry(ferry, qid)["held"] is True
    ferry.proc = None
    ferry.start()
    wait_until(lambda: proc_listens(ctl_path(ferry)), 10,
               what="the new queue role to replace the stale socket")
    off = ferry.log_offset()
    ferry.cli_ok("queue", "release", qid)
    ferry.wait_log(rf"{qid} queue control verb=release result=ok", since=off)


@pytest.mark.ferry_conf(**QUEUE_CONF)
def test_bad_requests_on_the_socket(ferry):
    wait_ctl(ferry)
    def answer(line):
        raw = ask(ferry, line)
        head, body = raw.split(b"\n", 1)
        status, n = head.split()
        assert int(n) == len(body), raw
        return status.decode(), body.decode()

    assert answer(b"frobnicate\n") == (
        "error", "unknown verb frobnicate (want list, show, delete, hold, "
        "release, bounce, retry, hold-user, release-user or stale)")
    assert answer(b"Hold id=x\n") == ("error", "bad verb")
    assert answer(b"hold\n") == ("error", "this verb takes exactly one argument, id=ID")
    assert answer(b"hold id=a id=b\n") == ("error", "duplicate argument")
    assert answer(b"hold id=%zz\n") == ("error", "bad percent-escape in value")
    assert answer(b"list x=1\n") == ("error", "list takes no arguments")
    assert answer(b"retry all=2\n")[0] == "error"
    assert answer(b"retry\n")[0] == "error"
    # Malformed ids are no message at all; nothing outside the spool is
    # looked at.
    assert answer(b"show id=../../../etc/passwd\n") == (
        "error", "no such message ../../../etc/passwd")
    assert answer(b"delete id=%2Fetc%2Fpasswd\n") == (
        "error", "no such message /etc/passwd")
    assert answer(b"hold id=" + NOSUCH.encode() + b"\n") == (
        "error", f"no such message {NOSUCH}")
    assert answer(b"list\n") == ("ok", "")
    # Oversize: answered, then the connection is closed.
    raw = ask(ferry, b"hold id=" + b"a" * 5000 + b"\n", read_to_eof=True)
    assert raw == b"error 16\nrequest too long"
    # Several requests on one connection are answered in order, also
    # when the client half-closes after writing them.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(ctl_path(ferry))
        s.sendall(b"Bad\nlist\n")
        s.shutdown(socket.SHUT_WR)
        raw = b""
        while chunk := s.recv(65536):
            raw += chunk
    assert raw == b"error 8\nbad verbok 0\n"
    # The role is still fine.
    assert ferry.cli_ok("queue", "list").stdout == "queue is empty\n"
