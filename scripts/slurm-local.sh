#!/usr/bin/env bash
# scripts/slurm-local.sh — a real, one-node Slurm cluster on this machine, for
# the project's tests of `gn slurm` (local runs and CI).
#
# Usage:
#   scripts/slurm-local.sh up                 bring the cluster up (idempotent)
#   scripts/slurm-local.sh down               stop slurmd + slurmctld (best effort)
#   scripts/slurm-local.sh wait JOBID [TIMEOUT_S]
#                                             wait until JOBID (all array tasks
#                                             included) has left the queue;
#                                             exit 1 after TIMEOUT_S (600).
#                                             A job id Slurm does not know
#                                             (purged after MinJobAge, or never
#                                             submitted) counts as finished.
#                                             Needs no root.
#
# `up` (needs root):
#   1. installs Debian's slurm-wlm and munge if they are missing;
#   2. creates a munge key if there is none and starts munged if it is not
#      answering;
#   3. writes /etc/slurm/slurm.conf for one node (this host, all its CPUs, its
#      memory) in one partition `debug`;
#   4. starts slurmctld and slurmd (no systemd here: the daemons are started
#      directly and fork into the background);
#   5. waits (bounded) until the node is idle and `srun -N1 true` works.
#   It ends by printing exactly one line on stdout:
#       slurm up: partition debug, node NAME
#   When everything is already up, healthy and configured as this script would
#   configure it, `up` only prints that line (a fraction of a second).
#
# Choices made for sandboxes without systemd (and without cgroups that Slurm
# may use): proctrack/linuxproc, task/none, jobacct_gather/none, no cgroup.conf,
# no accounting database, no job completion log. The node's real hardware is not enforced
# (SlurmdParameters=config_overrides), so a container whose view of the
# hardware differs from slurm.conf does not get its node drained.
#
# Logs and pid files:      $SLURM_LOCAL_DIR (default /tmp/slurm-local)
# Controller state:        /var/spool/slurmctld
# slurmd spool:            /var/spool/slurmd
# munge is left running by `down` (it is cheap and other tools may use it).
#
# Progress messages go to stderr; only the final "slurm up: ..." line goes to
# stdout, so callers can parse it. The script never reads stdin.

set -euo pipefail

# ----------------------------------------------------------------------------
# Settings
# ----------------------------------------------------------------------------
PARTITION=debug
RUN_DIR=${SLURM_LOCAL_DIR:-/tmp/slurm-local}
SLURM_CONF=/etc/slurm/slurm.conf
CTLD_STATE_DIR=/var/spool/slurmctld
SLURMD_SPOOL_DIR=/var/spool/slurmd
MUNGE_KEY=/etc/munge/munge.key
UP_TIMEOUT_S=${SLURM_LOCAL_UP_TIMEOUT:-60}   # bound on waiting for the cluster
APT_LOCK_TIMEOUT_S=900                       # another apt may be running
# First line of the slurm.conf this script writes; a slurm.conf without it is
# someone else's and is backed up before being replaced.
CONF_MARKER="# Written by scripts/slurm-local.sh (one-node test cluster for gn slurm). Rewritten by 'up'."

NODE=$(hostname -s)
# munged, slurmctld and slurmd live in /usr/sbin, which a CI PATH may lack.
PATH=$PATH:/usr/sbin:/sbin

# ----------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------
log() { printf 'slurm-local: %s\n' "$*" >&2; }
die() { printf 'slurm-local: error: %s\n' "$*" >&2; exit 1; }

usage() {
  cat >&2 <<EOF
usage: $0 up | down | wait JOBID [TIMEOUT_S]
  up    start a one-node Slurm cluster (partition $PARTITION) on this machine
  down  stop slurmd and slurmctld (best effort, never fails)
  wait  wait until job JOBID (all its array tasks) has left the queue;
        TIMEOUT_S defaults to 600; exits 1 on timeout
EOF
}

