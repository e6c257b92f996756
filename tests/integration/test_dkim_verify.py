"""DKIM verification of inbound mail (RFC 6376, RFC 8463) and the
Authentication-Results field (RFC 8601), black-box: messages signed by
Debian's python3-dkim (dkimpy) with rsa and ed25519 keys published in
the fake DNS are sent to Ferry's MX port; the delivered message's
Authentication-Results says what Ferry found.  Tampered bodies and
headers, missing and timed-out keys, malformed signatures, l=, and the
removal of incoming Authentication-Results fields that claim Ferry's
authserv-id."""

import base64

import pytest

from conftest import HOSTNAME, make_message, unfold_headers, wait_until
from dkimkeys import rsa_key_pair
from fakedns import FakeDNS, fakedns  # noqa: F401

dkim = pytest.importorskip("dkim", reason="python3-dkim is not installed")
nacl_signing = pytest.importorskip("nacl.signing",
                                   reason="python3-nacl is not installed")

SENDER_DOMAIN = "signer.example"
SENDER = f"news@{SENDER_DOMAIN}"
RCPT = "alice@example.test"


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """An rsa-2048 and an ed25519 key pair with their DNS records."""
    sk = nacl_signing.SigningKey.generate()
    return {
        "rsa": rsa_key_pair(tmp_path_factory.mktemp("dkimkeys")),
        "ed": (base64.b64encode(bytes(sk)),
               "v=DKIM1; k=ed25519; p=" +
               base64.b64encode(bytes(sk.verify_key)).decode()),
    }


def start_mx(make_ferry, fakedns, keys):  # noqa: F811
    for sel, (_, rec) in (("r", keys["rsa"]), ("e", keys["ed"])):
        fakedns.add(f"{sel}._domainkey.{SENDER_DOMAIN}", "TXT",
                    [rec[i:i + 250] for i in range(0, len(rec), 250)])
    fakedns.add(SENDER_DOMAIN, "TXT", "v=spf1 ip4:127.0.0.1 -all")
    return make_ferry({"dns_resolvers": f"127.0.0.1:{fakedns.port}",
                       "spf": "yes"})


@pytest.fixture
def mx(make_ferry, fakedns, keys):  # noqa: F811
    return start_mx(make_ferry, fakedns, keys)


def sign(msg, which, keys, selector=None, **kw):
    key = keys["rsa" if which == "rsa" else "ed"][0]
    return dkim.sign(msg, (selector or ("r" if which == "rsa" else "e"))
                     .encode(), SENDER_DOMAIN.encode(), key,
                     signature_algorithm=b"rsa-sha256" if which == "rsa"
                     else b"ed25519-sha256",
                     include_headers=[b"from", b"to", b"subject"],
                     **kw) + msg


def message(**kw):
    kw.setdefault("sender", SENDER)
    kw.setdefault("to", RCPT)
    return make_message(**kw)


def deliver(srv, msg, count=1):
    with srv.smtp() as s:
        s.sendmail(SENDER, [RCPT], msg)
    srv.wait_delivered(RCPT, count)
    return srv.maildir_messages(RCPT)[-1]


def authres(msg):
    out = []
    for k, v in unfold_headers(msg):
        k = k.decode() if isinstance(k, bytes) else k
        v = v.decode() if isinstance(v, bytes) else v
        if k.lower() == "authentication-results":
            out.append(" ".join(v.split()))
    return out


def ours(msg):
    found = [a for a in authres(msg) if a.split(";")[0].strip() == HOSTNAME]
    assert len(found) == 1, authres(msg)
    return found[0]


def test_rsa_and_ed25519_pass(mx, keys):
    msg = sign(sign(message(subject="Both"), "rsa", keys), "ed", keys)
    ar = ours(deliver(mx, msg))
    assert "spf=pass smtp.mailfrom=news@signer.example" in ar
    assert ar.count("dkim=pass") == 2, ar
    assert f"header.d={SENDER_DOMAIN}" in ar
    assert "header.a=rsa-sha256" in ar and "header.a=ed25519-sha256" in ar
    assert "header.s=r" in ar and "header.s=e" in ar


@pytest.mark.parametrize("which", ["rsa", "ed"])
def test_tampered_body_and_header_fail(mx, keys, which):
    msg = sign(message(subject="Pay 100", body="Pay 100 now.\r\n"), which,
               keys)
    ar = ours(deliver(mx, msg.replace(b"Pay 100 now.", b"Pay 900 now.")))
    assert "dkim=fail (body hash did not verify)" in ar, ar
    ar = ours(deliver(mx, msg.replace(b"Subject: Pay 100",
                                      b"Subject: Pay 900"), count=2))
    assert "dkim=fail (signature did not verify)" in ar, ar


@pytest.mark.parametrize("ifma", ["0", "1"])
def test_rsa_verdicts_with_and_without_ifma(make_ferry, fakedns, keys,  # noqa: F811
                                            monkeypatch, ifma):
    """Where the CPU has AVX-512 IFMA, RSA's public operation runs on
    Ferry's own code unless FERRY_RSA_IFMA=0 (docs/dkim.md); elsewhere
    both runs take OpenSSL's.  Either way a good signature passes and
    one over a changed header fails, several messages in a row (the
    key's prepared form is kept between them)."""
    monkeypatch.setenv("FERRY_RSA_IFMA", ifma)
    srv = start_mx(make_ferry, fakedns, keys)
    for n in range(3):
        msg = sign(message(subject=f"Invoice {n}"), "rsa", keys)
        ar = ours(deliver(srv, msg, count=2 * n + 1))
        assert "dkim=pass" in ar and "header.a=rsa-sha256" in ar, ar
        ar = ours(deliver(srv, msg.replace(b"Subject: Invoice",
                                           b"Subject: Invoize"),
                          count=2 * n + 2))
        assert "dkim=fail (signature did not verify)" in ar, ar


