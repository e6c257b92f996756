"""Outbound abuse control (issue 13): sending limits per user and per
domain for authenticated senders (451 4.7.1 naming the limit, logged
with check=send_limit), overrides with `ferry user|domain limit`,
send-hold and send-release (queued mail held with the user, a notice to
the postmaster), the automatic stop of an account that bursts while
another keeps sending, `ferry why --user`, and `ferry domain
suspend|resume` (inbound mail 4xx, SMTP/IMAP/POP3 logins refused,
nothing lost).  Real clients: smtplib (submission with STARTTLS and
AUTH), imaplib, poplib."""

import imaplib
import json
import poplib
import re
import smtplib
import ssl

import pytest

from certs import client_context, make_tls_ferry
from conftest import PASSWORD, make_message, queue_id, wait_until
from fakemx import peers, port, relay_conf  # noqa: F401 (fixtures)
from scanners import GTUBE, spamd_server  # noqa: F401 (fixture)

ALICE = "alice@example.test"
BOB = "bob@example.test"
CAROL = "carol@other.test"
REMOTE = "someone@remote.example"


def abuse_server(make_ferry, tmp_path, **conf):
    """TLS server with submission, log_file set for `ferry why`, the
    domains example.test (alice, bob, postmaster) and other.test
    (carol)."""
    over = {k: str(v) for k, v in conf.items()}
    srv = make_tls_ferry(make_ferry, tmp_path, overrides=over, start=False)
    srv.conf["log_file"] = str(srv.dir / "ferry-file.log")
    srv.write_config()
    srv.add_user("postmaster@example.test")
    srv.add_domain("other.test")
    srv.add_user(CAROL)
    srv.start()
    return srv


def submit(srv, user=ALICE):
    s = smtplib.SMTP("127.0.0.1", srv.sub_port,
                     local_hostname="client.example", timeout=15)
    s.starttls(context=client_context(srv.ca))
    s.login(user, PASSWORD)
    return s


def send_one(s, user, rcpts, subject="hello"):
    """One transaction on session s: (MAIL reply, [RCPT replies], DATA
    reply or None)."""
    s.ehlo_or_helo_if_needed()
    mail = s.mail(user)
    if mail[0] != 250:
        s.rset()
        return mail, [], None
    rr = [s.rcpt(r) for r in rcpts]
    if not any(c == 250 for c, _ in rr):
        s.rset()
        return mail, rr, None
    data = s.data(make_message(subject=subject, sender=user, to=rcpts[0]))
    return mail, rr, data


# ------------------------------------------------------------- limits

def test_user_message_limit_451_and_logged(make_ferry, tmp_path):
    srv = abuse_server(make_ferry, tmp_path,
                       send_limit_messages_per_hour=2)
    with submit(srv) as s:
        for i in range(2):
            mail, rr, data = send_one(s, ALICE, [REMOTE], f"m{i}")
            assert data[0] == 250, (mail, rr, data)
        mail, rr, data = send_one(s, ALICE, [REMOTE], "m3")
    assert mail[0] == 451, mail
    text = mail[1].decode()
    assert text.startswith("4.7.1 Sending limit reached: alice@example.test "
                           "has sent 2 of 2 messages per hour allowed"), text
    srv.wait_log(r"smtp reject stage=mail from=<alice@example\.test> "
                 r"user=alice@example\.test code=451 dsn=4\.7\.1 "
                 r"check=send_limit limit=messages_per_hour scope=user "
                 r"count=2 max=2")
    # Bob is not Alice: his own count.
    with submit(srv, BOB) as s:
        assert send_one(s, BOB, [REMOTE])[2][0] == 250
    # `ferry why` finds the refusal by the sender.
    r = srv.cli("why", "--from", ALICE)
    assert r.returncode == 0, r.stderr
    assert re.search(r"refused stage=mail check=send_limit .*reply=\"451 "
                     r"4\.7\.1 sending limit reached\"", r.stdout), r.stdout


