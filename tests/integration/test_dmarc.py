"""DMARC (RFC 7489) of inbound mail, black-box: the fake DNS publishes
_dmarc records, DKIM keys and SPF records; messages signed by Debian's
python3-dkim (or unsigned) are sent to Ferry's MX port with smtplib.
Each policy (reject gets 550 5.7.1, quarantine lands in Junk, none is
delivered), pct, the organizational domain's record and its sp=, DNS
failures (temperror: accepted), broken and repeated records, the From:
rules of 6.6.1, the refusal of forged hosted domains, and the
per-domain `skip dmarc` rule and `exempt` lines."""

import smtplib

import pytest

from conftest import HOSTNAME, make_message, unfold_headers, wait_until
from dkimkeys import rsa_key_pair
from fakedns import FakeDNS, fakedns  # noqa: F401
from fakemx import mx_zone, peers, port, relay_conf  # noqa: F401

dkim = pytest.importorskip("dkim", reason="python3-dkim is not installed")

RCPT = "alice@example.test"
SPF_OTHER = "bounces@spf.example"	# SPF passes, aligned with nothing


@pytest.fixture(scope="module")
def rsa_key(tmp_path_factory):
    return rsa_key_pair(tmp_path_factory.mktemp("dmarckeys"))


def publish_key(dns, domain, rsa_key):
    rec = rsa_key[1]
    dns.add(f"s1._domainkey.{domain}", "TXT",
            [rec[i:i + 250] for i in range(0, len(rec), 250)])


@pytest.fixture
def mx(make_ferry, fakedns, rsa_key):  # noqa: F811
    fakedns.add("spf.example", "TXT", "v=spf1 ip4:127.0.0.1 -all")
    fakedns.add("signed.example", "TXT", "v=spf1 -all")
    publish_key(fakedns, "signed.example", rsa_key)
    fakedns.add("_dmarc.signed.example", "TXT", "v=DMARC1; p=reject")
    fakedns.add("_dmarc.reject.example", "TXT", "v=DMARC1; p=reject")
    fakedns.add("_dmarc.quar.example", "TXT", "v=DMARC1; p=quarantine")
    fakedns.add("_dmarc.none.example", "TXT",
                "v=DMARC1; p=none; rua=mailto:agg@none.example")
    fakedns.add("_dmarc.pct.example", "TXT", "v=DMARC1; p=reject; pct=0")
    fakedns.add("_dmarc.org.example", "TXT",
                "v=DMARC1; p=reject; sp=quarantine")
    fakedns.servfail("_dmarc.broken.example")
    fakedns.add("_dmarc.bad.example", "TXT", "v=DMARC1; p=bounce")
    # Two records for one name: the fake DNS keeps both.
    fakedns.add("_dmarc.twice.example", "TXT", "v=DMARC1; p=reject")
    fakedns.add("_dmarc.twice.example", "TXT", "v=DMARC1; p=none")
    srv = make_ferry({"dns_resolvers": f"127.0.0.1:{fakedns.port}",
                      "spf": "yes", "dmarc": "yes", "spam_folder": "Junk"})
    srv.dns = fakedns
    return srv


def sign(msg, domain, rsa_key):
    return dkim.sign(msg, b"s1", domain.encode(), rsa_key[0],
                     include_headers=[b"from", b"to", b"subject"]) + msg


def send(srv, author, envelope=SPF_OTHER, signed_by=None, rsa_key=None,
         msg=None):
    msg = msg or make_message(sender=author)
    if signed_by:
        msg = sign(msg, signed_by, rsa_key)
    with srv.smtp() as s:
        s.sendmail(envelope, [RCPT], msg)


def refused(srv, author, **kw):
    with pytest.raises(smtplib.SMTPDataError) as e:
        send(srv, author, **kw)
    return e.value.smtp_code, e.value.smtp_error.decode()


def folder(srv, name):
    md = srv.maildir(RCPT)
    d = md / f".{name}" if name else md
    return sorted(p for sub in ("new", "cur") if (d / sub).is_dir()
                  for p in (d / sub).iterdir())


def wait_in(srv, name, count=1):
    wait_until(lambda: len(folder(srv, name)) >= count,
               what=f"{count} message(s) in {name or 'INBOX'}")
    return folder(srv, name)[-1].read_bytes()


