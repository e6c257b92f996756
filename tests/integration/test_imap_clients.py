"""Real IMAP clients against Ferry, as their users run them: mutt
(scripted in a pseudo-terminal over imaps://), isync's mbsync (a local
Maildir synced both ways), fetchmail over IMAP (keep and no-keep) and
curl (imap:// with STARTTLS, imaps://).  Every test checks what the
client did: message contents in Ferry's Maildir or in what the client
wrote, not just its exit status.  The clients come from Debian
(scripts/install-deps); a test skips when its client is missing."""

import os
import pty
import re
import select
import shutil
import signal
import subprocess
import time

import pytest

from conftest import (PASSWORD, header, make_message, maildir_order,
                      wait_until)
import imaplib

from certs import client_context
from test_imap_basic import ALICE, imap_ferry
from test_pop3 import deliver


def need(tool):
    return pytest.mark.skipif(shutil.which(tool) is None,
                              reason=f"{tool} is not installed "
                              "(scripts/install-deps)")


def imap_login(srv):
    m = imaplib.IMAP4_SSL("127.0.0.1", srv.imaps_port, timeout=10,
                          ssl_context=client_context(srv.ca))
    m.login(ALICE, PASSWORD)
    return m


@pytest.fixture
def srv(make_ferry, tmp_path):
    return imap_ferry(make_ferry, tmp_path)


def folder_messages(srv, folder, user=ALICE):
    """Messages (bytes) of a folder in the user's Maildir, in delivery
    order, with their Maildir flag letters."""
    md = srv.maildir(user)
    d = md if folder == "INBOX" else md / ("." + folder.replace("/", "."))
    out = []
    for sub in ("new", "cur"):
        p = d / sub
        if p.is_dir():
            for f in sorted(p.iterdir(), key=maildir_order):
                flags = f.name.split(":2,", 1)[1] if ":2," in f.name else ""
                out.append((f.read_bytes(), flags))
    return out


def crlf_to_lf(data):
    return data.replace(b"\r\n", b"\n")


def subject(msg):
    m = re.search(rb"^Subject: (.*?)\r?$", msg, re.M)
    return m.group(1).decode() if m else None


def subjects(msgs):
    return sorted(subject(m) for m, _ in msgs)


def run_in_pty(argv, env, timeout=60.0):
    """Runs argv with a pseudo-terminal as its terminal (mutt wants one)
    and returns (exit status, everything it wrote).  Killed after
    timeout seconds (then the status is None)."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execvpe(argv[0], argv, env)
        finally:
            os._exit(127)
    out = b""
    deadline = time.monotonic() + timeout
    status = None
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return None, out
            r, _, _ = select.select([fd], [], [], min(left, 1.0))
            if r:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    break
                out += chunk
        _, st = os.waitpid(pid, 0)
        status = os.waitstatus_to_exitcode(st)
    finally:
        os.close(fd)
    return status, out


# ---------------------------------------------------------------- mutt

@need("mutt")
def test_mutt_read_save_delete_sync(srv, tmp_path):
    sent = [deliver(srv, n=1, subject=f"mutt {i}",
                    body=f"Body of mutt message {i}.\r\n")[0]
            for i in range(3)]
    orig = [crlf_to_lf(m) for m, _ in folder_messages(srv, "INBOX")]
    assert [subject(m) for m in orig] == ["mutt 0", "mutt 1", "mutt 2"]
    home = tmp_path / "mutt-home"
    home.mkdir()
    read1, read2 = home / "read1.txt", home / "read2.txt"
    rc = home / "muttrc"
    rc.write_text(f"""\
