"""/metrics (docs/metrics.md): real traffic through SMTP, IMAP, POP3 and
the relay, then a scrape over HTTP parsed with Debian's Prometheus text
parser (python3-prometheus-client), checking that each counter moved by
exactly what the traffic should have done, with the right labels; the
allow list refuses other addresses; a role killed with SIGKILL is
counted as a restart and the counters survive it."""

import http.client
import imaplib
import os
import poplib
import re
import signal
import smtplib
import socket

import pytest

from conftest import (free_port, make_message, queue_id, tcp_listening,
                      wait_until)
from fakedns import fakedns, fakedns_fallback  # noqa: F401 (fixtures)
from fakemx import SENDER, mx_zone, peers, port, relay_conf  # noqa: F401

parser = pytest.importorskip(
    "prometheus_client.parser",
    reason="python3-prometheus-client (scripts/install-deps) is missing")

USER, PASSWORD = "alice@example.test", "secret"


def scrape(srv, source="127.0.0.1", path="/metrics"):
    """(status, body, content type) of a GET from source."""
    c = http.client.HTTPConnection("127.0.0.1", srv.metrics_port, timeout=10,
                                   source_address=(source, 0))
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read().decode(), r.getheader("Content-Type")
    finally:
        c.close()


def samples(srv):
    """{(name, frozenset(labels.items())): value} of one scrape."""
    status, body, ctype = scrape(srv)
    assert status == 200, body
    assert ctype.startswith("text/plain; version=0.0.4")
    out = {}
    for fam in parser.text_string_to_metric_families(body):
        for s in fam.samples:
            key = (s.name, frozenset(s.labels.items()))
            assert key not in out, f"duplicate series {key}"
            out[key] = s.value
    return out


def val(snap, name, **labels):
    key = (name, frozenset(labels.items()))
    assert key in snap, f"no series {name}{labels}"
    return snap[key]


def delta(before, after, name, **labels):
    return val(after, name, **labels) - val(before, name, **labels)


@pytest.fixture
def msrv(make_ferry, tmp_path, fakedns, peers, port):  # noqa: F811
    """A server with SMTP, IMAP and POP3 (plaintext logins allowed from
    loopback), a route to a fake MX, real (fake) DNS for remote.test, a
    client_deny for 127.0.0.3, and /metrics on its own listener readable
    from 127.0.0.1 only."""
    mport, iport, pport = free_port(), free_port(), free_port()
    mx_zone(fakedns, "remote.test", [(10, "mx.remote.test", "127.0.0.2")])
    fakedns.servfail("broken.test")
    conf = relay_conf(port, dns=fakedns,
                      route=f"routed.test [127.0.0.2]:{port}")
    conf.update({
        "relay_networks": "127.0.0.1/32",
        "imap_listen": f"127.0.0.1:{iport}",
        "pop3_listen": f"127.0.0.1:{pport}",
        "auth_plaintext_networks": "127.0.0.0/8",
        "auth_ban_max_failures": "100",
        "client_deny": "127.0.0.3",
        "metrics_listen": f"127.0.0.1:{mport}",
        "metrics_allow": "127.0.0.1/32",
    })
    srv = make_ferry(conf)
    srv.metrics_port, srv.imap_port, srv.pop3_port = mport, iport, pport
    srv.mx = peers.mx("127.0.0.2", port)
    for p in (mport, iport, pport):
        wait_until(lambda: tcp_listening(p), 10, what=f"listener {p}")
    return srv


def smtp_send(srv, rcpts, source="127.0.0.1"):
    msg = make_message(sender=SENDER, to=rcpts[0])
    with smtplib.SMTP("127.0.0.1", srv.port, timeout=15,
                      source_address=(source, 0)) as s:
        return s.sendmail(SENDER, rcpts, msg)


