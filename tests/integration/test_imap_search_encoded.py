"""SEARCH on header fields as a client shows them: RFC 2047 encoded
words in Subject, From and other fields are decoded before matching, and
the comparison folds case beyond ASCII (Latin-1, Latin Extended-A,
Greek, Cyrillic).  Roundcube's quick search sends exactly these
(`UID SEARCH CHARSET UTF-8 OR HEADER SUBJECT {n+} ... HEADER FROM ...`);
without decoding, nothing with an accent in it was ever found.  Mail
comes in over SMTP; imaplib sends the UTF-8 strings as literals."""

import pytest

from test_imap_basic import RawIMAP, imap_ferry, imap_login
from test_pop3 import deliver

MESSAGES = [
    # (Subject as sent, From as sent)
    ("=?utf-8?b?R3LDvMOfZSBtaXQgQW5oYW5nIOKAkyByw6lzdW3DqQ==?=",
     "=?utf-8?q?J=C3=B6rg_M=C3=BCller?= <joerg@remote.example>"),
    ("=?iso-8859-1?q?Re=3A_=C4pfel_und_Birnen?=",
     "Anna <anna@remote.example>"),
    ("=?utf-8?q?=D0=9F=D1=80=D0=B8=D0=B2=D0=B5=D1=82?=\r\n"
     " =?utf-8?q?_=D0=BC=D0=B8=D1=80?=",
     "=?utf-8?q?=C5=81ukasz?= <lukasz@remote.example>"),
    ("Plain ASCII subject", "plain@remote.example"),
]


@pytest.fixture
def srv(make_ferry, tmp_path):
    s = imap_ferry(make_ferry, tmp_path, plaintext=True)
    for subject, frm in MESSAGES:
        deliver(s, subject=subject,
                extra_headers=(f"Reply-To: {frm}",))
    return s


def search(m, *criteria, literal=None):
    """UID SEARCH CHARSET UTF-8 criteria..., the last one sent as a
    literal when given; returns the UIDs found."""
    if literal is not None:
        m.literal = literal.encode("utf-8")
    typ, data = m.uid("SEARCH", "CHARSET", "UTF-8", *criteria)
    assert typ == "OK", data
    return [int(x) for x in data[0].split()]


@pytest.mark.parametrize("key,text,uids", [
    ("SUBJECT", "Grüße", [1]),
    ("SUBJECT", "grüsse", []),                  # no ß/ss equivalence
    ("SUBJECT", "GRÜSSE", []),
    ("SUBJECT", "GRÜßE MIT", [1]),              # Latin-1 capitals fold
    ("SUBJECT", "Anhang – RÉSUMÉ", [1]),        # a dash outside Latin-1
    ("SUBJECT", "äpfel", [2]),                  # ISO-8859-1 word
    ("SUBJECT", "Re: Äpfel und", [2]),
    ("SUBJECT", "привет мир", [3]),             # two words, folded line
    ("SUBJECT", "ПРИВЕТ", [3]),                 # Cyrillic capitals fold
    ("SUBJECT", "ascii SUBJECT", [4]),
    ("SUBJECT", "=?utf-8?", [1, 3]),            # as written still matches
    ("SUBJECT", "Birnen und", []),
    ("HEADER REPLY-TO", "Müller", [1]),
    ("HEADER REPLY-TO", "MÜLLER", [1]),
    ("HEADER REPLY-TO", "łukasz", [3]),          # Latin Extended-A folds
    ("HEADER REPLY-TO", "joerg@remote", [1]),
])
def test_search_decodes_encoded_words(srv, key, text, uids):
    m = imap_login(srv)
    m.select("INBOX")
    assert search(m, *key.split(), literal=text) == uids
    m.logout()


def test_roundcube_quick_search(srv):
    """Roundcube's form of the search, byte for byte: OR of two HEADER
    keys with non-synchronising UTF-8 literals, answered with ESEARCH."""
    word = "Grüße".encode()
    with RawIMAP(srv.imap_port) as c:
        c.login()
        assert c.cmd("s1 SELECT INBOX")[-1].startswith(b"s1 OK")
        lit = b"{%d+}\r\n%s" % (len(word), word)
        r = c.cmd(b"s2 UID SEARCH RETURN (ALL) CHARSET UTF-8 OR HEADER SUBJECT "
                  + lit + b" HEADER FROM " + lit)
        assert r == [b'* ESEARCH (TAG "s2") UID ALL 1', r[-1]], r
        assert r[-1].startswith(b"s2 OK"), r


def test_search_invalid_utf8_needle(srv):
    """A needle that is not UTF-8 under CHARSET UTF-8 finds nothing and
    the session goes on (no crash, no hang)."""
    m = imap_login(srv)
    m.select("INBOX")
    m.literal = b"Gr\xfc\xdfe"
    typ, data = m.uid("SEARCH", "CHARSET", "UTF-8", "SUBJECT")
    assert typ in ("OK", "NO"), data
    if typ == "OK":
        assert data[0].split() == []
    assert m.noop()[0] == "OK"
    m.logout()
