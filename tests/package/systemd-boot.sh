#!/bin/sh
# Runs as a oneshot service under a real systemd, booted as PID 1 of a
# throwaway overlay of / (tests/package/test_debian.py,
# test_the_unit_under_systemd) after the package was installed: checks
# that ferry.service starts, runs with exactly the privileges and
# sandbox its unit asks for, takes mail, reloads, is restarted after a
# crash and stops cleanly.  Writes to /mnt/out/boot.out, ends with
# "BOOT-OK" or "FAIL: why", and powers the container off either way.
exec >/mnt/out/boot.out 2>&1

# Powers off without asking logind (there is no D-Bus in here).
finish() {
	systemctl --no-block start poweroff.target
	exit 0
}
fail() {
	echo "FAIL: $*"
	systemctl status --no-pager ferry.service 2>&1 | tail -n 20
	tail -n 20 /var/log/ferry/ferry.log 2>/dev/null
	finish
}
step() { echo "== $*"; }
# wait_for CMD...: up to 30 s for CMD to succeed.
wait_for() {
	i=0
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -le 300 ] || return 1
		sleep 0.1
	done
}
count() { find "$1" -type f 2>/dev/null | wc -l; }
has_n() { [ "$(count "$1")" -ge "$2" ]; }
main_pid() { systemctl show -p MainPID --value ferry.service; }
smtp_one() {
	python3 - "$1" <<'PY'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", 25, timeout=20)
s.sendmail("x@remote.test", ["alice@example.test"],
           ("Subject: %s\r\n\r\nunder systemd\r\n" % sys.argv[1]).encode())
s.quit()
PY
}
box=/var/lib/ferry/mail/example.test/alice/new

step "systemd runs ferry.service"
[ "$(cat /proc/1/comm)" = systemd ] || fail "PID 1 is $(cat /proc/1/comm)"
wait_for systemctl is-active --quiet ferry.service ||
    fail "ferry.service is $(systemctl is-active ferry.service)"
pid=$(main_pid)
[ "$pid" -gt 1 ] || fail "no main PID"
wait_for smtp_one "first" || fail "SMTP on port 25"
wait_for has_n "$box" 1 || fail "the first message was not delivered"

step "privileges: user ferry, only CAP_NET_BIND_SERVICE, no new privileges"
[ "$(stat -c %U /proc/"$pid")" = ferry ] ||
    fail "main process runs as $(stat -c %U /proc/"$pid")"
for p in $(pgrep -u ferry); do
	[ "$(awk '/^CapEff/ {print $2}' /proc/"$p"/status)" = \
	    0000000000000400 ] || fail "process $p has capabilities" \
	    "$(awk '/^CapEff/ {print $2}' /proc/"$p"/status)"
	[ "$(awk '/^NoNewPrivs/ {print $2}' /proc/"$p"/status)" = 1 ] ||
	    fail "process $p may gain privileges"
done
[ "$(pgrep -u root -f 'ferry.*serve' | wc -l)" -eq 0 ] ||
    fail "a ferry process runs as root"

step "sandbox: /usr read-only, private /tmp, state directory writable"
# -r: the service's root, else setns() leaves us at the root of the
# namespace, outside the throwaway root.
echo marker >/tmp/host-marker
out=$(nsenter -t "$pid" -m -r -w sh -c 'touch /usr/ferry-probe' 2>&1) &&
    fail "the service can write /usr"
echo "$out" | grep -q 'Read-only file system' ||
    fail "/usr not read-only for the service: $out"
nsenter -t "$pid" -m -r -w test -e /tmp/host-marker &&
    fail "the service sees the host's /tmp"
nsenter -t "$pid" -m -r -w sh -c 'touch /var/lib/ferry/.probe && rm /var/lib/ferry/.probe' ||
    fail "state directory not writable in the service's namespace"

step "sendmail from a local program reaches the running server"
printf 'Subject: cron\n\nfrom cron\n' | sendmail alice@example.test ||
    fail "sendmail"
wait_for has_n "$box" 2 || fail "the sendmail message was not delivered"

step "systemctl reload runs ferry reload: same process, new settings"
ehlo_size() {
	python3 -c 'import smtplib; s = smtplib.SMTP("127.0.0.1", 25, timeout=20); s.ehlo(); print(s.esmtp_features.get("size")); s.quit()'
}
[ "$(ehlo_size)" != 1234567 ] || fail "SIZE 1234567 before the reload"
echo 'message_size_limit = 1234567' >>/etc/ferry/ferry.conf
systemctl reload ferry.service || fail "systemctl reload"
wait_for grep -q 'serve reload' /var/log/ferry/ferry.log ||
    fail "no reload in the log"
size_is() { [ "$(ehlo_size)" = "$1" ]; }
wait_for size_is 1234567 ||
    fail "EHLO says SIZE $(ehlo_size) after the reload"
[ "$(main_pid)" = "$pid" ] || fail "reload restarted the server"
systemctl is-active --quiet ferry.service || fail "inactive after reload"

step "a crash is restarted (Restart=on-failure), mail goes on"
kill -9 "$pid"
restarted() {
	now=$(main_pid)
	[ "$now" -gt 1 ] && [ "$now" != "$pid" ] &&
	    systemctl is-active --quiet ferry.service
}
wait_for restarted || fail "not restarted after SIGKILL"
[ "$(systemctl show -p NRestarts --value ferry.service)" -ge 1 ] ||
    fail "NRestarts is $(systemctl show -p NRestarts --value ferry.service)"
wait_for smtp_one "after restart" || fail "SMTP after the restart"
wait_for has_n "$box" 3 || fail "mail after the restart"

step "systemctl stop: every role gone, stopped cleanly"
systemctl stop ferry.service || fail "systemctl stop"
[ "$(systemctl is-active ferry.service)" = inactive ] ||
    fail "ferry.service is $(systemctl is-active ferry.service) after stop"
[ "$(systemctl show -p Result --value ferry.service)" = success ] ||
    fail "stop result $(systemctl show -p Result --value ferry.service)"
wait_for sh -c '! pgrep -u ferry' || fail "processes left: $(pgrep -u ferry -a)"
has_n "$box" 3 || fail "mail lost"
echo BOOT-OK
finish
