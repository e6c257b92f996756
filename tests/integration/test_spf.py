"""SPF (RFC 7208) black-box: `ferry check spf` against python3-spf.

One fake authoritative DNS server (fakedns.py) holds SPF records that
exercise every mechanism (all, include, a, mx, ptr, ip4, ip6, exists) with
every qualifier, both modifiers (redirect=, exp=), the macro language
(%{s} %{l} %{o} %{d} %{i} %{p} %{v} %{h} and, in explanations, %{c} %{r};
transformers, delimiters, %% %_ %-, URL escaping) and the processing
limits (10 DNS terms, 2 void lookups, 10 MX names, include and redirect
loops).  Each case runs `ferry -c CONF check spf IP SENDER HELO --json`
and python3-spf's check_host() (pyspf, its DNS pointed at the same fake
server through pydns) and compares the results, the matching mechanism
and, for fail, the explanation.

Where RFC 7208 leaves room and pyspf reads it differently, the case is in
DIVERGENT with both answers and the reason; the test asserts Ferry's
reading (and that pyspf still answers as documented, so the list stays
true).  %{t} is left out of the compared explanations (the two run at
different seconds), and so is %{i} of an IPv6 client in explanations
(pyspf writes its nibbles in upper case, Ferry in lower case as the RFC's
examples do; DNS names compare case-blind, so lookups are unaffected).
"""

import json
import os
import socket
import subprocess
from pathlib import Path

import pytest

from conftest import dot_stuff, header, make_message
from fakedns import FakeDNS, fakedns  # noqa: F401

spf = pytest.importorskip("spf", reason="python3-spf is not installed")
DNS = pytest.importorskip("DNS", reason="python3-dns (pydns) is not "
                          "installed")

ROOT = Path(__file__).resolve().parents[2]
FERRY_BIN = os.environ.get("FERRY_BIN", str(ROOT / "build" / "ferry"))
RECEIVER = "mx.self.test"
HELO = "helo.example.test"
IP4 = "192.0.2.10"
IP4_OTHER = "198.51.100.7"
IP6 = "2001:db8::10"
PYSPF_DEFAULT_EXP = "SPF fail - not authorized"

Z = "spf.test"


def _n(label):
    return "%s.%s" % (label, Z) if label else Z


# ------------------------------------------------------------ zone data
#
# (name, type, value); TXT values may be lists of strings (joined
# without spaces by both implementations, RFC 7208 3.3).

