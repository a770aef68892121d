#!/usr/bin/env bash
# Time from "node lost" to result written (issue 20): the Poisson example on 4 ranks over the 2 nodes of
# jobscripts/local-cluster.sh, started through jobscripts/semwes-entrypoint.sh with MPICH's hydra on node1;
# once it iterates, every process inside node2 (but the cluster's holder and daemons) gets SIGKILL. Prints,
# per run, where rank 0 ran, the launcher's exit code, the result's outcome and the seconds from the kill to
# result.txt's change. Needs a running cluster (sudo jobscripts/local-cluster.sh start --nodes 2), Release build.
#
#   benchmarks/cluster/node-loss.sh [--runs 3]
set -euo pipefail
runs=3
[[ "${1:-}" == --runs ]] && runs="$2"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cluster="$repo/jobscripts/local-cluster.sh"
base="/var/tmp/convergence-cluster/shared/node-loss-$$"
trap 'rm -rf "$base"' EXIT
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((i = 1; i <= runs; i++)); do
    for zero in node1 node2; do
        other=node2; [[ "$zero" == node2 ]] && other=node1
        service="$base/$zero-$i"
        mkdir -p "$service"
        CONVERGENCE_SERVICE_DIR="$service" CONVERGENCE_LAUNCHER="mpirun.mpich -hosts $zero:2,$other:2 -np 4" \
            CONVERGENCE_APP="$repo/examples/Poisson/bin/Release/net10.0/Poisson.dll" \
            "$cluster" run node1 "$repo/jobscripts/semwes-entrypoint.sh" --n 16 --method jacobi --tolerance 1e-12 \
            --slow-ms 2 --progress-ms 100 >"$service/log" 2>&1 &
        job=$!
        until grep -q 'progress iteration=' "$service/log" 2>/dev/null; do sleep 0.2; done
        holder="$(cat /run/convergence-cluster/node2.pid)"
        killed_at="$(date +%s.%N)"
        for pid in $(ip netns pids cvg-node2); do
            [[ "$pid" == "$holder" ]] && continue
            [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == cvg-* ]] && continue
            kill -KILL "$pid" 2>/dev/null || true
        done
        code=0; wait "$job" || code=$?
        written="$(stat -c %.9Y "$service/result.txt")"
        awk -v z="$zero" -v c="$code" -v o="$(sed -n 's/^outcome=//p' "$service/result.txt")" -v w="$written" -v k="$killed_at" \
            'BEGIN { printf "rank 0 on %s: exit %s, outcome=%s, result written %.2f s after the kill\n", z, c, o, w - k }'
    done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
