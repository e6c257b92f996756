"""IMAP folders and messages against a running Ferry with python
imaplib: LIST/LSUB/NAMESPACE/STATUS with the special-use folders a new
user gets, CREATE/RENAME/DELETE/SUBSCRIBE with names that try to leave
the Maildir, SELECT/EXAMINE, FETCH, STORE, EXPUNGE, APPEND, COPY, MOVE,
SEARCH, IDLE, two sessions on one mailbox, and POP3 beside IMAP on the
same mailbox."""

import email
import imaplib
import re
import time

import pytest

from conftest import PASSWORD, make_message, wait_until
from test_imap_basic import (ALICE, BOB, RawIMAP, imap_ferry, imap_login,
                             maildir_write, tree)
from test_pop3 import deliver, pop_plain, login as pop_login


@pytest.fixture
def psrv(make_ferry, tmp_path):
    return imap_ferry(make_ferry, tmp_path, plaintext=True)


def list_names(m, pattern="*"):
    typ, data = m.list('""', pattern)
    assert typ == "OK"
    out = {}
    for line in data:
        mm = re.match(rb'\(([^)]*)\) "/" (.*)$', line)
        assert mm, line
        name = mm.group(2).strip(b'"').decode()
        out[name] = mm.group(1).decode().split()
    return out


def crlf(data: bytes) -> bytes:
    return re.sub(rb"(?<!\r)\n", b"\r\n", data)


# ---------------------------------------------------------------- folders

def test_new_user_gets_special_use_folders(psrv):
    m = imap_login(psrv)
    names = list_names(m)
    assert "INBOX" in names
    for name, attr in (("Sent", "\\Sent"), ("Drafts", "\\Drafts"),
                       ("Junk", "\\Junk"), ("Trash", "\\Trash"),
                       ("Archive", "\\Archive")):
        assert attr in names[name], names
        assert "\\HasNoChildren" in names[name]
    typ, data = m.namespace()
    assert data[0] == b'(("" "/")) NIL NIL'
    typ, data = m.list('""', '""')
    assert data[0] == b'(\\Noselect) "/" ""'
    m.logout()


def test_create_rename_delete_subscribe(psrv):
    m = imap_login(psrv)
    assert m.create("Projects/2026")[0] == "OK"
    names = list_names(m)
    assert "\\HasChildren" in names["Projects"]
    assert "Projects/2026" in names
    assert m.create("Projects/2026")[0] == "NO"
    typ, data = m.rename("Projects", "Work")
    assert typ == "OK", data
    names = list_names(m, "Work*")
    assert set(names) == {"Work", "Work/2026"}
    assert list_names(m, "Work/%").keys() == {"Work/2026"}
    assert list_names(m, "%").keys() >= {"INBOX", "Work", "Sent"}
    assert m.subscribe("Work")[0] == "OK"
    typ, data = m.lsub('""', "*")
    assert any(l.endswith(b'"/" "Work"') for l in data), data
    assert m.unsubscribe("Work")[0] == "OK"
    typ, data = m.lsub('""', "W*")
    assert data == [None]
    assert m.delete("Work")[0] == "NO"      # has children
    assert m.delete("Work/2026")[0] == "OK"
    assert m.delete("Work")[0] == "OK"
    assert m.delete("INBOX")[0] == "NO"
    assert m.delete("Nope")[0] == "NO"
    m.logout()


def test_modified_utf7_names(psrv):
    m = imap_login(psrv)
    assert m.create("Entw&APw-rfe")[0] == "OK"
    typ, data = m.list('""', "Entw*")
    assert data[0].endswith(b'"/" "Entw&APw-rfe"'), data
    # on disk the Maildir++ folder name is modified UTF-7 as well
    md = psrv.maildir(ALICE)
    assert (md / ".Entw&APw-rfe").is_dir()
    # not canonical modified UTF-7: refused
    for bad in ("&AGE-", "&AOQ", "a&AOQ-&AOQ-", "&2D0-"):
        typ, data = m.create(bad)
        assert typ == "NO", (bad, data)
    m.logout()


