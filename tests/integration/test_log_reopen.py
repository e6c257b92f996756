"""log_file is reopened by name on reload (issue 16, for logrotate): after
the file is moved away, `ferry reload` makes the supervisor and every
role write to a new file of the same name, and nothing more goes to the
old one.  A SIGHUP whose configuration is refused still reopens."""

import os
import signal

from conftest import make_message, wait_until


def roles_in(text):
    return {r for r in ("serve", "smtpd", "queue") if f" {r}[" in text}


def test_reload_reopens_the_log_in_every_role(make_ferry):
    srv = make_ferry(start=False)
    log = srv.dir / "file.log"
    srv.set_conf(log_file=str(log))
    srv.start()
    wait_until(lambda: log.exists() and "queue started" in log.read_text(),
               10, what="the log file")
    old = srv.dir / "file.log.1"
    os.rename(log, old)
    r = srv.cli("reload")
    assert r.returncode == 0, r.stderr
    wait_until(lambda: log.exists() and
               roles_in(log.read_text()) >= {"serve", "smtpd", "queue"},
               10, what="every role in the new file")
    before = old.read_text()
    with srv.smtp() as s:
        s.sendmail("a@remote.example", ["alice@example.test"],
                   make_message())
    srv.wait_delivered("alice@example.test")
    wait_until(lambda: "smtp accepted" in log.read_text(), 10,
               what="the session in the new file")
    assert old.read_text() == before


def test_refused_reload_still_reopens(make_ferry):
    srv = make_ferry(start=False)
    log = srv.dir / "file.log"
    srv.set_conf(log_file=str(log))
    srv.start()
    wait_until(lambda: log.exists(), 10, what="the log file")
    os.rename(log, srv.dir / "file.log.1")
    srv.write_config(["no_such_key = 1"])
    srv.signal(signal.SIGHUP)
    wait_until(lambda: log.exists() and "reload-failed" in log.read_text(),
               10, what="the refusal in the new file")
