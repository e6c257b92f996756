"""DMARC aggregate reports that arrive for a hosted domain, black-box:
report mails (XML built here, attached gzip'd by Python's gzip, zipped
by zipfile, or bare) are sent with smtplib to a local mailbox; the
queue role reads them at delivery, and `ferry dmarc reports DOMAIN`
(and --json) shows the volumes per source.  Duplicates are stored once;
bad attachments (truncated, a zip bomb, the wrong schema, a DOCTYPE)
are refused by the reader while the mail is still delivered; reports
for domains not hosted here are not stored; dmarc_report_mailboxes
limits the mailboxes read; hostile strings are printed escaped; and
`ferry dmarc import` reads a Maildir of old report mail."""

import email.policy
import gzip
import io
import json
import sqlite3
import time
import zipfile
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from xml.sax.saxutils import escape

import pytest

from conftest import DOMAIN, wait_until

RUA = f"alice@{DOMAIN}"
DAY = 86400


def report_xml(report_id, org="google.com", domain=DOMAIN, records=(),
               begin=None, end=None, extra=""):
    """records: (ip, count, disposition, dkim, spf, header_from)."""
    end = end if end is not None else int(time.time()) - 3600
    begin = begin if begin is not None else end - DAY
    rows = []
    for ip, count, disp, dk, sp, hfrom in records:
        rows.append(f"""  <record>
    <row>
      <source_ip>{ip}</source_ip>
      <count>{count}</count>
      <policy_evaluated>
        <disposition>{disp}</disposition>
        <dkim>{dk}</dkim>
        <spf>{sp}</spf>
      </policy_evaluated>
    </row>
    <identifiers><header_from>{escape(hfrom)}</header_from></identifiers>
    <auth_results>
      <dkim><domain>{escape(hfrom)}</domain><selector>s1</selector>
        <result>{dk}</result></dkim>
      <spf><domain>{escape(hfrom)}</domain><result>{sp}</result></spf>
    </auth_results>
  </record>""")
    return f"""<?xml version="1.0" encoding="UTF-8" ?>
<feedback xmlns="urn:ietf:params:xml:ns:dmarc-2.0">
  <version>1.0</version>
  <report_metadata>
    <org_name>{escape(org)}</org_name>
    <email>noreply-dmarc@{escape(org)}</email>
    <report_id>{escape(report_id)}</report_id>
    <date_range><begin>{begin}</begin><end>{end}</end></date_range>
  </report_metadata>
  <policy_published>
    <domain>{domain}</domain><adkim>r</adkim><aspf>r</aspf>
    <p>none</p><sp>none</sp><pct>100</pct>
  </policy_published>
{extra}{chr(10).join(rows)}
</feedback>
""".encode()