set folder="imaps://alice%40example.test@127.0.0.1:{srv.imaps_port}/"
set spoolfile="+INBOX"
set imap_pass="{PASSWORD}"
set ssl_ca_certificates_file="{srv.ca.cert}"
set certificate_file="{home}/certificates"
set ssl_force_tls=yes
set header_cache="" message_cachedir=""
set imap_check_subscribed=no mail_check_stats=no
set sort=mailbox-order
set confirmcreate=no confirmappend=no delete=yes quit=yes move=no
set wait_key=no sleep_time=0 beep=no pipe_decode=no
set record="" postponed="+Drafts" mbox_type=Maildir
""")
    # one push: mutt puts each push at the front of its input
    keys = (f"<first-entry><pipe-message>cat > {read1}<enter>"
            "<save-message>=Saved<enter>"
            "<first-entry><next-entry><delete-message>"
            "<sync-mailbox>"
            f"<change-folder>=Saved<enter><first-entry>"
            f"<pipe-message>cat > {read2}<enter>"
            "<quit>")
    with open(rc, "a") as f:
        f.write(f'push "{keys}"\n')
    env = {"HOME": str(home), "TERM": "vt100", "PATH": os.environ["PATH"],
           "LANG": "C.UTF-8"}
    status, out = run_in_pty(["mutt", "-n", "-F", str(rc)], env)
    assert status == 0, (status, out[-3000:])
    # mutt read the first message's text through FETCH
    assert crlf_to_lf(read1.read_bytes()) == orig[0]
    # saved (UID COPY) into a folder it created, read back from there
    assert [crlf_to_lf(m) for m, _ in folder_messages(srv, "Saved")] == \
        [orig[0]]
    assert crlf_to_lf(read2.read_bytes()) == orig[0]
    # the saved one and the deleted one are expunged from INBOX
    assert [crlf_to_lf(m) for m, _ in folder_messages(srv, "INBOX")] == \
        [orig[2]]


# ---------------------------------------------------------------- mbsync

def local_maildir_write(d, data, flags=""):
    for sub in ("tmp", "new", "cur"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    name = f"{time.time_ns()}.P{os.getpid()}.local"
    if flags:
        p = d / "cur" / f"{name}:2,{flags}"
    else:
        p = d / "new" / name
    p.write_bytes(data)
    return p


def no_tuid(data):
    return re.sub(rb"X-TUID: \S+\n", b"", crlf_to_lf(data))


def local_messages(d):
    """(bytes, flags) of a local Maildir folder, by subject."""
    out = []
    for sub in ("new", "cur"):
        p = d / sub
        if p.is_dir():
            for f in p.iterdir():
                flags = f.name.split(":2,", 1)[1] if ":2," in f.name else ""
                out.append((f.read_bytes(), flags))
    return sorted(out, key=lambda x: subject(x[0]) or "")


def local_file(d, subj):
    for sub in ("new", "cur"):
        for f in (d / sub).iterdir():
            if subject(f.read_bytes()) == subj:
                return f
    raise AssertionError(f"no local message {subj!r} in {d}")


def tree_snapshot(root):
    """{relative path: bytes} of every file under root, for "nothing
    changed" checks (mbsync's state files aside)."""
    out = {}
    for p in root.rglob("*"):
        if p.is_file() and not p.name.startswith(".mbsync") and \
                ".uidvalidity" not in p.name and "ferry-" not in p.name \
                and "dovecot" not in p.name:
            out[str(p.relative_to(root))] = p.read_bytes()
    return out


@need("mbsync")
def test_mbsync_both_ways(srv, tmp_path):
    local = tmp_path / "local"
    local.mkdir()
    rc = tmp_path / "mbsyncrc"
    rc.write_text(f"""\
IMAPAccount ferry
Host localhost
Port {srv.imaps_port}
User {ALICE}
Pass {PASSWORD}
SSLType IMAPS
CertificateFile {srv.ca.cert}

IMAPStore far
Account ferry

MaildirStore near
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel ferry
Far :far:
Near :near:
Patterns *
Create Both
Remove None
Expunge Both
SyncState *
""")

    def mbsync():
        r = subprocess.run(["mbsync", "-c", str(rc), "-V", "-a"],
                           capture_output=True, text=True, timeout=60,
                           env={**os.environ, "HOME": str(tmp_path)})
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout + r.stderr

    # Ferry: two messages in INBOX, one in a folder Projects
    deliver(srv, n=1, subject="far 1")
    deliver(srv, n=1, subject="far 2")
    m = imap_login(srv)
    assert m.create("Projects")[0] == "OK"
    assert m.append("Projects", r"(\Seen)", None,
                    make_message(subject="far project"))[0] == "OK"
    m.logout()
    # local: one new message in INBOX, a new folder with one message
    local_maildir_write(local / "INBOX", make_message(subject="near 1"))
    local_maildir_write(local / "Local", make_message(subject="near local"),
                        flags="F")

    mbsync()
    assert subjects(local_messages(local / "INBOX")) == \
        ["far 1", "far 2", "near 1"]
    assert subjects(local_messages(local / "Projects")) == ["far project"]
    assert local_messages(local / "Projects")[0][1] == "S"
    assert subjects(folder_messages(srv, "INBOX")) == \
        ["far 1", "far 2", "near 1"]
    assert [(subject(d), f) for d, f in folder_messages(srv, "Local")] == \
        [("near local", "F")]
    # contents arrive whole both ways
    near1 = [d for d, _ in folder_messages(srv, "INBOX")
             if subject(d) == "near 1"][0]
    # (mbsync adds its X-TUID header to what it copies)
    assert no_tuid(near1) == no_tuid(
        local_file(local / "INBOX", "near 1").read_bytes())
    far1 = [d for d, _ in folder_messages(srv, "INBOX")
            if subject(d) == "far 1"][0]
    assert no_tuid(local_file(local / "INBOX", "far 1").read_bytes()) == \
        no_tuid(far1)

    # flags and deletions, both ways
    f = local_file(local / "INBOX", "far 1")         # flag it locally
    base = f.name.split(":2,", 1)[0]
    f.rename(local / "INBOX" / "cur" / f"{base}:2,FS")
    local_file(local / "INBOX", "near 1").unlink()    # delete locally
    m = imap_login(srv)
    m.select("INBOX")
    typ, data = m.search(None, "SUBJECT", '"far 2"')
    assert m.store(data[0].decode(), "+FLAGS", r"(\Answered)")[0] == "OK"
    m.select("Projects")
    m.store("1", "+FLAGS", r"(\Deleted)")
    m.expunge()                                       # delete on Ferry
    m.logout()
    mbsync()
    # (mbsync fetches with BODY.PEEK: "far 2" stays unseen)
    assert [(subject(d), f) for d, f in folder_messages(srv, "INBOX")] == \
        [("far 1", "FS"), ("far 2", "R")]
    assert [(subject(d), f) for d, f in local_messages(local / "INBOX")] \
        == [("far 1", "FS"), ("far 2", "R")]
    assert local_messages(local / "Projects") == []
    assert folder_messages(srv, "Projects") == []

    # a third run changes nothing on either side
    before = (tree_snapshot(local), tree_snapshot(srv.maildir(ALICE)))
    out = mbsync()
    assert (tree_snapshot(local), tree_snapshot(srv.maildir(ALICE))) == \
        before, out


