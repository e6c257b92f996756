"""`ferry reload` and configuration snapshots: the command waits for every
role's answer and exits 0 only when all applied the new file; a refused
file (bad value, broken certificate) leaves the running configuration in
force and the command says why.  Each setting docs/configuration.md calls
reloadable is changed here with `ferry reload` and observed through the
protocols or the log.  Work in flight keeps the snapshot it started
with: DNSBL lookups pending across many reloads (the zone names they
point into used to be freed), deliveries and logins."""

import poplib
import re
import threading

import pytest

from certs import make_tls_ferry, presented_fingerprint, cert_fingerprint
from conftest import (PASSWORD, RawSMTP, free_port, make_message,
                      tcp_listening, wait_until)
from fakedns import fakedns  # noqa: F401 (fixture)
from fakemx import SENDER, mx_zone, peers, port, relay_conf  # noqa: F401
from policy_util import policy_server, rptr

ALICE = "alice@example.test"


def reload_ok(srv):
    r = srv.cli("reload")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == "reloaded", r.stdout
    return r


def reload_refused(srv):
    r = srv.cli("reload")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "reloaded" not in r.stdout
    return r.stderr


# ------------------------------------------------------------ the command

def test_reload_answers_after_every_role_applied(ferry):
    off = ferry.log_offset()
    reload_ok(ferry)
    # The answer came after the roles' own reloads, not before.
    log = ferry.log_bytes()[off:].decode()
    for role in ("smtpd", "queue"):
        assert re.search(rf"{role}\[\d+\]: - {role} reloaded", log), log
    assert "serve reload-applied" in log


def test_reload_bad_value_names_file_and_line(ferry):
    ferry.conf_path.write_text(ferry.conf_path.read_text() +
                               "max_recipients = many\n")
    err = reload_refused(ferry)
    n = len(ferry.conf_path.read_text().splitlines())
    assert f"{ferry.conf_path}:{n}:" in err, err
    assert "max_recipients" in err
    # The old configuration is still in force.
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<a@remote.example>", 250)
        c.expect(f"RCPT TO:<{ALICE}>", 250)


@pytest.mark.parametrize("line", [
    "spamd = nowhere", "checks = rdns, bogus", "exempt = 127.0.0.1 nosuch"])
def test_reload_bad_scanner_or_check_name_is_refused(ferry, line):
    ferry.conf_path.write_text(ferry.conf_path.read_text() + line + "\n")
    err = reload_refused(ferry)
    n = len(ferry.conf_path.read_text().splitlines())
    assert f"{ferry.conf_path}:{n}:" in err, err
    # Mail still flows under the old configuration (no 451 from a
    # scanner that cannot be reached).
    with ferry.smtp() as s:
        s.sendmail("a@remote.example", [ALICE], make_message(subject="still"))
    ferry.wait_delivered(ALICE)


def test_reload_refused_by_the_server_keeps_old(ferry):
    """The server checks the file itself too (here a SIGHUP, which has no
    asker): nothing changes and the log names FILE:LINE."""
    import signal
    ferry.conf_path.write_text(ferry.conf_path.read_text() +
                               "hostname = \n")
    off = ferry.log_offset()
    ferry.signal(signal.SIGHUP)
    ferry.wait_log(r"serve reload-failed reason=\".*ferry\.conf:\d+:",
                   since=off)
    with ferry.raw() as c:
        assert c.greeting.code == 220


def test_reload_with_broken_certificate_is_refused(make_ferry, tmp_path):
    srv = make_tls_ferry(make_ferry, tmp_path)
    fp = cert_fingerprint(srv.cert.cert)
    with open(srv.cert.key, "w") as f:
        f.write("garbage\n")
    err = reload_refused(srv)
    assert "TLS" in err and str(srv.cert.key) in err, err
    assert "stays" in err
    assert presented_fingerprint(srv.port, starttls="smtp") == fp


