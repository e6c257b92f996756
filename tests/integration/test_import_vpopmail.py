"""`ferry import vpopmail DIR` (issue 13, migration from qmail + vpopmail),
black-box.  Each test builds a synthetic vpopmail tree (domains/DOMAIN/
vpasswd with MD5-crypt, SHA-512-crypt and DES hashes, quotas, Maildir++
folders with flags, Courier and Dovecot UID lists, .qmail-USER aliases
and forwards, .qmail-default catch-all and bounce-no-mailbox), imports
it with the CLI, and checks the result through the real protocols:
POP3 (poplib: logins with the old passwords, UIDLs as qmail-pop3d gave
them), IMAP (imaplib: folders, flags, kept UIDs), SMTP (aliases,
forwards, catch-all, unknown users, quotas, AUTH with an old password).
Then: --dry-run changes nothing, a second import changes nothing, an
interrupted import finishes when run again, and hostile trees
(malformed vpasswd, symlinks out of the tree, odd file names) are
reported, never followed."""

import imaplib
import json
import os
import poplib
import pty
import re
import select
import signal
import smtplib
import subprocess
import warnings
from pathlib import Path

import pytest

from certs import client_context, make_tls_ferry
from conftest import free_port, make_message, tcp_listening, wait_until

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # Debian 12's Python 3.11 still has it

ORG = "example.org"
NET = "example.net"
PW = {"alice": "alice-old-pw", "bob": "bob-old-pw", "carol": "carol12",
      "dave": "dave-clear", "postmaster": "pm-old-pw"}


def openssl_passwd(alg, pw):
    return subprocess.run(["openssl", "passwd", alg, pw], check=True,
                          capture_output=True, text=True).stdout.strip()


def msg(subject, body="Hello from qmail.\n"):
    """A message as qmail stored it: LF line ends."""
    return (f"From: someone@remote.example\nTo: x@{ORG}\n"
            f"Subject: {subject}\nMessage-ID: <{subject}@remote.example>\n"
            f"\n{body}").encode()


