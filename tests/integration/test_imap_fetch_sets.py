"""Which messages a FETCH names (RFC 9051 section 9, sequence-set): UID
sets and sequence sets, one range or several, reversed ranges, '*' on
either side, numbers past the last UID, on a folder whose UIDs have
gaps.  Each answer is checked against the set's meaning worked out
here, message by message."""

import re

import pytest

from test_imap_basic import RawIMAP, imap_ferry, imap_login
from test_imap_sort import append, msg

MAX = 4294967295


@pytest.fixture
def gapped(make_ferry, tmp_path):
    """A server whose INBOX holds UIDs 1 2 5 6 8 9 10 (3, 4 and 7
    expunged)."""
    srv = imap_ferry(make_ferry, tmp_path, plaintext=True)
    m = imap_login(srv)
    for i in range(10):
        append(m, msg(subject=f"m{i}"))
    m.select("INBOX")
    typ, _ = m.uid("STORE", "3,4,7", "+FLAGS.SILENT", "(\\Deleted)")
    assert typ == "OK"
    typ, _ = m.expunge()
    assert typ == "OK"
    m.logout()
    return srv


UIDS = [1, 2, 5, 6, 8, 9, 10]


def model(spec, keys):
    """The members of keys (ascending) that the set spec names, '*'
    being the largest key."""
    star = keys[-1]
    out = set()
    for part in spec.split(","):
        lo, _, hi = part.partition(":")
        lo = star if lo == "*" else int(lo)
        hi = lo if not hi else (star if hi == "*" else int(hi))
        lo, hi = min(lo, hi), max(lo, hi)
        out |= {k for k in keys if lo <= k <= hi}
    return sorted(out)


def fetched(c, cmd):
    r = c.cmd(f"f {cmd}")
    assert r[-1].startswith(b"f OK"), r
    seqs, uids = [], []
    for l in r[:-1]:
        m = re.match(rb"\* (\d+) FETCH \(.*UID (\d+)", l)
        assert m, l
        seqs.append(int(m.group(1)))
        uids.append(int(m.group(2)))
    return seqs, uids


UID_SETS = ["1:*", "*", "*:1", "3:7", "7:3", "3:4", "4", "5", "11:*",
            "*:11", "1:4294967295", "4294967295", "4294967295:6",
            "2,5:6", "8:*,1", "6:5,9", "3,4,7"]

SEQ_SETS = ["1:*", "*", "*:1", "2:4", "4:2", "7", "3:*", "1,3:4",
            "*:6,1", "5"]


def check_sets(c, uid, specs):
    """Each set in specs, as a UID FETCH (uid) or a FETCH, names the
    messages the set means: by UID, or by sequence number."""
    keys = UIDS if uid else list(range(1, len(UIDS) + 1))
    for spec in specs:
        cmd = f"UID FETCH {spec} (FLAGS)" if uid else f"FETCH {spec} (UID)"
        seqs, uids = fetched(c, cmd)
        want = [keys.index(k) + 1 for k in model(spec, keys)]
        assert seqs == want, spec
        assert uids == [UIDS[s - 1] for s in want], spec


def test_uid_sets_name_the_uids_in_them(gapped):
    with RawIMAP(gapped.imap_port) as c:
        c.login()
        c.cmd("s SELECT INBOX")
        check_sets(c, True, UID_SETS)
        c.cmd("l LOGOUT")


def test_sequence_sets_name_the_messages_in_them(gapped):
    with RawIMAP(gapped.imap_port) as c:
        c.login()
        c.cmd("s SELECT INBOX")
        check_sets(c, False, SEQ_SETS)
        # a number past the last message is an error, not an empty answer
        for spec in ("8", "2:8", "8:*"):
            r = c.cmd(f"b FETCH {spec} (UID)")
            assert r[-1].startswith(b"b BAD"), (spec, r)
        c.cmd("l LOGOUT")


def test_sets_on_an_empty_folder(make_ferry, tmp_path):
    srv = imap_ferry(make_ferry, tmp_path, plaintext=True)
    with RawIMAP(srv.imap_port) as c:
        c.login()
        c.cmd("s SELECT INBOX")
        for spec in ("1:*", "*", "5:9", f"1:{MAX}"):
            assert fetched(c, f"UID FETCH {spec} (FLAGS)") == ([], []), spec
        r = c.cmd("b FETCH 1:* (UID)")
        assert r[-1].startswith(b"b BAD"), r
        c.cmd("l LOGOUT")
