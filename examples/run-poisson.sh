#!/usr/bin/env bash
# Quick start, part 1: builds everything and runs the main job, the 2-D Poisson example on 2 MPI ranks,
# with a local service folder instead of the container's /service.
#   ./examples/run-poisson.sh [framework and solver options, e.g. --n 512 --tolerance 1e-8]
# Environment: RANKS (default 2), CONVERGENCE_SERVICE_DIR (default ./service-local),
#   CONVERGENCE_MPI: mpich (default, mpirun.mpich) or openmpi (mpirun.openmpi). The launcher is named
#   explicitly because a plain 'mpirun' is whichever MPI Debian's alternatives picked last.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mpi=${CONVERGENCE_MPI:-mpich}
case "$mpi" in
  mpich) "$root/jobscripts/install-host-prerequisites.sh" ;;
  openmpi) "$root/jobscripts/install-host-prerequisites.sh" --openmpi ;;
  *) echo "error: CONVERGENCE_MPI must be mpich or openmpi, got '$mpi'" >&2; exit 2 ;;
esac

ranks=${RANKS:-2}
launcher=("mpirun.$mpi")
if [[ "$mpi" == openmpi ]]; then
  # Open MPI refuses more ranks than cores, and root, unless told.
  launcher+=(--oversubscribe)
  if [[ $(id -u) -eq 0 ]]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  fi
fi
service=${CONVERGENCE_SERVICE_DIR:-$root/service-local}
mkdir -p "$service"
service=$(cd "$service" && pwd)

echo "building (Release)..."
dotnet build "$root/Convergence.sln" -c Release -v quiet -nologo -clp:ErrorsOnly >/dev/null
dll="$root/examples/Poisson/bin/Release/net10.0/Poisson.dll"
cli="$root/src/Convergence.Cli/bin/Release/net10.0/convergence"

cat <<MSG
running the Poisson example on $ranks ranks (${launcher[0]}); service folder: $service
  status page:   $service/status.html   (or in a browser: $cli portal --service $service)
  result:        $service/result.txt
  steer it from another terminal, e.g.:
    echo "CHANGE_TOLERANCE 1e-4" >> $service/notifications.txt
    echo "STOP" >> $service/notifications.txt
MSG
export CONVERGENCE_SERVICE_DIR="$service"
status=0
"${launcher[@]}" -np "$ranks" dotnet "$dll" "$@" || status=$?
echo "job exit code $status; result:"
cat "$service/result.txt"
exit "$status"
