"""A throwaway PostgreSQL 15 server for the tests (Debian's own binaries).

PgServer(base_dir) runs initdb in base_dir/data and pg_ctl there, with
its Unix socket in base_dir (no TCP listener: nothing else on the machine
can reach it, and no port can clash).  PostgreSQL refuses to run as root,
so when the tests run as root the directory is given to the `postgres`
user (made by Debian's package) and initdb/pg_ctl run under
`runuser -u postgres`.  The cluster uses the C locale and SQL_ASCII, so
text compares and sorts by bytes and any byte string is stored as is,
as SQLite does.

    pg = PgServer().init().start()   # in a new /tmp/ferry-pg-* directory
    url = pg.create_db("ferry")      # postgresql://ferry@/ferry?host=...
    pg.stop(); pg.start()            # a restart, as a fault to survive
    pg.cleanup()

Every wait is bounded (pg_ctl -w -t); nothing here sleeps.
"""

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

PG_BIN = Path(os.environ.get("FERRY_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_USER = "ferry"


def pg_available():
    """None when PostgreSQL can be run here, else why not."""
    for tool in ("initdb", "pg_ctl", "postgres", "psql"):
        if not (PG_BIN / tool).exists() and not shutil.which(tool):
            return f"{PG_BIN / tool} missing (apt-get install postgresql-15)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user"
        if not shutil.which("runuser"):
            return "running as root without runuser"
    return None


class PgServer:
    """base_dir (made, and given to the postgres user when root) must be
    reachable by that user: by default a new directory in /tmp."""

    def __init__(self, base_dir=None, port=5432):
        if base_dir is None:
            base_dir = tempfile.mkdtemp(prefix="ferry-pg-")
        self.dir = Path(base_dir)
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.port = port     # names the socket file only (no TCP)
        self.running = False

    def _tool(self, name):
        p = PG_BIN / name
        return str(p) if p.exists() else shutil.which(name)

    def _run(self, argv, check=True, timeout=60):
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--"] + argv
        return subprocess.run(argv, capture_output=True, text=True,
                              timeout=timeout, check=check, cwd=self.dir)

    def init(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self._run([self._tool("initdb"), "-D", str(self.data), "-U", PG_USER,
                   "--auth=trust", "--locale=C", "-E", "SQL_ASCII",
                   "--no-sync"])
        with open(self.data / "postgresql.conf", "a") as f:
            f.write("listen_addresses = ''\n")
            f.write(f"unix_socket_directories = '{self.dir}'\n")
            f.write(f"port = {self.port}\n")
            f.write("fsync = off\n")
            f.write("max_connections = 200\n")
        return self

    def start(self):
        self._run([self._tool("pg_ctl"), "-D", str(self.data), "-l",
                   str(self.log), "-w", "-t", "60", "start"])
        self.running = True
        return self

    def stop(self, mode="fast"):
        if self.running:
            self._run([self._tool("pg_ctl"), "-D", str(self.data), "-m", mode,
                       "-w", "-t", "60", "stop"], check=False)
            self.running = False

    def url(self, db="ferry"):
        return f"postgresql://{PG_USER}@/{db}?host={self.dir}&port={self.port}"

    def psql(self, sql, db="postgres"):
        """Runs sql with psql; returns stdout (unaligned, tuples only)."""
        r = subprocess.run(
            [self._tool("psql"), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             "-h", str(self.dir), "-p", str(self.port), "-U", PG_USER,
             "-d", db, "-c", sql],
            capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise AssertionError(f"psql {sql!r}: {r.stderr}")
        return r.stdout.strip()

    def create_db(self, name="ferry"):
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def cleanup(self):
        try:
            self.stop(mode="immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def pg():
    """A PostgreSQL server of its own for a test module (skipped when
    PostgreSQL is not installed)."""
    why = pg_available()
    if why:
        pytest.skip(why)
    srv = PgServer().init().start()
    yield srv
    srv.cleanup()
