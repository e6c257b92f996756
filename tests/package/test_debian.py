"""Installing Ferry (issue 16): `make install` with PREFIX and DESTDIR, and
the Debian package built with `dpkg-buildpackage -us -uc -b`, its
contents, lintian, the manual pages, and its whole life (install, start
as the unit does, local mail, log rotation, upgrade, remove, purge) in a
throwaway root: an overlay of / in private mount, PID and network
namespaces, so nothing touches this machine's real root or network.

Slow (the package build takes one to three minutes): `make package-test`
runs it, outside the parallel integration suite.  FERRY_DEB_DIR=DIR uses
the .deb already built in DIR instead of building one.
"""

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def overlay_run(inner, binds=(), timeout=600, boot=None):
    """Runs the shell script `inner` as root chrooted into an overlay of
    / (upper layer on a tmpfs that vanishes with the namespaces), with
    /proc, /sys, /dev, a fresh /run, a loopback-only network and each
    (host_dir, path) of binds mounted.  Returns (CompletedProcess, the
    list of paths the script changed, relative to /).

    With boot (unit file name -> text, one of them ferry-ci.target),
    when `inner` succeeds the root then boots a real systemd as its PID
    1 into ferry-ci.target (not the machine's default target); a unit
    of it ends the boot with `systemctl poweroff`.  What it writes to
    /mnt/out/boot.out comes back as r.boot."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) for a throwaway root")
    tmp = Path(tempfile.mkdtemp(prefix="ferry-ovl-"))
    out = Path(tempfile.mkdtemp(prefix="ferry-ovl-out-"))
    (out / "inner.sh").write_text(inner)
    mounts = "".join(
        f'mkdir -p "$r{p}" && mount --bind "{d}" "$r{p}"\n' for d, p in binds)
    boot_sh = ""
    if boot:
        (out / "units").mkdir()
        for name, text in boot.items():
            (out / "units" / name).write_text(text)
        # The machine's cgroup hierarchies for systemd; its own /run.
        boot_sh = f"""[ $rc -eq 0 ] || exit $rc
