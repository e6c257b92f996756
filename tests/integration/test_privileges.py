"""Privileges: started as root with run_as set, every process drops to
that user after binding (state_dir owned by it); without run_as it runs
as whoever started it, with a warning when that is root."""

import os
import pwd
import shutil
import tempfile

import pytest

from conftest import FerryServer, make_message, setup_accounts

RUN_AS = "nobody"


def uids(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Uid:"):
                return [int(x) for x in line.split()[1:]]
    return None


@pytest.fixture
def root_srv():
    if os.geteuid() != 0:
        pytest.skip("needs root")
    try:
        pw = pwd.getpwnam(RUN_AS)
    except KeyError:
        pytest.skip(f"no user {RUN_AS}")
    # pytest's tmp_path lives in a 0700 directory the dropped user could
    # not enter; use a world-traversable one instead.
    base = tempfile.mkdtemp(prefix="ferry-privs-")
    os.chmod(base, 0o755)
    srv = FerryServer(base, {"run_as": RUN_AS})
    yield srv, pw
    srv.cleanup()
    shutil.rmtree(base, ignore_errors=True)


def test_run_as_drops_privileges_of_roles(root_srv):
    srv, pw = root_srv
    setup_accounts(srv)
    srv.start()
    for role in ("smtpd", "queue"):
        pid = srv.role_pid(role)
        assert pid, role
        assert uids(pid) == [pw.pw_uid] * 4, (role, uids(pid))
    with srv.smtp() as s:
        s.sendmail("x@remote.example", ["alice@example.test"], make_message())
    srv.wait_delivered("alice@example.test")
    for p in [srv.state_dir, srv.state_dir / "ferry.db",
              srv.maildir("alice@example.test"), *srv.maildir_files("alice@example.test")]:
        assert p.stat().st_uid == pw.pw_uid, (p, p.stat().st_uid)


def test_run_as_drops_privileges_of_supervisor(root_srv):
    """Issue 2: "every process drops to that user after binding listeners
    and opening files"."""
    srv, pw = root_srv
    setup_accounts(srv)
    srv.start()
    assert uids(srv.pid) == [pw.pw_uid] * 4, uids(srv.pid)


def test_run_as_cli_creates_state_owned_by_run_as(root_srv):
    srv, pw = root_srv
    setup_accounts(srv)
    assert srv.state_dir.stat().st_uid == pw.pw_uid
    assert (srv.state_dir / "ferry.db").stat().st_uid == pw.pw_uid


def test_run_as_unknown_user_fails(root_srv):
    srv, _ = root_srv
    srv.set_conf(run_as="no-such-user-ferry")
    import subprocess
    from conftest import FERRY_BIN
    r = subprocess.run([FERRY_BIN, "-c", str(srv.conf_path), "serve"], capture_output=True,
                       text=True, timeout=15, stdin=subprocess.DEVNULL)
    assert r.returncode == 1, r
    assert "no-such-user-ferry" in r.stderr, r.stderr


def test_without_run_as_runs_as_invoker(ferry):
    me = os.geteuid()
    for pid in (ferry.pid, ferry.role_pid("smtpd"), ferry.role_pid("queue")):
        assert uids(pid)[1] == me
    if me == 0:
        assert "root" in ferry.log_text(), "no warning about running as root"
