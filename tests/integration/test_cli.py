"""Command line: exit codes (0 ok, 1 failure, 2 usage, one line on
stderr), configuration errors as FILE:LINE, a taken listen address, and
domain/user/alias/queue management."""

import json
import socket
import subprocess

import pytest

from conftest import FERRY_BIN, FerryServer, make_message


@pytest.fixture
def srv(tmp_path):
    """A configured but not started server (CLI only)."""
    s = FerryServer(tmp_path / "srv")
    yield s
    s.cleanup()


def one_line(stderr):
    lines = [l for l in stderr.splitlines() if l.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got {stderr!r}"
    return lines[0]


def serve_fails(srv, timeout=15):
    """Runs `ferry serve` expecting it to refuse to start."""
    try:
        r = subprocess.run([FERRY_BIN, "-c", str(srv.conf_path), "serve"],
                           capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail("ferry serve kept running with a bad configuration")
    return r


# ------------------------------------------------------------ usage

def test_no_command_is_usage_error(srv):
    r = srv.cli()
    assert r.returncode == 2, r
    assert r.stderr.strip(), r


def test_unknown_command_is_usage_error(srv):
    r = srv.cli("frobnicate")
    assert r.returncode == 2, r
    one_line(r.stderr)


@pytest.mark.parametrize("args", [
    ("domain",), ("domain", "add"), ("domain", "bogus", "x.test"),
    ("user",), ("user", "add"), ("alias", "add", "a@example.test"),
    ("queue", "bogus"), ("queue", "show"),
])
def test_missing_or_bad_arguments_are_usage_errors(srv, args):
    r = srv.cli(*args, input="")
    assert r.returncode == 2, (args, r)
    one_line(r.stderr)


def test_help_lists_every_command(srv):
    r = subprocess.run([FERRY_BIN, "--help"], capture_output=True, text=True,
                       timeout=20)
    assert r.returncode == 0, r
    listed = [l.split()[0] for l in r.stdout.splitlines()[2:] if l.strip()]
    for cmd in ("serve", "reload", "stop", "domain", "user", "alias", "queue",
                "check", "ban", "rule", "dkim", "why", "version"):
        assert cmd in listed, (cmd, r.stdout)
    assert "check spf" in r.stdout and "check mx" in r.stdout
    # Every listed command exists (none is "unknown command").
    for cmd in listed:
        u = srv.cli(cmd, "--bogus-option-for-help-test")
        assert "unknown command" not in u.stderr, (cmd, u.stderr)


def test_ferry_conf_environment_names_the_file(srv):
    assert srv.cli("domain", "add", "env.test", use_env=True).returncode == 0
    r = srv.cli("domain", "list", use_env=True)
    assert r.returncode == 0, r
    assert "env.test" in r.stdout


def test_missing_config_file_fails(tmp_path):
    r = subprocess.run([FERRY_BIN, "-c", str(tmp_path / "nope.conf"), "domain", "list"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 1, r
    one_line(r.stderr)


# ------------------------------------------------------------ config errors

BAD_VALUES = [
    ("max_recipients", "lots"),
    ("message_size_limit", "10Q"),
    ("message_size_limit", "-5"),
    ("log_level", "chatty"),
    ("smtp_listen", "not-an-address"),
    ("smtp_listen", "127.0.0.1:99999"),
    ("relay_networks", "300.1.2.0/8"),
    ("relay_networks", "10.0.0.0/33"),
    ("smtp_timeout", "soon"),
    ("local_part_case_sensitive", "maybe"),
    ("max_connections", "-1"),
    ("spamd", "nowhere"),
    ("clamd", "clamd.example"),
    ("spamd", "127.0.0.1:notaport"),
    ("checks", "spf, grylist"),
    ("exempt", "127.0.0.1 spf,bogus"),
    ("exempt", "not-a-net spf"),
]


@pytest.mark.parametrize("key,value", BAD_VALUES)
def test_bad_value_names_file_and_line(srv, key, value):
    srv.conf[key] = value
    srv.write_config()
    lines = srv.conf_path.read_text().splitlines()
    lineno = next(i + 1 for i, l in enumerate(lines) if l.startswith(f"{key} ="))
    r = serve_fails(srv)
    assert r.returncode == 1, r
    assert f"{srv.conf_path}:{lineno}:" in r.stderr, r.stderr


def test_unknown_key_names_file_and_line(srv):
    srv.write_config(extra_lines=["", "# a comment", "frobnication_level = 3"])
    lineno = len(srv.conf_path.read_text().splitlines())
    r = serve_fails(srv)
    assert r.returncode == 1, r
    assert f"{srv.conf_path}:{lineno}:" in r.stderr, r.stderr
    assert "frobnication_level" in r.stderr


@pytest.mark.parametrize("typo,known", [
    ("max_recipient", "max_recipients"),
    ("smtp_lsiten", "smtp_listen"),
    ("SPAMD", "spamd"),
    ("relay_network", "relay_networks"),
])
def test_unknown_key_suggests_the_nearest(srv, typo, known):
    srv.write_config(extra_lines=[f"{typo} = 1"])
    lineno = len(srv.conf_path.read_text().splitlines())
    r = serve_fails(srv)
    assert r.returncode == 1, r
    assert f"{srv.conf_path}:{lineno}:" in r.stderr, r.stderr
    assert f'did you mean "{known}"' in r.stderr, r.stderr


def test_unknown_key_far_from_any_gets_no_suggestion(srv):
    srv.write_config(extra_lines=["zzzzqqqq = 1"])
    r = serve_fails(srv)
    assert r.returncode == 1, r
    assert "did you mean" not in r.stderr, r.stderr


def test_unknown_check_names_the_known_ones(srv):
    srv.write_config(extra_lines=["checks = spf, grylist"])
    r = srv.cli("domain", "list")
    assert r.returncode == 1, r
    line = one_line(r.stderr)
    assert '"grylist"' in line and "greylist" in line, line


@pytest.mark.parametrize("value", [
    "127.0.0.1:783", "[::1]:783", "/run/spamd.sock", "spamd.example:783", ""])
def test_good_scanner_addresses_are_accepted(srv, value):
    srv.conf["spamd"] = value
    srv.conf["clamd"] = value
    srv.write_config()
    r = srv.cli("domain", "list")
    assert r.returncode == 0, r


def test_line_without_equals_is_an_error(srv):
    srv.write_config(extra_lines=["this is not a setting"])
    lineno = len(srv.conf_path.read_text().splitlines())
    r = serve_fails(srv)
    assert r.returncode == 1, r
    assert f"{srv.conf_path}:{lineno}:" in r.stderr, r.stderr


def test_comments_and_blank_lines_are_accepted(srv):
    srv.write_config(extra_lines=["", "   # indented comment", "max_recipients = 7   # trailing"])
    srv.add_domain("example.test")
    srv.start()
    with srv.raw() as c:
        c.ehlo()


def test_listen_address_in_use_is_refused(srv):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", srv.port))
        s.listen(1)
        r = serve_fails(srv)
    assert r.returncode == 1, r
    assert r.stderr.strip(), r
    assert str(srv.port) in r.stderr, r.stderr


def test_relay_networks_may_be_empty(srv):
    srv.set_conf(relay_networks="")
    srv.start()
    assert srv.running()


def test_sizes_and_durations_accept_units(srv):
    srv.set_conf(message_size_limit="2M", smtp_timeout="1m", smtp_data_timeout="90s",
                 queue_lifetime="2d", retry_min="1s", retry_max="1h")
    srv.start()
    with srv.raw() as c:
        r = c.ehlo()
    assert "SIZE 2097152" in r.lines, r


# ------------------------------------------------------------ domains

def test_domain_add_list_del(srv):
    srv.cli_ok("domain", "add", "one.test")
    srv.cli_ok("domain", "add", "two.test")
    out = srv.cli_ok("domain", "list").stdout
    assert "one.test" in out and "two.test" in out
    srv.cli_ok("domain", "del", "one.test")
    out = srv.cli_ok("domain", "list").stdout
    assert "one.test" not in out and "two.test" in out


def test_domain_list_json(srv):
    srv.cli_ok("domain", "add", "one.test")
    r = srv.cli_ok("domain", "list", "--json")
    data = json.loads(r.stdout)
    assert isinstance(data, list)
    assert "one.test" in json.dumps(data)


def test_domain_add_twice_fails(srv):
    srv.cli_ok("domain", "add", "one.test")
    r = srv.cli("domain", "add", "one.test")
    assert r.returncode == 1, r
    one_line(r.stderr)


def test_domain_del_unknown_fails(srv):
    r = srv.cli("domain", "del", "never.test")
    assert r.returncode == 1, r
    one_line(r.stderr)


@pytest.mark.parametrize("bad", ["no dots allowed here!", "a..b", "-x.test", "x" * 300 + ".test"])
def test_domain_add_invalid_name_fails(srv, bad):
    r = srv.cli("domain", "add", bad)
    assert r.returncode in (1, 2), r
    one_line(r.stderr)


# ------------------------------------------------------------ users

def test_user_add_list_del(srv):
    srv.add_domain("example.test")
    srv.add_user("carol@example.test")
    out = srv.cli_ok("user", "list").stdout
    assert "carol@example.test" in out
    r = srv.cli_ok("user", "list", "--json")
    assert "carol@example.test" in json.dumps(json.loads(r.stdout))
    srv.cli_ok("user", "del", "carol@example.test")
    assert "carol@example.test" not in srv.cli_ok("user", "list").stdout


def test_user_add_in_unknown_domain_fails(srv):
    r = srv.cli("user", "add", "carol@nowhere.test", input="secret\n")
    assert r.returncode == 1, r
    one_line(r.stderr)


def test_user_add_twice_fails(srv):
    srv.add_domain("example.test")
    srv.add_user("carol@example.test")
    r = srv.cli("user", "add", "carol@example.test", input="secret\n")
    assert r.returncode == 1, r
    one_line(r.stderr)


def test_user_add_bad_address_fails(srv):
    srv.add_domain("example.test")
    r = srv.cli("user", "add", "not-an-address", input="secret\n")
    assert r.returncode in (1, 2), r
    one_line(r.stderr)


def test_user_add_with_quota_and_change_quota(srv):
    srv.add_domain("example.test")
    srv.cli_ok("user", "add", "carol@example.test", "--quota", "10M", input="secret\n")
    srv.cli_ok("user", "quota", "carol@example.test", "20M")
    r = srv.cli("user", "quota", "carol@example.test", "lots")
    assert r.returncode in (1, 2), r
    r = srv.cli("user", "quota", "nobody@example.test", "1M")
    assert r.returncode == 1, r


def test_user_passwd(srv):
    srv.add_domain("example.test")
    srv.add_user("carol@example.test")
    srv.cli_ok("user", "passwd", "carol@example.test", input="newsecret\n")
    r = srv.cli("user", "passwd", "nobody@example.test", input="x\n")
    assert r.returncode == 1, r


def test_user_add_without_password_fails(srv):
    srv.add_domain("example.test")
    r = srv.cli("user", "add", "carol@example.test", input="")
    assert r.returncode in (1, 2), r
    one_line(r.stderr)


def test_user_del_unknown_fails(srv):
    srv.add_domain("example.test")
    r = srv.cli("user", "del", "nobody@example.test")
    assert r.returncode == 1, r
    one_line(r.stderr)


def test_password_hash_is_not_plaintext(srv):
    srv.add_domain("example.test")
    srv.add_user("carol@example.test", password="Unguessable-Pass-123")
    blob = b"".join(p.read_bytes() for p in srv.state_dir.rglob("*") if p.is_file())
    assert b"Unguessable-Pass-123" not in blob


# ------------------------------------------------------------ aliases

def test_alias_add_list_del(srv):
    srv.add_domain("example.test")
    srv.add_user("carol@example.test")
    srv.cli_ok("alias", "add", "team@example.test", "carol@example.test,someone@remote.example")
    srv.cli_ok("alias", "add", "@example.test", "carol@example.test")
    out = srv.cli_ok("alias", "list").stdout
    assert "team@example.test" in out and "someone@remote.example" in out
    assert "@example.test" in out
    r = srv.cli_ok("alias", "list", "--json")
    assert "team@example.test" in json.dumps(json.loads(r.stdout))
    srv.cli_ok("alias", "del", "team@example.test")
    assert "team@example.test" not in srv.cli_ok("alias", "list").stdout
    r = srv.cli("alias", "del", "team@example.test")
    assert r.returncode == 1, r


def test_alias_in_unknown_domain_fails(srv):
    r = srv.cli("alias", "add", "x@nowhere.test", "y@remote.example")
    assert r.returncode == 1, r
    one_line(r.stderr)


# ------------------------------------------------------------ queue

def test_queue_list_empty(srv):
    srv.add_domain("example.test")
    assert json.loads(srv.cli_ok("queue", "list", "--json").stdout) == []
    srv.cli_ok("queue", "list")


def test_queue_show_and_delete_unknown_fail(srv):
    srv.add_domain("example.test")
    for args in (("queue", "show", "0123456789abcdef"), ("queue", "delete", "0123456789abcdef")):
        r = srv.cli(*args)
        assert r.returncode == 1, (args, r)
        one_line(r.stderr)
    r = srv.cli("queue", "show", "../../etc/passwd")
    assert r.returncode in (1, 2), r


@pytest.mark.ferry_conf(relay_networks="127.0.0.0/8")
def test_queue_list_show_delete(ferry):
    msg = make_message(to="someone@remote.example")
    with ferry.smtp() as s:
        s.sendmail("alice@example.test", ["someone@remote.example"], msg)
    q = ferry.queue_json()
    assert len(q) == 1, q
    m = q[0]
    for key in ("id", "arrival", "sender", "size", "held", "recipients"):
        assert key in m, (key, m)
    assert m["sender"] == "alice@example.test"
    assert m["size"] >= len(msg)
    assert m["held"] is False
    (rc,) = m["recipients"]
    for key in ("orig", "addr", "local", "state", "attempts", "next_attempt", "last_error"):
        assert key in rc, (key, rc)
    assert rc["addr"] == "someone@remote.example"
    assert rc["local"] is False
    out = ferry.cli_ok("queue", "list").stdout
    assert m["id"] in out
    out = ferry.cli_ok("queue", "show", m["id"]).stdout
    assert "someone@remote.example" in out
    ferry.cli_ok("queue", "delete", m["id"])
    assert ferry.queue_json() == []
    assert ferry.cli("queue", "show", m["id"]).returncode == 1
