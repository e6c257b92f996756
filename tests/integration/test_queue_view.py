"""Issue 13's queue papercuts, black-box: the envelope records the
authenticated user (shown by `queue show`, text and --json, with client,
HELO, protocol and the headers); `queue list` filters (--domain, --from,
--to, --older, --newer) and its per-destination summary (--summary);
`queue retry` on a held message says so; deferred deliveries log as
`queue deferred`."""

import json
import smtplib

import pytest

from certs import client_context, make_tls_ferry
from conftest import PASSWORD, free_port, make_message, wait_until
from test_queue_cmds import QUEUE_CONF, relay

ALICE = "alice@example.test"


def entry(srv, qid):
    return next((m for m in srv.queue_json() if m["id"] == qid), None)


def test_submitted_mail_records_the_authenticated_user(make_ferry, tmp_path):
    conf = dict(QUEUE_CONF)
    conf["relay_networks"] = ""
    srv = make_tls_ferry(make_ferry, tmp_path, conf)
    s = smtplib.SMTP("127.0.0.1", srv.sub_port, local_hostname="laptop.example",
                     timeout=15)
    s.starttls(context=client_context(srv.ca))
    s.login(ALICE, PASSWORD)
    s.sendmail(ALICE, ["friend@remote.example"],
               make_message(subject="from the laptop", sender=ALICE,
                            to="friend@remote.example"))
    s.quit()
    wait_until(lambda: srv.queue_json(), what="the message in the queue")
    (m,) = srv.queue_json()
    assert m["auth_user"] == ALICE, m
    assert m["client"] == "127.0.0.1" and m["helo"] == "laptop.example", m
    assert m["protocol"] == "ESMTPSA", m

    out = srv.cli_ok("queue", "show", m["id"]).stdout
    assert f"auth: {ALICE}" in out, out
    assert "client: 127.0.0.1 helo=laptop.example protocol=ESMTPSA" in out
    shown = json.loads(srv.cli_ok("queue", "show", m["id"], "--json").stdout)
    assert shown["auth_user"] == ALICE and shown["protocol"] == "ESMTPSA"
    assert "Subject: from the laptop" in shown["headers"], shown
    assert shown["headers"].startswith("Received: from laptop.example")
    assert shown["headers_error"] is None
    assert "\r\n\r\n" not in shown["headers"]


@pytest.mark.ferry_conf(**QUEUE_CONF)
def test_unauthenticated_mail_has_no_user(ferry):
    m = relay(ferry, "someone@remote.example")
    assert m["auth_user"] is None and m["client"] == "127.0.0.1"
    assert m["helo"] == "client.example" and m["protocol"] == "ESMTP"
    shown = json.loads(ferry.cli_ok("queue", "show", m["id"], "--json").stdout)
    assert "Received: from client.example" in shown["headers"]
    assert "auth:" not in ferry.cli_ok("queue", "show", m["id"]).stdout
    # The list stays without headers.
    assert "headers" not in m


def ids(srv, *args, json_out=True):
    r = srv.cli_ok("queue", "list", *args, "--json")
    return {m["id"] for m in json.loads(r.stdout)}


@pytest.mark.ferry_conf(**QUEUE_CONF)
def test_list_filters(ferry):
    a = relay(ferry, "one@remote.example", sender="alice@example.test")["id"]
    b = relay(ferry, "two@far.example", sender="bob@example.test")["id"]
    c = relay(ferry, "Three@Remote.Example", sender="bob@example.test")["id"]

    assert ids(ferry) == {a, b, c}
    assert ids(ferry, "--domain", "remote.example") == {a, c}
    assert ids(ferry, "--domain", "REMOTE.example.") == {a, c}
    assert ids(ferry, "--domain", "nowhere.example") == set()
    assert ids(ferry, "--from", "bob@example.test") == {b, c}
    assert ids(ferry, "--from", "@example.test") == {a, b, c}
    assert ids(ferry, "--from", "<>") == set()
    assert ids(ferry, "--to", "two@far.example") == {b}
    assert ids(ferry, "--to", "three@remote.example") == {c}
    assert ids(ferry, "--to", "@far.example") == {b}
    assert ids(ferry, "--from", "bob@example.test", "--domain",
               "remote.example") == {c}
    # Ages: all three are younger than an hour, none older than one.
    assert ids(ferry, "--newer", "1h") == {a, b, c}
    assert ids(ferry, "--older", "1h") == set()
    out = ferry.cli_ok("queue", "list", "--older", "1d").stdout
    assert out.strip() == "no message matches", out
    out = ferry.cli_ok("queue", "list", "--to", "two@far.example").stdout
    assert b in out and a not in out and c not in out

    for bad in (("--domain",), ("--older", "soon"), ("--newer", "-1"),
                ("--domain", "a@b.example"), ("--to", "--json"),
                ("--bogus", "x")):
        r = ferry.cli("queue", "list", *bad)
        assert r.returncode == 2, (bad, r)
        assert r.stderr.startswith("usage: ferry queue"), r.stderr
        assert r.stderr.count("\n") == 1
    # The filters belong to list only.
    assert ferry.cli("queue", "show", a, "--domain", "x.example").returncode == 2


