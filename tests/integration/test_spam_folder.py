"""spam_folder: mail that spamd (a real SpamAssassin, see scanners.py)
tags as spam is filed into the recipient's Junk folder at local delivery,
on the direct path and through the queue; clean mail stays in INBOX;
without the setting the subject tag alone remains.  The Junk folder made
by delivery is the one IMAP shows as \\Junk, and it counts in the user's
quota.  Bad values are refused when the configuration is loaded."""

import imaplib
import re

import pytest

from conftest import PASSWORD, header, make_message, wait_until
from scanners import GTUBE, spamd_server  # noqa: F401 (fixture)
from test_imap_basic import imap_ferry

RCPT = "alice@example.test"
SENDER = "sender@remote.example"


def gtube_message(subject="gtube"):
    return make_message(subject=subject,
                        body="Buy now.\r\n" + GTUBE.decode() + "\r\n")


def send(srv, data, rcpts=(RCPT,)):
    with srv.raw() as c:
        return c.send_message(SENDER, list(rcpts), data)


def folder_files(srv, address, folder):
    md = srv.maildir(address)
    d = md / f".{folder}" if folder else md
    return sorted(p for sub in ("new", "cur") if (d / sub).is_dir()
                  for p in (d / sub).iterdir())


@pytest.mark.parametrize("direct", ["yes", "no"])
def test_spam_goes_to_junk(make_ferry, spamd_server, direct):
    srv = make_ferry({"spamd": spamd_server.target, "spam_folder": "Junk",
                      "direct_delivery": direct})
    assert send(srv, gtube_message(subject="offer")).code == 250
    wait_until(lambda: len(folder_files(srv, RCPT, "Junk")) == 1,
               what="a message in Junk")
    msg = folder_files(srv, RCPT, "Junk")[0].read_bytes()
    assert header(msg, "Subject") == [":SPAM: offer"]
    assert header(msg, "X-Spam-Status")[0].startswith("Yes,")
    assert header(msg, "Delivered-To") == [RCPT]
    assert folder_files(srv, RCPT, None) == []
    # clean mail still goes to INBOX
    assert send(srv, make_message(
        subject="lunch",
        body="Hello Alice,\r\nlunch on Thursday?\r\nBob\r\n")).code == 250
    wait_until(lambda: len(folder_files(srv, RCPT, None)) == 1,
               what="a message in INBOX")
    assert len(folder_files(srv, RCPT, "Junk")) == 1
    srv.wait_log(r"delivered|result=sent")


def test_spam_for_several_recipients(make_ferry, spamd_server):
    srv = make_ferry({"spamd": spamd_server.target, "spam_folder": "Junk"})
    assert send(srv, gtube_message(),
                rcpts=(RCPT, "bob@example.test")).code == 250
    for a in (RCPT, "bob@example.test"):
        wait_until(lambda: len(folder_files(srv, a, "Junk")) == 1,
                   what=f"junk for {a}")
        assert folder_files(srv, a, None) == []


def test_without_spam_folder_only_the_tag(make_ferry, spamd_server):
    srv = make_ferry({"spamd": spamd_server.target})
    assert send(srv, gtube_message(subject="x")).code == 250
    msg = srv.wait_delivered(RCPT)[0]
    assert header(msg, "Subject") == [":SPAM: x"]
    assert not (srv.maildir(RCPT) / ".Junk").exists()


def test_junk_from_delivery_is_the_imap_junk_folder(make_ferry, tmp_path,
                                                     spamd_server):
    srv = imap_ferry(make_ferry, tmp_path, plaintext=True,
                     spamd=spamd_server.target, spam_folder="Junk")
    # the first delivery comes before the user ever logged in to IMAP
    assert send(srv, gtube_message(subject="first")).code == 250
    wait_until(lambda: len(folder_files(srv, RCPT, "Junk")) == 1,
               what="a message in Junk")
    m = imaplib.IMAP4("127.0.0.1", srv.imap_port, timeout=10)
    m.login(RCPT, PASSWORD)
    typ, data = m.list('""', "Junk")
    assert typ == "OK" and b"\\Junk" in data[0], data
    typ, data = m.select("Junk")
    assert typ == "OK" and data == [b"1"], data
    typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert b":SPAM: first" in data[0][1]
    assert m.select("INBOX")[1] == [b"0"]
    m.logout()


