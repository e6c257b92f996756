"""A real third-party client: swaks."""

import shutil
import subprocess

import pytest

from conftest import header

SWAKS = shutil.which("swaks")

pytestmark = pytest.mark.skipif(SWAKS is None, reason="swaks not installed (scripts/install-deps)")


def swaks(ferry, *args, timeout=30):
    argv = [SWAKS, "--server", f"127.0.0.1:{ferry.port}", "--helo", "client.example",
            "--from", "sender@remote.example", "--timeout", "20", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def test_swaks_basic(ferry):
    r = swaks(ferry, "--to", "alice@example.test", "--header", "Subject: swaks basic",
              "--body", "Hello from swaks.")
    assert r.returncode == 0, r.stdout + r.stderr
    (m,) = ferry.wait_delivered("alice@example.test")
    assert header(m, "Subject") == ["swaks basic"]
    assert b"Hello from swaks." in m


def test_swaks_pipeline(ferry):
    r = swaks(ferry, "--pipeline", "--to", "alice@example.test,bob@example.test",
              "--header", "Subject: swaks pipelined", "--body", "Pipelined.")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PIPELINING" in r.stdout
    for u in ("alice@example.test", "bob@example.test"):
        (m,) = ferry.wait_delivered(u)
        assert header(m, "Subject") == ["swaks pipelined"]


def test_swaks_unknown_recipient_fails(ferry):
    r = swaks(ferry, "--to", "nobody@example.test")
    assert r.returncode != 0, r.stdout
    assert "550 5.1.1" in r.stdout, r.stdout


def test_swaks_8bit_body(ferry):
    body = "Grüße, ça va? 日本"
    r = swaks(ferry, "--to", "bob@example.test", "--header", "Subject: swaks 8bit",
              "--header", "Content-Type: text/plain; charset=utf-8",
              "--body", body)
    assert r.returncode == 0, r.stdout + r.stderr
    (m,) = ferry.wait_delivered("bob@example.test")
    assert body.encode("utf-8") in m
