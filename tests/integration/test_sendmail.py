"""The sendmail interface (issue 16): `ferry sendmail`, the binary called
as sendmail/mailq/newaliases, the maildrop directory and the queue's
pickup.  Messages go in through the maildrop with the server running and
stopped, as root and as an unprivileged user; bad input gets the
documented sysexits code and leaves nothing behind; hostile files in the
maildrop are refused by the pickup."""

import os
import pwd
import subprocess
import tempfile

import pytest

from conftest import HOSTNAME, header, wait_until
from fakemx import peers, port, relay_conf  # noqa: F401

EX_USAGE, EX_DATAERR, EX_UNAVAILABLE, EX_NOPERM = 64, 65, 69, 77


def sendmail(srv, *args, input=b"", user=None, argv0=None, env_conf=True):
    """Runs `ferry sendmail ARGS` (or the binary under the name argv0,
    which reads $FERRY_CONF), optionally as another user."""
    env = dict(os.environ)
    env["FERRY_CONF"] = str(srv.conf_path)
    if argv0:
        link = srv.dir / argv0
        if not link.exists():
            link.symlink_to(srv.binary)
        argv = [str(link), *args]
    else:
        argv = [srv.binary, "sendmail", *args]
    if user:
        pw = pwd.getpwnam(user)
        argv = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}",
                "--clear-groups", *argv]
    return subprocess.run(argv, input=input, capture_output=True,
                          timeout=30, env=env)


def maildrop(srv):
    return srv.state_dir / "maildrop"


def drop_files(srv):
    d = maildrop(srv)
    return sorted(p.name for p in d.iterdir()) if d.is_dir() else []


def test_t_delivers_to_local_maildir_with_fields_added(ferry):
    msg = (b"To: Alice <alice@example.test>\n"
           b"Bcc: bob@example.test\n"
           b"Subject: from cron\n"
           b"\n"
           b"line one\n"
           b"line two\n")
    r = sendmail(ferry, "-t", input=msg)
    assert r.returncode == 0, r.stderr
    got = ferry.wait_delivered("alice@example.test")[0]
    bob = ferry.wait_delivered("bob@example.test")[0]
    assert header(got, "Subject") == ["from cron"]
    assert header(got, "Bcc") == [] and header(bob, "Bcc") == []
    assert header(got, "From") == [f'"root" <root@{HOSTNAME}>']
    assert len(header(got, "Date")) == 1
    assert header(got, "Message-ID")[0].endswith(f"@{HOSTNAME}>")
    assert b"(from root uid 0)" in got
    assert got.endswith(b"\r\n\r\nline one\r\nline two\r\n")
    assert b"\n" not in got.replace(b"\r\n", b"")
    ferry.wait_log(r"pickup accepted .*user=root uid=0 from=<root@" + HOSTNAME)
    assert drop_files(ferry) == []


def test_arguments_f_F_and_dots(ferry):
    body = b"Subject: dots\n\nbefore\n.\nafter\n"
    r = sendmail(ferry, "-f", "bounces@example.test", "-F", 'Cron "Daemon"',
                 "alice@example.test", input=body)
    assert r.returncode == 0, r.stderr
    got = ferry.wait_delivered("alice@example.test")[0]
    assert header(got, "Return-Path") == ["<bounces@example.test>"]
    assert header(got, "From") == ['"Cron \\"Daemon\\"" <bounces@example.test>']
    assert got.endswith(b"before\r\n")           # a lone dot ends the input
    r = sendmail(ferry, "-oi", "alice@example.test", input=body)
    assert r.returncode == 0, r.stderr
    got = ferry.wait_delivered("alice@example.test", 2)[1]
    assert got.endswith(b"before\r\n.\r\nafter\r\n")   # -oi: it does not
    r = sendmail(ferry, "-i", "-f", "<>", "alice@example.test",
                 input=b"Subject: null\n\nx\n")
    assert r.returncode == 0, r.stderr
    got = ferry.wait_delivered("alice@example.test", 3)[2]
    assert header(got, "Return-Path") == ["<>"]


def test_bs_speaks_smtp_on_stdin(ferry):
    script = (b"EHLO client\r\nMAIL FROM:<app@example.test>\r\n"
              b"RCPT TO:<bob@example.test>\r\nRCPT TO:<bad address>\r\n"
              b"DATA\r\nSubject: bs\r\n\r\n..dot stuffed\r\nend\r\n.\r\n"
              b"QUIT\r\n")
    r = sendmail(ferry, "-bs", input=script)
    assert r.returncode == 0, r.stderr
    codes = [line[:3] for line in r.stdout.decode().splitlines()]
    assert codes == ["220", "250", "250", "250", "501", "354", "250", "221"]
    got = ferry.wait_delivered("bob@example.test")[0]
    assert header(got, "Return-Path") == ["<app@example.test>"]
    assert got.endswith(b"\r\n.dot stuffed\r\nend\r\n")


