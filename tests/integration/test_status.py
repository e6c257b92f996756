"""`ferry status [--json]` (issue 13): the server and its roles with
uptimes, the listeners, the queue by state and destination, the bans,
the resolvers and the last warnings/errors of log_file; and the same
command with the server stopped."""

import json
import signal

from conftest import FerryServer
from test_queue_cmds import QUEUE_CONF, relay


def test_status_of_a_running_server(make_ferry):
    srv = make_ferry(dict(QUEUE_CONF), start=False)
    srv.conf["log_file"] = str(srv.dir / "mail.log")
    srv.write_config()
    srv.start()
    relay(srv, "one@remote.example")
    relay(srv, "two@remote.example")
    held = relay(srv, "x@far.example")["id"]
    srv.cli_ok("queue", "hold", held)
    srv.cli_ok("ban", "add", "192.0.2.0/24")
    # A refused reload leaves a warning in the log.
    good = srv.conf_path.read_text()
    srv.conf_path.write_text(good + "max_recipients = many\n")
    srv.signal(signal.SIGHUP)
    srv.wait_log(r"warning: - serve reload-failed")
    srv.conf_path.write_text(good)

    s = json.loads(srv.cli_ok("status", "--json").stdout)
    assert s["running"] is True and s["pid"] == srv.pid
    assert s["uptime"] >= 0
    names = {r["name"] for r in s["roles"]}
    assert {"ferry-smtpd", "ferry-queue"} <= names, s["roles"]
    assert {r["pid"] for r in s["roles"]} == set(srv.children()), s["roles"]
    assert {"kind": "smtp", "host": "127.0.0.1", "port": str(srv.port)} in s["listeners"]
    q = s["queue"]
    assert q["messages"] == 3 and q["pending"] == 2 and q["held"] == 1, q
    assert q["destinations"][0] == {"domain": "remote.example", "pending": 2}, q
    assert s["bans"] == 1
    assert s["resolvers"] == [srv.conf["dns_resolvers"]]
    assert any("serve reload-failed" in e for e in s["last_errors"]), s["last_errors"]

    out = srv.cli_ok("status").stdout
    assert f"server: running pid={srv.pid} up " in out, out
    assert "role ferry-smtpd pid=" in out and "role ferry-queue pid=" in out
    assert f"smtp=127.0.0.1:{srv.port}" in out
    assert "queue: 3 messages, 2 recipients pending, 1 held" in out, out
    assert "to remote.example: 2" in out and "to far.example: 1" in out
    assert "bans: 1 in force" in out
    assert "last errors (" in out and "serve reload-failed" in out
    # Held messages, send-held users and suspended domains.
    assert f"held messages: 1\n  {held} " in out, out
    assert "(by the operator)" in out
    assert [h["id"] for h in s["held_messages"]] == [held]
    assert s["send_held"] == [] and s["suspended_domains"] == []
    assert "outbound: 0 users send-held, 0 domains suspended" in out
    srv.add_domain("quiet.test")
    srv.cli_ok("domain", "suspend", "quiet.test", "--reason", "spam run")
    srv.cli_ok("user", "send-hold", "alice@example.test", "--reason",
               "stolen\x1b[2J password")
    out = srv.cli_ok("status").stdout
    assert "outbound: 1 user send-held, 1 domain suspended" in out, out
    assert "send-held alice@example.test (held by cli: stolen?[2J " \
        "password)" in out
    assert "suspended quiet.test" in out and "\x1b" not in out
    s = json.loads(srv.cli_ok("status", "--json").stdout)
    assert [h["address"] for h in s["send_held"]] == ["alice@example.test"]
    assert [d["domain"] for d in s["suspended_domains"]] == ["quiet.test"]


def test_status_of_a_stopped_server(tmp_path):
    srv = FerryServer(tmp_path / "srv")
    out = srv.cli_ok("status").stdout
    assert out.startswith("server: not running"), out
    assert "queue: 0 messages" in out or "queue: spool unreadable" in out
    assert "last errors: unknown (log_file is not set)" in out
    s = json.loads(srv.cli_ok("status", "--json").stdout)
    assert s["running"] is False and s["roles"] == [] and s["pid"] is None
    assert s["held_messages"] == []
    assert srv.cli("status", "extra").returncode == 2
