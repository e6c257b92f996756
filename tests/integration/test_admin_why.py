"""/why (src/admin/pages_why.c over src/ops/ops_why.c, the reader that
`ferry why` uses too), over real HTTPS with webclient.py: mail refused
through real SMTP sessions (smtplib) shows up for the admin, for the
postmaster of the recipient's domain and in the user's own list, never
for another domain's postmaster; the CLI prints the same events as it
always did; bad input is 400 and hostile log content is escaped."""

import re
import smtplib

import pytest

from certs import client_context
from conftest import PASSWORD, RawSMTP, free_port
from webclient import ADMIN, OTHER_POSTMASTER, POSTMASTER, Web, admin_ferry

ALICE = "alice@example.test"
SPAMMER = "spammer@bad.example"


@pytest.fixture
def srv(make_ferry, tmp_path):
    s = admin_ferry(make_ferry, tmp_path, log_file=str(tmp_path / "why.log"),
                    submission_listen=f"127.0.0.1:{free_port()}")
    s.sub_port = int(s.conf["submission_listen"].rsplit(":", 1)[1])
    return s


def logged_in(srv, who):
    w = Web(srv)
    assert w.login(who).status == 303
    return w


def refuse_by_rule(srv):
    """A deny rule of example.test, then a real SMTP client refused by it
    at RCPT (and an unknown user refused by the session)."""
    srv.cli_ok("rule", "add", "example.test", "deny", "sender", SPAMMER)
    with smtplib.SMTP("127.0.0.1", srv.port, local_hostname="client.example",
                      timeout=15) as s:
        s.ehlo()
        assert s.mail(SPAMMER)[0] == 250
        code, text = s.rcpt(ALICE)
        assert code == 550, text
        code, text = s.rcpt("nobody@example.test")
        assert code == 550 and text.startswith(b"5.1.1"), text
    srv.wait_log(r"smtp reject stage=rcpt .*nobody@example\.test")


def refused_rows(page):
    return re.findall(r'<tr class="refused">(.*?)</tr>', page.text)


def test_refusal_seen_by_admin_postmaster_and_user_only(srv):
    refuse_by_rule(srv)
    # One message to both domains, accepted.
    with smtplib.SMTP("127.0.0.1", srv.port, timeout=15) as s:
        s.sendmail("friend@sender.example", [ALICE, "carol@other.test"],
                   b"Subject: both\r\n\r\nhi\r\n")
    srv.wait_delivered(ALICE)
    srv.wait_delivered("carol@other.test")

    # The command line prints what it always printed.
    cli = srv.cli_ok("why", "--to", ALICE).stdout
    assert re.search(r"^session [0-9a-f]{16} \S+ ip=127\.0\.0\.1$", cli,
                     re.M), cli
    assert re.search(r"^  \S+ refused stage=rcpt check=rule rule=\d+ "
                     r"from=<spammer@bad\.example> to=<alice@example\.test> "
                     r"reply=\"550 5\.7\.1 [^\"]+\"$", cli, re.M), cli
    assert re.search(r"^  \S+ refused stage=rcpt check=smtp rule=- "
                     r"from=<spammer@bad\.example> to=<nobody@example\.test> "
                     r"reply=\"550 5\.1\.1 [^\"]+\"$", cli, re.M), cli
    assert re.search(r"^  \S+ accepted id=\w+ from=<friend@sender\.example> "
                     r"to=alice@example\.test, carol@other\.test$", cli,
                     re.M), cli

    # The admin: the whole sessions, both domains.
    admin = logged_in(srv, ADMIN)
    a = admin.get("/why?address=alice%40example.test&dir=to")
    assert a.status == 200, a
    assert "carol@other.test" in a.text and "nobody@example.test" in a.text
    rows = refused_rows(a)
    assert any("check rule, rule " in r and "spammer@bad.example" in r and
               "550 5.7.1" in r for r in rows), rows
    assert SPAMMER in admin.get("/why?ip=127.0.0.1").text

    # example.test's postmaster: only the events about alice.
    pm = logged_in(srv, POSTMASTER)
    page = pm.get("/why?address=alice%40example.test&dir=to")
    assert page.status == 200, page
    assert "refused at rcpt" in page.text and SPAMMER in page.text
    assert "550 5.7.1" in page.text and "accepted" in page.text
    assert "carol" not in page.text and "nobody@" not in page.text
    # The unknown user is theirs to look up too.
    page = pm.get("/why?address=nobody%40example.test")
    assert page.status == 200
    assert "check smtp" in page.text and "550 5.1.1" in page.text

    # other.test's postmaster: nothing about example.test.
    opm = logged_in(srv, OTHER_POSTMASTER)
    for q in ("address=alice%40example.test&dir=to",
              "address=alice%40example.test&dir=from",
              "address=alice%40example.test&dir=user",
              "address=nobody%40example.test", "ip=127.0.0.1"):
        r = opm.get("/why?" + q)
        assert r.status == 403, (q, r)
        assert SPAMMER not in r.text
    empty = pm.get("/why?address=zed%40example.test")
    assert empty.status == 200 and "Nothing in the log" in empty.text
    # Their own carol: only the accepted message, not alice's refusals.
    page = opm.get("/why?address=carol%40other.test")
    assert page.status == 200
    assert "accepted" in page.text and SPAMMER not in page.text
    assert "alice@example.test" not in page.text

    # Alice herself: the refusal in her list, with the check and reply.
    user = logged_in(srv, ALICE)
    page = user.get("/why")
    assert page.status == 200, page
    rows = refused_rows(page)
    assert len(rows) == 1, rows
    assert SPAMMER in rows[0] and ">rule<" in rows[0] and "550 5.7.1" in \
        rows[0], rows
    assert "nobody@example.test" not in page.text
    assert "carol" not in page.text
    # ... but nobody else's, and no client address.
    for q in ("address=bob%40example.test", "address=carol%40other.test",
              "ip=127.0.0.1", "address=postmaster%40example.test&dir=user"):
        r = user.get("/why?" + q)
        assert r.status == 403, (q, r)
        assert SPAMMER not in r.text
    # The nav leads there.
    assert 'href="/why"' in user.get("/account").text


