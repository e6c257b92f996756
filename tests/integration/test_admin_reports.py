"""The "report a mail problem" form on the help page and the list on the
domain page (src/admin/pages_reports.c over src/ops/ops_report.c), over
real HTTPS: a logged-in user reports to their own domain's postmaster,
who sees it escaped; nobody else sees it; the reports are bounded."""

import http.client
import re
import ssl

import pytest

from webclient import ADMIN, OTHER_POSTMASTER, POSTMASTER, Web, admin_ferry


@pytest.fixture
def srv(make_ferry, tmp_path):
    return admin_ferry(make_ferry, tmp_path)


def logged_in(srv, who):
    w = Web(srv)
    assert w.login(who).status == 303
    return w


def report(w, domain="example.test", **fields):
    page = w.get(f"/help/{domain}")
    token = w.field(page, "csrf") or w.csrf("/")
    return w.post(f"/help/{domain}", {"csrf": token, **fields})


def reports_on(w, domain):
    page = w.get(f"/domains/{domain}")
    assert page.status == 200, page
    return page.text[page.text.index("<h2>Reported problems</h2>"):]


def test_user_reports_to_their_postmaster(srv):
    alice = logged_in(srv, "alice@example.test")
    page = alice.get("/help/example.test")
    assert page.status == 200
    assert 'action="/help/example.test"' in page.text
    assert 'name="what"' in page.text and "alice@example.test" in page.text
    r = report(alice, what="My mail to Bob bounced\r\n"
               "<script>alert(1)</script>", when="today <b>10:00</b>",
               address="bob@remote.example", reporter="mallory@evil.test")
    assert r.status == 303, r
    assert r.header("Location") == "/help/example.test?done=reported"
    assert "Your report was sent to the postmaster." in \
        alice.get(r.header("Location")).text
    listing = reports_on(logged_in(srv, POSTMASTER), "example.test")
    assert "<td>alice@example.test</td>" in listing
    assert "mallory" not in listing
    assert "<pre>My mail to Bob bounced\n&lt;script&gt;alert(1)" \
        "&lt;/script&gt;</pre>" in listing
    assert "<script" not in listing and "<b>" not in listing
    assert "today &lt;b&gt;10:00&lt;/b&gt;" in listing
    assert "<td>bob@remote.example</td>" in listing
    # The admin sees it too; the other domain's postmaster does not.
    assert "My mail to Bob" in reports_on(logged_in(srv, ADMIN),
                                           "example.test")
    other = logged_in(srv, OTHER_POSTMASTER)
    assert other.get("/domains/example.test").status == 403
    assert "No problem was reported." in reports_on(other, "other.test")


def test_only_to_ones_own_domain(srv):
    alice = logged_in(srv, "alice@example.test")
    r = report(alice, domain="other.test", what="let me in")
    assert r.status == 403, r
    r = report(alice, domain="nosuch.test", what="x")
    assert r.status in (403, 404)
    assert "No problem was reported." in reports_on(
        logged_in(srv, OTHER_POSTMASTER), "other.test")
    # Not logged in: a link to log in, and no way to post.
    anon = Web(srv)
    page = anon.get("/help/example.test")
    assert page.status == 200 and 'name="what"' not in page.text
    assert 'href="/login?next=/help/example.test"' in page.text
    assert anon.post("/help/example.test", {"what": "x"}).status == 403
    # Without the token nothing is recorded.
    assert alice.post("/help/example.test", {"what": "x"}).status == 403
    assert "No problem was reported." in reports_on(
        logged_in(srv, POSTMASTER), "example.test")


def test_bad_input(srv):
    alice = logged_in(srv, "alice@example.test")
    token = alice.csrf("/help/example.test")
    for fields in ({"what": ""}, {}, {"what": "x" * 2001},
                   {"what": "x", "when": "a\nb"},
                   {"what": "x", "when": "w" * 101},
                   {"what": "x", "address": "a b@c"},
                   {"what": "x", "address": "a" * 400}):
        r = alice.post("/help/example.test", {"csrf": token, **fields})
        assert r.status == 400, (fields, r)
    r = alice.post("/help/example.test", f"csrf={token}&what=nul%00byte",
                   headers={"Content-Type":
                            "application/x-www-form-urlencoded"})
    assert r.status == 400
    r = None
    try:
        r = alice.post("/help/example.test",
                       {"csrf": token, "what": "x" * 300000})
    except (ConnectionError, http.client.HTTPException, ssl.SSLError):
        pass        # evhttp may also close before the body is sent
    assert r is None or r.status == 413
    assert alice.post("/help/example.test/x",
                      {"csrf": token, "what": "x"}).status == 404
    assert "No problem was reported." in reports_on(
        logged_in(srv, POSTMASTER), "example.test")


