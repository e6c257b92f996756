"""Client autoconfiguration served by the admin role, fetched as the
clients fetch it: Thunderbird's autoconfig (the well-known path on the
domain, and /mail/config-v1.1.xml on autoconfig.DOMAIN), Outlook's
autodiscover POST on autodiscover.DOMAIN, and the Apple configuration
profile; then the help page.  Every value in the documents is checked
against the listeners of the configuration in force, also after a
reload; hostile requests (oversized or malformed bodies, XML-special
characters in the address, unknown domains, wrong methods) are refused
or escaped.
"""

import plistlib
import urllib.parse
import xml.etree.ElementTree as ET

import pytest

from conftest import DOMAIN, free_port, wait_until
from webclient import Web, admin_ferry

NS_AD = ("{http://schemas.microsoft.com/exchange/autodiscover/"
         "responseschema/2006}")
NS_OL = ("{http://schemas.microsoft.com/exchange/autodiscover/outlook/"
         "responseschema/2006a}")
OUTLOOK_SCHEMA = ("http://schemas.microsoft.com/exchange/autodiscover/"
                  "outlook/responseschema/2006a")


def outlook_request(addr, schema=OUTLOOK_SCHEMA):
    return ('<?xml version="1.0" encoding="utf-8"?>\r\n'
            '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/'
            'autodiscover/outlook/requestschema/2006">\r\n  <Request>\r\n'
            f'    <EMailAddress>{addr}</EMailAddress>\r\n'
            f'    <AcceptableResponseSchema>{schema}'
            '</AcceptableResponseSchema>\r\n  </Request>\r\n'
            '</Autodiscover>\r\n').encode()


def ports_of(value):
    return [int(a.rsplit(":", 1)[1]) for a in value.split(",")]


@pytest.fixture
def srv(make_ferry, tmp_path):
    listeners = {
        "imaps_listen": f"127.0.0.1:{free_port()}",
        "imap_listen": f"127.0.0.1:{free_port()}",
        "pop3s_listen": f"127.0.0.1:{free_port()}",
        "pop3_listen": f"127.0.0.1:{free_port()}",
        "submissions_listen": f"127.0.0.1:{free_port()}",
        "submission_listen": f"127.0.0.1:{free_port()}, "
                             f"127.0.0.1:{free_port()}",
    }
    s = admin_ferry(make_ferry, tmp_path, **listeners)
    s.ports = {k: ports_of(v) for k, v in listeners.items()}
    return s


def fetch(srv, method, path, host, body=None, headers=None):
    w = Web(srv)
    h = {"Host": host}
    if body is not None:
        h["Content-Type"] = "text/xml"
    h.update(headers or {})
    return w.request(method, path, body=body, headers=h)


def thunderbird(srv, addr, well_known=True):
    q = urllib.parse.urlencode({"emailaddress": addr})
    if well_known:
        return fetch(srv, "GET", "/.well-known/autoconfig/mail/"
                     "config-v1.1.xml?" + q, addr.rsplit("@", 1)[1])
    return fetch(srv, "GET", "/mail/config-v1.1.xml?" + q,
                 "autoconfig." + addr.rsplit("@", 1)[1])


def autodiscover(srv, body, path="/autodiscover/autodiscover.xml"):
    return fetch(srv, "POST", path, "autodiscover." + DOMAIN, body=body)


def tb_servers(doc):
    root = ET.fromstring(doc)
    prov = root.find("emailProvider")
    out = []
    for tag in ("incomingServer", "outgoingServer"):
        for s in prov.findall(tag):
            out.append((s.get("type"), s.findtext("hostname"),
                        int(s.findtext("port")), s.findtext("socketType"),
                        s.findtext("username"),
                        s.findtext("authentication")))
    return prov, out


def test_thunderbird_lists_every_listener(srv):
    addr = "alice@" + DOMAIN
    for well_known in (True, False):
        r = thunderbird(srv, addr, well_known)
        assert r.status == 200, r
        assert r.header("Content-Type").startswith("text/xml")
        prov, servers = tb_servers(r.body)
        assert prov.get("id") == DOMAIN
        assert prov.findtext("domain") == DOMAIN
        p = srv.ports
        host = srv.hostname
        want = [("imap", host, p["imaps_listen"][0], "SSL"),
                ("imap", host, p["imap_listen"][0], "STARTTLS"),
                ("pop3", host, p["pop3s_listen"][0], "SSL"),
                ("pop3", host, p["pop3_listen"][0], "STARTTLS"),
                ("smtp", host, p["submissions_listen"][0], "SSL"),
                ("smtp", host, p["submission_listen"][0], "STARTTLS"),
                ("smtp", host, p["submission_listen"][1], "STARTTLS")]
        assert [s[:4] for s in servers] == want
        assert {s[4] for s in servers} == {addr}
        assert {s[5] for s in servers} == {"password-cleartext"}


