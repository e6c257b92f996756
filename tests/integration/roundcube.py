"""Roundcube (Debian's package) served by `php -S` against a test Ferry.

  roundcube_missing()            why the Roundcube test cannot run here
                                 (a missing package), or None
  RoundcubeServer(dir, srv, ...) a private Roundcube: its config in
                                 DIR/config (loaded through Roundcube's
                                 ROUNDCUBE_CONFIG_DIR, /etc is not
                                 touched), its own SQLite database, temp
                                 and log directories; start()/stop()
  run_browser(script, args)      runs a node script of tests/browser/
                                 with playwright-core and Debian's
                                 chromium

The server `srv` must have an IMAP listener (imap_port, STARTTLS) and a
submission listener (sub_port, STARTTLS), both with the certificate of
srv.ca: Roundcube logs in over STARTTLS and verifies the certificate
against that CA, as a webmail on another host would.
"""

import json
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
from pathlib import Path

from browserdrive import BROWSER_DIR, CHROMIUM, browser_missing
from conftest import free_port, tcp_listening, wait_until

ROUNDCUBE_DIR = Path("/usr/share/roundcube")
ROUNDCUBE_DEFAULTS = Path("/etc/roundcube/defaults.inc.php")
ROUNDCUBE_SCHEMA = ROUNDCUBE_DIR / "SQL" / "sqlite.initial.sql"


def _php_has_modules(*mods):
    php = shutil.which("php")
    if not php:
        return False
    r = subprocess.run([php, "-m"], capture_output=True, text=True, timeout=30)
    have = {l.strip().lower() for l in r.stdout.splitlines()}
    return all(m.lower() in have for m in mods)


def roundcube_missing():
    """A sentence naming what scripts/install-deps could not install, or
    None when everything the Roundcube test needs is here."""
    if not (ROUNDCUBE_DIR / "index.php").is_file() or \
            not ROUNDCUBE_DEFAULTS.is_file() or not ROUNDCUBE_SCHEMA.is_file():
        return "Debian's roundcube (and roundcube-sqlite3) is not installed"
    if not _php_has_modules("pdo_sqlite", "mbstring", "intl", "dom",
                            "openssl"):
        return ("php-cli with the pdo_sqlite, mbstring, intl, xml and "
                "openssl modules is not installed")
    return browser_missing()


def _php_str(s):
    """A PHP single-quoted string literal."""
    return "'" + str(s).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _php(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if v is None:
        return "null"
    if isinstance(v, dict):
        return "[" + ", ".join(f"{_php_str(k)} => {_php(x)}"
                               for k, x in v.items()) + "]"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_php(x) for x in v) + "]"
    return _php_str(v)