need_root() {
  [[ $(id -u) -eq 0 ]] || die "'$1' must run as root (it installs packages and starts daemons)"
}

# Serialize concurrent up/down calls (e.g. two test binaries starting at once).
# The lock is fd 9: every child is started with `9>&-`, or it would inherit
# the lock and hold it forever (munged does not close inherited fds).
take_lock() {
  mkdir -p "$RUN_DIR"
  exec 9>"$RUN_DIR/.lock"
  flock -w 300 9 || die "another slurm-local.sh has held $RUN_DIR/.lock for 300 s"
}

# pid_of NAME PIDFILE: print the pid if PIDFILE names a live process called
# NAME; return 1 otherwise.
pid_of() {
  local name=$1 file=$2 pid
  [[ -r $file ]] || return 1
  pid=$(<"$file") || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/comm && $(<"/proc/$pid/comm") == "$name" ]] || return 1
  printf '%s\n' "$pid"
}

running() { pid_of "$1" "$RUN_DIR/$1.pid" >/dev/null; }

# Show the end of a daemon's log (for error messages).
show_log() {
  local f=$RUN_DIR/$1.log
  if [[ -s $f ]]; then
    log "last lines of $f:"
    tail -n 20 "$f" >&2 || true
  fi
}

# ----------------------------------------------------------------------------
# 1. Packages
# ----------------------------------------------------------------------------
packages_present() {
  local c
  for c in munged munge unmunge slurmctld slurmd sinfo srun sbatch squeue scontrol; do
    command -v "$c" >/dev/null 2>&1 || return 1
  done
}

apt_install() {
  # DPkg::Lock::Timeout makes apt wait for a concurrent apt/dpkg instead of
  # failing at once. --no-install-recommends keeps the install small.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o DPkg::Lock::Timeout="$APT_LOCK_TIMEOUT_S" slurm-wlm munge >&2 9>&-
}

apt_update() {
  DEBIAN_FRONTEND=noninteractive apt-get update -q \
    -o DPkg::Lock::Timeout="$APT_LOCK_TIMEOUT_S" >&2 9>&-
}

ensure_packages() {
  packages_present && return 0
  command -v apt-get >/dev/null 2>&1 || die "slurm/munge are missing and apt-get is not available"
  log "installing slurm-wlm and munge (apt-get)..."
  # Only refresh the package lists when they lack the packages (a fresh
  # container) or when the install fails (e.g. stale lists -> 404).
  if ! apt-cache policy slurm-wlm 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    log "no candidate for slurm-wlm in the package lists: running apt-get update"
    apt_update || die "apt-get update failed"
  fi
  if ! apt_install; then
    log "apt-get install failed: running apt-get update and retrying once"
    apt_update || die "apt-get update failed"
    apt_install || die "apt-get install slurm-wlm munge failed"
  fi
  packages_present || die "slurm-wlm/munge installed but some commands are still missing from PATH"
}

# ----------------------------------------------------------------------------
# 2. munge
# ----------------------------------------------------------------------------
munge_works() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

ensure_munge() {
  getent passwd munge >/dev/null || die "user 'munge' does not exist (is the munge package installed?)"

  # Key: 0400, owned by munge, in a 0700 directory owned by munge.
  install -d -o munge -g munge -m 0700 /etc/munge
  if [[ ! -s $MUNGE_KEY ]]; then
    log "creating munge key $MUNGE_KEY"
    if command -v mungekey >/dev/null 2>&1; then
      mungekey --create --keyfile="$MUNGE_KEY" --force
    else
      dd if=/dev/urandom of="$MUNGE_KEY" bs=1024 count=1 status=none
    fi
  fi
  chown munge:munge "$MUNGE_KEY"
  chmod 0400 "$MUNGE_KEY"

  munge_works && return 0

  # Directories munged needs (normally made by systemd's RuntimeDirectory).
  install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
  install -d -o munge -g munge -m 0755 /run/munge
  # A stale socket/pid from a killed munged makes a new one refuse to start.
  if [[ -S /run/munge/munge.socket.2 ]] && ! pgrep -u munge -x munged >/dev/null 2>&1; then
    rm -f /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock /run/munge/munged.pid
  fi
  log "starting munged"
  # munged forks into the background; run it as the munge user (as packaged).
  runuser -u munge -- munged 9>&- || die "munged failed to start (see /var/log/munge/munged.log)"
  for _ in $(seq 1 50); do
    munge_works && return 0
    sleep 0.1
  done
  die "munged started but 'munge -n | unmunge' does not work (see /var/log/munge/munged.log)"
}