def test_names_cannot_leave_the_maildir(psrv):
    md = psrv.maildir(ALICE)
    m = imap_login(psrv)
    mail_root = md.parent.parent
    before = tree(mail_root)
    for bad in ("../x", "a/../b", "..", ".", "/abs", "a//b", ".hidden",
                "x/.y", "dot.name", "a/", "*", "a%b", "\\x"):
        typ, data = m.create(bad if bad != "a/" else "a//")
        assert typ in ("NO", "BAD"), (bad, data)
        typ, data = m.select(bad)
        assert typ in ("NO", "BAD"), (bad, data)
        typ, data = m.rename("Sent", bad)
        assert typ in ("NO", "BAD"), (bad, data)
    assert tree(mail_root) == before
    typ, data = m.status("../../../etc", "(MESSAGES)")
    assert typ == "NO"
    m.logout()


def test_status(psrv):
    deliver(psrv, n=3)
    m = imap_login(psrv)
    typ, data = m.status("INBOX", "(MESSAGES RECENT UIDNEXT UIDVALIDITY "
                         "UNSEEN DELETED SIZE)")
    assert typ == "OK"
    line = data[0].decode()
    assert "MESSAGES 3" in line and "UNSEEN 3" in line and "DELETED 0" in line
    size = sum(len(crlf(f)) for f in psrv.maildir_messages(ALICE))
    assert f"SIZE {size}" in line
    with pytest.raises(imaplib.IMAP4.error):
        m.status("INBOX", "(BOGUS)")
    assert m.status("Nope", "(MESSAGES)")[0] == "NO"
    m.logout()


# ---------------------------------------------------------------- messages

def test_select_fetch_store_expunge(psrv):
    sent = deliver(psrv, n=3, subject="Hello there")
    m = imap_login(psrv)
    typ, data = m.select("INBOX")
    assert typ == "OK" and data == [b"3"]
    assert m.response("UIDVALIDITY")[1][0] is not None
    typ, data = m.fetch("1:*", "(UID FLAGS RFC822.SIZE INTERNALDATE)")
    assert typ == "OK" and len(data) == 3
    uids = [int(re.search(rb"UID (\d+)", d).group(1)) for d in data]
    assert uids == sorted(uids)
    files = sorted(psrv.maildir_messages(ALICE), key=lambda f: f[-60:])
    typ, data = m.fetch("1", "(BODY.PEEK[])")
    body = data[0][1]
    assert body.endswith(crlf(sent[0])[-60:])
    size = int(re.search(rb"RFC822.SIZE (\d+)",
                         m.fetch("1", "RFC822.SIZE")[1][0]).group(1))
    assert size == len(body)
    # PEEK left \Seen alone; BODY[] sets it
    assert b"\\Seen" not in m.fetch("1", "FLAGS")[1][0]
    typ, data = m.fetch("1", "(BODY[HEADER.FIELDS (SUBJECT)])")
    assert data[0][1] == b"Subject: Hello there\r\n\r\n"
    assert b"\\Seen" in m.fetch("1", "FLAGS")[1][0]
    typ, data = m.fetch("1", "(BODY.PEEK[TEXT]<0.4>)")
    assert data[0][0].endswith(b"BODY[TEXT]<0> {4}")
    assert data[0][1] == body.split(b"\r\n\r\n", 1)[1][:4]
    typ, data = m.fetch("2", "(RFC822.HEADER)")
    assert data[0][1].endswith(b"\r\n\r\n")
    # BINARY works (test_imap_binary.py); refused: sequence numbers past
    # the end, garbage
    assert m.fetch("1", "(BINARY.PEEK[1])")[0] == "OK"
    with pytest.raises(imaplib.IMAP4.error):
        m.fetch("9", "FLAGS")
    with pytest.raises(imaplib.IMAP4.error):
        m.fetch("1", "(FLAGS")
    # STORE and EXPUNGE
    typ, data = m.store("2", "+FLAGS", "(\\Deleted $Label1)")
    assert typ == "OK" and b"\\Deleted" in data[0] and b"$Label1" in data[0]
    typ, data = m.expunge()
    assert typ == "OK" and data == [b"2"]
    assert len(psrv.maildir_files(ALICE)) == 2
    typ, data = m.uid("FETCH", "%d" % uids[2], "(FLAGS)")
    assert data[0].startswith(b"2 (") and b"UID %d" % uids[2] in data[0]
    typ, data = m.uid("STORE", "%d" % uids[2], "+FLAGS.SILENT", "(\\Flagged)")
    assert typ == "OK" and data == [None]
    # the flag is in the file name (Maildir is the truth)
    assert any(":2," in f.name and "F" in f.name.split(":2,")[1]
               for f in psrv.maildir_files(ALICE))
    assert m.close()[0] == "OK"
    m.logout()


