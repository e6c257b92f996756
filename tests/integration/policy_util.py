"""Helpers shared by the inbound-check tests (test_policy*.py,
test_rules.py, test_why.py): a server whose DNS is a FakeDNS, that logs
to a log_file, with a second local domain, and SMTP dialogues that stop
at the first reply that is not what a plain accept would give.

Clients use different loopback source addresses (127.0.0.1, .2, ...)
to look like different hosts; the fake DNS serves their PTR names and
DNSBL entries under the .test zones."""

import base64

from conftest import RawSMTP, make_message

OTHER = "other.test"


def policy_server(make_ferry, dns, start=True, **conf):
    """A server asking `dns` (a FakeDNS), with log_file set, the
    dictionary-attack block off unless asked for, and the domains
    example.test (alice, bob) and other.test (carol)."""
    overrides = {"dns_resolvers": dns.address, "bad_rcpt_limit": "0"}
    overrides.update({k: None if v is None else str(v)
                      for k, v in conf.items()})
    srv = make_ferry(overrides, start=False)
    srv.conf["log_file"] = str(srv.dir / "ferry-file.log")
    srv.write_config()
    srv.add_domain(OTHER)
    srv.add_user("carol@" + OTHER)
    if start:
        srv.start()
    return srv


def rptr(ip, zone=None):
    """"1.0.0.127.in-addr.arpa" or "1.0.0.127.ZONE"."""
    rev = ".".join(reversed(ip.split(".")))
    return f"{rev}.{zone}" if zone else f"{rev}.in-addr.arpa"


def dialogue(srv, rcpts=("alice@example.test",), sender="someone@sender.test",
             helo="client.sender.test", source="127.0.0.1", data=True):
    """Greeting, EHLO, MAIL, RCPTs and (when every RCPT got 250 and data
    is true) DATA.  Returns a dict: greeting, ehlo, mail, rcpts (list of
    replies), data (final reply or None)."""
    out = {"greeting": None, "ehlo": None, "mail": None, "rcpts": [],
           "data": None}
    with RawSMTP(srv.port, source=source) as c:
        out["greeting"] = c.greeting
        if c.greeting is None or c.greeting.code != 220:
            return out
        out["ehlo"] = c.cmd(f"EHLO {helo}")
        if out["ehlo"].code != 250:
            return out
        out["mail"] = c.cmd(f"MAIL FROM:<{sender}>")
        if out["mail"].code != 250:
            return out
        for r in rcpts:
            out["rcpts"].append(c.cmd(f"RCPT TO:<{r}>"))
        if data and any(r.code == 250 for r in out["rcpts"]):
            c.expect("DATA", 354)
            c.send(make_message(sender=sender, to=rcpts[0]) + b".\r\n")
            out["data"] = c.reply()
        c.send(b"QUIT\r\n")
    return out


def rcpt_code(srv, rcpt="alice@example.test", **kw):
    """The RCPT reply of one dialogue (no DATA)."""
    d = dialogue(srv, rcpts=(rcpt,), data=False, **kw)
    assert d["rcpts"], d
    return d["rcpts"][0]


def plain_auth(user, password):
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()
