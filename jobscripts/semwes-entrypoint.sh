#!/usr/bin/env bash
# SemWES entry point: what the HPC service's "commandline" runs inside the container.
#
#   semwes-entrypoint.sh [SOLVER ARGUMENTS...]
#
# Starts the solver under MPI and makes sure /service/result.txt holds a result however the run
# ends: when the launcher fails (a crash, a kill, a missing library) and the solver has not written
# a final result, this script writes "outcome=FAILED" with the exit code, atomically.
#
# Environment (all optional):
#   CONVERGENCE_SERVICE_DIR  service folder (status.html, result.txt, notifications.txt) [/service]
#   CONVERGENCE_RANKS        number of MPI ranks for the default launcher [2]
#   CONVERGENCE_LAUNCHER     launcher command, split on blanks [mpirun -np $CONVERGENCE_RANKS]
#                            (e.g. "srun --mpi=pmi2" in a Slurm allocation)
#   CONVERGENCE_APP          solver command, split on blanks [/opt/convergence/app/Poisson];
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

# Replaces result.txt in one rename, so the service never reads half a file.
write_result() {
    local tmp
    tmp="$(mktemp "${service_dir}/.result.txt.XXXXXX")" || return 1
    if printf '%s\n' "$@" >"$tmp" && { sync "$tmp" 2>/dev/null || true; } && mv -f "$tmp" "$result"; then
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
[[ -w "$service_dir" ]] || die "service folder $service_dir is not writable"

launcher=()
if [[ -n "${CONVERGENCE_LAUNCHER:-}" ]]; then
    read -r -a launcher <<<"$CONVERGENCE_LAUNCHER"
    [[ ${#launcher[@]} -gt 0 ]] || die "CONVERGENCE_LAUNCHER is blank"
else
    launcher=(mpirun -np "$ranks")
fi
command -v "${launcher[0]}" >/dev/null 2>&1 \
    || die "launcher '${launcher[0]}' not found on PATH (install MPICH, or set CONVERGENCE_LAUNCHER)"

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

# A placeholder first, like the platform's examples: a result left by an earlier run in the same
# folder must never be mistaken for this run's. The solver replaces it with its own at start-up.
write_result "outcome=UNSET" "state=starting" "started_at=$(now)" || die "cannot write $result"

say "starting: ${launcher[*]} ${app[*]} $* (service folder $service_dir)"

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

"${launcher[@]}" "${app[@]}" "$@" &
child=$!
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
