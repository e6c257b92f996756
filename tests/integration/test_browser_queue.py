"""The queue pages, /admin/status and /admin/settings in a real browser
(Debian's chromium through playwright-core, tests/browser/admin_pages.js
driven by browserdrive.py, as test_browser_admin.py does): the admin and
a postmaster find the queue by their links, open a message by its id,
and hold, release and delete it with the page's own buttons (real forms
with their CSRF token); the effects are checked with `ferry queue`, not
in the browser.  A postmaster's scope holds in the browser too: another
domain's message is not there.  Status and settings are reached from
the menu.  Every page the browser ends on is saved as a screenshot
(shots/ under the test's tmp dir), and each page is also loaded on a
360-pixel phone screen, where none may scroll sideways.

Remote mail goes to one fake MX that answers 451, so the messages wait
in the queue with retries an hour apart."""

import pytest

from browserdrive import Chromium, browser_missing
from conftest import PASSWORD, free_port, make_message, wait_until
from fakemx import FakeMX
from webclient import ADMIN, POSTMASTER, admin_ferry

MISSING = browser_missing()
pytestmark = pytest.mark.skipif(
    MISSING is not None, reason=f"browser tests need packages: {MISSING}")

DEAD = "dead@remote.example"      # always 451: stays queued


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    c = Chromium(tmp_path_factory.mktemp("chromium-queue"))
    yield c
    c.stop()


@pytest.fixture
def mx():
    m = FakeMX("127.0.0.1", free_port(),
               rcpt={DEAD: "451 4.4.1 mailbox <b>busy</b>"}).start()
    yield m
    m.stop()


@pytest.fixture
def srv(make_ferry, tmp_path, mx):
    return admin_ferry(make_ferry, tmp_path, relay_networks="127.0.0.0/8",
                       retry_min="1h", retry_max="2h",
                       dns_resolvers=f"127.0.0.1:{free_port()}",
                       delay_warning="0",
                       route=f"* [127.0.0.1]:{mx.port}")


@pytest.fixture
def web(chromium, srv, tmp_path):
    shots = tmp_path / "shots"
    shots.mkdir()
    chromium.call("setup", base=f"https://127.0.0.1:{srv.admin_port}",
                  shots=str(shots))
    chromium.shots = shots
    yield chromium
    chromium.call("setup", base="about:blank", shots=None)


def queue(srv):
    return {m["id"]: m for m in srv.queue_json()}


def send(srv, sender, rcpt, subject):
    """One message to rcpt; its queue id once it had a first attempt."""
    before = set(queue(srv))
    with srv.smtp() as s:
        s.sendmail(sender, [rcpt], make_message(subject=subject,
                                                sender=sender, to=rcpt))

    def attempted():
        for qid, m in queue(srv).items():
            if qid not in before and all(r["next_attempt"] > 0 or
                                         r["state"] != "pending"
                                         for r in m["recipients"]):
                return qid
        return None
    return wait_until(attempted, 15, what=f"a first attempt to {rcpt}")


def login(web, s, user, phone=False):
    web.call("open", s=s, phone=phone)
    page = web.call("login", s=s, user=user, password=PASSWORD)
    assert page["path"] == "/" and page["h1"] == "Welcome", page
    return page


def clean(page):
    assert page["status"] == 200, page
    assert page["dialogs"] == [] and page["pageErrors"] == [], page
    assert page["scripts"] == 0, page
    said = [m for m in page["console"]
            if not m.startswith("verbose:") or "[DOM]" in m]
    assert said == [], said


def on_a_phone(web, who, paths):
    s = "phone-" + who.split("@")[0]
    login(web, s, who, phone=True)
    for path in paths:
        page = web.call("goto", s=s, path=path)
        assert page["status"] == 200, page
        assert not page["overflowX"], f"{path} scrolls sideways on a " \
            f"phone as {who}: see the screenshot"
        clean(page)


