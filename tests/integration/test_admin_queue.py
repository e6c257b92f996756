"""The queue pages (src/admin/pages_queue.c) over real HTTPS: the admin's
/queue with filters and the per-destination summary, a postmaster's
/queue/DOMAIN and /queue/msg/ID with the per-domain scope that the
operations layer applies in the queue role (ops_queue.h), and the
actions, whose effects are checked with the CLI and at a fake MX.

Remote mail goes to one fake MX (route * [127.0.0.1]:PORT) that answers
451 to some recipients, so their messages wait in the queue with
retries an hour apart."""

import re

import pytest

from conftest import free_port, make_message, wait_until
from fakemx import FakeMX
from webclient import ADMIN, POSTMASTER, Web, admin_ferry

DEAD = "dead@remote.example"         # always 451: stays queued
LATER = "later@remote.example"       # 451 once, then accepted
HOSTILE = "hostile@remote.example"   # 451 with markup in the reply
SECRET = "secret@remote.example"     # always 451


@pytest.fixture
def mx():
    m = FakeMX("127.0.0.1", free_port(), rcpt={
        DEAD: "451 4.4.1 mailbox busy",
        SECRET: "451 4.4.1 mailbox busy",
        LATER: ["451 4.3.0 try later"],
        HOSTILE: "451 4.4.1 <script>alert('mx')</script> busy"}).start()
    yield m
    m.stop()


@pytest.fixture
def srv(make_ferry, tmp_path, mx):
    return admin_ferry(make_ferry, tmp_path, relay_networks="127.0.0.0/8",
                       retry_min="1h", retry_max="2h",
                       dns_resolvers=f"127.0.0.1:{free_port()}",
                       delay_warning="0",
                       route=f"* [127.0.0.1]:{mx.port}")


def logged_in(srv, who):
    w = Web(srv)
    assert w.login(who).status == 303
    return w


def queue(srv):
    return {m["id"]: m for m in srv.queue_json()}


def state(m):
    """What an action could change in a queue entry (not its age)."""
    return {k: v for k, v in m.items() if k != "age"}


def send(srv, sender, rcpts, subject="queued", extra_headers=()):
    """One message; returns its queue entry once every remote recipient
    has had a first attempt."""
    before = set(queue(srv))
    with srv.smtp() as s:
        s.sendmail(sender, rcpts, make_message(
            subject=subject, sender=sender, to=rcpts[0],
            extra_headers=extra_headers))

    def attempted():
        for qid, m in queue(srv).items():
            if qid not in before and all(
                    r["next_attempt"] > 0 or r["state"] != "pending"
                    for r in m["recipients"]):
                return m
        return None
    return wait_until(attempted, 15, what=f"first attempt to {rcpts}")


def act(w, qid, op, token=None):
    return w.post(f"/queue/msg/{qid}",
                  {"csrf": token or w.csrf("/"), "op": op})


def test_admin_list_filters_and_summary(srv):
    m1 = send(srv, "alice@example.test", [DEAD], subject="from alice")
    m2 = send(srv, "carol@other.test", [DEAD], subject="from carol")
    admin = logged_in(srv, ADMIN)
    page = admin.get("/queue")
    assert page.status == 200, page
    assert m1["id"] in page.text and m2["id"] in page.text
    # The summary: two pending recipients for remote.example.
    row = re.search(r"<tr><td>remote.example</td><td>(\d+)</td>", page.text)
    assert row and row.group(1) == "2", page.text
    assert "mailbox busy" in page.text
    page = admin.get("/queue?from=carol@other.test")
    assert page.status == 200
    assert m2["id"] in page.text and m1["id"] not in page.text
    page = admin.get("/queue?older=1d")
    assert "No message matches." in page.text
    page = admin.get("/queue?to=%40remote.example&newer=1h")
    assert m1["id"] in page.text and m2["id"] in page.text
    for bad in ("older=soon", "domain=a@b", "to=" + "x" * 600,
                "from=%00x", "newer=" + "9" * 40):
        r = admin.get("/queue?" + bad)
        assert r.status == 400, (bad, r)
    # Details.
    page = admin.get(f"/queue/msg/{m1['id']}")
    assert page.status == 200
    assert "&lt;alice@example.test&gt;" in page.text
    assert DEAD in page.text and "451 4.4.1 mailbox busy" in page.text
    assert "Subject: from alice" in page.text
    assert "127.0.0.1" in page.text
    # Nobody else has /queue.
    for who in (POSTMASTER, "alice@example.test"):
        assert logged_in(srv, who).get("/queue").status == 403


