"""SRS (docs/srs.md): mail that an alias forwards to a remote address
leaves with an SRS0 envelope sender in the alias's domain; a bounce to
that address is accepted and relayed back to the original sender; forged,
tampered and expired SRS addresses are refused at RCPT with 550 5.1.1.
The hashes for the expiry and rotation cases are computed here from the
secret file, as the scheme describes them (HMAC-SHA1, base64, four
characters, over the lower-cased "TT=domain=local")."""

import base64
import hashlib
import hmac
import re
import smtplib
import time

import pytest

from conftest import make_message
from fakemx import peers, port, relay_conf  # noqa: F401

B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def srs0(secret, domain, local, fwd, days_ago=0):
    day = (int(time.time()) // 86400 - days_ago) % 1024
    tt = B32[day >> 5] + B32[day & 31]
    data = f"{tt}={domain}={local}".lower().encode()
    h = base64.b64encode(hmac.new(secret.encode(), data,
                                  hashlib.sha1).digest()).decode()[:4]
    return f"SRS0={h}={tt}={domain}={local}@{fwd}"


def forwarding(make_ferry, peers, port, **kw):
    """A server whose alias fwd@example.test points to friend@away.test;
    away.test's MX is a fake at 127.0.0.2, remote.example's (the
    original senders' domain) one at 127.0.0.3 (srv.origin_mx)."""
    mx = peers.mx("127.0.0.2", port)
    origin = peers.mx("127.0.0.3", port)
    srv = make_ferry(relay_conf(port, route=f"* [127.0.0.2]:{port}", **kw),
                     start=False)
    srv.write_config([f"route = remote.example [127.0.0.3]:{port}"])
    srv.add_alias("fwd@example.test", "friend@away.test")
    srv.start()
    srv.origin_mx = origin
    return srv, mx


def secret_of(srv):
    lines = (srv.state_dir / "srs.secret").read_text().split("\n")
    return [s.strip() for s in lines if s.strip() and not s.startswith("#")]


def rcpt_reply(srv, rcpt, sender=""):
    with srv.raw() as c:
        c.ehlo()
        c.expect(f"MAIL FROM:<{sender}>", 250)
        return c.cmd(f"RCPT TO:<{rcpt}>")


def test_forwarded_mail_gets_srs0_and_its_bounce_goes_back(make_ferry,
                                                            peers, port):
    srv, mx = forwarding(make_ferry, peers, port)
    msg = make_message(sender="Orig.User@remote.example",
                       to="fwd@example.test", subject="forward me")
    with srv.smtp() as s:
        s.sendmail("Orig.User@remote.example", ["fwd@example.test"], msg)
    got = mx.wait_messages(1)[0]
    assert got.rcpt_tos == ["friend@away.test"]
    m = re.fullmatch(r"SRS0=[A-Za-z0-9+/]{4}=[A-Z2-7]{2}=remote\.example="
                     r"Orig\.User@example\.test", got.mail_from)
    assert m, got.mail_from
    srv.wait_log(r"queue srs-rewritten from=Orig.User@remote.example "
                 r"srs=\"SRS0=\S+@example.test\"")
    # The secret was made on first use, readable by the server alone.
    st = (srv.state_dir / "srs.secret").stat()
    assert st.st_mode & 0o777 == 0o600
    # The next hop bounces: null sender to the SRS address.
    bounce = make_message(sender="MAILER-DAEMON@away.test",
                          to=got.mail_from, subject="Undelivered")
    with srv.smtp() as s:
        s.sendmail("", [got.mail_from], bounce)
    back = srv.origin_mx.wait_messages(1)[0]
    # The local part's case survives as far as the RCPT normalisation
    # leaves it: Ferry lower-cases local parts by default.
    assert back.rcpt_tos == ["orig.user@remote.example"]
    assert back.mail_from == "<>"
    assert b"Subject: Undelivered" in back.data
    srv.wait_log(r"smtp srs-reversed rcpt=\"srs0=\S+\" "
                 r"to=orig.user@remote.example")
    assert len(mx.messages) == 1


def test_bounce_with_case_changed_on_the_way_is_accepted(make_ferry, peers,
                                                         port):
    srv, mx = forwarding(make_ferry, peers, port,
                         local_part_case_sensitive="yes")
    with srv.smtp() as s:
        s.sendmail("bob@remote.example", ["fwd@example.test"],
                   make_message(to="fwd@example.test"))
    srs = mx.wait_messages(1)[0].mail_from
    for variant in (srs, srs.upper().replace("@EXAMPLE.TEST", "@example.test"),
                    srs.lower()):
        r = rcpt_reply(srv, variant)
        assert r.code == 250, (variant, r)


def test_local_and_relayed_senders_are_not_rewritten(make_ferry, peers,
                                                    port):
    srv, mx = forwarding(make_ferry, peers, port)
    # A sender in a local domain passes SPF as itself.
    with srv.smtp() as s:
        s.sendmail("alice@example.test", ["fwd@example.test"],
                   make_message(sender="alice@example.test",
                                to="fwd@example.test"))
    # Relayed (not forwarded): the client may relay, nothing is changed.
    with srv.smtp() as s:
        s.sendmail("bob@remote.example", ["someone@away.test"],
                   make_message(to="someone@away.test"))
    msgs = mx.wait_messages(2)
    froms = sorted(m.mail_from for m in msgs)
    assert froms == ["alice@example.test", "bob@remote.example"]


def test_forged_tampered_and_expired_srs_refused(make_ferry, peers, port):
    srv, mx = forwarding(make_ferry, peers, port)
    with srv.smtp() as s:
        s.sendmail("bob@remote.example", ["fwd@example.test"],
                   make_message(to="fwd@example.test"))
    good = mx.wait_messages(1)[0].mail_from
    secret = secret_of(srv)[0]
    # The hash as the scheme computes it is the one Ferry made.
    assert srs0(secret, "remote.example", "bob", "example.test") == good
    cases = {
        "forged": "SRS0=abcd=AA=remote.example=bob@example.test",
        "tampered": good.replace("=bob@", "=eve@"),
        "other-domain": good.replace("remote.example", "evil.example"),
        "expired": srs0(secret, "remote.example", "bob", "example.test",
                        days_ago=22),
        "future": srs0(secret, "remote.example", "bob", "example.test",
                       days_ago=-2),
        "malformed": "SRS0=abcd@example.test",
        "srs1-forged": "SRS1=abcd=first.example==xyzw=AA=o.example=u"
                       "@example.test",
    }
    reasons = {"expired": "expired SRS address", "future":
               "expired SRS address", "malformed": "malformed SRS address"}
    for name, addr in cases.items():
        r = rcpt_reply(srv, addr)
        assert r.code == 550 and r.enhanced == "5.1.1", (name, r)
        assert reasons.get(name, "bad SRS hash") in r.text, (name, r)
    srv.wait_log(r"smtp reject stage=rcpt rcpt=\"srs0=abcd=aa=remote.example="
                 r"bob@example.test\" code=550 dsn=5.1.1 "
                 r"reason=\"bad SRS hash\"")
    # Still young enough: 21 days (srs_max_age's default).
    ok = srs0(secret, "remote.example", "bob", "example.test", days_ago=21)
    assert rcpt_reply(srv, ok).code == 250
    # Only local domains: an SRS address elsewhere is plain relaying.
    r = rcpt_reply(srv, good.replace("example.test", "away.test"))
    assert r.code == 250      # the test client may relay (relay_networks)
    assert len(mx.messages) == 1


def test_secret_rotation_keeps_old_addresses(make_ferry, peers, port):
    srv, mx = forwarding(make_ferry, peers, port)
    with srv.smtp() as s:
        s.sendmail("bob@remote.example", ["fwd@example.test"],
                   make_message(to="fwd@example.test"))
    old = mx.wait_messages(1)[0].mail_from
    old_secret = secret_of(srv)[0]
    new_secret = "a new secret for the rotation test"
    (srv.state_dir / "srs.secret").write_text(
        f"# newest first\n{new_secret}\n{old_secret}\n")
    srv.cli_ok("reload")
    srv.wait_log(r"smtpd reloaded|reload", timeout=10)
    with srv.smtp() as s:
        s.sendmail("bob@remote.example", ["fwd@example.test"],
                   make_message(to="fwd@example.test"))
    new = mx.wait_messages(2)[1].mail_from
    assert new == srs0(new_secret, "remote.example", "bob", "example.test")
    assert rcpt_reply(srv, old).code == 250
    assert rcpt_reply(srv, new).code == 250
    # Once the old secret is dropped, its addresses are refused.
    (srv.state_dir / "srs.secret").write_text(f"{new_secret}\n")
    srv.cli_ok("reload")
    r = None
    deadline = time.time() + 10
    while time.time() < deadline:
        r = rcpt_reply(srv, old)
        if r.code == 550:
            break
        time.sleep(0.1)
    assert r.code == 550 and "bad SRS hash" in r.text, r
    assert rcpt_reply(srv, new).code == 250


def test_srs_off(make_ferry, peers, port):
    srv, mx = forwarding(make_ferry, peers, port, srs="no")
    with srv.smtp() as s:
        s.sendmail("bob@remote.example", ["fwd@example.test"],
                   make_message(to="fwd@example.test"))
    assert mx.wait_messages(1)[0].mail_from == "bob@remote.example"
    assert not (srv.state_dir / "srs.secret").exists()
    r = rcpt_reply(srv, "SRS0=abcd=AA=remote.example=bob@example.test")
    assert r.code == 550 and r.enhanced == "5.1.1"
    assert "User unknown" in r.text


@pytest.mark.parametrize("domain", ["forward.example.test"])
def test_srs_domain_setting(make_ferry, peers, port, domain):
    srv, mx = forwarding(make_ferry, peers, port, srs_domain=domain)
    srv.add_domain(domain)
    with srv.smtp() as s:
        s.sendmail("bob@remote.example", ["fwd@example.test"],
                   make_message(to="fwd@example.test"))
    got = mx.wait_messages(1)[0].mail_from
    assert got.startswith("SRS0=") and got.endswith("@" + domain), got
    assert rcpt_reply(srv, got).code == 250