# ----------------------------------------------------------------------------
# 3. slurm.conf
# ----------------------------------------------------------------------------
render_conf() {
  local cpus mem_mb def_mem
  cpus=$(nproc)
  # RealMemory in MB as slurmd computes it (MemTotal), minus nothing: the
  # config_overrides parameter keeps a small mismatch from draining the node.
  mem_mb=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 }' /proc/meminfo)
  [[ $mem_mb =~ ^[0-9]+$ && $mem_mb -gt 0 ]] || die "could not read MemTotal from /proc/meminfo"
  # Jobs that ask for no memory get an equal share per CPU, so that CPU-sized
  # jobs (e.g. array tasks) can run side by side.
  def_mem=$(( mem_mb / cpus ))

  cat <<EOF
$CONF_MARKER
# One node ($NODE), one partition ($PARTITION). Meant for tests, not production.
ClusterName=local
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
MpiDefault=none
# The default MailProg (/bin/mail) is not installed; keep slurmctld quiet.
MailProg=/bin/true

# No systemd and no usable cgroups in the container: track processes through
# /proc and do no task binding/confinement.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none

SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=$def_mem

# Trust slurm.conf over what slurmd detects, and let a DOWN node come back by
# itself once it registers with a valid configuration.
SlurmdParameters=config_overrides
ReturnToService=2

# Short timeouts suit a test cluster.
KillWait=5
InactiveLimit=0
MinJobAge=300

StateSaveLocation=$CTLD_STATE_DIR
SlurmdSpoolDir=$SLURMD_SPOOL_DIR
SlurmctldPidFile=$RUN_DIR/slurmctld.pid
SlurmdPidFile=$RUN_DIR/slurmd.pid
SlurmctldLogFile=$RUN_DIR/slurmctld.log
SlurmdLogFile=$RUN_DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info

NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
}

# conf_is_current: 0 if slurm.conf already has exactly the wanted content.
conf_is_current() {
  [[ -r $SLURM_CONF ]] && [[ $(<"$SLURM_CONF") == "$WANTED_CONF" ]]
}

write_conf() {
  install -d -m 0755 "$(dirname "$SLURM_CONF")"
  if [[ -s $SLURM_CONF ]] && [[ $(head -n 1 "$SLURM_CONF") != "$CONF_MARKER" ]]; then
    local bak
    bak=$SLURM_CONF.orig.$(date +%Y%m%d%H%M%S)
    log "backing up an existing foreign $SLURM_CONF to $bak"
    cp -p "$SLURM_CONF" "$bak"
  fi
  log "writing $SLURM_CONF"
  printf '%s\n' "$WANTED_CONF" >"$SLURM_CONF.tmp.$$"
  chmod 0644 "$SLURM_CONF.tmp.$$"
  mv -f "$SLURM_CONF.tmp.$$" "$SLURM_CONF"
}

# ----------------------------------------------------------------------------
# 4./5. Daemons and health
# ----------------------------------------------------------------------------
ctld_answers() { scontrol ping 2>/dev/null | grep -q 'is UP'; }

