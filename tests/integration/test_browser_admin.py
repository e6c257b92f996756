"""Ferry's web pages (the admin role) in a real browser: Debian's
headless chromium driven by playwright-core (tests/browser/admin_pages.js
through browserdrive.py), one browser for the whole module, a fresh
browser context per person.

The browser does what a person does: it follows links and buttons by
their text, types into fields found by their label and sends forms with
their buttons (the login form also with Enter).  What the pages did is
checked apart from the browser, through the protocols and the CLI:
smtplib (a rule's refusal), poplib (a changed password), the Maildir (a
vacation reply) and `ferry domain/user/rule list`.  Also: the
Content-Security-Policy keeps scripts from running in chromium, hostile
text is shown as text, logout ends the session for back and reload, a
form posted from another site's page changes nothing, the cookie flags
as chromium stores them, every form field has a label.

Every page the browser ends on is saved as a PNG under the test's tmp
dir; their paths are printed, so a failing test lists them.  Skipped,
naming the missing package, only when scripts/install-deps could not
install chromium, node or playwright-core."""

import http.server
import poplib
import re
import smtplib
import threading

import pytest

from browserdrive import Chromium, browser_missing
from conftest import PASSWORD, free_port, make_message
from webclient import ADMIN, POSTMASTER, Web, admin_ferry

MISSING = browser_missing()
pytestmark = pytest.mark.skipif(
    MISSING is not None, reason=f"browser tests need packages: {MISSING}")

ALICE = "alice@example.test"
BOB = "bob@example.test"
NEW_DOMAIN = "shop.test"
SHOP_PM = f"postmaster@{NEW_DOMAIN}"
SHOP_PM_PASSWORD = "Harbour-Light-7"
DAVE = f"dave@{NEW_DOMAIN}"
SPAMMER = "spammer@bad.example"


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    c = Chromium(tmp_path_factory.mktemp("chromium"))
    yield c
    c.stop()


@pytest.fixture
def srv(make_ferry, tmp_path):
    return admin_ferry(make_ferry, tmp_path,
                       pop3_listen=f"127.0.0.1:{free_port()}",
                       auth_plaintext_networks="127.0.0.0/8")


@pytest.fixture
def web(chromium, srv, tmp_path):
    """The module's browser pointed at this test's server; screenshots
    in tmp_path/shots."""
    shots = tmp_path / "shots"
    shots.mkdir()
    chromium.call("setup", base=f"https://127.0.0.1:{srv.admin_port}",
                  shots=str(shots))
    yield chromium
    chromium.call("setup", base="about:blank", shots=None)


def login(web, s, user, password=PASSWORD, enter=False):
    web.call("open", s=s)
    page = web.call("login", s=s, user=user, password=password, enter=enter)
    assert page["path"] == "/" and page["h1"] == "Welcome", page
    assert user in page["text"]
    return page


def clean(page):
    """Nothing ran: no dialog, no page error, no script element."""
    assert page["dialogs"] == [] and page["pageErrors"] == [], page
    assert page["scripts"] == 0, page


def pop3_ok(srv, user, password):
    port = int(srv.conf["pop3_listen"].rsplit(":", 1)[1])
    p = poplib.POP3("127.0.0.1", port, timeout=20)
    try:
        p.user(user)
        p.pass_(password)
        p.quit()
        return True
    except poplib.error_proto:
        p.close()
        return False


def test_admin_adds_domain_postmaster_adds_user_and_rule(web, srv):
    # The admin: Domains in the menu, a new domain, its postmaster.
    login(web, "admin", ADMIN)
    page = web.call("click", s="admin", name="Domains")
    assert page["h1"] == "Domains", page
    page = web.call("form", s="admin", after="Add a domain",
                    fields={"Domain": NEW_DOMAIN}, submit="Add")
    assert page["notices"] and page["path"].startswith("/domains"), page
    assert NEW_DOMAIN in srv.cli_ok("domain", "list").stdout
    page = web.call("click", s="admin", name=NEW_DOMAIN)
    assert page["h1"] == NEW_DOMAIN, page
    page = web.call("form", s="admin", after="Add a user",
                    fields={"Address": "postmaster",
                            "Password": SHOP_PM_PASSWORD},
                    submit="Add user")
    assert page["notices"], page
    assert SHOP_PM in page["text"]
    clean(page)

    # The new postmaster logs in with that password and sees the domain.
    page = login(web, "pm", SHOP_PM, SHOP_PM_PASSWORD)
    assert "postmaster" in page["text"]
    page = web.call("click", s="pm", name=NEW_DOMAIN)
    assert page["h1"] == NEW_DOMAIN, page
    page = web.call("form", s="pm", after="Add a user",
                    fields={"Address": "dave", "Password": "Dave-Pass-123",
                            "Quota (empty: unlimited)": "20M"},
                    submit="Add user")
    assert page["notices"] and DAVE in page["text"], page
    users = srv.cli_ok("user", "list", NEW_DOMAIN).stdout
    assert DAVE in users, users

    # A rule that refuses a sender, from the domain page's Rules link.
    page = web.call("click", s="pm", name="Rules")
    assert page["h1"] == f"Rules for {NEW_DOMAIN}", page
    page = web.call("form", s="pm", after="Add a rule",
                    select={"Action": "deny",
                            "For allow and deny: what the value is":
                            "sender"},
                    fields={"Value (for skip: check names, comma-separated)":
                            SPAMMER},
                    submit="Add rule")
    assert page["notices"] == ["The rule was added."], page
    m = re.search(r"(\d+)\s+deny sender\s+" + re.escape(SPAMMER),
                  page["text"])
    assert m, page["text"]
    rule_id = m.group(1)
    listing = srv.cli_ok("rule", "list", NEW_DOMAIN).stdout
    assert f"deny sender {SPAMMER}" in listing, listing
    clean(page)

    # SMTP: the sender is refused for dave with the rule's own reply;
    # another sender is not.
    with smtplib.SMTP("127.0.0.1", srv.port, timeout=20) as s:
        s.ehlo("client.example")
        with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
            s.sendmail(SPAMMER, [DAVE], make_message(sender=SPAMMER,
                                                     to=DAVE))
    code, text = e.value.recipients[DAVE]
    assert code == 550, e.value.recipients
    assert text.decode() == (f"5.7.1 <{DAVE}>: Refused by the policy of "
                             f"{NEW_DOMAIN} (rule {rule_id})"), text
    with smtplib.SMTP("127.0.0.1", srv.port, timeout=20) as s:
        s.sendmail("friend@remote.example", [DAVE],
                   make_message(sender="friend@remote.example", to=DAVE))
    srv.wait_delivered(DAVE)