def test_thunderbird_without_address_uses_the_host(srv):
    r = fetch(srv, "GET", "/mail/config-v1.1.xml", "autoconfig." + DOMAIN)
    assert r.status == 200, r
    prov, servers = tb_servers(r.body)
    assert prov.get("id") == DOMAIN
    assert {s[4] for s in servers} == {"%EMAILADDRESS%"}


def test_documents_follow_a_reload(srv):
    # The host name is applied by a reload (listeners need a restart,
    # as always).
    srv.set_conf(hostname="mail.renamed.test")
    srv.cli_ok("reload")

    def hosts():
        _, servers = tb_servers(thunderbird(srv, "bob@" + DOMAIN).body)
        return {s[1] for s in servers}
    wait_until(lambda: hosts() == {"mail.renamed.test"}, 15,
               what="the new hostname in autoconfig")
    protos = ad_protocols(autodiscover(
        srv, outlook_request("bob@" + DOMAIN)).body)
    assert {p["Server"] for p in protos.values()} == {"mail.renamed.test"}


def ad_protocols(doc):
    root = ET.fromstring(doc)
    assert root.tag == NS_AD + "Autodiscover"
    acct = root.find(NS_OL + "Response").find(NS_OL + "Account")
    assert acct.findtext(NS_OL + "AccountType") == "email"
    assert acct.findtext(NS_OL + "Action") == "settings"
    return {p.findtext(NS_OL + "Type"): {c.tag[len(NS_OL):]: c.text
                                           for c in p}
            for p in acct.findall(NS_OL + "Protocol")}


def test_outlook_autodiscover(srv):
    addr = "alice@" + DOMAIN
    for path in ("/autodiscover/autodiscover.xml",
                 "/Autodiscover/Autodiscover.xml"):
        r = autodiscover(srv, outlook_request(addr), path)
        assert r.status == 200, r
        assert r.header("Content-Type").startswith("application/xml")
        protos = ad_protocols(r.body)
        p = srv.ports
        assert sorted(protos) == ["IMAP", "POP3", "SMTP"]
        for t, key in (("IMAP", "imaps_listen"), ("POP3", "pop3s_listen"),
                       ("SMTP", "submissions_listen")):
            assert protos[t]["Server"] == srv.hostname
            assert int(protos[t]["Port"]) == p[key][0]
            assert protos[t]["SSL"] == "on"
            assert protos[t]["Encryption"] == "SSL"
            assert protos[t]["LoginName"] == addr
            assert protos[t]["AuthRequired"] == "on"
            assert protos[t]["SPA"] == "off"


def test_outlook_starttls_only(make_ferry, tmp_path):
    srv = admin_ferry(make_ferry, tmp_path,
                      imap_listen=f"127.0.0.1:{free_port()}",
                      submission_listen=f"127.0.0.1:{free_port()}")
    protos = ad_protocols(autodiscover(
        srv, outlook_request("bob@" + DOMAIN)).body)
    assert sorted(protos) == ["IMAP", "SMTP"]
    assert protos["IMAP"]["Port"] == srv.conf["imap_listen"].rsplit(":")[1]
    assert protos["IMAP"]["Encryption"] == "TLS"
    assert protos["SMTP"]["Encryption"] == "TLS"


def test_apple_profile(srv):
    addr = "alice@" + DOMAIN
    q = urllib.parse.urlencode({"emailaddress": addr})
    r = fetch(srv, "GET", "/mobileconfig?" + q, "mx.example.test")
    assert r.status == 200, r
    assert r.header("Content-Type") == "application/x-apple-aspen-config"
    assert "attachment" in r.header("Content-Disposition")
    prof = plistlib.loads(r.body)
    assert prof["PayloadType"] == "Configuration"
    assert prof["PayloadVersion"] == 1
    (acct,) = prof["PayloadContent"]
    p = srv.ports
    assert acct["PayloadType"] == "com.apple.mail.managed"
    assert acct["EmailAccountType"] == "EmailTypeIMAP"
    assert acct["EmailAddress"] == addr
    assert acct["IncomingMailServerHostName"] == srv.hostname
    assert acct["IncomingMailServerPortNumber"] == p["imaps_listen"][0]
    assert acct["IncomingMailServerUseSSL"] is True
    assert acct["IncomingMailServerUsername"] == addr
    assert acct["IncomingMailServerAuthentication"] == "EmailAuthPassword"
    assert acct["OutgoingMailServerHostName"] == srv.hostname
    assert acct["OutgoingMailServerPortNumber"] == \
        p["submissions_listen"][0]
    assert acct["OutgoingMailServerUseSSL"] is True
    assert acct["OutgoingMailServerUsername"] == addr
    assert acct["OutgoingPasswordSameAsIncomingPassword"] is True
    # The same UUIDs on a second download: it replaces the profile.
    again = plistlib.loads(fetch(srv, "GET", "/mobileconfig?" + q,
                                 "mx.example.test").body)
    assert again["PayloadUUID"] == prof["PayloadUUID"]
    assert again["PayloadContent"][0]["PayloadUUID"] == acct["PayloadUUID"]