def test_postmaster_sees_and_acts_on_own_domain_only(srv):
    own = send(srv, "alice@example.test", [DEAD], subject="own")
    other = send(srv, "carol@other.test", [DEAD], subject="other")
    # From outside to alice (delivered at once) and to a remote address:
    # example.test's postmaster sees alice's recipient only.
    mixed = send(srv, "x@elsewhere.example",
                 ["alice@example.test", "secret@remote.example"],
                 subject="mixed")
    before = queue(srv)
    pm = logged_in(srv, POSTMASTER)
    page = pm.get("/queue/example.test")
    assert page.status == 200, page
    assert own["id"] in page.text and mixed["id"] in page.text
    assert other["id"] not in page.text
    assert "secret@remote.example" not in page.text
    assert pm.get("/queue/other.test").status == 403
    assert pm.get("/queue/OTHER.test").status == 403
    assert pm.get("/queue").status == 403
    # Another domain's message does not exist for this postmaster.
    assert pm.get(f"/queue/msg/{other['id']}").status == 404
    token = pm.csrf("/")
    for op in ("retry", "hold", "release", "bounce", "delete"):
        r = act(pm, other["id"], op, token)
        assert r.status == 404, (op, r)
        assert "carol" not in r.text
    # The shared message: own recipient only, no whole-message changes.
    page = pm.get(f"/queue/msg/{mixed['id']}")
    assert page.status == 200
    assert "alice@example.test" in page.text
    assert "secret@remote.example" not in page.text
    for op in ("hold", "delete"):
        assert act(pm, mixed["id"], op, token).status == 403, op
    assert act(pm, mixed["id"], "bounce", token).status == 409
    assert act(pm, mixed["id"], "retry", token).status == 303
    assert state(queue(srv)[other["id"]]) == state(before[other["id"]])
    assert queue(srv)[mixed["id"]]["recipients"] == \
        before[mixed["id"]]["recipients"]
    assert queue(srv)[mixed["id"]]["held"] is False
    # Their own user's mail is theirs: hold and release it.
    r = act(pm, own["id"], "hold", token)
    assert r.status == 303
    assert r.header("Location") == f"/queue/msg/{own['id']}?done=queue_held"
    assert queue(srv)[own["id"]]["held"] is True
    assert "The message is held." in pm.get(r.header("Location")).text
    assert act(pm, own["id"], "release", token).status == 303
    assert queue(srv)[own["id"]]["held"] is False
    # A user has no queue at all.
    user = logged_in(srv, "alice@example.test")
    assert user.get("/queue/example.test").status == 403
    assert user.get(f"/queue/msg/{own['id']}").status == 403


def test_admin_retries_bounces_and_deletes(srv, mx):
    later = send(srv, "alice@example.test", [LATER], subject="retry me")
    dead = send(srv, "alice@example.test", [DEAD], subject="delete me")
    bounce = send(srv, "bob@example.test", [DEAD], subject="bounce me")
    assert "451 4.3.0" in later["recipients"][0]["last_error"]
    assert mx.messages == []
    admin = logged_in(srv, ADMIN)
    r = act(admin, later["id"], "retry")
    assert r.status == 303, r
    mx.wait_messages(1)
    assert mx.rcpts() == [LATER]
    wait_until(lambda: later["id"] not in queue(srv), 15,
               what="the retried message to leave the queue")
    r = act(admin, dead["id"], "delete")
    assert r.status == 303 and r.header("Location") == \
        "/queue?done=queue_deleted"
    assert dead["id"] not in queue(srv)
    assert act(admin, dead["id"], "delete").status == 404
    r = act(admin, bounce["id"], "bounce")
    assert r.status == 303
    srv.wait_delivered("bob@example.test")
    dsn = srv.maildir_messages("bob@example.test")[0]
    assert b"bounced by the operator" in dsn
    # Still a dead MX for the rest: nothing else reached it.
    assert mx.rcpts() == [LATER]


def test_hostile_headers_and_errors_are_escaped(srv):
    m = send(srv, "alice@example.test", [HOSTILE],
             subject="<script>alert(1)</script>",
             extra_headers=('X-Evil: "><img src=x onerror=alert(2)>',
                            "Reply-To: <a href='javascript:x'>@x.example"))
    admin = logged_in(srv, ADMIN)
    for path in ("/queue", f"/queue/msg/{m['id']}"):
        page = admin.get(path)
        assert page.status == 200
        assert "<script" not in page.text and "<img" not in page.text
        assert "<a href='javascript" not in page.text
        assert "&lt;script&gt;" in page.text
    page = admin.get(f"/queue/msg/{m['id']}")
    assert "&lt;img src=x onerror=alert(2)&gt;" in page.text
    # Filter values are shown back escaped too.
    page = admin.get('/queue?from=%22%3E%3Cscript%3E')
    assert page.status == 200 and "<script" not in page.text


def test_bad_input(srv):
    m = send(srv, "alice@example.test", [DEAD])
    admin = logged_in(srv, ADMIN)
    token = admin.csrf("/")
    assert admin.get("/queue/msg/zzzz").status == 404
    assert admin.get("/queue/msg/" + "a" * 5000).status == 400
    assert admin.get(f"/queue/msg/{m['id']}%00").status == 400
    assert admin.get(f"/queue/msg/{m['id']}/x").status == 404
    for fields in ({"op": "x" * 100}, {"op": "nonsense"}, {}):
        r = admin.post(f"/queue/msg/{m['id']}", {"csrf": token, **fields})
        assert r.status == 400, (fields, r)
    r = admin.post(f"/queue/msg/{m['id']}", f"csrf={token}&op=hold%00",
                   headers={"Content-Type":
                            "application/x-www-form-urlencoded"})
    assert r.status == 400
    # Without the token nothing happens.
    assert admin.post(f"/queue/msg/{m['id']}", {"op": "delete"}).status == 403
    assert m["id"] in queue(srv) and queue(srv)[m["id"]]["held"] is False