def our_ar(msg):
    found = []
    for k, v in unfold_headers(msg):
        k = k.decode() if isinstance(k, bytes) else k
        v = v.decode() if isinstance(v, bytes) else v
        if k.lower() == "authentication-results" and \
                v.split(";")[0].strip() == HOSTNAME:
            found.append(" ".join(v.split()))
    assert len(found) == 1, found
    return found[0]


def test_dkim_aligned_pass(mx, rsa_key):
    send(mx, "news@signed.example", signed_by="signed.example",
         rsa_key=rsa_key)
    ar = our_ar(wait_in(mx, ""))
    assert "dkim=pass" in ar, ar
    assert "dmarc=pass (p=reject sp=reject pct=100 dis=none) " \
        "header.from=signed.example" in ar, ar
    assert mx.wait_log(r"smtp dmarc id=\S+ result=pass from=signed.example")


def test_spf_aligned_pass(mx):
    # The envelope domain spf.example passes SPF and is the From domain.
    mx.dns.add("_dmarc.spf.example", "TXT", "v=DMARC1; p=reject")
    send(mx, "x@spf.example", envelope="x@spf.example")
    ar = our_ar(wait_in(mx, ""))
    assert "spf=pass" in ar and "dmarc=pass" in ar, ar


def test_reject_policy_refuses_with_550(mx, rsa_key):
    code, text = refused(mx, "ceo@reject.example")
    assert code == 550 and text.startswith("5.7.1"), text
    assert "DMARC policy (p=reject) of reject.example" in text, text
    # A signature by another domain does not align either.
    code, text = refused(mx, "ceo@reject.example", signed_by="signed.example",
                         rsa_key=rsa_key)
    assert code == 550 and "DMARC" in text
    assert folder(mx, "") == [] and folder(mx, "Junk") == []


def test_quarantine_lands_in_junk(mx):
    send(mx, "promo@quar.example")
    msg = wait_in(mx, "Junk")
    assert "dmarc=fail (p=quarantine sp=quarantine pct=100 " \
        "dis=quarantine) header.from=quar.example" in our_ar(msg)
    assert folder(mx, "") == []


def test_quarantine_without_junk_folder_is_tagged(make_ferry, fakedns):  # noqa: F811
    fakedns.add("spf.example", "TXT", "v=spf1 ip4:127.0.0.1 -all")
    fakedns.add("_dmarc.quar.example", "TXT", "v=DMARC1; p=quarantine")
    srv = make_ferry({"dns_resolvers": f"127.0.0.1:{fakedns.port}",
                      "spf": "yes", "dmarc": "yes"})
    send(srv, "promo@quar.example")
    ar = our_ar(wait_in(srv, ""))
    assert "dmarc=fail" in ar and "dis=quarantine" in ar, ar


def test_none_policy_delivers_and_says_fail(mx):
    send(mx, "a@none.example")
    ar = our_ar(wait_in(mx, ""))
    assert "dmarc=fail (p=none sp=none pct=100 dis=none) " \
        "header.from=none.example" in ar, ar


def test_no_record_is_none(mx):
    send(mx, "a@nopolicy.example")
    ar = our_ar(wait_in(mx, ""))
    assert "dmarc=none header.from=nopolicy.example" in ar, ar
    # The organizational domain is the same: one question only.
    assert mx.dns.asked("_dmarc.nopolicy.example")


def test_pct_zero_lowers_reject_to_quarantine(mx):
    send(mx, "a@pct.example")
    ar = our_ar(wait_in(mx, "Junk"))
    assert "dmarc=fail (p=reject sp=reject pct=0 dis=quarantine)" in ar, ar


def test_organizational_domain_fallback_uses_sp(mx, rsa_key):
    send(mx, "alerts@mail.org.example")
    ar = our_ar(wait_in(mx, "Junk"))
    assert "dis=quarantine" in ar and \
        "header.from=mail.org.example" in ar, ar
    assert mx.dns.asked("_dmarc.mail.org.example")
    assert mx.dns.asked("_dmarc.org.example")
    # The organizational domain itself gets p=.
    code, text = refused(mx, "x@org.example")
    assert code == 550 and "of org.example" in text
    # Relaxed alignment: a signature by the organizational domain aligns.
    publish_key(mx.dns, "org.example", rsa_key)
    send(mx, "alerts@mail.org.example", signed_by="org.example",
         rsa_key=rsa_key)
    ar = our_ar(wait_in(mx, "", 1))
    assert "dmarc=pass" in ar, ar


