"""Issue 13's account papercuts through the CLI: an alias loop is refused
at `alias add`; `user del` of a user that aliases or the catch-all point
at needs --force and takes it out of them; `domain del` of a domain with
users, aliases or rules needs --force and says what went with it."""

import json

import pytest

from conftest import FerryServer

DOM = "example.test"


@pytest.fixture
def srv(tmp_path):
    s = FerryServer(tmp_path / "srv")
    s.add_domain(DOM)
    s.add_user(f"alice@{DOM}")
    yield s
    s.cleanup()


def aliases(srv):
    return {a["address"]: a["targets"] for a in
            json.loads(srv.cli_ok("alias", "list", "--json").stdout)}


def fails(srv, *args):
    r = srv.cli(*args)
    assert r.returncode == 1, (args, r)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, r.stderr
    return lines[0]


def test_alias_loop_is_refused(srv):
    srv.add_alias(f"a@{DOM}", f"b@{DOM}")
    err = fails(srv, "alias", "add", f"b@{DOM}", f"a@{DOM}")
    assert "alias loop" in err, err
    assert f"b@{DOM} -> a@{DOM} -> b@{DOM}" in err, err
    assert f"b@{DOM}" not in aliases(srv)
    # Longer loops and a self-loop too.
    srv.add_alias(f"c@{DOM}", f"a@{DOM}")
    err = fails(srv, "alias", "add", f"b@{DOM}", f"c@{DOM}")
    assert "alias loop" in err
    err = fails(srv, "alias", "add", f"self@{DOM}", f"self@{DOM}")
    assert "alias loop" in err
    # Replacing an alias so that it closes a loop is refused; the old
    # list stays.
    err = fails(srv, "alias", "add", f"a@{DOM}", f"c@{DOM}")
    assert "alias loop" in err
    assert aliases(srv)[f"a@{DOM}"] == [f"b@{DOM}"]


def test_alias_back_to_a_user_is_no_loop(srv):
    """alice -> alice, friend@remote keeps a copy for alice (resolution
    takes the alias on the path as her mailbox): allowed; so is a chain
    ending in a user, and a cycle through a user."""
    srv.add_alias(f"alice@{DOM}", f"alice@{DOM}", "friend@remote.example")
    srv.add_alias(f"x@{DOM}", f"y@{DOM}")
    srv.add_alias(f"y@{DOM}", f"alice@{DOM}")
    srv.add_alias(f"team@{DOM}", f"alice@{DOM}", f"x@{DOM}")
    assert set(aliases(srv)) >= {f"alice@{DOM}", f"x@{DOM}", f"y@{DOM}"}


def test_user_del_with_aliases_needs_force(srv):
    srv.add_user(f"bob@{DOM}")
    srv.add_alias(f"team@{DOM}", f"alice@{DOM}", f"bob@{DOM}")
    srv.add_alias(f"only@{DOM}", f"bob@{DOM}")
    srv.add_alias(f"@{DOM}", f"bob@{DOM}")
    err = fails(srv, "user", "del", f"bob@{DOM}")
    for name in (f"team@{DOM}", f"only@{DOM}", f"@{DOM} (catch-all)", "--force"):
        assert name in err, err
    assert f"bob@{DOM}" in srv.cli_ok("user", "list").stdout
    assert aliases(srv)[f"team@{DOM}"] == [f"alice@{DOM}", f"bob@{DOM}"]

    out = srv.cli_ok("user", "del", f"bob@{DOM}", "--force").stdout
    assert "1 alias changed, 2 deleted as empty" in out, out
    assert f"bob@{DOM}" not in srv.cli_ok("user", "list").stdout
    a = aliases(srv)
    assert a[f"team@{DOM}"] == [f"alice@{DOM}"]
    assert f"only@{DOM}" not in a and f"@{DOM}" not in a
    # A user nobody points at goes without --force, silently as before.
    srv.add_user(f"carol@{DOM}")
    assert srv.cli_ok("user", "del", f"carol@{DOM}").stdout == ""
    assert srv.cli("user", "list", "--force").returncode == 2


def test_domain_del_with_contents_needs_force(srv):
    srv.add_user(f"bob@{DOM}")
    srv.add_alias(f"team@{DOM}", f"alice@{DOM}")
    srv.cli_ok("rule", "add", DOM, "deny", "sender", "@spam.example")
    err = fails(srv, "domain", "del", DOM)
    assert f"{DOM} has 2 users, 1 alias and 1 rule" in err, err
    assert "--force" in err
    assert DOM in srv.cli_ok("domain", "list").stdout
    out = srv.cli_ok("domain", "del", DOM, "--force").stdout
    assert out.strip() == f"deleted {DOM} with 2 users, 1 alias and 1 rule", out
    assert DOM not in srv.cli_ok("domain", "list").stdout
    assert srv.cli_ok("user", "list").stdout.strip() == ""
    # An empty domain goes without --force.
    srv.add_domain("empty.test")
    assert srv.cli_ok("domain", "del", "empty.test").stdout == ""
    assert srv.cli("domain", "add", "x.test", "--force").returncode == 2