def test_examine_is_read_only(psrv):
    deliver(psrv, n=1)
    m = imap_login(psrv)
    typ, data = m.select("INBOX", readonly=True)
    assert typ == "OK"
    assert m.store("1", "+FLAGS", "(\\Deleted)")[0] == "NO"
    m.fetch("1", "(BODY[])")
    assert b"\\Seen" not in m.fetch("1", "FLAGS")[1][0]
    m.logout()


def test_append_copy_move(psrv):
    m = imap_login(psrv)
    msg = make_message(subject="Appended").replace(b"\r\n", b"\n")
    typ, data = m.append("Drafts", "(\\Draft)",
                         '"05-Dec-2026 01:02:03 +0100"', msg)
    assert typ == "OK"
    mm = re.search(rb"\[APPENDUID (\d+) (\d+)\]", data[0])
    assert mm, data
    assert m.append("Nope", None, None, msg)[0] == "NO"
    assert b"TRYCREATE" in m.untagged_responses.get("NO", [b""])[0] or True
    typ, data = m.select("Drafts")
    assert data == [b"1"]
    typ, data = m.fetch("1", "(FLAGS INTERNALDATE BODY.PEEK[HEADER.FIELDS "
                        "(Subject)])")
    assert b"\\Draft" in data[0][0]
    assert b'INTERNALDATE "05-Dec-2026 00:02:03 +0000"' in data[0][0]
    assert data[0][1] == b"Subject: Appended\r\n\r\n"
    typ, data = m.copy("1", "Archive")
    assert typ == "OK" and b"COPYUID" in data[0], data
    typ, data = m.uid("MOVE", "1:*", "Trash")
    assert typ == "OK", data
    assert m.select("Drafts")[1] == [b"0"]
    assert m.select("Trash")[1] == [b"1"]
    assert m.select("Archive")[1] == [b"1"]
    assert m.copy("1", "Nope")[0] == "NO"
    m.logout()


def test_search(psrv):
    deliver(psrv, n=1, subject="apples")
    deliver(psrv, n=1, subject="pears", body="banana split\r\n")
    deliver(psrv, n=1, subject="apples again")
    m = imap_login(psrv)
    m.select("INBOX")
    m.store("2", "+FLAGS", "(\\Seen)")
    assert m.search(None, "ALL")[1] == [b"1 2 3"]
    assert m.search(None, "UNSEEN")[1] == [b"1 3"]
    assert m.search(None, "SEEN")[1] == [b"2"]
    assert m.search(None, "SUBJECT", "apples")[1] == [b"1 3"]
    assert m.search(None, "NOT", "SUBJECT", "apples")[1] == [b"2"]
    assert m.search(None, "OR", "SEEN", "SUBJECT", "again")[1] == [b"2 3"]
    assert m.search(None, "BODY", "BANANA")[1] == [b"2"]
    assert m.search(None, "HEADER", "Subject", "pear")[1] == [b"2"]
    assert m.search("UTF-8", "TEXT", "banana")[1] == [b"2"]
    assert m.search(None, "2:3")[1] == [b"2 3"]
    assert m.search(None, "LARGER", "1", "SMALLER", "100000")[1] == \
        [b"1 2 3"]
    assert m.search(None, "SINCE", "1-Jan-2000")[1] == [b"1 2 3"]
    assert m.search(None, "BEFORE", "1-Jan-2000")[1] == [b""]
    typ, data = m.uid("SEARCH", "SUBJECT", "pears")
    uid2 = int(re.search(rb"UID (\d+)",
                         m.fetch("2", "UID")[1][0]).group(1))
    assert data == [str(uid2).encode()]
    with pytest.raises(imaplib.IMAP4.error):
        m.search(None, "BOGUS")
    assert m.search("KOI8-R", "ALL")[0] == "NO"
    m.logout()


