"""Remote delivery: MX choice, routes, fallbacks, per-recipient results,
retries and DSNs, against real aiosmtpd peers on 127.0.0.x and the fake
DNS server.  Every wait is bounded; nothing asserts on timing."""

import re

from conftest import header, make_message, wait_until
from fakedns import fakedns  # noqa: F401 (fixture)
from fakemx import (SENDER, dsn_for, mx_zone, peers, port,  # noqa: F401
                    relay_conf, send)


# ------------------------------------------------------------ routes

def test_bracketed_route_no_dns(make_ferry, peers, port):
    mx = peers.mx("127.0.0.2", port)
    srv = make_ferry(relay_conf(port, route=f"routed.test [127.0.0.2]:{port}"))
    msg = send(srv, "bob@routed.test", subject="routed")
    got = mx.wait_messages(1)[0]
    assert got.rcpt_tos == ["bob@routed.test"]
    assert got.mail_from == SENDER
    assert header(got.data, "Subject") == ["routed"]
    assert msg.split(b"\r\n\r\n", 1)[1] in got.data
    srv.wait_log(r"relay delivery rcpt=bob@routed.test .*result=sent")
    wait_until(lambda: srv.queue_json() in ([], {"messages": []}) or
               not srv.queue_json(), 10, what="queue to empty")


def test_dot_stuffing_and_several_recipients_one_transaction(make_ferry,
                                                             peers, port):
    mx = peers.mx("127.0.0.2", port)
    srv = make_ferry(relay_conf(port, route=f"routed.test [127.0.0.2]:{port}"))
    body = ".leading dot\r\n..two dots\r\nend\r\n"
    send(srv, ["a@routed.test", "b@routed.test", "c@routed.test"], body=body)
    got = mx.wait_messages(1)[0]
    assert sorted(got.rcpt_tos) == ["a@routed.test", "b@routed.test",
                                    "c@routed.test"]
    assert b"\r\n.leading dot\r\n..two dots\r\nend\r\n" in got.data
    assert len(mx.messages) == 1


# ------------------------------------------------------------ MX choice

def test_preference_order(make_ferry, fakedns, peers, port):
    lo = peers.mx("127.0.0.2", port)
    hi = peers.mx("127.0.0.3", port)
    mx_zone(fakedns, "dest.test", [(20, "mx2.dest.test", "127.0.0.3"),
                                    (10, "mx1.dest.test", "127.0.0.2")])
    srv = make_ferry(relay_conf(port, fakedns))
    for i in range(3):
        send(srv, f"u{i}@dest.test")
    lo.wait_messages(3)
    assert hi.messages == []
    srv.wait_log(r"relay delivery rcpt=u0@dest.test "
                 r"relay=\"mx1.dest.test \[127.0.0.2\]:\d+\" .*result=sent")


def test_equal_preferences_spread(make_ferry, fakedns, peers, port):
    a = peers.mx("127.0.0.2", port, delay=0.3)
    b = peers.mx("127.0.0.3", port, delay=0.3)
    mx_zone(fakedns, "dest.test", [(10, "mxa.dest.test", "127.0.0.2"),
                                    (10, "mxb.dest.test", "127.0.0.3")])
    srv = make_ferry(relay_conf(port, fakedns, concurrency_per_domain=10))
    with srv.smtp() as s:
        for i in range(24):
            s.sendmail(SENDER, [f"u{i}@dest.test"],
                       make_message(sender=SENDER, to=f"u{i}@dest.test"))
    wait_until(lambda: len(a.messages) + len(b.messages) >= 24, 30,
               what="24 deliveries")
    assert a.messages and b.messages, (len(a.messages), len(b.messages))


def test_first_mx_refused_then_second(make_ferry, fakedns, peers, port):
    second = peers.mx("127.0.0.3", port)
    mx_zone(fakedns, "dest.test", [(10, "mx1.dest.test", "127.0.0.2"),
                                    (20, "mx2.dest.test", "127.0.0.3")])
    srv = make_ferry(relay_conf(port, fakedns))
    send(srv, "bob@dest.test")
    second.wait_messages(1)
    srv.wait_log(r"relay host-failed relay=\"mx1.dest.test \[127.0.0.2\]\" "
                 r"stage=connect reason=\"4.4.1 connection refused\"")


def test_implicit_mx(make_ferry, fakedns, peers, port):
    mx = peers.mx("127.0.0.4", port)
    fakedns.add("bare.test", "A", "127.0.0.4")
    srv = make_ferry(relay_conf(port, fakedns))
    send(srv, "bob@bare.test")
    assert mx.wait_messages(1)[0].rcpt_tos == ["bob@bare.test"]


def test_null_mx_bounces_at_once(make_ferry, fakedns, peers, port):
    fakedns.add("nomail.test", "MX", "0 .")
    srv = make_ferry(relay_conf(port, fakedns))
    send(srv, "bob@nomail.test", subject="to a null MX")
    dsn = dsn_for(srv)
    assert dsn, "no DSN"
    text = dsn[0].decode("utf-8", "replace")
    assert "bob@nomail.test" in text
    assert "5.1.10" in text
    assert "to a null MX" in text       # the original headers
    assert re.search(r"Action: failed", text)


def test_nxdomain_fails(make_ferry, fakedns, peers, port):
    srv = make_ferry(relay_conf(port, fakedns))
    send(srv, "bob@gone.test")
    text = dsn_for(srv)[0].decode("utf-8", "replace")
    assert "bob@gone.test" in text and "5.1.2" in text


def test_own_hostname_in_mx_list(make_ferry, fakedns, peers, port):
    primary = peers.mx("127.0.0.2", port)
    worse = peers.mx("127.0.0.3", port)
    mx_zone(fakedns, "dest.test", [(10, "prim.dest.test", "127.0.0.2"),
                                    (20, "mx.example.test", "127.0.0.1"),
                                    (30, "worse.dest.test", "127.0.0.3")])
    srv = make_ferry(relay_conf(port, fakedns))
    send(srv, "bob@dest.test")
    primary.wait_messages(1)
    assert worse.messages == []


def test_we_are_the_best_mx(make_ferry, fakedns, peers, port):
    mx_zone(fakedns, "loop.test", [(10, "mx.example.test", "127.0.0.1")])
    srv = make_ferry(relay_conf(port, fakedns))
    send(srv, "bob@loop.test")
    srv.wait_log(r"rcpt=bob@loop.test .*result=deferred .*best MX")