def test_dns_failure_is_temperror_and_accepted(mx):
    send(mx, "a@broken.example")
    ar = our_ar(wait_in(mx, ""))
    assert "dmarc=temperror header.from=broken.example" in ar, ar


@pytest.mark.parametrize("domain", ["bad.example", "twice.example"])
def test_broken_or_repeated_record_is_permerror(mx, domain):
    send(mx, f"a@{domain}")
    ar = our_ar(wait_in(mx, ""))
    assert f"dmarc=permerror header.from={domain}" in ar, ar


@pytest.mark.parametrize("headers,why", [
    (["From: <a@spf.example>", "From: <b@reject.example>"],
     "more than one From"),
    ([], "no From"),
    (["From: a@spf.example, b@reject.example"], "several domains"),
    (["From: undisclosed-recipients:;"], "no readable address"),
])
def test_from_field_rules(mx, headers, why):
    msg = ("\r\n".join(headers + ["To: <alice@example.test>",
                                  "Subject: from rules", ""])
           + "\r\nbody\r\n").encode()
    code, text = refused(mx, None, msg=msg)
    assert code == 550 and text.startswith("5.7.1") and why in text, text


def test_forged_hosted_domain_refused(mx, rsa_key):
    code, text = refused(mx, "boss@example.test")
    assert code == 550 and text.startswith("5.7.1"), text
    assert "Forged sender: example.test is a domain hosted here" in text
    assert folder(mx, "") == []


def test_forgery_check_without_dmarc_and_switch(make_ferry, fakedns):  # noqa: F811
    srv = make_ferry({"dns_resolvers": f"127.0.0.1:{fakedns.port}"})
    with pytest.raises(smtplib.SMTPDataError) as e:
        send(srv, "boss@example.test", envelope="x@remote.example")
    assert e.value.smtp_code == 550 and b"Forged sender" in \
        e.value.smtp_error
    srv.stop()
    srv.set_conf(local_forgery_check="no")
    srv.start()
    send(srv, "boss@example.test", envelope="x@remote.example")
    wait_in(srv, "")


def test_rule_skip_dmarc(mx):
    r = mx.cli_ok("rule", "add", "example.test", "skip", "dmarc")
    assert "added" in r.stdout
    send(mx, "ceo@reject.example")
    ar = our_ar(wait_in(mx, ""))
    assert "dmarc=" not in ar, ar
    # The forgery check is part of it.
    send(mx, "boss@example.test")
    wait_in(mx, "", 2)


def test_exempt_dmarc(make_ferry, fakedns):  # noqa: F811
    fakedns.add("_dmarc.reject.example", "TXT", "v=DMARC1; p=reject")
    srv = make_ferry({"dns_resolvers": f"127.0.0.1:{fakedns.port}",
                      "dmarc": "yes", "exempt": "127.0.0.0/8 dmarc"})
    send(srv, "ceo@reject.example")
    wait_in(srv, "")
    assert not fakedns.asked("_dmarc.reject.example")


def test_dmarc_unknown_check_name_is_known(mx):
    # `dmarc` is a check name for rules (not an unknown-check warning).
    assert "unknown-check" not in mx.log_text()


def test_dkim_verify_off_uses_spf_alone(make_ferry, fakedns):  # noqa: F811
    fakedns.add("spf.example", "TXT", "v=spf1 ip4:127.0.0.1 -all")
    fakedns.add("_dmarc.spf.example", "TXT", "v=DMARC1; p=reject")
    fakedns.add("_dmarc.reject.example", "TXT", "v=DMARC1; p=reject")
    srv = make_ferry({"dns_resolvers": f"127.0.0.1:{fakedns.port}",
                      "spf": "yes", "dmarc": "yes", "dkim_verify": "no"})
    send(srv, "x@spf.example", envelope="x@spf.example")
    wait_in(srv, "")
    assert srv.wait_log(r"smtp dmarc id=\S+ result=pass from=spf.example")
    with pytest.raises(smtplib.SMTPDataError) as e:
        send(srv, "ceo@reject.example")
    assert e.value.smtp_code == 550


