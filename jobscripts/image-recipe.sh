#!/usr/bin/env bash
# The image's install steps and checks, in one place for both builders: convergence.def's %post and
# %test call this script inside the image (apptainer build), and build-image.sh --rootfs runs the
# same %post and %test in a debootstrapped root file system. What the tests run is what Apptainer builds.
#
#   image-recipe.sh install mpich|openmpi [SOLVER ARGS...]   (%post) packages, trim, checks, one real job
#   image-recipe.sh check                                    every library the solver loads is present
#   image-recipe.sh test [SOLVER ARGS...]                    (%test) one real 1-rank job must end with a result
#
# SOLVER ARGS are what the test job gets (keep it to a few iterations, e.g. --max-iterations 20).
# Runs inside the image as root; not meant for the host.
set -euo pipefail

readonly program="image-recipe"
readonly app_dir=/opt/convergence/app
readonly entrypoint=/opt/convergence/bin/semwes-entrypoint.sh
# The solver (%environment's CONVERGENCE_APP; %post does not see %environment, so the default names it too).
readonly solver="${CONVERGENCE_APP:-/opt/convergence/app/Poisson}"

say() { printf '%s: %s\n' "$program" "$*" >&2; }
die() { printf '%s: error: %s\n' "$program" "$*" >&2; exit 1; }

# The image's MPI: the argument of install, else %environment's CONVERGENCE_MPI, else what is installed.
image_mpi() {
    if [[ -n "${CONVERGENCE_MPI:-}" ]]; then
        printf '%s\n' "$CONVERGENCE_MPI"
    elif command -v mpirun.mpich >/dev/null 2>&1; then
        echo mpich
    elif command -v mpirun.openmpi >/dev/null 2>&1; then
        echo openmpi
    else
        die "no MPI in the image (neither mpirun.mpich nor mpirun.openmpi)"
    fi
}

install_packages() {
    local mpi="$1"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    # Security and point-release updates of the base (debootstrap and the docker base may lag behind).
    apt-get upgrade -y
    # libssl3: .NET hashes through OpenSSL on Linux (option fingerprint, checkpoint SHA-256, the
    # notifications position) and loads it at run time, so no linker check would miss it: without it
    # the first job aborts with "No usable version of libssl was found". libstdc++6 and libgcc-s1 are
    # what the runtime links against; ICU is not needed (the solver is built with InvariantGlobalization).
    local common=(libssl3 libstdc++6 libgcc-s1 procps)
    if [[ "$mpi" == openmpi ]]; then
        # Open MPI from the base image's distribution (Debian 12: 4.1): for Open MPI hosts.
        apt-get install -y --no-install-recommends openmpi-bin "${common[@]}"
    else
        # MPICH from Debian: libmpich.so.12 speaks the MPICH ABI, which Intel MPI, MVAPICH and Cray
        # MPICH on the hosts share.
        apt-get install -y --no-install-recommends mpich libmpich12 "${common[@]}"
    fi
    apt-get clean
    rm -rf /var/lib/apt/lists/*
}

# Fails (exit 1, one line per gap) when a library the solver links against or loads at run time is missing.
check_libraries() {
    local mpi missing=0 file lib
    mpi="$(image_mpi)"
    local loaded=(libssl.so.3 libcrypto.so.3)
    if [[ "$mpi" == openmpi ]]; then loaded+=(libmpi.so.40); else loaded+=(libmpich.so.12); fi
    [[ -x "$solver" ]] || { say "missing: ${solver}"; missing=1; }
    [[ -f "${app_dir}/libcoreclr.so" ]] || { say "missing: ${app_dir}/libcoreclr.so"; missing=1; }
    local cache
    cache="$(ldconfig -p)"
    for lib in "${loaded[@]}"; do
        if [[ "$cache" != *"$lib "* ]]; then
            say "missing: $lib (loaded at run time by the solver)"
            missing=1
        fi
    done
    # Everything the published runtime and the loaded libraries link against must resolve.
    local files=("${app_dir}"/*.so "$solver")
    for lib in "${loaded[@]}"; do
        file="$(printf '%s\n' "$cache" | sed -n "s|^[[:space:]]*${lib//./\\.} (.*) => ||p" | head -n 1)"
        [[ -n "$file" ]] && files+=("$file")
    done
    for file in "${files[@]}"; do
        [[ -e "$file" ]] || continue
        local unresolved
        unresolved="$(ldd "$file" 2>&1 | sed -n 's/^[[:space:]]*\([^ ]*\) => not found.*/\1/p' | tr '\n' ' ')"
        if [[ -n "$unresolved" ]]; then
            say "missing: ${unresolved% } (needed by $file)"
            missing=1
        fi
    done
    [[ "$missing" -eq 0 ]] || die "the image lacks libraries the solver needs (above): add their packages to image-recipe.sh"
    command -v "mpirun.$mpi" >/dev/null 2>&1 || die "mpirun.$mpi is missing"
    say "libraries: complete (${loaded[*]} and everything ${app_dir} links against)"
}

# One real job, the way the service starts it: 1 rank, a fresh service folder, a few iterations.
smoke_job() {
    local mpi folder code=0 outcome
    mpi="$(image_mpi)"
    folder="$(mktemp -d "${TMPDIR:-/tmp}/convergence-image-test.XXXXXX")"
    local args=("$@")
    [[ ${#args[@]} -gt 0 ]] || args=(--max-iterations 20)
    # (Open MPI refuses root unless told twice; the build runs as root.)
    env CONVERGENCE_SERVICE_DIR="${folder}/service" CONVERGENCE_RANKS=1 CONVERGENCE_MPI="$mpi" \
        OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
        "$entrypoint" "${args[@]}" >"${folder}/job.log" 2>&1 || code=$?
    outcome="$(sed -n 's/^outcome=//p' "${folder}/service/result.txt" 2>/dev/null | head -n 1)"
    if [[ "$code" -ne 0 && "$code" -ne 4 ]] || [[ -z "$outcome" || "$outcome" == UNSET || "$outcome" == FAILED ]]; then
        cat "${folder}/job.log" >&2
        rm -rf "$folder"
        die "the test job (${entrypoint} ${args[*]}, 1 rank) exited with $code, result outcome='${outcome}' (its log is above)"
    fi
    rm -rf "$folder"
    say "test job: exit $code, outcome=$outcome"
}

[[ $# -ge 1 ]] || die "usage: image-recipe.sh install mpich|openmpi | check | test [SOLVER ARGS...]"
action="$1"
shift
case "$action" in
    install)
        [[ $# -ge 1 ]] || die "install needs the MPI: mpich or openmpi"
        mpi="$1"
        shift
        [[ "$mpi" == mpich || "$mpi" == openmpi ]] || die "the MPI must be mpich or openmpi, got '$mpi'"
        install_packages "$mpi"
        # Mount points the SemWES service binds its folders to; the image must provide them.
        mkdir -p /scratch /service
        # The LTTng trace provider needs liblttng-ust, which the image does not carry; the runtime
        # treats it as optional, and without it nothing links against a missing library.
        rm -f "${app_dir}/libcoreclrtraceptprovider.so"
        chmod 0755 "$entrypoint" "$solver" "${BASH_SOURCE[0]}"
        CONVERGENCE_MPI="$mpi" check_libraries
        CONVERGENCE_MPI="$mpi" smoke_job "$@"
        ;;
    check) check_libraries ;;
    test)
        [[ -d /scratch && -d /service ]] || die "the mount points /scratch and /service are missing"
        check_libraries
        smoke_job "$@"
        ;;
    *) die "unknown action '$action' (install, check or test)" ;;
esac