def zipped(name, data, method=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        z.writestr(name, data)
    return buf.getvalue()


def report_mail(attachment, subtype, filename, org="google.com",
                report_id="r1", domain=DOMAIN,
                subject=None):
    m = MIMEMultipart()
    m["From"] = f"noreply-dmarc@{org}"
    m["To"] = RUA
    m["Subject"] = subject if subject is not None else \
        f"Report Domain: {domain} Submitter: {org} Report-ID: <{report_id}>"
    m.attach(MIMEText("This is an aggregate report.\n"))
    part = MIMEApplication(attachment, _subtype=subtype)
    part.add_header("Content-Disposition", "attachment", filename=filename)
    m.attach(part)
    return m.as_bytes(policy=email.policy.SMTP)


def send(srv, msg, rcpt=RUA):
    with srv.smtp() as s:
        s.sendmail("noreply@reporter.example", [rcpt], msg)


def inbox_count(srv, addr=RUA):
    return len(srv.maildir_files(addr))


def wait_delivered(srv, n, addr=RUA):
    wait_until(lambda: inbox_count(srv, addr) >= n,
               what=f"{n} message(s) for {addr}")


def reports_json(srv, domain=DOMAIN, *extra):
    return json.loads(srv.cli_ok("dmarc", "reports", domain, "--json",
                                 *extra).stdout)


GOOD = [("192.0.2.10", 40, "none", "pass", "pass", DOMAIN),
        ("198.51.100.7", 3, "none", "fail", "fail", DOMAIN),
        ("2001:db8::25", 5, "none", "fail", "pass", DOMAIN)]


def test_gzip_and_zip_reports_are_read(ferry):
    xml1 = report_xml("g-1", "google.com", records=GOOD)
    send(ferry, report_mail(gzip.compress(xml1), "gzip",
                            "google.com!example.test!1!2.xml.gz"))
    xml2 = report_xml("y-7", "Yahoo", records=[
        ("198.51.100.7", 2, "quarantine", "fail", "fail", DOMAIN),
        ("192.0.2.10", 10, "none", "pass", "fail", DOMAIN)])
    send(ferry, report_mail(zipped("yahoo!example.test!1!2.xml", xml2),
                            "zip", "yahoo!example.test!1!2.zip",
                            org="Yahoo", report_id="y-7"))
    wait_delivered(ferry, 2)
    assert ferry.wait_log(r"queue dmarc-report rcpt=alice@example.test "
                          r"result=stored domain=example.test "
                          r"org=Yahoo report_id=y-7 records=2 messages=12")
    assert ferry.wait_log(r"result=stored domain=example.test "
                          r"org=google.com report_id=g-1 records=3 "
                          r"messages=48")
    j = reports_json(ferry)
    assert j["reports"] == 2 and j["messages"] == 60
    assert j["pass"] == 40 + 5 + 10 and j["fail"] == 3 + 2
    assert {o["org"]: (o["reports"], o["messages"]) for o in j["orgs"]} == \
        {"google.com": (1, 48), "Yahoo": (1, 12)}
    src = {s["source_ip"]: s for s in j["sources"]}
    assert src["192.0.2.10"]["messages"] == 50
    assert src["192.0.2.10"]["pass"] == 50
    assert src["192.0.2.10"]["dkim_pass"] == 50
    assert src["192.0.2.10"]["spf_pass"] == 40
    assert src["198.51.100.7"]["fail"] == 5
    assert src["198.51.100.7"]["quarantine"] == 2
    assert src["198.51.100.7"]["none"] == 3
    assert sorted(src["198.51.100.7"]["orgs"]) == ["Yahoo", "google.com"]
    assert src["2001:db8::25"]["pass"] == 5
    # The failing source comes first.
    assert j["sources"][0]["source_ip"] == "198.51.100.7"
    text = ferry.cli_ok("dmarc", "reports", DOMAIN).stdout
    assert "example.test: 2 reports" in text and "60 messages: 55 pass, " \
        "5 fail DMARC" in text, text
    lines = [ln for ln in text.splitlines() if ln[:1].isdigit()]
    assert lines[0].split()[:4] == ["198.51.100.7", "5", "0", "5"], text
    # The spelling, `dmarc report DOMAIN`, shows the same.
    assert ferry.cli_ok("dmarc", "report", DOMAIN).stdout == text
    # Another domain has none; --days bounds the period.
    assert "no DMARC reports" in ferry.cli_ok(
        "dmarc", "reports", "other.example").stdout


def test_bare_xml_and_old_reports(ferry):
    # text/xml attached as is; a report of 20 days ago is outside --days 7.
    now = int(time.time())
    send(ferry, report_mail(report_xml("x-1", records=GOOD[:1]), "xml",
                            "report.xml", report_id="x-1"))
    send(ferry, report_mail(report_xml("x-old", records=GOOD[1:2],
                                       end=now - 20 * DAY), "xml",
                            "old.xml", report_id="x-old"))
    wait_delivered(ferry, 2)
    ferry.wait_log(r"report_id=x-old records=1")
    ferry.wait_log(r"report_id=x-1 records=1")
    assert reports_json(ferry)["messages"] == 40
    assert reports_json(ferry, DOMAIN, "--days", "30")["messages"] == 43


def test_duplicate_report_is_stored_once(ferry):
    xml = report_xml("dup-1", records=GOOD)
    mail = report_mail(gzip.compress(xml), "gzip", "a.xml.gz",
                       report_id="dup-1")
    send(ferry, mail)
    wait_delivered(ferry, 1)
    ferry.wait_log(r"result=stored .*report_id=dup-1")
    # The same report again, and to two mailboxes at once.
    with ferry.smtp() as s:
        s.sendmail("noreply@reporter.example", [RUA, f"bob@{DOMAIN}"],
                   mail)
    wait_delivered(ferry, 2)
    wait_delivered(ferry, 1, f"bob@{DOMAIN}")
    ferry.wait_log(r"result=duplicate .*report_id=dup-1")
    j = reports_json(ferry)
    assert j["reports"] == 1 and j["messages"] == 48


BOMB = gzip.compress(b"<" * (64 << 20))


BAD_CASES = [
    ("truncated gzip", gzip.compress(report_xml("t", records=GOOD))[:-30],
     "gzip", "truncated compressed data"),
    ("gzip bomb", BOMB, "gzip", "output over the limit"),
    ("zip of two files", None, "zip", "exactly one file"),
    ("wrong schema", b"<?xml version='1.0'?><html><body/></html>", "xml",
     "root element is not <feedback>"),
    ("doctype", b"<!DOCTYPE feedback [<!ENTITY a 'aaaa'>]><feedback>&a;"
     b"</feedback>", "xml", "DOCTYPE"),
    ("bad source ip", report_xml("b", records=[
        ("not-an-ip", 1, "none", "pass", "pass", DOMAIN)]), "xml",
     "source_ip"),
    ("not xml", b"\x00\x01\x02 garbage", "xml", "NUL in XML"),
]


# Ids by name: the attachments hold timestamps, and pytest-xdist needs the
# same ids in every worker.
@pytest.mark.parametrize("name,attachment,subtype,reason",
                         [pytest.param(*c, id=c[0]) for c in BAD_CASES])
def test_bad_attachment_still_delivered(ferry, name, attachment, subtype,
                                        reason):
    if attachment is None:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("a.xml", report_xml("z1", records=GOOD))
            z.writestr("b.xml", report_xml("z2", records=GOOD))
        attachment = buf.getvalue()
    send(ferry, report_mail(attachment, subtype, "r." + subtype))
    wait_delivered(ferry, 1)
    assert ferry.wait_log(r"queue dmarc-report rcpt=alice@example.test "
                          r"result=bad reason=.*" + reason.replace(
                              "<", ".").replace(">", "."))
    assert reports_json(ferry)["reports"] == 0
    # The mail itself is in the mailbox, attachment and all.
    assert inbox_count(ferry) == 1


def test_not_hosted_domain_is_not_stored(ferry):
    send(ferry, report_mail(gzip.compress(report_xml(
        "nh", domain="elsewhere.example", records=GOOD)), "gzip", "a.gz",
        domain="elsewhere.example"))
    wait_delivered(ferry, 1)
    assert ferry.wait_log(r"result=not-hosted domain=elsewhere.example")
    assert reports_json(ferry, "elsewhere.example")["reports"] == 0


def test_report_mailboxes_limit_what_is_read(make_ferry):
    srv = make_ferry({"dmarc_report_mailboxes": RUA})
    # To bob, not listed: delivered, not read, even with the Subject.
    send(srv, report_mail(gzip.compress(report_xml("m1", records=GOOD)),
                          "gzip", "a.gz", report_id="m1"), f"bob@{DOMAIN}")
    # To alice, listed: read whatever the Subject says.
    send(srv, report_mail(gzip.compress(report_xml("m2", records=GOOD)),
                          "gzip", "a.gz", report_id="m2",
                          subject="weekly numbers"))
    wait_delivered(srv, 1)
    wait_delivered(srv, 1, f"bob@{DOMAIN}")
    srv.wait_log(r"result=stored .*report_id=m2")
    assert "report_id=m1" not in srv.log_text()
    assert reports_json(srv)["reports"] == 1


def test_reading_off(make_ferry):
    srv = make_ferry({"dmarc_report_ingest": "no"})
    send(srv, report_mail(gzip.compress(report_xml("off", records=GOOD)),
                          "gzip", "a.gz", report_id="off"))
    wait_delivered(srv, 1)
    srv.wait_queue_empty()
    assert "dmarc-report" not in srv.log_text()
    assert reports_json(srv)["reports"] == 0


def test_hostile_strings_are_escaped(ferry):
    org = "evil\x1b[31m\u00e9org"
    send(ferry, report_mail(gzip.compress(report_xml(
        "h1", org=org, records=[("192.0.2.1", 1, "reject", "fail", "fail",
                                 "x\x1b]0;pwn\x07.example.test")])),
        "gzip", "a.gz", org="evil.example", report_id="h1"))
    wait_delivered(ferry, 1)
    ferry.wait_log(r"result=stored .*report_id=h1")
    out = ferry.cli_ok("dmarc", "reports", DOMAIN).stdout
    assert "\x1b" not in out and "\x07" not in out, out
    assert "evil\\x1b[31m\\xc3\\xa9org" in out, out
    j = reports_json(ferry)
    assert j["orgs"][0]["org"] == org
    assert j["sources"][0]["reject"] == 1
    log = ferry.log_text()
    assert "\x1b" not in log


def test_import_maildir_and_files(ferry, tmp_path):
    md = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (md / sub).mkdir(parents=True)
    (md / "cur" / "1.mail:2,S").write_bytes(report_mail(
        gzip.compress(report_xml("i1", records=GOOD)), "gzip", "a.gz"))
    (md / "new" / "2.mail").write_bytes(report_mail(
        zipped("b.xml", report_xml("i2", "Yahoo", records=GOOD[:1])), "zip",
        "b.zip", org="Yahoo"))
    (md / "new" / "3.mail").write_bytes(b"Subject: hello\r\n\r\nhi\r\n")
    (md / "tmp" / "4.mail").write_bytes(b"half written")
    bare = tmp_path / "c.xml.gz"
    bare.write_bytes(gzip.compress(report_xml("i3", "Other",
                                              records=GOOD[2:])))
    r = ferry.cli_ok("dmarc", "import", str(md), str(bare))
    assert "3 stored, 0 duplicates, 1 skipped, 0 bad" in r.stdout, r.stdout
    assert "stored: example.test report i1 from google.com, 3 records, " \
        "48 messages" in r.stdout
    j = reports_json(ferry)
    assert j["reports"] == 3 and j["messages"] == 48 + 40 + 5
    r = ferry.cli_ok("dmarc", "import", str(md))
    assert "0 stored, 2 duplicates, 1 skipped, 0 bad" in r.stdout, r.stdout
    # A bad file: exit status 1, named.
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<feedback><report_metadata>")
    r = ferry.cli("dmarc", "import", str(bad))
    assert r.returncode == 1 and "bad: truncated XML" in r.stdout, r.stdout
    # Usage.
    assert ferry.cli("dmarc", "reports").returncode == 2
    assert ferry.cli("dmarc", "reports", DOMAIN, "--days", "x"
                     ).returncode == 1


def test_store_rows(ferry):
    """The rows as stored: one report row, its records with it."""
    send(ferry, report_mail(gzip.compress(report_xml("s1", records=GOOD)),
                            "gzip", "a.gz", report_id="s1"))
    wait_delivered(ferry, 1)
    ferry.wait_log(r"result=stored .*report_id=s1")
    db = sqlite3.connect(str(ferry.state_dir / "ferry.db"))
    try:
        assert db.execute("SELECT org, report_id, domain FROM "
                          "dmarc_in_reports").fetchall() == \
            [("google.com", "s1", DOMAIN)]
        rows = db.execute("SELECT source_ip, messages, auth_dkim, auth_spf "
                          "FROM dmarc_in_records ORDER BY n").fetchall()
    finally:
        db.close()
    assert rows[0] == ("192.0.2.10", 40, f"{DOMAIN}:s1:pass",
                       f"{DOMAIN}:pass")
    assert len(rows) == 3


def test_prune_old_rows(make_ferry):
    """dmarc_keep: the queue role deletes received reports, recorded
    results and sent marks older than it, shortly after start."""
    srv = make_ferry({"dmarc_keep": "2d"}, start=False)
    now = int(time.time())
    db = sqlite3.connect(str(srv.state_dir / "ferry.db"))
    try:
        for org, rid, received in (("old.example", "o1", now - 3 * DAY),
                                   ("new.example", "n1", now - DAY)):
            db.execute("INSERT INTO dmarc_in_reports (org, report_id, "
                       "domain, email, period_begin, period_end, received, "
                       "p, sp, pct, adkim, aspf) VALUES (?, ?, ?, '', ?, ?, "
                       "?, 'none', 'none', 100, 'r', 'r')",
                       (org, rid, DOMAIN, received - DAY, received,
                        received))
            db.execute("INSERT INTO dmarc_in_records (org, report_id, n, "
                       "source_ip, messages, disposition, dkim, spf, reason, "
                       "header_from, envelope_from, auth_dkim, auth_spf) "
                       "VALUES (?, ?, 0, '192.0.2.1', 5, 'none', 'pass', "
                       "'pass', '', ?, '', '', '')", (org, rid, DOMAIN))
        for at in (now - 3 * DAY, now - 3600):
            db.execute("INSERT INTO dmarc_results (at, policy_domain, "
                       "header_from, source_ip, envelope_from, spf_domain, "
                       "spf_result, dkim, spf_aligned, dkim_aligned, "
                       "disposition, reason, p, sp, pct, adkim, aspf, rua) "
                       "VALUES (?, 'x.example', 'x.example', '192.0.2.1', "
                       "'', '', 'none', '', 0, 0, 'none', '', 'none', 'none',"
                       " 100, 'r', 'r', '')", (at,))
        db.execute("INSERT INTO dmarc_reports (domain, begin, \"end\", "
                   "report_id, sent) VALUES ('x.example', ?, ?, 'r', ?)",
                   (now - 4 * DAY, now - 3 * DAY, now - 3 * DAY))
        db.commit()
    finally:
        db.close()
    assert reports_json(srv, DOMAIN, "--days", "30")["reports"] == 2
    srv.start()
    assert srv.wait_log(r"queue dmarc-prune received=1 results=1 sent=1 "
                        r"keep=172800s", timeout=30)
    j = reports_json(srv, DOMAIN, "--days", "30")
    assert j["reports"] == 1 and j["orgs"][0]["org"] == "new.example"
    db = sqlite3.connect(str(srv.state_dir / "ferry.db"))
    try:
        assert db.execute("SELECT COUNT(*) FROM dmarc_results"
                          ).fetchone()[0] == 1
        assert db.execute("SELECT COUNT(*) FROM dmarc_reports"
                          ).fetchone()[0] == 0
        # The old report's records went with it.
        assert db.execute("SELECT org FROM dmarc_in_records"
                          ).fetchall() == [("new.example",)]
    finally:
        db.close()
