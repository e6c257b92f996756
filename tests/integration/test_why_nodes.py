"""`--all-nodes` (issue 15): two Ferry nodes on one real PostgreSQL 15
(pgserver.py, started by the test) share the delivery history and each
node's queue summary.  A message sent through node B shows in
`ferry why --all-nodes` on node A with node B named, and not without the
flag; a message waiting in B's queue shows in A's `ferry queue list
--all-nodes`, and is marked stale once B's summary is old.  Every wait
is bounded and polls; nothing is timed."""

import json
import re
import smtplib
import uuid

import pytest

from conftest import make_message, queue_id, wait_until
from fakedns import fakedns  # noqa: F401 (fixture)
from fakemx import SENDER, mx_zone, peers, port  # noqa: F401 (fixtures)
from pgserver import pg  # noqa: F401
from test_pg_store import node


@pytest.fixture
def nodes(make_ferry, pg, fakedns, port):
    """Nodes A (127.0.0.2, node_name node-a) and B (127.0.0.3, node-b)
    on one fresh database, delivering to fake MX peers on `port`."""
    db = "w" + uuid.uuid4().hex[:12]
    url = pg.create_db(db)
    conf = dict(relay_networks="127.0.0.0/8", remote_smtp_port=str(port),
                retry_min="1s", retry_max="1s", timeout_connect="2s",
                host_down_memory="1s")
    a = node(make_ferry, url, "127.0.0.2", "a", fakedns, accounts=True,
             node_name="node-a", **conf)
    b = node(make_ferry, url, "127.0.0.3", "b", fakedns, node_name="node-b",
             **conf)
    return a, b, db


def submit(srv, rcpt):
    msg = make_message(subject="nodes", sender=SENDER, to=rcpt)
    with smtplib.SMTP(srv.host, srv.port, timeout=15,
                      source_address=("127.0.0.1", 0)) as s:
        s.ehlo("client.nodes.test")
        assert s.mail(SENDER)[0] == 250
        assert s.rcpt(rcpt)[0] == 250
        code, text = s.data(msg)
        assert code == 250, text
    return queue_id(text)


def test_why_all_nodes_names_the_node(nodes, peers, fakedns, port):
    a, b, _ = nodes
    peers.mx("127.0.0.4", port, rcpt={
        "bob@dest.test": ["451 4.7.1 greylisted, come back later", None]})
    mx_zone(fakedns, "dest.test", [(10, "mx1.dest.test", "127.0.0.4")])
    qid = submit(b, "bob@dest.test")
    wait_until(lambda: "outcome <bob@dest.test>: delivered" in b.cli(
        "why", "--id", qid).stdout, 20, what="B's history of the delivery")

    # A alone knows nothing of it: it is B's.
    r = a.cli("why", "--id", qid)
    assert r.returncode == 1 and "nothing in the delivery history" in r.stderr
    # Every node's history: B named on the message and on each attempt.
    r = a.cli("why", "--id", qid, "--all-nodes")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert re.search(rf"^message {qid} arrived .* node=node-b$", out,
                     re.M), out
    assert re.search(r"^  \S+ deferred <bob@dest\.test> direct "
                     r"mx1\.dest\.test \[127\.0\.0\.4\]:\d+ node=node-b "
                     r"reply=\"[^\"]*451 4\.7\.1 greylisted", out, re.M), out
    assert re.search(r"^  \S+ delivered <bob@dest\.test> .* node=node-b",
                     out, re.M), out
    assert "outcome <bob@dest.test>: delivered by node node-b" in out
    # By recipient and domain too, and as JSON.
    assert qid in a.cli("why", "--to", "bob@dest.test",
                        "--all-nodes").stdout
    assert qid not in a.cli("why", "--domain", "dest.test").stdout
    doc = json.loads(a.cli("why", "--domain", "dest.test", "--all-nodes",
                           "--json").stdout)
    (m,) = doc["messages"]
    assert m["node"] == "node-b"
    assert {x["node"] for x in m["attempts"]} == {"node-b"}


def test_queue_list_all_nodes(nodes, peers, fakedns, port, pg):
    a, b, db = nodes
    peers.mx("127.0.0.4", port, rcpt={
        "slow@dest.test": ["452 4.2.2 mailbox full for now"] * 50})
    mx_zone(fakedns, "dest.test", [(10, "mx1.dest.test", "127.0.0.4")])
    qid = submit(b, "slow@dest.test")

    def listed():
        r = a.cli("queue", "list", "--all-nodes")
        return r.returncode == 0 and qid in r.stdout and r.stdout
    out = wait_until(listed, 20, what="B's queue summary on A")
    assert re.search(rf"^  node-b\s+{qid} .*<{SENDER}>", out, re.M), out
    assert "    to slow@dest.test" in out
    assert "stale" not in out
    # A's own queue does not have it.
    assert qid not in a.cli("queue", "list").stdout
    doc = json.loads(a.cli("queue", "list", "--all-nodes", "--json").stdout)
    row = [x for x in doc if x["id"] == qid][0]
    assert row["node"] == "node-b" and row["pending"] == "slow@dest.test"
    assert row["stale"] is False and "next_attempt" in row
    # B stops publishing (it stopped; its summary is said to be old).
    b.stop()
    pg.psql("UPDATE queue_nodes SET seen = seen - 3600 WHERE node = "
            "'node-b'", db)
    out = a.cli("queue", "list", "--all-nodes").stdout
    assert re.search(r"^node node-b: summary \S+ old \(stale", out, re.M), out
    assert re.search(rf"^  node-b\s+{qid} .* stale ", out, re.M), out
    # Filters are for this node's own spool.
    assert a.cli("queue", "list", "--all-nodes", "--summary").returncode == 2