# ---------------------------------------------------------------- fetchmail

@need("fetchmail")
def test_fetchmail_keep_and_nokeep(srv, tmp_path):
    home = tmp_path / "fm-home"
    out = home / "out"
    out.mkdir(parents=True)
    mda = home / "mda.sh"
    mda.write_text(f'#!/bin/sh\nexec cat > "$(mktemp {out}/msg.XXXXXXXX)"\n')
    mda.chmod(0o755)

    def fetchmail(keep=True, fetchall=False):
        rc = home / "fetchmailrc"
        rc.write_text(f"""\
set no bouncemail
poll 127.0.0.1 protocol IMAP port {srv.imap_port}
  user "{ALICE}" there with password "{PASSWORD}" is "nobody" here
  sslproto "TLS1.2+" sslcertck sslcertfile "{srv.ca.cert}"
  sslcommonname "mx.example.test"
  folder INBOX
  mda "{mda}"
  {"keep" if keep else "no keep"} {"fetchall" if fetchall else ""}
""")
        rc.chmod(0o600)
        r = subprocess.run(["fetchmail", "-f", str(rc), "--nosyslog", "-v",
                            "--invisible",
                            "--idfile", str(home / "ids"),
                            "--pidfile", str(home / "pid")],
                           capture_output=True, text=True, timeout=60,
                           env={**os.environ, "HOME": str(home)})
        # 0: mail fetched, 1: no mail
        assert r.returncode in (0, 1), r.stdout + r.stderr
        assert "STARTTLS" in r.stdout + r.stderr, r.stdout + r.stderr
        return r.returncode

    def fetched():
        return sorted(crlf_to_lf(p.read_bytes()) for p in out.iterdir())

    deliver(srv, n=3)
    on_ferry = sorted(crlf_to_lf(m) for m, _ in folder_messages(srv, "INBOX"))
    assert fetchmail(keep=True) == 0
    assert fetched() == on_ferry
    # kept, and marked \Seen on Ferry
    assert [f for _, f in folder_messages(srv, "INBOX")] == ["S"] * 3
    # a rerun fetches nothing (they are seen)
    assert fetchmail(keep=True) == 1
    assert len(fetched()) == 3

    new = deliver(srv, n=1, subject="for no keep")
    assert fetchmail(keep=False) == 0
    got = fetched()
    assert len(got) == 4
    assert [m for m in got if b"Subject: for no keep" in m] and \
        len(folder_messages(srv, "INBOX")) == 3
    assert fetchmail(keep=False) == 1
    assert len(fetched()) == 4
    # fetchall without keep: the three old ones too, deleted on Ferry
    assert fetchmail(keep=False, fetchall=True) == 0
    assert len(fetched()) == 7
    assert folder_messages(srv, "INBOX") == []
    assert fetchmail(keep=False, fetchall=True) == 1
    assert len(fetched()) == 7
    assert new


# ---------------------------------------------------------------- curl