def maildir(base):
    for sub in ("new", "cur", "tmp"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    return base


# The INBOX of alice as qmail-pop3d saw it: these base names are the UIDLs
# her POP3 client remembers.
ALICE_INBOX = {
    "cur/1700000000.1001.oldhost,S=120:2,S": "old-seen",
    "cur/1700000100.1002.oldhost,S=120:2,FS": "old-flagged",
    "new/1700000200.1003.oldhost": "old-new",
}


def build_tree(root: Path, des=True):
    """domains/example.org (alice, bob, carol, dave; aliases, bounce) and
    domains/example.net (postmaster; catch-all to postmaster)."""
    d = root / "domains" / ORG
    home = "/home/vpopmail/domains/" + ORG
    lines = [
        f"alice:{openssl_passwd('-1', PW['alice'])}:1:0:Alice:{home}/alice:NOQUOTA",
        f"bob:{openssl_passwd('-6', PW['bob'])}:1:0:Bob:{home}/bob:4000S",
        # dave's hash is of a scheme nobody knows; the clear field saves him
        f"dave:$9$nonsense:1:0:Dave:{home}/dave:NOQUOTA:{PW['dave']}",
        "this line is broken",
        "eve:x:notanumber:0:Eve:/x/eve:NOQUOTA",
    ]
    if des:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            lines.insert(2, f"carol:{crypt.crypt(PW['carol'], 'ab')}:1:0:"
                            f"Carol:{home}/carol:1048576S,100C")
    d.mkdir(parents=True)
    (d / "vpasswd").write_text("\n".join(lines) + "\n")

    md = maildir(d / "alice" / "Maildir")
    for name, subj in ALICE_INBOX.items():
        (md / name).write_bytes(msg(subj))
    sent = maildir(md / ".Sent")
    (sent / "cur" / "1700000300.2001.oldhost:2,RS").write_bytes(msg("sent-one"))
    (sent / "cur" / "1700000301.2002.oldhost:2,S").write_bytes(msg("sent-two"))
    # Courier-IMAP's UID list for Sent: its UIDVALIDITY and UIDs stay
    (sent / "courierimapuiddb").write_text(
        "1 1234567 40\n17 1700000300.2001.oldhost\n23 1700000301.2002.oldhost\n")
    arch = maildir(md / ".Archive.2024")
    (arch / "cur" / "1600000000.3001.oldhost:2,S").write_bytes(msg("archived"))
    # Dovecot's (version 3) for Archive/2024
    (arch / "dovecot-uidlist").write_text(
        "3 V7654321 N100 Gabcdef\n42 W130 :1600000000.3001.oldhost\n")
    (d / "alice" / ".qmail").write_text("./Maildir/\n&alice-copy@remote.example\n")

    maildir(d / "bob" / "Maildir")
    maildir(d / "carol" / "Maildir")
    (d / "carol" / "Maildir" / "new" / "1700000400.4001.oldhost").write_bytes(
        msg("for-carol"))
    maildir(d / "dave" / "Maildir")

    # aliases and forwards
    (d / ".qmail-info").write_text("# info goes to alice and outside\n"
                                   "./alice/Maildir/\n&info@remote.example\n")
    (d / ".qmail-sales").write_text("bob@example.org\n")
    (d / ".qmail-first:last").write_text(f"{home}/carol/Maildir/\n")
    (d / ".qmail-list").write_text("| /usr/bin/ezmlm-send ~/list\n")
    (d / ".qmail-owner-default").write_text("&owner@remote.example\n")
    (d / ".qmail-default").write_text(
        "| /home/vpopmail/bin/vdelivermail '' bounce-no-mailbox\n")

    n = root / "domains" / NET
    n.mkdir(parents=True)
    (n / "vpasswd").write_text(
        f"postmaster:{openssl_passwd('-6', PW['postmaster'])}:1:0:Postmaster:"
        f"/home/vpopmail/domains/{NET}/postmaster:NOQUOTA\n")
    maildir(n / "postmaster" / "Maildir")
    (n / ".qmail-default").write_text(
        f"| /home/vpopmail/bin/vdelivermail '' postmaster@{NET}\n")
    return root


def snapshot(state: Path):
    """Every file under state/mail with its content, and the accounts."""
    files = {}
    mail = state / "mail"
    if mail.exists():
        for p in sorted(mail.rglob("*")):
            if p.is_file():
                files[str(p.relative_to(mail))] = p.read_bytes()
    return files


def accounts(srv):
    users = srv.cli_ok("user", "list", "--json").stdout
    aliases = srv.cli_ok("alias", "list", "--json").stdout
    domains = srv.cli_ok("domain", "list").stdout
    return users, aliases, domains


def do_import(srv, tree, *extra):
    return srv.cli("import", "vpopmail", str(tree), *extra, timeout=120)


@pytest.fixture
def srv(make_ferry, tmp_path):
    """A server with POP3 and IMAP (plain text allowed on loopback) and
    submission; not started, no accounts of its own."""
    pop3, imap = free_port(), free_port()
    s = make_tls_ferry(make_ferry, tmp_path, overrides={
        "pop3_listen": f"127.0.0.1:{pop3}",
        "imap_listen": f"127.0.0.1:{imap}",
        "auth_plaintext_networks": "127.0.0.0/8",
    }, start=False, submissions=False)
    s.pop3_port, s.imap_port = pop3, imap
    return s


def start(srv):
    srv.start()
    for p in (srv.pop3_port, srv.imap_port, srv.sub_port):
        wait_until(lambda p=p: tcp_listening(p), 10, what="listeners")


@pytest.fixture
def imported(srv, tmp_path):
    tree = build_tree(tmp_path / "vpopmail")
    r = do_import(srv, tree)
    assert r.returncode == 0, r.stderr + r.stdout
    start(srv)
    srv.vp_tree = tree
    srv.import_out = r.stdout
    return srv


def pop3(srv, user, pw):
    p = poplib.POP3("127.0.0.1", srv.pop3_port, timeout=15)
    p.user(user)
    p.pass_(pw)
    return p


def uidls(p):
    out = {}
    for line in p.uidl()[1]:
        n, uid = line.decode().split()
        out[int(n)] = uid
    return out


def test_old_passwords_log_in_over_pop3_imap_and_smtp(imported):
    srv = imported
    for user in ("alice", "bob", "carol", "dave"):
        p = pop3(srv, f"{user}@{ORG}", PW[user])
        p.quit()
        m = imaplib.IMAP4("127.0.0.1", srv.imap_port, timeout=15)
        m.login(f"{user}@{ORG}", PW[user])
        m.logout()
    with pytest.raises(poplib.error_proto):
        pop3(srv, f"alice@{ORG}", "wrong")
    # the vpasswd hash of dave was unusable: only his clear field counts
    with pytest.raises(poplib.error_proto):
        pop3(srv, f"dave@{ORG}", "$9$nonsense")
    s = smtplib.SMTP("127.0.0.1", srv.sub_port, local_hostname="client.example",
                     timeout=15)
    s.starttls(context=client_context(srv.ca))
    s.login(f"bob@{ORG}", PW["bob"])
    s.sendmail(f"bob@{ORG}", [f"alice@{ORG}"],
               make_message(subject="after-migration", sender=f"bob@{ORG}",
                            to=f"alice@{ORG}"))
    s.quit()
    srv.wait_delivered(f"alice@{ORG}", len(ALICE_INBOX) + 1)


def test_pop3_uidls_are_qmail_pop3d_ones(imported):
    srv = imported
    want = sorted(n.split("/", 1)[1].split(":")[0] for n in ALICE_INBOX)
    p = pop3(srv, f"alice@{ORG}", PW["alice"])
    got = uidls(p)
    assert sorted(got.values()) == want
    # each UIDL still names the same message
    for n, uid in got.items():
        text = b"\n".join(p.retr(n)[1])
        subj = [v for k, v in ALICE_INBOX.items() if uid in k][0]
        assert f"Subject: {subj}".encode() in text
    p.quit()
    # mail that arrives now gets a Ferry UIDL; the old ones stay
    with srv.smtp() as s:
        s.sendmail("x@remote.example", [f"alice@{ORG}"],
                   make_message(subject="new-mail", to=f"alice@{ORG}"))
    srv.wait_delivered(f"alice@{ORG}", len(ALICE_INBOX) + 1)
    p = pop3(srv, f"alice@{ORG}", PW["alice"])
    got2 = uidls(p)
    p.quit()
    assert set(want) <= set(got2.values())
    (new,) = set(got2.values()) - set(want)
    assert re.fullmatch(r"\d+\.\d+", new)


def test_folders_flags_and_kept_imap_uids(imported):
    srv = imported
    m = imaplib.IMAP4("127.0.0.1", srv.imap_port, timeout=15)
    m.login(f"alice@{ORG}", PW["alice"])
    typ, data = m.list()
    names = b"\n".join(data).decode()
    assert '"Sent"' in names or " Sent" in names
    assert "Archive/2024" in names
    # imported folders are subscribed (clients that show only those)
    typ, data = m.lsub()
    subs = b"\n".join(d for d in data if d).decode()
    assert "Archive/2024" in subs and "Sent" in subs

    typ, _ = m.select("INBOX", readonly=True)
    typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    flags = {}
    for item in data:
        if isinstance(item, tuple):
            subj = item[1].decode().split(":", 1)[1].strip()
            flags[subj] = item[0].decode()
    assert "\\Seen" in flags["old-seen"] and "\\Flagged" not in flags["old-seen"]
    assert "\\Flagged" in flags["old-flagged"] and "\\Seen" in flags["old-flagged"]
    assert "\\Seen" not in flags["old-new"]

    typ, _ = m.select("Sent", readonly=True)
    assert m.untagged_responses["UIDVALIDITY"] == [b"1234567"] or \
        m.response("UIDVALIDITY")[1] == [b"1234567"]
    typ, data = m.uid("FETCH", "1:*", "(UID FLAGS)")
    got = b" ".join(d for d in data if isinstance(d, bytes)).decode()
    assert "UID 17" in got and "UID 23" in got
    assert re.search(r"UID 17 FLAGS \(([^)]*)\)", got) and "\\Answered" in got

    typ, _ = m.select("Archive/2024", readonly=True)
    assert m.response("UIDVALIDITY")[1] == [b"7654321"]
    typ, data = m.uid("FETCH", "1:*", "(UID)")
    assert b"UID 42" in b" ".join(d for d in data if isinstance(d, bytes))
    m.logout()


def test_quota_in_force(imported):
    srv = imported
    assert user_quota(srv, f"bob@{ORG}") == 4000
    assert user_quota(srv, f"alice@{ORG}") == 0
    big = make_message(subject="too-big", to=f"bob@{ORG}",
                       body=("x" * 70 + "\r\n") * 100)
    # refused at RCPT (smtplib declares SIZE) or at the end of DATA
    with srv.smtp() as s:
        with pytest.raises((smtplib.SMTPDataError,
                            smtplib.SMTPRecipientsRefused)) as e:
            s.sendmail("x@remote.example", [f"bob@{ORG}"], big)
        assert "552" in str(e.value)
    small = make_message(subject="fits", to=f"bob@{ORG}")
    with srv.smtp() as s:
        s.sendmail("x@remote.example", [f"bob@{ORG}"], small)
    srv.wait_delivered(f"bob@{ORG}", 1)
    # carol's "1048576S,100C": the bytes count; the message count is noted
    assert user_quota(srv, f"carol@{ORG}") == 1048576
    assert "message-count quota" in srv.import_out


def queued(srv):
    return {r["addr"] for m in srv.queue_json() for r in m["recipients"]}


def user_quota(srv, addr):
    (info,) = json.loads(srv.cli_ok("user", "quota", addr, "--json").stdout)
    return info["quota"]


def test_aliases_forwards_catchall_and_bounce(imported):
    srv = imported
    with srv.smtp() as s:
        s.sendmail("x@remote.example", [f"info@{ORG}"],
                   make_message(subject="to-info", to=f"info@{ORG}"))
        s.sendmail("x@remote.example", [f"sales@{ORG}"],
                   make_message(subject="to-sales", to=f"sales@{ORG}"))
        s.sendmail("x@remote.example", [f"first.last@{ORG}"],
                   make_message(subject="to-first-last", to=f"first.last@{ORG}"))
        s.sendmail("x@remote.example", [f"anything@{NET}"],
                   make_message(subject="to-catchall", to=f"anything@{NET}"))
        # bounce-no-mailbox: unknown users of example.org are refused
        code, _ = s.docmd("MAIL FROM:<x@remote.example>")
        assert code == 250
        code, text = s.docmd(f"RCPT TO:<nobody@{ORG}>")
        assert code == 550, text
        s.rset()
    srv.wait_delivered(f"alice@{ORG}", len(ALICE_INBOX) + 1)
    srv.wait_delivered(f"bob@{ORG}", 1)
    srv.wait_delivered(f"carol@{ORG}", 2)
    srv.wait_delivered(f"postmaster@{NET}", 1)
    subjects = [m for m in srv.maildir_messages(f"alice@{ORG}")
                if b"Subject: to-info" in m]
    assert len(subjects) == 1
    # the forwards to outside wait in the queue (no DNS in tests)
    wait_until(lambda: "info@remote.example" in queued(srv), 10,
               what="the forward in the queue")
    # alice's own .qmail: a copy outside and her Maildir
    with srv.smtp() as s:
        s.sendmail("x@remote.example", [f"alice@{ORG}"],
                   make_message(subject="alice-own", to=f"alice@{ORG}"))
    srv.wait_delivered(f"alice@{ORG}", len(ALICE_INBOX) + 2)
    wait_until(lambda: "alice-copy@remote.example" in queued(srv), 10,
               what="alice's forward in the queue")
    out = srv.import_out
    assert ".qmail-list line 1: program" in out
    assert "extension wildcard" in out


def test_dry_run_changes_nothing(srv, tmp_path):
    tree = build_tree(tmp_path / "vpopmail")
    before = snapshot(srv.state_dir)
    acc = accounts(srv)
    r = do_import(srv, tree, "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "dry run" in r.stdout
    assert re.search(r"users:\s+5 new", r.stdout)
    assert snapshot(srv.state_dir) == before
    assert accounts(srv) == acc
    j = json.loads(do_import(srv, tree, "--dry-run", "--json").stdout)
    assert j["dry_run"] is True and j["added"]["messages"] == 7
    assert accounts(srv) == acc


def test_second_import_changes_nothing(srv, tmp_path):
    tree = build_tree(tmp_path / "vpopmail")
    first = do_import(srv, tree, "--json")
    assert first.returncode == 0, first.stderr
    j1 = json.loads(first.stdout)
    assert j1["added"]["users"] == 5 and j1["added"]["messages"] == 7
    assert j1["added"]["aliases"] == 4 and j1["added"]["catchalls"] == 1
    snap, acc = snapshot(srv.state_dir), accounts(srv)
    second = do_import(srv, tree)
    assert second.returncode == 0, second.stderr
    assert "nothing changed" in second.stdout
    assert snapshot(srv.state_dir) == snap
    assert accounts(srv) == acc
    j2 = json.loads(do_import(srv, tree, "--json").stdout)
    assert all(v == 0 for v in j2["added"].values())
    assert j2["kept"]["users"] == 5 and j2["kept"]["messages"] == 7
    # with the server running and mail read in between: still nothing
    start(srv)
    p = pop3(srv, f"alice@{ORG}", PW["alice"])
    p.retr(1)
    p.quit()
    j3 = json.loads(do_import(srv, tree, "--json").stdout)
    assert all(v == 0 for v in j3["added"].values())


def big_tree(root: Path, users=60, per_user=20):
    d = root / "domains" / "big.example"
    d.mkdir(parents=True)
    h = openssl_passwd("-1", "pw")
    lines = []
    for i in range(users):
        u = f"user{i:03d}"
        lines.append(f"{u}:{h}:1:0:U:/home/vpopmail/domains/big.example/{u}:NOQUOTA")
        md = maildir(d / u / "Maildir")
        for k in range(per_user):
            (md / "cur" / f"17000{i:03d}{k:02d}.{k}.oldhost:2,S").write_bytes(
                msg(f"m{i}-{k}", body="x\n" * 50))
    (d / "vpasswd").write_text("\n".join(lines) + "\n")
    return root


def test_interrupted_import_completes_when_run_again(srv, tmp_path):
    tree = big_tree(tmp_path / "vpopmail")
    # stderr on a terminal: progress lines; SIGINT after the first one
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [srv.binary, "-c", str(srv.conf_path), "import", "vpopmail", str(tree)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    seen = b""
    while b"importing:" not in seen:
        ready, _, _ = select.select([master], [], [], 60)
        assert ready, "no progress shown"
        seen += os.read(master, 4096)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    try:
        while select.select([master], [], [], 0)[0]:
            chunk = os.read(master, 4096)
            if not chunk:
                break
            seen += chunk
    except OSError:
        pass
    os.close(master)
    assert proc.returncode == 1, out
    assert b"interrupted" in out
    partial = json.loads(srv.cli_ok("user", "list", "--json").stdout)
    assert 0 < len(partial) < 60
    # no half-copied message anywhere
    mail = srv.state_dir / "mail" / "big.example"
    for p in mail.rglob("tmp/*"):
        pytest.fail(f"left in tmp/: {p}")
    r = do_import(srv, tree, "--json")
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["interrupted"] is False
    assert j["added"]["users"] + j["kept"]["users"] == 60
    assert j["added"]["messages"] + j["kept"]["messages"] == 60 * 20
    assert j["kept"]["messages"] > 0
    count = sum(1 for _ in mail.rglob("cur/*"))
    assert count == 60 * 20
    # and every UIDL list is complete
    for i in (0, 59):
        lst = (mail / f"user{i:03d}" / "ferry-pop3-uidl").read_text().split("\n")
        assert len([x for x in lst[1:] if x]) == 20


def test_missing_and_empty_directories(srv, tmp_path):
    r = do_import(srv, tmp_path / "nope")
    assert r.returncode == 1 and "nope" in r.stderr
    (tmp_path / "empty" / "domains").mkdir(parents=True)
    r = do_import(srv, tmp_path / "empty")
    assert r.returncode == 1 and "no vpopmail domain" in r.stderr
    r = srv.cli("import", "qmail", str(tmp_path))
    assert r.returncode == 2
    r = srv.cli("import", "vpopmail")
    assert r.returncode == 2


def test_hostile_tree_is_reported_and_never_followed(srv, tmp_path):
    outside = tmp_path / "outside"
    maildir(outside / "Maildir")
    secret = b"Subject: secret\n\nTOP-SECRET-OUTSIDE\n"
    (outside / "Maildir" / "cur" / "1700009999.1.evil:2,S").write_bytes(secret)
    (outside / "secret-file").write_bytes(secret)
    (outside / "vpasswd").write_text("root:$1$x$y:1:0:R:/root:NOQUOTA\n")

    tree = tmp_path / "vpopmail"
    d = tree / "domains" / "hostile.example"
    d.mkdir(parents=True)
    h = openssl_passwd("-1", "pw")
    home = "/home/vpopmail/domains/hostile.example"
    (d / "vpasswd").write_bytes("\n".join([
        f"ok:{h}:1:0:Ok:{home}/ok:NOQUOTA",
        f"linked:{h}:1:0:L:{home}/linked:NOQUOTA",
        f"mdlink:{h}:1:0:M:{home}/mdlink:NOQUOTA",
        f"climb:{h}:1:0:C:{home}/../../../{outside}:NOQUOTA",
        f"../evil:{h}:1:0:E:{home}/evil:NOQUOTA",
        f".hidden:{h}:1:0:H:{home}/.hidden:NOQUOTA",
        f"quota:{h}:1:0:Q:{home}/quota:lots",
        "nul:\0:1:0:N:/x:NOQUOTA",
        "short:x:1",
        "x" * 5000 + f":{h}:1:0:X:/x:NOQUOTA",
    ]).encode() + b"\n")
    md = maildir(d / "ok" / "Maildir")
    (md / "cur" / "1700000000.1.good:2,S").write_bytes(msg("good"))
    (md / "cur" / "1700000001.2.link:2,S").symlink_to(outside / "secret-file")
    (md / "cur" / "bad name with spaces:2,S").write_bytes(msg("spaces"))
    (md / "cur" / "bad\nnewline").write_bytes(msg("newline"))
    (md / "cur" / "a:b:c").write_bytes(msg("colons"))
    os.mkfifo(md / "cur" / "1700000002.3.fifo")
    (md / ".Evil").symlink_to(outside / "Maildir")
    (md / ".Bad\x01Folder").mkdir()
    (d / "linked").symlink_to(outside)
    (d / "mdlink").mkdir()
    (d / "mdlink" / "Maildir").symlink_to(outside / "Maildir")
    (d / "quota" / "Maildir").mkdir(parents=True)
    (d / ".qmail-leak").symlink_to(outside / "secret-file")
    (d / ".qmail-bad\x07name").write_text("&x@remote.example\n")
    (d / ".qmail-junk").write_bytes(b"&a@remote.example\n\x00\x01\n")
    (tree / "domains" / "alias.example").symlink_to(d)
    (tree / "domains" / "linkdom.example").symlink_to(outside)
    (tree / "domains" / "0").mkdir()

    r = do_import(srv, tree)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    # nothing from outside the tree reached the state directory
    for p in (srv.state_dir / "mail").rglob("*"):
        if p.is_file():
            assert b"TOP-SECRET-OUTSIDE" not in p.read_bytes(), p
    users = {u["address"] for u in json.loads(
        srv.cli_ok("user", "list", "--json").stdout)}
    assert "root@hostile.example" not in users
    assert f"ok@hostile.example" in users
    assert not any("evil" in u or "hidden" in u for u in users)
    aliases = srv.cli_ok("alias", "list").stdout
    assert "leak@" not in aliases and "junk@" not in aliases
    ok = srv.state_dir / "mail" / "hostile.example" / "ok"
    assert [p.name for p in (ok / "cur").iterdir()] == ["1700000000.1.good:2,S"]
    assert not (ok / ".Evil").exists()
    for text in ("vpasswd line 9", "symbolic link", "file name Ferry cannot use",
                 "not a regular file", "fewer than 7 fields",
                 "quota \"lots\"", "alias.example", "linkdom.example",
                 "hashed domain layout", "NUL", "line too long"):
        assert text in out, (text, out)
    # the quota user came in without a quota; linked/mdlink without mail
    assert "quota@hostile.example" in users
    assert "linked@hostile.example" in users