# ------------------------------------------------------ aggregate reports

def report_xml(raw):
    """The XML of a report mail: its gzip attachment, parsed."""
    import email
    import gzip
    import xml.etree.ElementTree as ET
    m = email.message_from_bytes(raw)
    parts = [p for p in m.walk()
             if p.get_content_type() == "application/gzip"]
    assert len(parts) == 1, m
    assert parts[0].get_filename().endswith(".xml.gz")
    return ET.fromstring(gzip.decompress(parts[0].get_payload(decode=True)))


def xml_counts(root):
    out = {}
    for rec in root.findall("record"):
        row = rec.find("row")
        pe = row.find("policy_evaluated")
        key = (row.findtext("source_ip"), pe.findtext("disposition"),
               pe.findtext("dkim"), pe.findtext("spf"),
               rec.find("identifiers").findtext("header_from"))
        out[key] = out.get(key, 0) + int(row.findtext("count"))
    return out


def test_aggregate_report(make_ferry, fakedns, peers, port):  # noqa: F811
    import datetime
    import xml.etree.ElementTree as ET

    fakedns.add("spf.example", "TXT", "v=spf1 ip4:127.0.0.1 -all")
    fakedns.add("report.example", "TXT", "v=spf1 ip4:127.0.0.1 -all")
    fakedns.add("_dmarc.report.example", "TXT",
                "v=DMARC1; p=quarantine; rua=mailto:agg@report.example,"
                "mailto:dmarc@thirdparty.example!10m,"
                "mailto:nope@unauth.example, https://x.example/r")
    fakedns.add("report.example._report._dmarc.thirdparty.example", "TXT",
                "v=DMARC1")
    for d in ("report.example", "thirdparty.example", "unauth.example"):
        mx_zone(fakedns, d, [(10, "mx.fake.example", "127.0.0.2")])
    fake = peers.mx("127.0.0.2", port)
    srv = make_ferry(relay_conf(port, fakedns, relay_networks="",
                                dmarc="yes", spf="yes",
                                dmarc_report_from="dmarc@example.test",
                                dmarc_report_org="Ferry Test"))
    # Two failures (SPF passes for another domain) and one aligned pass.
    send(srv, "a@report.example")
    send(srv, "b@report.example")
    send(srv, "c@report.example", envelope="c@report.example")
    srv.wait_delivered(RCPT, 3)
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")

    # The results reach the store in batches, within a second.
    wait_until(lambda: ", 3 messages, to" in srv.cli_ok(
        "dmarc", "report", "--dry-run", "--date", today).stdout, 15,
        what="the three results in the store")
    dry = srv.cli_ok("dmarc", "report", "--dry-run", "--date", today)
    assert "report.example: report for " + today + ", 3 messages, to " \
        "agg@report.example dmarc@thirdparty.example (dry run)" in \
        dry.stdout, dry.stdout
    assert "nope@unauth.example does not accept reports" in dry.stderr
    root = ET.fromstring(dry.stdout[dry.stdout.index("<?xml"):])
    assert root.findtext("report_metadata/org_name") == "Ferry Test"
    assert root.findtext("policy_published/domain") == "report.example"
    assert root.findtext("policy_published/p") == "quarantine"
    assert xml_counts(root) == {
        ("127.0.0.1", "quarantine", "fail", "fail", "report.example"): 2,
        ("127.0.0.1", "none", "fail", "pass", "report.example"): 1}
    assert fake.messages == []

    r = srv.cli_ok("dmarc", "report", "--date", today)
    assert "report.example: report for " + today + ", 3 messages, " \
        "queued as" in r.stdout, r.stdout
    fake.wait_messages(1, 15)
    srv.wait_queue_empty(15)
    rcpts = sorted(a for m in fake.messages for a in m.rcpt_tos)
    assert rcpts == ["agg@report.example", "dmarc@thirdparty.example"]
    for m in fake.messages:
        assert m.mail_from == "dmarc@example.test"
        root = report_xml(m.data)
        assert xml_counts(root)[("127.0.0.1", "quarantine", "fail",
                                 "fail", "report.example")] == 2
        assert root.findtext("report_metadata/email") == \
            "dmarc@example.test"
    n = len(fake.messages)

    # A second run for the same day sends nothing.
    r = srv.cli_ok("dmarc", "report", "--date", today)
    assert "sent already" in r.stdout and "queued" not in r.stdout
    srv.wait_queue_empty(15)
    assert len(fake.messages) == n
    # Another day has nothing; bad input is refused.
    r = srv.cli_ok("dmarc", "report", "--date", "2001-01-01")
    assert "no DMARC results" in r.stdout
    assert srv.cli("dmarc", "report", "--date", "yesterday").returncode == 1
    assert srv.cli("dmarc", "report", "--bogus").returncode == 2
    assert srv.cli("dmarc").returncode == 2


