"""Roundcube webmail (Debian's package, served by `php -S`) against Ferry,
driven in Debian's chromium by tests/browser/roundcube.js.

Ferry has alice@ and bob@, IMAP with STARTTLS and submission with
STARTTLS + AUTH; Roundcube verifies the test CA on both.  Roundcube's
config names other folders for Sent, Drafts, Junk and Trash than the ones
Ferry creates, so it finds them only through their special-use
attributes.  In one browser session: log in, check the folder list, open
a message delivered by SMTP, sort the list by subject and show it as
threads (server-side SORT and THREAD), find one with an RFC
2047-encoded subject by Roundcube's quick search, compose and send one to bob, move one to
Archive, delete one, log out.  Afterwards the server side is checked
through the Maildirs and imaplib: bob got the message, alice's Sent has
the copy, the moved and deleted messages are where Roundcube put them.

Skipped (saying what is missing) only when scripts/install-deps could not
install roundcube, php, chromium, node or playwright-core."""

import email
import email.policy
import imaplib

import pytest

from certs import client_context, make_tls_ferry
from conftest import PASSWORD, free_port, make_message, tcp_listening, wait_until
from roundcube import RoundcubeServer, roundcube_missing, run_browser

MISSING = roundcube_missing()
pytestmark = pytest.mark.skipif(
    MISSING is not None, reason=f"Roundcube test needs packages: {MISSING}")

ALICE = "alice@example.test"
BOB = "bob@example.test"

OPEN = {"subject": "Welcome to Ferry webmail",
        "body": "This message came in over SMTP before the login.",
        "msgid": "<welcome.1@remote.example>"}
# A reply to OPEN: sorted by subject it follows OPEN (same base subject,
# later message), and in the threads view it is folded under OPEN.
REPLY = {"subject": "Re: Welcome to Ferry webmail",
         "body": "Thanks!",
         "headers": ("In-Reply-To: <welcome.1@remote.example>",
                     "References: <welcome.1@remote.example>")}
MOVE = {"subject": "Please file me", "folder": "Archive"}
# Sent RFC 2047-encoded; Roundcube shows it decoded and its quick search
# (SUBJECT and FROM, UTF-8) must find it by a folded word of it.
DELETE = {"subject": "Grüße – throw me away",
          "raw": "=?utf-8?q?Gr=C3=BC=C3=9Fe_=E2=80=93_throw_me_away?="}
SEARCH = {"text": "GRÜßE", "subject": DELETE["subject"]}
COMPOSE = {"to": BOB, "subject": "Greetings from Roundcube",
           "body": "Written in chromium, sent through Ferry's submission port."}

# (folder, label shown, class Roundcube gives the folder of that role)
FOLDERS = [("INBOX", "Inbox", "inbox"), ("Drafts", "Drafts", "drafts"),
           ("Sent", "Sent", "sent"), ("Junk", "Junk", "junk"),
           ("Trash", "Trash", "trash"), ("Archive", "Archive", None)]


@pytest.fixture
def webmail(make_ferry, tmp_path):
    imap_port = free_port()
    srv = make_tls_ferry(make_ferry, tmp_path, submissions=False,
                         overrides={"imap_listen": f"127.0.0.1:{imap_port}"})
    srv.imap_port = imap_port
    wait_until(lambda: tcp_listening(imap_port), 10, what="the IMAP listener")
    for m in (OPEN, MOVE, DELETE, REPLY):
        with srv.smtp() as s:
            s.sendmail("friend@remote.example", [ALICE], make_message(
                subject=m.get("raw", m["subject"]),
                sender="friend@remote.example", msgid=m.get("msgid"),
                extra_headers=m.get("headers", ()),
                body=m.get("body", "Nothing much.") + "\r\n"))
        srv.wait_delivered(ALICE, (OPEN, MOVE, DELETE, REPLY).index(m) + 1)
    rc = RoundcubeServer(tmp_path / "roundcube", srv, overrides={
        # Names Ferry does not use: Roundcube must take the folders for
        # these roles from the special-use attributes in LIST.
        "drafts_mbox": "Entwurf", "sent_mbox": "Gesendet",
        "junk_mbox": "Spam", "trash_mbox": "Papierkorb",
        "create_default_folders": False,
    })
    rc.start()
    yield srv, rc
    rc.stop()


