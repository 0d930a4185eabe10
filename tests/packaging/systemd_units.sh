#!/usr/bin/env bash
# The packaged units under a real systemd, on a machine where systemd is not PID 1 (CI,
# containers): installs the .deb, boots systemd as PID 1 of throwaway namespaces
# (systemd_namespace.sh: private /run, /tmp, /dev, network; only the units this test needs are
# loadable, checked before it boots) and asserts what the units promise:
#   - fsmirror.service (Type=notify) becomes active once fsmirror says READY=1, with a
#     StatusText, and mirrors a file; the shipped sandbox blocks fanotify, so `events: fanotify`
#     falls back to inotify and the journal says why;
#   - fsmirror@fanotify.service with the fanotify drop-in of docs/configuration.md becomes
#     active and mirrors with fanotify;
#   - fsmirror-health.timer is loaded and active; fsmirror-health.service and
#     fsmirror-health@fanotify.service run `fsmirror health` and find their own daemon healthy;
#   - SIGKILL of the daemon is restarted by Restart=on-failure (NRestarts=1), and the restarted
#     daemon mirrors;
#   - fsmirror@broken.service (a typo in its configuration) fails for good, and its OnFailure=
#     unit mails the unit name, what is wrong and the journal through `fsmirror alert` to a real
#     SMTP server (aiosmtpd) on the namespace's loopback; fsmirror@nosource.service (its source
#     does not exist) is restarted every 10 s, and its health check fails and is mailed.
#
# Usage: tests/packaging/systemd_units.sh [--build-dir DIR] [--keep]
#   --build-dir DIR  package the fsmirror already built in DIR (see build_deb.sh)
#   --keep           leave the package installed and the scratch directory (not the namespace)
# Needs root, dpkg-deb, python3-aiosmtpd and what systemd_namespace.sh needs (unshare, nsenter,
# a cgroup2 hierarchy, systemd installed). Exit status: 0 passed, 1 failed, 4 skipped.
set -uo pipefail
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=""
keep=false
while [ $# -gt 0 ]; do
  case $1 in
    --build-dir) build_dir=$(cd "$2" && pwd); shift 2 ;;
    --keep) keep=true; shift ;;
    *) echo "usage: $0 [--build-dir DIR] [--keep]" >&2; exit 2 ;;
  esac
done
source "$source_dir/tests/packaging/systemd_namespace.sh"

skip() { echo "SKIPPED: $*"; exit 4; }
[ "$(id -u)" -eq 0 ] || skip "needs root to install the package and create namespaces"
command -v dpkg-deb >/dev/null || skip "dpkg-deb is missing"
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null ||
  skip "python3-aiosmtpd is missing (scripts/install-deps.sh installs it)"
if reason=$(ns_unavailable); then skip "no systemd in a namespace here: $reason"; fi

started=$SECONDS
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
not_ok() { failed=$((failed + 1)); echo "FAIL $*"; }
step() { echo; echo "== $*"; }
check() { # check DESCRIPTION COMMAND...: one assertion
  local description=$1
  shift
  local output
  if output=$("$@" 2>&1); then ok "$description"; else
    not_ok "$description"
    printf '%s\n' "$output" | tail -40 | sed 's/^/     /'
  fi
}
# wait_until SECONDS COMMAND...: polls until COMMAND succeeds; false after SECONDS.
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}
# unit_property UNIT PROPERTY: its value as the namespace's systemd reports it.
unit_property() { ns_exec systemctl show --value -p "$2" "$1"; }
unit_is() { [ "$(unit_property "$1" "$2")" = "$3" ]; }
# properties_are UNIT EXPECTED PROPERTY...: the values, joined by spaces, are EXPECTED.
properties_are() {
  local unit=$1 expected=$2 actual="" property
  shift 2
  for property in "$@"; do actual+="${actual:+ }$(unit_property "$unit" "$property")"; done
  [ "$actual" = "$expected" ] || { echo "$unit: $* = $actual, not $expected"; return 1; }
}
journal_of() { ns_exec journalctl --no-pager -o cat -u "$1"; }
# journal_has UNIT REGEX: a line of UNIT's journal matches.
journal_has() { journal_of "$1" | grep -Eq "$2" || { journal_of "$1" | tail -20; return 1; }; }
# same_file A B: B exists with A's content.
same_file() { cmp -s "$1" "$2"; }

work=$(mktemp -d /tmp/fsmirror-systemd-units.XXXXXX)
installed_by_us=false
cleanup() {
  ns_shutdown
  if ! $keep; then
    $installed_by_us && dpkg --purge fsmirror >/dev/null 2>&1
    rm -rf "$work"
  fi
}
trap cleanup EXIT