# Node state as sinfo shows it (e.g. idle, mixed, down*, drained), or empty.
node_state() { sinfo -h -n "$NODE" -p "$PARTITION" -o %T 2>/dev/null | head -n 1 || true; }

# A node that can take jobs now: no '*' (not responding), no drain/down.
state_usable() {
  case $1 in
    idle | mixed | allocated | completing | planned) return 0 ;;
    *) return 1 ;;
  esac
}

# start_daemon NAME: start slurmctld or slurmd (they fork into the background
# and write their pid file), then wait until the pid file names a live
# process. A stale pid file from an earlier run is removed first, so that it
# cannot be mistaken for the new daemon (or for a dead one).
start_daemon() {
  local name=$1 pidfile=$RUN_DIR/$1.pid
  running "$name" && return 0
  rm -f "$pidfile"
  log "starting $name (log: $RUN_DIR/$name.log)"
  # 9>&-: do not hand our lock to the daemon.
  "$name" 9>&- || { show_log "$name"; die "$name failed to start"; }
  for _ in $(seq 1 100); do
    running "$name" && return 0
    sleep 0.1
  done
  show_log "$name"
  die "$name did not come up (no live process in $pidfile after 10 s)"
}

print_up() { printf 'slurm up: partition %s, node %s\n' "$PARTITION" "$NODE"; }

cmd_up() {
  need_root up
  local t0=$SECONDS
  take_lock
  ensure_packages
  ensure_munge

  WANTED_CONF=$(render_conf)

  # Fast path: already configured as wanted, both daemons alive, controller
  # answering, node usable. Nothing to do.
  if conf_is_current && running slurmctld && running slurmd && ctld_answers \
     && state_usable "$(node_state)"; then
    print_up
    return 0
  fi

  if ! conf_is_current; then
    # Daemons read slurm.conf at start: stop them before changing it.
    if running slurmctld || running slurmd; then
      log "slurm.conf changes: restarting the daemons"
      stop_daemons
    fi
    write_conf
  fi

  install -d -m 0755 "$CTLD_STATE_DIR" "$SLURMD_SPOOL_DIR"
  start_daemon slurmctld

  local deadline=$(( SECONDS + UP_TIMEOUT_S ))
  until ctld_answers; do
    if ! running slurmctld; then show_log slurmctld; die "slurmctld exited"; fi
    (( SECONDS < deadline )) || { show_log slurmctld; die "slurmctld does not answer 'scontrol ping' after ${UP_TIMEOUT_S}s"; }
    sleep 0.2
  done

  start_daemon slurmd

  # Wait for the node to register and be usable; resume it if it is down or
  # drained (e.g. left so by an earlier run).
  local state last_resume=-100
  while :; do
    state=$(node_state)
    state_usable "$state" && break
    if ! running slurmd; then show_log slurmd; die "slurmd exited (node state: ${state:-none})"; fi
    case $state in
      *'*'* | '' | unknown*) ;;   # not registered/responding yet: just wait
      down* | drain* | fail* | inval*)
        if (( SECONDS - last_resume >= 3 )); then
          log "node $NODE is '$state': resuming it"
          scontrol update nodename="$NODE" state=resume >&2 2>/dev/null || true
          last_resume=$SECONDS
        fi ;;
    esac
    if (( SECONDS >= deadline )); then
      show_log slurmd
      scontrol show node "$NODE" >&2 2>/dev/null || true
      die "node $NODE not usable after ${UP_TIMEOUT_S}s (state: ${state:-none})"
    fi
    sleep 0.3
  done

  # End-to-end check: a real job step runs on the node.
  local left=$(( deadline - SECONDS )); (( left >= 10 )) || left=10
  local out
  if ! out=$(timeout "$left" srun -N1 -n1 -p "$PARTITION" -J slurm-local-check -t 1 true 2>&1 9>&-); then
    printf '%s\n' "$out" >&2
    show_log slurmd
    die "'srun -N1 true' failed on node $NODE"
  fi
  log "cluster ready in $(( SECONDS - t0 ))s"
  print_up
}