@need("curl")
@pytest.mark.parametrize("scheme", ["imap", "imaps"])
def test_curl_list_examine_fetch_search_append(srv, tmp_path, scheme):
    port = srv.imap_port if scheme == "imap" else srv.imaps_port
    base = f"{scheme}://127.0.0.1:{port}"

    def curl(url, *extra):
        args = ["curl", "-sS", "--max-time", "30", "--cacert",
                str(srv.ca.cert), "-u", f"{ALICE}:{PASSWORD}", *extra,
                "--url", base + url]
        if scheme == "imap":
            args.append("--ssl-reqd")      # STARTTLS or fail
        r = subprocess.run(args, capture_output=True, timeout=60)
        assert r.returncode == 0, (args, r.stderr)
        return r.stdout

    deliver(srv, n=1, subject="first for curl")
    deliver(srv, n=1, subject="needle for curl")
    stored = [m for m, _ in folder_messages(srv, "INBOX")]

    listing = curl("/")
    names = re.findall(rb'^\* LIST \([^)]*\) "/" "?([^"\r\n]+)"?\r?$',
                       listing, re.M)
    assert {b"INBOX", b"Sent", b"Drafts", b"Trash"} <= set(names), listing
    assert re.search(rb'^\* LIST \([^)]*\\Sent[^)]*\) "/" "?Sent',
                     listing, re.M), listing

    ex = curl("/", "-X", "EXAMINE INBOX")
    assert re.search(rb"^\* 2 EXISTS\r?$", ex, re.M), ex
    assert b"[READ-ONLY]" in ex or b"UIDVALIDITY" in ex, ex

    # FETCH by UID: the whole stored message, and its text section
    assert curl("/INBOX;UID=2") == stored[1]
    assert curl("/INBOX;UID=2/;SECTION=TEXT") == \
        stored[1].split(b"\r\n\r\n", 1)[1]

    found = curl("/INBOX?SUBJECT%20needle")
    assert re.search(rb"^\* SEARCH 2\r?$", found, re.M), found

    up = tmp_path / f"upload-{scheme}.eml"
    msg = make_message(subject=f"uploaded by curl over {scheme}",
                       body="Drafted with curl.\r\n")
    up.write_bytes(msg)
    curl("/Drafts", "-T", str(up))
    drafts = [m for m, _ in folder_messages(srv, "Drafts")]
    assert drafts == [msg]


# ---------------------------------------------------------------- POP3

def test_pop3_dele_shows_up_in_imap_idle(make_ferry, tmp_path):
    """POP3 and IMAP on one mailbox at once: UIDL is UIDVALIDITY.UID of
    the IMAP UIDs, and a POP3 DELE (committed at QUIT) wakes an IMAP
    session in IDLE with the EXPUNGE of that message's sequence number;
    what is left keeps its UIDs."""
    from conftest import free_port, mailbox_ferry
    from test_imap_basic import RawIMAP
    from test_pop3 import login as pop_login, pop_plain
    srv = mailbox_ferry(make_ferry, tmp_path, "pop3", plaintext=True,
                        tls=False, imap_listen=f"127.0.0.1:{free_port()}")
    srv.imap_port = int(srv.conf["imap_listen"].rsplit(":", 1)[1])
    deliver(srv, n=3)
    with RawIMAP(srv.imap_port) as c:
        c.login()
        r = c.cmd("s SELECT INBOX")
        validity = int(re.search(rb"UIDVALIDITY (\d+)", b" ".join(r))
                       .group(1))
        r = c.cmd("f FETCH 1:* (UID)")
        uids = [int(x) for x in re.findall(rb"UID (\d+)", b" ".join(r))]
        assert len(uids) == 3
        p = pop_plain(srv)
        pop_login(p)
        _, lines, _ = p.uidl()
        assert [l.split()[1].decode() for l in lines] == \
            [f"{validity}.{u}" for u in uids]
        c.send(b"i IDLE\r\n")
        assert c.line() == b"+ idling"
        p.dele(2)
        p.quit()
        assert c.line(timeout=10) == b"* 2 EXPUNGE"
        c.send(b"DONE\r\n")
        assert c.until(b"i")[-1] == b"i OK IDLE terminated"
        r = c.cmd("g FETCH 1:* (UID)")
        assert [int(x) for x in re.findall(rb"UID (\d+)", b" ".join(r))] \
            == [uids[0], uids[2]]
    p = pop_plain(srv)
    pop_login(p)
    _, lines, _ = p.uidl()
    assert [l.split()[1].decode() for l in lines] == \
        [f"{validity}.{uids[0]}", f"{validity}.{uids[2]}"]
    p.quit()
