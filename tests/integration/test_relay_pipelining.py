"""The client's PIPELINING path (MAIL, RCPTs and DATA in one write, RFC
2920), connection reuse with RSET after failed transactions, and the
extensions that rule a peer out (SIZE, 8BITMIME, SMTPUTF8): against
aiosmtpd peers told to advertise PIPELINING and against Postfix's
smtp-sink (skipped when it is missing)."""

import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import make_message, wait_until
from fakemx import (SENDER, dsn_for, free_port_on, peers, port,  # noqa: F401
                    relay_conf, send)

SINK = "/usr/sbin/smtp-sink"

needs_sink = pytest.mark.skipif(not os.access(SINK, os.X_OK),
                                reason="smtp-sink not installed")


@pytest.fixture
def sink():
    procs, dumps = [], []

    def start(*opts):
        port = free_port_on(["127.0.0.2"])
        # smtp-sink writes as "nobody": a world-writable directory that
        # nobody can reach (pytest's tmp_path is private).
        dump = tempfile.mkdtemp(prefix="ferry-sink-")
        os.chmod(dump, 0o777)
        dumps.append(dump)
        p = subprocess.Popen([SINK, "-u", "nobody", "-d", f"{dump}/%M.",
                              *opts, f"127.0.0.2:{port}", "64"],
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        procs.append(p)
        wait_until(lambda: _listening(port), 10, what="smtp-sink")
        return port, dump

    yield start
    for p in procs:
        p.terminate()
        p.wait(10)
    for d in dumps:
        shutil.rmtree(d, ignore_errors=True)


def _listening(port):
    import socket
    try:
        with socket.create_connection(("127.0.0.2", port), 1):
            return True
    except OSError:
        return False


@needs_sink
def test_pipelined_burst_reuses_connections(make_ferry, sink):
    port, dump = sink()
    srv = make_ferry(relay_conf(port, route=f"* [127.0.0.2]:{port}",
                                concurrency_per_domain=2))
    with srv.smtp() as s:
        for i in range(40):
            s.sendmail(SENDER, [f"u{i}@sink.test", f"v{i}@sink.test"],
                       make_message(sender=SENDER, to=f"u{i}@sink.test",
                                    body=".dot\r\nline\r\n"))
    wait_until(lambda: len(os.listdir(dump)) >= 40, 30,
               what="40 messages at the sink")
    srv.wait_log(r"rcpt=v39@sink.test .*result=sent")
    text = srv.log_text()
    assert text.count("result=sent") >= 80
    # Fewer connections than messages: sessions were reused.
    assert text.count("relay connecting") < 40


@needs_sink
def test_rejected_rcpts_then_rset_on_the_same_connection(make_ferry, sink):
    port, _ = sink("-f", "rcpt")
    srv = make_ferry(relay_conf(port, route=f"* [127.0.0.2]:{port}",
                                concurrency_per_domain=1))
    with srv.smtp() as s:
        for i in range(3):
            s.sendmail(SENDER, [f"u{i}@sink.test"],
                       make_message(sender=SENDER, to=f"u{i}@sink.test"))
    dsns = dsn_for(srv, count=3, timeout=20)
    assert len(dsns) == 3
    for i in range(3):
        srv.wait_log(rf"rcpt=u{i}@sink.test .*dsn=5.3.0 result=failed")


def stopped_queue(srv):
    """Context: the queue role is stopped (SIGSTOP) while mail piles up,
    so that it then has a backlog to deliver over few connections."""
    import contextlib
    import signal

    @contextlib.contextmanager
    def cm():
        pid = srv.role_pid("queue")
        os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(pid, signal.SIGCONT)
    return cm()


def test_pipelined_mixed_results_and_reuse(make_ferry, peers, port):
    mx = peers.mx("127.0.0.2", port, pipelining=True, rcpt={
        "bad0@dest.test": "550 5.1.1 no such user",
        "bad1@dest.test": "550 5.1.1 no such user",
        "bad2@dest.test": "550 5.1.1 no such user"})
    srv = make_ferry(relay_conf(port, route=f"dest.test [127.0.0.2]:{port}",
                                concurrency_per_domain=1))
    with stopped_queue(srv):
        with srv.smtp() as s:
            for i in range(3):
                s.sendmail(SENDER, [f"bad{i}@dest.test"],   # nobody valid
                           make_message(sender=SENDER, to=f"bad{i}@dest.test"))
                s.sendmail(SENDER, [f"ok{i}@dest.test", f"bad{i}@dest.test"],
                           make_message(sender=SENDER, to=f"ok{i}@dest.test",
                                        body=".x\r\n"))
    mx.wait_messages(3)
    assert sorted(mx.rcpts()) == ["ok0@dest.test", "ok1@dest.test",
                                  "ok2@dest.test"]
    assert all(m.data.endswith(b"\r\n.x\r\n") for m in mx.messages)
    assert len(dsn_for(srv, count=6, timeout=20)) == 6
    assert mx.connections < 6      # connections were reused


def test_8bit_content_to_peer_without_8bitmime_bounces(make_ferry, peers,
                                                       port):
    mx = peers.mx("127.0.0.2", port, eightbit=False)
    srv = make_ferry(relay_conf(port, route=f"dest.test [127.0.0.2]:{port}"))
    with srv.smtp() as s:
        s.sendmail(SENDER, ["bob@dest.test"],
                   make_message(sender=SENDER, to="bob@dest.test",
                                body="Gr\u00fc\u00dfe\r\n"))
    text = dsn_for(srv)[0].decode("utf-8", "replace")
    assert "5.6.3" in text
    assert mx.messages == []


def test_8bit_content_with_8bitmime(make_ferry, peers, port):
    mx = peers.mx("127.0.0.2", port)
    srv = make_ferry(relay_conf(port, route=f"dest.test [127.0.0.2]:{port}"))
    with srv.smtp() as s:
        s.sendmail(SENDER, ["bob@dest.test"],
                   make_message(sender=SENDER, to="bob@dest.test",
                                body="Gr\u00fc\u00dfe\r\n"))
    got = mx.wait_messages(1)[0]
    assert "BODY=8BITMIME" in got.options
    assert "Grüße".encode() in got.data


def test_too_big_for_peer_size_bounces(make_ferry, peers, port):
    mx = peers.mx("127.0.0.2", port, size_limit=1000)
    srv = make_ferry(relay_conf(port, route=f"dest.test [127.0.0.2]:{port}"))
    send(srv, "bob@dest.test", body=("y" * 70 + "\r\n") * 40)
    text = dsn_for(srv)[0].decode("utf-8", "replace")
    assert "5.3.4" in text
    assert mx.messages == []


def test_utf8_address_to_peer_without_smtputf8_bounces(make_ferry, peers,
                                                       port):
    mx = peers.mx("127.0.0.2", port, smtputf8=False)
    srv = make_ferry(relay_conf(port, route=f"dest.test [127.0.0.2]:{port}"))
    with srv.raw() as c:
        c.ehlo()
        c.expect(f"MAIL FROM:<{SENDER}> SMTPUTF8", 250)
        c.expect("RCPT TO:<j\u00fcrgen@dest.test>", 250)
        c.expect("DATA", 354)
        c.send(make_message(sender=SENDER, to="x@dest.test") + b".\r\n")
        assert c.reply().code == 250
    text = dsn_for(srv)[0].decode("utf-8", "replace")
    assert "5.6.7" in text
    assert mx.messages == []


def test_bdat_when_chunking_offered(make_ferry, peers, port):
    mx = peers.chunking("127.0.0.2", port)
    srv = make_ferry(relay_conf(port, route=f"dest.test [127.0.0.2]:{port}"))
    body = ".not stuffed with BDAT\r\nend\r\n"
    msg = send(srv, ["a@dest.test", "b@dest.test"], body=body)
    got = mx.wait_messages(1)[0]
    assert got.rcpt_tos == ["a@dest.test", "b@dest.test"]
    assert got.data.endswith(b"\r\n" + body.encode())
    assert msg.split(b"\r\n\r\n", 1)[1] in got.data
    srv.wait_log(r"rcpt=b@dest.test .*result=sent")