def imap(srv):
    m = imaplib.IMAP4("127.0.0.1", srv.imap_port, timeout=15)
    m.starttls(client_context(srv.ca))
    m.login(ALICE, PASSWORD)
    return m


def folder_messages(m, folder):
    """{subject: (flags, message)} of a folder, read with imaplib."""
    typ, _ = m.select(f'"{folder}"', readonly=True)
    assert typ == "OK", folder
    typ, data = m.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[])")
    assert typ == "OK", data
    out = {}
    for item in data:
        if not isinstance(item, tuple):
            continue
        msg = email.message_from_bytes(item[1], policy=email.policy.default)
        out[str(msg["Subject"])] = (item[0].decode(), msg)
    return out


def test_roundcube_in_chromium(webmail, tmp_path):
    srv, rc = webmail
    shots = tmp_path / "shots"
    shots.mkdir()
    r = run_browser("roundcube.js", {
        "url": rc.url, "user": ALICE, "password": PASSWORD,
        "folders": [{"name": n, "label": l, "role": c} for n, l, c in FOLDERS],
        "open": OPEN,
        "sorted": [DELETE["subject"], MOVE["subject"], OPEN["subject"],
                   REPLY["subject"]],
        "thread": {"root": OPEN["subject"], "reply": REPLY["subject"]},
        "search": SEARCH, "compose": COMPOSE, "move": MOVE,
        "delete": DELETE,
        "sentFolder": "Sent", "trashFolder": "Trash", "shots": str(shots),
    })
    steps = [l for l in r.stdout.splitlines() if l.startswith("ok ")]
    assert r.returncode == 0, (
        f"browser run failed (exit {r.returncode})\n--- stdout ---\n{r.stdout}"
        f"\n--- stderr ---\n{r.stderr}\n{rc.logs()}\n--- ferry log ---\n"
        f"{srv.log_tail(60)}")
    assert [l.split(":")[0] for l in steps] == [
        "ok login", "ok folders", "ok open", "ok sort", "ok threads",
        "ok search", "ok compose",
        "ok move", "ok delete", "ok logout"], r.stdout

    # bob got the message through submission, from alice, with the text.
    got = srv.wait_delivered(BOB, 1)
    msg = email.message_from_bytes(got[-1], policy=email.policy.default)
    assert msg["Subject"] == COMPOSE["subject"]
    assert ALICE in str(msg["From"])
    assert COMPOSE["body"] in msg.get_body(("plain",)).get_content()

    m = imap(srv)
    try:
        sent = folder_messages(m, "Sent")
        assert COMPOSE["subject"] in sent, sent.keys()
        assert "\\Seen" in sent[COMPOSE["subject"]][0]
        assert BOB in str(sent[COMPOSE["subject"]][1]["To"])

        inbox = folder_messages(m, "INBOX")
        assert set(inbox) == {OPEN["subject"], REPLY["subject"]}, inbox.keys()
        assert "\\Seen" in inbox[OPEN["subject"]][0]   # opened in the browser

        archive = folder_messages(m, "Archive")
        assert set(archive) == {MOVE["subject"]}, archive.keys()
        trash = folder_messages(m, "Trash")
        assert set(trash) == {DELETE["subject"]}, trash.keys()
        for f in ("Drafts", "Junk"):
            assert folder_messages(m, f) == {}, f
        m.logout()
    finally:
        try:
            m.shutdown()
        except OSError:
            pass

    # The same seen from the Maildir.
    md = srv.maildir(ALICE)
    for folder, subject in ((".Archive", MOVE["subject"]),
                            (".Trash", DELETE["raw"]),
                            (".Sent", COMPOSE["subject"])):
        files = [p for sub in ("new", "cur") for p in (md / folder / sub).iterdir()]
        assert len(files) == 1, (folder, files)
        assert f"Subject: {subject}".encode() in files[0].read_bytes()
