"""Mailbox homing (issue 15): two Ferry nodes, A on 127.0.0.2 and B on
127.0.0.3, sharing one real PostgreSQL 15 (pgserver.py), each entered in
the store with `ferry node add`, and example.test homed on A with
`ferry domain node`:

  - the store's node and home unit tests on PostgreSQL;
  - mail for example.test sent to B is relayed to A and lands in A's
    Maildir (none on B); sent to A it is delivered there directly;
  - A down: B keeps it queued (a temporary failure, never a bounce); A
    back: the queued mail arrives;
  - a domain with no home is delivered on whichever node receives it;
  - loop protection: a message that came from another node is never
    relayed again, even while the home points back at a node.

Every wait is bounded (wait_until); nothing sleeps to assert timing.
IMAP and POP3 logins proxied to the home node: test_pg_proxy.py."""

import os
import subprocess
import uuid

import pytest

from conftest import make_message, tcp_listening, wait_until
from fakedns import FakeDNS, fakedns  # noqa: F401
from test_pg_store import BUILD, node, pg, pg_url  # noqa: F401

ALICE = "alice@example.test"


@pytest.fixture
def cluster(make_ferry, pg_url, fakedns):
    """A and B started and entered as nodes; example.test homed on A.
    host_down_memory = 0: B tries A again as soon as it is told to."""
    extra = {"host_down_memory": "0", "retry_min": "1h", "retry_max": "2h"}
    a = node(make_ferry, pg_url, "127.0.0.2", "a", fakedns, accounts=True,
             node_name="a", **extra)
    b = node(make_ferry, pg_url, "127.0.0.3", "b", fakedns, node_name="b",
             **extra)
    for srv, name in ((a, "a"), (b, "b")):
        a.cli_ok("node", "add", name, "--smtp", f"{srv.host}:{srv.port}",
                 "--imap", f"{srv.host}:{srv.imap_port}",
                 "--pop3", f"{srv.host}:{srv.pop3_port}")
    a.cli_ok("domain", "node", "example.test", "a")
    return a, b


def send(srv, rcpt, subject):
    with srv.smtp() as s:
        s.sendmail("someone@sender.test", [rcpt],
                   make_message(subject=subject, to=rcpt))


def subjects(srv, address):
    return [m.split(b"Subject: ", 1)[1].split(b"\r\n", 1)[0].decode()
            for m in srv.maildir_messages(address)]


def test_unit_tests_on_postgresql(pg):
    path = BUILD / "tests" / "test_node"
    if not path.exists():
        pytest.skip(f"{path} not built (make unit)")
    env = dict(os.environ, FERRY_TEST_STORE=pg.create_db(
        "u" + uuid.uuid4().hex[:12]))
    r = subprocess.run([str(path)], env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert " 0 failed" in r.stdout


def test_mail_sent_to_b_lands_on_home_a(cluster):
    a, b = cluster
    assert "example.test (node a)" in b.cli_ok("domain", "list").stdout
    send(b, ALICE, "via b")
    a.wait_delivered(ALICE)
    assert subjects(a, ALICE) == ["via b"]
    b.wait_queue_empty()
    assert b.maildir_files(ALICE) == []
    b.wait_log(r"relay delivery rcpt=<?alice@example\.test>? .*"
               r"result=sent")
    # A took it from its peer B and delivered it itself.
    a.wait_log(r"smtp connected address=127\.0\.0\.3 ")
    # Sent to A, it is delivered on A without a relay.
    send(a, ALICE, "direct to a")
    a.wait_delivered(ALICE, 2)
    assert sorted(subjects(a, ALICE)) == ["direct to a", "via b"]
    assert "home-loop" not in a.log_text() + b.log_text()


def test_home_down_queues_then_delivers(cluster):
    a, b = cluster
    a.stop()
    send(b, ALICE, "while a is down")
    b.wait_log(r"deferred", timeout=30)
    q = b.queue_json()
    assert len(q) == 1, q
    assert b.maildir_files(ALICE) == []
    a.start()
    wait_until(lambda: tcp_listening(a.port, a.host), 15,
               what="A's SMTP listener")
    b.cli_ok("queue", "retry", q[0]["id"])
    a.wait_delivered(ALICE, timeout=30)
    assert subjects(a, ALICE) == ["while a is down"]
    b.wait_queue_empty(timeout=30)
    assert b.maildir_files(ALICE) == []


def test_domain_without_home_delivered_where_received(cluster):
    a, b = cluster
    a.add_domain("free.test")
    a.add_user("carol@free.test")
    send(b, "carol@free.test", "to b")
    b.wait_delivered("carol@free.test")
    send(a, "carol@free.test", "to a")
    a.wait_delivered("carol@free.test")
    assert subjects(a, "carol@free.test") == ["to a"]
    assert subjects(b, "carol@free.test") == ["to b"]
    # Home removed: example.test is delivered where received, too.
    a.cli_ok("domain", "node", "example.test", "--none")
    send(b, ALICE, "no home")
    b.wait_delivered(ALICE)
    assert a.maildir_files(ALICE) == []


def test_loop_protection(cluster):
    a, b = cluster
    # Node c is entered with A's SMTP address (a mistake, or a node
    # renamed): mail for example.test homed on c goes from B to A, and
    # A, which is not c either, must not relay it again.
    a.cli_ok("node", "add", "c", "--smtp", f"{a.host}:{a.port}")
    a.cli_ok("domain", "node", "example.test", "c")
    send(b, ALICE, "loop via b")
    a.wait_delivered(ALICE)
    a.wait_log(r"home-loop rcpt=<alice@example\.test> home=c from-node=b "
               r"delivered=here")
    b.wait_queue_empty()
    # Sent to A itself: A relays once (to c, which is A itself), and the
    # copy that comes back from c's address is delivered, not relayed.
    send(a, ALICE, "loop via a")
    a.wait_delivered(ALICE, 2)
    a.wait_log(r"home-loop rcpt=<alice@example\.test> home=c from-node=c "
               r"delivered=here")
    a.wait_queue_empty()
    assert sorted(subjects(a, ALICE)) == ["loop via a", "loop via b"]
    assert b.maildir_files(ALICE) == []