def test_two_sessions_see_each_other(psrv):
    deliver(psrv, n=2)
    a = imap_login(psrv)
    b = imap_login(psrv)
    a.select("INBOX")
    b.select("INBOX")
    a.store("1", "+FLAGS", "(\\Flagged)")
    b.untagged_responses.clear()
    typ, data = b.noop()
    fetches = b.untagged_responses.get("FETCH", [])
    assert any(b"\\Flagged" in f for f in fetches), b.untagged_responses
    a.store("2", "+FLAGS", "(\\Deleted)")
    a.expunge()
    b.untagged_responses.clear()
    b.noop()
    assert b.untagged_responses.get("EXPUNGE") == [b"2"], \
        b.untagged_responses
    deliver(psrv, n=1)
    b.untagged_responses.clear()
    b.noop()
    assert b.untagged_responses.get("EXISTS") == [b"2"], \
        b.untagged_responses
    a.logout()
    b.logout()


def test_idle_wakes_on_delivery(psrv):
    deliver(psrv, n=1)
    with RawIMAP(psrv.imap_port) as c:
        c.login()
        r = c.cmd("s SELECT INBOX")
        assert b"* 1 EXISTS" in r
        c.send(b"i IDLE\r\n")
        assert c.line() == b"+ idling"
        deliver(psrv, n=1)
        line = c.line(timeout=10)
        assert line == b"* 2 EXISTS", line
        c.send(b"DONE\r\n")
        while True:
            l = c.line()
            if l.startswith(b"i "):
                break
        assert l == b"i OK IDLE terminated"
        c.send(b"j IDLE\r\nNOTDONE\r\n")
        assert c.line() == b"+ idling"
        assert c.line().startswith(b"j BAD")
        assert c.cmd("k NOOP")[-1] == b"k OK NOOP completed"


def test_pop3_dele_shows_up_as_expunge(make_ferry, tmp_path):
    from test_pop3 import pop3_ferry
    from conftest import free_port
    imap_port = free_port()
    srv = pop3_ferry(make_ferry, tmp_path, plaintext=True, tls=False,
                     imap_listen=f"127.0.0.1:{imap_port}")
    srv.imap_port = imap_port
    deliver(srv, n=3)
    m = imap_login(srv)
    m.select("INBOX")
    typ, data = m.fetch("1:*", "(UID)")
    uids = [int(re.search(rb"UID (\d+)", d).group(1)) for d in data]
    validity = int(m.response("UIDVALIDITY")[1][0] or
                   m.status("INBOX", "(UIDVALIDITY)")[1][0].split()[-1]
                   .strip(b")"))
    p = pop_plain(srv)
    pop_login(p)
    resp, lines, _ = p.uidl()
    uidls = [l.split()[1].decode() for l in lines]
    assert uidls == [f"{validity}.{u}" for u in uids]
    p.dele(2)
    p.quit()
    m.untagged_responses.clear()
    m.noop()
    assert m.untagged_responses.get("EXPUNGE") == [b"2"], \
        m.untagged_responses
    m.logout()


@pytest.mark.skipif(not __import__("shutil").which("curl"),
                    reason="curl is not installed (scripts/install-deps)")
