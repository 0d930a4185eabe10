# Sourced by tests that need a real systemd where systemd is not PID 1 (containers, CI): boots
# one as PID 1 of throwaway PID, mount, network, UTS, IPC and cgroup namespaces, confined by
# systemd_namespace_init.sh (private /run, /tmp, /dev, ...; only allow-listed units loadable;
# verified before it starts). The caller must call ns_shutdown from an EXIT trap.
#
#   ns_unavailable                  prints why no namespace systemd can run here; false if it can
#   ns_boot LOG SEED ALLOW UNIT     boots; NS_PID is its PID 1 as this machine sees it
#   ns_exec CMD...                  runs CMD inside every namespace (systemctl, journalctl, a
#                                   server for the units to talk to: it dies with the namespace)
#   ns_root                         prints the path of its root directory as seen from here
#   ns_shutdown                     SIGKILLs its PID 1 (so everything in it dies) and removes
#                                   its cgroup; safe to call twice or without a boot
#
# Even if the caller is killed before its trap runs, the namespace dies with it: unshare runs
# with a parent-death SIGKILL and --kill-child passes that on to PID 1.

NS_PID=""
ns_launcher=""
ns_cgroup=""
ns_init=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/systemd_namespace_init.sh
ns_systemd=/usr/lib/systemd/systemd

# Returns the directory of this process's cgroup in the cgroup2 hierarchy, or fails.
ns_cgroup_parent() {
  local mount path
  mount=$(findmnt -n -t cgroup2 -o TARGET 2>/dev/null | head -1)
  [ -n "$mount" ] || return 1
  path=$(sed -n 's/^0:://p' /proc/self/cgroup)
  [ -d "$mount$path" ] || return 1
  echo "$mount$path"
}

ns_unavailable() {
  [ "$(id -u)" -eq 0 ] || { echo "needs root to create namespaces"; return 0; }
  local tool
  for tool in unshare nsenter setpriv findmnt ip hostname mountpoint systemctl; do
    command -v "$tool" >/dev/null || { echo "$tool is missing"; return 0; }
  done
  [ -x "$ns_systemd" ] || { echo "$ns_systemd is missing (apt-get install systemd)"; return 0; }
  ns_cgroup_parent >/dev/null || { echo "no cgroup2 hierarchy is mounted"; return 0; }
  local probe
  if ! probe=$(unshare --fork --pid --mount --net --uts --ipc --cgroup --propagation private \
                 --mount-proc true 2>&1); then
    echo "cannot create PID, mount, network, UTS, IPC and cgroup namespaces: $probe"
    return 0
  fi
  return 1
}

ns_boot() {
  local log=$1 seed=$2 allow=$3 unit=$4
  local parent
  parent=$(ns_cgroup_parent) || { echo "no cgroup2 hierarchy" >&2; return 1; }
  # Its own cgroup, whose directory becomes the root of the cgroup namespace: systemd's slices
  # are made below it, never beside the machine's.
  ns_cgroup=$(mktemp -d "$parent/fsmirror-systemd-test.XXXXXX") || return 1
  (
    echo "$BASHPID" >"$ns_cgroup/cgroup.procs"
    exec setpriv --pdeathsig KILL \
      unshare --kill-child=KILL --pid --mount --net --uts --ipc --cgroup --propagation private \
      --mount-proc "$ns_init" "$seed" "$allow" "$unit"
  ) >"$log" 2>&1 </dev/null &
  ns_launcher=$!
  # Waited for by polling, so no job notice "Killed" when ns_shutdown ends it.
  disown "$ns_launcher"
  local _
  for _ in $(seq 1 100); do
    NS_PID=$(pgrep -P "$ns_launcher" | head -1)
    [ -n "$NS_PID" ] && break
    kill -0 "$ns_launcher" 2>/dev/null || break
    sleep 0.05
  done
  [ -n "$NS_PID" ] || { echo "the namespace's PID 1 did not start" >&2; return 1; }
  # Booted once systemd answers and its boot unit is reached (or it exited: a failed check).
  for _ in $(seq 1 200); do
    kill -0 "$NS_PID" 2>/dev/null || break
    if [ "$(readlink "/proc/$NS_PID/exe" 2>/dev/null)" = "$ns_systemd" ] &&
       ns_exec systemctl is-active --quiet "$unit" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "systemd did not reach $unit within 20 s; its log:" >&2
  cat "$log" >&2
  return 1
}

ns_exec() {
  nsenter --target "$NS_PID" --mount --pid --net --uts --ipc --cgroup --wd=/ -- "$@"
}

ns_root() {
  echo "/proc/$NS_PID/root"
}

ns_shutdown() {
  if [ -n "$ns_launcher" ]; then
    [ -n "$NS_PID" ] && kill -KILL "$NS_PID" 2>/dev/null
    kill -KILL "$ns_launcher" 2>/dev/null
    local _
    for _ in $(seq 1 100); do
      kill -0 "$ns_launcher" 2>/dev/null || break
      sleep 0.05
    done
    ns_launcher=""
    NS_PID=""
  fi
  if [ -n "$ns_cgroup" ] && [ -d "$ns_cgroup" ]; then
    # Killed processes leave their cgroups a moment later; empty directories go deepest first.
    for _ in $(seq 1 100); do
      grep -q '^populated 0' "$ns_cgroup/cgroup.events" 2>/dev/null && break
      sleep 0.05
    done
    find "$ns_cgroup" -depth -type d -exec rmdir {} \; 2>/dev/null
    [ -d "$ns_cgroup" ] && echo "note: could not remove the cgroup $ns_cgroup" >&2
    ns_cgroup=""
  fi
  return 0
}
