"""`ferry quickstart DOMAIN [--hostname H]` (issue 16): the configuration
it writes or edits starts a server that takes mail for the domain, the
postmaster's generated password logs in, the printed records are the
ones to publish, and a second run changes nothing."""

import poplib
import re
from conftest import free_port, make_message


def quickstart(srv, *args):
    return srv.cli("quickstart", *args)


def test_quickstart_then_mail_for_the_domain(make_ferry):
    pop = free_port()
    srv = make_ferry({"hostname": None, "pop3_listen": f"127.0.0.1:{pop}",
                      "auth_plaintext_networks": "127.0.0.0/8"},
                     start=False, accounts=False)
    srv.write_config(["# hostname = old.example"])
    r = quickstart(srv, "Example.ORG", "--hostname", "mx1.example.org")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    conf = srv.conf_path.read_text()
    assert re.search(r"^hostname = mx1\.example\.org$", conf, re.M)
    assert "# hostname = old.example" not in conf
    assert "example.org. IN MX 10 mx1.example.org." in out
    assert 'example.org. IN TXT "v=spf1 mx -all"' in out
    assert re.search(r'^[a-z0-9-]+\._domainkey\.example\.org\. IN TXT '
                     r'\( "v=DKIM1; k=rsa; p=', out, re.M)
    assert '_dmarc.example.org. IN TXT "v=DMARC1; p=none' in out
    assert "_submissions._tcp.example.org. IN SRV 0 1 465 mx1.example.org." in out
    assert "autoconfig.example.org. IN CNAME mx1.example.org." in out
    assert f"{srv.port} SMTP from other servers" in out
    assert f"{pop} POP3" in out
    pw = re.search(r"shown once.*\n  (\S+)\n", out).group(1)
    assert len(pw) == 16

    srv.start()
    with srv.smtp() as s:
        s.sendmail("someone@remote.example", ["postmaster@example.org"],
                   make_message(to="postmaster@example.org"))
        s.sendmail("cron@remote.example", ["root@mx1.example.org",
                                           "abuse@example.org"],
                   make_message(to="root@mx1.example.org"))
    # root@ and abuse@ both reach the postmaster: one copy.
    got = srv.wait_delivered("postmaster@example.org", 2)
    assert len(got) == 2
    with srv.smtp() as s:
        code, text = s.ehlo()
        assert code == 250 and text.startswith(b"mx1.example.org")
    assert srv.cli_ok("dkim", "list").stdout.startswith("example.org ")
    p = poplib.POP3("127.0.0.1", pop, timeout=10)
    p.user("postmaster@example.org")
    p.pass_(pw)
    assert p.stat()[0] == 2
    p.quit()


def test_quickstart_twice_changes_nothing(make_ferry):
    srv = make_ferry(start=False, accounts=False)
    first = quickstart(srv, "example.org", "--hostname", "mx1.example.org")
    assert first.returncode == 0, first.stderr
    second = quickstart(srv, "example.org", "--hostname", "mx1.example.org")
    assert second.returncode == 0, second.stderr
    assert "shown once" not in second.stdout
    assert "password unchanged" in second.stdout
    dkim = re.compile(r"^\S+\._domainkey\.example\.org\. IN TXT .*$", re.M)
    assert dkim.search(first.stdout).group(0) == dkim.search(second.stdout).group(0)
    assert srv.cli_ok("dkim", "list").stdout.count("example.org ") == 1
    assert srv.conf_path.read_text().count("hostname = ") == 1


def test_quickstart_without_hostname_uses_mail_dot_domain(make_ferry):
    srv = make_ferry({"hostname": None}, start=False, accounts=False)
    r = quickstart(srv, "example.net")
    assert r.returncode == 0, r.stderr
    name = srv.conf_path.read_text()
    # The test machine's host name may or may not be a full name.
    m = re.search(r"^hostname = (\S+)$", name, re.M)
    assert m and "." in m.group(1)
    assert f"example.net. IN MX 10 {m.group(1)}." in r.stdout


def test_quickstart_bad_input(make_ferry):
    srv = make_ferry(start=False, accounts=False)
    before = srv.conf_path.read_text()
    for args, code, why in [((), 2, "usage"),
                            (("example.org", "--host"), 2, "usage"),
                            (("not a domain",), 1, "not a domain"),
                            (("localhost",), 1, "not a domain"),
                            (("example.org", "--hostname", "bad host"), 1,
                             "not a full host name"),
                            (("example.org", "--hostname", "single"), 1,
                             "not a full host name")]:
        r = quickstart(srv, *args)
        assert r.returncode == code, (args, r.stderr)
        assert why in r.stderr
    assert srv.conf_path.read_text() == before