def test_user_sees_what_they_sent(srv):
    with smtplib.SMTP("127.0.0.1", srv.sub_port, timeout=15) as s:
        s.starttls(context=client_context(srv.ca))
        s.login(ALICE, PASSWORD)
        s.sendmail(ALICE, ["bob@example.test"],
                   b"Subject: mine\r\n\r\nhello bob\r\n")
    srv.wait_delivered("bob@example.test")
    cli = srv.cli_ok("why", "--user", ALICE).stdout
    assert re.search(r"accepted id=\w+ from=<alice@example\.test> "
                     r"to=bob@example\.test", cli), cli
    assert "alice@example.test now: may send" in cli, cli

    user = logged_in(srv, ALICE)
    page = user.get("/why")
    assert page.status == 200
    sent = page.text.split('id="sent"', 1)[1]
    assert re.search(r"accepted</td><td>queue id \w+</td><td>from "
                     r"&lt;alice@example.test&gt; to bob@example.test", sent)
    assert "may send" in sent and "Messages in the last hour 1" in sent
    # Bob sent nothing and sees nothing of Alice's.
    bob = logged_in(srv, "bob@example.test").get("/why")
    assert bob.status == 200 and "No session logged in as you" in bob.text
    assert "alice@example.test" not in bob.text.split('id="sent"', 1)[1]
    # The postmaster and the admin ask for the same view by address.
    for who in (POSTMASTER, ADMIN):
        page = logged_in(srv, who).get(
            "/why?address=alice%40example.test&dir=user")
        assert page.status == 200
        assert "to bob@example.test" in page.text and "may send" in page.text
    assert logged_in(srv, OTHER_POSTMASTER).get(
        "/why?address=alice%40example.test&dir=user").status == 403


def test_bad_input_is_400(srv):
    pm = logged_in(srv, POSTMASTER)
    user = logged_in(srv, ALICE)
    for w in (pm, user):
        for q, words in (
                ("address=" + "a" * 400 + "%40example.test", "too long"),
                ("address=nobody", "not an address"),
                ("address=a%40b%40", "not an address"),
                ("address=%3Cscript%3E%40example.test", "not an address"),
                ("dir=sideways&address=alice%40example.test", "Mail is"),
                ("days=0", "Days back"), ("days=1000", "Days back"),
                ("days=-1", "Days back"), ("days=7x", "Days back"),
                ("ip=" + "1" * 100, "client address"),
                ("ip=%3Cb%3E", "client address")):
            r = w.get("/why?" + q)
            assert r.status == 400, (q, r)
            assert words in r.text, (q, r)
            assert "<script" not in r.text
        # NUL through %00, and a malformed escape.
        for q in ("address=alice%00%40example.test", "address=%zz"):
            r = w.get("/why?" + q)
            assert r.status == 400 and "malformed" in r.text, (q, r)
    # Two addresses at once are only for the admin's CLI.
    assert pm.get("/why?address=alice%40example.test&ip=127.0.0.1"
                  ).status == 403


