#!/bin/sh
# CPU time of every rank of a paused job: starts the Poisson example on RANKS ranks with the launcher of
# FAMILY (mpich or openmpi), sends PAUSE, waits until status.json says paused, then reads each rank's
# utime+stime from /proc/PID/stat at the start and the end of SECONDS and prints the share of one core.
# Usage: benchmarks/paused-cpu.sh mpich|openmpi [RANKS=4] [SECONDS=10]   (after dotnet build -c Release)
set -eu
family=${1:?usage: paused-cpu.sh mpich|openmpi [RANKS] [SECONDS]}
ranks=${2:-4}
seconds=${3:-10}
here=$(cd "$(dirname "$0")/.." && pwd)
dll="$here/examples/Poisson/bin/Release/net10.0/Poisson.dll"
service=$(mktemp -d /tmp/paused-cpu.XXXXXX)
case "$family" in
  mpich) launcher="mpirun.mpich -np $ranks" ;;
  openmpi) launcher="mpirun.openmpi --oversubscribe -np $ranks"
           export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ;;
  *) echo "paused-cpu.sh: unknown MPI family '$family' (mpich or openmpi)" >&2; exit 2 ;;
esac
# shellcheck disable=SC2086 # the launcher is words
$launcher dotnet "$dll" --service "$service" --n 256 --method jacobi --progress-ms 1000 --tolerance 1e-30 >"$service/job.out" 2>&1 &
job=$!
i=0
until grep -q '"state": "Running"\|"state": "Converging"' "$service/status.json" 2>/dev/null; do
  i=$((i + 1)); [ $i -lt 600 ] || { echo "the job did not start" >&2; kill $job; exit 1; }; sleep 0.1
done
printf 'PAUSE #cpu\n' >>"$service/notifications.txt"
until grep -q '"state": "Paused"' "$service/status.json" 2>/dev/null; do
  i=$((i + 1)); [ $i -lt 1200 ] || { echo "the job did not pause" >&2; kill $job; exit 1; }; sleep 0.1
done
sleep 1
pids=$(pgrep -f "^dotnet $dll --service $service")
ticks=$(getconf CLK_TCK)
before=""
for p in $pids; do before="$before $p:$(awk '{print $14 + $15}' "/proc/$p/stat")"; done
sleep "$seconds"
echo "$family, $ranks ranks, paused, CPU over $seconds s (one core = 100%):"
for entry in $before; do
  p=${entry%%:*}; t0=${entry#*:}
  t1=$(awk '{print $14 + $15}' "/proc/$p/stat")
  awk -v p="$p" -v d=$((t1 - t0)) -v hz="$ticks" -v s="$seconds" 'BEGIN { printf "  pid %s: %.2f s CPU = %.1f%%\n", p, d / hz, 100 * d / hz / s }'
done
printf 'STOP #cpu-end\n' >>"$service/notifications.txt"
wait $job || true
grep -o 'paused_seconds=.*' "$service/result.txt"
rm -rf "$service"