def test_admin_queue_hold_release_delete(web, srv):
    own = send(srv, "alice@example.test", DEAD, "from alice")
    other = send(srv, "carol@other.test", DEAD, "from carol")
    login(web, "admin", ADMIN)
    page = web.call("click", s="admin", name="Queue")
    assert page["path"] == "/queue" and page["h1"] == "Queue", page
    clean(page)
    assert own in page["text"] and other in page["text"]
    # The MX's reply is shown as text, markup and all.
    assert "451 4.4.1 mailbox <b>busy</b>" in page["text"], page["text"]

    page = web.call("click", s="admin", name=own)
    assert page["path"] == f"/queue/msg/{own}", page
    assert page["h1"] == f"Message {own}"
    assert DEAD in page["text"] and "Subject: from alice" in page["text"]
    clean(page)

    page = web.call("click", s="admin", role="button", name="Hold")
    assert page["notices"] == ["The message is held."], page
    assert page["path"] == f"/queue/msg/{own}?done=queue_held", page
    assert queue(srv)[own]["held"] is True
    clean(page)
    page = web.call("click", s="admin", role="button", name="Release")
    assert page["notices"] == ["The message was released."], page
    assert queue(srv)[own]["held"] is False
    page = web.call("click", s="admin", role="button", name="Delete")
    assert page["notices"] == ["The message was deleted."], page
    assert page["path"] == "/queue?done=queue_deleted", page
    assert own not in queue(srv) and other in queue(srv)
    assert own not in page["text"] and other in page["text"]
    clean(page)

    # Status and settings from the menu.
    page = web.call("click", s="admin", name="Status")
    assert page["path"] == "/admin/status" and page["h1"] == "Status", page
    for heading in ("Listeners", "Queue", "Resolvers"):
        assert heading in page["text"], page["text"]
    assert f"127.0.0.1:{srv.port}" in page["text"]
    clean(page)
    page = web.call("click", s="admin", name="Settings")
    assert page["path"] == "/admin/settings", page
    assert page["h1"] == "Settings in force", page
    assert "retry_min" in page["text"] and srv.conf["hostname"] in \
        page["text"], page["text"]
    clean(page)

    on_a_phone(web, ADMIN, ["/queue", f"/queue/msg/{other}",
                            "/admin/status", "/admin/settings"])
    shots = sorted(p.name for p in web.shots.iterdir())
    assert any("queue" in n for n in shots) and \
        any("status" in n for n in shots), shots


def test_postmaster_queue_by_links_own_domain_only(web, srv):
    own = send(srv, "alice@example.test", DEAD, "from alice")
    other = send(srv, "carol@other.test", DEAD, "from carol")
    login(web, "pm", POSTMASTER)
    web.call("click", s="pm", name="Domains")
    page = web.call("click", s="pm", name="example.test")
    assert page["h1"] == "example.test", page
    page = web.call("click", s="pm", name="Queue")
    assert page["path"] == "/queue/example.test", page
    assert page["h1"] == "Queue for example.test", page
    assert own in page["text"] and other not in page["text"], page["text"]
    assert "carol" not in page["text"]
    clean(page)
    # No link to the whole queue, status or settings in their menu.
    assert "Status" not in page["links"] and "Settings" not in \
        page["links"], page["links"]

    page = web.call("click", s="pm", name=own)
    assert page["path"] == f"/queue/msg/{own}", page
    clean(page)
    page = web.call("click", s="pm", role="button", name="Hold")
    assert page["notices"] == ["The message is held."], page
    assert queue(srv)[own]["held"] is True
    page = web.call("click", s="pm", role="button", name="Release")
    assert page["notices"] == ["The message was released."], page
    assert queue(srv)[own]["held"] is False
    page = web.call("click", s="pm", role="button", name="Delete")
    assert page["notices"] == ["The message was deleted."], page
    assert page["path"] == "/queue/example.test?done=queue_deleted", page
    assert own not in queue(srv)
    clean(page)

    # Another domain's message, its queue and the admin pages, by
    # address: not there for this postmaster, and nothing changed.
    for path, status in ((f"/queue/msg/{other}", 404),
                         ("/queue/other.test", 403), ("/queue", 403),
                         ("/admin/status", 403), ("/admin/settings", 403)):
        page = web.call("goto", s="pm", path=path)
        assert page["status"] == status, (path, page)
        assert "carol" not in page["text"], path
    assert queue(srv)[other]["held"] is False

    keep = send(srv, "bob@example.test", DEAD, "from bob")
    on_a_phone(web, POSTMASTER, ["/queue/example.test", f"/queue/msg/{keep}"])
