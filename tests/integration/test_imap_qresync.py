"""QRESYNC (RFC 7162) against a running Ferry: ENABLE QRESYNC, SELECT
with the QRESYNC parameter after messages were expunged by another IMAP
session, by POP3 DELE and by a file removed by hand, VANISHED (EARLIER)
ranges, UID FETCH (CHANGEDSINCE n VANISHED), VANISHED instead of
EXPUNGE once enabled, [CLOSED] on a mailbox switch, the history lost
with the index, and malformed parameters."""

import re

import pytest

from conftest import free_port, mailbox_ferry, wait_until, tcp_listening
from test_imap_basic import RawIMAP
from test_pop3 import deliver, pop_plain, login as pop_login


@pytest.fixture
def qsrv(make_ferry, tmp_path):
    pop3 = free_port()
    srv = mailbox_ferry(make_ferry, tmp_path, "imap", plaintext=True,
                        tls=False, pop3_listen=f"127.0.0.1:{pop3}")
    srv.pop3_port = pop3
    wait_until(lambda: tcp_listening(pop3), 10, what="the POP3 listener")
    return srv


def session(srv, enable=True):
    c = RawIMAP(srv.imap_port)
    c.login()
    if enable:
        r = c.cmd("e ENABLE QRESYNC")
        assert r == [b"* ENABLED QRESYNC", b"e OK Enabled"], r
    return c


def code(lines, name):
    for l in lines:
        m = re.search(rb"\[" + name.encode() + rb" (\d+)\]", l)
        if m:
            return int(m.group(1))
    raise AssertionError(f"no {name} in {lines!r}")


def state(c, box="INBOX"):
    """Selects box; returns (uidvalidity, highestmodseq, uids)."""
    r = c.cmd(f"s SELECT {box}")
    assert r[-1].startswith(b"s OK"), r
    uids = uid_list(c)
    return code(r, "UIDVALIDITY"), code(r, "HIGHESTMODSEQ"), uids


def uid_list(c):
    r = c.cmd("u UID SEARCH ALL")
    return [int(x) for x in r[0].split()[2:]]


def vanished(lines, earlier=True):
    pre = b"* VANISHED (EARLIER) " if earlier else b"* VANISHED "
    out = [l[len(pre):] for l in lines if l.startswith(pre) and
           (earlier or not l.startswith(b"* VANISHED (EARLIER)"))]
    assert len(out) <= 1, lines
    return expand(out[0]) if out else []


def expand(s):
    out = []
    for part in s.decode().split(","):
        lo, _, hi = part.partition(":")
        lo, hi = int(lo), int(hi or lo)
        out.extend(range(min(lo, hi), max(lo, hi) + 1))
    return out


def fetches(lines):
    """{uid: (flags, modseq)} of the untagged FETCH lines."""
    out = {}
    for l in lines:
        m = re.match(rb"\* \d+ FETCH \((.*)\)$", l)
        if not m:
            continue
        body = m.group(1)
        uid = int(re.search(rb"UID (\d+)", body).group(1))
        flags = re.search(rb"FLAGS \(([^)]*)\)", body).group(1).split()
        modseq = int(re.search(rb"MODSEQ \((\d+)\)", body).group(1))
        out[uid] = (flags, modseq)
    return out


