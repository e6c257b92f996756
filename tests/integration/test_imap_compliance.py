"""Protocol details that Dovecot's imaptest (test_imaptest.py) found
wrong in Ferry, each pinned down here with raw IMAP so that the fix
cannot regress without a readable failure."""

import re

import pytest

from test_imap_basic import RawIMAP, imap_ferry
from test_pop3 import deliver


@pytest.fixture
def psrv(make_ferry, tmp_path):
    return imap_ferry(make_ferry, tmp_path, plaintext=True, tls=False)


def untagged(lines, word):
    return [l for l in lines if l.startswith(b"* ") and word in l]


def test_new_keyword_is_announced_in_flags_before_use(psrv):
    """RFC 3501 7.2.6: a keyword appears in FETCH FLAGS only after an
    untagged FLAGS has listed it, in the session that stored it and in
    another session that learns of it at NOOP."""
    deliver(psrv, n=2)
    with RawIMAP(psrv.imap_port) as a, RawIMAP(psrv.imap_port) as b:
        a.login()
        b.login()
        r = a.cmd("s1 SELECT INBOX")
        assert b"$hello" not in b"".join(untagged(r, b"FLAGS"))
        b.cmd("s2 SELECT INBOX")
        r = a.cmd("t1 STORE 1 +FLAGS ($hello)")
        assert r[-1].startswith(b"t1 OK"), r
        flags = [i for i, l in enumerate(r) if l.startswith(b"* FLAGS (")]
        fetch = [i for i, l in enumerate(r) if b"FETCH" in l]
        assert flags and fetch and flags[0] < fetch[0], r
        assert b"$hello" in r[flags[0]]
        # the second keyword: FLAGS again; an old one: no FLAGS
        r = a.cmd("t2 STORE 2 +FLAGS ($hello $world)")
        assert any(l.startswith(b"* FLAGS (") and b"$world" in l
                   for l in r), r
        r = a.cmd("t3 STORE 1 -FLAGS ($hello)")
        assert not any(l.startswith(b"* FLAGS (") for l in r), r
        # the other session: FLAGS before the FETCH that uses them
        r = b.cmd("n1 NOOP")
        flags = [i for i, l in enumerate(r) if l.startswith(b"* FLAGS (")]
        fetch = [i for i, l in enumerate(r) if b"$world" in l and
                 b"FETCH" in l]
        assert flags and fetch and flags[0] < fetch[0], r
        assert re.search(rb"\$hello \$world|\$world \$hello", r[flags[0]])
        r = b.cmd("n2 NOOP")
        assert not any(l.startswith(b"* FLAGS (") for l in r), r