def test_traffic_moves_the_right_counters(msrv):
    srv = msrv
    before = samples(srv)
    smtp_addr = f"127.0.0.1:{srv.port}"

    # One message, two recipients: a local mailbox and an unknown user.
    refused = smtp_send(srv, [USER, "nobody@example.test"])
    assert list(refused) == ["nobody@example.test"]
    srv.wait_delivered(USER, 1)
    # A named check: client_deny refuses 127.0.0.3.
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        smtp_send(srv, [USER], source="127.0.0.3")
    # Through the route (relay class) and by MX (remote class).
    smtp_send(srv, ["bob@routed.test"])
    smtp_send(srv, ["carol@remote.test"])
    srv.mx.wait_messages(2)
    srv.wait_log(r"relay delivery rcpt=carol@remote.test .*result=sent")
    srv.wait_log(r"relay delivery rcpt=bob@routed.test .*result=sent")

    # Logins: IMAP good and bad, POP3 bad.
    im = imaplib.IMAP4("127.0.0.1", srv.imap_port, timeout=10)
    with pytest.raises(imaplib.IMAP4.error):
        im.login(USER, "wrong")
    im.logout()
    im = imaplib.IMAP4("127.0.0.1", srv.imap_port, timeout=10)
    im.login(USER, PASSWORD)
    p = poplib.POP3("127.0.0.1", srv.pop3_port, timeout=10)
    p.user(USER)
    with pytest.raises(poplib.error_proto):
        p.pass_("wrong")
    p.quit()

    # The IMAP session is still open: it shows as one.
    during = samples(srv)
    assert val(during, "ferry_mailbox_sessions", protocol="imap") == 1
    assert val(during, "ferry_listener_sessions", kind="imap",
               address=f"127.0.0.1:{srv.imap_port}") == 1
    im.logout()
    wait_until(lambda: val(samples(srv), "ferry_mailbox_sessions",
                           protocol="imap") == 0, 10,
               what="the IMAP session to end")

    after = samples(srv)
    d = lambda name, **kw: delta(before, after, name, **kw)  # noqa: E731
    assert d("ferry_smtp_messages_accepted_total") == 3
    assert d("ferry_smtp_recipients_accepted_total") == 3
    assert d("ferry_smtp_refused_total", check="recipient",
             verdict="reject") == 1
    assert d("ferry_smtp_refused_total", check="client",
             verdict="reject") == 1
    assert d("ferry_smtp_refused_total", check="spf", verdict="reject") == 0
    assert d("ferry_deliveries_total", **{"class": "local"},
             result="delivered") == 1
    assert d("ferry_deliveries_total", **{"class": "relay"},
             result="delivered") == 1
    assert d("ferry_deliveries_total", **{"class": "remote"},
             result="delivered") == 1
    assert d("ferry_deliveries_total", **{"class": "remote"},
             result="failed") == 0
    # Four SMTP connections (the scrapes are on another listener).
    assert d("ferry_listener_connections_total", kind="smtp",
             address=smtp_addr) == 4
    assert val(after, "ferry_listener_sessions", kind="smtp",
               address=smtp_addr) == 0
    assert d("ferry_listener_connections_total", kind="imap",
             address=f"127.0.0.1:{srv.imap_port}") == 2
    assert d("ferry_logins_total", protocol="imap", result="failed") == 1
    assert d("ferry_logins_total", protocol="imap", result="ok") == 1
    assert d("ferry_logins_total", protocol="pop3", result="failed") == 1
    assert d("ferry_logins_total", protocol="pop3", result="ok") == 0
    assert d("ferry_logins_total", protocol="smtp", result="failed") == 0
    # remote.test's MX and its address, at least, were asked and answered.
    assert d("ferry_dns_lookups_total", resolver="primary",
             result="answer") >= 2
    assert d("ferry_dns_lookup_duration_seconds_count",
             resolver="primary") >= 2
    assert val(after, "ferry_dns_lookup_duration_seconds_bucket",
               resolver="primary", le="+Inf") == \
        val(after, "ferry_dns_lookup_duration_seconds_count",
            resolver="primary")
    assert val(after, "ferry_role_restarts_total", role="smtpd") == 0
    assert val(after, "ferry_role_starts_total", role="queue") == 1


