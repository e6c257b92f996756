"""The delivery history in the store (issue 12, `history_keep`): the
queue records each message's arrival and every attempt per recipient,
and `ferry why --id | --to | --domain` reads it back without a log file.
Fake MX peers on loopback defer (4xx) then accept, or reject (5xx, a
bounce).  The history survives a restart and is pruned after
history_keep; bad questions are refused.  Nothing is timed: every wait
is bounded and polls for the state it needs."""

import json
import re
import smtplib

from conftest import make_message, queue_id, wait_until
from fakedns import fakedns  # noqa: F401 (fixture)
from fakemx import SENDER, mx_zone, peers, port, relay_conf  # noqa: F401


def submit(srv, rcpts, sender=SENDER):
    """Sends one message; its queue id."""
    msg = make_message(subject="history", sender=sender, to=rcpts[0])
    with smtplib.SMTP("127.0.0.1", srv.port, timeout=15) as s:
        s.ehlo("client.history.test")
        assert s.mail(sender)[0] == 250
        for r in rcpts:
            assert s.rcpt(r)[0] == 250
        code, text = s.data(msg)
        assert code == 250, text
    return queue_id(text)


def why(srv, *args):
    return srv.cli("why", *args)


def why_until(srv, args, needle, what):
    """`ferry why ARGS` once its output holds needle (the history is
    written by the queue within a tick or two)."""
    out = {}

    def ok():
        r = why(srv, *args)
        out["r"] = r
        return r.returncode == 0 and needle in r.stdout
    try:
        wait_until(ok, 20, what=what)
    except AssertionError:
        raise AssertionError(f"{what}: {out.get('r')}")
    return out["r"].stdout


def make_srv(make_ferry, fakedns, port, **kw):
    conf = relay_conf(port, fakedns, retry_min="1s", retry_max="1s")
    conf.update({k: str(v) for k, v in kw.items()})
    srv = make_ferry(conf)
    assert "log_file" not in srv.conf or not srv.conf["log_file"]
    return srv


