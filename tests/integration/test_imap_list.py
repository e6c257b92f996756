"""LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819) and CREATE-SPECIAL-USE
(RFC 6154) against a running Ferry, through a raw IMAP client so that the
exact responses (attributes, CHILDINFO, STATUS lines) can be checked:
selection options SUBSCRIBED, REMOTE, RECURSIVEMATCH, SPECIAL-USE; return
options SUBSCRIBED, CHILDREN, SPECIAL-USE, STATUS; several patterns; and
the malformed commands a client could send instead."""

import re

import pytest

from test_imap_basic import ALICE, RawIMAP, imap_ferry, imap_login


@pytest.fixture
def psrv(make_ferry, tmp_path):
    return imap_ferry(make_ferry, tmp_path, plaintext=True)


# what a new user has, subscribed
DEFAULT = {"INBOX", "Sent", "Drafts", "Junk", "Trash", "Archive"}


def raw(srv):
    c = RawIMAP(srv.imap_port)
    c.login()
    return c


def ok(lines):
    assert re.match(rb"^\S+ OK", lines[-1]), lines
    return lines[:-1]


def lists(lines):
    """{name: (attributes, extended data or b"")} of the LIST lines."""
    out = {}
    for l in lines:
        m = re.match(rb'^\* LIST \(([^)]*)\) "/" ("[^"]*"|\S+)(?: (.*))?$', l)
        if m:
            out[m.group(2).strip(b'"').decode()] = (
                m.group(1).decode().split(), m.group(3) or b"")
    return out


def statuses(lines):
    out = {}
    for l in lines:
        m = re.match(rb'^\* STATUS ("[^"]*"|\S+) \((.*)\)$', l)
        if m:
            v = m.group(2).split()
            out[m.group(1).strip(b'"').decode()] = {
                v[i].decode(): int(v[i + 1]) for i in range(0, len(v), 2)}
    return out


def setup_tree(c):
    """Fruit, Fruit/Apple (subscribed), Fruit/Pear, Veg (subscribed),
    and a subscription to a folder that does not exist: Gone/Child."""
    for name in ("Fruit/Apple", "Fruit/Pear", "Veg"):
        ok(c.cmd(f'c CREATE "{name}"'))
    for name in ("Fruit/Apple", "Veg", "Gone/Child"):
        ok(c.cmd(f'c SUBSCRIBE "{name}"'))


def test_capabilities_advertised(psrv):
    c = raw(psrv)
    caps = ok(c.cmd("c CAPABILITY"))[0].split()
    for cap in (b"LIST-EXTENDED", b"LIST-STATUS", b"CREATE-SPECIAL-USE",
                b"SPECIAL-USE", b"CHILDREN"):
        assert cap in caps


def test_basic_list_unchanged(psrv):
    c = raw(psrv)
    setup_tree(c)
    got = lists(ok(c.cmd('l LIST "" "*"')))
    assert "Gone/Child" not in got          # not in a plain LIST
    assert "\\Subscribed" not in got["Veg"][0]
    assert got["Fruit"][0] == ["\\HasChildren"]
    assert got["Sent"][0] == ["\\HasNoChildren", "\\Sent"]
    assert ok(c.cmd('l LIST "" ""')) == [b'* LIST (\\Noselect) "/" ""']


def test_select_subscribed(psrv):
    c = raw(psrv)
    setup_tree(c)
    got = lists(ok(c.cmd('l LIST (SUBSCRIBED) "" "*"')))
    assert set(got) - DEFAULT == {"Fruit/Apple", "Veg", "Gone/Child"}
    assert "\\Subscribed" in got["Veg"][0]
    assert got["Gone/Child"][0] == ["\\NonExistent", "\\Subscribed"]
    # REMOTE is accepted and changes nothing here
    assert lists(ok(c.cmd('l LIST (SUBSCRIBED REMOTE) "" "*"'))) == got


def test_return_subscribed_and_children(psrv):
    c = raw(psrv)
    setup_tree(c)
    got = lists(ok(c.cmd('l LIST "" "%" RETURN (SUBSCRIBED CHILDREN)')))
    assert "\\Subscribed" in got["Veg"][0]
    assert "\\Subscribed" not in got["Fruit"][0]
    assert "\\HasChildren" in got["Fruit"][0]
    assert "\\HasNoChildren" in got["Veg"][0]
    assert "Fruit/Apple" not in got and "Gone" not in got