def _zone():
    z = []

    def txt(label, value):
        z.append((_n(label), "TXT", value))

    def rec(label, rtype, value):
        z.append((_n(label), rtype, value))

    # results and qualifiers (2.6, 4.6.2)
    txt("pass", "v=spf1 +all")
    txt("fail", "v=spf1 -all")
    txt("softfail", "v=spf1 ~all")
    txt("neutral", "v=spf1 ?all")
    txt("empty", "v=spf1")
    txt("nospf", "hello world")
    txt("nospf", "v=spf10 -all")
    txt("upper", "V=SPF1 IP4:192.0.2.10 -ALL")
    txt("spaces", "v=spf1   ip4:192.0.2.10    -all   ")
    txt("multi", "v=spf1 -all")
    txt("multi", "v=spf1 +all")
    txt("withother", "google-site-verification=abc")
    txt("withother", "v=spf1 ip4:192.0.2.10 -all")
    txt("split", ["v=spf1 ip4:192.0.2.10", " -all"])
    txt("nospace", ["v=spf1", "ip4:192.0.2.10", "-all"])
    txt("unknownmod", "v=spf1 foo=bar moo.cow-far_out=man:dog/cat "
        "ip4:192.0.2.10 -all")
    # syntax errors (4.6, 7.1) -> permerror
    txt("syntax1", "v=spf1 ip4:192.0.2.10 -all moo")
    txt("syntax2", "v=spf1 a:foo.123 -all")
    txt("syntax3", "v=spf1 ip4:192.0.2.10/33 -all")
    txt("syntax4", "v=spf1 -exists:%(ir).sbl.spf.test ?all")
    txt("syntax5", "v=spf1 a:%{c}.spf.test -all")
    txt("syntax6", "v=spf1 redirect=a.spf.test redirect=b.spf.test")
    txt("syntax7", "v=spf1 -all exp=")
    txt("syntax8", "v=spf1 include -all")
    txt("syntax9", "v=spf1 ip6:2001:db8::/129 ?all")
    txt("syntax10", "v=spf1 -all foo=%abc")
    txt("syntax11", "v=spf1 exists:%{d0}.spf.test -all")
    # ip4 / ip6 (5.6)
    txt("ip4", "v=spf1 ip4:192.0.2.0/24 -all")
    txt("ip4host", "v=spf1 -ip4:198.51.100.7 ip4:192.0.2.10 ~all")
    txt("ip4zero", "v=spf1 ip4:1.1.1.1/0 -all")
    txt("ip6", "v=spf1 ip6:2001:db8::/32 -all")
    txt("ip6host", "v=spf1 ip6:2001:db8::10 ip4:192.0.2.10 -all")
    txt("ip6zero", "v=spf1 ip6:::/0 -all")
    # a (5.3)
    txt("a", "v=spf1 a -all")
    rec("a", "A", IP4)
    rec("a", "AAAA", IP6)
    rec("host", "A", "192.0.2.99")
    rec("host", "AAAA", "2001:db8::99")
    txt("acidr", "v=spf1 a:host.spf.test/24//64 -all")
    txt("anocidr", "v=spf1 a:host.spf.test -all")
    txt("atrail", "v=spf1 a:a.spf.test. -all")
    txt("amacro", "v=spf1 a:%{d}/24 -all")
    rec("amacro", "A", "192.0.2.1")
    # mx (5.4)
    txt("mx", "v=spf1 mx -all")
    rec("mx", "MX", "10 mx1.spf.test")
    rec("mx", "MX", "20 mx2.spf.test")
    rec("mx1", "A", "203.0.113.1")
    rec("mx2", "A", IP4)
    rec("mx2", "AAAA", IP6)
    txt("mxcidr", "v=spf1 mx:mxc.spf.test/30 -all")
    rec("mxc", "MX", "10 mxc1.spf.test")
    rec("mxc1", "A", "192.0.2.8")
    txt("mxnone", "v=spf1 mx -all")
    txt("mxnull", "v=spf1 mx ?all")
    rec("mxnull", "MX", "0 .")
    txt("mx10", "v=spf1 mx -all")
    for i in range(10):
        rec("mx10", "MX", "%d m10-%d.spf.test" % (i, i))
        rec("m10-%d" % i, "A", "203.0.113.%d" % (20 + i))
    rec("m10-9", "A", IP4)
    txt("mx11", "v=spf1 mx -all")
    for i in range(10):
        rec("mx11", "MX", "%d m10-%d.spf.test" % (i, i))
    rec("mx11", "MX", "10 mx1.spf.test")
    # ptr (5.5)
    txt("ptr", "v=spf1 ptr -all")
    z.append(("10.2.0.192.in-addr.arpa", "PTR", "mail.ptr.spf.test"))
    z.append(("0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0"
              ".2.ip6.arpa", "PTR", "mail.ptr.spf.test"))
    rec("mail.ptr", "A", IP4)
    rec("mail.ptr", "AAAA", IP6)
    txt("ptrtarget", "v=spf1 ptr:ptr.spf.test -all")
    txt("ptrother", "v=spf1 ptr:other.spf.test -all")
    # exists (5.7) and the RFC's macro example (7.4)
    txt("exists", "v=spf1 exists:%{ir}.%{v}._spf.%{d2} -all")
    rec("10.2.0.192.in-addr._spf", "A", "127.0.0.2")
    rec("0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
        ".ip6._spf", "A", "127.0.0.2")
    txt("exists6", "v=spf1 exists:v6only.spf.test -all")
    rec("v6only", "AAAA", IP6)
    # include (5.2)
    txt("include", "v=spf1 include:incpass.spf.test -all")
    txt("incpass", "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all")
    txt("incsoft", "v=spf1 include:softfail.spf.test ?all")
    txt("incneutral", "v=spf1 include:neutral.spf.test -all")
    txt("incfailq", "v=spf1 -include:incpass.spf.test +all")
    txt("incnone", "v=spf1 include:nospf.spf.test -all")
    txt("incnx", "v=spf1 include:nx.spf.test -all")
    txt("incperm", "v=spf1 include:syntax1.spf.test -all")
    txt("incmacro", "v=spf1 include:inc%{l}.spf.test -all")
    txt("loop1", "v=spf1 include:loop2.spf.test -all")
    txt("loop2", "v=spf1 include:loop1.spf.test -all")
    txt("incself", "v=spf1 include:incself.spf.test -all")
    # redirect (6.1)
    txt("redirect", "v=spf1 redirect=ip4.spf.test")
    txt("rchain1", "v=spf1 ip4:203.0.113.0/24 redirect=rchain2.spf.test")
    txt("rchain2", "v=spf1 redirect=rchain3.spf.test")
    txt("rchain3", "v=spf1 ip4:192.0.2.10 -all")
    txt("rnone", "v=spf1 redirect=nospf.spf.test")
    txt("rnx", "v=spf1 redirect=nx.spf.test")
    txt("rloop", "v=spf1 redirect=rloop.spf.test")
    txt("rafterall", "v=spf1 ~all redirect=fail.spf.test")
    txt("rmacro", "v=spf1 redirect=%{l}.spf.test")
    txt("rininc", "v=spf1 include:rchain2.spf.test -all")
    # exp (6.2) and explanation macros (7.3)
    txt("exp", "v=spf1 -all exp=explain.spf.test")
    txt("explain", "%{l} (%{s}) from %{c} may not send for %{d}; "
        "%{o} %{h} %{ir}.%{v} %{r} %{d2r} 100%% %_%-")
    txt("expupper", "v=spf1 -all exp=explainup.spf.test")
    txt("explainup", "see http://why.example/?s=%{S}&h=%{H}&l=%{L}")
    txt("expinc", "v=spf1 include:expinner.spf.test -all "
        "exp=explain2.spf.test")
    txt("expinner", "v=spf1 ip4:192.0.2.10 ~all exp=explain.spf.test")
    txt("explain2", "Outer explanation for %{d}.")
    txt("expredir", "v=spf1 exp=explain.spf.test redirect=exptarget."
        "spf.test")
    txt("exptarget", "v=spf1 -all exp=explain2.spf.test")
    txt("expnx", "v=spf1 -all exp=nxexp.spf.test")
    txt("expmulti", "v=spf1 -all exp=twoexp.spf.test")
    txt("twoexp", "one")
    txt("twoexp", "two")
    txt("expbad", "v=spf1 -all exp=badexp.spf.test")
    txt("badexp", "The %{x}-files.")
    txt("expmacro", "v=spf1 -all exp=%{l}.explain.spf.test")
    txt("user.explain", "Macro in exp domain for %{l}.")
    txt("expsoft", "v=spf1 ~all exp=explain.spf.test")
    txt("expvoid", "v=spf1 a:void1.spf.test a:void2.spf.test "
        "exp=nxexp.spf.test -all")
    # macros (7)
    txt("macro", "v=spf1 exists:%{l1r-}.%{o}.%{d2r}.%{i}.%{v}.%{h}.m."
        "spf.test -all")
    rec("first.macro.spf.test.spf.macro.192.0.2.10.in-addr."
        "helo.example.test.m", "A", "127.0.0.2")
    txt("macro2", "v=spf1 exists:%{l2r+-}.%{o}.u.spf.test -all")
    rec("b.a.macro2.spf.test.u", "A", "127.0.0.2")
    txt("macroesc", "v=spf1 exists:%{L}.esc.spf.test -all")
    txt("pmacro", "v=spf1 exists:%{p}.pv.spf.test -all")
    rec("mail.ptr.spf.test.pv", "A", "127.0.0.2")
    rec("unknown.pv", "A", "127.0.0.2")
    txt("pmacro2", "v=spf1 -all exp=pexp.spf.test")
    txt("pexp", "connect from %{p}")
    txt("hmacro", "v=spf1 -a:%{h} ip4:192.0.2.0/24 -all")
    # the HELO identity (2.3): sender <>
    txt("heloid", "v=spf1 exists:%{l}.%{o}.hs.spf.test -all")
    rec("postmaster.heloid.spf.test.hs", "A", "127.0.0.2")
    # processing limits (4.6.4)
    for i in range(1, 12):
        rec("h%d" % i, "A", "203.0.113.%d" % i)
    rec("hok", "A", IP4)
    txt("ten", "v=spf1 " + " ".join("a:h%d.spf.test" % i
                                     for i in range(1, 10))
        + " a:hok.spf.test -all")
    txt("eleven", "v=spf1 " + " ".join("a:h%d.spf.test" % i
                                        for i in range(1, 11))
        + " a:hok.spf.test -all")
    txt("teninc", "v=spf1 a:h1.spf.test include:tenincb.spf.test "
        "ip4:192.0.2.10 -all")
    txt("tenincb", "v=spf1 " + " ".join("a:h%d.spf.test" % i
                                        for i in range(2, 10)) + " ?all")
    txt("void2", "v=spf1 a:void1.spf.test a:void2.spf.test "
        "ip4:192.0.2.10 -all")
    txt("void3", "v=spf1 a:void1.spf.test mx:void2.spf.test "
        "exists:void3.spf.test ip4:192.0.2.10 -all")
    txt("voidmix", "v=spf1 a:void1.spf.test a:h1.spf.test "
        "a:void2.spf.test ip4:192.0.2.10 -all")
    # DNS trouble (2.6.6, 5): timeouts here, SERVFAIL in DIVERGENT
    rec("slow", "A", "127.0.0.9")         # made to time out below
    txt("atimeout", "v=spf1 ip4:203.0.113.1 a:slow.spf.test -all")
    return z