def test_resync_after_another_session_expunged(qsrv):
    deliver(qsrv, n=6)
    a = session(qsrv)
    uv, hms, uids = state(a)
    assert len(uids) == 6
    a.cmd("l LOGOUT")

    b = session(qsrv, enable=False)
    state(b)
    u = uids
    assert b.cmd(f"t UID STORE {u[1]},{u[3]} +FLAGS.SILENT (\\Deleted)")[-1] \
        .startswith(b"t OK")
    r = b.cmd("x EXPUNGE")
    assert r[-1].startswith(b"x OK")
    assert [l for l in r if l.endswith(b"EXPUNGE")][:1], r  # not enabled
    assert b.cmd(f"f UID STORE {u[5]} +FLAGS.SILENT (\\Flagged)")[-1] \
        .startswith(b"f OK")
    b.cmd("l LOGOUT")

    c = session(qsrv)
    r = c.cmd(f"s SELECT INBOX (QRESYNC ({uv} {hms} {u[0]}:{u[5]}))")
    assert r[-1].startswith(b"s OK [READ-WRITE]"), r
    assert code(r, "HIGHESTMODSEQ") > hms
    assert vanished(r) == [u[1], u[3]]
    f = fetches(r)
    assert list(f) == [u[5]], r
    assert b"\\Flagged" in f[u[5]][0] and f[u[5]][1] > hms
    # only the known UIDs are reported
    r = c.cmd(f"s2 EXAMINE INBOX (QRESYNC ({uv} {hms} {u[0]}:{u[2]}))")
    assert r[0] == b"* OK [CLOSED] Previous mailbox closed", r
    assert vanished(r) == [u[1]]
    # nothing changed since the current HIGHESTMODSEQ
    now = code(r, "HIGHESTMODSEQ")
    r = c.cmd(f"s3 SELECT INBOX (QRESYNC ({uv} {now}))")
    assert vanished(r) == [] and fetches(r) == {}, r
    # another UIDVALIDITY: a plain SELECT answer
    r = c.cmd(f"s4 SELECT INBOX (QRESYNC ({uv + 1} {hms} 1:100))")
    assert r[-1].startswith(b"s4 OK")
    assert vanished(r) == [] and fetches(r) == {}, r
    # sequence-match data is accepted (a hint)
    r = c.cmd(f"s5 SELECT INBOX (QRESYNC ({uv} {hms} {u[0]}:{u[5]} "
              f"(1:6 {u[0]}:{u[5]})))")
    assert r[-1].startswith(b"s5 OK") and vanished(r) == [u[1], u[3]], r


def test_resync_after_pop3_dele(qsrv):
    deliver(qsrv, n=3)
    a = session(qsrv)
    uv, hms, uids = state(a)
    a.cmd("l LOGOUT")
    p = pop_plain(qsrv)
    pop_login(p)
    p.dele(2)
    p.quit()
    c = session(qsrv)
    r = c.cmd(f"s SELECT INBOX (QRESYNC ({uv} {hms} 1:*))".replace(
        "1:*", f"1:{uids[-1]}"))
    assert code(r, "HIGHESTMODSEQ") > hms, r
    assert vanished(r) == [uids[1]], r
    assert uid_list(c) == [uids[0], uids[2]]


def test_resync_after_a_file_removed_by_hand(qsrv):
    deliver(qsrv, n=3)
    a = session(qsrv)
    uv, hms, uids = state(a)
    a.cmd("l LOGOUT")
    md = qsrv.maildir("alice@example.test")
    files = sorted((md / "cur").iterdir()) + sorted((md / "new").iterdir())
    files = [f for f in files if f.is_file()]
    assert len(files) == 3
    files[0].unlink()
    c = session(qsrv)
    r = c.cmd(f"s SELECT INBOX (QRESYNC ({uv} {hms} {uids[0]}:{uids[-1]}))")
    assert code(r, "HIGHESTMODSEQ") > hms, r
    left = uid_list(c)
    assert len(left) == 2
    assert vanished(r) == sorted(set(uids) - set(left)), r


def test_vanished_replaces_expunge_once_enabled(qsrv):
    deliver(qsrv, n=5)
    a = session(qsrv)
    uv, hms, u = state(a)
    b = session(qsrv, enable=False)
    state(b)
    b.cmd(f"t UID STORE {u[1]}:{u[3]} +FLAGS.SILENT (\\Deleted)")
    r = b.cmd("x EXPUNGE")
    assert r[:3] == [b"* 4 EXPUNGE", b"* 3 EXPUNGE", b"* 2 EXPUNGE"], r
    r = a.cmd("n NOOP")
    assert vanished(r, earlier=False) == u[1:4], r
    assert not [l for l in r if l.endswith(b"EXPUNGE")], r
    # its own EXPUNGE is reported the same way
    a.cmd(f"t UID STORE {u[4]} +FLAGS.SILENT (\\Deleted)")
    r = a.cmd("x EXPUNGE")
    assert r == [b"* VANISHED %d" % u[4], b"x OK EXPUNGE completed"], r
    # UID FETCH (CHANGEDSINCE n VANISHED)
    r = a.cmd(f"f UID FETCH 1:* (FLAGS) (CHANGEDSINCE {hms} VANISHED)")
    assert r[-1].startswith(b"f OK"), r
    assert vanished(r) == u[1:], r
    assert fetches(r) == {}, r      # u[0] did not change
    a.cmd(f"g UID STORE {u[0]} +FLAGS.SILENT (\\Seen)")
    r = a.cmd(f"f2 UID FETCH {u[0]}:{u[2]} (FLAGS) (CHANGEDSINCE {hms} "
              "VANISHED)")
    assert vanished(r) == u[1:3], r
    assert list(fetches(r)) == [u[0]], r


