#!/usr/bin/env bash
# A one-node Slurm on this machine, for trying `deno task sweep submit --slurm` and for the tests
# that need a real scheduler (tests/sweep/slurm_test.ts). Debian's slurm-wlm and munge must be
# installed (apt-get install slurm-wlm munge). munged, slurmctld and slurmd run as root; their
# configuration, key, state, logs and sockets live in one folder, nothing is written to /etc.
#
#   tools/slurm_local.sh start [DIR]    starts the three daemons, waits until the node is idle,
#                                       prints `export SLURM_CONF=DIR/slurm.conf`
#   tools/slurm_local.sh stop [DIR]     stops the daemons this script started (by their pid files)
#   tools/slurm_local.sh status [DIR]   says whether the controller answers
#
# DIR defaults to ${ACTLAB_SLURM_DIR:-/tmp/actlab-slurm}. Accounting is off (no slurmdbd), so
# `sacct` answers nothing here: `deno task sweep status` reads squeue, scontrol and the study
# folder. One node, as many CPUs as this machine has, partition `debug`.
set -euo pipefail

cmd=${1:-}
dir=${2:-${ACTLAB_SLURM_DIR:-/tmp/actlab-slurm}}
conf="$dir/slurm.conf"
say() { echo "slurm_local: $*" >&2; }

need() {
  for b in munged slurmctld slurmd scontrol sinfo; do
    command -v "$b" >/dev/null || {
      say "$b not found: install Debian's slurm-wlm and munge (apt-get install slurm-wlm munge)"
      exit 3
    }
  done
  [ "$(id -u)" = 0 ] || { say "run as root (slurmd launches jobs as their users)"; exit 3; }
}

write_conf() {
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  # A little less than the machine has: slurmd drains a node that has less than configured.
  mem=$(awk '/MemTotal/ { print int($2 / 1024 * 0.9) }' /proc/meminfo)
  mkdir -p "$dir/state" "$dir/spool"
  chmod 755 "$dir"
  cat >"$conf" <<EOF
# One-node Slurm written by tools/slurm_local.sh; every path is under $dir.
ClusterName=actlab
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
KillWait=10
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

start_munge() {
  [ -f "$dir/munge.key" ] || {
    dd if=/dev/urandom of="$dir/munge.key" bs=1024 count=1 status=none
    chmod 400 "$dir/munge.key"
  }
  munged --force --key-file="$dir/munge.key" --socket="$dir/munge.socket" \
    --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" --seed-file="$dir/munged.seed"
}

answers() { SLURM_CONF="$conf" timeout 10 scontrol ping 2>/dev/null | grep -q "is UP"; }

start() {
  need
  if [ -f "$conf" ] && answers; then
    say "already running in $dir"
    echo "export SLURM_CONF=$conf"
    return 0
  fi
  mkdir -p "$dir"
  write_conf
  start_munge
  export SLURM_CONF="$conf"
  slurmctld -f "$conf"
  slurmd -f "$conf"
  local i state
  for i in $(seq 1 60); do
    state=$(timeout 10 sinfo -h -o %T 2>/dev/null | head -n 1 || true)
    if [ "$state" = idle ] || [ "$state" = mixed ]; then
      say "one-node Slurm up in $dir (node $(hostname -s), $(nproc) CPUs, ${i}s)"
      echo "export SLURM_CONF=$conf"
      return 0
    fi
    sleep 1
  done
  say "the node did not become idle in 60 s (state '${state:-none}'); logs in $dir"
  tail -n 20 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
  exit 4
}

stop_pid() {
  local file=$1 pid i
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

stop() {
  stop_pid "$dir/slurmd.pid"
  stop_pid "$dir/slurmctld.pid"
  stop_pid "$dir/munged.pid"
  say "stopped the daemons of $dir"
}

case "$cmd" in
start) start ;;
stop) stop ;;
status)
  if [ -f "$conf" ] && answers; then
    say "running in $dir"
    SLURM_CONF="$conf" sinfo
  else
    say "not running in $dir"
    exit 1
  fi
  ;;
*)
  echo "usage: tools/slurm_local.sh start|stop|status [DIR]" >&2
  exit 2
  ;;
esac
