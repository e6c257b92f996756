"""ARC (RFC 8617, docs/arc.md), black-box with Debian's python3-dkim and
libmail-dkim-perl: chains sealed by dkimpy (dkim.arc_sign) and by
Mail::DKIM::ARC::Signer verify in Ferry (arc=pass in its
Authentication-Results, with oldest-pass), tampered and broken chains
fail, and mail an alias forwards to a remote address leaves with an ARC
set Ferry sealed with the alias domain's DKIM key, which dkimpy's
dkim.arc_verify and Mail::DKIM::ARC::Verifier accept at the fake MX (a
new chain, and one Ferry extends)."""

import json
import os
import re
import shutil
import socket
import subprocess
import time

import pytest

from conftest import (HOSTNAME, RawSMTP, dot_stuff, make_message,
                      unfold_headers, wait_until)
from dkimkeys import rsa_key_pair
from fakedns import fakedns  # noqa: F401
from fakemx import peers, port, relay_conf  # noqa: F401

dkim = pytest.importorskip("dkim", reason="python3-dkim is not installed")
pytest.importorskip("authres", reason="python3-authres is not installed")

PERL = shutil.which("perl")
PERL_ARC_VERIFY = r"""
use strict;
use Mail::DKIM::ARC::Verifier;
use Net::DNS::Resolver;
my $r = Net::DNS::Resolver->new(nameservers => ['127.0.0.1'],
    port => $ENV{DNS_PORT}, recurse => 0, retry => 1, udp_timeout => 5);
Mail::DKIM::DNS::resolver($r);
my $v = Mail::DKIM::ARC::Verifier->new();
local $/;
my $msg = <STDIN>;
$msg =~ s/\r?\n/\r\n/g;
$v->PRINT($msg);
$v->CLOSE;
print $v->result, " ", ($v->result_detail // ""), "\n";
"""
PERL_ARC_SEAL = r"""
use strict;
use Mail::DKIM::ARC::Signer;
my $s = Mail::DKIM::ARC::Signer->new(Algorithm => "rsa-sha256",
    Chain => "ar", Domain => "sealer.example", SrvId => "sealer.example",
    Selector => "arc", KeyFile => $ENV{KEY},
    Headers => "from:to:subject:date:message-id");
local $/;
my $msg = <STDIN>;
$s->PRINT($msg);
$s->CLOSE;
die "not sealed: " . $s->result unless $s->result eq "sealed";
print join("\r\n", $s->as_strings), "\r\n";
"""
SEALER = "sealer.example"
SENDER = f"news@{SEALER}"
RCPT = "alice@example.test"


@pytest.fixture(scope="module")
def rsa(tmp_path_factory):
    return rsa_key_pair(tmp_path_factory.mktemp("arckeys"))


def publish(dns, name, rec):
    dns.add(name, "TXT", [rec[i:i + 250] for i in range(0, len(rec), 250)])
    if not hasattr(dns, "records_for_py"):
        dns.records_for_py = {}
    dns.records_for_py[name] = rec