# ----------------------------------------------------------------------------
# down
# ----------------------------------------------------------------------------
# stop_daemons: SIGTERM slurmd and slurmctld (found through their pid files,
# never by name), wait up to 15 s for both to exit (slurmctld saves its state
# first: 0.3-2 s here), then SIGKILL whatever is left. Both are stopped at once, which
# halves the time `down` takes.
stop_daemons() {
  local name pid pids=()
  for name in slurmd slurmctld; do
    pid=$(pid_of "$name" "$RUN_DIR/$name.pid") || continue
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
  done
  for _ in $(seq 1 75); do
    local alive=()
    for pid in ${pids[@]+"${pids[@]}"}; do
      # A zombie (state Z) has exited; it only waits for init to reap it.
      [[ -r /proc/$pid/stat && $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]] \
        && alive+=("$pid")
    done
    pids=(${alive[@]+"${alive[@]}"})
    (( ${#pids[@]} == 0 )) && return 0
    sleep 0.2
  done
  log "still running after SIGTERM, killing: ${pids[*]}"
  kill -KILL "${pids[@]}" 2>/dev/null || true
}

cmd_down() {
  # Best effort: never fails.
  set +e
  if [[ $(id -u) -ne 0 ]]; then
    log "'down' should run as root; trying anyway"
  fi
  # (A bare `exec 9>f 2>/dev/null` would silence stderr for good: use a group.)
  { mkdir -p "$RUN_DIR" && exec 9>"$RUN_DIR/.lock" && flock -w 60 9; } 2>/dev/null \
    || log "could not take $RUN_DIR/.lock; going on without it"
  stop_daemons
  log "slurm down (munge left running)"
  return 0
}

# ----------------------------------------------------------------------------
# wait
# ----------------------------------------------------------------------------
cmd_wait() {
  local job=${1:-} timeout_s=${2:-600}
  [[ $job =~ ^[0-9]+(_[0-9]+)?$ ]] || { usage; die "wait: JOBID must look like 123 or 123_4, got '${job}'"; }
  [[ $timeout_s =~ ^[0-9]+$ ]] || { usage; die "wait: TIMEOUT_S must be a whole number of seconds, got '${timeout_s}'"; }
  command -v squeue >/dev/null 2>&1 || die "squeue not found (run '$0 up' first)"

  local deadline=$(( SECONDS + timeout_s )) out err errf
  errf=$(mktemp)
  # shellcheck disable=SC2064  # expand now: errf is local to this function
  trap "rm -f '$errf'" EXIT
  while :; do
    # squeue lists pending/running/completing jobs and array tasks only; a
    # finished job is absent (empty output) or, once purged, unknown.
    local rc=0
    out=$(squeue -h -j "$job" -o %i 2>"$errf") || rc=$?
    if (( rc == 0 )); then
      [[ -z $out ]] && return 0
    else
      err=$(<"$errf")
      case $err in
        *'Invalid job id'*) return 0 ;;
        *) log "squeue failed with status $rc (will retry): $err" ;;
      esac
    fi
    if (( SECONDS >= deadline )); then
      die "job $job still in the queue after ${timeout_s}s: $(printf '%s' "$out" | tr '\n' ' ')"
    fi
    sleep 0.5
  done
}

# ----------------------------------------------------------------------------
main() {
  local cmd=${1:-}
  [[ $# -gt 0 ]] && shift
  case $cmd in
    up)   [[ $# -eq 0 ]] || { usage; die "up takes no arguments"; }; cmd_up ;;
    down) cmd_down ;;
    wait) [[ $# -ge 1 && $# -le 2 ]] || { usage; die "wait needs JOBID [TIMEOUT_S]"; }; cmd_wait "$@" ;;
    -h | --help | help) usage ;;
    *) usage; exit 2 ;;
  esac
}

main "$@"