def test_spam_folder_by_special_use(make_ferry, tmp_path, spamd_server):
    """spam_folder = \\Junk files spam into whichever folder has the
    \\Junk attribute: Junk before the first login (which then gives it
    the attribute), the renamed folder after a RENAME, INBOX once the
    user deleted it."""
    srv = imap_ferry(make_ferry, tmp_path, plaintext=True,
                     spamd=spamd_server.target, spam_folder="\\Junk")
    assert send(srv, gtube_message(subject="one")).code == 250
    wait_until(lambda: len(folder_files(srv, RCPT, "Junk")) == 1,
               what="a message in Junk")
    m = imaplib.IMAP4("127.0.0.1", srv.imap_port, timeout=10)
    m.login(RCPT, PASSWORD)
    typ, data = m.list('""', "Junk")
    assert typ == "OK" and b"\\Junk" in data[0], data
    # the user renames the folder: the attribute and the spam follow
    assert m.rename("Junk", "Spam/Caught")[0] == "OK"
    typ, data = m.list('""', "Spam/Caught")
    assert b"\\Junk" in data[0], data
    assert send(srv, gtube_message(subject="two")).code == 250
    wait_until(lambda: len(folder_files(srv, RCPT, "Spam.Caught")) == 2,
               what="a second message in Spam/Caught")
    assert not (srv.maildir(RCPT) / ".Junk").exists()
    # without a \\Junk folder, spam stays in INBOX (tagged)
    assert m.delete("Spam/Caught")[0] == "OK"
    assert send(srv, gtube_message(subject="three")).code == 250
    wait_until(lambda: len(folder_files(srv, RCPT, None)) == 1,
               what="spam in INBOX")
    msg = folder_files(srv, RCPT, None)[0].read_bytes()
    assert header(msg, "Subject") == [":SPAM: three"]
    assert not (srv.maildir(RCPT) / ".Junk").exists()
    # another user's first spam: Junk again
    assert send(srv, gtube_message(subject="four"),
                rcpts=("bob@example.test",)).code == 250
    wait_until(lambda: len(folder_files(srv, "bob@example.test",
                                        "Junk")) == 1, what="bob's Junk")
    m.logout()


def test_junk_counts_in_the_quota(make_ferry, spamd_server):
    srv = make_ferry({"spamd": spamd_server.target, "spam_folder": "Junk"})
    srv.add_user("carol@example.test", quota="100K")
    srv.add_user("dave@example.test", quota="2K")
    assert send(srv, gtube_message(),
                rcpts=("carol@example.test",)).code == 250
    wait_until(lambda: len(folder_files(srv, "carol@example.test",
                                        "Junk")) == 1, what="junk")
    md = srv.maildir("carol@example.test")
    size = folder_files(srv, "carol@example.test", "Junk")[0].stat().st_size
    lines = (md / "maildirsize").read_text().splitlines()
    assert lines[0] == "102400S" and f"{size} 1" in lines[1:], lines
    assert not (md / ".Junk" / "maildirsize").exists()
    # over the quota, Junk or not: not delivered
    big = make_message(subject="big", body="Buy now.\r\n" + GTUBE.decode() +
                       "\r\n" + "padding line\r\n" * 300)
    assert send(srv, big, rcpts=("dave@example.test",)).code == 552
    srv.wait_log(r"smtp over-quota rcpt=dave@example\.test ")
    assert folder_files(srv, "dave@example.test", "Junk") == []


@pytest.mark.parametrize("bad", ["../x", "a.b", "INBOX", "inbox", "a//b",
                                 "/Junk", "Junk/", "x\x01y", "*", "a%b",
                                 "\\Bogus", "\\", "\\Junk/x",
                                 "\\Recent"])
def test_bad_spam_folder_refused(ferry, bad):
    ferry.conf_path.write_text(ferry.conf_path.read_text() +
                               f"spam_folder = {bad}\n")
    r = ferry.cli("reload")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "spam_folder" in r.stderr, r.stderr


@pytest.mark.parametrize("good", ["off", "Junk", "Spam/Filtered", "\\Junk",
                                  "\\junk"])
def test_good_spam_folder_accepted(ferry, good):
    ferry.conf_path.write_text(ferry.conf_path.read_text() +
                               f"spam_folder = {good}\n")
    r = ferry.cli("reload")
    assert r.returncode == 0, r.stdout + r.stderr