def test_dns_servfail_and_queue_gauge(msrv):
    srv = msrv
    before = samples(srv)
    smtp_send(srv, ["dave@broken.test"])
    srv.wait_log(r"relay delivery rcpt=dave@broken.test .*result=deferred")
    # The message now waits in the queue for its next attempt; the queue
    # role publishes its count within seconds.
    wait_until(lambda: sum(v for (n, l), v in samples(srv).items()
                           if n == "ferry_queue_messages") >= 1, 15,
               what="the queue count to show the deferred message")
    after = samples(srv)
    assert delta(before, after, "ferry_dns_lookups_total",
                 resolver="primary", result="servfail") >= 1
    assert delta(before, after, "ferry_deliveries_total",
                 **{"class": "remote"}, result="deferred") >= 1
    assert val(after, "ferry_queue_messages", state="deferred",
               age="0-5m") + val(after, "ferry_queue_messages", state="due",
                                 age="0-5m") + \
        val(after, "ferry_queue_messages", state="active", age="0-5m") == 1
    assert val(after, "ferry_queue_counted_time_seconds") > 0


def test_disallowed_address_is_refused(msrv):
    status, body, _ = scrape(msrv, source="127.0.0.2")
    assert status == 403
    assert "ferry_" not in body
    # The allowed one still gets it, and other paths are not served.
    assert scrape(msrv)[0] == 200
    assert scrape(msrv, path="/metrics/../etc/passwd")[0] == 404
    assert scrape(msrv, path="/")[0] == 404


def test_role_killed_is_counted_and_counters_survive(msrv):
    srv = msrv
    smtp_send(srv, [USER])
    srv.wait_delivered(USER, 1)
    before = samples(srv)
    assert val(before, "ferry_smtp_messages_accepted_total") == 1
    for role in ("smtpd", "queue"):
        pid = srv.role_pid(role)
        assert pid
        os.kill(pid, signal.SIGKILL)
        srv.wait_role_pid(role, timeout=15, not_pid=pid)
    srv.wait_greeting()
    after = samples(srv)
    for role in ("smtpd", "queue"):
        assert delta(before, after, "ferry_role_restarts_total",
                     role=role) == 1
        assert delta(before, after, "ferry_role_starts_total",
                     role=role) == 1
    assert val(after, "ferry_role_restarts_total", role="mailbox") == 0
    assert val(after, "ferry_smtp_messages_accepted_total") == 1
    assert val(after, "ferry_deliveries_total", **{"class": "local"},
               result="delivered") == 1
    # And counting goes on in the new smtpd.
    smtp_send(srv, [USER])
    assert val(samples(srv), "ferry_smtp_messages_accepted_total") == 2


def test_allow_list_follows_reload(msrv):
    srv = msrv
    assert scrape(srv)[0] == 200
    srv.set_conf(metrics_allow="127.0.0.2/32")
    r = srv.cli("reload")
    assert r.returncode == 0, r.stdout + r.stderr
    assert scrape(srv)[0] == 403
    assert scrape(srv, source="127.0.0.2")[0] == 200


def test_tls_handshakes_by_result(make_ferry, tmp_path):
    """A good IMAPS handshake counts ok; a client that sends no TLS at
    all to the implicit-TLS port counts failed."""
    from certs import client_context, server_certs
    ca, cert = server_certs(tmp_path / "certs")
    mport, port = free_port(), free_port()
    srv = make_ferry({"imaps_listen": f"127.0.0.1:{port}",
                      "tls_cert": cert.cert, "tls_key": cert.key,
                      "metrics_listen": f"127.0.0.1:{mport}"})
    srv.metrics_port = mport
    for p in (mport, port):
        wait_until(lambda: tcp_listening(p), 10, what=f"listener {p}")
    before = samples(srv)
    m = imaplib.IMAP4_SSL("127.0.0.1", port, timeout=10,
                          ssl_context=client_context(ca))
    m.logout()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        c.sendall(b"a1 LOGIN not tls\r\n" * 4)
        c.settimeout(10)
        try:
            while c.recv(4096):
                pass
        except OSError:
            pass
    key = dict(side="server")

    def moved(result):
        return delta(before, samples(srv), "ferry_tls_handshakes_total",
                     result=result, **key)
    wait_until(lambda: moved("failed") == 1, 10,
               what="the failed handshake to be counted")
    assert moved("ok") == 1
    assert delta(before, samples(srv), "ferry_tls_handshakes_total",
                 side="client", result="ok") == 0