HOSTILE = "<a>&\"'b@" + DOMAIN


def test_hostile_address_is_escaped(srv):
    r = thunderbird(srv, HOSTILE)
    assert r.status == 200, r
    _, servers = tb_servers(r.body)
    assert {s[4] for s in servers} == {HOSTILE}
    body = outlook_request("&lt;a&gt;&amp;&quot;&apos;b@" + DOMAIN)
    protos = ad_protocols(autodiscover(srv, body).body)
    assert protos["IMAP"]["LoginName"] == HOSTILE
    q = urllib.parse.urlencode({"emailaddress": HOSTILE})
    prof = plistlib.loads(fetch(srv, "GET", "/mobileconfig?" + q,
                                DOMAIN).body)
    assert prof["PayloadContent"][0]["EmailAddress"] == HOSTILE
    # An address that tries to close the element and open another stays
    # text inside it.
    inject = "a</username><x>@" + DOMAIN
    r = thunderbird(srv, inject)
    assert r.status == 200, r
    root = ET.fromstring(r.body)
    assert root.find(".//x") is None
    assert {s.findtext("username") for s in root.iter("incomingServer")} \
        == {inject}
    # Addresses that are not addresses are refused before anything is
    # written.
    for bad in ("a b@" + DOMAIN,
                "a\r\nX: y@" + DOMAIN, "a@b@" + DOMAIN, "a@"):
        q = urllib.parse.urlencode({"emailaddress": bad})
        r = fetch(srv, "GET", "/.well-known/autoconfig/mail/"
                  "config-v1.1.xml?" + q, DOMAIN)
        assert r.status in (400, 404), (bad, r)
        assert b"<x>" not in r.body


def test_unknown_domain_is_404(srv):
    assert thunderbird(srv, "a@nowhere.test").status == 404
    assert fetch(srv, "GET", "/mail/config-v1.1.xml",
                 "autoconfig.nowhere.test").status == 404
    assert autodiscover(srv, outlook_request("a@nowhere.test")).status == 404
    q = urllib.parse.urlencode({"emailaddress": "a@nowhere.test"})
    assert fetch(srv, "GET", "/mobileconfig?" + q, DOMAIN).status == 404
    assert fetch(srv, "GET", "/help/nowhere.test", DOMAIN).status == 404


def test_bad_requests(srv):
    ok = outlook_request("alice@" + DOMAIN)
    # Oversized, malformed, entity tricks, another schema, wrong methods.
    assert autodiscover(srv, ok + b" " * 20000).status == 413
    assert autodiscover(srv, b"<Autodiscover><Request>").status == 400
    assert autodiscover(srv, b"").status == 400
    assert autodiscover(srv, b"not xml at all").status == 400
    bomb = (b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e "x">]>'
            b'<Autodiscover><Request><EMailAddress>&e;@' + DOMAIN.encode() +
            b'</EMailAddress></Request></Autodiscover>')
    assert autodiscover(srv, bomb).status == 400
    deep = b"<Autodiscover>" + b"<a>" * 100 + b"</a>" * 100 + \
        b"</Autodiscover>"
    assert autodiscover(srv, deep).status == 400
    assert autodiscover(srv, outlook_request(
        "alice@" + DOMAIN, "http://schemas.microsoft.com/exchange/"
        "autodiscover/mobilesync/responseschema/2006")).status == 404
    assert fetch(srv, "GET", "/autodiscover/autodiscover.xml",
                 "autodiscover." + DOMAIN).status == 405
    assert fetch(srv, "POST", "/mail/config-v1.1.xml",
                 "autoconfig." + DOMAIN, body=b"x").status == 405
    # The server still answers properly afterwards.
    assert autodiscover(srv, ok).status == 200


def test_help_page(srv):
    for path, host in (("/help/" + DOMAIN, "127.0.0.1"),
                       ("/help", "autoconfig." + DOMAIN),
                       ("/help", DOMAIN)):
        r = fetch(srv, "GET", path, host)
        assert r.status == 200, (path, host, r)
        t = r.text
        assert "Mail settings for " + DOMAIN in t
        p = srv.ports
        for key, sec in (("imaps_listen", "SSL/TLS"),
                         ("imap_listen", "STARTTLS"),
                         ("pop3s_listen", "SSL/TLS"),
                         ("submissions_listen", "SSL/TLS")):
            assert ("<td>%d</td><td>%s</td>" % (p[key][0], sec)) in t, key
        extra = p["submission_listen"][1]
        assert ("<td>%d</td><td>STARTTLS</td><td>if your network blocks "
                "the ports above</td>" % extra) in t
        assert "<code>%s</code>" % srv.hostname in t
        assert "name@" + DOMAIN in t
        assert "<script" not in t
    # A hostile name in the path is not echoed as markup.
    r = fetch(srv, "GET", "/help/%3Cscript%3E.test", DOMAIN)
    assert r.status == 404 and "<script>" not in r.text
