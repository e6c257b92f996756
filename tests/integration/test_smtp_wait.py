"""An SMTP session while one of its steps waits (a check's DNS answer,
the DKIM key lookup at the end of DATA): the loop keeps reading the
connection meanwhile (turning reading off and on for every wait cost
two system calls each), so what the client does during the wait must
come out as before:

- a client that says nothing while a check takes longer than
  smtp_timeout is not timed out (the silence is the server's);
- commands a client pipelines into the wait are kept, and answered in
  order once it ends;
- an end of input met during the wait may be a half-close (a scripted
  client that sent everything and waits for the replies): it is read
  again once the wait is over, so such a client gets every reply;
- a client that leaves during the wait leaves nothing behind: no role
  dies and later sessions are served.

Nothing here asserts a duration: the pauses only outlast smtp_timeout.
"""

import socket
import time

import pytest

from conftest import RawSMTP, make_message, wait_until
from dkimkeys import rsa_key_pair
from fakedns import fakedns  # noqa: F401 (fixture)
from policy_util import policy_server

ALICE = "alice@example.test"
BOB = "bob@example.test"
DOMAIN = "remote.example"
SENDER = f"a@{DOMAIN}"


def spf_server(make_ferry, dns, **conf):
    """A server that checks SPF at MAIL; SENDER's record is held until
    the test releases it."""
    dns.add(DOMAIN, "TXT", "v=spf1 ip4:127.0.0.0/8 -all")
    dns.hold(DOMAIN)
    return policy_server(make_ferry, dns, spf="yes", **conf)


def held_mail(srv, dns, source="127.0.0.1"):
    """A session whose MAIL waits for the held SPF record."""
    c = RawSMTP(srv.port, source=source)
    c.ehlo()
    c.send(f"MAIL FROM:<{SENDER}>\r\n".encode())
    return c


def test_silence_during_a_check_is_not_a_timeout(make_ferry, fakedns):  # noqa: F811
    srv = spf_server(make_ferry, fakedns, smtp_timeout="2s")
    with held_mail(srv, fakedns) as c:
        wait_until(lambda: fakedns.held(DOMAIN) >= 1, 10,
                   what="the held SPF query")
        time.sleep(3.5)         # longer than smtp_timeout, in silence
        fakedns.release(DOMAIN)
        r = c.reply(timeout=20)
        assert r is not None and r.code == 250, r
        # The session goes on: its timeout starts again from here.
        c.expect(f"RCPT TO:<{ALICE}>", 250)
        c.expect("QUIT", 221)
    assert "smtp timeout" not in srv.log_text()
    srv.wait_log(r"check=spf .*spf=pass")


def test_commands_pipelined_into_a_wait(make_ferry, fakedns):  # noqa: F811
    srv = spf_server(make_ferry, fakedns)
    with held_mail(srv, fakedns) as c:
        wait_until(lambda: fakedns.held(DOMAIN) >= 1, 10,
                   what="the held SPF query")
        # RFC 2920: these arrive while MAIL is being checked.
        c.send(f"RCPT TO:<{ALICE}>\r\nRCPT TO:<{BOB}>\r\nDATA\r\n"
               .encode())
        time.sleep(0.5)
        fakedns.release(DOMAIN)
        codes = [r.code for r in c.replies(4, timeout=20)]
        assert codes == [250, 250, 250, 354], codes
        c.send(make_message(sender=SENDER, to=ALICE) + b".\r\n")
        r = c.reply(timeout=20)
        assert r is not None and r.code == 250, r
        c.expect("QUIT", 221)
    srv.wait_delivered(ALICE, 1)
    srv.wait_delivered(BOB, 1)


def test_client_leaves_during_a_check(make_ferry, fakedns):  # noqa: F811
    srv = spf_server(make_ferry, fakedns)
    conns = [held_mail(srv, fakedns, source=f"127.0.0.{i}")
             for i in (1, 2, 3)]
    wait_until(lambda: fakedns.held(DOMAIN) >= 1, 10,
               what="the held SPF query")
    for c in conns:
        c.close()
    fakedns.release(DOMAIN)
    wait_until(lambda: srv.log_text().count("smtp disconnected") >= 3, 10,
               what="3 sessions seen leaving")
    with RawSMTP(srv.port) as c:
        r = c.send_message(SENDER, [ALICE],
                           make_message(sender=SENDER, to=ALICE))
        assert r is not None and r.code == 250, r
    srv.wait_delivered(ALICE, 1)
    assert "role-exited" not in srv.log_text()


def test_half_closed_client_gets_its_replies(make_ferry, fakedns,  # noqa: F811
                                             tmp_path):
    """A scripted client (`printf ... | nc`) sends the message, QUIT,
    and closes its sending side while its DKIM key is looked up: the end
    of input met during the wait is read again after it, so the client
    still gets 250 and 221, and the message is delivered."""
    dkim = pytest.importorskip("dkim", reason="python3-dkim is not installed")
    key, rec = rsa_key_pair(tmp_path)
    fakedns.add("s._domainkey.remote.example", "TXT",
                [rec[i:i + 250] for i in range(0, len(rec), 250)])
    fakedns.hold("s._domainkey.remote.example")
    srv = policy_server(make_ferry, fakedns, dkim_verify="yes")
    msg = make_message(sender=SENDER, to=ALICE, subject="signed")
    msg = dkim.sign(msg, b"s", b"remote.example", key,
                    include_headers=[b"from", b"to", b"subject"]) + msg
    with RawSMTP(srv.port) as c:
        c.ehlo()
        c.expect(f"MAIL FROM:<{SENDER}>", 250)
        c.expect(f"RCPT TO:<{ALICE}>", 250)
        c.expect("DATA", 354)
        c.send(msg + b".\r\nQUIT\r\n")
        wait_until(lambda: fakedns.held("s._domainkey.remote.example") >= 1,
                   10, what="the held key lookup")
        c.sock.shutdown(socket.SHUT_WR)
        time.sleep(0.5)
        fakedns.release("s._domainkey.remote.example")
        codes = [r.code for r in c.replies(2, timeout=20)]
        assert codes == [250, 221], codes
    srv.wait_delivered(ALICE, 1)
    assert b"dkim=pass" in srv.maildir_messages(ALICE)[0]
    assert "role-exited" not in srv.log_text()


def test_half_closed_client_pipelining_into_a_check(make_ferry,  # noqa: F811
                                                    fakedns):
    """Everything in one write (RFC 2920 and BDAT, RFC 3030), then the
    sending side closed, while MAIL waits for its SPF record: the
    commands read before the end of input are all answered."""
    srv = spf_server(make_ferry, fakedns)
    body = make_message(sender=SENDER, to=ALICE, subject="chunk")
    with RawSMTP(srv.port) as c:
        ehlo = c.ehlo()
        assert "CHUNKING" in ehlo.text, ehlo.text
        c.send(f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{ALICE}>\r\n"
               f"BDAT {len(body)} LAST\r\n".encode() + body + b"QUIT\r\n")
        wait_until(lambda: fakedns.held(DOMAIN) >= 1, 10,
                   what="the held SPF query")
        c.sock.shutdown(socket.SHUT_WR)
        time.sleep(0.5)
        fakedns.release(DOMAIN)
        codes = [r.code for r in c.replies(4, timeout=20)]
        assert codes == [250, 250, 250, 221], codes
    srv.wait_delivered(ALICE, 1)