def test_off_by_default(make_ferry):
    """Without metrics_listen nothing listens for it (the log names every
    listener the supervisor binds)."""
    srv = make_ferry({})
    assert b"listening kind=smtp" in srv.log_bytes()
    assert b"kind=metrics" not in srv.log_bytes()


def test_admin_listener_serves_metrics_and_counts_web_logins(make_ferry,
                                                             tmp_path):
    """/metrics on the admin listener (HTTPS) for the same allow list;
    failed web logins and the ban they cause are counted; a killed admin
    role is a restart."""
    from webclient import Web, admin_ferry
    srv = admin_ferry(make_ferry, tmp_path, auth_ban_max_failures="2",
                      metrics_allow="127.0.0.1/32")
    w = Web(srv)

    def snap():
        r = w.get("/metrics")
        assert r.status == 200, r
        assert r.header("Content-Type").startswith("text/plain; version=0.0.4")
        return {(s.name, frozenset(s.labels.items())): s.value
                for f in parser.text_string_to_metric_families(r.text)
                for s in f.samples}
    before = snap()
    for _ in range(2):
        assert w.login("alice@example.test", "wrong").status == 401
    after = snap()
    assert delta(before, after, "ferry_logins_total", protocol="http",
                 result="failed") == 2
    assert delta(before, after, "ferry_bans_total", protocol="http") == 1
    assert val(after, "ferry_role_starts_total", role="admin") == 1
    # Not from 127.0.0.2, and not through the admin pages' login either.
    import ssl
    ctx = ssl.create_default_context(cafile=str(srv.ca.cert))
    c = http.client.HTTPSConnection("127.0.0.1", srv.admin_port, timeout=10,
                                    context=ctx,
                                    source_address=("127.0.0.2", 0))
    c.request("GET", "/metrics")
    r = c.getresponse()
    text = r.read().decode()
    c.close()
    assert r.status == 403 and "ferry_" not in text
    pid = srv.role_pid("admin")
    os.kill(pid, signal.SIGKILL)
    srv.wait_role_pid("admin", timeout=15, not_pid=pid)
    wait_until(lambda: tcp_listening(srv.admin_port), 10,
               what="the admin listener")
    again = wait_until(lambda: _try(snap), 15, what="a scrape after restart")
    assert val(again, "ferry_role_restarts_total", role="admin") == 1
    assert delta(before, again, "ferry_logins_total", protocol="http",
                 result="failed") == 2


def _try(fn):
    try:
        return fn()
    except (OSError, AssertionError):
        return None


def test_default_allow_list_is_loopback(make_ferry):
    """Without metrics_allow every loopback client may scrape (the
    default, 127.0.0.0/8 and ::1); nothing is allocated for it."""
    mport = free_port()
    srv = make_ferry({"metrics_listen": f"127.0.0.1:{mport}"})
    srv.metrics_port = mport
    wait_until(lambda: tcp_listening(mport), 10, what="the metrics listener")
    for source in ("127.0.0.1", "127.0.0.2"):
        status, body, _ = scrape(srv, source=source)
        assert status == 200 and "ferry_" in body, (source, status)


def test_banned_client_refusal_is_counted(msrv):
    """A client banned for failed logins is refused before the greeting
    (421): each refused connection counts once as check="ban"."""
    srv = msrv
    srv.cli_ok("ban", "add", "127.0.0.4")
    before = samples(srv)
    for _ in range(2):
        with pytest.raises(smtplib.SMTPConnectError) as e:
            smtplib.SMTP("127.0.0.1", srv.port, timeout=15,
                         source_address=("127.0.0.4", 0))
        assert e.value.smtp_code == 421, e.value
    # A client that is not banned still gets in, and counts nothing.
    smtp_send(srv, [USER])
    srv.wait_log(r"refused address=127\.0\.0\.4 reason=banned(.|\n)*"
                 r"refused address=127\.0\.0\.4 reason=banned")
    after = samples(srv)
    assert delta(before, after, "ferry_smtp_refused_total", check="ban",
                 verdict="tempfail") == 2
    assert delta(before, after, "ferry_smtp_refused_total", check="ban",
                 verdict="reject") == 0
    assert delta(before, after, "ferry_smtp_refused_total",
                 check="client", verdict="reject") == 0