@pytest.mark.ferry_conf(**QUEUE_CONF)
def test_summary_per_destination(ferry):
    relay(ferry, "one@remote.example")
    relay(ferry, "two@remote.example")
    held = relay(ferry, "x@far.example")["id"]
    ferry.cli_ok("queue", "hold", held)

    rows = json.loads(ferry.cli_ok("queue", "list", "--summary", "--json").stdout)
    by = {r["domain"]: r for r in rows}
    assert rows[0]["domain"] == "TOTAL"
    assert by["TOTAL"]["total"] == 3 and by["TOTAL"]["held"] == 1
    assert by["remote.example"]["total"] == 2 and by["remote.example"]["held"] == 0
    assert by["far.example"]["total"] == 1 and by["far.example"]["held"] == 1
    # All just queued: every one in the first age column.
    assert by["remote.example"]["ages"]["5m"] == 2
    assert sum(by["TOTAL"]["ages"].values()) == 3
    assert list(by["TOTAL"]["ages"])[-1] == "1280m+"
    # Busiest destination first.
    assert [r["domain"] for r in rows[1:]] == ["remote.example", "far.example"]

    text = ferry.cli_ok("queue", "list", "--summary").stdout.splitlines()
    assert "destination" in text[0] and "held" in text[0] and "5m" in text[0]
    line = next(l for l in text if l.split()[0] == "remote.example")
    assert line.split()[1:4] == ["2", "0", "2"], line

    rows = json.loads(ferry.cli_ok("queue", "list", "--summary", "--domain",
                                   "far.example", "--json").stdout)
    assert [r["domain"] for r in rows] == ["TOTAL", "far.example"]


@pytest.mark.ferry_conf(**QUEUE_CONF)
def test_retry_of_a_held_message_says_it_is_held(ferry):
    qid = relay(ferry, "someone@remote.example")["id"]
    other = relay(ferry, "else@remote.example")["id"]
    out = ferry.cli_ok("queue", "retry", qid).stdout
    assert "held" not in out, out
    # Held while the retried delivery may still be running: its result
    # must not undo the hold.
    ferry.cli_ok("queue", "hold", qid)
    out = ferry.cli_ok("queue", "retry", qid).stdout
    assert f"{qid} is held" in out and f"ferry queue release {qid}" in out, out
    out = ferry.cli_ok("queue", "retry", "--all").stdout
    assert "2 recipients in 2 messages" in out and "1 of them is held" in out, out
    # The retry made `other` due: let the queue's attempt finish before
    # holding it (an attempt in flight could write its result after).
    wait_until(lambda: entry(ferry, other)["recipients"][0]["next_attempt"] > 0,
               15, what="the retried message to be attempted")
    ferry.cli_ok("queue", "hold", other)
    out = ferry.cli_ok("queue", "retry", "--domain", "remote.example").stdout
    assert "2 of them are held" in out, out


def test_deferred_delivery_is_logged_as_deferred(make_ferry):
    conf = dict(QUEUE_CONF)
    conf["route"] = f"* [127.0.0.1]:{free_port()}"
    srv = make_ferry(conf)
    relay(srv, "someone@remote.example")
    srv.wait_log(r"queue deferred rcpt=someone@remote\.example result=deferred ")
    assert "queue delivered rcpt=someone@remote.example" not in srv.log_text()


def test_hold_during_a_running_delivery_is_kept(make_ferry):
    """The queue role writes a delivery's result back to the envelope; a
    `queue hold` made while that delivery waits on the remote peer must
    survive it (the result used to overwrite the held flag)."""
    import socket
    import threading
    port = free_port()
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", port))
    lsock.listen(8)
    lsock.settimeout(30)
    connected, release = threading.Event(), threading.Event()

    def peer():
        try:
            c, _ = lsock.accept()
        except OSError:
            return
        connected.set()
        release.wait(30)            # the delivery hangs here, bounded
        try:
            c.sendall(b"421 4.3.2 try again later\r\n")
        except OSError:
            pass
        c.close()

    t = threading.Thread(target=peer, daemon=True)
    t.start()
    conf = dict(QUEUE_CONF)
    conf["route"] = f"* [127.0.0.1]:{port}"
    srv = make_ferry(conf)
    try:
        with srv.smtp() as s:
            s.sendmail("a@remote.example", ["someone@remote.example"],
                       make_message(subject="slow peer"))
        assert connected.wait(20), "the queue never connected"
        (m,) = srv.queue_json()
        srv.cli_ok("queue", "hold", m["id"])
        release.set()
        srv.wait_log(r"queue deferred rcpt=someone@remote\.example", timeout=20)
        wait_until(lambda: entry(srv, m["id"])["recipients"][0]["next_attempt"] > 0,
                   15, what="the attempt's result written")
        assert entry(srv, m["id"])["held"] is True, entry(srv, m["id"])
        out = srv.cli_ok("queue", "retry", m["id"]).stdout
        assert f"{m['id']} is held" in out, out
    finally:
        release.set()
        lsock.close()
        t.join(5)