def test_user_override_and_recipient_limit(make_ferry, tmp_path):
    srv = abuse_server(make_ferry, tmp_path,
                       send_limit_messages_per_hour=1,
                       send_limit_recipients_per_day=100)
    # A per-user override lifts Alice's message limit and sets her
    # recipients to 3 a day.
    r = srv.cli_ok("user", "limit", ALICE, "--messages-per-hour", "50",
                   "--recipients-per-day", "3")
    assert "messages in the last hour: 0 of 50 (set)" in r.stdout, r.stdout
    assert "recipients in the last day: 0 of 3 (set)" in r.stdout, r.stdout
    with submit(srv) as s:
        mail, rr, data = send_one(s, ALICE, ["a@remote.example",
                                             "b@remote.example"])
        assert data[0] == 250
        mail, rr, data = send_one(s, ALICE, ["c@remote.example",
                                             "d@remote.example"])
    assert mail[0] == 250
    assert [c for c, _ in rr] == [250, 451], rr
    assert rr[1][1].decode().startswith(
        "4.7.1 Sending limit reached: alice@example.test has sent 3 of 3 "
        "recipients per day allowed"), rr
    assert data[0] == 250          # the message went to the one it could
    srv.wait_log(r"check=send_limit limit=recipients_per_day scope=user "
                 r"count=3 max=3")
    # Bob still has the configured default (1 message an hour).
    with submit(srv, BOB) as s:
        assert send_one(s, BOB, [REMOTE])[2][0] == 250
        assert send_one(s, BOB, [REMOTE])[0][0] == 451
    info = json.loads(srv.cli_ok("user", "limit", BOB, "--json").stdout)
    assert info["messages_per_hour_limit"] == 1
    assert info["messages_last_hour"] == 1
    # Back to the default.
    srv.cli_ok("user", "limit", ALICE, "--messages-per-hour", "default")
    r = srv.cli_ok("user", "limit", ALICE)
    assert "of 1 (default)" in r.stdout, r.stdout


def test_domain_limit_counts_all_its_users(make_ferry, tmp_path):
    srv = abuse_server(make_ferry, tmp_path)
    srv.cli_ok("domain", "limit", "example.test", "--messages-per-hour", "2")
    with submit(srv) as s:
        assert send_one(s, ALICE, [REMOTE])[2][0] == 250
    with submit(srv, BOB) as s:
        assert send_one(s, BOB, [REMOTE])[2][0] == 250
        mail = send_one(s, BOB, [REMOTE])[0]
    assert mail[0] == 451
    assert mail[1].decode().startswith(
        "4.7.1 Sending limit reached: the domain of bob@example.test has "
        "sent 2 of 2 messages per hour allowed"), mail
    srv.wait_log(r"check=send_limit limit=messages_per_hour scope=domain")
    # Another domain is not limited.
    with submit(srv, CAROL) as s:
        assert send_one(s, CAROL, [REMOTE])[2][0] == 250
    r = srv.cli_ok("domain", "limit", "example.test")
    assert "messages in the last hour: 2 of 2 (set)" in r.stdout, r.stdout


@pytest.mark.parametrize("args,err", [
    (("user", "limit", "nobody@example.test", "--messages-per-hour", "5"),
     "nobody@example.test: no such user"),
    (("user", "limit", ALICE, "--messages-per-hour", "-3"),
     "a limit is a number"),
    (("user", "limit", ALICE, "--recipients-per-day", "lots"),
     "a limit is a number"),
    (("user", "limit", ALICE, "--messages-per-hour", "999999999999"),
     "a limit is a number"),
    (("domain", "limit", "nowhere.test", "--messages-per-hour", "5"),
     "nowhere.test"),
    (("user", "send-hold", "nobody@example.test"),
     "nobody@example.test: no such user"),
    (("user", "send-release", BOB), "bob@example.test: not on send-hold"),
    (("domain", "suspend", "nowhere.test"), "nowhere.test"),
    (("domain", "resume", "example.test"), "example.test: not suspended"),
    (("user", "send-hold", "not an address"), "not an address"),
])
def test_bad_input(make_ferry, tmp_path, args, err):
    srv = abuse_server(make_ferry, tmp_path)
    r = srv.cli(*args)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert err in r.stderr, r.stderr