def queue_gauge(snap, state):
    return sum(v for (n, labels), v in snap.items()
               if n == "ferry_queue_messages" and
               dict(labels)["state"] == state)


def test_held_messages_have_their_own_state(msrv):
    """A message held with `ferry queue hold` is counted as held, not
    deferred; released, it leaves that state."""
    srv = msrv
    with smtplib.SMTP("127.0.0.1", srv.port, timeout=15) as s:
        s.ehlo()
        s.mail(SENDER)
        s.rcpt("erin@broken.test")
        code, text = s.data(make_message(sender=SENDER,
                                         to="erin@broken.test"))
    assert code == 250
    qid = queue_id(text)
    srv.wait_log(r"relay delivery rcpt=erin@broken.test .*result=deferred")
    wait_until(lambda: queue_gauge(samples(srv), "deferred") == 1, 15,
               what="the deferred message to be counted")
    assert queue_gauge(samples(srv), "held") == 0
    srv.cli_ok("queue", "hold", qid)
    wait_until(lambda: queue_gauge(samples(srv), "held") == 1, 15,
               what="the held message to be counted as held")
    snap = samples(srv)
    assert queue_gauge(snap, "deferred") == 0
    assert queue_gauge(snap, "due") + queue_gauge(snap, "active") == 0
    assert val(snap, "ferry_queue_messages", state="held", age="0-5m") == 1
    srv.cli_ok("queue", "release", qid)
    wait_until(lambda: queue_gauge(samples(srv), "held") == 0, 15,
               what="the released message to leave the held state")
    snap = samples(srv)
    assert queue_gauge(snap, "deferred") + queue_gauge(snap, "due") + \
        queue_gauge(snap, "active") == 1


RESULTS = ("answer", "nxdomain", "servfail", "timeout", "error")


def resolver_results(snap, set_, resolver):
    """{result: value} of ferry_dns_resolver_lookups_total for one
    resolver."""
    return {r: val(snap, "ferry_dns_resolver_lookups_total", set=set_,
                   resolver=resolver, result=r) for r in RESULTS}


def silent_socket():
    """A UDP socket that reads and never answers, on ::1 when this host
    has IPv6 (the label is then "[::1]:PORT"), else on 127.0.0.1; and
    its address as dns_resolvers takes it and as ferry names it."""
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind(("::1", 0))
        p = s.getsockname()[1]
        return s, f"[::1]:{p}", f"[::1]:{p}"
    except OSError:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        p = s.getsockname()[1]
        return s, f"127.0.0.1:{p}", f"127.0.0.1:{p}"