def test_bounded_count(srv):
    bob = logged_in(srv, "bob@example.test")
    token = bob.csrf("/help/example.test")
    for i in range(55):
        r = bob.post("/help/example.test",
                     {"csrf": token, "what": f"problem number {i}."})
        assert r.status == 303, (i, r)
    listing = reports_on(logged_in(srv, POSTMASTER), "example.test")
    shown = [int(n) for n in re.findall(r"problem number (\d+)\.", listing)]
    assert shown == list(range(54, 4, -1))
    assert (srv.state_dir / "reports" / "example.test").stat().st_size \
        < 50 * 200


# ------------------------------------------------ what the log says

ALICE, BOB = "alice@example.test", "bob@example.test"
SPAMMER = "spammer@bad.example"


@pytest.fixture
def logsrv(make_ferry, tmp_path):
    from conftest import free_port
    s = admin_ferry(make_ferry, tmp_path, log_file=str(tmp_path / "r.log"),
                    submission_listen=f"127.0.0.1:{free_port()}")
    s.sub_port = int(s.conf["submission_listen"].rsplit(":", 1)[1])
    return s


def refuse_for(srv, rcpt):
    """A real SMTP client refused at RCPT by example.test's deny rule."""
    import smtplib
    with smtplib.SMTP("127.0.0.1", srv.port, timeout=15) as s:
        s.ehlo()
        assert s.mail(SPAMMER)[0] == 250
        code, text = s.rcpt(rcpt)
        assert code == 550, text
    srv.wait_log(r"policy decision stage=rcpt verdict=reject .*rcpt=<"
                 + re.escape(rcpt) + ">")


def facts_of(page):
    m = re.search(r'<pre class="facts">(.*?)</pre>', page.text, re.S)
    return m.group(1) if m else None


def postmaster_mail(srv, count=1):
    msgs = srv.wait_delivered(POSTMASTER, count)
    return [m for m in msgs if b"Subject: Mail problem reported" in m]


def test_report_prefilled_with_the_users_own_log_facts(logsrv):
    """Mail refused for alice (a deny rule, real SMTP) and for bob: on the
    help page alice sees her refusal with its time, check and reply, not
    bob's; ticked, the report carries those lines to the postmaster's
    list and into the message the postmaster receives."""
    srv = logsrv
    srv.cli_ok("rule", "add", "example.test", "deny", "sender", SPAMMER)
    refuse_for(srv, ALICE)
    refuse_for(srv, BOB)
    alice = logged_in(srv, ALICE)
    page = alice.get("/help/example.test")
    assert page.status == 200, page
    shown = facts_of(page)
    assert shown is not None, page.text
    line = [ln for ln in shown.splitlines() if "refused" in ln]
    assert len(line) == 1, shown
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\S*  refused: mail from "
                    r"&lt;spammer@bad\.example&gt; to you \(at rcpt, check "
                    r"rule\): 550 5\.7\.1 ", line[0]), line[0]
    assert BOB not in page.text
    assert 'name="include_log" value="yes" checked' in page.text

    token = alice.field(page, "csrf")
    r = alice.post("/help/example.test", {
        "csrf": token, "what": "Mail from a supplier never arrives",
        "address": SPAMMER, "include_log": "yes"})
    assert r.status == 303, r
    listing = reports_on(logged_in(srv, POSTMASTER), "example.test")
    assert "Mail from a supplier never arrives" in listing
    assert "refused: mail from &lt;spammer@bad.example&gt; to you" in listing
    assert BOB not in listing

    [msg] = postmaster_mail(srv)
    head, body = msg.split(b"\r\n\r\n", 1)
    assert b"\nReply-To: <alice@example.test>" in head
    assert b"Subject: Mail problem reported by alice@example.test" in head
    assert b"Auto-Submitted: auto-generated" in head
    text = body.decode()
    assert "Mail from a supplier never arrives" in text
    assert f"The other address: {SPAMMER}" in text
    assert re.search(r"\S+  refused: mail from <spammer@bad\.example> to "
                     r"you \(at rcpt, check rule\): 550 5\.7\.1 ", text), text
    assert BOB not in text
    assert all(len(ln) <= 998 for ln in msg.split(b"\r\n"))
    assert b"\n" not in msg.replace(b"\r\n", b"")