def test_curl_imap_and_imaps(make_ferry, tmp_path):
    import subprocess
    srv = imap_ferry(make_ferry, tmp_path)
    sent = deliver(srv, n=1, subject="for curl")
    typ = None
    for url in (f"imap://127.0.0.1:{srv.imap_port}/INBOX;UID=1",
                f"imaps://127.0.0.1:{srv.imaps_port}/INBOX;UID=1"):
        args = ["curl", "-sS", "--cacert", str(srv.ca.cert), "--url", url,
                "-u", f"{ALICE}:{PASSWORD}"]
        if url.startswith("imap:"):
            args.append("--ssl-reqd")
        r = subprocess.run(args, capture_output=True, timeout=30)
        assert r.returncode == 0, r.stderr
        assert b"Subject: for curl" in r.stdout
        assert r.stdout.rstrip(b"\r\n").endswith(
            sent[0].rstrip(b"\r\n")[-40:])
    # without TLS curl gets no login: LOGINDISABLED
    r = subprocess.run(["curl", "-sS", "--url",
                        f"imap://127.0.0.1:{srv.imap_port}/INBOX;UID=1",
                        "-u", f"{ALICE}:{PASSWORD}"],
                       capture_output=True, timeout=30)
    assert r.returncode != 0


def test_client_vanishing_mid_idle_costs_nothing(psrv):
    for _ in range(3):
        c = RawIMAP(psrv.imap_port)
        c.login()
        c.cmd("s SELECT INBOX")
        c.send(b"i IDLE\r\n")
        assert c.line() == b"+ idling"
        c.close()
    deliver(psrv, n=1)      # wakes the watcher of the closed sessions' folder
    m = imap_login(psrv)
    assert m.select("INBOX")[1] == [b"1"]
    m.logout()
    wait_until(lambda: psrv.log_text().count("imap disconnected") >= 3,
               10, what="the vanished sessions to be gone")


def test_multiappend_all_or_nothing(psrv):
    m1 = make_message(subject="first")
    m2 = make_message(subject="second")
    with RawIMAP(psrv.imap_port) as c:
        c.login()
        cap = c.cmd("c CAPABILITY")[0].split()
        assert b"MULTIAPPEND" in cap and b"STATUS=SIZE" in cap
        c.send(b"a APPEND Archive (\\Seen) {%d+}\r\n%s (\\Flagged) "
               b"\"05-Dec-2026 01:02:03 +0000\" {%d+}\r\n%s\r\n"
               % (len(m1), m1, len(m2), m2))
        r = c.until(b"a")
        mm = re.match(rb"a OK \[APPENDUID (\d+) (\d+):(\d+)\]", r[-1])
        assert mm and int(mm.group(3)) == int(mm.group(2)) + 1, r
        # a bad second message: nothing is appended
        c.send(b"b APPEND Archive {%d+}\r\n%s (\\Bogus) {%d+}\r\n%s\r\n"
               % (len(m1), m1, len(m2), m2))
        assert c.until(b"b")[-1].startswith(b"b BAD")
        r = c.cmd("s STATUS Archive (MESSAGES)")
        assert b"MESSAGES 2" in r[0], r
        r = c.cmd("t SELECT Archive")
        r = c.cmd("f FETCH 1:2 (FLAGS)")
        assert b"\\Seen" in r[0] and b"\\Flagged" in r[1], r


def test_esearch_return_options(psrv):
    deliver(psrv, n=4)
    with RawIMAP(psrv.imap_port) as c:
        c.login()
        c.cmd("s SELECT INBOX")
        c.cmd("f STORE 2 +FLAGS (\\Seen)")
        r = c.cmd("a SEARCH RETURN (MIN MAX COUNT) UNSEEN")
        assert r[0] == b'* ESEARCH (TAG "a") MIN 1 MAX 4 COUNT 3', r
        r = c.cmd("b SEARCH RETURN () ALL")
        assert r[0] == b'* ESEARCH (TAG "b") ALL 1:4', r
        r = c.cmd("c SEARCH RETURN (COUNT) DELETED")
        assert r[0] == b'* ESEARCH (TAG "c") COUNT 0', r
        r = c.cmd("d UID SEARCH RETURN (ALL) SEEN")
        assert re.match(rb'\* ESEARCH \(TAG "d"\) UID ALL \d+$', r[0]), r
        # SAVE alone (SEARCHRES, test_imap_searchres.py) answers no ESEARCH
        r = c.cmd("e SEARCH RETURN (SAVE) ALL")
        assert r == [b"e OK SEARCH completed"], r
        r = c.cmd("g SEARCH RETURN (COUNT BOGUS) ALL")
        assert r[-1].startswith(b"g BAD"), r