def test_dns_counted_per_resolver(make_ferry, fakedns, peers,  # noqa: F811
                                  port):  # noqa: F811
    """dns_resolvers is a resolver that never answers (IPv6 with a port
    when the host has it), dns_fallback_resolvers the fake DNS server.  A
    delivery to remote.test asks the silent one first: it times out, the
    queue sets it aside, the fallback answers; a delivery to a domain
    that does not exist gets NXDOMAIN from the fallback.  The scrape
    shows each resolver on its own series with its own counters and
    latency, and the set-aside gauge says what `ferry status` says."""
    silent, conf_addr, dead = silent_socket()
    try:
        mport = free_port()
        mx_zone(fakedns, "remote.test", [(10, "mx.remote.test", "127.0.0.2")])
        conf = relay_conf(port, dns=fakedns)
        conf.update({"dns_resolvers": conf_addr,
                     "dns_fallback_resolvers": fakedns.address,
                     "relay_networks": "127.0.0.1/32",
                     "metrics_listen": f"127.0.0.1:{mport}"})
        srv = make_ferry(conf)
        srv.metrics_port = mport
        wait_until(lambda: tcp_listening(mport), 10, what="/metrics")
        mx = peers.mx("127.0.0.2", port)
        smtp_send(srv, ["carol@remote.test"])
        mx.wait_messages(1, timeout=40)
        srv.wait_log(r"dns resolvers-set-aside for=30s")
        smtp_send(srv, ["dave@nowhere.test"])
        srv.wait_log(r"relay delivery rcpt=dave@nowhere\.test ")

        def status_lines():
            out = srv.cli("status").stdout
            return dict(re.findall(r"^  resolver (\S+) group=\S+ "
                                   r"state=(\S+)", out, re.M))
        wait_until(lambda: status_lines().get(dead) == "set-aside", 10,
                   what="status to show the silent resolver set aside")
        snap = samples(srv)
        health = status_lines()
    finally:
        silent.close()

    live = fakedns.address
    d = resolver_results(snap, "primary", dead)
    lv = resolver_results(snap, "fallback", live)
    # The silent resolver: only timeouts, and set aside now, once.
    assert d["timeout"] >= 1, d
    assert d["answer"] == d["nxdomain"] == d["servfail"] == 0, d
    assert val(snap, "ferry_dns_resolver_queries_total", set="primary",
               resolver=dead) == sum(d.values())
    assert val(snap, "ferry_dns_resolver_set_asides_total", set="primary",
               resolver=dead) >= 1
    # The fake server answered the MX and the address of mx.remote.test
    # at least, and NXDOMAIN for nowhere.test.
    assert lv["answer"] >= 2 and lv["nxdomain"] >= 1, lv
    assert lv["timeout"] == lv["servfail"] == lv["error"] == 0, lv
    assert val(snap, "ferry_dns_resolver_queries_total", set="fallback",
               resolver=live) == sum(lv.values())
    assert val(snap, "ferry_dns_resolver_set_asides_total", set="fallback",
               resolver=live) == 0
    # The gauge is the state `ferry status` shows, for each resolver.
    assert health == {dead: "set-aside", live: "up"}, health
    for addr, set_ in ((dead, "primary"), (live, "fallback")):
        assert val(snap, "ferry_dns_resolver_set_aside", set=set_,
                   resolver=addr) == (health[addr] == "set-aside"), addr
    # Latency: every outcome but errors; the silent one's waits all end
    # past the last bound (its timeout).
    assert val(snap, "ferry_dns_resolver_duration_seconds_count",
               set="primary", resolver=dead) == d["timeout"]
    assert val(snap, "ferry_dns_resolver_duration_seconds_bucket",
               set="primary", resolver=dead, le="5.000") == 0
    assert val(snap, "ferry_dns_resolver_duration_seconds_count",
               set="fallback", resolver=live) == \
        lv["answer"] + lv["nxdomain"]
    # The sets' totals add up over their resolvers (NXDOMAIN is an answer
    # there).
    assert sum(val(snap, "ferry_dns_lookups_total", resolver="primary",
                   result=r) for r in ("answer", "servfail", "timeout",
                                       "error")) == sum(d.values())
    assert val(snap, "ferry_dns_lookups_total", resolver="fallback",
               result="answer") == lv["answer"] + lv["nxdomain"]


def test_dns_group_of_resolvers_is_one_series(make_ferry, fakedns,  # noqa: F811
                                              fakedns_fallback,  # noqa: F811
                                              peers, port):  # noqa: F811
    """Two addresses in dns_resolvers are one libunbound context, which
    picks between them and never says which answered: one series named
    by both, not two with made-up shares."""
    mport = free_port()
    for dns in (fakedns, fakedns_fallback):
        mx_zone(dns, "remote.test", [(10, "mx.remote.test", "127.0.0.2")])
    group = f"{fakedns.address},{fakedns_fallback.address}"
    conf = relay_conf(port)
    conf.update({"dns_resolvers": f"{fakedns.address}, "
                                  f"{fakedns_fallback.address}",
                 "relay_networks": "127.0.0.1/32",
                 "metrics_listen": f"127.0.0.1:{mport}"})
    srv = make_ferry(conf)
    srv.metrics_port = mport
    wait_until(lambda: tcp_listening(mport), 10, what="/metrics")
    mx = peers.mx("127.0.0.2", port)
    smtp_send(srv, ["carol@remote.test"])
    mx.wait_messages(1)
    snap = samples(srv)
    g = resolver_results(snap, "primary", group)
    assert g["answer"] >= 2 and g["timeout"] == 0, g
    resolvers = {dict(k)["resolver"] for (n, k) in snap
                 if n == "ferry_dns_resolver_queries_total"}
    assert resolvers == {group}, resolvers
    assert val(snap, "ferry_dns_resolver_set_aside", set="primary",
               resolver=group) == 0
