#!/usr/bin/env bash
# A cluster of several nodes on one Linux machine, made of namespaces: for the multi-node tests and for
# trying a multi-node MPI job on a laptop.
#
#   jobscripts/local-cluster.sh start [--nodes N] [--no-slurm]
#                                                  make N nodes (default 3, at most 20), with a Slurm of
#                                                  their own when Slurm is installed, and wait until they
#                                                  answer; does nothing more when they already run
#   jobscripts/local-cluster.sh stop                end every process inside the nodes and remove all
#                                                  that start made (namespaces, switch, mounts, holders)
#   jobscripts/local-cluster.sh status              list the nodes; exit 0 when running, 3 when not
#   jobscripts/local-cluster.sh env                 print what a shell evals to use the cluster (the MPI
#                                                  settings below; sbatch, srun, squeue, scancel, ... as
#                                                  functions that run them on node1):
#                                                  eval "$(jobscripts/local-cluster.sh env)"
#   jobscripts/local-cluster.sh run NODE CMD...     run CMD inside NODE (node1, node2, ...), in the
#                                                  current folder, with the cluster's MPI settings
#
# Each node (hostname nodeI) has its own network namespace (cvg-nodeI) with one interface, cvg0,
# addressed 10.77.0.I/24 and plugged into a bridge that lives in a namespace of its own (cvg-switch):
# the nodes reach one another and nothing else (no route, no address outside 10.77.0.0/24), and the
# host's own network is not touched. Each node also has its own UTS and mount namespace, held open
# by one long-lived process, with a private tmpfs on /scratch and /dev/shm and an /etc/hosts naming
# every node. The rest of the file system is the host's and is seen by every node (as /home and the
# service folders are on a cluster); /var/tmp/convergence-cluster/shared is made for service folders.
#
# MPI reaches the nodes through an ssh stand-in (/run/convergence-cluster/ssh) that enters a node's namespaces with
# nsenter. 'run' sets, for the command it starts: HYDRA_LAUNCHER=ssh and HYDRA_LAUNCHER_EXEC (MPICH),
# OMPI_MCA_plm_rsh_agent, btl tcp,self and the interfaces (Open MPI), UCX_TLS=tcp,self and
# UCX_NET_DEVICES=cvg0 (MPICH over UCX would otherwise use shared memory between "nodes"):
#   jobscripts/local-cluster.sh run node1 mpirun.mpich -hosts node1:2,node2:2 -np 4 CMD...
#   jobscripts/local-cluster.sh run node1 mpirun.openmpi --host node1:2,node2:2 -np 4 CMD...
# The Slurm (partition "cluster"): munged and slurmctld on node1, one slurmd per node, with their own
# key, socket, ports (6917, 6918), configuration, state and logs under /run/convergence-cluster/slurm,
# running as cvg-munged, cvg-slurmctld and cvg-slurmd; sbatch -N 2 -n 4 jobscripts/slurm-bare-metal.sbatch.
# Needs root (namespaces, mounts), iproute2 and util-linux. Leaves the host's Slurm and munge alone.
set -euo pipefail

readonly program="local-cluster"
readonly state=/run/convergence-cluster
readonly shared=/var/tmp/convergence-cluster/shared
readonly subnet_prefix=10.77.0
readonly subnet="$subnet_prefix.0/24"
readonly switch_ns=cvg-switch
readonly bridge=cvg-br0
readonly max_nodes=20
readonly slurm_dir=$state/slurm

say() { printf '%s: %s\n' "$program" "$*" >&2; }
die() { say "error: $*"; exit 2; }

