#!/usr/bin/env bash
# SemWES entry point: what the HPC service's "commandline" runs inside the container.
#
#   semwes-entrypoint.sh [SOLVER ARGUMENTS...]
#
# Starts the solver under MPI and makes sure /service/result.txt holds a result however the run
# ends: when the launcher fails (a crash, a kill, a missing library) and the solver has not written
# a final result, this script writes "outcome=FAILED" with the exit code, atomically; when the
# launcher kills this script outright, a watcher in its own session writes it.
#
# Two ways to be started:
#   - once (the service's plain command line, run-local.sh): this script starts the MPI launcher;
#   - once per rank by the host's launcher (the platform's MPI jobs:
#     "mpirun -np N singularity exec ... IMAGE semwes-entrypoint.sh ...", or srun): the launcher's
#     variables (OMPI_COMM_WORLD_SIZE, PMI_SIZE, PMIX_RANK, a Slurm step) say so, and each copy runs
#     the solver directly as its rank; only rank 0 writes result.txt. No nested launcher.
#
# Environment (all optional):
#   CONVERGENCE_SERVICE_DIR  service folder (status.html, result.txt, notifications.txt) [/service]
#   CONVERGENCE_RANKS        number of MPI ranks for the default launcher [2]
#   CONVERGENCE_MPI          the MPI the default launcher belongs to: mpich or openmpi [the image's
#                            (/.singularity.d/env/90-environment.sh), else the installed mpirun.*, else mpich]
#                            (mpirun.mpich / mpirun.openmpi, or a plain mpirun that is that MPI's)
#   CONVERGENCE_LAUNCHER     launcher command, split on blanks [mpirun.$CONVERGENCE_MPI -np $CONVERGENCE_RANKS]
#                            (e.g. "srun --mpi=pmi2" in a Slurm allocation)
#   CONVERGENCE_HOST_LAUNCHED  1: a host launcher started this copy (run the solver directly);
#                            0: start the launcher even though launcher variables are set [detected]
#   CONVERGENCE_APP          solver command, split on blanks [the image's, else /opt/convergence/app/Poisson];
#                            a path ending in .dll is run with "dotnet"
# Solver arguments are passed through unchanged (e.g. --n 256 --tolerance 1e-8).
# Exit code: the launcher's (0 converged/stopped, 1 failed, 3 aborted, 4 iteration limit, 5 diverged),
# 1 when the launcher claimed success without a result, 2 for a bad setup (nothing ran).
set -euo pipefail

readonly program="semwes-entrypoint"
service_dir="${CONVERGENCE_SERVICE_DIR:-/service}"
ranks="${CONVERGENCE_RANKS:-2}"
result="${service_dir}/result.txt"