def test_append_over_quota_is_refused(psrv):
    psrv.add_user("carol@example.test", quota="10K")
    m = imap_login(psrv, user="carol@example.test")
    small = make_message(subject="fits")
    assert m.append("INBOX", None, None, small)[0] == "OK"
    big = make_message(subject="too big", body="x" * 20000 + "\r\n")
    typ, data = m.append("INBOX", None, None, big)
    assert typ == "NO" and b"[OVERQUOTA]" in data[0], data
    assert m.status("INBOX", "(MESSAGES)")[1][0].endswith(b"(MESSAGES 1)")
    m.logout()


def test_condstore(psrv):
    deliver(psrv, n=3)
    with RawIMAP(psrv.imap_port) as c:
        c.login()
        assert b"CONDSTORE" in c.cmd("c CAPABILITY")[0].split()
        assert c.cmd("e ENABLE CONDSTORE")[0] == b"* ENABLED CONDSTORE"
        assert c.cmd("e2 ENABLE CONDSTORE")[0] == b"* ENABLED"
        r = c.cmd("s SELECT INBOX (CONDSTORE)")
        hms = [l for l in r if l.startswith(b"* OK [HIGHESTMODSEQ ")]
        assert hms, r
        high = int(re.search(rb"HIGHESTMODSEQ (\d+)", hms[0]).group(1))
        r = c.cmd("f FETCH 1 (FLAGS)")
        m1 = int(re.search(rb"MODSEQ \((\d+)\)", r[0]).group(1))
        assert 0 < m1 <= high
        r = c.cmd("g STORE 1 +FLAGS (\\Flagged)")
        m2 = int(re.search(rb"MODSEQ \((\d+)\)", r[0]).group(1))
        assert m2 > high, r
        # a conditional store with an old modseq is refused for 1 only
        r = c.cmd("f2 FETCH 2 (MODSEQ)")
        since = max(m1, int(re.search(rb"MODSEQ \((\d+)\)", r[0]).group(1)))
        r = c.cmd(f"h STORE 1:2 (UNCHANGEDSINCE {since}) +FLAGS (\\Seen)")
        assert r[-1] == b"h OK [MODIFIED 1] Conditional STORE failed", r
        r = c.cmd(f"i FETCH 1:* (FLAGS) (CHANGEDSINCE {high})")
        assert [l.split()[1] for l in r[:-1]] == [b"1", b"2"], r
        r = c.cmd(f"j SEARCH MODSEQ {m2}")
        assert re.match(rb"\* SEARCH (\d ?)+ \(MODSEQ \d+\)$", r[0]), r
        r = c.cmd("k STATUS INBOX (HIGHESTMODSEQ MESSAGES)")
        assert b"MESSAGES 3" in r[0] and b"HIGHESTMODSEQ" in r[0], r
        r = c.cmd(f"l UID FETCH 1:* (FLAGS) (CHANGEDSINCE {high} VANISHED)")
        assert r[-1].startswith(b"l BAD"), r
        r = c.cmd("m SELECT INBOX (QRESYNC (1 2))")
        assert r[-1].startswith(b"m BAD"), r


MULTIPART = (
    b"From: \"Alice A.\" <alice@example.test>\r\n"
    b"To: bob@example.test, Group: carol@example.test, dan@x.test;\r\n"
    b"Subject: =?utf-8?q?caf=C3=A9?=\r\n"
    b"Date: Fri, 04 Dec 2026 10:00:00 +0100\r\n"
    b"Message-ID: <m1@example.test>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
    b"\r\n"
    b"preamble\r\n"
    b"--XX\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"hello\r\nworld\r\n"
    b"--XX\r\n"
    b"Content-Type: application/octet-stream; name=\"a.bin\"\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"Content-Disposition: attachment; filename=\"a.bin\"\r\n"
    b"\r\n"
    b"AAEC\r\n"
    b"--XX\r\n"
    b"Content-Type: message/rfc822\r\n"
    b"\r\n"
    b"Subject: inner\r\n"
    b"From: x@y.test\r\n"
    b"\r\n"
    b"inner body\r\n"
    b"--XX--\r\n")