usage() {
    sed -n '2,36s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

need_root() {
    [[ $(id -u) -eq 0 ]] || die "this needs root (network and mount namespaces): run: sudo $0 ${action:-start}"
    local tool
    for tool in ip unshare nsenter mount; do
        command -v "$tool" >/dev/null 2>&1 \
            || die "'$tool' is missing: install iproute2 and util-linux (jobscripts/install-host-prerequisites.sh --tests does)"
    done
}

# The nodes that start made, in order (node1 node2 ...); empty when the cluster does not run.
nodes() {
    [[ -f "$state/nodes" ]] && cat "$state/nodes"
    return 0
}

holder_pid() {
    local node="$1" pid
    [[ -f "$state/$node.pid" ]] || return 1
    pid="$(cat "$state/$node.pid")"
    [[ -n "$pid" && -d "/proc/$pid" ]] || return 1
    printf '%s\n' "$pid"
}

running() {
    local node any=0
    for node in $(nodes); do
        holder_pid "$node" >/dev/null || return 1
        any=1
    done
    [[ $any -eq 1 ]]
}

node_address() { printf '%s.%s\n' "$subnet_prefix" "${1#node}"; }

write_files() {
    local count="$1" i
    mkdir -p "$state" "$shared"
    {
        printf '127.0.0.1 localhost\n::1 localhost\n'
        for ((i = 1; i <= count; i++)); do
            printf '%s node%s\n' "$(node_address "node$i")" "$i"
        done
    } >"$state/hosts"
    {
        printf 'export HYDRA_LAUNCHER=ssh HYDRA_LAUNCHER_EXEC=%q\n' "$state/ssh"
        printf 'export UCX_TLS=tcp,self UCX_NET_DEVICES=cvg0\n'
        printf 'export OMPI_MCA_plm_rsh_agent=%q OMPI_MCA_pml=ob1 OMPI_MCA_btl=tcp,self\n' "$state/ssh"
        printf 'export OMPI_MCA_btl_tcp_if_include=%s OMPI_MCA_oob_tcp_if_include=%s\n' "$subnet" "$subnet"
    } >"$state/node.env"
    # The stand-in for ssh: takes ssh's arguments (options, a host, a command) and runs the command
    # with /bin/sh inside that node, as sshd would, with the caller's environment.
    cat >"$state/ssh" <<EOF
#!/usr/bin/env bash
# ssh stand-in of jobscripts/local-cluster.sh: enters a node's namespaces instead of logging in.
set -euo pipefail
while [[ \$# -gt 0 && "\$1" == -* ]]; do
    case "\$1" in
        -[bcDEeFIiJLlmOopQRSWw]) shift 2 ;;
        *) shift ;;
    esac
done
[[ \$# -ge 1 ]] || { echo "local-cluster ssh: no host given" >&2; exit 255; }
host="\${1%%:*}"
shift
host="\${host#*@}"
node="\$(awk -v h="\$host" '\$1 == h { print \$2; exit } { for (i = 2; i <= NF; i++) if (\$i == h) { print \$2; exit } }' "$state/hosts")"
if [[ -z "\$node" || ! -f "$state/\$node.pid" ]]; then
    echo "local-cluster ssh: no node '\$host' in this cluster (see: $0 status)" >&2
    exit 255
fi
pid="\$(cat "$state/\$node.pid")"
cd / 
if [[ \$# -eq 0 ]]; then
    exec nsenter -t "\$pid" --net --uts --mount --wd="\${HOME:-/}" -- /bin/sh -l
fi
exec nsenter -t "\$pid" --net --uts --mount --wd="\${HOME:-/}" -- /bin/sh -c "\$*"
EOF
    chmod 0755 "$state/ssh"
}

start_node() {
    local i="$1" node="node$1" ns="cvg-node$1"
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip -n "$switch_ns" link add "veth$i" type veth peer name cvg0 netns "$ns"
    ip -n "$switch_ns" link set "veth$i" master "$bridge" up
    ip -n "$ns" addr add "$(node_address "$node")/24" dev cvg0
    ip -n "$ns" link set cvg0 up
    rm -f "$state/$node.pid" "$state/$node.ready"
    # The holder: a new UTS and mount namespace inside the node's network namespace, set up, then kept
    # open by a sleeping process whose pid the stand-in and 'run' enter.
    # shellcheck disable=SC2016 # expanded by the holder's shell
    ip netns exec "$ns" unshare --uts --mount --propagation private -- /bin/sh -c '
        echo $$ >"$1/$2.pid"
        hostname "$2"
        mount -t tmpfs -o mode=1777,size=1g "cvg-scratch-$2" /scratch
        mount -t tmpfs -o mode=1777,size=1g "cvg-shm-$2" /dev/shm
        mount --bind "$1/hosts" /etc/hosts
        # "ip netns exec" remounted /sys, which hides the cgroup file systems slurmd needs: mount the
        # host'\''s hierarchies again (the same hierarchies, not new ones), as listed by start.
        while read -r target type options; do
            mkdir -p "$target" 2>/dev/null
            mount -t "$type" -o "$options" "$type" "$target" || echo "could not mount $type on $target"
        done <"$1/cgroups"
        : >"$1/$2.ready"
        exec sleep infinity' holder "$state" "$node" </dev/null >"$state/$node.log" 2>&1 &
}

# True when a TCP connection from NODE to ADDRESS's port 9 is answered (accepted or refused): the
# address is reachable. No ping needed; nothing listens there, so nothing is sent beyond the handshake.
reaches() {
    local out
    # shellcheck disable=SC2016 # expanded by the inner bash
    out="$(ip netns exec "cvg-$1" timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/9"' "$2" 2>&1)" && return 0
    [[ "$out" == *"refused"* ]]
}

# wait_until SECONDS WHAT CMD...: polls CMD every 0.1 s; dies with "WHAT within SECONDS s" when it never succeeds.
wait_until() {
    local seconds="$1" what="$2" i
    shift 2
    for ((i = 0; i < seconds * 10; i++)); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    die "$what within $seconds s (see $state/*.log)"
}

start() {
    local count=3 with_slurm=1
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --no-slurm)
                with_slurm=0
                shift
                ;;
            --nodes)
                [[ $# -ge 2 && "$2" =~ ^[0-9]+$ && "$2" -ge 1 && "$2" -le $max_nodes ]] \
                    || die "--nodes takes a number from 1 to $max_nodes (e.g. --nodes 3), got '${2:-}'"
                count="$2"
                shift 2
                ;;
            *) die "unknown option '$1' for start (use --nodes N, --no-slurm)" ;;
        esac
    done
    need_root
    if running; then
        local have
        have="$(nodes | wc -l)"
        [[ "$have" -eq "$count" ]] \
            || die "a cluster of $have nodes already runs; stop it first ($0 stop) to start one of $count"
        say "already running: $(nodes | tr '\n' ' ')"
        return 0
    fi
    # Left-overs of a cluster whose holders died (a reboot clears /run, a killed holder does not).
    if [[ -d "$state" ]] || ip netns list 2>/dev/null | grep -q '^cvg-'; then
        stop_all
    fi
    mkdir -p "$state"
    if [[ ! -d /scratch ]]; then
        mkdir /scratch
        : >"$state/made-scratch"
    fi
    local i
    for ((i = 1; i <= count; i++)); do
        printf 'node%s\n' "$i"
    done >"$state/nodes"
    write_files "$count"
    findmnt -rnR -o TARGET,FSTYPE,OPTIONS /sys/fs/cgroup >"$state/cgroups" 2>/dev/null || : >"$state/cgroups"
    ip netns add "$switch_ns"
    ip -n "$switch_ns" link set lo up
    ip -n "$switch_ns" link add "$bridge" type bridge
    ip -n "$switch_ns" link set "$bridge" up
    for ((i = 1; i <= count; i++)); do
        start_node "$i"
    done
    for ((i = 1; i <= count; i++)); do
        wait_until 10 "node$i was not set up" test -f "$state/node$i.ready"
    done
    # Every node reaches the last one over the switch (the bridge forwards once its ports are up).
    for ((i = 1; i <= count; i++)); do
        wait_until 10 "node$i does not reach node$count" reaches "node$i" "$(node_address "node$count")"
    done
    local scheduler="no Slurm (--no-slurm)"
    if [[ $with_slurm -eq 1 ]]; then
        if command -v slurmctld >/dev/null 2>&1 && command -v slurmd >/dev/null 2>&1 && command -v munged >/dev/null 2>&1 \
            && command -v sbatch >/dev/null 2>&1; then
            start_slurm "$count"
            scheduler="Slurm partition cluster (SLURM_CONF=$slurm_dir/slurm.conf)"
        else
            scheduler="no Slurm (slurmctld, slurmd, munged or sbatch missing: jobscripts/local-slurm.sh start installs them)"
        fi
    fi
    say "running: $count nodes ($(nodes | tr '\n' ' ' | sed 's/ $//')) on $subnet; $scheduler; shared folder $shared; '$0 stop' removes it all"
}

# Runs a daemon inside NODE under a name of its own (a symbolic link cvg-NAME), so that tools which find
# the host's daemons by name (pgrep -x slurmd, as local-slurm.sh does) never see or stop this cluster's.
node_daemon() {
    local node="$1" name="$2" pid
    shift 2
    pid="$(holder_pid "$node")"
    ln -sf "$(command -v "$name")" "$slurm_dir/cvg-$name"
    nsenter -t "$pid" --net --uts --mount --wd=/ -- "$slurm_dir/cvg-$name" "$@"
}

slurm_idle() {
    local states
    states="$(nsenter -t "$(holder_pid node1)" --net --uts --mount -- sinfo -h -N -o '%N %T' 2>/dev/null)" || return 1
    [[ "$(grep -cE ' (idle|mixed|allocated)' <<<"$states")" -eq "$1" ]]
}

# A Slurm of its own: munged, slurmctld (on node1) and one slurmd per node, with their own key,
# socket, ports, configuration and state under $slurm_dir; the host's Slurm and munge are not used.
start_slurm() {
    local count="$1" i
    mkdir -p "$slurm_dir/ctld" "$slurm_dir/munge"
    chmod 0700 "$slurm_dir/munge"
    dd if=/dev/urandom of="$slurm_dir/munge/munge.key" bs=1 count=1024 status=none
    chmod 0400 "$slurm_dir/munge/munge.key"
    cat >"$slurm_dir/slurm.conf" <<CONF
# written by jobscripts/local-cluster.sh for the namespace cluster; removed by '$0 stop'
ClusterName=convergence-nodes
SlurmctldHost=node1
SlurmctldPort=6917
SlurmdPort=6918
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$slurm_dir/munge/munge.socket
StateSaveLocation=$slurm_dir/ctld
SlurmdSpoolDir=$slurm_dir/d-%n
SlurmctldPidFile=$slurm_dir/slurmctld.pid
SlurmdPidFile=$slurm_dir/slurmd-%n.pid
SlurmctldLogFile=$slurm_dir/slurmctld.log
SlurmdLogFile=$slurm_dir/slurmd-%n.log
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
NodeName=node[1-$count] CPUs=$(nproc) State=UNKNOWN
PartitionName=cluster Nodes=node[1-$count] Default=YES MaxTime=INFINITE State=UP
CONF
    printf 'export SLURM_CONF=%q\n' "$slurm_dir/slurm.conf" >>"$state/node.env"
    node_daemon node1 munged --socket="$slurm_dir/munge/munge.socket" --key-file="$slurm_dir/munge/munge.key" \
        --pid-file="$slurm_dir/munge/munged.pid" --log-file="$slurm_dir/munge/munged.log" \
        --seed-file="$slurm_dir/munge/seed" --force
    wait_until 30 "munged did not start" test -S "$slurm_dir/munge/munge.socket"
    SLURM_CONF="$slurm_dir/slurm.conf" node_daemon node1 slurmctld -f "$slurm_dir/slurm.conf"
    for ((i = 1; i <= count; i++)); do
        mkdir -p "$slurm_dir/d-node$i"
        SLURM_CONF="$slurm_dir/slurm.conf" node_daemon "node$i" slurmd -N "node$i" -f "$slurm_dir/slurm.conf"
    done
    SLURM_CONF="$slurm_dir/slurm.conf" wait_until 90 "the Slurm nodes did not all become idle (see $slurm_dir/*.log)" slurm_idle "$count"
}

stop_all() {
    local ns pid node
    # Processes started inside the nodes first (ranks, proxies left behind), then the holders.
    for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^cvg-node[0-9]+$/ { print $1 }'); do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            kill -KILL "$pid" 2>/dev/null || true
        done
    done
    for node in $(nodes); do
        if pid="$(holder_pid "$node")"; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^cvg-(node[0-9]+|switch)$/ { print $1 }'); do
        ip netns del "$ns" 2>/dev/null || true
    done
    if [[ -f "$state/made-scratch" ]]; then
        rmdir /scratch 2>/dev/null || true
    fi
    rm -rf "$state"
}

status() {
    if ! running; then
        say "not running (start it with: $0 start)"
        exit 3
    fi
    local node pid count
    for node in $(nodes); do
        pid="$(holder_pid "$node")"
        count="$(ip netns pids "cvg-$node" 2>/dev/null | grep -cvx "$pid" || true)"
        printf '%s %s holder %s, %s other process(es)\n' "$node" "$(node_address "$node")" "$pid" "$count"
    done
    if [[ -f "$slurm_dir/slurm.conf" ]]; then
        nsenter -t "$(holder_pid node1)" --net --uts --mount -- env SLURM_CONF="$slurm_dir/slurm.conf" sinfo -N -o '%N %T %C' 2>&1 \
            | sed 's/^/slurm: /' || true
    fi
    say "running: $(nodes | wc -l) nodes on $subnet, shared folder $shared"
}

run_in() {
    [[ $# -ge 2 ]] || die "usage: $0 run NODE CMD... (e.g. $0 run node1 hostname)"
    local node="$1" pid
    shift
    running || die "the cluster does not run (start it with: $0 start)"
    pid="$(holder_pid "$node")" || die "no node '$node' in this cluster (nodes: $(nodes | tr '\n' ' ' | sed 's/ $//'))"
    # shellcheck source=/dev/null
    source "$state/node.env"
    case "$(basename "$1")" in
        # A job's environment goes with it: inside an allocation hydra starts its proxies with srun, as
        # on a real cluster, not with the ssh stand-in.
        sbatch | srun | salloc) unset HYDRA_LAUNCHER HYDRA_LAUNCHER_EXEC ;;
    esac
    exec nsenter -t "$pid" --net --uts --mount --wd="$PWD" -- "$@"
}

action="${1:-}"
[[ $# -gt 0 ]] && shift
case "$action" in
    start) start "$@" ;;
    stop)
        need_root
        stop_all
        say "stopped"
        ;;
    status) status ;;
    env)
        running || die "the cluster does not run (start it with: $0 start)"
        cat "$state/node.env"
        printf 'export CONVERGENCE_CLUSTER_NODES=%q CONVERGENCE_CLUSTER_SHARED=%q CONVERGENCE_CLUSTER_SSH=%q\n' \
            "$(nodes | tr '\n' ' ' | sed 's/ $//')" "$shared" "$state/ssh"
        self="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
        printf 'cluster_run() { %q run "$@"; }\n' "$self"
        if [[ -f "$slurm_dir/slurm.conf" ]]; then
            # The nodes' network is not the host's: the Slurm commands run on node1, like on a login node.
            for command in sbatch srun salloc squeue scancel sinfo scontrol; do
                printf '%s() { %q run node1 %s "$@"; }\n' "$command" "$self" "$command"
            done
        fi
        ;;
    run) run_in "$@" ;;
    -h | --help | help) usage ;;
    *) die "unknown action '${action}': use start, stop, status, env or run (see $0 --help)" ;;
esac
