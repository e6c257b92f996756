"""IMAP and POP3 logins proxied to the home node (issue 15): nodes A
(127.0.0.2) and B (127.0.0.3) on one real PostgreSQL (pgserver.py),
example.test homed on A.  Real clients (imaplib, poplib) log in on B:

  - mail sent to B lands on A and is read through B's IMAP (SELECT,
    FETCH, a flag set through B is on A) and POP3 (RETR, DELE, QUIT
    commits on A); CAPABILITY after login is A's; A learns the client's
    address (ID x-originating-ip, taken from a node only);
  - with A offering STARTTLS, B logs in to A over TLS;
  - A learns the POP3 client's address too (XCLIENT ADDR=, taken from a
    node only): its login line names the client, and failed logins
    named so ban the client, not the front node; from an address that
    is not a node's the command is refused;
  - a wrong password is refused by B, and A never hears of it;
  - A stopped: a clean temporary error on B (never B's own empty
    Maildir), and the login works again once A is back;
  - failed logins from a node's address are not counted on A (while the
    same failures from another address ban it);
  - a domain without a home is served from B's own Maildir;
  - a client that drops the connection mid-session ends the proxy on
    both nodes, and B keeps serving.

Every wait is bounded (wait_until); nothing sleeps to assert timing."""

import imaplib
import poplib
import re
import socket

import pytest

from conftest import PASSWORD, make_message, tcp_listening, wait_until
from fakedns import FakeDNS, fakedns  # noqa: F401
from test_pg_store import node, pg, pg_url  # noqa: F401
from test_pop3 import RawPOP3

ALICE = "alice@example.test"


def make_cluster(make_ferry, pg_url, fakedns, a_extra=None):
    extra = {"host_down_memory": "0", "retry_min": "1h", "retry_max": "2h"}
    a = node(make_ferry, pg_url, "127.0.0.2", "a", fakedns, accounts=True,
             node_name="a", **extra, **(a_extra or {}))
    b = node(make_ferry, pg_url, "127.0.0.3", "b", fakedns, node_name="b",
             **extra)
    for srv, name in ((a, "a"), (b, "b")):
        a.cli_ok("node", "add", name, "--smtp", f"{srv.host}:{srv.port}",
                 "--imap", f"{srv.host}:{srv.imap_port}",
                 "--pop3", f"{srv.host}:{srv.pop3_port}")
    a.cli_ok("domain", "node", "example.test", "a")
    return a, b


@pytest.fixture
def cluster(make_ferry, pg_url, fakedns):
    return make_cluster(make_ferry, pg_url, fakedns)


def send(srv, rcpt, subject):
    with srv.smtp() as s:
        s.sendmail("someone@sender.test", [rcpt],
                   make_message(subject=subject, to=rcpt))


def imap(srv):
    return imaplib.IMAP4(srv.host, srv.imap_port, timeout=20)


class FromSource:
    """A client library (imaplib, poplib) connecting from a chosen local
    address."""

    def __init__(self, host, port, source):
        self.source = source
        super().__init__(host, port, timeout=20)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(self.source, 0))


class SourceIMAP(FromSource, imaplib.IMAP4):
    pass


class SourcePOP3(FromSource, poplib.POP3):
    pass


def delivered_via_b(a, b, subject="via b"):
    send(b, ALICE, subject)
    a.wait_delivered(ALICE)
    b.wait_queue_empty()
    assert b.maildir_files(ALICE) == []


def test_imap_through_b_reads_and_flags_on_a(cluster):
    a, b = cluster
    delivered_via_b(a, b)
    with imap(a) as c:
        c.login(ALICE, PASSWORD)
        typ, caps_a = c.capability()
        c.logout()
    with imap(b) as c:
        typ, data = c.login(ALICE, PASSWORD)
        assert typ == "OK"
        typ, caps_b = c.capability()
        assert caps_b == caps_a
        typ, data = c.select("INBOX")
        assert typ == "OK" and data == [b"1"]
        typ, data = c.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert b"Subject: via b" in data[0][1]
        typ, data = c.store("1", "+FLAGS", "(\\Flagged)")
        assert typ == "OK"
        c.logout()
    b.wait_log(r"imap proxy user=alice@example\.test address=127\.0\.0\.1 "
               r"home=a ")
    b.wait_log(r"imap proxy-end user=alice@example\.test home=a")
    a.wait_log(r"imap proxied address=127\.0\.0\.1 proxy=127\.0\.0\.3 "
               r"node=yes")
    a.wait_log(r"imap connected address=127\.0\.0\.3 ")
    # The flag set through B is A's.
    with imap(a) as c:
        c.login(ALICE, PASSWORD)
        c.select("INBOX", readonly=True)
        typ, data = c.fetch("1", "(FLAGS)")
        assert b"\\Flagged" in data[0]
        c.logout()
    # Nothing on B: no Maildir was opened there for alice.
    assert not b.maildir(ALICE).exists()