# The package is installed machine-wide: one packaging test at a time on this machine (ctest's
# RESOURCE_LOCK serialises them only within one ctest run).
exec {package_lock}>/run/lock/fsmirror-packaging-tests.lock
flock -w 300 "$package_lock" || { echo "FAIL another packaging test held the package lock for 5 minutes"; exit 1; }

step "build and install the .deb"
deb=$("$source_dir/tests/packaging/build_deb.sh" "$work" ${build_dir:+"$build_dir"}) || exit 1
dpkg -s fsmirror >/dev/null 2>&1 && echo "note: replacing the fsmirror package already installed"
if dpkg -i "$deb" >"$work/dpkg.log" 2>&1; then
  installed_by_us=true
  ok "dpkg -i $(basename "$deb")"
else
  not_ok "dpkg -i $(basename "$deb")"
  cat "$work/dpkg.log"
  exit 1
fi

# --- what the namespace's systemd gets ------------------------------------------------------
# The boot unit pulls in the journal and nothing else; the test starts the fsmirror units.
# sysinit.target stays loadable because every service Requires= it (default dependencies);
# what it wants is masked.
allow='^(fsmirror.*\.(service|timer)|fsmirror-test\.target|sysinit\.target|systemd-journald\.(service|socket))$'
seed=$work/seed
units=$seed/etc/systemd/system
configs=$seed/etc/fsmirror
data=/srv/fsmirror-test # inside the namespace (a private tmpfs)
mkdir -p "$units" "$configs" "$seed$data/source/dir" "$seed$data/fanotify-source" \
         "$seed$data/target" "$seed$data/fanotify-target" "$seed$data/syscalls-only-target"
cat >"$units/fsmirror-test.target" <<'EOF'
[Unit]
Description=fsmirror packaging test: the journal, nothing else
DefaultDependencies=no
Wants=systemd-journald.socket systemd-journald.service
EOF
# What every site adds (fsmirror.service's header): where the service may write.
may_write() { # may_write UNIT PATH
  mkdir -p "$units/$1.d"
  printf '[Service]\nReadWritePaths=%s\n' "$2" >"$units/$1.d/target.conf"
}
may_write fsmirror.service "$data/target"
may_write fsmirror@fanotify.service "$data/fanotify-target"
may_write fsmirror@syscalls-only.service "$data/syscalls-only-target"
# Allowing the system calls alone is not enough: fanotify's filesystem marks need CAP_SYS_ADMIN.
printf '[Service]\nSystemCallFilter=fanotify_init fanotify_mark open_by_handle_at\n' \
  >"$units/fsmirror@syscalls-only.service.d/fanotify.conf"