def test_results_of_one_second_are_one_row(make_ferry, fakedns):  # noqa: F811
    """A sender's burst: the results that differ in nothing but the
    message are stored as one row per second with their number, and the
    report still counts every message."""
    import datetime
    import sqlite3
    import xml.etree.ElementTree as ET

    fakedns.add("spf.example", "TXT", "v=spf1 ip4:127.0.0.1 -all")
    fakedns.add("burst.example", "TXT", "v=spf1 ip4:127.0.0.1 -all")
    fakedns.add("_dmarc.burst.example", "TXT",
                "v=DMARC1; p=none; rua=mailto:agg@burst.example")
    srv = make_ferry({"dns_resolvers": f"127.0.0.1:{fakedns.port}",
                      "spf": "yes", "dmarc": "yes"})
    n = 30
    with srv.smtp() as s:
        for _ in range(n):
            s.sendmail("a@burst.example", [RCPT],
                       make_message(sender="a@burst.example"))
    # one of another source's results: a row of its own
    send(srv, "b@burst.example")
    srv.wait_delivered(RCPT, n + 1)
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    wait_until(lambda: ", %d messages, to" % (n + 1) in srv.cli_ok(
        "dmarc", "report", "--dry-run", "--date", today).stdout, 15,
        what="every result in the store")
    db = sqlite3.connect(str(srv.state_dir / "ferry.db"))
    try:
        rows = db.execute("SELECT envelope_from, messages FROM "
                          "dmarc_results ORDER BY id").fetchall()
    finally:
        db.close()
    burst = [m for env, m in rows if env == "burst.example"]
    assert sum(burst) == n, rows
    # 30 messages in one session take a second or two, not thirty
    assert len(burst) < n // 2, rows
    assert [m for env, m in rows if env != "burst.example"] == [1], rows
    dry = srv.cli_ok("dmarc", "report", "--dry-run", "--date", today)
    root = ET.fromstring(dry.stdout[dry.stdout.index("<?xml"):])
    assert xml_counts(root) == {
        ("127.0.0.1", "none", "fail", "pass", "burst.example"): n,
        ("127.0.0.1", "none", "fail", "fail", "burst.example"): 1}


def test_public_suffix_list_at_start_and_reload(make_ferry, tmp_path):
    psl = tmp_path / "psl.dat"
    psl.write_text("// test list\nexample\nco.example\n")
    srv = make_ferry({"dmarc_public_suffix_list": str(psl)})
    srv.wait_log(r"smtpd dmarc-psl-loaded path=\S+psl.dat rules=2")
    off = srv.log_offset()
    psl.write_text("example\nco.example\n*.big.example\n")
    srv.cli_ok("reload")
    srv.wait_log(r"smtpd dmarc-psl-loaded path=\S+psl.dat rules=3",
                 since=off)
    # A list that cannot be read keeps the old one, and says so.
    off = srv.log_offset()
    srv.set_conf(dmarc_public_suffix_list=str(tmp_path / "missing.dat"))
    srv.cli_ok("reload")
    srv.wait_log(r"dmarc-psl-failed path=\S+missing.dat", since=off)


