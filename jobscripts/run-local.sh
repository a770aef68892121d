#!/usr/bin/env bash
# Runs the image on this machine exactly as the SemWES HPC service does:
#   singularity exec -H HOME:/home -B SCRATCH:/scratch -B SERVICE:/service IMAGE ENTRYPOINT ARGS
#
#   run-local.sh [--image IMAGE] [--home DIR] [--scratch DIR] [--service DIR] [--ranks N] [--] [SOLVER ARGS...]
#
#   --image IMAGE    the image built by build-image.sh                  [./convergence.sif]
#   --home DIR       host folder mounted as /home                        [./convergence-local/home]
#   --scratch DIR    host folder mounted as /scratch                     [./convergence-local/scratch]
#   --service DIR    host folder mounted as /service (status, result,    [./convergence-local/service]
#                    notifications: steer with "convergence notify --service DIR STOP")
#   --ranks N        MPI ranks inside the container (CONVERGENCE_RANKS)  [$CONVERGENCE_RANKS, else 2]
# Solver arguments follow, e.g. --n 128 --tolerance 1e-8. Folders are created when missing.
# Uses apptainer, else singularity (set CONVERGENCE_RUNTIME to choose).
# Exit code: the entry point's (0 converged/stopped, 1 failed, 3 aborted, 4 limit, 5 diverged); 2 bad setup.
set -euo pipefail

readonly program="run-local"
die() { printf '%s: error: %s\n' "$program" "$*" >&2; exit 2; }
usage() { sed -n '/^#   run-local.sh \[/,/^# Exit code/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

image="${PWD}/convergence.sif"
base="${PWD}/convergence-local"
home_dir="${base}/home"
scratch_dir="${base}/scratch"
service_dir="${base}/service"
ranks="${CONVERGENCE_RANKS:-2}"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --image) [[ $# -ge 2 ]] || die "--image needs a file"; image="$2"; shift 2 ;;
        --home) [[ $# -ge 2 ]] || die "--home needs a folder"; home_dir="$2"; shift 2 ;;
        --scratch) [[ $# -ge 2 ]] || die "--scratch needs a folder"; scratch_dir="$2"; shift 2 ;;
        --service) [[ $# -ge 2 ]] || die "--service needs a folder"; service_dir="$2"; shift 2 ;;
        --ranks) [[ $# -ge 2 ]] || die "--ranks needs a number"; ranks="$2"; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        --) shift; break ;;
        *) break ;;
    esac
done

runtime="${CONVERGENCE_RUNTIME:-}"
if [[ -z "$runtime" ]]; then
    if command -v apptainer >/dev/null 2>&1; then
        runtime=apptainer
    elif command -v singularity >/dev/null 2>&1; then
        runtime=singularity
    else
        die "neither apptainer nor singularity is installed; without a container use jobscripts/run-without-container.sh"
    fi
fi
command -v "$runtime" >/dev/null 2>&1 || die "container tool '$runtime' not found on PATH"
[[ -f "$image" ]] || die "image $image not found: build it with jobscripts/build-image.sh, or pass --image"
[[ "$ranks" =~ ^[1-9][0-9]*$ ]] || die "--ranks must be a positive whole number, got '$ranks'"
mkdir -p "$home_dir" "$scratch_dir" "$service_dir" || die "cannot create the bind folders"

printf '%s: service folder %s (steer: convergence notify --service %q STOP; watch: convergence status --service %q)\n' \
    "$program" "$service_dir" "$service_dir" "$service_dir" >&2
# The service passes no CONVERGENCE_SERVICE_DIR or CONVERGENCE_APP; neither must leak in from this shell.
exec env -u CONVERGENCE_SERVICE_DIR -u CONVERGENCE_APP CONVERGENCE_RANKS="$ranks" \
    "$runtime" exec -H "${home_dir}:/home" -B "${scratch_dir}:/scratch" -B "${service_dir}:/service" \
    "$image" /opt/convergence/bin/semwes-entrypoint.sh "$@"
