#!/bin/sh
# Runs inside a throwaway overlay of / (tests/package/test_debian.py):
# installs the package from /mnt/pkg, starts the server as the unit
# would, sends mail the ways local programs do, rotates the log, then
# upgrades over itself, removes and purges, checking the machine at each
# step.  Prints "FAIL: why" and exits 1 at the first surprise.
set -eu

fail() {
	echo "FAIL: $*"
	[ -f /tmp/serve.out ] && tail -n 30 /tmp/serve.out
	exit 1
}
step() { echo "== $*"; }
# wait_for CMD...: up to 20 s for CMD to succeed.
wait_for() {
	i=0
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -le 200 ] || return 1
		sleep 0.1
	done
}
owner_mode() { stat -c '%U:%G %a' "$1"; }
count() { find "$1" -type f 2>/dev/null | wc -l; }
has_n() { [ "$(count "$1")" -ge "$2" ]; }
deb=$(ls /mnt/pkg/ferry_*.deb)
box=/var/lib/ferry/mail/example.test/alice/new

# No service starts by itself in here; other MTAs make way (Conflicts).
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod 755 /usr/sbin/policy-rc.d
for p in $(dpkg-query -W -f '${Package} ${Status} ${Provides}\n' |
    awk '/installed/ && /mail-transport-agent/ {print $1}'); do
	dpkg --purge --force-depends "$p" >/dev/null 2>&1
done

# A throwaway root made from this machine's /: state left on the machine
# by a hand-run ferry must not look like an older install.
rm -rf /etc/ferry /var/lib/ferry /var/spool/ferry /var/log/ferry

step install
dpkg -i "$deb" >/tmp/dpkg.out 2>&1 || { cat /tmp/dpkg.out; fail "dpkg -i"; }
dpkg-query -W -f '${Status}' ferry | grep -q 'install ok installed' ||
    fail "not installed"
getent passwd ferry >/dev/null || fail "no ferry user"
uid=$(id -u ferry)
[ "$(owner_mode /var/lib/ferry)" = "ferry:ferry 750" ] ||
    fail "/var/lib/ferry is $(owner_mode /var/lib/ferry)"
[ "$(owner_mode /var/spool/ferry/maildrop)" = "ferry:ferry 1733" ] ||
    fail "maildrop is $(owner_mode /var/spool/ferry/maildrop)"
[ "$(owner_mode /var/log/ferry/ferry.log)" = "ferry:adm 640" ] ||
    fail "log is $(owner_mode /var/log/ferry/ferry.log)"
[ "$(readlink -f /usr/sbin/sendmail)" = /usr/sbin/ferry ] || fail "sendmail"
[ "$(readlink -f /usr/lib/sendmail)" = /usr/sbin/ferry ] || fail "lib/sendmail"
[ "$(readlink -f /usr/bin/mailq)" = /usr/sbin/ferry ] || fail "mailq"
[ -L /etc/systemd/system/multi-user.target.wants/ferry.service ] ||
    fail "unit not enabled"
out=$(systemd-analyze verify /lib/systemd/system/ferry.service 2>&1) ||
    fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify: $out"
for page in ferry.8 ferry.conf.5 ferry-sendmail.8 sendmail.8 mailq.1; do
	sec=${page##*.}
	w=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 \
	    -l -Tutf8 -Z "/usr/share/man/man$sec/$page.gz" 2>&1 >/dev/null)
	[ -z "$w" ] || fail "man $page: $w"
done

step configure
make-ssl-cert generate-default-snakeoil --force-overwrite
sed -i 's/^#hostname = .*/hostname = mail.example.test/' /etc/ferry/ferry.conf
echo 'dns_resolvers = 127.0.0.1:9' >>/etc/ferry/ferry.conf
ferry domain add example.test
echo 'a password' | ferry user add alice@example.test >/dev/null
ferry domain add mail.example.test
ferry alias add root@mail.example.test alice@example.test
[ "$(stat -c %U /var/lib/ferry/ferry.db)" = ferry ] ||
    fail "ferry.db made by root's CLI belongs to $(stat -c %U /var/lib/ferry/ferry.db)"

step "mail while the server is down waits in the maildrop"
printf 'Subject: early\n\nfrom nobody\n' |
    setpriv --reuid=nobody --regid=nogroup --clear-groups sendmail alice@example.test ||
    fail "sendmail as nobody: $?"
[ "$(count /var/spool/ferry/maildrop)" -eq 1 ] || fail "not in the maildrop"
[ "$(stat -c %U /var/spool/ferry/maildrop/msg.*)" = nobody ] ||
    fail "maildrop file owner"

step "start as the unit does: user ferry, CAP_NET_BIND_SERVICE only"
setpriv --reuid=ferry --regid=ferry --init-groups \
    --inh-caps=-all,+net_bind_service --ambient-caps=-all,+net_bind_service \
    --bounding-set=-all,+net_bind_service --no-new-privs \
    /usr/sbin/ferry -c /etc/ferry/ferry.conf serve >/tmp/serve.out 2>&1 &