def test_lost_index_reports_every_missing_uid(qsrv):
    deliver(qsrv, n=5)
    a = session(qsrv)
    uv, hms, u = state(a)
    a.cmd(f"t UID STORE {u[2]} +FLAGS.SILENT (\\Deleted)")
    a.cmd("x EXPUNGE")
    a.cmd("l LOGOUT")
    qsrv.stop()
    md = qsrv.maildir("alice@example.test")
    for f in md.glob("ferry-index.sqlite*"):
        f.unlink()
    qsrv.start()
    wait_until(lambda: tcp_listening(qsrv.imap_port), 10, what="IMAP")
    c = session(qsrv)
    # u[2] was expunged before the rebuild; the row is gone, but the UID
    # is missing from the folder, and UIDs never handed out are left out
    r = c.cmd(f"s SELECT INBOX (QRESYNC ({uv} {hms} 1:{u[-1] + 50}))")
    assert r[-1].startswith(b"s OK"), r
    assert vanished(r) == sorted(set(range(1, u[-1] + 1)) - set(u) |
                                 {u[2]}), r
    # the client's sequence-match data narrows nothing it should not
    r = c.cmd(f"s2 SELECT INBOX (QRESYNC ({uv} {hms} {u[0]}:{u[-1]} "
              f"({1}:{2} {u[0]}:{u[1]})))")
    assert vanished(r) == [u[2]], r


def test_closed_on_switch_only(qsrv):
    c = session(qsrv, enable=False)
    r = c.cmd("s SELECT INBOX")
    assert not [l for l in r if b"[CLOSED]" in l]
    r = c.cmd("s2 EXAMINE Sent")
    assert r[0] == b"* OK [CLOSED] Previous mailbox closed", r
    assert c.cmd("u UNSELECT")[-1].startswith(b"u OK")
    r = c.cmd("s3 SELECT INBOX")
    assert not [l for l in r if b"[CLOSED]" in l]


def test_bad_qresync_input(qsrv):
    deliver(qsrv, n=2)
    c = session(qsrv, enable=False)
    uv, hms, u = state(c)
    r = c.cmd(f"a SELECT INBOX (QRESYNC ({uv} {hms}))")
    assert r[-1].startswith(b"a BAD") and b"ENABLE" in r[-1], r
    r = c.cmd(f"b UID FETCH 1:* FLAGS (CHANGEDSINCE 1 VANISHED)")
    assert r[-1].startswith(b"b BAD"), r
    # ENABLE with unknown names enables nothing and is not an error
    assert c.cmd("c ENABLE X-NOTHING FOO=BAR") == [b"* ENABLED",
                                                   b"c OK Enabled"]
    assert c.cmd('c2 ENABLE "QRESYNC"')[-1].startswith(b"c2 BAD")
    assert c.cmd("c3 ENABLE")[-1].startswith(b"c3 BAD")
    r = c.cmd("c4 ENABLE QRESYNC QRESYNC CONDSTORE")
    assert r[0] == b"* ENABLED CONDSTORE QRESYNC", r
    bad = [
        "(QRESYNC)", "(QRESYNC ())", f"(QRESYNC ({uv}))",
        f"(QRESYNC (0 {hms}))", f"(QRESYNC ({uv} 0))",
        f"(QRESYNC ({uv} x))", f"(QRESYNC (-1 {hms}))",
        f"(QRESYNC ({uv} 9223372036854775808))",
        f"(QRESYNC (4294967296 {hms}))",
        f"(QRESYNC ({uv} {hms} 1:*))", f"(QRESYNC ({uv} {hms} $))",
        f"(QRESYNC ({uv} {hms} 0:3))", f"(QRESYNC ({uv} {hms} 1,,2))",
        f"(QRESYNC ({uv} {hms} 1:5 (1:3 1:2)))",
        f"(QRESYNC ({uv} {hms} 1:5 (1:3)))",
        f"(QRESYNC ({uv} {hms} 1:5 (1:* 1:2)))",
        f"(QRESYNC ({uv} {hms} 1:5 1:5))",
        f"(QRESYNC ({uv} {hms} 1:5 (1 1) x))",
        f"(QRESYNC ({uv} {hms}) QRESYNC ({uv} {hms}))",
        "(CONDSTORE CONDSTORE)", "(FOO)", "()", "QRESYNC",
        f'(QRESYNC ("{uv}" {hms}))',
    ]
    for i, arg in enumerate(bad):
        if i % 10 == 9:         # twenty BAD replies end a session
            c.cmd("l LOGOUT")
            c = session(qsrv)
        r = c.cmd(f"d{i} SELECT INBOX {arg}")
        assert r[-1].startswith(b"d%d BAD" % i), (arg, r)
    # a failed SELECT leaves nothing selected (and [CLOSED] is not sent
    # for a command that was refused before closing anything)
    assert c.cmd("f FETCH 1 FLAGS")[-1].startswith(b"f BAD")
    # huge ranges are fine and cheap
    r = c.cmd(f"h SELECT INBOX (QRESYNC ({uv} 1 1:4294967294 "
              "(1:4000000000 1:4000000000)))")
    assert r[-1].startswith(b"h OK"), r
    assert vanished(r) == [], r
    r = c.cmd(f"h2 UID FETCH 1:4294967294 (FLAGS) (CHANGEDSINCE 1 "
              "VANISHED)")
    assert r[-1].startswith(b"h2 OK"), r
    assert c.cmd("h3 FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)")[-1] \
        .startswith(b"h3 BAD")
    assert c.cmd("h4 UID FETCH 1:* (FLAGS) (VANISHED)")[-1] \
        .startswith(b"h4 BAD")