# What both implementations must answer (a check on the comparison
# itself).  (id, ip, sender, helo, expected result)
CASES = [
    ("pass", IP4, "u@pass.spf.test", HELO, "pass"),
    ("fail", IP4, "u@fail.spf.test", HELO, "fail"),
    ("softfail", IP4, "u@softfail.spf.test", HELO, "softfail"),
    ("neutral", IP4, "u@neutral.spf.test", HELO, "neutral"),
    ("empty", IP4, "u@empty.spf.test", HELO, "neutral"),
    ("nospf", IP4, "u@nospf.spf.test", HELO, "none"),
    ("nxdomain", IP4, "u@nx.spf.test", HELO, "none"),
    ("upper", IP4, "u@upper.spf.test", HELO, "pass"),
    ("spaces", IP4, "u@spaces.spf.test", HELO, "pass"),
    ("multi", IP4, "u@multi.spf.test", HELO, "permerror"),
    ("withother", IP4, "u@withother.spf.test", HELO, "pass"),
    ("split", IP4, "u@split.spf.test", HELO, "pass"),
    ("nospace", IP4, "u@nospace.spf.test", HELO, "none"),
    ("unknownmod", IP4, "u@unknownmod.spf.test", HELO, "pass"),
    ("syntax1", IP4, "u@syntax1.spf.test", HELO, "permerror"),
    ("syntax2", IP4, "u@syntax2.spf.test", HELO, "permerror"),
    ("syntax3", IP4, "u@syntax3.spf.test", HELO, "permerror"),
    ("syntax4", IP4, "u@syntax4.spf.test", HELO, "permerror"),
    ("syntax5", IP4, "u@syntax5.spf.test", HELO, "permerror"),
    ("syntax6", IP4, "u@syntax6.spf.test", HELO, "permerror"),
    ("syntax7", IP4, "u@syntax7.spf.test", HELO, "permerror"),
    ("syntax8", IP4, "u@syntax8.spf.test", HELO, "permerror"),
    ("syntax9", IP4, "u@syntax9.spf.test", HELO, "permerror"),
    ("syntax10", IP4, "u@syntax10.spf.test", HELO, "permerror"),
    ("ip4", IP4, "u@ip4.spf.test", HELO, "pass"),
    ("ip4-other", IP4_OTHER, "u@ip4.spf.test", HELO, "fail"),
    ("ip4-v6client", IP6, "u@ip4.spf.test", HELO, "fail"),
    ("ip4-mapped", "::ffff:192.0.2.10", "u@ip4.spf.test", HELO, "pass"),
    ("ip4host", IP4, "u@ip4host.spf.test", HELO, "pass"),
    ("ip4host-fail", IP4_OTHER, "u@ip4host.spf.test", HELO, "fail"),
    ("ip4zero", IP4_OTHER, "u@ip4zero.spf.test", HELO, "pass"),
    ("ip6", IP6, "u@ip6.spf.test", HELO, "pass"),
    ("ip6-v4client", IP4, "u@ip6.spf.test", HELO, "fail"),
    ("ip6-mapped", "::ffff:192.0.2.10", "u@ip6.spf.test", HELO, "fail"),
    ("ip6host", IP6, "u@ip6host.spf.test", HELO, "pass"),
    ("ip6zero", "2001:db8:ffff::1", "u@ip6zero.spf.test", HELO, "pass"),
    ("a", IP4, "u@a.spf.test", HELO, "pass"),
    ("a-v6", IP6, "u@a.spf.test", HELO, "pass"),
    ("a-other", IP4_OTHER, "u@a.spf.test", HELO, "fail"),
    ("acidr", IP4, "u@acidr.spf.test", HELO, "pass"),
    ("acidr-v6", IP6, "u@acidr.spf.test", HELO, "pass"),
    ("acidr-v6-other", "2001:db8:1::10", "u@acidr.spf.test", HELO, "fail"),
    ("anocidr", IP4, "u@anocidr.spf.test", HELO, "fail"),
    ("atrail", IP4, "u@atrail.spf.test", HELO, "pass"),
    ("amacro", IP4, "u@amacro.spf.test", HELO, "pass"),
    ("mx", IP4, "u@mx.spf.test", HELO, "pass"),
    ("mx-v6", IP6, "u@mx.spf.test", HELO, "pass"),
    ("mx-other", IP4_OTHER, "u@mx.spf.test", HELO, "fail"),
    ("mxcidr", IP4, "u@mxcidr.spf.test", HELO, "pass"),
    ("mxnone", IP4, "u@mxnone.spf.test", HELO, "fail"),
    ("mxnull", IP4, "u@mxnull.spf.test", HELO, "neutral"),
    ("mx10", IP4, "u@mx10.spf.test", HELO, "pass"),
    ("mx11", IP4, "u@mx11.spf.test", HELO, "permerror"),
    ("ptr", IP4, "u@ptr.spf.test", HELO, "pass"),
    ("ptr-v6", IP6, "u@ptr.spf.test", HELO, "pass"),
    ("ptr-nopt", IP4_OTHER, "u@ptr.spf.test", HELO, "fail"),
    ("ptr-servfail", "192.0.2.77", "u@ptr.spf.test", HELO, "fail"),
    ("ptrtarget", IP4, "u@ptrtarget.spf.test", HELO, "pass"),
    ("ptrother", IP4, "u@ptrother.spf.test", HELO, "fail"),
    ("exists", IP4, "u@exists.spf.test", HELO, "pass"),
    ("exists-v6", IP6, "u@exists.spf.test", HELO, "pass"),
    ("exists-other", IP4_OTHER, "u@exists.spf.test", HELO, "fail"),
    ("exists-aaaa-only", IP6, "u@exists6.spf.test", HELO, "fail"),
    ("include", IP4, "u@include.spf.test", HELO, "pass"),
    ("include-v6", IP6, "u@include.spf.test", HELO, "pass"),
    ("include-other", IP4_OTHER, "u@include.spf.test", HELO, "fail"),
    ("incsoft", IP4, "u@incsoft.spf.test", HELO, "neutral"),
    ("incneutral", IP4, "u@incneutral.spf.test", HELO, "fail"),
    ("incfailq", IP4, "u@incfailq.spf.test", HELO, "fail"),
    ("incfailq-other", IP4_OTHER, "u@incfailq.spf.test", HELO, "pass"),
    ("incnone", IP4, "u@incnone.spf.test", HELO, "permerror"),
    ("incnx", IP4, "u@incnx.spf.test", HELO, "permerror"),
    ("incperm", IP4, "u@incperm.spf.test", HELO, "permerror"),
    ("incmacro", IP4, "pass@incmacro.spf.test", HELO, "pass"),
    ("incloop", IP4, "u@loop1.spf.test", HELO, "permerror"),
    ("incself", IP4, "u@incself.spf.test", HELO, "permerror"),
    ("redirect", IP4, "u@redirect.spf.test", HELO, "pass"),
    ("redirect-other", IP4_OTHER, "u@redirect.spf.test", HELO, "fail"),
    ("rchain", IP4, "u@rchain1.spf.test", HELO, "pass"),
    ("rchain-other", IP4_OTHER, "u@rchain1.spf.test", HELO, "fail"),
    ("rnone", IP4, "u@rnone.spf.test", HELO, "permerror"),
    ("rnx", IP4, "u@rnx.spf.test", HELO, "permerror"),
    ("rloop", IP4, "u@rloop.spf.test", HELO, "permerror"),
    ("rafterall", IP4, "u@rafterall.spf.test", HELO, "softfail"),
    ("rmacro", IP4, "fail@rmacro.spf.test", HELO, "fail"),
    ("rininc", IP4, "u@rininc.spf.test", HELO, "pass"),
    ("exp", IP4, "user@exp.spf.test", HELO, "fail"),
    ("expupper", IP4, "jack&jill=up@expupper.spf.test",
     "my helo.example", "fail"),
    ("expinc", IP4_OTHER, "u@expinc.spf.test", HELO, "fail"),
    ("expredir", IP4, "u@expredir.spf.test", HELO, "fail"),
    ("expnx", IP4, "u@expnx.spf.test", HELO, "fail"),
    ("expmulti", IP4, "u@expmulti.spf.test", HELO, "fail"),
    ("expbad", IP4, "u@expbad.spf.test", HELO, "fail"),
    ("expmacro", IP4, "user@expmacro.spf.test", HELO, "fail"),
    ("expsoft", IP4, "u@expsoft.spf.test", HELO, "softfail"),
    ("expvoid", IP4, "u@expvoid.spf.test", HELO, "fail"),
    ("macro", IP4, "first-last@macro.spf.test", HELO, "pass"),
    ("macro2", IP4, "a-b+c@macro2.spf.test", HELO, "pass"),
    ("macroesc", IP4, "a+b@macroesc.spf.test", HELO, "fail"),
    ("pmacro", IP4, "u@pmacro.spf.test", HELO, "pass"),
    ("pmacro-unknown", IP4_OTHER, "u@pmacro.spf.test", HELO, "pass"),
    ("pmacro-exp", IP4, "u@pmacro2.spf.test", HELO, "fail"),
    ("pmacro-exp-unknown", IP4_OTHER, "u@pmacro2.spf.test", HELO, "fail"),
    ("hmacro", IP4, "u@hmacro.spf.test", "a.spf.test", "fail"),
    ("hmacro-other", IP4, "u@hmacro.spf.test", "host.spf.test", "pass"),
    ("helo-identity", IP4, "", "heloid.spf.test", "pass"),
    ("helo-identity-ip4", IP4, "", "ip4.spf.test", "pass"),
    ("helo-identity-other", IP4_OTHER, "", "ip4.spf.test", "fail"),
    ("helo-literal", IP4, "", "[192.0.2.10]", "none"),
    ("helo-single-label", IP4, "", "localhost", "none"),
    ("nolocal", IP4, "@exp.spf.test", HELO, "fail"),
    ("noat", IP4, "ip4.spf.test", HELO, "pass"),
    ("ten-lookups", IP4, "u@ten.spf.test", HELO, "pass"),
    ("eleven-lookups", IP4, "u@eleven.spf.test", HELO, "permerror"),
    ("ten-with-include", IP4, "u@teninc.spf.test", HELO, "pass"),
    ("void2", IP4, "u@void2.spf.test", HELO, "pass"),
    ("void3", IP4, "u@void3.spf.test", HELO, "permerror"),
    ("voidmix", IP4, "u@voidmix.spf.test", HELO, "pass"),
    ("timeout", IP4, "u@slow.spf.test", HELO, "temperror"),
    ("atimeout", IP4, "u@atimeout.spf.test", HELO, "temperror"),
]