mkdir -p $r/mnt/out && mount --bind {out} $r/mnt/out
cp {out}/units/* $r/etc/systemd/system/
mount --rbind /sys/fs/cgroup $r/sys/fs/cgroup
exec chroot $r env container=ferry-test /lib/systemd/systemd \\
    --unit=ferry-ci.target --log-target=console
"""
    outer = f"""set -e
t={tmp}; r=$t/root
mount -t tmpfs tmpfs $t
mkdir $t/up $t/work $r
mount -t overlay overlay -o lowerdir=/,upperdir=$t/up,workdir=$t/work $r
mount -t proc proc $r/proc
mount -t sysfs sysfs $r/sys
mount --rbind /dev $r/dev
mount -t tmpfs tmpfs $r/run
mkdir -p $r/tmp && mount -t tmpfs tmpfs $r/tmp
{mounts}ip link set lo up
cp {out}/inner.sh $r/run/inner.sh
set +e
chroot $r /bin/sh /run/inner.sh > {out}/stdout 2>&1
rc=$?
(cd $t/up && find . -mindepth 1 \\( -type f -o -type l \\) -print) > {out}/changed
{boot_sh}exit $rc
"""
    try:
        r = subprocess.run(["unshare", "--mount", "--net", "--pid", "--fork",
                            "--kill-child", "--mount-proc", "sh", "-c",
                            outer],
                           capture_output=True, text=True, timeout=timeout)
        if "unshare failed" in r.stderr or "Operation not permitted" in r.stderr:
            pytest.skip(f"no namespaces here: {r.stderr.strip()}")
        r.console = r.stdout
        r.boot = (out / "boot.out").read_text() if \
            (out / "boot.out").exists() else ""
        r.stdout = (out / "stdout").read_text() if (out / "stdout").exists() \
            else r.stdout
        changed = [c[1:] for c in (out / "changed").read_text().split("\n")
                   if c] if (out / "changed").exists() else []
        return r, changed
    finally:
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


def copy_tree(dst):
    """The working tree (committed or not) without build outputs."""
    ignore = shutil.ignore_patterns("build", "build-*", "node_modules",
                                    ".git", "__pycache__", ".pytest_cache",
                                    "run")
    shutil.copytree(ROOT, dst, ignore=ignore, symlinks=True)


@pytest.fixture(scope="session")
def deb_dir(tmp_path_factory):
    given = os.environ.get("FERRY_DEB_DIR")
    if given:
        return Path(given)
    if shutil.which("dpkg-buildpackage") is None or \
            shutil.which("dh") is None:
        pytest.fail("dpkg-buildpackage or debhelper missing "
                    "(scripts/install-deps installs them)")
    base = tmp_path_factory.mktemp("deb")
    src = base / "ferry"
    copy_tree(src)
    r = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b", "-j2"],
                       cwd=src, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    out = base / "out"
    out.mkdir()
    for f in base.iterdir():
        if f.is_file() and f.name.startswith("ferry"):
            shutil.move(str(f), out / f.name)
    return out


def deb_file(deb_dir):
    debs = [p for p in deb_dir.glob("ferry_*.deb")]
    assert len(debs) == 1, debs
    return debs[0]


def test_package_contents(deb_dir):
    deb = deb_file(deb_dir)
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True,
                             text=True, check=True).stdout
    entries = {}
    for line in listing.splitlines():
        parts = line.split()
        path = parts[5][1:]
        entries[path] = (parts[0], parts[1], parts[6:] if len(parts) > 6 else [])
    for path, mode in [("/usr/sbin/ferry", "-rwxr-xr-x"),
                       ("/etc/ferry/ferry.conf", "-rw-r--r--"),
                       ("/lib/systemd/system/ferry.service", "-rw-r--r--"),
                       ("/etc/logrotate.d/ferry", "-rw-r--r--"),
                       ("/usr/share/man/man8/ferry.8.gz", "-rw-r--r--"),
                       ("/usr/share/man/man5/ferry.conf.5.gz", "-rw-r--r--"),
                       ("/usr/share/man/man8/ferry-sendmail.8.gz", "-rw-r--r--"),
                       ("/usr/share/doc/ferry/copyright", "-rw-r--r--"),
                       ("/usr/share/ferry/providers.conf", "-rw-r--r--")]:
        assert path in entries, f"{path} missing from the package"
        assert entries[path][0] == mode and entries[path][1] == "root/root"
    for link, target in [("/usr/sbin/sendmail", "ferry"),
                         ("/usr/sbin/newaliases", "ferry"),
                         ("/usr/bin/mailq", "../sbin/ferry"),
                         ("/usr/lib/sendmail", "../sbin/sendmail")]:
        assert entries[link][0].startswith("l")
        assert entries[link][2][-1] == target
    # Nothing the package would own in the state or spool directories
    # (the postinst makes them, with their owners).
    assert not [p for p in entries if p.startswith(("/var/", "/home/", "/tmp/"))]
    fields = subprocess.run(["dpkg-deb", "-f", str(deb)], capture_output=True,
                            text=True, check=True).stdout
    for field in ("Provides", "Conflicts", "Replaces"):
        assert re.search(rf"^{field}: .*\bmail-transport-agent\b", fields, re.M)
    conffiles = subprocess.run(["dpkg-deb", "--ctrl-tarfile", str(deb)],
                               capture_output=True, check=True).stdout
    assert b"conffiles" in conffiles


def test_lintian_finds_no_errors_or_warnings(deb_dir):
    if shutil.which("lintian") is None:
        pytest.fail("lintian missing (scripts/install-deps installs it)")
    r = subprocess.run(["lintian", "--tag-display-limit", "0",
                        str(deb_file(deb_dir))],
                       capture_output=True, text=True, timeout=300)
    tags = [ln for ln in r.stdout.splitlines() if re.match(r"^[EW]: ", ln)]
    assert tags == [], "\n".join(tags)


def test_conf_man_page_has_every_key():
    """ferry.conf(5) comes from docs/: every key of the parser's table
    must be in it (a key documented nowhere fails here)."""
    page = subprocess.run(
        [str(ROOT / "scripts/gen-conf-man"), str(ROOT / "docs/configuration.md"),
         str(ROOT / "docs/checks.md")], capture_output=True, text=True,
        check=True).stdout
    text = re.sub(r"\\f[BIRP]", " ", page.replace("\\-", "-"))
    keys = re.findall(r'^\t\{ "([a-z0-9_]+)",', (ROOT / "src/conf/conf.c")
                      .read_text(), re.M)
    assert len(keys) > 50
    missing = [k for k in keys if not re.search(rf"\b{k}\b", text)]
    assert missing == []
    r = subprocess.run(["groff", "-man", "-ww", "-z"], input=page,
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr == ""


@pytest.mark.parametrize("page", ["man/ferry.8", "man/ferry-sendmail.8"])
def test_hand_written_man_pages_render_without_warnings(page):
    env = dict(os.environ, LC_ALL="C.UTF-8", MANROFFSEQ="", MANWIDTH="80")
    r = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8",
                        "-Z", str(ROOT / page)], capture_output=True,
                       text=True, env=env)
    assert r.returncode == 0 and r.stderr == ""
    r = subprocess.run(["groff", "-man", "-ww", "-z", str(ROOT / page)],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr == ""


def test_make_install_stays_in_destdir():
    """make install PREFIX=/usr DESTDIR=D SENDMAIL=yes in a throwaway
    root: every file it writes is under D, in its place."""
    build = ROOT / "build"
    if not (build / "ferry").exists():
        pytest.fail("build/ferry missing (run make)")
    dest = "/tmp/ferry-destdir"
    inner = f"""set -e
cd {ROOT}
make --no-print-directory -s install PREFIX=/usr DESTDIR={dest} SENDMAIL=yes
find {dest} \\( -type f -o -type l \\) | sort
"""
    r, changed = overlay_run(inner)
    assert r.returncode == 0, r.stdout + r.stderr
    outside = [c for c in changed
               if not c.startswith(dest + "/") and not c.startswith(
                   str(ROOT / "build") + "/")]
    assert outside == []
    files = set(r.stdout.split())
    for rel in ("/usr/sbin/ferry", "/usr/sbin/sendmail", "/usr/bin/mailq",
                "/usr/sbin/newaliases", "/etc/ferry/ferry.conf",
                "/usr/share/man/man8/ferry.8",
                "/usr/share/man/man5/ferry.conf.5",
                "/usr/share/man/man8/ferry-sendmail.8",
                "/usr/share/doc/ferry/quickstart.md",
                "/usr/share/ferry/providers.conf",
                "/usr/share/doc/ferry/examples/ferry.conf",
                "/usr/share/doc/ferry/examples/ferry.service"):
        assert dest + rel in files, rel
    # PREFIX=/usr/local: configuration under the prefix, no sendmail.
    inner = f"""set -e
cd {ROOT}
make --no-print-directory -s install DESTDIR={dest}
find {dest} \\( -type f -o -type l \\) | sort
"""
    r, changed = overlay_run(inner)
    assert r.returncode == 0, r.stdout + r.stderr
    files = set(r.stdout.split())
    assert dest + "/usr/local/sbin/ferry" in files
    assert dest + "/usr/local/etc/ferry/ferry.conf" in files
    assert not [f for f in files if "sendmail" in f and "ferry-sendmail" not in f]


def test_lifecycle_in_a_throwaway_root(deb_dir):
    r, changed = overlay_run((HERE / "lifecycle.sh").read_text(),
                             binds=[(str(deb_dir), "/mnt/pkg")], timeout=600)
    assert r.returncode == 0 and "LIFECYCLE-OK" in r.stdout, \
        r.stdout[-6000:] + r.stderr[-2000:]


BOOT_UNITS = {
    "ferry-ci.target": """[Unit]
Description=Ferry under systemd (test)
Wants=ferry.service ferry-ci-check.service
After=ferry.service ferry-ci-check.service
JobTimeoutSec=300
JobTimeoutAction=poweroff-force
""",
    "ferry-ci-check.service": """[Unit]
Description=Checks of ferry.service (tests/package/systemd-boot.sh)
After=ferry.service

[Service]
Type=oneshot
ExecStart=/bin/sh /mnt/tests/systemd-boot.sh
TimeoutStartSec=240
""",
}

BOOT_SETUP = """set -eu
printf '#!/bin/sh\\nexit 101\\n' >/usr/sbin/policy-rc.d
chmod 755 /usr/sbin/policy-rc.d
for p in $(dpkg-query -W -f '${Package} ${Status} ${Provides}\\n' |
    awk '/installed/ && /mail-transport-agent/ {print $1}'); do
	dpkg --purge --force-depends "$p" >/dev/null 2>&1
done
rm -rf /etc/ferry /var/lib/ferry /var/spool/ferry /var/log/ferry
dpkg -i /mnt/pkg/ferry_*.deb >/tmp/dpkg.out 2>&1 || { cat /tmp/dpkg.out; exit 1; }
rm /usr/sbin/policy-rc.d
make-ssl-cert generate-default-snakeoil --force-overwrite
sed -i 's/^#hostname = .*/hostname = mail.example.test/' /etc/ferry/ferry.conf
echo 'dns_resolvers = 127.0.0.1:9' >>/etc/ferry/ferry.conf
ferry domain add example.test
echo 'a password' | ferry user add alice@example.test >/dev/null
[ -L /etc/systemd/system/multi-user.target.wants/ferry.service ]
echo SETUP-OK
"""


def test_the_unit_under_systemd(deb_dir):
    """The installed unit run by a real systemd (PID 1 of a throwaway
    root): it starts, its processes have only CAP_NET_BIND_SERVICE and
    the sandbox it asks for, it takes mail over SMTP and sendmail,
    `systemctl reload` reloads in place, a SIGKILLed server is
    restarted, and `systemctl stop` leaves no process behind."""
    if not os.path.exists("/lib/systemd/systemd"):
        pytest.skip("systemd is not installed")
    r, _ = overlay_run(BOOT_SETUP, binds=[(str(deb_dir), "/mnt/pkg"),
                                          (str(HERE), "/mnt/tests")],
                       timeout=420, boot=BOOT_UNITS)
    assert "SETUP-OK" in r.stdout, r.stdout[-3000:] + r.stderr[-2000:]
    assert r.boot.rstrip().endswith("BOOT-OK"), \
        r.boot[-4000:] + "\n--- console ---\n" + r.console[-3000:] + \
        r.stderr[-2000:]