def test_report_without_the_facts_and_facts_not_from_the_form(logsrv):
    """Unticked, the report carries no log lines; a forged "facts" field
    is never taken (the server reads the log itself)."""
    srv = logsrv
    srv.cli_ok("rule", "add", "example.test", "deny", "sender", SPAMMER)
    refuse_for(srv, ALICE)
    alice = logged_in(srv, ALICE)
    token = alice.csrf("/help/example.test")
    r = alice.post("/help/example.test", {
        "csrf": token, "what": "first, without",
        "facts": "forged line", "include_log": "no"})
    assert r.status == 303, r
    [msg] = postmaster_mail(srv)
    assert b"No log facts were included." in msg
    assert b"forged" not in msg and b"refused: mail from" not in msg
    listing = reports_on(logged_in(srv, POSTMASTER), "example.test")
    assert "forged" not in listing
    assert "<td>-</td></tr>" in listing


def test_sent_mail_refused_and_hostile_log_text(logsrv):
    """Alice's own submission refused (logged in, to a recipient the rule
    denies) shows as hers; hostile text in the log (a reply with markup,
    appended as a log line of a session refusing mail for alice) is
    escaped on the page and passed as plain text in the mail."""
    import smtplib
    from certs import client_context
    from conftest import PASSWORD
    srv = logsrv
    srv.cli_ok("rule", "add", "example.test", "deny", "sender", SPAMMER)
    refuse_for(srv, ALICE)
    # Alice, logged in on the submission port, to a user who does not
    # exist: refused in her own session.
    with smtplib.SMTP("127.0.0.1", srv.sub_port, timeout=15) as s:
        s.starttls(context=client_context(srv.ca))
        s.login(ALICE, PASSWORD)
        assert s.mail(ALICE)[0] == 250
        code, _ = s.rcpt("nobody@example.test")
        assert code == 550
    srv.wait_log(r"smtp reject stage=rcpt .*nobody@example\.test")
    log = srv.conf["log_file"]
    text = open(log, encoding="utf-8").read()
    conn = re.search(r"^(\S+ .*?\]: )([0-9a-f]{16}) smtp connected .*$",
                     text, re.M)
    prefix = conn.group(1)
    sid = "00000000deadbeef"
    with open(log, "a", encoding="utf-8") as f:
        f.write(f'{prefix}{sid} smtp connected address=127.0.0.1\n'
                f'{prefix}{sid} policy decision stage=rcpt verdict=reject '
                f'check="<b>chk</b>" rule=1 from=<"<img src=x>"@bad.example>'
                f' rcpt=<{ALICE}> code=550 dsn=5.7.1 '
                f'reason="<script>alert(3)</script> & more"\n')
    alice = logged_in(srv, ALICE)
    page = alice.get("/help/example.test")
    assert re.search(r"refused: your mail from &lt;alice@example\.test&gt; "
                     r"to &lt;nobody@example\.test&gt; \(at rcpt, check "
                     r"smtp\): 550 5\.1\.1 ", facts_of(page)), facts_of(page)
    # Bob's page shows neither Alice's refusals nor her own sending.
    bobpage = logged_in(srv, BOB).get("/help/example.test")
    assert "nobody@example.test" not in bobpage.text
    assert "alert(3)" not in bobpage.text
    assert "<script" not in page.text and "<img" not in page.text
    assert "<b>chk" not in page.text
    assert "&lt;script&gt;alert(3)&lt;/script&gt; &amp; more" in page.text
    r = alice.post("/help/example.test", {
        "csrf": alice.field(page, "csrf"), "what": "odd",
        "include_log": "yes"})
    assert r.status == 303
    [msg] = postmaster_mail(srv)
    assert b"<script>alert(3)</script> & more" in msg
    assert b"to <nobody@example.test> (at rcpt, check smtp): 550" in msg
    listing = reports_on(logged_in(srv, POSTMASTER), "example.test")
    assert "<script" not in listing and "<img" not in listing
    assert "&lt;script&gt;alert(3)" in listing
