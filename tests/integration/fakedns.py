"""A scriptable authoritative DNS server for the integration tests.

FakeDNS listens on 127.0.0.1, on one free port for both UDP and TCP, and
answers from records that each test sets up (python3-dnslib builds and
parses the packets):

    from fakedns import FakeDNS, fakedns     # fakedns: a pytest fixture

    dns = FakeDNS(); dns.start()
    dns.add("mx.example.test", "A", "127.0.0.2")
    dns.add("example.test", "MX", "10 mx.example.test")
    dns.add("example.test", "TXT", "v=spf1 -all")      # or a list of strings
    dns.add("2.0.0.127.in-addr.arpa", "PTR", "mx.example.test")
    dns.add("www.example.test", "CNAME", "mx.example.test")
    dns.add("_imaps._tcp.example.test", "SRV", "0 1 993 mx.example.test")
    dns.nxdomain("gone.example.test")    # explicit, wins over records
    dns.servfail("broken.example.test")  # answers SERVFAIL
    dns.timeout("slow.example.test")     # never answers
    dns.hold("late.example.test")        # answers once released (UDP):
    dns.held("late.example.test")        # queries waiting now
    dns.release("late.example.test")     # answers them all, then as usual
    dns.queries                          # [("example.test", "MX", "udp")]
    dns.clear(); dns.stop()

Names are case-blind and written without the final dot.  A name with no
records at all is NXDOMAIN; a name with records of other types answers
NOERROR with no data; both carry an SOA so resolvers cache them.  CNAMEs
are followed inside the server's data as an authoritative server would.
Loopback only; the threads stop at stop() (the fixture calls it).
"""

import select
import socket
import struct
import threading

import pytest
from dnslib import (AAAA, CNAME, DNSRecord, EDNS0, MX, PTR, QTYPE, RCODE,
                    RR, SOA, SRV, TXT, A, DNSLabel)

_RDATA = {
    "A": lambda v: A(v),
    "AAAA": lambda v: AAAA(v),
    "PTR": lambda v: PTR(v),
    "CNAME": lambda v: CNAME(v),
}


def _norm(name):
    return str(name).rstrip(".").lower()


def _mx(value):
    pref, host = value.split(None, 1)
    return MX(host, int(pref))


def _srv(value):
    prio, weight, port, target = value.split()
    return SRV(int(prio), int(weight), int(port), target)


def _txt(value):
    if isinstance(value, (list, tuple)):
        parts = [p.encode() if isinstance(p, str) else p for p in value]
    else:
        raw = value.encode() if isinstance(value, str) else value
        parts = [raw[i:i + 255] for i in range(0, len(raw), 255)] or [b""]
    return TXT(parts)