say() { printf '%s %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$program" "$*" >&2; }
die() { say "error: $*"; exit 2; }

# Replaces result.txt in one rename, so the service never reads half a file. The file gets the mode
# the solver's own files get (0666 less the umask, 0644 usually), not mktemp's 0600: a portal that
# reads the folder as another user must be able to read it.
write_result() {
    local tmp
    tmp="$(mktemp "${service_dir}/.result.txt.XXXXXX")" || return 1
    if printf '%s\n' "$@" >"$tmp" && chmod "$(printf '%o' $((8#666 & ~8#$(umask))))" "$tmp" \
        && { sync "$tmp" 2>/dev/null || true; } && mv -f "$tmp" "$result"; then
        return 0
    fi
    rm -f "$tmp"
    return 1
}

outcome_of() {
    # Prints the outcome word of result.txt, or nothing when there is no such line or no file.
    if [[ -f "$result" ]]; then
        sed -n 's/^outcome=//p' "$result" | head -n 1
    fi
}

now() { date -u +%Y-%m-%dT%H:%M:%S.000Z; }

[[ "$ranks" =~ ^[1-9][0-9]*$ ]] || die "CONVERGENCE_RANKS must be a positive whole number, got '$ranks'"
if [[ ! -d "$service_dir" ]]; then
    mkdir -p "$service_dir" 2>/dev/null || die "service folder $service_dir does not exist and cannot be created (is it bind-mounted? -B HOSTDIR:/service)"
fi
[[ -w "$service_dir" ]] || die "service folder $service_dir is not writable (bind a writable host folder there: apptainer -B HOSTDIR:$service_dir, ch-run -b HOSTDIR:$service_dir)"

# The image's own settings when the runtime did not apply its %environment (a plain "ch-run IMAGE",
# or "apptainer exec --cleanenv"-like starts): CONVERGENCE_MPI and CONVERGENCE_APP from the file where
# Apptainer (and build-image.sh --rootfs) keeps it, read in a subshell; whatever the caller set wins.
readonly image_environment=/.singularity.d/env/90-environment.sh
if [[ -r "$image_environment" && ( -z "${CONVERGENCE_MPI:-}" || -z "${CONVERGENCE_APP:-}" ) ]]; then
    # shellcheck disable=SC2016  # expanded by the inner shell, after it sourced the file
    image_settings="$(env -u CONVERGENCE_MPI -u CONVERGENCE_APP /bin/sh -c \
        '. "$1" >/dev/null 2>&1; printf "%s\n%s\n" "${CONVERGENCE_MPI:-}" "${CONVERGENCE_APP:-}"' sh "$image_environment" || true)"
    { read -r image_mpi || true; read -r image_app || true; } <<<"$image_settings"
    [[ -n "${CONVERGENCE_MPI:-}" || -z "${image_mpi:-}" ]] || export CONVERGENCE_MPI="$image_mpi"
    [[ -n "${CONVERGENCE_APP:-}" || -z "${image_app:-}" ]] || export CONVERGENCE_APP="$image_app"
fi
# Still unknown (no such file): the MPI whose launcher is installed, MPICH first.
if [[ -z "${CONVERGENCE_MPI:-}" ]] && ! command -v mpirun.mpich >/dev/null 2>&1 && command -v mpirun.openmpi >/dev/null 2>&1; then
    export CONVERGENCE_MPI=openmpi
fi

# In a user namespace (an unprivileged container runtime: ch-run, Apptainer without setuid or with
# --fakeroot, Podman), one container per rank puts each rank in its own namespace, and UCX's shared
# memory, which maps a peer's segment through /proc/PID/fd, is refused ("open(/proc/PID/fd/N) failed:
# Permission denied", then MPI_Init fails with "Shared memory error"). UCX_POSIX_USE_PROC_LINK=n keeps
# shared memory and exchanges the segment another way. The initial namespace maps every id to itself.
ucx_note=""
if [[ -z "${UCX_POSIX_USE_PROC_LINK+set}" && -r /proc/self/uid_map ]] \
    && ! [[ "$(tr -s ' \t' ' ' </proc/self/uid_map)" =~ ^\ ?0\ 0\ 4294967295\ ?$ ]]; then
    export UCX_POSIX_USE_PROC_LINK=n
    ucx_note="; user namespace: UCX_POSIX_USE_PROC_LINK=n (shared memory without /proc/PID/fd links)"
fi

# Prints this process's rank if an MPI launcher started it (Open MPI's mpirun, MPICH's hydra, srun
# with PMI2 or PMIx, a PMIx launcher); prints nothing otherwise.
launcher_rank() {
    if [[ -n "${OMPI_COMM_WORLD_SIZE:-}" ]]; then
        printf '%s\n' "${OMPI_COMM_WORLD_RANK:-0}"
    elif [[ -n "${PMI_SIZE:-}" ]]; then
        printf '%s\n' "${PMI_RANK:-0}"
    elif [[ -n "${PMIX_RANK:-}" ]]; then
        printf '%s\n' "$PMIX_RANK"
    elif [[ -n "${SLURM_STEP_NUM_TASKS:-}" && "${SLURM_STEP_ID:-4294967295}" =~ ^[0-9]+$ && "${SLURM_STEP_ID:-4294967295}" -lt 4294967290 ]]; then
        # (a real srun step; the batch and extern steps have ids near 2^32)
        printf '%s\n' "${SLURM_PROCID:-0}"
    fi
}

# Prints the launcher program of MPI family $1 (mpich or openmpi): the Debian name if installed,
# else a plain mpirun that says it is that family's; fails when there is none.
mpi_launcher() {
    local family="$1" named version
    named="mpirun.$family"
    if command -v "$named" >/dev/null 2>&1; then
        printf '%s\n' "$named"
        return 0
    fi
    command -v mpirun >/dev/null 2>&1 || return 1
    version="$(mpirun --version 2>&1 || true)"
    case "$family" in
        mpich) [[ "$version" == *HYDRA* ]] || return 1 ;;
        openmpi) [[ "$version" == *"Open MPI"* || "$version" == *OpenRTE* ]] || return 1 ;;
    esac
    printf '%s\n' mpirun
}