wait_for has_n "$box" 1 || fail "the waiting message was not delivered"
grep -rq "from nobody uid $(id -u nobody)" "$box" || fail "Received: uid"
[ "$(count /var/spool/ferry/maildrop)" -eq 0 ] || fail "maildrop not emptied"
python3 - <<'PY' || fail "SMTP on port 25"
import smtplib
s = smtplib.SMTP("127.0.0.1", 25, timeout=20)
s.sendmail("x@remote.test", ["alice@example.test"],
           b"Subject: by smtp\r\n\r\nport 25\r\n")
s.quit()
PY
wait_for has_n "$box" 2 || fail "SMTP message"

step "cron's way: sendmail -t to root"
printf 'To: root\nSubject: cron\n\nCron <root@host> run-parts\n' | sendmail -t ||
    fail "sendmail -t"
wait_for has_n "$box" 3 || fail "sendmail -t to root"
mailq >/dev/null || fail "mailq"
newaliases 2>/dev/null || fail "newaliases"

step "logrotate, and the log is reopened"
logrotate -v -f /etc/logrotate.d/ferry >/tmp/logrotate.out 2>&1 ||
    { cat /tmp/logrotate.out; fail "logrotate"; }
[ -e /var/log/ferry/ferry.log.1 ] || fail "not rotated"
wait_for grep -q 'serve reload' /var/log/ferry/ferry.log ||
    { cat /tmp/logrotate.out; ls -l /var/log/ferry;
    fail "new log file not written after rotation"; }
printf 'Subject: after rotation\n\nx\n' | sendmail alice@example.test
wait_for grep -q 'pickup accepted' /var/log/ferry/ferry.log ||
    fail "the queue role still writes to the old file"
ferry stop >/dev/null || fail "ferry stop"
wait_for sh -c '! pgrep -u ferry ferry' || fail "server still running"

step "upgrade over itself"
dpkg -i "$deb" >/tmp/dpkg.out 2>&1 || { cat /tmp/dpkg.out; fail "upgrade"; }
[ "$(id -u ferry)" = "$uid" ] || fail "ferry user changed"
grep -q '^hostname = mail.example.test' /etc/ferry/ferry.conf ||
    fail "configuration lost on upgrade"
has_n "$box" 4 || fail "mail lost on upgrade"
[ "$(owner_mode /var/spool/ferry/maildrop)" = "ferry:ferry 1733" ] ||
    fail "maildrop mode after upgrade"

step remove
dpkg -r ferry >/tmp/dpkg.out 2>&1 || { cat /tmp/dpkg.out; fail "dpkg -r"; }
[ ! -e /usr/sbin/ferry ] || fail "binary left"
[ ! -e /usr/sbin/sendmail ] || fail "sendmail left"
[ -e /etc/ferry/ferry.conf ] || fail "conffile removed before purge"
has_n "$box" 4 || fail "mail removed by remove"

step "purge keeps mailboxes"
dpkg --purge ferry >/tmp/dpkg.out 2>&1 || { cat /tmp/dpkg.out; fail "purge"; }
[ ! -e /etc/ferry/ferry.conf ] || fail "conffile left after purge"
[ ! -e /var/spool/ferry ] || fail "maildrop left"
[ ! -e /var/log/ferry ] || fail "logs left"
has_n "$box" 4 || fail "purge removed mailboxes"
grep -q 'holds mailboxes' /tmp/dpkg.out || fail "purge did not say why it kept"
[ ! -e /etc/systemd/system/multi-user.target.wants/ferry.service ] ||
    fail "unit still enabled after purge"

step "quickstart writes a new configuration that starts"
dpkg -i "$deb" >/tmp/dpkg.out 2>&1 || { cat /tmp/dpkg.out; fail "reinstall"; }
rm -f /etc/ferry/ferry.conf
ferry quickstart example.org --hostname mx1.example.org >/tmp/qs.out 2>&1 ||
    { cat /tmp/qs.out; fail "quickstart"; }
grep -q '^hostname = mx1.example.org' /etc/ferry/ferry.conf || fail "qs conf"
grep -q 'IN MX 10 mx1.example.org.' /tmp/qs.out || fail "qs MX record"
setpriv --reuid=ferry --regid=ferry --init-groups \
    --inh-caps=-all,+net_bind_service --ambient-caps=-all,+net_bind_service \
    --bounding-set=-all,+net_bind_service --no-new-privs \
    /usr/sbin/ferry serve >/tmp/serve.out 2>&1 &
printf 'Subject: qs\n\nx\n' | sendmail abuse@example.org
wait_for has_n /var/lib/ferry/mail/example.org/postmaster/new 1 ||
    fail "mail for the quickstart domain"
ferry stop >/dev/null || fail "ferry stop (quickstart)"
wait_for sh -c '! pgrep -u ferry ferry' || fail "server still running"
dpkg --purge ferry >/tmp/dpkg.out 2>&1 || { cat /tmp/dpkg.out; fail "purge qs"; }

step "purge without mail removes the state"
rm -rf /var/lib/ferry
dpkg -i "$deb" >/tmp/dpkg.out 2>&1 || { cat /tmp/dpkg.out; fail "reinstall"; }
dpkg --purge ferry >/tmp/dpkg.out 2>&1 || { cat /tmp/dpkg.out; fail "purge 2"; }
[ ! -e /var/lib/ferry ] || fail "/var/lib/ferry left after purge"
echo LIFECYCLE-OK