class FakeDNS:
    def __init__(self, host="127.0.0.1"):
        self.host = host
        self.port = None
        self.queries = []
        self._lock = threading.Lock()
        self._records = {}          # name -> [(rtype, rdata, ttl)]
        self._special = {}          # name -> "nxdomain"|"servfail"|"timeout"
        self._hold = set()          # names whose queries wait for release()
        self._held = []             # (name, data, peer) waiting
        self._stop = threading.Event()
        self._threads = []
        self._udp = self._tcp = None

    # ------------------------------------------------------------ zone data

    def add(self, name, rtype, value, ttl=60):
        rtype = rtype.upper()
        if rtype == "MX":
            rdata = _mx(value)
        elif rtype == "TXT":
            rdata = _txt(value)
        elif rtype == "SRV":
            rdata = _srv(value)
        elif rtype in _RDATA:
            rdata = _RDATA[rtype](value)
        else:
            raise ValueError("unsupported type %s" % rtype)
        with self._lock:
            self._records.setdefault(_norm(name), []).append(
                (rtype, rdata, ttl))

    def replace(self, name, rtype, value, ttl=60):
        """The records of name and rtype become this one."""
        with self._lock:
            kept = [r for r in self._records.get(_norm(name), [])
                    if r[0] != rtype.upper()]
            self._records[_norm(name)] = kept
        self.add(name, rtype, value, ttl)

    def nxdomain(self, name):
        with self._lock:
            self._special[_norm(name)] = "nxdomain"

    def servfail(self, name):
        with self._lock:
            self._special[_norm(name)] = "servfail"

    def timeout(self, name):
        with self._lock:
            self._special[_norm(name)] = "timeout"

    def hold(self, name):
        """Queries for name (and names under it, so a DNSBL zone can be
        held whole) get no answer until release(name)."""
        with self._lock:
            self._hold.add(_norm(name))

    def held(self, name):
        n = _norm(name)
        with self._lock:
            return sum(1 for h, _, _ in self._held if h == n)

    def release(self, name):
        n = _norm(name)
        with self._lock:
            self._hold.discard(n)
            waiting = [(d, p) for h, d, p in self._held if h == n]
            self._held = [x for x in self._held if x[0] != n]
        for data, peer in waiting:
            out = self._respond(data, "udp")
            if out is not None:
                self._udp.sendto(out, peer)

    def _held_by(self, data):
        try:
            name = _norm(DNSRecord.parse(data).q.qname)
        except Exception:
            return None
        with self._lock:
            for h in self._hold:
                if name == h or name.endswith("." + h):
                    return h
        return None

    def clear(self):
        with self._lock:
            self._records.clear()
            self._special.clear()
            self.queries.clear()

    def asked(self, name, rtype=None):
        """How many times name (and type) was asked."""
        with self._lock:
            return sum(1 for n, t, _ in self.queries
                       if n == _norm(name) and (rtype is None or t == rtype))

    # ------------------------------------------------------------ answering

    @staticmethod
    def _zone_of(name):
        labels = name.split(".")
        return ".".join(labels[-2:]) if len(labels) > 2 else name

    def _soa(self, name):
        zone = self._zone_of(name) or "."
        return RR(zone, QTYPE.SOA, ttl=60, rdata=SOA(
            "ns." + zone, "hostmaster." + zone, (1, 3600, 600, 86400, 60)))

    def _answer_into(self, reply, name, qtype, depth=0):
        """Fills the answer; returns the rcode."""
        special = self._special.get(name)
        if special == "nxdomain":
            return RCODE.NXDOMAIN
        records = self._records.get(name)
        if not records:
            return RCODE.NXDOMAIN
        found = False
        for rtype, rdata, ttl in records:
            if rtype == qtype or qtype == "ANY":
                reply.add_answer(RR(name, getattr(QTYPE, rtype), ttl=ttl,
                                    rdata=rdata))
                found = True
        if not found and depth < 8:
            for rtype, rdata, ttl in records:
                if rtype == "CNAME":
                    reply.add_answer(RR(name, QTYPE.CNAME, ttl=ttl,
                                        rdata=rdata))
                    target = _norm(rdata.label)
                    return self._answer_into(reply, target, qtype, depth + 1)
        return RCODE.NOERROR

    def _respond(self, data, proto):
        """The reply bytes, or None to drop the query."""
        try:
            req = DNSRecord.parse(data)
        except Exception:
            return None
        if not req.questions:
            return None
        q = req.q
        name = _norm(q.qname)
        qtype = QTYPE.get(q.qtype, str(q.qtype))
        with self._lock:
            self.queries.append((name, qtype, proto))
            special = self._special.get(name)
            if special == "timeout":
                return None
            reply = req.reply(ra=1, aa=1)
            if special == "servfail":
                reply.header.rcode = RCODE.SERVFAIL
            else:
                reply.header.rcode = self._answer_into(reply, name, qtype)
                if not reply.rr:
                    reply.add_auth(self._soa(name))
        if any(r.rtype == QTYPE.OPT for r in req.ar):
            reply.add_ar(EDNS0(udp_len=1232))
        packet = reply.pack()
        if proto == "udp" and len(packet) > 1232:
            reply = req.reply(ra=1, aa=1)
            reply.header.tc = 1
            packet = reply.pack()
        return packet

    # ------------------------------------------------------------ sockets

    def _bind(self):
        for _ in range(50):
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.bind((self.host, 0))
            port = udp.getsockname()[1]
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                tcp.bind((self.host, port))
            except OSError:
                udp.close()
                tcp.close()
                continue
            tcp.listen(16)
            return udp, tcp, port
        raise RuntimeError("no free port for UDP and TCP")

    def _serve_udp(self):
        while not self._stop.is_set():
            r, _, _ = select.select([self._udp], [], [], 0.1)
            if not r:
                continue
            try:
                data, peer = self._udp.recvfrom(65535)
            except OSError:
                continue
            h = self._held_by(data)
            if h is not None:
                with self._lock:
                    self._held.append((h, data, peer))
                continue
            out = self._respond(data, "udp")
            if out is not None:
                self._udp.sendto(out, peer)

    def _serve_tcp_conn(self, conn):
        conn.settimeout(5)
        try:
            while not self._stop.is_set():
                head = conn.recv(2)
                if len(head) < 2:
                    return
                (n,) = struct.unpack("!H", head)
                data = b""
                while len(data) < n:
                    chunk = conn.recv(n - len(data))
                    if not chunk:
                        return
                    data += chunk
                out = self._respond(data, "tcp")
                if out is not None:
                    conn.sendall(struct.pack("!H", len(out)) + out)
        except OSError:
            pass
        finally:
            conn.close()

    def _serve_tcp(self):
        while not self._stop.is_set():
            r, _, _ = select.select([self._tcp], [], [], 0.1)
            if not r:
                continue
            try:
                conn, _ = self._tcp.accept()
            except OSError:
                continue
            t = threading.Thread(target=self._serve_tcp_conn, args=(conn,),
                                 daemon=True)
            t.start()

    def start(self):
        self._udp, self._tcp, self.port = self._bind()
        self._stop.clear()
        for fn in (self._serve_udp, self._serve_tcp):
            t = threading.Thread(target=fn, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)
        self._threads = []
        for s in (self._udp, self._tcp):
            if s is not None:
                s.close()
        self._udp = self._tcp = None

    @property
    def address(self):
        """"127.0.0.1:PORT", the form dns_resolvers takes."""
        return "%s:%d" % (self.host, self.port)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


@pytest.fixture
def fakedns():
    """A started FakeDNS, stopped at teardown."""
    server = FakeDNS().start()
    yield server
    server.stop()


@pytest.fixture
def fakedns_fallback():
    """A second, independent FakeDNS (e.g. for dns_fallback_resolvers)."""
    server = FakeDNS().start()
    yield server
    server.stop()