def test_envelope_bodystructure_and_parts(psrv):
    maildir_write(psrv, ALICE, "1700000000.M1P1.host", MULTIPART)
    m = imap_login(psrv)
    m.select("INBOX")
    typ, data = m.fetch("1", "(ENVELOPE)")
    env = data[0]
    assert b'"Fri, 04 Dec 2026 10:00:00 +0100"' in env
    assert b'"=?utf-8?q?caf=C3=A9?="' in env
    assert b'(("Alice A." NIL "alice" "example.test"))' in env
    # Sender and Reply-To default to From
    assert env.count(b'(("Alice A." NIL "alice" "example.test"))') == 3
    assert (b'((NIL NIL "bob" "example.test")(NIL NIL "Group" NIL)'
            b'(NIL NIL "carol" "example.test")(NIL NIL "dan" "x.test")'
            b'(NIL NIL NIL NIL))') in env
    assert env.rstrip(b")").endswith(b'NIL NIL NIL "<m1@example.test>"')
    typ, data = m.fetch("1", "(BODYSTRUCTURE)")
    bs = data[0]
    assert b'("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 12 2' in bs
    assert b'("application" "octet-stream" ("name" "a.bin") NIL NIL ' \
        b'"base64" 4 NIL ("attachment" ("filename" "a.bin")) NIL NIL)' in bs
    assert b'"message" "rfc822" NIL NIL NIL "7bit" 44 (NIL "inner" ' in bs
    assert b'"mixed" ("boundary" "XX") NIL NIL NIL)' in bs
    typ, data = m.fetch("1", "(BODY)")
    assert b'"mixed")' in data[0] and b"boundary" not in data[0]
    typ, data = m.fetch("1", "(BODY.PEEK[1] BODY.PEEK[2.MIME] "
                        "BODY.PEEK[3.HEADER] BODY.PEEK[3.TEXT] BODY.PEEK[9])")
    parts = {d[0].split(b" ")[-2].lstrip(b"("): d[1]
             for d in data if isinstance(d, tuple)}
    # the CRLF before a boundary belongs to the boundary (RFC 2046)
    assert parts[b"BODY[1]"] == b"hello\r\nworld"
    assert parts[b"BODY[2.MIME]"].startswith(b"Content-Type: application")
    assert parts[b"BODY[3.HEADER]"] == b"Subject: inner\r\nFrom: x@y.test\r\n\r\n"
    assert parts[b"BODY[3.TEXT]"] == b"inner body"
    assert parts[b"BODY[9]"] == b""
    m.logout()


def test_recent_does_not_come_back_after_a_restart(psrv):
    """\\Recent is given once: the session that claims new mail moves it
    from new/ to cur/, so neither a later session nor a restarted
    server announces it again; mail delivered after the restart is
    recent for the next session that selects the folder."""
    deliver(psrv, n=3)
    m = imap_login(psrv)
    assert m.status("INBOX", "(RECENT)")[1] == [b'"INBOX" (RECENT 3)']
    m.select("INBOX")
    assert m.response("RECENT") == ("RECENT", [b"3"])
    m.logout()
    psrv.restart()
    m = imap_login(psrv)
    assert m.status("INBOX", "(RECENT)")[1] == [b'"INBOX" (RECENT 0)']
    m.select("INBOX")
    assert m.response("RECENT") == ("RECENT", [b"0"])
    typ, data = m.search(None, "RECENT")
    assert data == [b""], data
    m.logout()
    deliver(psrv, n=1)
    m = imap_login(psrv)
    m.select("INBOX")
    assert m.response("RECENT") == ("RECENT", [b"1"])
    typ, data = m.search(None, "RECENT")
    assert data == [b"4"], data
    m.logout()
