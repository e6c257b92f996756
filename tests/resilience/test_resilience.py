"""The resilience suite (issue 12): bench/resilience --quick run in a
network namespace it creates itself (nftables DROP rules on the
namespace's input hook: a provider whose addresses silently drop SYNs, a
resolver that drops queries, a TLS handshake that hangs).  Here only the
behaviour is asserted, never a timing: the figures are the bench's
business (bench/README.md, "Resilience").  Skips when namespaces or
nftables are not available (not root, no ip or nft).

    FERRY_BIN=$PWD/build/ferry /usr/bin/python3 -m pytest -q tests/resilience
"""

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BENCH = os.path.join(REPO, "bench", "resilience")
FERRY_BIN = os.environ.get("FERRY_BIN", os.path.join(REPO, "build", "ferry"))


@pytest.fixture(scope="module")
def result():
    p = subprocess.run([sys.executable, BENCH, "--quick", "--json",
                        "--binary", FERRY_BIN], capture_output=True,
                       text=True, timeout=1200)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    assert lines, f"no result (exit {p.returncode}): {p.stderr[-3000:]}"
    r = json.loads(lines[-1])
    if "skipped" in r:
        pytest.skip("network namespaces unavailable: " + r["skipped"])
    assert "error" not in r, r["error"] + "\n" + p.stderr[-3000:]
    assert p.returncode == 0, p.stderr[-3000:]
    return r


def test_dead_provider_goes_through_fallback(result):
    assert result["provider_via_fallback"]
    assert result["provider_direct_none"]
    # Once known dead, later messages do not try the dead addresses.
    assert result["later_skipped_dead"]


def test_direct_delivery_resumes_after_heal(result):
    assert result["direct_resumed"]
    assert result["reach_up_logged"]


def test_blocked_resolver_set_aside_once(result):
    assert not result["resolver_blocked_asked"]    # its queries were dropped
    assert result["resolver_fallback_answered"]
    assert result["resolver_set_aside"]
    assert result["resolver_set_aside_once"]


def test_tls_hang_remembered(result):
    assert result["tls_broken_remembered"]
    assert result["tls_failed_once"]