def test_hostile_log_content_is_escaped(srv):
    refuse_by_rule(srv)
    log = srv.conf["log_file"]
    text = open(log, encoding="utf-8").read()
    conn = re.search(r"^(\S+ .*?\]: )([0-9a-f]{16}) smtp connected .*$",
                     text, re.M)
    assert conn, text[-2000:]
    prefix = conn.group(1)
    sid = "00000000deadbeef"
    evil = [
        f'{prefix}{sid} smtp connected address=127.0.0.1 '
        f'helo="<script>alert(1)</script>"',
        f'{prefix}{sid} policy decision stage=rcpt verdict=reject '
        f'check="<b>chk</b>" rule=1 from=<"<img src=x onerror=alert(2)>"'
        f'@bad.example> rcpt=<alice@example.test> code=550 dsn=5.7.1 '
        f'reason="<script>alert(3)</script> \\"quoted\\" & more"',
    ]
    with open(log, "a", encoding="utf-8") as f:
        f.write("\n".join(evil) + "\n")
    for who, path in ((ADMIN, "/why?address=alice%40example.test"),
                      (POSTMASTER, "/why?address=alice%40example.test"),
                      (ADMIN, "/why?ip=127.0.0.1"), (ALICE, "/why")):
        page = logged_in(srv, who).get(path)
        assert page.status == 200, (who, page)
        assert "<script" not in page.text and "<img" not in page.text
        assert "<b>chk" not in page.text
        assert "&lt;script&gt;alert(3)&lt;/script&gt; &quot;quoted&quot; " \
            "&amp; more" in page.text, (who, path)
        assert "&lt;b&gt;chk&lt;/b&gt;" in page.text
    # The CLI prints the same line as text, as before.
    cli = srv.cli_ok("why", "--to", ALICE).stdout
    assert 'reply="550 5.7.1 <script>alert(3)</script> "quoted" & more"' \
        in cli, cli


def test_message_refused_at_end_of_data(srv):
    """A message refused after DATA (bare LF) is refused for each of its
    recipients: each one's list shows it, each postmaster sees only their
    own recipient of it."""
    with RawSMTP(srv.port) as c:
        c.ehlo()
        c.expect("MAIL FROM:<x@bad.example>", 250)
        c.expect(f"RCPT TO:<{ALICE}>", 250)
        c.expect("RCPT TO:<carol@other.test>", 250)
        c.expect("DATA", 354)
        c.send(b"Subject: bare lf\r\n\r\nline one\nline two\r\n.\r\n")
        r = c.reply()
        assert r.code == 550 and r.enhanced == "5.5.2", r
    srv.wait_log(r"smtp reject stage=data")
    cli = srv.cli_ok("why", "--to", ALICE).stdout
    assert re.search(r"^  \S+ refused stage=data check=\S+ rule=- "
                     r"from=<x@bad\.example> reply=\"550 Message contains bare "
                     r"CR or LF line endings; use CRLF\"$",
                     cli, re.M), cli
    page = logged_in(srv, ALICE).get("/why")
    rows = refused_rows(page)
    assert len(rows) == 1 and "x@bad.example" in rows[0] and \
        "550 Message contains bare CR or LF" in rows[0], rows
    pm = logged_in(srv, POSTMASTER).get("/why?address=alice%40example.test")
    assert "refused at data" in pm.text and "to alice@example.test" in pm.text
    assert "carol" not in pm.text
    opm = logged_in(srv, OTHER_POSTMASTER).get(
        "/why?address=carol%40other.test")
    assert "refused at data" in opm.text and "to carol@other.test" in opm.text
    assert "alice" not in opm.text
    admin = logged_in(srv, ADMIN).get("/why?address=carol%40other.test")
    assert "to alice@example.test, carol@other.test" in admin.text