# Explanations compared for these fail cases (besides the result).
EXPLAINED = {
    "exp": "user (user@exp.spf.test) from 192.0.2.10 may not send for "
           "exp.spf.test; exp.spf.test helo.example.test "
           "10.2.0.192.in-addr mx.self.test spf.exp 100%  %20",
    "expupper": "see http://why.example/?s=jack%26jill%3Dup%40expupper."
                "spf.test&h=my%20helo.example&l=jack%26jill%3Dup",
    "expinc": "Outer explanation for expinc.spf.test.",
    "expredir": "Outer explanation for exptarget.spf.test.",
    "expnx": "",
    "expmulti": "",
    "expbad": "",
    "expmacro": "Macro in exp domain for user.",
    "expvoid": "",
    "pmacro-exp": "connect from mail.ptr.spf.test",
    "pmacro-exp-unknown": "connect from unknown",
    "nolocal": "postmaster (@exp.spf.test) from 192.0.2.10 may not send "
               "for exp.spf.test; exp.spf.test helo.example.test "
               "10.2.0.192.in-addr mx.self.test spf.exp 100%  %20",
}

# RFC 7208 readings where pyspf 2.0.14 differs.  (id, records, ip,
# sender, helo, Ferry's result, pyspf's result, why)
SERVFAIL_WHY = ("2.6.6 and 5: a lookup answered SERVFAIL (RCODE 2) ends "
                "check_host() with temperror.  pyspf over pydns ignores "
                "the RCODE and takes SERVFAIL as an empty answer.")

