#!/usr/bin/env bash
# Make sure a Slurm cluster answers, for the Slurm executor's tests (tests/test_slurm_executor.py).
#
# - A cluster that already answers (`sinfo` replies) is used as it is: nothing is installed or changed.
# - Otherwise Debian's slurm-wlm and munge are installed (when missing) and a one-node cluster is started on this
#   machine, on 127.0.0.1: munged, slurmctld and slurmd, in the background (no systemd here). The node declares
#   the machine's real CPUs and memory (`slurmd -C` prints them).
# - /etc/slurm/slurm.conf is written only when there is none, or when it is the one this script wrote before
#   (its first line says so): a configuration someone else wrote is never replaced.
# - No accounting daemon (slurmdbd): the executor reads a job's state from squeue/scontrol while Slurm knows it
#   (MinJobAge keeps ended jobs 300 s) and from the run folder after. The scheduler is tuned for short jobs
#   (it starts jobs on every submit and end, the backfill loop every second) and a lost node is noticed in
#   about 10 s (SlurmdTimeout), so that the tests are quick.
#
# Idempotent and quick: a second run finds the cluster answering and does nothing (well under a second).
set -euo pipefail

name=ensure-slurm
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

conf=/etc/slurm/slurm.conf
marker="# Written by seed-runner's scripts/ensure-slurm.sh (a one-node cluster for its tests)."

answers() { command -v sinfo >/dev/null 2>&1 && timeout 10 sinfo -h -o '%n %T' 2>/dev/null | grep -q .; }
node_ready() { timeout 10 sinfo -h -N -o '%T' 2>/dev/null | grep -q -E '^(idle|mixed|allocated|completing)'; }

if answers && node_ready; then
  log "a Slurm cluster answers ($(sinfo -h -N -o '%N %T' | head -1))"
  exit 0
fi

if ! command -v slurmctld >/dev/null 2>&1 || ! command -v slurmd >/dev/null 2>&1 \
    || ! command -v munged >/dev/null 2>&1 || ! command -v sbatch >/dev/null 2>&1; then
  log "installing slurm-wlm and munge"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi

# munge: the key the package made (made here when it did not), and its daemon.
if [ ! -s /etc/munge/munge.key ]; then
  log "making a munge key"
  as_root mkdir -p /etc/munge
  as_root sh -c 'dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null'
  as_root chown munge:munge /etc/munge/munge.key
  as_root chmod 0400 /etc/munge/munge.key
fi
if ! pgrep -x munged >/dev/null 2>&1; then
  log "starting munged"
  as_root mkdir -p /run/munge /var/log/munge /var/lib/munge
  as_root chown munge:munge /run/munge /var/log/munge /var/lib/munge
  as_root runuser -u munge -- /usr/sbin/munged
fi

# slurm.conf: ours, with this machine's CPUs and memory.
if [ ! -f "$conf" ] || head -1 "$conf" | grep -qF "$marker"; then
  host=$(hostname -s)
  node=$(slurmd -C | head -1 | sed "s/^NodeName=[^ ]*/NodeName=$host NodeAddr=127.0.0.1/")
  want=$(mktemp)
  cat >"$want" <<EOF
$marker
ClusterName=seed
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=64
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,bf_interval=1,default_queue_depth=10000
ReturnToService=2
SlurmdTimeout=10
SlurmctldTimeout=30
MessageTimeout=10
KillWait=5
MinJobAge=300
InactiveLimit=0
MaxArraySize=100001
MaxJobCount=200000
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
$node State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  if ! cmp -s "$want" "$conf"; then
    log "writing $conf ($node)"
    as_root mkdir -p /etc/slurm
    as_root cp "$want" "$conf"
    as_root chmod 0644 "$conf"
    restart=1
  fi
  rm -f "$want"
else
  log "$conf was not written by this script: using it as it is"
fi

as_root mkdir -p /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
if [ "${restart:-0}" = 1 ]; then  # a new configuration: daemons of the old one are stopped first
  for daemon in slurmd slurmctld; do
    for pid in $(pgrep -x "$daemon" 2>/dev/null || true); do as_root kill "$pid" || true; done
  done
  sleep 1
fi
if ! pgrep -x slurmctld >/dev/null 2>&1; then
  log "starting slurmctld"
  as_root /usr/sbin/slurmctld
fi
if ! pgrep -x slurmd >/dev/null 2>&1; then
  log "starting slurmd"
  as_root /usr/sbin/slurmd
fi

for _ in $(seq 1 60); do
  if answers && node_ready; then
    log "a one-node Slurm cluster answers ($(sinfo -h -N -o '%N %T %c CPUs %m MiB'))"
    exit 0
  fi
  # A node that was lost (its slurmd stopped) comes back once it answers again (ReturnToService=2); one that
  # an operator set down is not ours to resume.
  sleep 0.5
done
log "the Slurm cluster did not come up; see /var/log/slurm/slurmctld.log and /var/log/slurm/slurmd.log"
sinfo -N -l >&2 || true
exit 1
