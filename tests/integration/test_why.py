"""`ferry why --ip | --from | --to [--since]`: per session, accepted
with the queue id, or refused at which stage by which check and rule,
with the reply the client got; read from log_file."""

import re

from conftest import queue_id
from fakedns import FakeDNS, fakedns  # noqa: F401
from policy_util import OTHER, dialogue, policy_server, rptr


def why(srv, *args):
    return srv.cli("why", *args)


def test_why_accepted_and_refused(make_ferry, fakedns):
    fakedns.add(rptr("127.0.0.2", "bl.test"), "A", "127.0.0.2")
    fakedns.add(rptr("127.0.0.2", "bl.test"), "TXT", "spam source")
    srv = policy_server(make_ferry, fakedns, dnsbl="bl.test")
    ok = dialogue(srv, sender="friend@sender.test")
    qid = queue_id(ok["data"].text)
    bad = dialogue(srv, sender="spammer@sender.test", source="127.0.0.2",
                   rcpts=("bob@example.test",))
    assert bad["rcpts"][0].code == 554
    srv.cli_ok("rule", "add", OTHER, "deny", "sender", "@rude.test")
    ruled = dialogue(srv, sender="x@rude.test", rcpts=("carol@" + OTHER,
                                                       "nobody@example.test"))
    assert [r.code for r in ruled["rcpts"]] == [550, 550]

    r = why(srv, "--from", "friend@sender.test")
    assert r.returncode == 0, r.stderr
    assert re.search(rf"accepted id={qid} from=<friend@sender\.test> "
                     r"to=alice@example\.test", r.stdout), r.stdout
    assert "refused" not in r.stdout

    r = why(srv, "--ip", "127.0.0.2")
    assert r.returncode == 0, r.stderr
    assert "ip=127.0.0.2" in r.stdout
    line = [l for l in r.stdout.splitlines() if "refused" in l]
    assert len(line) == 1, r.stdout
    assert "stage=rcpt check=dnsbl rule=-" in line[0]
    assert "to=<bob@example.test>" in line[0]
    assert 'reply="554 5.7.1 Service unavailable; client [127.0.0.2] ' \
        'blocked using bl.test: spam source"' in line[0]

    r = why(srv, "--to", "carol@" + OTHER)
    assert r.returncode == 0, r.stderr
    assert re.search(r"refused stage=rcpt check=rule rule=\d+ from=<x@rude\.test> "
                     r"to=<carol@other\.test> reply=\"550 5\.7\.1 ", r.stdout), r.stdout
    # The session's own refusal (unknown user) is in the same session.
    assert re.search(r"refused stage=rcpt check=smtp rule=- from=<x@rude\.test> "
                     r"to=<nobody@example\.test> reply=\"550 5\.1\.1 ", r.stdout)

    r = why(srv, "--to", "alice@example.test", "--since", "1h")
    assert r.returncode == 0 and qid in r.stdout
    assert why(srv, "--from", "nobody@nowhere.test").returncode == 1


def test_why_connection_refused_before_session(make_ferry, fakedns):
    srv = policy_server(make_ferry, fakedns, conn_rate_limit="1")
    dialogue(srv)
    d = dialogue(srv)
    assert d["greeting"].code == 421
    r = why(srv, "--ip", "127.0.0.1")
    assert r.returncode == 0
    assert re.search(r"refused stage=connect check=rate rule=- "
                     r"reply=\"421 4\.7\.0 Too many connections", r.stdout), r.stdout


def test_why_usage_and_missing_log(make_ferry, fakedns):
    srv = policy_server(make_ferry, fakedns, start=False)
    for args in ((), ("--ip",), ("--bogus", "x"), ("--ip", "1.2.3.4", "--since", "soon")):
        r = why(srv, *args)
        assert r.returncode == 2, (args, r)
        assert len(r.stderr.strip().splitlines()) == 1
    r = why(srv, "--ip", "127.0.0.1")
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
    srv.conf["log_file"] = None
    srv.write_config()
    r = why(srv, "--ip", "127.0.0.1")
    assert r.returncode == 1 and "log_file" in r.stderr