def test_bs_refuses_data_without_recipients_and_bad_lines(ferry):
    script = (b"HELO c\r\nDATA\r\nMAIL FROM:<a@example.test>\r\n"
              b"RCPT TO:<alice@example.test>\r\nDATA\r\n"
              + b"x" * 1200 + b"\r\n.\r\nQUIT\r\n")
    r = sendmail(ferry, "-bs", input=script)
    codes = [line[:3] for line in r.stdout.decode().splitlines()]
    assert codes == ["220", "250", "503", "250", "250", "354", "554", "221"]
    assert drop_files(ferry) == []


def test_remote_recipient_goes_to_the_mx(make_ferry, peers, port):
    mx = peers.mx("127.0.0.2", port)
    srv = make_ferry(relay_conf(port, route=f"far.test [127.0.0.2]:{port}"))
    r = sendmail(srv, "-t", input=b"To: someone@far.test\nSubject: out\n\nhi\n")
    assert r.returncode == 0, r.stderr
    got = mx.wait_messages(1)[0]
    assert got.rcpt_tos == ["someone@far.test"]
    assert got.mail_from == f"root@{HOSTNAME}"
    assert b"Subject: out" in got.data
    script = (b"HELO c\r\nMAIL FROM:<app@example.test>\r\n"
              b"RCPT TO:<other@far.test>\r\nDATA\r\nSubject: bs out\r\n"
              b"\r\nvia -bs\r\n.\r\nQUIT\r\n")
    r = sendmail(srv, "-bs", input=script)
    assert r.returncode == 0 and b"250 2.0.0 Queued" in r.stdout, r.stdout
    got = mx.wait_messages(2)[1]
    assert got.rcpt_tos == ["other@far.test"]
    assert got.mail_from == "app@example.test"
    assert b"Subject: bs out" in got.data


@pytest.mark.parametrize("args,data,code,why", [
    ((), b"Subject: x\n\nno recipients\n", EX_USAGE, b"no recipients"),
    (("-t",), b"Subject: x\n\nno To\n", EX_USAGE, b"no recipients"),
    (("alice@example.test",), b"Subject: x\n\nnul \x00 here\n", EX_DATAERR,
     b"NUL"),
    (("alice@example.test",), b"Subject: x\n\n" + b"y" * 999 + b"\n",
     EX_DATAERR, b"998"),
    (("alice@example.test",), b"Subject: x\n\nbare \r cr\n", EX_DATAERR,
     b"bare CR"),
    (("bad address",), b"x\n", EX_DATAERR, b"bad recipient"),
    (("-f", "a b@c", "alice@example.test"), b"x\n", EX_DATAERR,
     b"bad sender"),
    (("-t",), b"To: <unclosed@\n\nx\n", EX_DATAERR, b"bad recipient"),
    (("-q",), b"", EX_USAGE, b"usage"),
    (("-f",), b"", EX_USAGE, b"usage"),
])
def test_bad_input_exit_codes(ferry, args, data, code, why):
    r = sendmail(ferry, *args, input=data)
    assert r.returncode == code, (r.returncode, r.stderr)
    assert why in r.stderr
    assert not [f for f in drop_files(ferry)]


def test_too_big_is_refused(make_ferry):
    srv = make_ferry({"message_size_limit": "10K"})
    r = sendmail(srv, "alice@example.test",
                 input=b"Subject: big\n\n" + b"z" * 100 + b"\n" * 200)
    assert r.returncode == 0, r.stderr
    r = sendmail(srv, "alice@example.test",
                 input=b"Subject: big\n\n" + (b"z" * 900 + b"\n") * 20)
    assert r.returncode == EX_DATAERR and b"too big" in r.stderr


def test_server_down_message_waits_then_goes_in(make_ferry):
    srv = make_ferry()
    srv.stop()
    r = sendmail(srv, "alice@example.test", input=b"Subject: later\n\nx\n")
    assert r.returncode == 0, r.stderr
    files = drop_files(srv)
    assert len(files) == 1 and files[0].startswith("msg.")
    assert srv.maildir_files("alice@example.test") == []
    srv.start()
    got = srv.wait_delivered("alice@example.test")[0]
    assert header(got, "Subject") == ["later"]
    wait_until(lambda: drop_files(srv) == [], 10, what="maildrop emptied")