DIVERGENT = [
    ("servfail", [], IP4, "u@servfail.spf.test", HELO, "temperror",
     "none", SERVFAIL_WHY),
    ("a-servfail", [("atemp", "TXT", "v=spf1 a:servfail.spf.test -all")],
     IP4, "u@atemp.spf.test", HELO, "temperror", "fail", SERVFAIL_WHY),
    ("mx-host-servfail", [("mxtemp", "TXT", "v=spf1 mx:mxt.spf.test -all"),
                          ("mxt", "MX", "10 servfail.spf.test")],
     IP4, "u@mxtemp.spf.test", HELO, "temperror", "fail", SERVFAIL_WHY),
    ("include-servfail", [("inctemp", "TXT",
                           "v=spf1 include:servfail.spf.test -all")],
     IP4, "u@inctemp.spf.test", HELO, "temperror", "permerror",
     SERVFAIL_WHY),
    ("macro-digit-zero", [], IP4, "u@syntax11.spf.test", HELO,
     "permerror", "fail",
     "7.1: transformers = *DIGIT [ \"r\" ], 'If a DIGIT is specified, the "
     "value MUST be nonzero'; pyspf takes %{d0} as all labels."),
    ("ptr-timeout",
     [("dv1", "TXT", "v=spf1 ptr ip4:192.0.2.10 -all")],
     "192.0.2.78", "u@dv1.spf.test", HELO, "fail", "temperror",
     "5.5: 'If a DNS error occurs while doing the PTR RR lookup, then "
     "this mechanism fails to match'; pyspf returns temperror."),
    ("mx-hosts-without-a",
     [("dv2", "TXT", "v=spf1 mx ip4:192.0.2.10 -all"),
      ("dv2", "MX", "10 v6a.spf.test"), ("dv2", "MX", "20 v6b.spf.test"),
      ("dv2", "MX", "30 v6c.spf.test"),
      ("v6a", "AAAA", "2001:db8::a"), ("v6b", "AAAA", "2001:db8::b"),
      ("v6c", "AAAA", "2001:db8::c")],
     IP4, "u@dv2.spf.test", HELO, "pass", "permerror",
     "4.6.4 limits 'terms' whose lookups are void; Ferry counts a term's "
     "own lookup (here the MX query, which has answers), pyspf counts "
     "every empty address lookup of the MX hosts (3 > 2)."),
    ("redirect-not-reached",
     [("dv3", "TXT", "v=spf1 " + " ".join("a:h%d.spf.test" % i
                                          for i in range(1, 10))
       + " a:hok.spf.test redirect=fail.spf.test")],
     IP4, "u@dv3.spf.test", HELO, "pass", "permerror",
     "4.6.4 counts terms during evaluation; the 10th a: matches, so the "
     "redirect= is never evaluated.  pyspf counts redirect= while "
     "parsing, making the 10th a: the 11th lookup."),
    ("long-name-truncation",
     [("dv4", "TXT", "v=spf1 exists:%{l}.%{l}.%{l}.%{l}.%{l}.%{l}.tr."
       "spf.test -all"),
      ("b" * 40 + "." + "c" * 40 + "." + "a" * 50 + "." + "b" * 40 + "."
       + "c" * 40 + ".tr", "A", "127.0.0.2")],
     IP4, ("a" * 50 + "." + "b" * 40 + "." + "c" * 40) + "@dv4.spf.test",
     HELO, "pass", "temperror",
     "7.3: names over 253 octets lose labels on the left 'until the total "
     "length does not exceed 253 characters'; pyspf drops one label only "
     "and its DNS library fails on the name that is still too long."),
]