def test_condstore_enabling_command_reports_highestmodseq(qsrv):
    deliver(qsrv, n=3)
    c = session(qsrv, enable=False)
    uv, hms, u = state(c)
    r = c.cmd("f FETCH 1 (FLAGS)")
    assert not [l for l in r if b"HIGHESTMODSEQ" in l or b"MODSEQ" in l], r
    # the first CONDSTORE-enabling command in the mailbox says where
    # MODSEQ stands, once (RFC 7162 3.1.8)
    r = c.cmd("g FETCH 1 (MODSEQ)")
    assert r[0] == b"* OK [HIGHESTMODSEQ %d] Highest" % hms, r
    assert re.match(rb"\* 1 FETCH \(MODSEQ \(\d+\)\)$", r[1]), r
    r = c.cmd("h FETCH 2 (MODSEQ)")
    assert not [l for l in r if b"HIGHESTMODSEQ" in l], r
    # ESEARCH MODSEQ: of the returned message for MIN/MAX, else the highest
    c.cmd("s1 STORE 1 +FLAGS.SILENT (\\Seen)")
    c.cmd("s3 STORE 3 +FLAGS.SILENT (\\Seen)")
    c.cmd("s2 STORE 2 +FLAGS.SILENT (\\Seen)")
    ms = {int(m.group(1)): int(m.group(2)) for m in
          (re.match(rb"\* (\d+) FETCH \(MODSEQ \((\d+)\)\)", l) for l in
           c.cmd("m FETCH 1:3 (MODSEQ)")) if m}
    assert ms[2] > ms[3] > ms[1], ms
    r = c.cmd("e1 SEARCH RETURN (MIN) MODSEQ 1")
    assert r[0] == b'* ESEARCH (TAG "e1") MIN 1 MODSEQ %d' % ms[1], r
    r = c.cmd("e2 SEARCH RETURN (MAX) MODSEQ 1")
    assert r[0] == b'* ESEARCH (TAG "e2") MAX 3 MODSEQ %d' % ms[3], r
    r = c.cmd("e3 SEARCH RETURN (MIN MAX) MODSEQ 1")
    assert r[0] == b'* ESEARCH (TAG "e3") MIN 1 MAX 3 MODSEQ %d' % ms[3], r
    r = c.cmd("e4 UID SEARCH RETURN (MAX COUNT) MODSEQ 1")
    assert r[0] == b'* ESEARCH (TAG "e4") UID MAX %d COUNT 3 MODSEQ %d' % (
        u[2], ms[2]), r
