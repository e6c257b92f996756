"""QUOTA (RFC 9208) and APPENDLIMIT (RFC 7889) against a running Ferry:
GETQUOTA/GETQUOTAROOT report the user's Maildir++ quota as STORAGE in KiB
and follow usage, SETQUOTA is refused, APPEND/COPY/MOVE over the quota get
NO [OVERQUOTA] and change nothing, APPENDLIMIT is the configured
message_size_limit and an APPEND above it gets NO [TOOBIG]; malformed
quota commands get BAD and the session goes on."""

import re

import pytest

from test_imap_basic import RawIMAP, imap_ferry

CAROL = "carol@example.test"


@pytest.fixture
def qsrv(make_ferry, tmp_path):
    srv = imap_ferry(make_ferry, tmp_path, plaintext=True,
                     message_size_limit="30000")
    srv.add_user(CAROL, quota="20K")
    return srv


def raw(srv, user=CAROL):
    c = RawIMAP(srv.imap_port)
    c.login(user)
    return c


def ok(lines):
    assert re.match(rb"^\S+ OK", lines[-1]), lines
    return lines[:-1]


def append(c, folder, size, tag="a"):
    body = b"x" * max(0, size - 40)
    msg = (b"Subject: q\r\n\r\n" + body + b"\r\n")[:size]
    c.send(b"%s APPEND %s {%d+}\r\n" % (tag.encode(), folder.encode(),
                                         len(msg)) + msg + b"\r\n")
    return c.until(tag.encode())


def storage(lines):
    for l in lines:
        m = re.match(rb'^\* QUOTA "" \(STORAGE (\d+) (\d+)\)$', l)
        if m:
            return int(m.group(1)), int(m.group(2))
    return None


def test_capabilities(qsrv):
    c = raw(qsrv)
    caps = ok(c.cmd("c CAPABILITY"))[0].split()
    assert b"QUOTA" in caps and b"QUOTA=RES-STORAGE" in caps
    assert b"QUOTASET" not in caps
    assert b"APPENDLIMIT=30000" in caps


def test_getquotaroot_and_getquota_follow_usage(qsrv):
    c = raw(qsrv)
    r = ok(c.cmd("q GETQUOTAROOT INBOX"))
    assert r[0] == b'* QUOTAROOT "INBOX" ""'
    assert storage(r) == (0, 20)
    ok(append(c, "INBOX", 5000))
    ok(append(c, "Sent", 3000))
    used, limit = storage(ok(c.cmd('q GETQUOTA ""')))
    assert limit == 20 and used == 8     # ceil(8000 / 1024)
    r = ok(c.cmd("q GETQUOTAROOT Sent"))
    assert r[0] == b'* QUOTAROOT "Sent" ""' and storage(r) == (8, 20)


def test_user_without_quota_has_no_root(qsrv):
    c = raw(qsrv, user="alice@example.test")
    assert ok(c.cmd("q GETQUOTAROOT INBOX")) == [b'* QUOTAROOT "INBOX"']
    r = c.cmd('q GETQUOTA ""')
    assert r[-1].startswith(b"q NO [NONEXISTENT]"), r


def test_quota_errors(qsrv):
    c = raw(qsrv)
    r = c.cmd("q GETQUOTAROOT Nowhere")
    assert r[-1].startswith(b"q NO [NONEXISTENT]"), r
    r = c.cmd('q GETQUOTA "other"')
    assert r[-1].startswith(b"q NO [NONEXISTENT]"), r
    for good in ('"" (STORAGE 100000)', '"" ()', '"" (STORAGE 1 MESSAGE 5)'):
        r = c.cmd(f"q SETQUOTA {good}")
        assert r[-1].startswith(b"q NO [NOPERM]"), (good, r)
    assert storage(ok(c.cmd('q GETQUOTA ""')))[1] == 20
    for bad in ("GETQUOTA", 'GETQUOTA "" x', "GETQUOTA (x)",
                "GETQUOTAROOT", "GETQUOTAROOT INBOX Sent",
                "GETQUOTAROOT (INBOX)", 'SETQUOTA ""',
                'SETQUOTA "" STORAGE', 'SETQUOTA "" (STORAGE)',
                'SETQUOTA "" (STORAGE x)', 'SETQUOTA "" (STORAGE -1)',
                'SETQUOTA "" ("STORAGE" 10)', 'SETQUOTA "" ((STORAGE) 1)',
                'SETQUOTA "" (STORAGE 99999999999999999999)',
                'SETQUOTA "" (STORAGE 1 MESSAGE)'):
        r = c.cmd("b " + bad)
        assert r[-1].startswith(b"b BAD"), (bad, r)
    ok(c.cmd("n NOOP"))


def test_quota_before_login_is_refused(qsrv):
    c = RawIMAP(qsrv.imap_port)
    r = c.cmd("q GETQUOTAROOT INBOX")
    assert r[-1].startswith(b"q BAD"), r


def test_over_quota_append_copy_move(qsrv):
    c = raw(qsrv)
    ok(append(c, "INBOX", 12000))
    r = append(c, "INBOX", 12000)
    assert r[-1].startswith(b"a NO [OVERQUOTA]"), r
    ok(c.cmd("s SELECT INBOX"))
    r = c.cmd("c COPY 1 Archive")
    assert r[-1].startswith(b"c NO [OVERQUOTA]"), r
    st = ok(c.cmd("s STATUS Archive (MESSAGES)"))
    assert st[0].endswith(b"(MESSAGES 0)")
    assert storage(ok(c.cmd('q GETQUOTA ""')))[0] == 12
    # a MOVE within the same quota root adds nothing and works
    ok(c.cmd("m MOVE 1 Archive"))
    st = ok(c.cmd("s STATUS Archive (MESSAGES)"))
    assert st[0].endswith(b"(MESSAGES 1)")
    assert storage(ok(c.cmd('q GETQUOTA ""')))[0] == 12


def test_appendlimit(qsrv):
    c = raw(qsrv, user="alice@example.test")
    st = ok(c.cmd("s STATUS INBOX (MESSAGES APPENDLIMIT)"))
    assert st[0] == b'* STATUS "INBOX" (MESSAGES 0 APPENDLIMIT 30000)'
    ok(append(c, "INBOX", 30000))
    # a synchronising literal over the limit is refused before its data
    c.send(b"t APPEND INBOX {30001}\r\n")
    r = c.until(b"t")
    assert r[-1].startswith(b"t NO [TOOBIG]"), r
    ok(c.cmd("n NOOP"))
    st = ok(c.cmd("s STATUS INBOX (MESSAGES)"))
    assert st[0].endswith(b"(MESSAGES 1)")
    # a non-synchronising one cannot be skipped: NO, then the door
    c.send(b"u APPEND INBOX {30001+}\r\n")
    r = c.until(b"u")
    assert r[-1].startswith(b"u NO [TOOBIG]"), r
    assert c.line().startswith(b"* BYE")
