"""UIDs of messages saved while others save and read the same folder.
APPEND numbers its messages by adding lines to the folder's UID list
(no scan) when the session's folder state knows every UID given so far,
and by a scan otherwise.  Several IMAP sessions append and copy at once
while SMTP delivers into new/ and POP3 sessions log in (each login
numbers what it finds): every message must end up with exactly one UID,
the one APPENDUID/COPYUID reported, UIDs must grow in the order the
server handed them out, and POP3's UIDLs must agree with IMAP's UIDs."""

import re
import threading

from test_imap_basic import ALICE, RawIMAP
from test_pop3 import deliver, login as pop_login, pop3_ferry, pop_plain
from conftest import free_port

SESSIONS = 4
EACH = 20


def message(tag, i):
    return (f"From: a@example.test\r\nMessage-ID: <{tag}.{i}@test>\r\n"
            f"Subject: {tag} {i}\r\n\r\nbody {tag} {i}\r\n").encode()


def appender(port, tag, out, errors):
    try:
        with RawIMAP(port) as c:
            c.login()
            if tag == "s0":
                # one session appends to the folder it has selected
                assert c.cmd("s SELECT INBOX")[-1].startswith(b"s OK")
            for i in range(EACH):
                data = message(tag, i)
                c.send(b"a APPEND INBOX {%d+}\r\n" % len(data) + data +
                       b"\r\n")
                r = c.until(b"a")
                m = re.match(rb"a OK \[APPENDUID (\d+) (\d+)\]", r[-1])
                assert m, r
                out.append((f"<{tag}.{i}@test>", int(m.group(2))))
            c.cmd("z LOGOUT")
    except Exception as e:          # reported by the main thread
        errors.append(f"{tag}: {e!r}")


def pop_reader(srv, stop, errors):
    try:
        while not stop.is_set():
            p = pop_plain(srv)
            pop_login(p)
            p.uidl()
            p.quit()
    except Exception as e:
        errors.append(f"pop3: {e!r}")


def uids_by_message_id(port):
    with RawIMAP(port) as c:
        c.login()
        sel = c.cmd("s SELECT INBOX")
        validity = int(re.search(rb"UIDVALIDITY (\d+)", b" ".join(sel))
                       .group(1))
        r = c.cmd("f UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS "
                  "(MESSAGE-ID)])")
        c.cmd("z LOGOUT")
    seen = []
    for i, l in enumerate(r):
        m = re.match(rb"\* (\d+) FETCH \(UID (\d+) ", l)
        if m:
            mid = re.search(rb"<[^>]+>", r[i + 1])
            seen.append((int(m.group(1)), int(m.group(2)),
                         mid.group(0).decode() if mid else None))
    return validity, seen


def test_concurrent_appends_deliveries_and_pop3(make_ferry, tmp_path):
    imap_port = free_port()
    srv = pop3_ferry(make_ferry, tmp_path, plaintext=True, tls=False,
                     imap_listen=f"127.0.0.1:{imap_port}")
    told, errors = {}, []
    stop = threading.Event()
    threads = []
    for k in range(SESSIONS):
        told[f"s{k}"] = []
        threads.append(threading.Thread(
            target=appender, args=(imap_port, f"s{k}", told[f"s{k}"],
                                   errors)))
    threads.append(threading.Thread(target=pop_reader,
                                    args=(srv, stop, errors)))
    for t in threads:
        t.start()
    delivered = deliver(srv, n=10)
    for t in threads[:-1]:
        t.join(120)
    stop.set()
    threads[-1].join(30)
    assert not errors, errors

    validity, seen = uids_by_message_id(imap_port)
    uids = [u for _, u, _ in seen]
    assert [s for s, _, _ in seen] == list(range(1, len(seen) + 1))
    assert uids == sorted(set(uids)), "UIDs repeat or go down"
    assert len(seen) == SESSIONS * EACH + len(delivered)
    by_id = {mid: uid for _, uid, mid in seen}
    assert len(by_id) == len(seen)
    for tag, pairs in told.items():
        assert len(pairs) == EACH
        # a session's own appends get ever larger UIDs
        assert [u for _, u in pairs] == sorted(u for _, u in pairs)
        for mid, uid in pairs:
            assert by_id.get(mid) == uid, (tag, mid, uid, by_id.get(mid))

    # POP3 sees the same messages under the same UIDs
    p = pop_plain(srv)
    pop_login(p)
    _, lines, _ = p.uidl()
    p.quit()
    assert sorted(l.split()[1].decode() for l in lines) == \
        sorted(f"{validity}.{u}" for u in uids)

    # the UID list itself: one line per message, ascending UIDs
    text = (srv.maildir(ALICE) / "ferry-uidlist").read_text()
    rows = [l.split() for l in text.splitlines()[1:]]
    assert [int(r[0]) for r in rows] == uids
    assert len({r[2] for r in rows}) == len(rows)


def test_copy_into_a_folder_others_append_to(make_ferry, tmp_path):
    """COPY numbers its copies the same way: concurrent APPENDs to the
    destination and COPYs into it give every copy its own UID."""
    imap_port = free_port()
    srv = pop3_ferry(make_ferry, tmp_path, plaintext=True, tls=False,
                     imap_listen=f"127.0.0.1:{imap_port}")
    deliver(srv, n=5)
    errors, copied = [], []

    def copier():
        try:
            with RawIMAP(imap_port) as c:
                c.login()
                assert c.cmd("s SELECT INBOX")[-1].startswith(b"s OK")
                for _ in range(10):
                    r = c.cmd("c UID COPY 1:* Archive")
                    m = re.match(rb"c OK \[COPYUID \d+ \S+ (\S+)\]", r[-1])
                    assert m, r
                    copied.append(m.group(1).decode())
                c.cmd("z LOGOUT")
        except Exception as e:
            errors.append(f"copy: {e!r}")

    def archive_appender(out):
        try:
            with RawIMAP(imap_port) as c:
                c.login()
                for i in range(20):
                    data = message("arch", i)
                    c.send(b"a APPEND Archive {%d+}\r\n" % len(data) + data
                           + b"\r\n")
                    r = c.until(b"a")
                    m = re.match(rb"a OK \[APPENDUID \d+ (\d+)\]", r[-1])
                    assert m, r
                    out.append(int(m.group(1)))
                c.cmd("z LOGOUT")
        except Exception as e:
            errors.append(f"append: {e!r}")

    appended = []
    threads = [threading.Thread(target=copier),
               threading.Thread(target=archive_appender, args=(appended,))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors

    def expand(s):
        out = []
        for part in s.split(","):
            a, _, b = part.partition(":")
            out.extend(range(int(a), int(b or a) + 1))
        return out

    reported = [u for s in copied for u in expand(s)] + appended
    assert len(reported) == 10 * 5 + 20
    assert len(set(reported)) == len(reported)
    with RawIMAP(imap_port) as c:
        c.login()
        c.cmd("s SELECT Archive")
        r = c.cmd("f UID SEARCH ALL")
        c.cmd("z LOGOUT")
    have = [int(x) for x in
            re.match(rb"\* SEARCH ?(.*)", r[0]).group(1).split()]
    assert sorted(have) == sorted(reported)
