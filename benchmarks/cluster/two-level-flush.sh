#!/usr/bin/env bash
# The shared-level copy's cost to the iterations (issue 20): the Poisson example on 4 ranks over the 2 nodes
# of jobscripts/local-cluster.sh, checkpoints every N iterations, run twice back to back:
#   node-local  --checkpoint-dir /scratch/...  (node-local: each part also copied to the shared level in the background)
#   one level   --checkpoint-dir <service>/ckpt (seen by every rank: no copy)
# and prints, for each, the median time per iteration over the progress intervals, and for the first the
# copies' durations and how long the next checkpoint waited for them. Needs a running cluster
# (sudo jobscripts/local-cluster.sh start --nodes 2) and a Release build.
#
#   benchmarks/cluster/two-level-flush.sh [--n 1024] [--every 10] [--iterations 400] [--rounds 2]
# The two runs alternate --rounds times, so a change in the machine's load hits both alike.
set -euo pipefail
n=1024; every=10; iterations=400; rounds=2
while [[ $# -gt 0 ]]; do
    case "$1" in
        --n) n="$2"; shift 2 ;;
        --every) every="$2"; shift 2 ;;
        --iterations) iterations="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        *) echo "two-level-flush: unknown option $1" >&2; exit 2 ;;
    esac
done
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cluster="$repo/jobscripts/local-cluster.sh"
poisson="$repo/examples/Poisson/bin/Release/net10.0/Poisson.dll"
shared="/var/tmp/convergence-cluster/shared/two-level-flush-$$"
mkdir -p "$shared"
trap 'rm -rf "$shared"; "$cluster" run node1 rm -rf /scratch/two-level-flush; "$cluster" run node2 rm -rf /scratch/two-level-flush' EXIT

run() { # label checkpoint-dir
    local service="$shared/$1-$round"
    mkdir -p "$service"
    "$cluster" run node1 mpirun.mpich -hosts node1:2,node2:2 -np 4 dotnet "$poisson" --service "$service" \
        --n "$n" --method jacobi --tolerance 1e-30 --max-iterations "$iterations" --progress-ms 200 \
        --checkpoint-dir "$2" --checkpoint-every "$every" --checkpoint-keep 2 >"$service/log" 2>&1 || true
    python3 - "$1" "$service/log" <<'PY'
import re, sys, statistics
from datetime import datetime
label, path = sys.argv[1], sys.argv[2]
text = open(path).read()
points = [(datetime.fromisoformat(t.replace('Z', '+00:00')), int(i)) for t, i in re.findall(r'^(\S+Z) progress iteration=(\d+)', text, re.M)]
per = [ (b[0]-a[0]).total_seconds()*1000/(b[1]-a[1]) for a, b in zip(points, points[1:]) if b[1] > a[1] ]
copies = [float(x) for x in re.findall(r'slowest copy ([\d.]+) ms', text)]
waits = [float(x) for x in re.findall(r'the next checkpoint waited ([\d.]+) ms', text)]
writes = [float(x) for x in re.findall(r'checkpoint ckpt-\d+ (?:complete|written) \(periodic\).*?, ([\d.]+) ms', text)]
line = f"{label:10} median {statistics.median(per):.2f} ms/iteration over {len(per)} progress intervals (p90 {statistics.quantiles(per, n=10)[-1]:.2f})"
line += f"; checkpoints {len(writes)}, median write {statistics.median(writes):.1f} ms" if writes else ""
line += f"; shared copies {len(copies)}, median slowest {statistics.median(copies):.1f} ms, max {max(copies):.1f} ms; next checkpoint waited median {statistics.median(waits):.1f} ms, max {max(waits):.1f} ms" if copies else ""
print(line)
PY
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((round = 1; round <= rounds; round++)); do
    run node-local /scratch/two-level-flush
    run one-level "$shared/one-level-$round/ckpt"
    "$cluster" run node1 rm -rf /scratch/two-level-flush
    "$cluster" run node2 rm -rf /scratch/two-level-flush
    echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
done
