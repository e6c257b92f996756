"""Debian's chromium driven by playwright-core (tests/browser/) for the
tests of Ferry's own web pages.

  browser_missing()     why a browser test cannot run here (a missing
                        package, naming it), or None
  Chromium(workdir)     one headless chromium for a whole test module:
                        tests/browser/admin_pages.js run under node, fed
                        one JSON command per line; call(op, **args)
                        returns the operation's result, or fails the
                        test with the browser's error, the page it was
                        on and the screenshots taken
  Chromium.stop()

Every screenshot the browser takes is printed ("screenshot: PATH"), so a
failing test shows where to look (pytest prints a failing test's output);
they are written under the test's own tmp dir, never into the tree.
"""

import json
import os
import select
import shutil
import subprocess
from pathlib import Path

from conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
BROWSER_DIR = ROOT / "tests" / "browser"
PLAYWRIGHT = BROWSER_DIR / "node_modules" / "playwright-core"
# A bound on one operation (a page load and a few clicks), only so a
# stuck browser fails the test instead of hanging it.
OP_BOUND = 180


def browser_missing():
    """A sentence naming what scripts/install-deps could not install, or
    None when node, playwright-core and chromium are all here."""
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} (Debian's chromium) is not installed"
    if not shutil.which("node"):
        return "node (Debian's nodejs) is not installed"
    if not (PLAYWRIGHT / "package.json").is_file():
        return (f"playwright-core is not installed in {BROWSER_DIR} "
                "(scripts/install-deps runs npm ci there)")
    return None


class BrowserError(AssertionError):
    pass


class Chromium:
    def __init__(self, workdir, script="admin_pages.js"):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / "node.log"
        env = dict(os.environ)
        env["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
        env["FERRY_CHROMIUM"] = CHROMIUM
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            ["node", str(BROWSER_DIR / script)], cwd=str(BROWSER_DIR),
            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._log, start_new_session=True)
        self._buf = b""
        first = self._read_line()
        if not first.get("ready"):
            raise BrowserError(f"the browser did not start: {first}\n"
                               f"{self.log_tail()}")

    def log_tail(self, n=40):
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def _read_line(self):
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            ready, _, _ = select.select([fd], [], [], OP_BOUND)
            if not ready:
                raise BrowserError(f"the browser did not answer within "
                                   f"{OP_BOUND}s\n{self.log_tail()}")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise BrowserError(f"the browser exited "
                                   f"(status {self.proc.poll()})\n"
                                   f"{self.log_tail()}")
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return json.loads(line)

    def call(self, op, **args):
        cmd = dict(args, op=op)
        self.proc.stdin.write(json.dumps(cmd).encode() + b"\n")
        self.proc.stdin.flush()
        r = self._read_line()
        for p in r.get("shots", []):
            print(f"screenshot: {p}")
        if not r.get("ok"):
            page = r.get("page") or {}
            raise BrowserError(
                f"browser {op} {json.dumps(args)} failed: {r.get('error')}\n"
                f"page: {page.get('url')} (HTTP {page.get('status')}), "
                f"h1 {page.get('h1')!r}, errors {page.get('errors')}, "
                f"console {page.get('console')}\n"
                f"screenshots: {' '.join(r.get('shots', []))}")
        return r["result"]

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(30)
            except (OSError, subprocess.TimeoutExpired):
                os.killpg(self.proc.pid, 9)
                self.proc.wait(10)
        self._log.close()
