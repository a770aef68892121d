#!/usr/bin/env bash
# Quick start, part 2: installs what the tests need (MPICH, Open MPI, Chromium, shellcheck, strace, Slurm), builds
# in Release and runs the whole test suite: unit tests, MPI tests under mpirun.mpich and mpirun.openmpi, browser
# tests in headless Chromium, container entry point tests, the container tests (images built with
# jobscripts/build-image.sh --rootfs and run with Charliecloud's ch-run; needs root), the Slurm tests under a real one-node Slurm
# (jobscripts/local-slurm.sh), the multi-node tests on a two-node cluster made of namespaces (jobscripts/local-cluster.sh,
# started and stopped by the tests themselves; needs root) and the benchmarks' smoke run. Prints "N passed, N failed" at the end.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/jobscripts/install-host-prerequisites.sh" --tests

# The Slurm tests submit real jobs: a one-node cluster on this machine (installed with apt when missing).
"$root/jobscripts/local-slurm.sh" start

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
echo "building (Release)..."
dotnet build "$root/Convergence.sln" -c Release -nologo -clp:ErrorsOnly

results=$(mktemp -d)
status=0
dotnet test "$root/tests/Convergence.Tests/Convergence.Tests.csproj" -c Release --no-build -nologo \
  --logger "trx;LogFileName=results.trx" --logger "console;verbosity=normal" --results-directory "$results" "$@" || status=$?

trx="$results/results.trx"
if [[ -f "$trx" ]]; then
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  passed=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  failed=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  total=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters")
  executed=$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$counters")
  skipped=$(( ${total:-0} - ${executed:-0} ))
  echo "${passed:-0} passed, ${failed:-0} failed, ${skipped} skipped"
  if [[ "${executed:-0}" -eq 0 ]]; then
    echo "error: no test was executed" >&2
    status=1
  fi
else
  echo "error: no test results were written" >&2
  status=1
fi
rm -rf "$results"
exit "$status"
