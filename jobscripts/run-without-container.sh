#!/usr/bin/env bash
# Runs the SemWES entry point without a container runtime, with a host folder really mounted at
# /service (and optionally /scratch) for this process and its children only, in a private mount
# namespace. The solver therefore uses the default paths exactly as inside the image.
#
#   run-without-container.sh --service HOSTDIR [--scratch HOSTDIR] [--app COMMAND] [--ranks N] [--] [SOLVER ARGS...]
#
#   --service HOSTDIR  folder that appears as /service (created if missing)            [required]
#   --scratch HOSTDIR  folder that appears as /scratch                                 [not mounted]
#   --app COMMAND      solver command for the entry point (CONVERGENCE_APP); a .dll runs with dotnet
#                      [$CONVERGENCE_APP, else this checkout's examples/Poisson Release build]
#   --ranks N          MPI ranks (CONVERGENCE_RANKS)                                    [$CONVERGENCE_RANKS, else 2]
# Everything after the options (or after --) goes to the solver, e.g. --n 64 --tolerance 1e-8.
#
# Needs root (mount namespaces and bind mounts), util-linux's unshare and mount. If /service or
# /scratch does not exist on this machine it is created as an empty folder, the mount point the
# container image would have; nothing is mounted outside the private namespace.
# Exit code: the entry point's; 2 for a bad command line or a missing prerequisite.
set -euo pipefail

readonly program="run-without-container"
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "${script_dir}/.." && pwd)"

die() { printf '%s: error: %s\n' "$program" "$*" >&2; exit 2; }

usage() {
    sed -n '/^#   run-without-container.sh/,/^# Exit code/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

if [[ "${_CONVERGENCE_IN_PRIVATE_NAMESPACE:-}" != "1" ]]; then
    service_src=""
    scratch_src=""
    app="${CONVERGENCE_APP:-${repo_root}/examples/Poisson/bin/Release/net10.0/Poisson.dll}"
    ranks="${CONVERGENCE_RANKS:-2}"
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --service) [[ $# -ge 2 ]] || die "--service needs a folder"; service_src="$2"; shift 2 ;;
            --service=*) service_src="${1#*=}"; shift ;;
            --scratch) [[ $# -ge 2 ]] || die "--scratch needs a folder"; scratch_src="$2"; shift 2 ;;
            --scratch=*) scratch_src="${1#*=}"; shift ;;
            --app) [[ $# -ge 2 ]] || die "--app needs a command"; app="$2"; shift 2 ;;
            --app=*) app="${1#*=}"; shift ;;
            --ranks) [[ $# -ge 2 ]] || die "--ranks needs a number"; ranks="$2"; shift 2 ;;
            --ranks=*) ranks="${1#*=}"; shift ;;
            -h | --help) usage; exit 0 ;;
            --) shift; break ;;
            *) break ;;
        esac
    done

    [[ -n "$service_src" ]] || die "--service HOSTDIR is required (the folder to mount at /service); see --help"
    [[ "$(id -u)" -eq 0 ]] || die "must run as root: a private mount namespace and bind mounts need CAP_SYS_ADMIN"
    command -v unshare >/dev/null 2>&1 || die "'unshare' not found (install util-linux)"
    command -v mount >/dev/null 2>&1 || die "'mount' not found (install mount/util-linux)"
    mkdir -p "$service_src" || die "cannot create $service_src"
    service_src="$(cd "$service_src" && pwd)"
    if [[ -n "$scratch_src" ]]; then
        [[ -d "$scratch_src" ]] || die "scratch folder $scratch_src does not exist"
        scratch_src="$(cd "$scratch_src" && pwd)"
    fi

    export _CONVERGENCE_IN_PRIVATE_NAMESPACE=1
    export _CONVERGENCE_SERVICE_SRC="$service_src"
    export _CONVERGENCE_SCRATCH_SRC="$scratch_src"
    export CONVERGENCE_APP="$app"
    export CONVERGENCE_RANKS="$ranks"
    # unshare execs this script again (same process id, so signals and kills still reach the job).
    exec unshare --mount --propagation private -- "${script_dir}/$(basename "${BASH_SOURCE[0]}")" "$@"
fi

# Inside the private mount namespace: what we mount here is invisible to every other process.
unset _CONVERGENCE_IN_PRIVATE_NAMESPACE
mkdir -p /service || die "cannot create the mount point /service"
mount --bind "$_CONVERGENCE_SERVICE_SRC" /service || die "cannot bind-mount $_CONVERGENCE_SERVICE_SRC at /service"
if [[ -n "${_CONVERGENCE_SCRATCH_SRC}" ]]; then
    mkdir -p /scratch || die "cannot create the mount point /scratch"
    mount --bind "$_CONVERGENCE_SCRATCH_SRC" /scratch || die "cannot bind-mount $_CONVERGENCE_SCRATCH_SRC at /scratch"
fi
printf '%s: %s mounted at /service%s\n' "$program" "$_CONVERGENCE_SERVICE_SRC" \
    "${_CONVERGENCE_SCRATCH_SRC:+, $_CONVERGENCE_SCRATCH_SRC at /scratch}" >&2
unset _CONVERGENCE_SERVICE_SRC _CONVERGENCE_SCRATCH_SRC
# The point of this runner: the solver finds its files at the default /service, as in the image.
unset CONVERGENCE_SERVICE_DIR
exec "${script_dir}/semwes-entrypoint.sh" "$@"
