#!/bin/sh
# PID 1 of the throwaway namespaces systemd_namespace.sh creates, before it becomes systemd.
#
# Usage (only through systemd_namespace.sh, inside fresh PID, mount, network, UTS, IPC and
# cgroup namespaces): systemd_namespace_init.sh SEED ALLOW BOOT_UNIT [--check-only]
#   SEED       a directory whose etc/systemd/system/, etc/fsmirror/ ... are copied into the
#              namespace's private directories of the same names (the test's units and configs)
#   ALLOW      an extended regular expression: the unit files that may stay loadable; every
#              other unit file on this machine is masked
#   BOOT_UNIT  the unit systemd boots into (--unit=), instead of default.target
#   --check-only  prepare and verify, then exit 0 instead of starting systemd
#
# A systemd booted on this machine's unit files runs what the machine would run at boot:
# systemd-tmpfiles empties /tmp, sshd and postgresql start, getty, udev, the journal flushes to
# /var/log/journal. None of that may happen, so systemd here gets:
#   - private /run, /tmp, /var/tmp, /dev, /srv, /etc/systemd/system, /etc/fsmirror, the
#     fsmirror state and log directories and /var/log/journal (tmpfs: whatever runs, it writes
#     nothing the machine keeps);
#   - no generators (they would turn /etc/fstab, /etc/init.d and postgresql's clusters into
#     units) and a mask for every unit file outside ALLOW;
#   - read-only /proc/sys and /sys, its own network (loopback only), hostname and cgroup tree.
# Before systemd starts, the unit files systemd could load are listed and checked against ALLOW
# and against a fixed list that must stay masked whatever ALLOW says (tmpfiles, ssh, postgresql,
# getty, udev, networkd, the journal flush, sysctl, ...), and the generator directories are
# checked to be empty: if a check fails, it does not start (exit 3).
set -eu
seed=$1
allow=$2
boot_unit=$3
check_only=${4:-}

fail() {
  echo "systemd_namespace_init: $*; systemd NOT started" >&2
  exit 3
}
# one_line TEXT: its lines joined by spaces.
one_line() { printf '%s\n' "$1" | tr '\n' ' '; }

[ "$$" -eq 1 ] || fail "not PID 1 of a new PID namespace"
# Nothing mounted below may reach the machine's mount table.
mount --make-rprivate /

# --- private file systems -------------------------------------------------------------------
# The seed is copied to the private /run first: it may live in a directory hidden below.
mount -t tmpfs -o mode=0755,nosuid tmpfs /run
cp -a "$seed" /run/namespace-seed
seed=/run/namespace-seed
for dir in /tmp /var/tmp /srv /etc/systemd/system /etc/fsmirror /var/lib/fsmirror \
           /var/log/fsmirror /var/log/journal; do
  # A directory this machine lacks is not made: that would write to the machine.
  if [ ! -d "$dir" ]; then
    [ ! -d "$seed$dir" ] || fail "$dir does not exist (is the package installed?)"
    continue
  fi
  mount -t tmpfs -o mode=0755,nosuid tmpfs "$dir"
  if [ -d "$seed$dir" ]; then cp -a "$seed$dir/." "$dir/"; fi
done
chmod 1777 /tmp /var/tmp
# No generators: hidden behind empty directories wherever this machine has them.
for dir in /etc/systemd/system-generators /usr/local/lib/systemd/system-generators \
           /usr/lib/systemd/system-generators /lib/systemd/system-generators; do
  if [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ]; then mount -t tmpfs -o mode=0755 tmpfs "$dir"; fi
done

# /dev: the device nodes services need, no more; systemd's sockets make /dev/log here, not
# on the machine.
mount -t tmpfs -o mode=0755,nosuid tmpfs /dev
mknod -m 666 /dev/null c 1 3
mknod -m 666 /dev/zero c 1 5
mknod -m 666 /dev/full c 1 7
mknod -m 666 /dev/random c 1 8
mknod -m 666 /dev/urandom c 1 9
mknod -m 666 /dev/tty c 5 0
mkdir -m 755 /dev/pts
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /dev/pts
ln -s pts/ptmx /dev/ptmx
mkdir -m 1777 /dev/shm
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr

# Kernel settings are machine-wide even in namespaces: read-only here. The cgroup tree is the
# one the cgroup namespace was created in, mounted afresh so that its root is that directory.
mount --bind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys
if mountpoint -q /sys/fs/cgroup; then umount -l /sys/fs/cgroup; fi
mount -o remount,bind,ro /sys
mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 /sys/fs/cgroup

# The network namespace starts with loopback down; the units' SMTP server listens there.
ip link set lo up

# The journal stays in memory (/run/log/journal).
mkdir -p /run/systemd/journald.conf.d
printf '[Journal]\nStorage=volatile\n' >/run/systemd/journald.conf.d/volatile.conf

# --- masks ------------------------------------------------------------------------------------
# /etc/systemd/system (private, seeded) outranks /usr/lib/systemd/system, so a link to
# /dev/null there masks the distribution's unit of that name.
for unit_dir in /usr/local/lib/systemd/system /usr/lib/systemd/system /lib/systemd/system; do
  [ -d "$unit_dir" ] && ls -A "$unit_dir"
done | grep -E '\.(service|socket|target|timer|path|mount|automount|swap|slice|scope)$' |
  sort -u | grep -Ev "$allow" | while read -r name; do
    [ -e "/etc/systemd/system/$name" ] || ln -s /dev/null "/etc/systemd/system/$name"
  done

# --- verify before booting --------------------------------------------------------------------
for dir in /run/systemd/system-generators /etc/systemd/system-generators \
           /usr/local/lib/systemd/system-generators /usr/lib/systemd/system-generators \
           /lib/systemd/system-generators; do
  [ -z "$(ls -A "$dir" 2>/dev/null)" ] || fail "generators in $dir would run"
done
# systemctl reads the unit files as PID 1 will: each with the state its highest-priority file
# gives it. Every unit that is not masked must be one ALLOW lets through.
states=$(systemctl --root=/ list-unit-files --no-legend --no-pager) ||
  fail "systemctl list-unit-files failed"
loadable=$(printf '%s\n' "$states" | awk '$2 != "masked" {print $1}')
unexpected=$(printf '%s\n' "$loadable" | grep -Ev "$allow" || true)
[ -z "$unexpected" ] || fail "loadable units outside the allow-list: $(one_line "$unexpected")"
# Whatever ALLOW says, these touch the machine and must never be loadable here.
never='^(systemd-tmpfiles-.*|ssh.*|postgresql.*|.*getty.*|systemd-udev.*|networking|systemd-networkd.*|systemd-journal-flush|systemd-sysctl|systemd-remount-fs|dbus|cron|rsync)(@)?\.(service|socket|timer|path)$'
dangerous=$(printf '%s\n' "$loadable" | grep -E "$never" || true)
[ -z "$dangerous" ] || fail "units that must stay masked are loadable: $(one_line "$dangerous")"
printf '%s\n' "$loadable" | grep -qx "$boot_unit" || fail "the boot unit $boot_unit is not loadable"
echo "systemd_namespace_init: masked $(printf '%s\n' "$states" | awk '$2 == "masked"' | wc -l) unit files;" \
  "the only loadable ones: $(one_line "$loadable")"

[ "$check_only" = --check-only ] && exit 0
# container= makes systemd behave as in a container: no kernel modules, clock, file-max or
# console setup. It logs to the journal (there is no console).
exec env -i container=fsmirror-test PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  /usr/lib/systemd/systemd --unit="$boot_unit" --log-target=journal --log-level=info \
  --show-status=no </dev/null