def test_never_started_server_still_takes_mail(make_ferry):
    srv = make_ferry(start=True)
    srv.stop()
    os.rmdir(maildrop(srv))
    r = sendmail(srv, "alice@example.test", input=b"Subject: first\n\nx\n")
    assert r.returncode == 0, r.stderr
    assert (os.stat(maildrop(srv)).st_mode & 0o7777) == 0o1733
    srv.start()
    srv.wait_delivered("alice@example.test")


def test_unprivileged_user_and_maildrop_outside_state_dir(make_ferry):
    base = tempfile.mkdtemp(prefix="ferry-maildrop-")
    os.chmod(base, 0o755)
    drop = os.path.join(base, "spool", "maildrop")
    srv = make_ferry({"maildrop_dir": drop})
    os.chmod(srv.dir, 0o755)
    os.chmod(srv.conf_path, 0o644)
    os.chmod(srv.dir.parent, 0o755)
    try:
        st = os.stat(drop)
        assert st.st_mode & 0o7777 == 0o1733
        assert os.stat(os.path.dirname(drop)).st_mode & 0o777 == 0o755
        nobody = pwd.getpwnam("nobody")
        # Parents of the config up to / must be searchable for nobody.
        p = srv.dir.parent
        while str(p) != "/":
            os.chmod(p, os.stat(p).st_mode | 0o005)
            p = p.parent
        r = sendmail(srv, "-t", input=b"To: alice@example.test\n\nhello\n",
                     user="nobody")
        assert r.returncode == 0, r.stderr
        got = srv.wait_delivered("alice@example.test")[0]
        assert f"(from nobody uid {nobody.pw_uid})".encode() in got
        assert header(got, "Return-Path") == [f"<nobody@{HOSTNAME}>"]
        # nobody cannot list the maildrop, nor read the state.
        r = subprocess.run(["setpriv", f"--reuid={nobody.pw_uid}",
                            f"--regid={nobody.pw_gid}", "--clear-groups",
                            "ls", drop],
                           capture_output=True)
        assert r.returncode != 0
        # Nor list the queue: it holds everyone's correspondents.
        r = sendmail(srv, argv0="mailq", user="nobody")
        assert r.returncode == EX_NOPERM and \
            b"only root and the server's user" in r.stderr, r
    finally:
        subprocess.run(["rm", "-rf", base])


def test_hostile_maildrop_files_are_dropped(ferry, tmp_path):
    d = maildrop(ferry)
    secret = tmp_path / "secret"
    secret.write_bytes(b"ferry-maildrop 1\nS a@b.c\nR alice@example.test\n"
                       b"E\nSubject: secret\r\n\r\nx\r\n")
    os.symlink(secret, d / "msg.symlink")
    os.link(secret, d / "msg.hardlink")
    (d / "msg.garbage").write_bytes(b"not a maildrop file\n")
    (d / "msg.bareLF").write_bytes(b"ferry-maildrop 1\nS a@b.c\n"
                                   b"R alice@example.test\nE\nSubject: x\n\ny\n")
    (d / "msg.norcpt").write_bytes(b"ferry-maildrop 1\nS a@b.c\nE\nx\r\n")
    os.rename(d / "msg.garbage", d / "msg.garbage2")    # inotify: a rename
    for name in ("msg.symlink", "msg.hardlink", "msg.bareLF", "msg.norcpt",
                 "msg.garbage2"):
        ferry.wait_log(r"pickup dropped file=" + name)
    wait_until(lambda: drop_files(ferry) == [], 10, what="maildrop emptied")
    ferry.barrier()
    assert ferry.maildir_files("alice@example.test") == []
    assert secret.exists()


def test_unknown_local_recipient_bounces_to_the_user(ferry):
    r = sendmail(ferry, "-f", "bob@example.test", "nobody-here@example.test",
                 input=b"Subject: lost\n\nx\n")
    assert r.returncode == 0, r.stderr
    dsn = ferry.wait_delivered("bob@example.test")[0]
    assert b"nobody-here@example.test" in dsn
    assert header(dsn, "Return-Path") == ["<>"]


def test_mailq_and_newaliases_names(ferry):
    r = sendmail(ferry, argv0="newaliases")
    assert r.returncode == 0 and b"ferry alias" in r.stderr
    r = sendmail(ferry, argv0="mailq")
    assert r.returncode == 0, r.stderr
    r = sendmail(ferry, "-t", argv0="sendmail",
                 input=b"To: alice@example.test\nSubject: named\n\nx\n")
    assert r.returncode == 0, r.stderr
    got = ferry.wait_delivered("alice@example.test")[0]
    assert header(got, "Subject") == ["named"]