class RoundcubeServer:
    """One Roundcube instance for one test, in directory d."""

    def __init__(self, d, srv, overrides=None):
        self.dir = Path(d)
        self.srv = srv
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.config_dir = self.dir / "config"
        self.log_dir = self.dir / "logs"
        self.temp_dir = self.dir / "temp"
        self.db_path = self.dir / "roundcube.db"
        self.proc = None
        self.out_path = self.dir / "php-server.log"
        for p in (self.config_dir, self.log_dir, self.temp_dir):
            p.mkdir(parents=True, exist_ok=True)
        tls = {"ssl": {"verify_peer": True, "verify_peer_name": True,
                       "cafile": str(srv.ca.cert),
                       "peer_name": "127.0.0.1"}}
        self.conf = {
            "db_dsnw": f"sqlite:///{self.db_path}?mode=0600",
            # STARTTLS ("tls://") on Ferry's IMAP and submission ports;
            # the password is sent only after it (Ferry refuses it before).
            "imap_host": f"tls://127.0.0.1:{srv.imap_port}",
            "imap_conn_options": tls,
            "smtp_host": f"tls://127.0.0.1:{srv.sub_port}",
            "smtp_conn_options": tls,
            "smtp_user": "%u",
            "smtp_pass": "%p",
            "smtp_helo_host": "webmail.example.test",
            "des_key": secrets.token_hex(12),
            "plugins": [],
            "skin": "elastic",
            "language": "en_US",
            "log_driver": "file",
            "log_dir": str(self.log_dir),
            "temp_dir": str(self.temp_dir),
            # Every IMAP and SMTP exchange goes to logs/imap and
            # logs/smtp: a failing test prints them.
            "imap_debug": True,
            "smtp_debug": True,
            "enable_installer": False,
            "enable_spellcheck": False,
            "support_url": "",
            "product_name": "Ferry test webmail",
            # Nothing may reach out: no remote resources, no update
            # checks; the session outlives a slow test.
            "session_lifetime": 30,
            "refresh_interval": 0,
            "draft_autosave": 0,
            # Deleting moves to Trash (Roundcube's default, said here
            # because the test relies on it).
            "flag_for_deletion": False,
            "skip_deleted": False,
        }
        if overrides:
            self.conf.update(overrides)

    def write_config(self):
        lines = ["<?php", "// written by tests/integration/roundcube.py",
                 "$config = [];"]
        for k, v in self.conf.items():
            lines.append(f"$config[{_php_str(k)}] = {_php(v)};")
        (self.config_dir / "config.inc.php").write_text("\n".join(lines) + "\n")
        # Roundcube reads defaults.inc.php from its config directory
        # first; the package's copy is the one to use.
        link = self.config_dir / "defaults.inc.php"
        if not link.exists():
            link.symlink_to(ROUNDCUBE_DEFAULTS)

    def init_db(self):
        con = sqlite3.connect(self.db_path)
        try:
            con.executescript(ROUNDCUBE_SCHEMA.read_text())
            con.commit()
        finally:
            con.close()

    def start(self):
        self.write_config()
        self.init_db()
        env = dict(os.environ)
        env["ROUNDCUBE_CONFIG_DIR"] = str(self.config_dir)
        env.pop("RCUBE_CONFIG_PATH", None)
        # The built-in server answers one request at a time unless it
        # forks workers; Roundcube's pages make several at once.
        env["PHP_CLI_SERVER_WORKERS"] = "4"
        self._out = open(self.out_path, "ab")
        self.proc = subprocess.Popen(
            ["php", "-d", "display_errors=stderr", "-d", "log_errors=On",
             "-S", f"127.0.0.1:{self.port}", "-t", str(ROUNDCUBE_DIR)],
            cwd=str(ROUNDCUBE_DIR), env=env, stdin=subprocess.DEVNULL,
            stdout=self._out, stderr=self._out, start_new_session=True)
        wait_until(lambda: self.proc.poll() is not None or
                   tcp_listening(self.port), 15, what="php -S to listen")
        if self.proc.poll() is not None:
            raise AssertionError(f"php -S exited: {self.out_path.read_text()}")
        return self

    def stop(self):
        """Stops the php server and its workers (its own process group,
        made by start_new_session)."""
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        if getattr(self, "_out", None):
            self._out.close()
            self._out = None

    def logs(self, tail=120):
        """The last lines of every Roundcube log and of php -S."""
        out = []
        for p in sorted(self.log_dir.iterdir()) + [self.out_path]:
            try:
                lines = p.read_text(errors="replace").splitlines()
            except OSError:
                continue
            out.append(f"--- {p.name} (last {tail} lines) ---")
            out.extend(lines[-tail:])
        return "\n".join(out)


def run_browser(script, args, timeout=240):
    """Runs `node tests/browser/SCRIPT` with args as JSON on argv;
    returns the CompletedProcess (text)."""
    env = dict(os.environ)
    env["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
    env["FERRY_CHROMIUM"] = CHROMIUM
    return subprocess.run(
        ["node", str(BROWSER_DIR / script), json.dumps(args)],
        cwd=str(BROWSER_DIR), env=env, capture_output=True, text=True,
        timeout=timeout)