def test_length_tag(mx, keys):
    # l= covers the signed body only: text appended later is not
    # covered (and the signature still passes, as RFC 6376 says).
    msg = sign(message(body="Signed part.\r\n"), "rsa", keys, length=True)
    assert b" l=" in msg or b";l=" in msg
    ar = ours(deliver(mx, msg.replace(b"Signed part.\r\n",
                                      b"Signed part.\r\nAppended.\r\n")))
    assert "dkim=pass" in ar, ar


def test_missing_key_is_permerror(mx, keys):
    msg = sign(message(), "rsa", keys, selector="gone")
    ar = ours(deliver(mx, msg))
    assert "dkim=permerror (no key for signature)" in ar, ar


def test_dns_timeout_is_temperror(mx, keys, fakedns):  # noqa: F811
    fakedns.timeout(f"slow._domainkey.{SENDER_DOMAIN}")
    msg = sign(message(), "ed", keys, selector="slow")
    ar = ours(deliver(mx, msg))
    assert "dkim=temperror" in ar, ar


@pytest.mark.parametrize("sig", [
    b"DKIM-Signature: v=1; a=rsa-sha256; d=signer.example; garbage\r\n",
    b"DKIM-Signature: v=1; a=rsa-sha1; d=signer.example; s=r; h=from; "
    b"bh=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=; b=AAAA\r\n",
    b"DKIM-Signature: v=1; a=rsa-sha256; d=signer.example; s=r; h=to; "
    b"bh=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=; b=AAAA\r\n",
    b"DKIM-Signature: v=1; v=1; a=rsa-sha256\r\n",
])
def test_malformed_signature_is_permerror(mx, sig):
    ar = ours(deliver(mx, sig + message()))
    assert "dkim=permerror" in ar, ar


def test_unsigned_is_none_and_forged_results_removed(mx):
    forged = (f"Authentication-Results: {HOSTNAME}; dkim=pass "
              f"header.d=bank.example\r\n"
              f"Authentication-Results: other.example; spf=pass\r\n"
              f"Authentication-Results:   {HOSTNAME.upper()} ;\r\n"
              f"\tdmarc=pass\r\n").encode()
    msg = deliver(mx, forged + message(subject="Forged"))
    ar = ours(msg)
    assert "dkim=none" in ar and "bank.example" not in ar
    # The other ADMD's field stays; both claiming ours are gone.
    assert any(a.startswith("other.example;") for a in authres(msg))
    assert b"dmarc=pass" not in msg and b"bank.example" not in msg


def test_verify_off(make_ferry, fakedns, keys):  # noqa: F811
    srv = make_ferry({"dns_resolvers": f"127.0.0.1:{fakedns.port}",
                      "dkim_verify": "no"})
    msg = deliver(srv, sign(message(), "rsa", keys))
    assert authres(msg) == []


def head_names(msg):
    head = msg.split(b"\r\n\r\n", 1)[0].decode()
    return [line.split(":", 1)[0] for line in head.split("\r\n")
            if line and not line[0].isspace()]


def test_results_in_the_same_place_direct_and_queued(mx, keys):
    """Direct delivery puts the end-of-DATA fields (Authentication-Results)
    in as it copies, instead of rewriting the spool file; when a recipient
    has to be queued after all, the spool file gets them then.  Either
    way each copy holds the field once, right under Ferry's Received, and
    the same key verifies the same way (twice in a row: the second time
    from the key cache)."""
    BOB = "bob@example.test"
    md = mx.maildir(BOB)
    for sub in ("tmp", "cur"):
        (md / sub).mkdir(parents=True, exist_ok=True)
    (md / "new").write_text("not a directory")
    msg = sign(message(subject="Both paths"), "rsa", keys)
    with mx.smtp() as s:
        s.sendmail(SENDER, [RCPT, BOB], msg)
    direct = mx.wait_delivered(RCPT, 1)[-1]
    qid = mx.wait_log(r"smtp accepted id=(\w+) .*delivered=1 "
                      r"queued=yes").group(1)
    wait_until(lambda: any(x["id"] == qid for x in mx.queue_json()), 10,
               what="bob's copy in the queue")
    (md / "new").unlink()
    mx.cli_ok("queue", "retry", qid)
    queued = mx.wait_delivered(BOB, 1)[-1]
    for m in (direct, queued):
        names = head_names(m)
        assert names[:5] == ["Return-Path", "Delivered-To", "Received",
                             "Received-SPF", "Authentication-Results"], names
        assert names.count("Authentication-Results") == 1, names
        assert "dkim=pass" in ours(m)
    # Below the delivery headers the two copies are the same bytes.
    assert direct.split(b"\r\nReceived: ", 1)[1] == \
        queued.split(b"\r\nReceived: ", 1)[1]
    ar = ours(deliver(mx, msg, count=2))
    assert "dkim=pass" in ar and f"header.d={SENDER_DOMAIN}" in ar, ar
