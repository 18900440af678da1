#!/usr/bin/env bash
# A single-node SLURM cluster on this machine, for tests/workflow/test_slurm.py (called by
# .ci/run around `make test`). Debian's slurm-wlm and munge; no systemd needed.
#
#   .ci/slurm.sh start    install slurm-wlm and munge if missing (root, apt-get),
#                         write /etc/slurm/slurm.conf, start munged, slurmctld and
#                         slurmd, wait until the node is idle
#   .ci/slurm.sh stop     stop the three daemons by the PIDs in their pid files,
#                         remove the config files written by start
#   .ci/slurm.sh running  exit 0 where all three daemons of this script run
#   .ci/slurm.sh status   sinfo
#
# The node advertises one GPU (gres gpu:1) backed by no device (File=/dev/null), so
# that jobs asking for --gpus=1 are accepted and run, with CUDA_VISIBLE_DEVICES=0 set;
# on a machine without a GPU, torch then finds no CUDA device and `device: auto`
# computes on the CPU. No accounting (slurmdbd): status queries go through squeue,
# which sees finished jobs for MinJobAge seconds.
#
# It refuses to touch a slurm.conf it did not write (a real cluster's).
set -euo pipefail

MARKER="# Written by .ci/slurm.sh (LaSeR workflow CI): a single-node test cluster."
CONF=/etc/slurm/slurm.conf
GRES=/etc/slurm/gres.conf
CTLD_PID=/run/slurmctld.pid
SLURMD_PID=/run/slurmd.pid
MUNGE_PID=/run/munge/munged.pid
PARTITION=${LASER_SLURM_PARTITION:-debug}

say() { echo "slurm.sh: $*" >&2; }
die() {
    say "$*"
    exit 1
}

is_running() { # is_running PID NAME: a live process (not a zombie) called NAME
    local stat
    [[ $1 =~ ^[0-9]+$ ]] && stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    [[ $stat == "$1 ($2) "* && $stat != "$1 ($2) Z"* ]]
}

alive() { # alive PIDFILE NAME: the pid file names a live process called NAME
    [[ -s $1 ]] && is_running "$(<"$1")" "$2"
}