def dnsfunc_for(dns):
    def dnsfunc(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        rec = getattr(dns, "records_for_py", {}).get(name.rstrip("."))
        return rec.encode() if rec else None
    return dnsfunc


def seal(msg, rsa, domain=SEALER, selector="arc", results=None,
         srv_id=None):
    """dkimpy adds one ARC set over msg: its AAR is taken from an
    Authentication-Results field of srv_id, which is put on top first
    (results says what that hop found)."""
    srv_id = srv_id or domain
    ar = (f"Authentication-Results: {srv_id}; "
          f"{results or 'spf=pass smtp.mailfrom=' + SENDER}\r\n").encode()
    msg = ar + msg
    sets = dkim.arc_sign(msg, selector.encode(), domain.encode(), rsa[0],
                         srv_id.encode())
    assert sets, "dkimpy made no ARC set"
    return b"".join(sets) + msg


def message(**kw):
    kw.setdefault("sender", SENDER)
    kw.setdefault("to", RCPT)
    kw.setdefault("body", "An ARC test.\r\n" * 5)
    return make_message(**kw)


def our_ar(msg):
    for k, v in unfold_headers(msg):
        k = k.decode() if isinstance(k, bytes) else k
        v = v.decode() if isinstance(v, bytes) else v
        if k.lower() == "authentication-results" and \
                v.strip().startswith(HOSTNAME):
            return " ".join(v.split())
    raise AssertionError("no Authentication-Results of ours")


@pytest.fixture
def mx(make_ferry, fakedns, rsa):  # noqa: F811
    publish(fakedns, f"arc._domainkey.{SEALER}", rsa[1])
    publish(fakedns, f"hop2._domainkey.second.example", rsa[1])
    return make_ferry({"dns_resolvers": f"127.0.0.1:{fakedns.port}"})


def deliver(srv, msg, count=1):
    with srv.smtp() as s:
        s.sendmail(SENDER, [RCPT], msg)
    srv.wait_delivered(RCPT, count)
    return srv.maildir_messages(RCPT)[-1]


def test_no_chain_is_none(mx):
    ar = our_ar(deliver(mx, message()))
    assert "arc=none" in ar


def test_dkimpy_chain_passes(mx, rsa):
    got = deliver(mx, seal(message(subject="one hop"), rsa))
    ar = our_ar(got)
    assert f"arc=pass (i=1 d={SEALER}) header.oldest-pass=1" in ar, ar
    mx.wait_log(r"smtp arc id=\S+ result=pass sets=1 sealer=sealer.example "
                r"oldest_pass=1")


def dkim_signed(msg, rsa):
    """msg with a DKIM signature of SEALER (the ARC key, selector arc)."""
    return dkim.sign(msg, b"arc", SEALER.encode(), rsa[0],
                     include_headers=[b"from", b"to", b"subject"]) + msg


def send_in_pieces(srv, msg, cuts):
    """DATA whose content goes in separate writes, cut at the offsets in
    cuts (a pause after each, so that the server reads them apart);
    returns the final reply."""
    data = dot_stuff(msg) + b".\r\n"
    with RawSMTP(srv.port) as c:
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.ehlo()
        c.expect(f"MAIL FROM:<{SENDER}>", 250)
        c.expect(f"RCPT TO:<{RCPT}>", 250)
        c.expect("DATA", 354)
        at = 0
        for cut in sorted(set(cuts)) + [len(data)]:
            if at < cut <= len(data):
                c.send(data[at:cut])
                at = cut
                time.sleep(0.03)
        return c.reply()


def test_header_in_pieces_verifies(mx, rsa):
    """The DKIM and ARC verifiers read the fields of the transaction's
    one header parse: a signed and sealed message whose header section
    arrives in pieces, cut inside a field name, inside a folded
    signature, between the CR and LF of the empty line and just after
    it, still passes both."""
    msg = seal(dkim_signed(message(subject="in pieces"), rsa), rsa)
    end = dot_stuff(msg).index(b"\r\n\r\n")
    fold = re.search(rb"\r\n[ \t]", dot_stuff(msg)).start()
    cuts = [3, fold + 1, fold + 3, end - 5, end + 1, end + 3, end + 4,
            end + 6]
    r = send_in_pieces(mx, msg, cuts)
    assert r.code == 250, r
    mx.wait_delivered(RCPT, 1)
    ar = our_ar(mx.maildir_messages(RCPT)[-1])
    assert f"dkim=pass header.d={SEALER}" in ar, ar
    assert f"arc=pass (i=1 d={SEALER})" in ar, ar
    # And every octet at once, for the same result.
    got = deliver(mx, msg, count=2)
    ar = our_ar(got)
    assert f"dkim=pass header.d={SEALER}" in ar and "arc=pass" in ar, ar


def test_header_without_body_ends_with_the_content(mx, rsa):
    """A message that ends inside its header section (no empty line):
    the verifiers learn of the end from the content's end, and the
    tampered copy fails where the intact one passes."""
    msg = dkim_signed(message(subject="no body", body=""), rsa)
    head = msg[:msg.index(b"\r\n\r\n") + 2]
    assert b"\r\n\r\n" not in head
    with mx.smtp() as s:
        s.sendmail(SENDER, [RCPT], head)
    mx.wait_delivered(RCPT, 1)
    ar = our_ar(mx.maildir_messages(RCPT)[-1])
    assert f"dkim=pass header.d={SEALER}" in ar, ar
    with mx.smtp() as s:
        s.sendmail(SENDER, [RCPT], head.replace(b"no body", b"no bodY"))
    mx.wait_delivered(RCPT, 2)
    ar = our_ar(mx.maildir_messages(RCPT)[-1])
    assert "dkim=fail" in ar, ar


def test_dkim_and_arc_keys_asked_at_once(make_ferry, rsa,  # noqa: F811
                                         fakedns):
    """The DKIM key, the ARC keys and the DMARC policy are looked up at
    the same time: all three queries are out before any is answered,
    and the answers may come in any order."""
    dk, ak = f"dk._domainkey.{SEALER}", f"arc._domainkey.{SEALER}"
    dm = f"_dmarc.{SEALER}"
    publish(fakedns, ak, rsa[1])
    publish(fakedns, dk, rsa[1])
    mx = make_ferry({"dns_resolvers": f"127.0.0.1:{fakedns.port}",
                     "dmarc": "yes"})
    fakedns.add(dm, "TXT", "v=DMARC1; p=reject")
    fakedns.hold(dm)
    msg = message(subject="both keys")
    msg = dkim.sign(msg, b"dk", SEALER.encode(), rsa[0],
                    include_headers=[b"from", b"to", b"subject"]) + msg
    msg = seal(msg, rsa)
    fakedns.hold(dk)
    fakedns.hold(ak)
    with RawSMTP(mx.port) as c:
        c.ehlo()
        c.expect(f"MAIL FROM:<{SENDER}>", 250)
        c.expect(f"RCPT TO:<{RCPT}>", 250)
        c.expect("DATA", 354)
        c.send(dot_stuff(msg) + b".\r\n")
        wait_until(lambda: fakedns.held(dk) >= 1 and fakedns.held(ak) >= 1
                   and fakedns.held(dm) >= 1, 10,
                   what="the key and policy queries out")
        fakedns.release(dm)
        fakedns.release(ak)
        time.sleep(0.3)
        fakedns.release(dk)
        r = c.reply(timeout=20)
        assert r is not None and r.code == 250, r
    mx.wait_delivered(RCPT, 1)
    ar = our_ar(mx.maildir_messages(RCPT)[-1])
    assert f"dkim=pass header.d={SEALER} header.i=@{SEALER} header.s=dk" \
        in ar, ar
    assert f"arc=pass (i=1 d={SEALER})" in ar, ar
    assert f"dmarc=pass (p=reject" in ar, ar


def test_two_hop_chain_passes(mx, rsa):
    once = seal(message(subject="two hops"), rsa)
    twice = seal(once, rsa, domain="second.example", selector="hop2",
                 results="arc=pass smtp.remote-ip=192.0.2.1")
    ar = our_ar(deliver(mx, twice))
    assert "arc=pass (i=2 d=second.example) header.oldest-pass=1" in ar, ar


def test_body_changed_after_the_newest_seal_fails(mx, rsa):
    msg = seal(message(subject="tampered body"), rsa)
    msg = msg.replace(b"An ARC test.", b"An ARC jest.", 1)
    ar = our_ar(deliver(mx, msg))
    assert "arc=fail (ARC-Message-Signature body hash did not verify)" \
        in ar, ar


def test_header_changed_fails(mx, rsa):
    msg = seal(message(subject="tampered subject"), rsa)
    msg = msg.replace(b"Subject: tampered subject",
                      b"Subject: tampered subject!", 1)
    ar = our_ar(deliver(mx, msg))
    assert "arc=fail (ARC-Message-Signature did not verify)" in ar, ar


def test_aar_changed_breaks_the_seal(mx, rsa):
    msg = seal(message(subject="tampered aar"), rsa)
    msg = msg.replace(b"spf=pass smtp.mailfrom", b"spf=fail smtp.mailfrom",
                      1)
    assert b"ARC-Authentication-Results: i=1; sealer.example; spf=fail" \
        in msg
    ar = our_ar(deliver(mx, msg))
    assert "arc=fail (ARC-Seal did not verify)" in ar, ar


@pytest.mark.parametrize("change,reason", [
    (lambda m: re.sub(rb"ARC-Seal:[^\r]*\r\n(\s[^\r]*\r\n)*", b"", m,
                      count=1), "incomplete ARC set"),
    (lambda m: m.replace(b"cv=none", b"cv=pass", 1),
     "ARC-Seal i=1 without cv=none"),
    (lambda m: m.replace(b"cv=none", b"cv=fail", 1),
     "the chain failed before (cv=fail)"),
    (lambda m: m.replace(b"ARC-Seal: i=1", b"ARC-Seal: i=51", 1),
     "more than 50 ARC sets"),
    (lambda m: m.replace(b"ARC-Seal: i=1", b"ARC-Seal: i=x", 1),
     "ARC header field without a valid i="),
    (lambda m: re.sub(rb"(ARC-Authentication-Results:[^\r]*\r\n)",
                      rb"\1\1", m, count=1), "ARC header field repeated"),
    (lambda m: m.replace(b"s=arc;", b"s=nokey;", 1),
     "ARC-Seal did not verify"),
])
def test_broken_chains_fail(mx, rsa, change, reason):
    msg = change(seal(message(subject="broken"), rsa))
    ar = our_ar(deliver(mx, msg))
    assert f"arc=fail ({reason})" in ar, ar


def test_relay_clients_are_not_verified(make_ferry, fakedns, rsa):  # noqa
    srv = make_ferry({"dns_resolvers": f"127.0.0.1:{fakedns.port}",
                      "relay_networks": "127.0.0.0/8"})
    got = deliver(srv, seal(message(), rsa))
    assert b"arc=" not in got.split(b"\r\n\r\n")[0].replace(
        b"ARC-Authentication-Results", b"")


# ------------------------------------------------------------ sealing

def forwarder(make_ferry, fakedns, peers, port, rsa, **kw):  # noqa: F811
    mx = peers.mx("127.0.0.2", port)
    conf = relay_conf(port, fakedns, route=f"* [127.0.0.2]:{port}", **kw)
    conf["relay_networks"] = None          # the client is a stranger
    srv = make_ferry(conf, start=False)
    key = json.loads(srv.cli_ok("dkim", "keygen", "example.test",
                                "--selector", "fw", "--json").stdout)
    publish(fakedns, key["name"], key["record"])
    publish(fakedns, f"arc._domainkey.{SEALER}", rsa[1])
    srv.add_alias("fwd@example.test", "friend@away.test")
    srv.start()
    return srv, mx


def forward(srv, msg):
    with srv.smtp() as s:
        s.sendmail(SENDER, ["fwd@example.test"], msg)


def arc_headers(msg):
    out = []
    for k, v in unfold_headers(msg):
        k = k.decode() if isinstance(k, bytes) else k
        if k.lower().startswith("arc-"):
            out.append((k, v.decode() if isinstance(v, bytes) else v))
    return out


def test_forwarded_mail_gets_a_set_dkimpy_verifies(make_ferry, fakedns,
                                                   peers, port, rsa):
    srv, mx = forwarder(make_ferry, fakedns, peers, port, rsa)
    forward(srv, message(subject="sealed by ferry", to="fwd@example.test"))
    got = mx.wait_messages(1)[0]
    hs = arc_headers(got.data)
    assert [k for k, _ in hs] == ["ARC-Seal", "ARC-Message-Signature",
                                  "ARC-Authentication-Results"], hs
    assert "i=1;" in hs[0][1] and "cv=none" in hs[0][1]
    assert "d=example.test" in hs[0][1] and "s=fw" in hs[0][1]
    assert hs[2][1].startswith(f"i=1; {HOSTNAME};")
    assert "arc=none" in hs[2][1]
    cv, results, reason = dkim.arc_verify(got.data,
                                          dnsfunc=dnsfunc_for(fakedns))
    assert cv == dkim.CV_Pass, (cv, reason, results)
    srv.wait_log(r"smtp arc-sealed id=\S+ domain=example.test instance=1")


def test_ferry_extends_a_dkimpy_chain(make_ferry, fakedns, peers, port,
                                      rsa):
    srv, mx = forwarder(make_ferry, fakedns, peers, port, rsa)
    forward(srv, seal(message(subject="extend", to="fwd@example.test"),
                      rsa))
    got = mx.wait_messages(1)[0]
    hs = arc_headers(got.data)
    assert hs[0][0] == "ARC-Seal" and "i=2;" in hs[0][1]
    assert "cv=pass" in hs[0][1]
    aar = [v for k, v in hs if k == "ARC-Authentication-Results" and
           v.startswith("i=2;")][0]
    assert f"arc=pass (i=1 d={SEALER}) header.oldest-pass=1" in \
        " ".join(aar.split())
    cv, results, reason = dkim.arc_verify(got.data,
                                          dnsfunc=dnsfunc_for(fakedns))
    assert cv == dkim.CV_Pass, (cv, reason, results)
    assert [r["instance"] for r in results] == [2, 1]


def test_failed_chain_is_not_extended(make_ferry, fakedns, peers, port,
                                      rsa):
    srv, mx = forwarder(make_ferry, fakedns, peers, port, rsa)
    msg = seal(message(subject="dead", to="fwd@example.test"), rsa)
    forward(srv, msg.replace(b"An ARC test.", b"An ARC jest.", 1))
    got = mx.wait_messages(1)[0]
    assert [k for k, v in arc_headers(got.data) if "i=2" in v] == []
    srv.wait_log(r"smtp arc-not-sealed id=\S+ domain=example.test "
                 r"reason=\"the ARC chain failed\"")


def test_sealing_off(make_ferry, fakedns, peers, port, rsa):
    srv, mx = forwarder(make_ferry, fakedns, peers, port, rsa,
                        arc_seal="no")
    forward(srv, message(subject="not sealed", to="fwd@example.test"))
    assert arc_headers(mx.wait_messages(1)[0].data) == []



def test_ferry_chain_verifies_in_mail_dkim(make_ferry, fakedns, peers, port,
                                          rsa):
    try:
        subprocess.run([PERL, "-MMail::DKIM::ARC::Verifier", "-MNet::DNS",
                        "-e", "1"], check=True, capture_output=True)
    except (subprocess.CalledProcessError, TypeError):
        pytest.skip("libmail-dkim-perl is not installed")
    srv, mx = forwarder(make_ferry, fakedns, peers, port, rsa)
    forward(srv, seal(message(subject="perl", to="fwd@example.test"), rsa))
    got = mx.wait_messages(1)[0]
    r = subprocess.run([PERL, "-e", PERL_ARC_VERIFY], input=got.data,
                       capture_output=True, timeout=60,
                       env=dict(os.environ, DNS_PORT=str(fakedns.port)))
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().startswith("pass"), r.stdout


def test_mail_dkim_chain_verifies_in_ferry(mx, rsa, tmp_path):
    try:
        subprocess.run([PERL, "-MMail::DKIM::ARC::Signer", "-e", "1"],
                       check=True, capture_output=True)
    except (subprocess.CalledProcessError, TypeError):
        pytest.skip("libmail-dkim-perl is not installed")
    key = tmp_path / "k.pem"
    key.write_bytes(rsa[0])
    msg = (b"Authentication-Results: sealer.example; spf=pass "
           b"smtp.mailfrom=news@sealer.example\r\n" +
           message(subject="sealed by perl"))
    r = subprocess.run([PERL, "-e", PERL_ARC_SEAL], input=msg,
                       capture_output=True, timeout=60,
                       env=dict(os.environ, KEY=str(key)))
    assert r.returncode == 0, r.stderr
    ar = our_ar(deliver(mx, r.stdout + msg))
    assert f"arc=pass (i=1 d={SEALER}) header.oldest-pass=1" in ar, ar
