"""Remote delivery and TLS: opportunistic STARTTLS, the plaintext retry
under tls=may when a handshake hangs (and the memory of it), refusal to
send in plaintext under tls=encrypt, and AUTH to a route over TLS."""

import pytest

from fakemx import (SENDER, make_cert, peers, port,  # noqa: F401
                    relay_conf, send)


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    return make_cert(tmp_path_factory.mktemp("cert"))


def routed(port, extra="", **kw):
    return relay_conf(port, route=f"dest.test [127.0.0.2]:{port}{extra}",
                      **kw)


def test_starttls_when_offered(make_ferry, peers, port, cert):
    mx = peers.mx("127.0.0.2", port, tls=cert)
    srv = make_ferry(routed(port))
    send(srv, "bob@dest.test")
    mx.wait_messages(1)
    srv.wait_log(r"relay delivery rcpt=bob@dest.test .*result=sent "
                 r"tls=TLSv1\.[23]/")


def test_may_falls_back_to_plaintext_on_hung_handshake(make_ferry, peers,
                                                       port):
    mx = peers.mx("127.0.0.2", port, broken_tls=True)
    srv = make_ferry(routed(port, timeout_tls="1s", tls_broken_memory="1h"))
    send(srv, "bob@dest.test", subject="first")
    got = mx.wait_messages(1)
    assert got[0].rcpt_tos == ["bob@dest.test"]
    srv.wait_log(r"relay tls-failed relay=\[127.0.0.2\] "
                 r"reason=\"4.4.2 TLS handshake timed out\" action=plaintext")
    # Remembered: the next message goes in plaintext without trying.
    off = srv.log_offset()
    send(srv, "carl@dest.test", subject="second")
    mx.wait_messages(2)
    srv.wait_log(r"rcpt=carl@dest.test .*result=sent", since=off)
    assert "tls-failed" not in srv.log_bytes()[off:].decode()


def test_encrypt_never_falls_back(make_ferry, peers, port):
    mx = peers.mx("127.0.0.2", port, broken_tls=True)
    srv = make_ferry(routed(port, " tls=encrypt", timeout_tls="1s"))
    send(srv, "bob@dest.test")
    srv.wait_log(r"rcpt=bob@dest.test .*result=deferred .*TLS handshake "
                 r"timed out")
    srv.wait_log(r"queue deferred rcpt=bob@dest.test result=deferred "
                 r".* attempts=2 ", timeout=15)
    assert mx.messages == []


def test_encrypt_refuses_peer_without_starttls(make_ferry, peers, port):
    mx = peers.mx("127.0.0.2", port)
    srv = make_ferry(relay_conf(port, route=f"dest.test [127.0.0.2]:{port}",
                                tls_policy="dest.test encrypt"))
    send(srv, "bob@dest.test")
    srv.wait_log(r"rcpt=bob@dest.test .*result=deferred .*4.7.4 TLS is "
                 r"required")
    assert mx.messages == []


def test_route_with_auth_over_tls(make_ferry, peers, port, cert, tmp_path):
    mx = peers.mx("127.0.0.2", port, tls=cert, auth={"relayuser": "s3cret"})
    auth = tmp_path / "relay.auth"
    auth.write_text("relayuser:s3cret\n")
    srv = make_ferry(relay_conf(
        port, route=f"* [127.0.0.2]:{port} tls=encrypt auth={auth}"))
    send(srv, "bob@anywhere.test")
    got = mx.wait_messages(1)
    assert got[0].rcpt_tos == ["bob@anywhere.test"]
    assert mx.logins == ["relayuser"]
    assert "s3cret" not in srv.log_text()


def test_auth_never_in_plaintext(make_ferry, peers, port, tmp_path):
    mx = peers.mx("127.0.0.2", port)
    auth = tmp_path / "relay.auth"
    auth.write_text("relayuser:s3cret\n")
    srv = make_ferry(relay_conf(
        port, route=f"* [127.0.0.2]:{port} tls=may auth={auth}"))
    send(srv, "bob@anywhere.test")
    srv.wait_log(r"rcpt=bob@anywhere.test .*result=deferred .*not sending "
                 r"credentials without TLS")
    assert mx.messages == [] and mx.logins == []