def test_pop3_through_b_retr_dele_on_a(cluster):
    a, b = cluster
    delivered_via_b(a, b, "pop via b")
    c = poplib.POP3(b.host, b.pop3_port, timeout=20)
    c.user(ALICE)
    assert c.pass_(PASSWORD).startswith(b"+OK")
    count, size = c.stat()
    assert count == 1
    resp, lines, octets = c.retr(1)
    assert b"Subject: pop via b" in lines
    c.dele(1)
    c.quit()
    b.wait_log(r"pop3 proxy user=alice@example\.test address=127\.0\.0\.1 "
               r"home=a ")
    wait_until(lambda: a.maildir_files(ALICE) == [], 10,
               what="the DELE committed on A")
    a.wait_log(r"pop3 login user=alice@example\.test")
    assert not b.maildir(ALICE).exists()


def test_pop3_proxy_names_the_client_to_a(cluster):
    a, b = cluster
    delivered_via_b(a, b, "pop client address")
    c = SourcePOP3(b.host, b.pop3_port, "127.0.0.7")
    c.user(ALICE)
    assert c.pass_(PASSWORD).startswith(b"+OK")
    assert c.stat()[0] == 1
    c.quit()
    b.wait_log(r"pop3 proxy user=alice@example\.test address=127\.0\.0\.7 "
               r"home=a ")
    a.wait_log(r"pop3 connected address=127\.0\.0\.3 ")
    a.wait_log(r"pop3 proxied address=127\.0\.0\.7 proxy=127\.0\.0\.3$")
    a.wait_log(r"pop3 login user=alice@example\.test .* "
               r"address=127\.0\.0\.7$")


def test_pop3_xclient_from_a_node_bans_the_client(make_ferry, pg_url,
                                                  fakedns):
    """Straight to A from B's address (as B's proxy does): XCLIENT names
    127.0.0.9, whose wrong passwords ban 127.0.0.9, not B.  From an
    address that is not a node's, XCLIENT is refused."""
    ban = {"auth_ban_max_failures": "3", "auth_ban_window": "1h",
           "auth_ban_time": "1h"}
    a, b = make_cluster(make_ferry, pg_url, fakedns, ban)
    a.wait_log(r"- pop3 peers-known nodes-hosts=2", timeout=15)
    with RawPOP3(a.pop3_port, a.host, source="127.0.0.3") as c:
        assert c.cmd("XCLIENT ADDR=127.0.0.9") == b"+OK"
        for _ in range(3):
            assert c.cmd(f"USER {ALICE}").startswith(b"+OK")
            assert c.cmd("PASS wrong").startswith(b"-ERR")
    a.wait_log(r"pop3 proxied address=127\.0\.0\.9 proxy=127\.0\.0\.3$")
    a.wait_log(r"pop3 auth-failed address=127\.0\.0\.9 ")
    a.wait_log(r"ban banned address=127\.0\.0\.9 service=pop3")
    listing = a.cli_ok("ban", "list").stdout
    assert "127.0.0.9" in listing and "127.0.0.3" not in listing
    # the banned client is refused on B (shared bans) and, named by B, on A
    assert pop3_greeting(b, "127.0.0.9").startswith(b"-ERR [SYS/PERM]")
    with RawPOP3(a.pop3_port, a.host, source="127.0.0.3") as c:
        assert c.cmd("XCLIENT ADDR=127.0.0.9") == b"+OK"
        assert c.cmd(f"USER {ALICE}").startswith(b"+OK")
        assert c.cmd(f"PASS {PASSWORD}").startswith(b"-ERR [SYS/PERM]")
    # not a node: refused, and the session stays the connection's
    with RawPOP3(a.pop3_port, a.host, source="127.0.0.5") as c:
        assert c.cmd("XCLIENT ADDR=192.0.2.1").startswith(
            b"-ERR XCLIENT not permitted")
        assert c.cmd("QUIT").startswith(b"+OK")
    a.wait_log(r"pop3 xclient-refused address=127\.0\.0\.5 "
               r"value=192\.0\.2\.1 reason=untrusted")
    # B's own logins for its clients still reach A
    c = poplib.POP3(b.host, b.pop3_port, timeout=20)
    c.user(ALICE)
    assert c.pass_(PASSWORD).startswith(b"+OK")
    c.quit()
    a.wait_log(r"pop3 proxied address=127\.0\.0\.1 proxy=127\.0\.0\.3$")