install() {
    local missing=()
    for cmd in munged slurmctld slurmd sinfo sbatch; do
        command -v "$cmd" >/dev/null || missing+=("$cmd")
    done
    ((${#missing[@]} == 0)) && return 0
    [[ $(id -u) == 0 ]] || die "missing ${missing[*]}, and installing needs root"
    command -v apt-get >/dev/null || die "missing ${missing[*]}, and there is no apt-get"
    say "installing slurm-wlm and munge (missing: ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends \
        slurm-wlm slurmctld slurmd slurm-client munge >/dev/null
}

write_config() {
    local node=$1 hw
    if [[ -e $CONF ]] && ! grep -qxF "$MARKER" "$CONF"; then
        die "$CONF exists and was not written by this script; not touching it"
    fi
    # The node's hardware as slurmd sees it (CPUs, sockets, cores, RealMemory).
    hw=$(slurmd -C | grep '^NodeName=' | sed 's/^NodeName=[^ ]* //')
    [[ -n $hw ]] || die "slurmd -C printed no node line"
    mkdir -p /etc/slurm
    cat >"$CONF" <<EOF
$MARKER
ClusterName=laserci
SlurmctldHost=$node
SlurmUser=slurm
AuthType=auth/munge
MpiDefault=none
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
# No cgroups in a container: processes tracked through /proc, CPU binding only.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SchedulerType=sched/backfill
# Cores and memory are consumable; a job without --mem gets 500 MB per CPU (not
# the whole node).
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
# No slurmdbd: no sacct. Finished jobs stay visible to squeue and scontrol for
# MinJobAge s: an hour, so that the cluster tests can read every job's record after
# a slow run (300 s, the default, lost the first jobs' records on a slow machine).
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MinJobAge=3600
ReturnToService=2
SlurmdTimeout=60
GresTypes=gpu
NodeName=$node $hw Gres=gpu:1 State=UNKNOWN
PartitionName=$PARTITION Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
    # One GPU backed by no device: accepted by sbatch --gpus=1, sets
    # CUDA_VISIBLE_DEVICES=0 in the job.
    cat >"$GRES" <<EOF
$MARKER
AutoDetect=off
NodeName=$node Name=gpu Count=1 File=/dev/null
EOF
}

start() {
    local node state daemon pidfile
    install
    node=$(hostname -s)
    if ! getent hosts "$node" >/dev/null; then
        say "adding $node to /etc/hosts"
        echo "127.0.0.1 $node" >>/etc/hosts
    fi
    write_config "$node"
    mkdir -p /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge
    chown slurm:slurm /var/spool/slurmctld /var/log/slurm
    chown munge:munge /run/munge
    chmod 0755 /run/munge
    if [[ ! -s /etc/munge/munge.key ]]; then
        mungekey --create --keyfile=/etc/munge/munge.key
        chown munge:munge /etc/munge/munge.key
        chmod 0400 /etc/munge/munge.key
    fi
    # policy-rc.d or a missing systemd keeps the packages from starting them:
    # each daemon in its normal (forking) mode, with its pid file under /run.
    alive "$MUNGE_PID" munged || runuser -u munge -- /usr/sbin/munged --pid-file="$MUNGE_PID"
    munge -n | unmunge >/dev/null || die "munge does not work"
    # -c: start with no jobs from an earlier run of this test cluster.
    alive "$CTLD_PID" slurmctld || /usr/sbin/slurmctld -c
    alive "$SLURMD_PID" slurmd || /usr/sbin/slurmd
    for _ in $(seq 60); do
        for daemon in slurmctld slurmd; do
            pidfile=$CTLD_PID
            [[ $daemon == slurmd ]] && pidfile=$SLURMD_PID
            if ! alive "$pidfile" "$daemon"; then
                sleep 1 # a daemon that has just forked may not have written it yet
                alive "$pidfile" "$daemon" || {
                    tail -n 5 "/var/log/slurm/$daemon.log" >&2 || true
                    die "$daemon is not running (log above)"
                }
            fi
        done
        state=$(sinfo -h -N -o %t 2>/dev/null | head -n1 || true)
        case $state in
        idle | mix | alloc) break ;;
        down* | drain* | drng*) scontrol update NodeName="$node" State=RESUME || true ;;
        esac
        sleep 1
    done
    [[ $state == idle || $state == mix || $state == alloc ]] ||
        die "node $node is '${state:-unknown}', not idle (see /var/log/slurm/)"
    say "cluster up: node $node ($state), partition $PARTITION, gres $(sinfo -h -o %G)"
}

stop_one() { # stop_one PIDFILE NAME: SIGTERM, wait until that process is gone
    local pid
    alive "$1" "$2" || return 0
    pid=$(<"$1")
    kill -TERM "$pid"
    for _ in $(seq 60); do
        is_running "$pid" "$2" || return 0
        sleep 0.5
    done
    say "$2 ($pid) did not stop in 30 s; killing it"
    kill -KILL "$pid" || true
}

stop() {
    stop_one "$SLURMD_PID" slurmd
    stop_one "$CTLD_PID" slurmctld
    stop_one "$MUNGE_PID" munged
    # Without a config SLURM's commands fail at once; with one and no controller
    # they wait ~10 s for it (and Snakemake's SLURM plugin runs scontrol at start).
    for f in "$CONF" "$GRES"; do
        if [[ -e $f ]] && grep -qxF "$MARKER" "$f"; then rm -f "$f"; fi
    done
    say "cluster stopped"
}

case ${1:-} in
start) start ;;
stop) stop ;;
running) alive "$MUNGE_PID" munged && alive "$CTLD_PID" slurmctld && alive "$SLURMD_PID" slurmd ;;
status) sinfo ;;
*) die "usage: $0 start|stop|running|status" ;;
esac