def test_recursivematch_childinfo(psrv):
    c = raw(psrv)
    setup_tree(c)
    got = lists(ok(c.cmd('l LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')))
    # Fruit is not subscribed but its child is
    assert got["Fruit"] == (["\\HasChildren"],
                            b'("CHILDINFO" ("SUBSCRIBED"))')
    assert got["Veg"][0] == ["\\HasNoChildren", "\\Subscribed"]
    assert got["Veg"][1] == b""
    # the parent of a subscription to nothing is shown as not existing
    assert got["Gone"] == (["\\NonExistent"],
                           b'("CHILDINFO" ("SUBSCRIBED"))')
    assert set(got) - DEFAULT == {"Fruit", "Veg", "Gone"}
    # without RECURSIVEMATCH the parents are not there
    got = lists(ok(c.cmd('l LIST (SUBSCRIBED) "" "%"')))
    assert set(got) - DEFAULT == {"Veg"}
    # a child that matches is listed itself: its parent gets no CHILDINFO
    got = lists(ok(c.cmd('l LIST (SUBSCRIBED RECURSIVEMATCH) "" '
                         '("Fruit" "Fruit/Apple")')))
    assert set(got) == {"Fruit/Apple"}
    got = lists(ok(c.cmd('l LIST (SUBSCRIBED RECURSIVEMATCH) "" "Fruit*"')))
    assert set(got) == {"Fruit/Apple"}


def test_select_special_use(psrv):
    c = raw(psrv)
    setup_tree(c)
    got = lists(ok(c.cmd('l LIST (SPECIAL-USE) "" "*"')))
    assert set(got) == {"Sent", "Drafts", "Junk", "Trash", "Archive"}
    assert "\\Junk" in got["Junk"][0]
    got = lists(ok(c.cmd('l LIST "" "*" RETURN (SPECIAL-USE)')))
    assert "Fruit" in got and "\\Trash" in got["Trash"][0]


def test_multiple_patterns(psrv):
    c = raw(psrv)
    setup_tree(c)
    got = lists(ok(c.cmd('l LIST "" ("Fruit/%" "Veg" inbox)')))
    assert set(got) == {"Fruit/Apple", "Fruit/Pear", "Veg", "INBOX"}
    # a reference applies to every pattern
    got = lists(ok(c.cmd('l LIST "Fruit" ("Apple" "Pe*")')))
    assert set(got) == {"Fruit/Apple", "Fruit/Pear"}


def test_list_status(psrv):
    c = raw(psrv)
    setup_tree(c)
    msg = b"Subject: x\r\n\r\nhello\r\n"
    c.send(b"a APPEND Veg {%d+}\r\n" % len(msg) + msg + b"\r\n")
    assert c.until(b"a")[-1].startswith(b"a OK")
    lines = ok(c.cmd('l LIST "" "*" RETURN (STATUS (MESSAGES UNSEEN '
                     'UIDNEXT SIZE))'))
    st = statuses(lines)
    assert st["Veg"] == {"MESSAGES": 1, "UNSEEN": 1, "UIDNEXT": 2,
                         "SIZE": len(msg)}
    assert st["Fruit/Pear"]["MESSAGES"] == 0
    assert "INBOX" in st
    # each STATUS follows its LIST line
    i = next(i for i, l in enumerate(lines) if l.endswith(b' "/" Veg')
             or l.endswith(b' "/" "Veg"'))
    assert lines[i + 1].startswith(b"* STATUS Veg") or \
        lines[i + 1].startswith(b'* STATUS "Veg"')
    # no STATUS for what is not selectable or does not exist
    lines = ok(c.cmd('l LIST (SUBSCRIBED) "" "*" RETURN (STATUS (MESSAGES))'))
    st = statuses(lines)
    assert set(st) - DEFAULT == {"Fruit/Apple", "Veg"}


def test_create_special_use(psrv):
    c = raw(psrv)
    ok(c.cmd('c CREATE "Old Mail" (USE (\\Archive))'))
    got = lists(ok(c.cmd('l LIST "" "Old Mail"')))
    assert "\\Archive" in got["Old Mail"][0]
    r = c.cmd('c CREATE Other (USE (\\Bogus))')
    assert r[-1].startswith(b"c NO [USEATTR]"), r
    r = c.cmd('c CREATE Other (USE (\\Sent \\Trash))')
    assert r[-1].startswith(b"c NO [USEATTR]"), r
    r = c.cmd('c CREATE Other (FOO (\\Sent))')
    assert r[-1].startswith(b"c BAD"), r
    r = c.cmd('c CREATE Other (USE \\Sent)')
    assert r[-1].startswith(b"c BAD"), r
    assert "Other" not in lists(ok(c.cmd('l LIST "" "*"')))