def pop3_greeting(srv, source):
    with RawPOP3(srv.pop3_port, srv.host, source=source) as c:
        return c.greeting or b""


def test_imap_proxy_uses_starttls_to_home(make_ferry, pg_url, fakedns,
                                          tmp_path):
    from certs import server_certs
    ca, cert = server_certs(tmp_path / "certs-a")
    a, b = make_cluster(make_ferry, pg_url, fakedns,
                        {"tls_cert": cert.cert, "tls_key": cert.key})
    delivered_via_b(a, b)
    with imap(b) as c:
        c.login(ALICE, PASSWORD)
        typ, data = c.select("INBOX")
        assert data == [b"1"]
        c.logout()
    a.wait_log(r"imap login user=alice@example\.test method=PLAIN tls=yes")
    c = poplib.POP3(b.host, b.pop3_port, timeout=20)
    c.user(ALICE)
    c.pass_(PASSWORD)
    assert c.stat()[0] == 1
    c.quit()
    a.wait_log(r"pop3 login user=alice@example\.test method=PLAIN tls=yes")


def test_bad_password_refused_by_b_alone(cluster):
    a, b = cluster
    with imap(b) as c:
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
            c.login(ALICE, "wrong")
    c = poplib.POP3(b.host, b.pop3_port, timeout=20)
    c.user(ALICE)
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        c.pass_("wrong")
    c.quit()
    b.wait_log(r"imap auth-failed address=127\.0\.0\.1 "
               r"user=alice@example\.test")
    b.wait_log(r"pop3 auth-failed address=127\.0\.0\.1 "
               r"user=alice@example\.test")
    # A was never contacted.
    assert "address=127.0.0.3" not in a.log_text()
    assert not re.search(r" (imap|pop3) proxy", b.log_text())


def test_home_down_temporary_error_then_back(cluster):
    a, b = cluster
    delivered_via_b(a, b)
    a.stop()
    with imap(b) as c:
        with pytest.raises(imaplib.IMAP4.error, match=r"\[UNAVAILABLE\]"):
            c.login(ALICE, PASSWORD)
        # still not logged in here: no mailbox of B's own
        with pytest.raises(imaplib.IMAP4.error):
            c.select("INBOX")
    c = poplib.POP3(b.host, b.pop3_port, timeout=20)
    c.user(ALICE)
    with pytest.raises(poplib.error_proto, match=r"\[SYS/TEMP\]"):
        c.pass_(PASSWORD)
    c.quit()
    b.wait_log(r"imap proxy-failed user=alice@example\.test "
               r"address=127\.0\.0\.1 home=a reason=")
    b.wait_log(r"pop3 proxy-failed user=alice@example\.test ")
    assert not b.maildir(ALICE).exists()
    a.start()
    wait_until(lambda: tcp_listening(a.imap_port, a.host), 15,
               what="A's IMAP listener")
    with imap(b) as c:
        c.login(ALICE, PASSWORD)
        typ, data = c.select("INBOX")
        assert data == [b"1"]
        c.logout()


def test_failures_from_a_node_address_are_not_counted(make_ferry, pg_url,
                                                     fakedns):
    ban = {"auth_ban_max_failures": "3", "auth_ban_window": "1h",
           "auth_ban_time": "1h"}
    a, b = make_cluster(make_ferry, pg_url, fakedns, ban)
    # Wrong passwords straight to A, from B's address and from a stranger.
    for source in ("127.0.0.3", "127.0.0.9"):
        for _ in range(3):
            with SourceIMAP(a.host, a.imap_port, source) as c:
                with pytest.raises(imaplib.IMAP4.error):
                    c.login(ALICE, "wrong")
    a.wait_log(r"ban not-counted address=127\.0\.0\.3 service=imap "
               r"reason=node")
    a.wait_log(r"ban banned address=127\.0\.0\.9 service=imap")
    assert "ban banned address=127.0.0.3" not in a.log_text()
    # The stranger is refused; logins through B still reach A.
    with pytest.raises((imaplib.IMAP4.abort, imaplib.IMAP4.error,
                        ConnectionError, EOFError)):
        with SourceIMAP(a.host, a.imap_port, "127.0.0.9") as c:
            c.login(ALICE, PASSWORD)
    with imap(b) as c:
        c.login(ALICE, PASSWORD)
        c.select("INBOX")
        c.logout()
    b.wait_log(r"imap proxy user=alice@example\.test")
    listing = a.cli_ok("ban", "list").stdout
    assert "127.0.0.9" in listing and "127.0.0.3" not in listing