def test_reload_without_server_fails(make_ferry):
    srv = make_ferry(start=False)
    r = srv.cli("reload")
    assert r.returncode == 1
    assert "serve.sock" in r.stderr


def test_control_socket_bad_requests(ferry):
    """serve.sock answers what it does not know, and drops a line longer
    than its limit without harm."""
    import socket
    path = str(ferry.dir / "state" / "serve.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(path)
        s.sendall(b"frobnicate\n")
        assert s.recv(4096) == b"error unknown request\n"
        s.sendall(b"\n")
        assert s.recv(4096) == b"error unknown request\n"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(path)
        try:
            s.sendall(b"x" * 10000)
            assert s.recv(4096) == b""
        except ConnectionResetError:
            pass
    reload_ok(ferry)


# ------------------------------------------------------------ SMTP settings

def test_reload_hostname_in_greeting(ferry):
    ferry.set_conf(hostname="renamed.example.test")
    reload_ok(ferry)
    with ferry.raw() as c:
        assert "renamed.example.test" in c.greeting.text


def test_reload_relay_networks(ferry):
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<a@remote.example>", 250)
        assert c.cmd("RCPT TO:<x@elsewhere.example>").code == 554
    ferry.set_conf(relay_networks="127.0.0.0/8")
    reload_ok(ferry)
    with ferry.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<a@remote.example>", 250)
        c.expect("RCPT TO:<x@elsewhere.example>", 250)


def test_reload_max_connections_per_ip(ferry):
    ferry.set_conf(max_connections_per_ip="1")
    reload_ok(ferry)
    with ferry.raw():
        with RawSMTP(ferry.port, greeting=False) as second:
            line = second.read_line()
            assert line.startswith(b"421 4.7.0"), line


def test_reload_log_level(ferry):
    ferry.set_conf(log_level="debug")
    reload_ok(ferry)
    off = ferry.log_offset()
    with ferry.raw() as c:
        c.ehlo()
    ferry.wait_log(r"debug: ", since=off)


def test_reload_dnsbl_zone(make_ferry, fakedns):
    fakedns.add(rptr("127.0.0.1", "bl.test"), "A", "127.0.0.2")
    srv = policy_server(make_ferry, fakedns)
    with srv.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<a@remote.example>", 250)
        c.expect(f"RCPT TO:<{ALICE}>", 250)
    srv.set_conf(dnsbl="bl.test")
    reload_ok(srv)
    with srv.raw() as c:
        c.ehlo()
        c.expect("MAIL FROM:<a@remote.example>", 250)
        assert c.cmd(f"RCPT TO:<{ALICE}>").code == 554


# ------------------------------------------------------------ POP3 settings

def test_reload_pop3_connection_limit(make_ferry):
    pport = free_port()
    srv = make_ferry({"pop3_listen": f"127.0.0.1:{pport}",
                      "auth_plaintext_networks": "127.0.0.0/8"})
    wait_until(lambda: tcp_listening(pport), 10, what="POP3 listener")
    srv.set_conf(max_connections_per_ip="1")
    reload_ok(srv)
    first = poplib.POP3("127.0.0.1", pport, timeout=10)
    try:
        with pytest.raises(poplib.error_proto) as e:
            poplib.POP3("127.0.0.1", pport, timeout=10)
        assert b"Too many connections" in str(e.value).encode()
    finally:
        first.quit()


def test_reload_imap_connection_limit(make_ferry):
    import socket
    iport = free_port()
    srv = make_ferry({"imap_listen": f"127.0.0.1:{iport}"})
    wait_until(lambda: tcp_listening(iport), 10, what="IMAP listener")
    srv.set_conf(max_connections_per_ip="1")
    reload_ok(srv)
    with socket.create_connection(("127.0.0.1", iport), timeout=10) as a:
        assert a.recv(4096).startswith(b"* OK")
        with socket.create_connection(("127.0.0.1", iport),
                                      timeout=10) as b:
            assert b.recv(4096).startswith(
                b"* BYE [UNAVAILABLE] Too many connections")


# ------------------------------------------------------------ queue settings

def test_reload_queue_retry_and_settings(make_ferry, peers, port):
    peers.mx("127.0.0.2", port, rcpt={"bob@routed.test": "451 4.3.0 later"})
    srv = make_ferry(relay_conf(port, route=f"routed.test [127.0.0.2]:{port}",
                                retry_min="1000s", retry_max="9000s"))
    srv.set_conf(retry_min="3000s", queue_workers="7",
                 concurrency_remote="3", concurrency_per_domain="2")
    off = srv.log_offset()
    reload_ok(srv)
    srv.wait_log(r"queue settings workers=7 retry_min=3000 retry_max=9000 "
                 r".*concurrency_remote=3 concurrency_per_domain=2",
                 since=off)
    with srv.smtp() as s:
        s.sendmail(SENDER, ["bob@routed.test"],
                   make_message(sender=SENDER, to="bob@routed.test"))
    # The first retry comes after the new retry_min, not the old one.
    srv.wait_log(r"attempts=1 next_in=(299\d|3000)s", since=off)


def test_reload_queue_lifetime(make_ferry, peers, port):
    peers.mx("127.0.0.2", port, rcpt={"bob@routed.test": "451 4.3.0 later"})
    srv = make_ferry(relay_conf(port, route=f"routed.test [127.0.0.2]:{port}",
                                retry_min="1000s", retry_max="1000s"))
    with srv.smtp() as s:
        s.sendmail(SENDER, ["bob@routed.test"],
                   make_message(sender=SENDER, to="bob@routed.test"))
    srv.wait_log(r"rcpt=bob@routed.test .*result=deferred")
    srv.set_conf(queue_lifetime="1s")
    reload_ok(srv)
    wait_until(lambda: srv.queue_json(), 5, what="the message queued")
    (msg,) = [m for m in srv.queue_json()]
    qid = msg["id"] if isinstance(msg, dict) else msg

    # Once a second has passed since arrival, an attempt (asked for with
    # `queue retry`, since retry_min is long) finds the lifetime over.
    def expired():
        srv.cli("queue", "retry", qid)
        return "queue lifetime expired" in srv.log_text()
    wait_until(expired, 20, interval=0.5, what="the lifetime to expire")


# ------------------------------------------------------------ work in flight

def held_sessions(srv, n, source="127.0.0.1"):
    """n SMTP sessions whose RCPT waits for the (held) DNSBL answer."""
    conns = []
    for i in range(n):
        c = RawSMTP(srv.port, source=source)
        c.ehlo()
        c.expect("MAIL FROM:<a@remote.example>", 250)
        c.send(f"RCPT TO:<{ALICE}>\r\n".encode())
        conns.append(c)
    return conns


def test_reloads_while_dnsbl_lookups_pend(make_ferry, fakedns):
    """The DNSBL gate points into the configuration's zone list; lookups
    pending over reloads that change that list must finish against the
    snapshot their session started with (heap-use-after-free before)."""
    fakedns.hold("bl.test")
    srv = policy_server(make_ferry, fakedns, dnsbl="bl.test, bl2.test")
    conns = held_sessions(srv, 4)
    wait_until(lambda: fakedns.held("bl.test") >= 4, 10,
               what="4 held DNSBL queries")
    for i in range(10):
        srv.set_conf(dnsbl=f"z{i}.test, zz{i}.test, bl.test")
        reload_ok(srv)
    fakedns.release("bl.test")
    for c in conns:
        r = c.reply(timeout=20)
        assert r is not None and r.code == 250, r
        c.close()
    assert "role-exited" not in srv.log_text()


def test_stress_50_reloads_with_lookups_deliveries_and_logins(
        make_ferry, fakedns, peers, port):
    """50 reloads while SMTP sessions wait for held DNSBL answers, mail
    goes out to a fake MX and POP3 users log in: every reload is applied,
    no role dies, nothing is lost."""
    mx = peers.mx("127.0.0.2", port, delay=0.05)
    mx_zone(fakedns, "dest.test", [(10, "mx.dest.test", "127.0.0.2")])
    # A backup-MX destination that keeps deferring: its retries read
    # backup_domains on the queue's worker threads during the reloads.
    late = peers.mx("127.0.0.3", port, rcpt={"x@late.test": "451 4.3.0 no"})
    mx_zone(fakedns, "late.test", [(10, "mx.late.test", "127.0.0.3")])
    fakedns.hold("bl.test")
    pport = free_port()
    conf = relay_conf(port, fakedns)
    conf.update(relay_networks="127.0.0.1/32", dnsbl="bl.test",
                pop3_listen=f"127.0.0.1:{pport}",
                auth_plaintext_networks="127.0.0.0/8",
                backup_domains="late.test")
    srv = policy_server(make_ferry, fakedns, **conf)
    wait_until(lambda: tcp_listening(pport), 10, what="POP3 listener")
    # Strangers (127.0.0.5) wait for the DNSBL; 127.0.0.1 relays.
    with srv.smtp() as s:
        s.sendmail(SENDER, ["x@late.test"],
                   make_message(sender=SENDER, to="x@late.test"))
    srv.wait_log(r"rcpt=x@late.test .*result=deferred")
    pending = held_sessions(srv, 3, source="127.0.0.5")
    wait_until(lambda: fakedns.held("bl.test") >= 3, 10,
               what="held DNSBL queries")
    stop = threading.Event()
    errors, sent, logins = [], [], [0]

    def mail():
        i = 0
        while not stop.is_set():
            to = f"u{i}@dest.test"
            try:
                with RawSMTP(srv.port) as c:
                    r = c.send_message(SENDER, [to],
                                       make_message(sender=SENDER, to=to))
                    if r is None or r.code != 250:
                        errors.append(f"smtp {to}: {r!r}")
                    else:
                        sent.append(to)
            except Exception as e:  # noqa: BLE001
                errors.append(f"smtp {to}: {e!r}")
            i += 1

    def pop():
        while not stop.is_set():
            try:
                p = poplib.POP3("127.0.0.1", pport, timeout=10)
                p.user(ALICE)
                p.pass_(PASSWORD)
                p.stat()
                p.quit()
                logins[0] += 1
            except Exception as e:  # noqa: BLE001
                errors.append(f"pop3: {e!r}")

    threads = [threading.Thread(target=mail), threading.Thread(target=pop)]
    for t in threads:
        t.start()
    try:
        for i in range(50):
            srv.set_conf(dnsbl=f"x{i}.test, bl.test",
                         max_recipients=str(100 + i),
                         retry_min=f"{1 + i % 2}s",
                         concurrency_per_domain=str(1 + i % 4),
                         queue_workers=str(2 + i % 5),
                         backup_domains=f"b{i}.test, late.test")
            reload_ok(srv)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    fakedns.release("bl.test")
    for c in pending:
        r = c.reply(timeout=30)
        assert r is not None and r.code == 250, r
        c.close()
    assert errors == [], errors
    assert sent and logins[0] > 0, (len(sent), logins[0])
    wait_until(lambda: len(mx.messages) >= len(sent), 60,
               what=f"{len(sent)} deliveries")
    got = sorted(t for m in mx.messages for t in m.rcpt_tos)
    assert got == sorted(sent)
    # The deferred message is still queued (its retries during the
    # reloads read backup_domains from their job's snapshot).
    assert any("late.test" in str(m) for m in srv.queue_json())
    log = srv.log_text()
    assert "role-exited" not in log, log
    assert "AddressSanitizer" not in log and "runtime error" not in log
    assert log.count("serve reload-applied") >= 50