def test_without_spf_failures_are_not_enforced(make_ferry, fakedns):  # noqa: F811
    # spf = no: a sender relying on SPF alone cannot pass, so a failing
    # policy is recorded but not applied.
    fakedns.add("_dmarc.reject.example", "TXT", "v=DMARC1; p=reject")
    srv = make_ferry({"dns_resolvers": f"127.0.0.1:{fakedns.port}",
                      "dmarc": "yes"})
    send(srv, "ceo@reject.example")
    ar = our_ar(wait_in(srv, ""))
    assert "dmarc=fail (p=reject sp=reject pct=100 dis=none)" in ar, ar
    assert srv.wait_log(r"smtp dmarc .*result=fail .*disposition=none "
                        r".*why=\"SPF not checked")


def arc_seal(msg, domain, rsa_key):
    """A list server at domain forwards msg: its Authentication-Results
    (what it saw: the author's DKIM passed) and dkimpy's ARC set."""
    msg = (f"Authentication-Results: {domain}; dkim=pass "
           f"header.d=reject.example\r\n").encode() + msg
    sets = dkim.arc_sign(msg, b"s1", domain.encode(), rsa_key[0],
                         domain.encode())
    assert sets, "dkimpy made no ARC set"
    return b"".join(sets) + msg


def test_trusted_arc_sealer_overrides_dmarc_and_forgery(make_ferry, fakedns,
                                                        rsa_key):  # noqa: F811
    """A message that fails DMARC p=reject (or the hosted-domain forgery
    check) but comes sealed by a list server in arc_trusted_sealers is
    delivered: dmarc=fail with the override named, reported as
    local_policy; a sealer not in the list changes nothing."""
    import datetime
    import xml.etree.ElementTree as ET

    for d in ("lists.example", "other-lists.example"):
        publish_key(fakedns, d, rsa_key)
    fakedns.add("_dmarc.reject.example", "TXT", "v=DMARC1; p=reject")
    fakedns.add("spf.example", "TXT", "v=spf1 ip4:127.0.0.1 -all")
    srv = make_ferry({"dns_resolvers": f"127.0.0.1:{fakedns.port}",
                      "spf": "yes", "dmarc": "yes",
                      "arc_trusted_sealers": "lists.example"})
    srv.dns = fakedns
    listed = make_message(sender="ceo@reject.example", subject="[list] hi")
    code, text = refused(srv, "ceo@reject.example",
                         msg=arc_seal(listed, "other-lists.example",
                                      rsa_key))
    assert code == 550 and "DMARC policy (p=reject)" in text, text
    send(srv, "ceo@reject.example", msg=arc_seal(listed, "lists.example",
                                                 rsa_key))
    ar = our_ar(wait_in(srv, ""))
    assert "arc=pass (i=1 d=lists.example)" in ar, ar
    assert "dmarc=fail (p=reject sp=reject pct=100 dis=none; local policy: " \
        "trusted ARC sealer lists.example) header.from=reject.example" in \
        ar, ar
    srv.wait_log(r"smtp dmarc id=\S+ result=fail from=reject.example "
                 r"policy_domain=reject.example p=reject disposition=none "
                 r".*why=\"local policy: trusted ARC sealer lists.example\"")
    # Our own user's post, back through the trusted list.
    ours = make_message(sender="boss@example.test", subject="[list] ours")
    code, text = refused(srv, "boss@example.test",
                         msg=arc_seal(ours, "other-lists.example", rsa_key))
    assert code == 550 and "Forged sender" in text, text
    send(srv, "boss@example.test", msg=arc_seal(ours, "lists.example",
                                                rsa_key))
    wait_in(srv, "", 2)
    srv.wait_log(r"smtp forgery-overridden domain=example.test "
                 r"reason=\"trusted ARC sealer\"")
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    # The results reach the store in batches, within a second.
    wait_until(lambda: srv.cli_ok(
        "dmarc", "report", "--dry-run", "--date", today, "--domain",
        "reject.example").stdout.count("<record>") >= 2, 15,
        what="both results in the store")
    dry = srv.cli_ok("dmarc", "report", "--dry-run", "--date", today,
                     "--domain", "reject.example")
    root = ET.fromstring(dry.stdout[dry.stdout.index("<?xml"):])
    reasons = [(r.findtext("row/policy_evaluated/disposition"),
                r.findtext("row/policy_evaluated/reason/type"),
                r.findtext("row/count")) for r in root.iter("record")]
    assert ("none", "local_policy", "1") in reasons, reasons
    assert ("reject", None, "1") in reasons, reasons