# The drop-in docs/configuration.md gives for fanotify, as it stands there.
awk '/^### fanotify under systemd/ {section = 1} section && /^```ini$/ {block = 1; next}
     block && /^```$/ {exit} block {print}' "$source_dir/docs/configuration.md" \
  >"$units/fsmirror@fanotify.service.d/fanotify.conf"
alerts="alerts:
  email:
    to: [ops@example.org]
    from: fsmirror@test.invalid
    smtp_url: smtp://127.0.0.1:2525"
cat >"$configs/fsmirror.yml" <<EOF
syncs:
  - name: main
    source: $data/source
    target: $data/target
    delay: 0.2
    events: fanotify
status_interval: 1
$alerts
EOF
for name in fanotify syscalls-only; do
  cat >"$configs/$name.yml" <<EOF
syncs:
  - name: $name
    source: $data/fanotify-source
    target: $data/$name-target
    delay: 0.2
    events: fanotify
status_interval: 1
EOF
done
# A typo fails the unit for good (exit 2); a missing source (an unmounted volume, say) is
# retried every RestartSec for ever. Both must reach the operator.
cat >"$configs/broken.yml" <<EOF
syncs:
  - name: broken
    source: $data/source
    target: $data/target-broken
    dealy: 0.2
$alerts
EOF
# Its own recipient: the mail about its health check must use this file's alert settings.
cat >"$configs/nosource.yml" <<EOF
syncs:
  - name: nosource
    source: $data/no-such-source
    target: $data/target-nosource
${alerts/ops@example.org/storage-team@example.org}
EOF
printf 'initial\n' >"$seed$data/source/dir/initial"

step "boot systemd in namespaces"
check "the drop-in of docs/configuration.md widens the sandbox for fanotify" \
  grep -q '^SystemCallFilter=.*fanotify_init' "$units/fsmirror@fanotify.service.d/fanotify.conf"
file_max_before=$(cat /proc/sys/fs/file-max /proc/sys/fs/nr_open)
hostname_before=$(hostname)
if ! ns_boot "$work/boot.log" "$seed" "$allow" fsmirror-test.target; then
  not_ok "systemd booted fsmirror-test.target"
  cat "$work/boot.log"
  exit 1
fi
ok "systemd booted fsmirror-test.target: $(grep 'only loadable' "$work/boot.log" | sed 's/.*: //')"
root=$(ns_root)
# A real SMTP server on the namespace's loopback, inside it (so it dies with it).
mail_dir=$root/run/smtp-sink
ns_exec mkdir /run/smtp-sink
# Copied in: the namespace has its own /tmp, /srv, ... where this checkout may live.
cp "$source_dir/tests/integration/smtp_sink.py" "$root/run/smtp_sink.py"
ns_exec /usr/bin/python3 /run/smtp_sink.py --dir /run/smtp-sink \
  --port 2525 --port-file /run/smtp-sink.port >"$work/smtp.log" 2>&1 &
wait_until 20 test -s "$root/run/smtp-sink.port" ||
  { not_ok "the SMTP sink did not start"; cat "$work/smtp.log"; exit 1; }

step "fsmirror.service and the fanotify instances"
ns_exec systemctl start --no-block fsmirror@broken.service fsmirror@nosource.service
# A blocking start of a Type=notify unit returns once READY=1 came (or it failed).
daemons=(fsmirror.service fsmirror@fanotify.service fsmirror@syscalls-only.service)
if ns_exec timeout 90 systemctl start "${daemons[@]}"; then
  ok "systemctl start ${daemons[*]} returned"
else
  not_ok "systemctl start ${daemons[*]}"
  ns_exec systemctl status --no-pager "${daemons[@]}" | tail -40
fi
for unit in "${daemons[@]}"; do
  check "$unit is Type=notify, active and running" \
    properties_are "$unit" "notify active running" Type ActiveState SubState
  status_text=$(unit_property "$unit" StatusText)
  check "$unit reports a StatusText ($status_text)" grep -q '^mirroring: ' <<<"$status_text"
done
check "the initial sync mirrored the source" \
  same_file "$root$data/source/dir/initial" "$root$data/target/dir/initial"
printf 'new\n' >"$root$data/source/dir/new"
check "a new file is mirrored by fsmirror.service" \
  wait_until 30 same_file "$root$data/source/dir/new" "$root$data/target/dir/new"
printf 'fanotify\n' >"$root$data/fanotify-source/file"
check "a new file is mirrored by fsmirror@fanotify.service" \
  wait_until 30 same_file "$root$data/fanotify-source/file" "$root$data/fanotify-target/file"
check "the shipped sandbox blocks fanotify: fsmirror.service says so and uses inotify" \
  journal_has fsmirror.service 'fanotify cannot watch .*CAP_SYS_ADMIN.*; using inotify instead'
check "with the documented drop-in, fsmirror@fanotify.service uses fanotify" \
  journal_has fsmirror@fanotify.service 'events from fanotify'
check "allowing only the system calls is not enough (no CAP_SYS_ADMIN): inotify" \
  journal_has fsmirror@syscalls-only.service 'fanotify cannot watch .*CAP_SYS_ADMIN.*; using inotify instead'

step "the health check"
ns_exec systemctl start fsmirror-health.timer
check "fsmirror-health.timer is loaded and active" \
  properties_are fsmirror-health.timer "loaded active" LoadState ActiveState
check "fsmirror-health.timer fires every 5 minutes" \
  grep -q 'OnUnitActiveUSec=5min' <<<"$(unit_property fsmirror-health.timer TimersMonotonic)"
# Each daemon has its own status.json (fsmirror@NAME.service's StateDirectory=fsmirror/NAME):
# with both daemons running, each check reads its own daemon's, and finds it healthy (exit 0,
# not the warning "configured, but not in the daemon's status").
for unit in fsmirror-health.service fsmirror-health@fanotify.service; do
  ns_exec timeout 60 systemctl start "$unit"
  check "$unit ran \`fsmirror health\`: OK" properties_are "$unit" "success 0" Result ExecMainStatus
  check "$unit logged its verdict" journal_has "$unit" '^FSMIRROR OK: 1 sync\(s\) mirroring'
done

step "SIGKILL of the daemon"
old_pid=$(unit_property fsmirror.service MainPID)
ns_exec systemctl kill --kill-who=main --signal=SIGKILL fsmirror.service
# RestartSec=10: the restart comes after ten seconds.
restarted() {
  unit_is fsmirror.service NRestarts 1 && unit_is fsmirror.service ActiveState active &&
    ! unit_is fsmirror.service MainPID "$old_pid"
}
if wait_until 60 restarted; then
  ok "Restart=on-failure restarted it (NRestarts=1, a new main process, active)"
else
  not_ok "fsmirror.service was not restarted: NRestarts=$(unit_property fsmirror.service NRestarts)" \
    "ActiveState=$(unit_property fsmirror.service ActiveState)"
fi
printf 'after restart\n' >"$root$data/source/dir/after-restart"
check "the restarted daemon mirrors" \
  wait_until 30 same_file "$root$data/source/dir/after-restart" "$root$data/target/dir/after-restart"

step "failures are mailed through fsmirror alert (OnFailure=)"
mail_about() { grep -l "^Subject: \[FAILED\] $1 on " "$mail_dir"/*.eml 2>/dev/null; }
check "fsmirror@broken.service (a typo in its configuration) failed" \
  wait_until 30 unit_is fsmirror@broken.service ActiveState failed
check "it is not restarted: a configuration error exits 2 (RestartPreventExitStatus=2)" \
  properties_are fsmirror@broken.service "2 0" ExecMainStatus NRestarts
if wait_until 60 mail_about 'fsmirror@broken\.service'; then
  mail=$(mail_about 'fsmirror@broken\.service' | head -1)
  ok "its OnFailure= unit mailed [FAILED] fsmirror@broken.service"
  check "to the configured recipient" grep -q '^X-Envelope-To: ops@example.org' "$mail"
  check "saying what is wrong with the configuration, with file and line" \
    grep -q "The configuration does not load: /etc/fsmirror/broken.yml:5:5: unknown key 'dealy'" "$mail"
  check "with the unit's status and journal" grep -q 'Last journal lines:' "$mail"
else
  not_ok "no mail about fsmirror@broken.service arrived"
  journal_of 'fsmirror-failure@fsmirror@broken.service.service' | tail -20
fi
# A missing source (an unmounted volume, say) exits 1: restarted every RestartSec=10 for ever.
# systemd 252 starts OnFailure= only when a unit fails for good, not before an automatic
# restart, so what notices is the health check from outside, which then fails and is mailed.
check "fsmirror@nosource.service (its source does not exist) is restarted every 10 s" \
  wait_until 60 test "$(unit_property fsmirror@nosource.service NRestarts)" -ge 1
ns_exec timeout 60 systemctl start fsmirror-health@nosource.service 2>/dev/null # fails: checked next
check "fsmirror-health@nosource.service finds it not running: critical, failed" \
  properties_are fsmirror-health@nosource.service "failed 2" ActiveState ExecMainStatus
if wait_until 60 mail_about 'fsmirror-health@nosource\.service'; then
  mail=$(mail_about 'fsmirror-health@nosource\.service' | head -1)
  ok "its OnFailure= unit mailed [FAILED] fsmirror-health@nosource.service"
  check "to the recipient of /etc/fsmirror/nosource.yml" \
    grep -q '^X-Envelope-To: storage-team@example.org' "$mail"
  check "about that unit, saying its daemon is not running" bash -c \
    "grep -q 'systemd unit fsmirror-health@nosource.service on' '$mail' &&
     grep -q 'CRITICAL daemon: .*fsmirror is not running' '$mail'"
else
  not_ok "no mail about fsmirror-health@nosource.service arrived"
  journal_of 'fsmirror-failure@fsmirror-health@nosource.service.service' | tail -30
fi

step "nothing ran but what the test started, and the machine is untouched"
active=$(ns_exec systemctl list-units --no-legend --plain --state=active --type=service,socket,timer,target,path |
  awk '{print $1}')
unexpected=$(grep -Ev '^(fsmirror.*|fsmirror-test\.target|sysinit\.target|systemd-journald\.(service|socket))$' <<<"$active")
check "active units are only the test's: $(tr '\n' ' ' <<<"$active")" test -z "$unexpected"
check "fs.file-max and fs.nr_open are unchanged" test "$(cat /proc/sys/fs/file-max /proc/sys/fs/nr_open)" = "$file_max_before"
check "the hostname is unchanged" test "$(hostname)" = "$hostname_before"

echo
echo "systemd unit tests took $((SECONDS - started)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