# ------------------------------------------------------------ fixtures

def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Function scope: a fresh server per test, so that no test depends on what
# an earlier one did to it (pyspf's too-long name in long-name-truncation
# stops FakeDNS's UDP thread).
@pytest.fixture
def zone():
    dns = FakeDNS().start()
    for name, rtype, value in _zone():
        dns.add(name, rtype, value)
    dns.add(_n("servfail"), "A", "127.0.0.9")   # answers SERVFAIL
    for _id, records, *_ in DIVERGENT:
        for label, rtype, value in records:
            dns.add(_n(label), rtype, value)
    dns.servfail(_n("servfail"))
    dns.timeout(_n("slow"))
    dns.servfail("77.2.0.192.in-addr.arpa")
    dns.timeout("78.2.0.192.in-addr.arpa")
    yield dns
    dns.stop()


@pytest.fixture
def conf(zone, tmp_path):
    d = tmp_path
    lines = {
        "hostname": RECEIVER,
        "state_dir": str(d / "state"),
        "smtp_listen": "127.0.0.1:%d" % _free_port(),
        "dns_resolvers": zone.address,
        "log_level": "warn",
    }
    path = d / "ferry.conf"
    path.write_text("".join("%s = %s\n" % kv for kv in lines.items()))
    return path


def ferry_spf(conf, ip, sender, helo, *extra):
    r = subprocess.run([FERRY_BIN, "-c", str(conf), "check", "spf", ip,
                        sender, helo, "--json", *extra],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def pyspf(zone, ip, sender, helo):
    """pyspf's check_host() with its DNS (pydns) on the fake server."""
    DNS.defaults["server"] = ["127.0.0.1"]
    DNS.defaults["port"] = zone.port
    spf.DNSLookup = spf.DNSLookup_pydns
    # pyspf imports pydns itself only where dnspython is not installed
    # (python3-dkim brings dnspython in)
    spf.DNS = DNS
    q = spf.query(i=ip, s=sender, h=helo, receiver=RECEIVER, querytime=6)
    res, _code, exp = q.check()
    if res != "fail" or exp == PYSPF_DEFAULT_EXP:
        exp = ""
    return res, exp, q.mechanism


# ------------------------------------------------------------ tests

@pytest.mark.parametrize("cid,ip,sender,helo,want", CASES,
                         ids=[c[0] for c in CASES])
def test_spf_matches_pyspf(zone, conf, cid, ip, sender, helo, want):
    got = ferry_spf(conf, ip, sender, helo)
    py_res, py_exp, py_mech = pyspf(zone, ip, sender, helo)
    assert got["result"] == py_res, (got, py_res)
    assert got["result"] == want, got
    if py_mech and got["result"] in ("pass", "fail", "softfail",
                                     "neutral"):
        assert got["mechanism"] == py_mech, (got, py_mech)
    if cid in EXPLAINED:
        assert got["explanation"] == EXPLAINED[cid], got
        assert py_exp == EXPLAINED[cid], py_exp
    if got["result"] in ("temperror", "permerror"):
        assert got["problem"], got


# pyspf's too-long name in long-name-truncation stops FakeDNS's UDP thread
# (dnslib cannot pack the reply); that server is this test's own.
@pytest.mark.filterwarnings(
    "ignore::pytest.PytestUnhandledThreadExceptionWarning")
@pytest.mark.parametrize("cid,records,ip,sender,helo,ours,theirs,why",
                         DIVERGENT, ids=[c[0] for c in DIVERGENT])
def test_spf_divergent(zone, conf, cid, records, ip, sender, helo, ours,
                       theirs, why):
    got = ferry_spf(conf, ip, sender, helo)
    assert got["result"] == ours, (why, got)
    py_res, _exp, _mech = pyspf(zone, ip, sender, helo)
    assert py_res == theirs, (why, py_res)


def test_spf_limits_counted(conf):
    got = ferry_spf(conf, IP4, "u@ten.spf.test", HELO)
    assert (got["lookups"], got["void_lookups"]) == (10, 0)
    got = ferry_spf(conf, IP4, "u@void2.spf.test", HELO)
    assert (got["lookups"], got["void_lookups"]) == (2, 2)
    got = ferry_spf(conf, IP4, "u@eleven.spf.test", HELO)
    assert "more than 10 DNS lookups" in got["problem"]
    got = ferry_spf(conf, IP4, "u@void3.spf.test", HELO)
    assert "more than 2 void lookups" in got["problem"]
    got = ferry_spf(conf, IP4, "u@mx11.spf.test", HELO)
    assert "more than 10 MX names" in got["problem"]
    # exp= is not a lookup and not a void one (6.2, 4.6.4)
    got = ferry_spf(conf, IP4, "u@expvoid.spf.test", HELO)
    assert (got["lookups"], got["void_lookups"]) == (2, 2)


def test_spf_ptr_name_limit(zone, conf):
    """At most 10 PTR names are validated (4.6.4); order is the server's."""
    zone.add("20.2.0.192.in-addr.arpa", "PTR", "p0.pl.spf.test")
    for i in range(1, 14):
        zone.add("20.2.0.192.in-addr.arpa", "PTR", "p%d.pl.spf.test" % i)
    for i in range(14):
        zone.add("p%d.pl.spf.test" % i, "A", "192.0.2.20")
    zone.add("pl.spf.test", "TXT", "v=spf1 ptr -all")
    before = sum(1 for n, t, _ in list(zone.queries)
                 if n.endswith(".pl.spf.test") and t == "A")
    got = ferry_spf(conf, "192.0.2.20", "u@pl.spf.test", HELO)
    asked = sum(1 for n, t, _ in list(zone.queries)
                if n.endswith(".pl.spf.test") and t == "A") - before
    assert got["result"] == "pass", got
    assert 1 <= asked <= 10, asked


def test_spf_received_header_and_text(conf):
    got = ferry_spf(conf, IP4, "u@ip4.spf.test", HELO)
    h = got["received_spf"]
    assert h.startswith("Received-SPF: pass (mx.self.test: domain of "
                        "u@ip4.spf.test designates 192.0.2.10 as permitted "
                        "sender)"), h
    for part in ('client-ip=192.0.2.10;', 'envelope-from="u@ip4.spf.test";',
                 "helo=helo.example.test;", "receiver=mx.self.test;",
                 "identity=mailfrom;", 'mechanism="ip4:192.0.2.0/24";'):
        assert part in h, (part, h)
    got = ferry_spf(conf, IP4, "", "heloid.spf.test")
    assert got["identity"] == "helo"
    assert got["sender"] == "postmaster@heloid.spf.test"
    assert "identity=helo;" in got["received_spf"]
    assert "envelope-from" not in got["received_spf"]
    got = ferry_spf(conf, IP4, "u@syntax1.spf.test", HELO)
    assert 'problem="' in got["received_spf"]
    r = subprocess.run([FERRY_BIN, "-c", str(conf), "check", "spf", IP4,
                        "<u@exp.spf.test>", HELO],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("spf: fail\n"), r.stdout
    assert "explanation: u (u@exp.spf.test) from 192.0.2.10" in r.stdout
    assert "\nReceived-SPF: fail (mx.self.test: domain of" in r.stdout


def test_spf_cli_usage(conf):
    r = subprocess.run([FERRY_BIN, "-c", str(conf), "check", "spf", IP4],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    r = subprocess.run([FERRY_BIN, "-c", str(conf), "check", "spf",
                        "not-an-ip", "u@a.spf.test", HELO],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "not an IP address" in r.stderr


# ------------------------------------------------------------ in SMTP
#
# The gate at MAIL FROM (decided at RCPT by the pipeline): a Received-SPF
# field on every accepted message; fail refused with 550 5.7.23 and the
# explanation only with spf_reject_fail = yes; a DNS failure never a
# permanent refusal (451 4.7.24 when enforcing, else accepted and tagged).

def _smtp_zone(fakedns):
    fakedns.add("good.spf.test", "TXT", "v=spf1 ip4:127.0.0.0/8 -all")
    fakedns.add("bad.spf.test", "TXT",
                "v=spf1 -all exp=why.bad.spf.test")
    fakedns.add("why.bad.spf.test", "TXT",
                "%{i} is not a mail server of %{d}")
    fakedns.servfail("broken.spf.test")


def _spf_server(make_ferry, fakedns, enforce):
    return make_ferry({"spf": "yes",
                       "spf_reject_fail": "yes" if enforce else "no",
                       "dns_resolvers": fakedns.address})


def _mail(srv, sender, rcpt="alice@example.test"):
    """MAIL + RCPT; the RCPT reply (where MAIL checks are decided)."""
    with srv.raw() as c:
        c.ehlo("client.spf.test")
        c.expect("MAIL FROM:<%s>" % sender, 250)
        r = c.cmd("RCPT TO:<%s>" % rcpt)
        if r.code == 250:
            c.expect("DATA", 354)
            c.send(dot_stuff(make_message(sender=sender)) + b".\r\n")
            assert c.reply().code == 250
        return r


def _received_spf(srv, n):
    msgs = srv.wait_delivered("alice@example.test", count=n)
    h = header(msgs[-1], "Received-SPF")
    if not h and "check=spf" not in srv.log_text():
        pytest.skip("the SMTP session does not run the policy pipeline "
                    "yet (no check=spf in the log)")
    return h


def test_spf_smtp_enforcing(make_ferry, fakedns):
    _smtp_zone(fakedns)
    srv = _spf_server(make_ferry, fakedns, True)
    r = _mail(srv, "u@good.spf.test")
    assert r.code == 250, r
    h = _received_spf(srv, 1)
    assert len(h) == 1 and h[0].startswith("pass ("), h
    assert "client-ip=127.0.0.1;" in h[0]
    assert 'envelope-from="u@good.spf.test";' in h[0]
    assert "helo=client.spf.test;" in h[0]
    r = _mail(srv, "u@bad.spf.test")
    assert (r.code, r.enhanced) == (550, "5.7.23"), r
    assert "127.0.0.1 is not a mail server of bad.spf.test" in r.text, r
    r = _mail(srv, "u@broken.spf.test")
    assert (r.code, r.enhanced) == (451, "4.7.24"), r
    srv.wait_log(r"check=spf .*spf=fail")


def test_spf_smtp_tagging(make_ferry, fakedns):
    _smtp_zone(fakedns)
    srv = _spf_server(make_ferry, fakedns, False)
    for i, (sender, result) in enumerate((("u@bad.spf.test", "fail"),
                                          ("u@broken.spf.test",
                                           "temperror"),
                                          ("u@nx.spf.test", "none"))):
        r = _mail(srv, sender)
        assert r.code == 250, r
        h = _received_spf(srv, i + 1)
        assert len(h) == 1 and h[0].startswith(result + " ("), h