rank="$(launcher_rank)"
case "${CONVERGENCE_HOST_LAUNCHED:-}" in
    1) rank="${rank:-0}" ;;
    0) rank="" ;;
    "") ;;
    *) die "CONVERGENCE_HOST_LAUNCHED must be 0 or 1, got '${CONVERGENCE_HOST_LAUNCHED}'" ;;
esac

launcher=()
if [[ -n "$rank" ]]; then
    # The host's launcher already started one copy of this script per rank: each runs its rank.
    [[ "$rank" =~ ^[0-9]+$ ]] || die "the launcher's rank variable is not a number: '$rank'"
elif [[ -n "${CONVERGENCE_LAUNCHER:-}" ]]; then
    read -r -a launcher <<<"$CONVERGENCE_LAUNCHER"
    [[ ${#launcher[@]} -gt 0 ]] || die "CONVERGENCE_LAUNCHER is blank"
else
    mpi="${CONVERGENCE_MPI:-mpich}"
    [[ "$mpi" == mpich || "$mpi" == openmpi ]] || die "CONVERGENCE_MPI must be mpich or openmpi, got '$mpi'"
    program_name="$(mpi_launcher "$mpi")" \
        || die "no launcher for CONVERGENCE_MPI=$mpi: neither mpirun.$mpi nor a plain mpirun of that MPI is on PATH (install it, or set CONVERGENCE_MPI / CONVERGENCE_LAUNCHER)"
    launcher=("$program_name")
    # Open MPI refuses more ranks than cores unless told; MPICH's hydra never does.
    [[ "$mpi" == openmpi ]] && launcher+=(--oversubscribe)
    launcher+=(-np "$ranks")
fi
if [[ ${#launcher[@]} -gt 0 ]]; then
    command -v "${launcher[0]}" >/dev/null 2>&1 \
        || die "launcher '${launcher[0]}' not found on PATH (install MPICH, or set CONVERGENCE_LAUNCHER)"
fi

app=()
read -r -a app <<<"${CONVERGENCE_APP:-/opt/convergence/app/Poisson}"
[[ ${#app[@]} -gt 0 ]] || die "CONVERGENCE_APP is empty"
if [[ "${app[0]}" == *.dll ]]; then
    command -v dotnet >/dev/null 2>&1 || die "${app[0]} needs 'dotnet' on PATH (or publish the solver self-contained)"
    [[ -f "${app[0]}" ]] || die "solver ${app[0]} not found (build it, or set CONVERGENCE_APP)"
    app=(dotnet "${app[@]}")
elif [[ "${app[0]}" == */* ]]; then
    [[ -x "${app[0]}" ]] || die "solver ${app[0]} not found or not executable (set CONVERGENCE_APP)"
else
    command -v "${app[0]}" >/dev/null 2>&1 || die "solver '${app[0]}' not found on PATH (set CONVERGENCE_APP)"
fi

if [[ -n "$rank" && "$rank" != 0 ]]; then
    # Not rank 0 of a host launch: rank 0's copy owns result.txt; this one is just its rank.
    exec "${app[@]}" "$@"
fi

# A placeholder first, like the platform's examples: a result left by an earlier run in the same
# folder must never be mistaken for this run's. The solver replaces it with its own at start-up.
write_result "outcome=UNSET" "state=starting" "started_at=$(now)" || die "cannot write $result"

if [[ -n "$rank" ]]; then
    say "started by the host's MPI launcher: rank 0 runs ${app[*]} $* directly (service folder $service_dir${ucx_note})"
else
    say "starting: ${launcher[*]} ${app[*]} $* (service folder $service_dir${ucx_note})"
fi

# The launcher runs in the background so that a TERM from the batch system (time limit, scancel)
# reaches it and we still get to write the result afterwards.
child=0
# shellcheck disable=SC2317  # called by the traps below
forward() {
    say "received $1, passing it on to the launcher"
    if [[ "$child" -gt 0 ]]; then
        kill "-$1" "$child" 2>/dev/null || true
    fi
}
trap 'forward TERM' TERM
trap 'forward INT' INT
trap 'forward HUP' HUP
# Slurm's advance warning (#SBATCH --signal=B:USR1@120 reaches this shell only) and user signals.
trap 'forward USR1' USR1
trap 'forward USR2' USR2

"${launcher[@]+"${launcher[@]}"}" "${app[@]}" "$@" &
child=$!

# A launcher may kill this script outright: hydra sends SIGKILL to every copy when one rank fails, even
# inside MPI_Init, and no trap runs then. A watcher in its own session (beyond the launcher's process
# group kill) waits until this script and the launcher are both gone and, if result.txt still holds the
# placeholder, writes FAILED. Only a SIGKILL of every process, the watcher's too, leaves the placeholder.
# shellcheck disable=SC2317  # runs in the watcher's shell
watch_result() {
    local entry="$1" launched="$2" outcome
    trap 'exit 0' TERM
    trap '' INT HUP USR1 USR2
    while kill -0 "$entry" 2>/dev/null || kill -0 "$launched" 2>/dev/null; do
        sleep 0.2
    done
    outcome="$(outcome_of)"
    if [[ -z "$outcome" || "$outcome" == UNSET ]]; then
        write_result "outcome=FAILED" "finished_at=$(now)" \
            "message=the entry point was killed (by the MPI launcher after a rank failed, or by the batch system) before the solver wrote a result (see the job log)"
    fi
}
watcher=0
if command -v setsid >/dev/null 2>&1; then
    # shellcheck disable=SC2016  # expanded by the watcher's shell
    setsid /bin/bash -c "$(declare -f write_result outcome_of now watch_result)"'
        service_dir="$1" result="$2"; watch_result "$3" "$4"' watch-result "$service_dir" "$result" "$$" "$child" \
        </dev/null >/dev/null 2>&1 &
    watcher=$!
fi
# Ending normally (whatever the outcome): this script wrote the result; the watcher is not needed.
# shellcheck disable=SC2317  # runs on exit
stop_watcher() { if [[ "$watcher" -gt 0 ]]; then kill -TERM "$watcher" 2>/dev/null || true; fi; }
trap stop_watcher EXIT
code=0
while true; do
    if wait "$child"; then code=0; else code=$?; fi
    # A trapped signal interrupts wait with a status >128 while the launcher (perhaps a zombie
    # now) still exists: wait again for its real exit status.
    if [[ "$code" -gt 128 ]] && kill -0 "$child" 2>/dev/null; then
        continue
    fi
    break
done

outcome="$(outcome_of)"
if [[ "$code" -ne 0 ]]; then
    if [[ -z "$outcome" || "$outcome" == "UNSET" ]]; then
        if write_result "outcome=FAILED" "exit_code=$code" "finished_at=$(now)" \
            "message=the solver ended with exit code $code before writing a result (see the job log)"; then
            say "launcher exited with code $code and no result: wrote outcome=FAILED to $result"
        else
            say "launcher exited with code $code and no result; could not write $result either"
        fi
    else
        say "launcher exited with code $code; result.txt says outcome=$outcome"
    fi
    exit "$code"
fi

if [[ -z "$outcome" || "$outcome" == "UNSET" ]]; then
    write_result "outcome=FAILED" "exit_code=1" "finished_at=$(now)" \
        "message=the solver exited with code 0 but wrote no result" \
        || say "could not write $result"
    say "launcher exited with code 0 but left no result: outcome=FAILED"
    exit 1
fi

say "finished: outcome=$outcome"
exit 0