@pytest.mark.parametrize("cmd", [
    'LIST (BOGUS) "" "*"',
    'LIST (RECURSIVEMATCH) "" "*"',
    'LIST (RECURSIVEMATCH REMOTE) "" "*"',
    'LIST ("SUBSCRIBED") "" "*"',
    'LIST "" ()',
    'LIST "" "*" RETURN',
    'LIST "" "*" RETURN (BOGUS)',
    'LIST "" "*" RETURN (STATUS)',
    'LIST "" "*" RETURN (STATUS (BOGUS))',
    'LIST "" "*" RETURN (STATUS ())',
    'LIST "" "*" RETURN (STATUS (MESSAGES) STATUS (UNSEEN))',
    'LIST "" "*" FOO (CHILDREN)',
    'LIST "" "*" RETURN (CHILDREN) extra',
    'LIST "" ("*" ("x"))',
    'LIST (SUBSCRIBED)',
    'LIST (SUBSCRIBED) ""',
    'LSUB "" ("*")',
    'LSUB (SUBSCRIBED) "" "*"',
])
def test_bad_list_commands(psrv, cmd):
    c = raw(psrv)
    r = c.cmd("b " + cmd)
    assert r[-1].startswith(b"b BAD"), r
    assert not any(l.startswith(b"* LIST") for l in r)
    # the session goes on
    ok(c.cmd("n NOOP"))


def test_too_many_patterns(psrv):
    c = raw(psrv)
    pats = " ".join(f'"p{i}"' for i in range(40))
    r = c.cmd(f'b LIST "" ({pats})')
    assert r[-1].startswith(b"b BAD"), r


def test_undecodable_pattern_matches_nothing(psrv):
    c = raw(psrv)
    assert ok(c.cmd('l LIST "" ("&Jjo" "INBOX")')) == \
        [b'* LIST (\\HasNoChildren) "/" "INBOX"']


def test_wildcard_patterns_cannot_explode(psrv):
    # with backtracking, each "*a" multiplies the work against a long
    # run of "a": 40 of them would not finish in any client's lifetime
    c = raw(psrv)
    ok(c.cmd('c CREATE "' + "a" * 150 + '"'))
    ok(c.cmd('c CREATE "' + "a" * 60 + "/" + "a" * 60 + '"'))
    pat = "*a" * 40 + "b"
    assert lists(ok(c.cmd(f'l LIST "" ({pat} {pat}% %{pat})'))) == {}
    pat = "%a" * 40 + "%"
    got = lists(ok(c.cmd(f'l LIST "" "{pat}"')))
    assert set(got) == {"a" * 150, "a" * 60}
    got = lists(ok(c.cmd('l LIST "" "' + "*" * 500 + '"')))
    assert "a" * 60 + "/" + "a" * 60 in got and "INBOX" in got
    got = lists(ok(c.cmd('l LIST "" "a*/%a"')))
    assert set(got) == {"a" * 60 + "/" + "a" * 60}


def test_imaplib_list_still_works(psrv):
    m = imap_login(psrv)
    typ, data = m.list()
    assert typ == "OK" and any(b"INBOX" in l for l in data)
    m.logout()


def lsubs(lines):
    out = {}
    for l in lines:
        m = re.match(rb'^\* LSUB \(([^)]*)\) "/" ("[^"]*"|\S+)$', l)
        if m:
            out[m.group(2).strip(b'"').decode()] = m.group(1).decode()
    return out


def test_lsub_percent_shows_unsubscribed_parents(psrv):
    """RFC 3501 6.3.9: with "%", a subscribed "p/b" the pattern cannot
    reach shows its parent "p" as \\Noselect; with "*" it is listed
    itself.  The parent may exist (unsubscribed), not exist at all, or
    be subscribed (then it is listed normally, once)."""
    c = raw(psrv)
    for name in ("p", "p/a", "p/b", "q/x/y", "s", "s/t"):
        ok(c.cmd(f'c CREATE "{name}"'))
    for name in ("p/b", "q/x/y", "s", "s/t", "gone/deep"):
        ok(c.cmd(f'u SUBSCRIBE "{name}"'))
    got = lsubs(ok(c.cmd('l LSUB "" "%"')))
    assert got["p"] == "\\Noselect"             # exists, not subscribed
    assert got["q"] == "\\Noselect"             # a folder only by its child
    assert got["gone"] == "\\Noselect"          # subscribed child missing
    assert got["s"] == ""                       # subscribed itself
    assert "p/b" not in got and "s/t" not in got
    got = lsubs(ok(c.cmd('l LSUB "" "q/%"')))
    assert got == {"q/x": "\\Noselect"}, got
    got = lsubs(ok(c.cmd('l LSUB "" "*"')))
    assert "p" not in got and "q" not in got and "q/x" not in got
    assert {"p/b", "q/x/y", "s", "s/t"} <= got.keys()
    ok(c.cmd('u UNSUBSCRIBE "p/b"'))
    got = lsubs(ok(c.cmd('l LSUB "" "%"')))
    assert "p" not in got
    # the list is the same through imaplib
    m = imap_login(psrv)
    typ, data = m.lsub('""', "q/%")
    assert typ == "OK" and data == [b'(\\Noselect) "/" "q/x"'], data
    m.logout()
    c.close()
