"""The short crash loop (issue 17): ten SIGKILLs of the whole process tree
at random moments while clients submit on the SMTP and submission ports
to local and remote (fake MX) recipients; every message answered 250 is
delivered exactly once locally and at least once remotely, and nothing in
the spool or the Maildirs is torn.  The long run (100 kills and more) is
`make crashloop` (tests/stress/crashloop.py); docs/robustness.md has its
figures."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "stress"))

from conftest import FERRY_BIN  # noqa: E402
from crashloop import run  # noqa: E402


def test_crash_loop_ten_kills(tmp_path):
    counts, problems = run(kills=10, threads=4, up_min=0.2, up_max=0.8,
                           workdir=tmp_path, log=lambda *a: None,
                           binary=FERRY_BIN)
    assert not problems, (counts, problems[:20])
    assert counts["kills"] == 10
    # The load was real: mail of every kind was acknowledged.
    assert counts["local_deliveries"] > 50 and counts["remote_deliveries"] > 50, counts
