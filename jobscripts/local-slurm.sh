#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for the tests and for trying the scheduler flow on a laptop.
#
#   jobscripts/local-slurm.sh start    install slurm-wlm and munge (apt) when missing, write the
#                                      configuration, start munged, slurmctld and slurmd; wait until
#                                      the node is idle. Does nothing more when they already run.
#   jobscripts/local-slurm.sh stop     stop the three daemons (cancels jobs still queued or running)
#   jobscripts/local-slurm.sh status   say whether the cluster runs; exit 0 when it does, 3 when not
#
# The node is this host (hostname -s) with all its CPUs (nproc); the daemons run as root
# (SlurmUser=root), processes are tracked without cgroups (proctrack/linuxproc, task/none) and srun
# speaks PMI-2 by default (MpiDefault=pmi2), which MPICH's processes understand. Needs root or
# password-less sudo. Configuration: /etc/slurm/slurm.conf, written only when absent or written by
# this script before (a foreign one is never overwritten); state in /var/spool/convergence-slurm,
# logs in /var/log/convergence-slurm.
set -euo pipefail

readonly program="local-slurm"
readonly conf=/etc/slurm/slurm.conf
readonly marker="# written by convergence jobscripts/local-slurm.sh"
readonly state_dir=/var/spool/convergence-slurm
readonly log_dir=/var/log/convergence-slurm
readonly munge_socket=/run/munge/munge.socket.2

say() { printf '%s: %s\n' "$program" "$*" >&2; }
die() { say "error: $*"; exit 2; }

usage() {
    sed -n '2,16s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

if [[ $(id -u) -eq 0 ]]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
else
    sudo=()
fi

as_root() {
    if [[ $(id -u) -ne 0 && ${#sudo[@]} -eq 0 ]]; then
        die "this needs root or password-less sudo (run: sudo $0 ${action:-start})"
    fi
    "${sudo[@]}" "$@"
}

install_missing() {
    local missing=()
    command -v munged >/dev/null 2>&1 || missing+=(munge)
    command -v slurmctld >/dev/null 2>&1 || missing+=(slurmctld)
    command -v slurmd >/dev/null 2>&1 || missing+=(slurmd)
    command -v sbatch >/dev/null 2>&1 || missing+=(slurm-client)
    [[ ${#missing[@]} -eq 0 ]] && return 0
    command -v apt-get >/dev/null 2>&1 \
        || die "missing: ${missing[*]}, and this is not a Debian/Ubuntu system (no apt-get); install Slurm and munge with your package manager"
    say "installing: ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

node_name() { hostname -s; }

write_config() {
    if [[ -f "$conf" ]] && ! grep -qxF "$marker" "$conf"; then
        die "$conf exists and was not written by this script; this machine already has a Slurm configuration (use that cluster, or move the file away)"
    fi
    local node cpus tmp
    node="$(node_name)"
    cpus="$(nproc)"
    tmp="$(mktemp)"
    cat >"$tmp" <<EOF
$marker
# A single-node cluster for tests and trials; see docs/slurm.md. Safe to delete after '$0 stop'.
ClusterName=convergence-local
SlurmctldHost=$node
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$state_dir/ctld
SlurmdSpoolDir=$state_dir/d
SlurmctldPidFile=/run/convergence-slurmctld.pid
SlurmdPidFile=/run/convergence-slurmd.pid
SlurmctldLogFile=$log_dir/slurmctld.log
SlurmdLogFile=$log_dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=pmi2
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MinJobAge=600
KillWait=30
InactiveLimit=0
NodeName=$node CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
    if [[ -f "$conf" ]] && cmp -s "$tmp" "$conf"; then
        rm -f "$tmp"
        return 0
    fi
    as_root mkdir -p "$(dirname "$conf")"
    as_root install -m 0644 "$tmp" "$conf"
    rm -f "$tmp"
    say "wrote $conf (node $node, $cpus CPUs)"
}

running() { pgrep -x "$1" >/dev/null 2>&1; }

start_munge() {
    if running munged && [[ -S "$munge_socket" ]]; then
        return 0
    fi
    if [[ ! -s /etc/munge/munge.key ]]; then
        say "creating /etc/munge/munge.key"
        as_root mkdir -p /etc/munge
        as_root dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    fi
    local owner=root
    id munge >/dev/null 2>&1 && owner=munge
    as_root chown "$owner:" /etc/munge/munge.key
    as_root chmod 0400 /etc/munge/munge.key
    as_root mkdir -p /run/munge /var/lib/munge /var/log/munge
    as_root chown "$owner:" /run/munge /var/lib/munge /var/log/munge
    if [[ "$owner" == munge ]]; then
        as_root runuser -u munge -- munged
    else
        as_root munged --force
    fi
    wait_for "munged" test -S "$munge_socket"
}

start_slurm() {
    as_root mkdir -p "$state_dir/ctld" "$state_dir/d" "$log_dir"
    if ! running slurmctld; then
        as_root slurmctld
    fi
    if ! running slurmd; then
        as_root slurmd
    fi
    wait_for "slurmctld" scontrol ping
    # A node left DOWN by an earlier stop comes back at once instead of after the next registration.
    as_root scontrol update NodeName="$(node_name)" State=RESUME >/dev/null 2>&1 || true
    wait_for "the node to become idle" node_ready
}

node_ready() {
    local state
    state="$(sinfo -h -n "$(node_name)" -o %T 2>/dev/null || true)"
    [[ "$state" == idle* || "$state" == mixed* || "$state" == allocated* ]]
}

wait_for() {
    local what="$1" i
    shift
    for ((i = 0; i < 120; i++)); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.5
    done
    die "$what did not come up within 60 s (see $log_dir/ and /var/log/munge/)"
}

stop_daemon() {
    local name="$1" i
    running "$name" || return 0
    as_root pkill -x "$name" || true
    for ((i = 0; i < 60; i++)); do
        running "$name" || return 0
        sleep 0.5
    done
    as_root pkill -KILL -x "$name" || true
}

action="${1:-}"
case "$action" in
    start)
        install_missing
        write_config
        start_munge
        start_slurm
        say "running: node $(node_name) with $(nproc) CPUs, partition debug (sbatch, srun, squeue work now; '$0 stop' ends it)"
        ;;
    stop)
        if running slurmctld; then
            scancel --full --user="$(id -un)" >/dev/null 2>&1 || true
        fi
        stop_daemon slurmd
        stop_daemon slurmctld
        stop_daemon munged
        say "stopped"
        ;;
    status)
        if running slurmctld && running slurmd && scontrol ping >/dev/null 2>&1; then
            say "running: $(sinfo -h -o '%N %T %C' 2>/dev/null || echo 'node state unknown') (nodes, state, CPUs allocated/idle/other/total)"
            exit 0
        fi
        say "not running (start it with: $0 start)"
        exit 3
        ;;
    -h | --help)
        usage
        ;;
    *)
        say "error: unknown action '${action}': use start, stop or status (e.g. $0 start)"
        exit 2
        ;;
esac