def test_domain_without_home_is_served_here(cluster):
    a, b = cluster
    a.add_domain("free.test")
    a.add_user("carol@free.test")
    send(b, "carol@free.test", "to b")
    b.wait_delivered("carol@free.test")
    with imap(b) as c:
        c.login("carol@free.test", PASSWORD)
        typ, data = c.select("INBOX")
        assert data == [b"1"]
        c.logout()
    b.wait_log(r"imap login user=carol@free\.test")
    assert "imap proxy" not in b.log_text()


def test_client_gone_mid_proxy(cluster):
    a, b = cluster
    delivered_via_b(a, b)
    c = imap(b)
    c.login(ALICE, PASSWORD)
    c.select("INBOX")
    c.sock.shutdown(socket.SHUT_RDWR)
    c.sock.close()
    b.wait_log(r"imap proxy-end user=alice@example\.test home=a "
               r"reason=\"client closed\"")
    a.wait_log(r"imap disconnected address=127\.0\.0\.1 "
               r"user=alice@example\.test")
    # B goes on serving, through the proxy as before.
    with imap(b) as c:
        c.login(ALICE, PASSWORD)
        typ, data = c.select("INBOX")
        assert data == [b"1"]
        c.logout()


def test_relayed_mail_skips_the_home_nodes_checks(make_ferry, pg_url,
                                                  fakedns):
    """Greylisting on both nodes: mail relayed by B is accepted by A at
    the first try (A knows B as a node), while the same mail sent to A
    straight from a client is greylisted.  B lets the test's client in
    with `exempt`."""
    extra = {"host_down_memory": "0", "retry_min": "1h", "retry_max": "2h",
             "greylist": "yes", "greylist_delay": "1h",
             "greylist_window": "2h"}
    a = node(make_ferry, pg_url, "127.0.0.2", "a", fakedns, accounts=True,
             node_name="a", **extra)
    b = node(make_ferry, pg_url, "127.0.0.3", "b", fakedns, node_name="b",
             exempt="127.0.0.1/32 greylist", **extra)
    for srv, name in ((a, "a"), (b, "b")):
        a.cli_ok("node", "add", name, "--smtp", f"{srv.host}:{srv.port}",
                 "--imap", f"{srv.host}:{srv.imap_port}",
                 "--pop3", f"{srv.host}:{srv.pop3_port}")
    a.cli_ok("domain", "node", "example.test", "a")
    a.wait_log(r"- smtp peers-known nodes-hosts=2", timeout=15)
    # Straight to A: greylisted (the check is on).
    with a.smtp() as s:
        with pytest.raises(Exception) as e:
            s.sendmail("direct@sender.test", [ALICE],
                       make_message(subject="direct", to=ALICE))
    assert "reylist" in str(e.value) and "451" in str(e.value)
    # Through B: relayed, and accepted by A at once.
    with b.smtp() as s:
        s.sendmail("relayed@sender.test", [ALICE],
                   make_message(subject="relayed", to=ALICE))
    a.wait_delivered(ALICE)
    b.wait_queue_empty()
    a.wait_log(r"smtp peer address=127\.0\.0\.3 ")
    assert "greylist" not in "".join(
        l for l in a.log_text().splitlines() if "relayed@" in l)


def test_node_address_not_held_to_per_ip_limit(make_ferry, pg_url, fakedns):
    """max_connections_per_ip = 1 on A: a second client from 127.0.0.1
    is refused, while two logins proxied by B (both from B's address)
    are both served."""
    a, b = make_cluster(make_ferry, pg_url, fakedns,
                        {"max_connections_per_ip": "1"})
    a.wait_log(r"- imap peers-known nodes-hosts=2", timeout=15)
    delivered_via_b(a, b)
    with imap(a) as first:
        first.login(ALICE, PASSWORD)
        with pytest.raises((imaplib.IMAP4.abort, imaplib.IMAP4.error,
                            ConnectionError, EOFError, OSError)):
            with imap(a) as second:
                second.login(ALICE, PASSWORD)
        first.logout()
    a.wait_log(r"imap refused address=127\.0\.0\.1 "
               r"reason=max_connections_per_ip")
    c1, c2 = imap(b), imap(b)
    try:
        for c in (c1, c2):
            c.login(ALICE, PASSWORD)
            typ, data = c.select("INBOX")
            assert data == [b"1"]
    finally:
        for c in (c1, c2):
            c.logout()
    assert "refused address=127.0.0.3" not in a.log_text()