@pytest.mark.parametrize("args", [
    ("user", "limit"),
    ("user", "limit", ALICE, "--messages-per-hour"),
    ("user", "send-hold"),
    ("user", "send-hold", ALICE, "extra"),
    ("domain", "suspend"),
    ("domain", "resume", "a.test", "b.test"),
    ("user", "limit", ALICE, "--json", "--messages-per-hour", "3"),
])
def test_usage_errors(make_ferry, tmp_path, args):
    srv = make_ferry(start=False)
    r = srv.cli(*args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "usage:" in r.stderr


def test_bad_config_values(make_ferry):
    srv = make_ferry({"send_limit_messages_per_hour": "many"}, start=False,
                     accounts=False)
    r = srv.cli("user", "list")
    assert r.returncode != 0 and "send_limit_messages_per_hour" in r.stderr
    srv.set_conf(send_limit_messages_per_hour="10",
                 outbound_checks="clamd, razor")
    r = srv.cli("user", "list")
    assert r.returncode != 0 and 'unknown outbound check "razor"' in \
        r.stderr, r.stderr


# ------------------------------------------------------- send-hold

def test_send_hold_and_release(make_ferry, tmp_path):
    srv = abuse_server(make_ferry, tmp_path)
    # The resolver never answers: mail to a remote domain waits queued.
    with submit(srv) as s:
        qid = queue_id(send_one(s, ALICE, [REMOTE], "queued")[2][1].decode())
    r = srv.cli_ok("user", "send-hold", ALICE, "--reason", "stolen password")
    assert "alice@example.test: sending stopped; 1 queued message held" \
        in r.stdout, r.stdout
    notice = re.search(r"postmaster notified \(queued as (\w+)\)", r.stdout)
    assert notice, r.stdout
    shown = srv.cli_ok("queue", "show", qid).stdout
    assert "held: yes" in shown, shown
    assert "hold reason: send-hold: held by cli: stolen password" in shown
    js = json.loads(srv.cli_ok("queue", "show", qid, "--json").stdout)
    assert js["held"] and js["hold_reason"].startswith("send-hold")
    # The postmaster's notice arrives.
    srv.wait_delivered("postmaster@example.test", 1)
    msg = srv.maildir_messages("postmaster@example.test")[0]
    assert b"Subject: Sending stopped for alice@example.test" in msg
    assert b"stolen password" in msg
    assert b"ferry user send-release alice@example.test" in msg
    # New submissions are refused, with the reason; Bob is not held.
    with submit(srv) as s:
        mail = send_one(s, ALICE, [REMOTE])[0]
    assert mail[0] == 550, mail
    assert "4.7.1" not in mail[1].decode()
    assert mail[1].decode().startswith(
        "5.7.1 Sending from alice@example.test is stopped (held by cli: "
        "stolen password)"), mail
    srv.wait_log(r"smtp reject stage=mail .*user=alice@example\.test "
                 r"code=550 dsn=5\.7\.1 check=send_hold")
    with submit(srv, BOB) as s:
        assert send_one(s, BOB, [REMOTE])[2][0] == 250
    info = srv.cli_ok("user", "limit", ALICE).stdout
    assert "send-hold: yes" in info and "by hand" in info, info
    # A second hold tells nobody again.
    r = srv.cli_ok("user", "send-hold", ALICE)
    assert "was stopped already" in r.stdout and "notified" not in r.stdout

    r = srv.cli_ok("user", "send-release", ALICE)
    assert "alice@example.test may send again; 1 held message released" \
        in r.stdout, r.stdout
    assert "held: no" in srv.cli_ok("queue", "show", qid).stdout
    with submit(srv) as s:
        assert send_one(s, ALICE, [REMOTE])[2][0] == 250
    assert "send-hold: no" in srv.cli_ok("user", "limit", ALICE).stdout


def test_send_release_keeps_operator_holds(make_ferry, tmp_path):
    """A message the operator held by hand stays held after a
    send-release: only what the send-hold held is released."""
    srv = abuse_server(make_ferry, tmp_path)
    with submit(srv) as s:
        q1 = queue_id(send_one(s, ALICE, [REMOTE], "one")[2][1].decode())
        q2 = queue_id(send_one(s, ALICE, [REMOTE], "two")[2][1].decode())
    srv.cli_ok("queue", "hold", q1)
    r = srv.cli_ok("user", "send-hold", ALICE)
    assert "1 queued message held" in r.stdout, r.stdout
    srv.cli_ok("user", "send-release", ALICE)
    assert "held: yes" in srv.cli_ok("queue", "show", q1).stdout
    assert "held: no" in srv.cli_ok("queue", "show", q2).stdout


# ------------------------------------------------------- suspension

def mailbox_ports(srv):
    return srv.imap_port, srv.pop3_port


def suspend_server(make_ferry, tmp_path):
    from conftest import free_port
    imap, pop3 = free_port(), free_port()
    srv = abuse_server(make_ferry, tmp_path,
                       imap_listen=f"127.0.0.1:{imap}",
                       pop3_listen=f"127.0.0.1:{pop3}",
                       auth_plaintext_networks="127.0.0.0/8")
    srv.imap_port, srv.pop3_port = imap, pop3
    return srv


def imap_login(srv, user=ALICE, password=PASSWORD):
    c = imaplib.IMAP4("127.0.0.1", srv.imap_port, timeout=15)
    try:
        c.login(user, password)
        typ, data = c.select("INBOX")
        return int(data[0])
    finally:
        try:
            c.logout()
        except Exception:
            pass


def pop3_login(srv, user=ALICE, password=PASSWORD):
    c = poplib.POP3("127.0.0.1", srv.pop3_port, timeout=15)
    try:
        c.user(user)
        c.pass_(password)
        return c.stat()[0]
    finally:
        c.quit()


def test_domain_suspend_and_resume(make_ferry, tmp_path):
    srv = suspend_server(make_ferry, tmp_path)
    with srv.smtp() as s:
        s.sendmail(REMOTE, [ALICE], make_message(subject="before", to=ALICE))
    srv.wait_delivered(ALICE, 1)
    srv.cli_ok("alias", "add", "sales@example.test", BOB)

    r = srv.cli_ok("domain", "suspend", "example.test", "--reason", "unpaid")
    assert "example.test suspended" in r.stdout
    r = srv.cli("domain", "suspend", "example.test")
    assert r.returncode == 1 and "suspended already" in r.stderr

    # Inbound mail: 451 4.7.1 for the domain (users and aliases), other
    # domains unaffected.
    with srv.smtp() as s:
        s.ehlo()
        s.mail(REMOTE)
        for rcpt in (ALICE, "sales@example.test"):
            code, text = s.rcpt(rcpt)
            assert code == 451, (rcpt, code, text)
            assert text.decode().startswith("4.7.1 <" + rcpt + ">: Mail "
                                            "for this domain is suspended")
        assert s.rcpt(CAROL)[0] == 250
    srv.wait_log(r"smtp reject stage=rcpt rcpt=alice@example\.test "
                 r"code=451 dsn=4\.7\.1 check=suspended")

    # Logins: SMTP AUTH, IMAP, POP3 refused with the right password.
    s = smtplib.SMTP("127.0.0.1", srv.sub_port, timeout=15)
    s.starttls(context=client_context(srv.ca))
    with pytest.raises(smtplib.SMTPAuthenticationError) as e:
        s.login(ALICE, PASSWORD)
    assert e.value.smtp_code == 535 and b"suspended" in e.value.smtp_error
    s.close()
    with pytest.raises(imaplib.IMAP4.error) as e:
        imap_login(srv)
    assert "CONTACTADMIN" in str(e.value) and "suspended" in str(e.value)
    with pytest.raises(poplib.error_proto) as e:
        pop3_login(srv, BOB)
    assert b"suspended" in e.value.args[0]
    # A wrong password says nothing of the suspension.
    with pytest.raises(imaplib.IMAP4.error) as e:
        imap_login(srv, password="wrong")
    assert "suspended" not in str(e.value)
    # Other domains log in.
    assert imap_login(srv, CAROL) == 0
    srv.wait_log(r"imap reject stage=auth .*user=alice@example\.test "
                 r"check=suspended")

    srv.cli_ok("domain", "resume", "example.test")
    r = srv.cli("domain", "resume", "example.test")
    assert r.returncode == 1 and "not suspended" in r.stderr
    with srv.smtp() as s:
        s.sendmail(REMOTE, [ALICE], make_message(subject="after", to=ALICE))
    srv.wait_delivered(ALICE, 2)
    assert imap_login(srv) == 2          # nothing was lost
    assert pop3_login(srv, BOB) == 0
    with submit(srv) as s:
        assert send_one(s, ALICE, [REMOTE])[2][0] == 250


# ------------------------------------------------------- automatic stop

def add_history(srv, subject, hours_ago_msgs):
    """Writes send counters of earlier hours, as weeks of normal sending
    would have left them (the test cannot wait for hours to pass)."""
    import sqlite3
    import time
    now_hour = int(time.time()) // 3600
    db = sqlite3.connect(str(srv.state_dir / "ferry.db"))
    with db:
        for ago, msgs in hours_ago_msgs:
            db.execute("INSERT INTO send_counts (subject, hour, msgs) "
                       "VALUES (?, ?, ?)", (subject, now_hour - ago, msgs))
    db.close()


def test_burst_stops_one_account_while_another_sends(make_ferry, tmp_path):
    srv = abuse_server(make_ferry, tmp_path, send_stop_min_messages=4,
                       send_stop_factor=10)
    # Bob normally sends 2 an hour (over 3 active hours): he is stopped
    # only past max(4, 10 x 2) = 20.  Alice has no history: past 4.
    add_history(srv, BOB, [(30, 2), (50, 2), (70, 2)])
    info = srv.cli_ok("user", "limit", BOB).stdout
    assert "normal volume: 2.0 messages an hour (3 active hours learnt); " \
        "stopped at 20 an hour" in info, info
    alice, bob = submit(srv), submit(srv, BOB)
    queued = []
    for i in range(4):
        queued.append(queue_id(send_one(alice, ALICE, [REMOTE],
                                        f"a{i}")[2][1].decode()))
        assert send_one(bob, BOB, [REMOTE], f"b{i}")[2][0] == 250
    mail = send_one(alice, ALICE, [REMOTE], "a5")[0]
    assert mail[0] == 550, mail
    assert "sudden volume: 5 messages in the last hour, normal 0.0 an " \
        "hour, stop at 4" in mail[1].decode(), mail
    # Bob keeps sending.
    for i in range(4, 8):
        assert send_one(bob, BOB, [REMOTE], f"b{i}")[2][0] == 250
    # Alice stays stopped, even on a new connection.
    assert send_one(alice, ALICE, [REMOTE])[0][0] == 550
    alice.close()
    bob.close()
    with submit(srv) as s:
        assert send_one(s, ALICE, [REMOTE])[0][0] == 550
    srv.wait_log(r"smtp send-stop user=alice@example\.test "
                 r"reason=\"sudden volume: .*\" held_messages=4 notice=\w+")
    srv.wait_log(r"check=send_stop")
    for q in queued:
        shown = srv.cli_ok("queue", "show", q).stdout
        assert "held: yes" in shown and "hold reason: send-hold: sudden " \
            "volume" in shown, shown
    srv.wait_delivered("postmaster@example.test", 1)
    msg = srv.maildir_messages("postmaster@example.test")[0]
    assert b"Sending stopped for alice@example.test" in msg
    assert b"sudden volume" in msg
    info = srv.cli_ok("user", "limit", ALICE).stdout
    assert "send-hold: yes" in info and "(automatic)" in info, info
    assert "send-hold: no" in srv.cli_ok("user", "limit", BOB).stdout

    # `ferry why --user`: what she sent, and why she was stopped.
    r = srv.cli("why", "--user", ALICE)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for q in queued:
        assert re.search(rf"accepted id={q} from=<alice@example\.test> "
                         r"to=someone@remote\.example", out), out
    assert re.search(r"refused stage=mail check=send_stop .*reply=\"550 "
                     r"5\.7\.1 sudden volume", out), out
    assert re.search(r"automatic stops of alice@example\.test\n  \S+ "
                     r"stopped by smtpd \(session \w+\): sudden volume: 5 "
                     r"messages in the last hour, normal 0\.0 an hour, stop "
                     r"at 4; 4 queued message\(s\) held, postmaster notice "
                     r"\w+", out), out
    assert re.search(r"alice@example\.test now: on send-hold \(automatic, "
                     r"since \S+\): sudden volume", out), out
    assert "bob@example.test" not in out
    r = srv.cli("why", "--user", BOB)
    assert r.returncode == 0 and "bob@example.test now: may send" in \
        r.stdout and "normal 2.0 messages an hour, stopped at 20" in \
        r.stdout, r.stdout
    r = srv.cli("why", "--user", "nobody@example.test")
    assert r.returncode == 1 and "no such user" in r.stderr
    assert srv.cli("why", "--user").returncode == 2

    # The postmaster lets her send again: her mail goes on.
    r = srv.cli_ok("user", "send-release", ALICE)
    assert "4 held messages released" in r.stdout, r.stdout
    for q in queued:
        assert "held: no" in srv.cli_ok("queue", "show", q).stdout
    # The burst that stopped her is forgiven: she sends again at once
    # (the limits still apply).
    with submit(srv) as s:
        assert send_one(s, ALICE, [REMOTE], "after")[2][0] == 250


def test_bounces_stop_the_account(make_ferry, tmp_path, peers, port):
    """Mail that draws send_stop_bounces bounces in a day stops the
    account: its other queued mail is held, the postmaster told."""
    peers.mx("127.0.0.2", port, rcpt={
        "x@dest.test": "550 5.1.1 no such user",
        "y@dest.test": "550 5.1.1 no such user"})
    conf = relay_conf(port, route=f"dest.test [127.0.0.2]:{port}")
    conf.update(send_stop_bounces=2, relay_networks="")
    srv = abuse_server(make_ferry, tmp_path, **{k: v for k, v in
                                                conf.items() if v})
    with submit(srv) as s:
        waiting = queue_id(send_one(s, ALICE, [REMOTE], "waits")[2][1]
                           .decode())
        assert send_one(s, ALICE, ["x@dest.test", "y@dest.test"],
                        "bounces")[2][0] == 250
    srv.wait_log(r"\w+ queue send-stop user=alice@example\.test "
                 r"reason=\"2 bounces in 24 hours \(stop at 2\)\" "
                 r"held_messages=1 notice=\w+", timeout=30)
    shown = srv.cli_ok("queue", "show", waiting).stdout
    assert "hold reason: send-hold: 2 bounces in 24 hours" in shown, shown
    srv.wait_delivered("postmaster@example.test", 1)
    with submit(srv) as s:
        mail = send_one(s, ALICE, [REMOTE])[0]
    assert mail[0] == 550 and b"2 bounces in 24 hours" in mail[1], mail
    info = srv.cli_ok("user", "limit", ALICE).stdout
    assert "bounces in the last day: 2" in info, info


# ------------------------------------------------------- outbound_checks

def send_data(s, user, rcpts, body, subject="x"):
    s.ehlo_or_helo_if_needed()
    assert s.mail(user)[0] == 250
    for r in rcpts:
        assert s.rcpt(r)[0] == 250
    return s.data(make_message(subject=subject, sender=user, to=rcpts[0],
                               body=body))


SPAM_BODY = "This is spam.\r\n" + GTUBE.decode() + "\r\n"


def test_outbound_spam_is_held_for_the_postmaster(make_ferry, tmp_path,
                                                  spamd_server):
    srv = abuse_server(make_ferry, tmp_path, spamd=spamd_server.target,
                       outbound_checks="spamd", send_stop_spam=2)
    with submit(srv) as s:
        spam = send_data(s, ALICE, [REMOTE], SPAM_BODY, "buy now")
        assert spam[0] == 250, spam
        clean = send_data(s, ALICE, [REMOTE], "Lunch at noon?\r\n")
        assert clean[0] == 250
    q_spam, q_clean = (queue_id(r[1].decode()) for r in (spam, clean))
    assert "held: no" in srv.cli_ok("queue", "show", q_clean).stdout
    # Spam to a local mailbox is held too, never delivered.
    with submit(srv) as s:
        local = send_data(s, ALICE, [BOB], SPAM_BODY, "local spam")
        assert local[0] == 250
    q_local = queue_id(local[1].decode())
    shown = srv.cli_ok("queue", "show", q_spam).stdout
    assert "held: yes" in shown, shown
    assert re.search(r"hold reason: outbound spam: score \d+\.\d \(spamd\)",
                     shown), shown
    # Held as the user wrote it: no spam tag was put in.
    assert "Subject: buy now" in shown and "X-Spam" not in shown, shown
    assert "held: yes" in srv.cli_ok("queue", "show", q_local).stdout
    srv.wait_log(rf"smtp outbound-spam-held id={q_spam} "
                 r"user=alice@example\.test score=\d+")
    srv.wait_log(r"spamd score=\S+ tests=\S+ outbound=yes")
    srv.barrier()
    assert srv.maildir_messages(BOB) == []
    # Two spam verdicts (send_stop_spam = 2): Alice is stopped.
    srv.wait_log(r"smtp send-stop user=alice@example\.test reason=\"2 spam "
                 r"verdicts in 24 hours \(stop at 2\)\"")
    info = srv.cli_ok("user", "limit", ALICE).stdout
    assert "spam verdicts in the last day: 2" in info, info
    assert "send-hold: yes" in info, info
    # The stop held her clean mail as well (a send-hold).
    shown = srv.cli_ok("queue", "show", q_clean).stdout
    assert "hold reason: send-hold: 2 spam verdicts" in shown, shown
    # The postmaster releases the local one: it is delivered.
    srv.cli_ok("queue", "release", q_local)
    srv.wait_delivered(BOB, 1)


def test_without_outbound_checks_users_mail_is_not_scanned(
        make_ferry, tmp_path, spamd_server):
    srv = abuse_server(make_ferry, tmp_path, spamd=spamd_server.target)
    with submit(srv) as s:
        r = send_data(s, ALICE, [REMOTE], SPAM_BODY)
    assert r[0] == 250
    assert "held: no" in srv.cli_ok("queue", "show",
                                    queue_id(r[1].decode())).stdout
    assert "outbound=yes" not in srv.log_text()
