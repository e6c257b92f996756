"""`ferry check mx` and the provider profiles (data/providers.conf, found
next to the binary, plus providers.conf next to the configuration):
the provider recognised from the MX names, the recommended hosts the
domain lacks, and those present that do not answer from here.  The
seed's case: a domain that lists only the Google hosts that are blocked
from here.  Fake DNS and fake peers on 127.0.0.x; verdict words only.
"""

import json

from fakedns import fakedns  # noqa: F401
from fakemx import FakeMX, Tarpit
from test_check_mx_deep import (check, port, started,  # noqa: F401
                                write_conf, zone)


def test_only_the_blocked_google_hosts(tmp_path, fakedns, port, started):
    started.append(Tarpit("127.0.0.2", port).start())    # alt3: blackhole
    # alt4 at 127.0.0.3: refused
    zone(fakedns, "seed.test", [(30, "alt3.aspmx.l.google.com", "127.0.0.2"),
                                (40, "alt4.aspmx.l.google.com", "127.0.0.3")])
    conf = write_conf(tmp_path, fakedns, port)
    r = check(conf, "mx", "seed.test", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    p = doc["provider"]
    assert p["id"] == "google" and p["set"] == "legacy"
    assert p["missing"] == ["aspmx.l.google.com", "alt1.aspmx.l.google.com",
                            "alt2.aspmx.l.google.com"]
    assert p["unreachable"] == ["alt3.aspmx.l.google.com",
                                "alt4.aspmx.l.google.com"]
    assert p["current"] == ["smtp.google.com"]
    assert doc["deliverable"] is False
    r = check(conf, "mx", "seed.test")
    out = r.stdout
    assert ('provider: Google Workspace (google); the domain follows its '
            'set "legacy" (2 of 5 present)') in out
    assert ("provider: missing from the MX records: aspmx.l.google.com, "
            "alt1.aspmx.l.google.com, alt2.aspmx.l.google.com") in out
    assert ("provider: present but not answering from here: "
            "alt3.aspmx.l.google.com, alt4.aspmx.l.google.com") in out
    assert ('provider: its current recommendation is the set "current": '
            'smtp.google.com') in out
    assert "domain: NOT deliverable from here" in out


def test_current_set_complete_and_answering(tmp_path, fakedns, port,
                                            started):
    started.append(FakeMX("127.0.0.2", port).start())
    zone(fakedns, "fine.test", [(1, "smtp.google.com", "127.0.0.2")])
    conf = write_conf(tmp_path, fakedns, port)
    doc = json.loads(check(conf, "mx", "fine.test", "--json").stdout)
    p = doc["provider"]
    assert p["set"] == "current"
    assert p["missing"] == [] and p["unreachable"] == []
    out = check(conf, "mx", "fine.test").stdout
    assert "provider: Google Workspace" in out
    assert "missing from" not in out and "current recommendation" not in out


def test_patterns_and_no_provider(tmp_path, fakedns, port):
    zone(fakedns, "tenant.test", [
        (0, "tenant-test.mail.protection.outlook.com", "127.0.0.2")])
    zone(fakedns, "qq.test", [(10, "mx1.qq.com", "127.0.0.2"),
                              (20, "mx2.qq.com", None)])
    zone(fakedns, "own.test", [(10, "mx.own.test", "127.0.0.2")])
    conf = write_conf(tmp_path, fakedns, port)
    doc = json.loads(check(conf, "mx", "tenant.test", "--json",
                           "--no-connect").stdout)
    assert doc["provider"]["id"] == "microsoft365"
    assert doc["provider"]["missing"] == []
    doc = json.loads(check(conf, "mx", "qq.test", "--json",
                           "--no-connect").stdout)
    p = doc["provider"]
    assert p["id"] == "tencent" and p["set"] == "qq"
    assert p["missing"] == ["mx3.qq.com"]
    # Without probes only a host without addresses is "unreachable".
    assert p["unreachable"] == ["mx2.qq.com"] and p["probed"] is False
    r = check(conf, "mx", "qq.test", "--no-connect")
    assert "provider: present without an address: mx2.qq.com" in r.stdout
    doc = json.loads(check(conf, "mx", "own.test", "--json",
                           "--no-connect").stdout)
    assert doc["provider"] is None


def test_operator_file_adds_and_replaces(tmp_path, fakedns, port):
    zone(fakedns, "acme-hosted.test", [(10, "in1.acme.example", "127.0.0.2")])
    zone(fakedns, "seed.test", [(10, "alt3.aspmx.l.google.com", None)])
    conf = write_conf(tmp_path, fakedns, port)
    (tmp_path / "providers.conf").write_text(
        "# ours\n"
        "provider = acme\n"
        "name = Acme Hosting\n"
        "match = *.acme.example\n"
        "set = pair: in1.acme.example, in2.acme.example\n"
        "provider = google\n"
        "name = Google (our list)\n"
        "match = *.google.com\n"
        "set = mine: alt3.aspmx.l.google.com\n")
    doc = json.loads(check(conf, "mx", "acme-hosted.test", "--json",
                           "--no-connect").stdout)
    assert doc["provider"]["name"] == "Acme Hosting"
    assert doc["provider"]["missing"] == ["in2.acme.example"]
    doc = json.loads(check(conf, "mx", "seed.test", "--json",
                           "--no-connect").stdout)
    assert doc["provider"]["name"] == "Google (our list)"
    assert doc["provider"]["set"] == "mine"


def test_bad_operator_file_is_reported_not_fatal(tmp_path, fakedns, port):
    zone(fakedns, "seed.test", [(10, "alt3.aspmx.l.google.com", "127.0.0.2")])
    conf = write_conf(tmp_path, fakedns, port)
    for text in ("provider = x\nmatch = a..b\n", "provider = y\0\n",
                 "name = early\n", "provider = z\nset = s: " +
                 "h.t, " * 2000 + "\n"):
        (tmp_path / "providers.conf").write_text(text)
        r = check(conf, "mx", "seed.test", "--json", "--no-connect")
        assert r.returncode == 0, r.stderr
        assert "warning: provider profiles: " in r.stderr
        assert "providers.conf:" in r.stderr
        # The shipped profiles still apply.
        assert json.loads(r.stdout)["provider"]["id"] == "google"
