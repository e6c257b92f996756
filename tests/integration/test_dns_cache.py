"""The resolver's answer cache (src/net/dns_answers.c): a good answer is
served by the process itself while its TTL lasts, without asking
libunbound again; a reload makes every cached answer ask again; a record
changed in DNS is seen once the TTL has run out.  Driven through SMTP: an
SPF record (spf_reject_fail = yes, so a fail is a 550 at RCPT) decides
each transaction, and the debug log says which lookups the cache
answered (`dns cached name=... type=...`).  Failures (SERVFAIL,
timeouts) are never cached; NXDOMAIN and no-data answers are, for the
TTL of the zone's SOA, as libunbound keeps them."""

import re

import pytest

from conftest import wait_until
from fakedns import fakedns  # noqa: F401

RCPT = "alice@example.test"


@pytest.fixture
def mx(make_ferry, fakedns):  # noqa: F811
    fakedns.add("long.example", "TXT", "v=spf1 ip4:127.0.0.1 -all", ttl=300)
    fakedns.add("short.example", "TXT", "v=spf1 ip4:127.0.0.1 -all", ttl=2)
    fakedns.add("zero.example", "TXT", "v=spf1 ip4:127.0.0.1 -all", ttl=0)
    srv = make_ferry({"dns_resolvers": f"127.0.0.1:{fakedns.port}",
                      "spf": "yes", "spf_reject_fail": "yes"})
    srv.dns = fakedns
    return srv


def rcpt_code(srv, domain):
    """One transaction from x@domain: the RCPT reply's code (SPF's
    verdict is given there)."""
    with srv.raw() as c:
        c.ehlo()
        c.expect(f"MAIL FROM:<x@{domain}>", 250)
        code = c.cmd(f"RCPT TO:<{RCPT}>").code
        c.cmd("QUIT")
        return code


def cached(srv, domain, since):
    rx = re.compile(r"dns cached name=%s type=TXT" % re.escape(domain))
    return len(rx.findall(srv.log_text()[since:]))


def test_second_lookup_is_answered_from_the_cache(mx):
    at = len(mx.log_text())
    assert rcpt_code(mx, "long.example") == 250
    assert cached(mx, "long.example", at) == 0
    assert rcpt_code(mx, "long.example") == 250
    assert cached(mx, "long.example", at) == 1
    # A name with TTL 0 is never kept.
    assert rcpt_code(mx, "zero.example") == 250
    assert rcpt_code(mx, "zero.example") == 250
    assert cached(mx, "zero.example", 0) == 0


def test_reload_empties_the_cache(mx):
    assert rcpt_code(mx, "long.example") == 250
    assert rcpt_code(mx, "long.example") == 250
    assert cached(mx, "long.example", 0) == 1
    at = len(mx.log_text())
    mx.cli_ok("reload")
    mx.wait_log(r"smtpd reloaded", since=at)
    at = len(mx.log_text())
    assert rcpt_code(mx, "long.example") == 250
    assert cached(mx, "long.example", at) == 0
    # ... and is filled again by that lookup.
    assert rcpt_code(mx, "long.example") == 250
    assert cached(mx, "long.example", at) == 1


def test_changed_record_is_seen_after_its_ttl(mx):
    assert rcpt_code(mx, "short.example") == 250
    mx.dns.replace("short.example", "TXT", "v=spf1 -all", ttl=2)
    # Cached answers stay what they were until the TTL (2 s) runs out;
    # then the new record decides.
    wait_until(lambda: rcpt_code(mx, "short.example") == 550, 15,
               interval=0.2, what="the changed SPF record to be used")
    assert rcpt_code(mx, "short.example") == 550
    assert mx.dns.asked("short.example", "TXT") >= 2


def test_negative_answers_cached_failures_not(mx):
    """A name without TXT records (its SOA says 60 s) is cached as such:
    SPF none both times.  SERVFAIL goes to the resolver each time."""
    mx.dns.add("nospf.example", "MX", "10 mx.nospf.example")
    mx.dns.servfail("broken.example")
    for _ in range(2):
        assert rcpt_code(mx, "nospf.example") == 250
        rcpt_code(mx, "broken.example")
    assert cached(mx, "nospf.example", 0) == 1
    assert cached(mx, "broken.example", 0) == 0