def test_deferred_then_delivered_story(make_ferry, fakedns, peers, port):
    mx = peers.mx("127.0.0.2", port, rcpt={
        "bob@dest.test": ["451 4.7.1 greylisted, come back later", None]})
    mx_zone(fakedns, "dest.test", [(10, "mx1.dest.test", "127.0.0.2")])
    srv = make_srv(make_ferry, fakedns, port)
    qid = submit(srv, ["bob@dest.test"])
    mx.wait_messages(1)
    out = why_until(srv, ["--id", qid], "outcome <bob@dest.test>: delivered",
                    "the delivery in the history")
    assert re.search(rf"^message {qid} arrived \S+ from=<{SENDER}> "
                     r"client=127\.0\.0\.1 size=\d+$", out, re.M), out
    deferred = re.search(r"^  \S+ deferred <bob@dest\.test> direct "
                         rf"mx1\.dest\.test \[127\.0\.0\.2\]:{port} "
                         r"reply=\"[^\"]*451 4\.7\.1 greylisted, come back "
                         r"later\"$", out, re.M)
    assert deferred, out
    assert re.search(r"^      next attempt \S+Z, given up at \S+Z$", out,
                     re.M), out
    delivered = re.search(r"^  \S+ delivered <bob@dest\.test> direct "
                          rf"mx1\.dest\.test \[127\.0\.0\.2\]:{port}", out,
                          re.M)
    assert delivered and deferred.start() < delivered.start(), out

    # The same story by recipient and by domain.
    assert qid in why(srv, "--to", "BOB@dest.test").stdout
    assert qid in why(srv, "--domain", "dest.test").stdout
    r = why(srv, "--domain", "elsewhere.test")
    assert r.returncode == 1 and "nothing in the delivery history" in r.stderr

    # For scripts.
    r = why(srv, "--id", qid, "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    (m,) = doc["messages"]
    assert m["id"] == qid and m["sender"] == SENDER
    assert [a["result"] for a in m["attempts"]] == ["deferred", "delivered"]
    assert "451 4.7.1" in m["attempts"][0]["reply"]
    assert m["attempts"][0]["next_attempt"] >= m["attempts"][0]["at"]
    assert m["attempts"][0]["give_up"] > m["attempts"][0]["at"]
    assert m["recipients"] == [{"address": "bob@dest.test",
                                "outcome": "delivered", "next_attempt": 0,
                                "give_up": 0}]

    # A restart forgets nothing: the history is in the store.
    srv.restart()
    after = why(srv, "--id", qid)
    assert after.returncode == 0, after.stderr
    assert "outcome <bob@dest.test>: delivered" in after.stdout
    assert len(re.findall(r"^  \S+ (deferred|delivered) ", after.stdout,
                          re.M)) == 2, after.stdout


def test_rejected_recipient_bounced(make_ferry, fakedns, peers, port):
    mx = peers.mx("127.0.0.2", port, rcpt={
        "carol@dest.test": "550 5.1.1 carol is not known here"})
    mx_zone(fakedns, "dest.test", [(10, "mx1.dest.test", "127.0.0.2")])
    srv = make_srv(make_ferry, fakedns, port)
    qid = submit(srv, ["carol@dest.test", "dan@dest.test"])
    mx.wait_messages(1)
    out = why_until(srv, ["--id", qid], "outcome <carol@dest.test>: bounced",
                    "the bounce in the history")
    assert re.search(r"^  \S+ bounced <carol@dest\.test> direct \S+ "
                     r"\[127\.0\.0\.2\]:\d+ reply=\"[^\"]*550 5\.1\.1 carol "
                     r"is not known here\"$", out, re.M), out
    assert "outcome <dan@dest.test>: delivered" in out
    # Asked by recipient, only that recipient's story.
    r = why(srv, "--to", "carol@dest.test")
    assert "bounced <carol@dest.test>" in r.stdout
    assert "<dan@dest.test>" not in r.stdout


def test_pending_shows_next_attempt_and_give_up(make_ferry, fakedns, peers,
                                                 port):
    peers.mx("127.0.0.2", port, rcpt={
        "slow@dest.test": ["452 4.2.2 mailbox full for now"] * 50})
    mx_zone(fakedns, "dest.test", [(10, "mx1.dest.test", "127.0.0.2")])
    srv = make_srv(make_ferry, fakedns, port, retry_min="1h", retry_max="1h",
                   queue_lifetime="2d")
    qid = submit(srv, ["slow@dest.test"])
    out = why_until(srv, ["--to", "slow@dest.test"],
                    "outcome <slow@dest.test>: pending",
                    "the deferral in the history")
    m = re.search(r"outcome <slow@dest\.test>: pending \(next attempt "
                  r"(\S+), given up at (\S+)\)", out)
    assert m and m.group(1) < m.group(2), out
    assert qid in out and "452 4.2.2 mailbox full for now" in out


def test_history_pruned_after_history_keep(make_ferry, fakedns, peers, port):
    mx = peers.mx("127.0.0.2", port)
    mx_zone(fakedns, "dest.test", [(10, "mx1.dest.test", "127.0.0.2")])
    srv = make_srv(make_ferry, fakedns, port, history_keep="2s")
    qid = submit(srv, ["eve@dest.test"])
    mx.wait_messages(1)
    why_until(srv, ["--id", qid], "outcome <eve@dest.test>: delivered",
              "the delivery in the history")

    def gone():
        r = why(srv, "--id", qid)
        return r.returncode == 1 and "nothing in the delivery history" \
            in r.stderr
    wait_until(gone, 30, what="the history to be pruned")


def test_history_off(make_ferry, fakedns, peers, port):
    mx = peers.mx("127.0.0.2", port)
    mx_zone(fakedns, "dest.test", [(10, "mx1.dest.test", "127.0.0.2")])
    srv = make_srv(make_ferry, fakedns, port, history_keep="0")
    qid = submit(srv, ["eve@dest.test"])
    mx.wait_messages(1)
    srv.wait_log(rf"{qid} queue removed")
    r = why(srv, "--id", qid)
    assert r.returncode == 1 and "nothing in the delivery history" in r.stderr


def test_bad_questions(make_ferry, fakedns, port):
    srv = make_srv(make_ferry, fakedns, port)
    for args, err in [
            (["--id", "xyz"], "not a queue id"),
            (["--id", "0123456789ABCDEF"], "not a queue id"),
            (["--id", "0" * 17], "not a queue id"),
            (["--to", "a" * 400 + "@dest.test"], "not an address"),
            (["--to", "no-at-sign"], "not an address"),
            (["--to", "a b@dest.test"], "not an address"),
            (["--domain", "x@y"], "not a domain"),
            (["--domain", "d" * 300], "not a domain"),
            (["--domain", "bad\x01.test"], "not a domain")]:
        r = why(srv, *args)
        assert r.returncode == 1, (args, r.stderr)
        assert err in r.stderr, (args, r.stderr)
    for args in (["--id"], ["--id", "0" * 16, "--domain", "x.test"],
                 ["--id", "0" * 16, "--to", "a@b.test"], ["--bogus", "1"],
                 []):
        assert why(srv, *args).returncode == 2, args
    # Nothing known: a clear failure.
    r = why(srv, "--id", "0" * 16)
    assert r.returncode == 1 and "nothing in the delivery history" in r.stderr
    # Without a log file, what only the log knows says so.
    r = why(srv, "--from", "a@b.test")
    assert r.returncode == 1 and "log_file is not set" in r.stderr


def test_why_page_without_log_file(make_ferry, fakedns, peers, port,
                                   tmp_path):
    """/why answers from the history when log_file is not set, within the
    scopes ops enforces: the admin and the recipient's postmaster and
    user see the story; another domain's postmaster does not."""
    from webclient import (ADMIN, OTHER_POSTMASTER, POSTMASTER, Web,
                           admin_ferry)
    peers.mx("127.0.0.2", port, rcpt={
        "bob@dest.test": ["451 4.7.1 greylisted, come back later", None]})
    mx_zone(fakedns, "dest.test", [(10, "mx1.dest.test", "127.0.0.2")])
    conf = relay_conf(port, fakedns, retry_min="1s", retry_max="1s")
    conf["direct_delivery"] = "no"        # local mail through the queue
    srv = admin_ferry(make_ferry, tmp_path, **conf)
    remote = submit(srv, ["bob@dest.test"])
    local = submit(srv, ["alice@example.test"], sender="x@sender.test")
    why_until(srv, ["--id", remote], "outcome <bob@dest.test>: delivered",
              "the remote delivery in the history")
    why_until(srv, ["--id", local], "outcome <alice@example.test>: "
              "delivered", "the local delivery in the history")

    def web(who):
        w = Web(srv)
        assert w.login(who).status == 303
        return w

    admin = web(ADMIN)
    page = admin.get("/why?address=bob%40dest.test&dir=to")
    assert page.status == 200, page
    assert f"Message {remote}" in page.text
    assert "451 4.7.1 greylisted, come back later" in page.text
    assert re.search(r'<tr class="attempt deferred">.*?next attempt',
                     page.text), page.text
    assert '<strong class="outcome">delivered</strong>' in page.text

    for who in (ADMIN, POSTMASTER, "alice@example.test"):
        p = web(who).get("/why?address=alice%40example.test&dir=to")
        assert p.status == 200, (who, p)
        assert f"Message {local}" in p.text, (who, p.text)
        assert "local" in p.text
    # The user's own page shows it too, with no log at all.
    mine = web("alice@example.test").get("/why")
    assert mine.status == 200 and f"Message {local}" in mine.text
    # Another domain's postmaster: refused, and nothing shown.
    other = web(OTHER_POSTMASTER).get("/why?address=alice%40example.test")
    assert other.status == 403 and local not in other.text
    # Bad input: 400, never an error page with the input unescaped.
    for q in ("address=alice%00%40example.test",
              "address=" + "a" * 400 + "%40example.test",
              "address=no-at-sign", "address=%3Cb%3E%40example.test"):
        r = admin.get("/why?" + q)
        assert r.status == 400, (q, r)
        assert "<b>" not in r.text


def test_all_nodes_on_sqlite_is_this_node(make_ferry, fakedns, peers, port):
    """On SQLite the store is this node's alone: --all-nodes shows what
    the command shows without it (the spool for `queue list`)."""
    peers.mx("127.0.0.2", port, rcpt={
        "slow@dest.test": ["452 4.2.2 mailbox full for now"] * 50})
    mx_zone(fakedns, "dest.test", [(10, "mx1.dest.test", "127.0.0.2")])
    srv = make_srv(make_ferry, fakedns, port, retry_min="1h",
                   retry_max="1h")
    qid = submit(srv, ["slow@dest.test"])
    out = why_until(srv, ["--id", qid], "outcome <slow@dest.test>: pending",
                    "the deferral in the history")
    assert why(srv, "--id", qid, "--all-nodes").stdout == out
    assert "node=" not in out
    plain = srv.cli("queue", "list", "--json")
    every = srv.cli("queue", "list", "--all-nodes", "--json")
    assert plain.returncode == every.returncode == 0, every.stderr
    assert qid in plain.stdout
    # The same messages and recipients (ages are of the moment).
    def shape(doc):
        return [(m["id"], m["sender"], [r["addr"] for r in m["recipients"]])
                for m in doc]
    assert shape(json.loads(plain.stdout)) == shape(json.loads(every.stdout))


def two_deferred(make_ferry, fakedns, port):
    """Nothing listens at the MX: a server with two messages deferred
    once, (server, id to bob, id to carol and dave)."""
    mx_zone(fakedns, "dest.test", [(10, "mx1.dest.test", "127.0.0.2")])
    srv = make_srv(make_ferry, fakedns, port)
    gone = submit(srv, ["bob@dest.test"])
    stuck = submit(srv, ["carol@dest.test", "dave@dest.test"])
    for qid in (gone, stuck):
        why_until(srv, ["--id", qid], " deferred <", "a deferral first")
    return srv, gone, stuck


def test_operator_delete_and_bounce_in_the_story(make_ferry, fakedns, port):
    srv, gone, stuck = two_deferred(make_ferry, fakedns, port)
    r = srv.cli("queue", "delete", gone)
    assert r.returncode == 0, r.stderr
    out = why_until(srv, ["--id", gone], "outcome <bob@dest.test>: deleted",
                    "the delete in the history")
    assert re.search(r"^  \S+ deleted <bob@dest\.test> operator .*"
                     r"reply=\"deleted from the queue by the operator "
                     r"\(control\)\"$", out, re.M), out
    r = srv.cli("queue", "bounce", stuck)
    assert r.returncode == 0, r.stderr
    out = why_until(srv, ["--id", stuck], "outcome <dave@dest.test>: bounced",
                    "the bounce in the history")
    assert "outcome <carol@dest.test>: bounced" in out, out
    assert re.search(r"^  \S+ bounced <carol@dest\.test> operator .*"
                     r"5\.0\.0 bounced by the operator", out, re.M), out
    doc = json.loads(why(srv, "--id", stuck, "--json").stdout)
    text = json.dumps(doc)
    assert "operator" in text and "bounced" in text
    # The DSN goes out and the message leaves; the bounce is told once.
    srv.wait_log(rf"{stuck} queue removed")
    out = why(srv, "--id", stuck).stdout
    assert len(re.findall(r" bounced <carol@dest\.test>", out)) == 1, out


def test_offline_delete_and_bounce_in_the_story(make_ferry, fakedns, port):
    # The same rows when no server runs and the command line edits the
    # spool itself: `why --id` tells the delete and the bounce.
    srv, gone, stuck = two_deferred(make_ferry, fakedns, port)
    srv.stop()
    r = srv.cli("queue", "delete", gone)
    assert r.returncode == 0, r.stderr
    assert "warning" not in r.stderr, r.stderr
    r = srv.cli("queue", "bounce", stuck)
    assert r.returncode == 0, r.stderr
    assert "warning" not in r.stderr, r.stderr
    out = why(srv, "--id", gone).stdout
    assert "outcome <bob@dest.test>: deleted" in out, out
    assert re.search(r"^  \S+ deleted <bob@dest\.test> operator .*"
                     r"reply=\"deleted from the queue by the operator "
                     r"\(cli\)\"$", out, re.M), out
    out = why(srv, "--id", stuck).stdout
    for rcpt in ("carol", "dave"):
        assert f"outcome <{rcpt}@dest.test>: bounced" in out, out
        assert re.search(rf"^  \S+ bounced <{rcpt}@dest\.test> operator .*"
                         r"5\.0\.0 bounced by the operator", out, re.M), out
    # An unknown id changes nothing and records nothing.
    r = srv.cli("queue", "delete", "0123456789abcdef")
    assert r.returncode == 1
    assert why(srv, "--id", "0123456789abcdef").stdout.count("deleted") == 0
    # Started again, the queue sends the DSN; the bounce is told once.
    srv.start()
    srv.wait_log(rf"{stuck} queue removed")
    out = why(srv, "--id", stuck).stdout
    assert len(re.findall(r" bounced <carol@dest\.test>", out)) == 1, out
