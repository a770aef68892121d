#!/usr/bin/env bash
# Builds the Apptainer/Singularity image of a Convergence solver.
#
#   build-image.sh [--output IMAGE.sif] [--project DIR] [--rid RID] [--runtime apptainer|singularity]
#                  [--mpi mpich|openmpi] [--from BASE]
#   build-image.sh --stage-only DIR [--project DIR] [--rid RID] [--mpi mpich|openmpi] [--from BASE]
#
#   --mpi NAME        the MPI inside the image: mpich for MPICH-ABI hosts (MPICH, Intel MPI,
#                     MVAPICH), openmpi for Open MPI hosts (docs/container.md)    [mpich]
#   --from BASE       the base image (the recipe's From:), e.g. to get another Open MPI
#                     version from another distribution                        [debian:12-slim]
#   --output IMAGE    the image to write                                  [./convergence.sif]
#   --project DIR     the solver project to publish                       [examples/Poisson]
#   --rid RID         .NET runtime identifier of the cluster              [linux-x64]
#   --runtime NAME    container tool to build with                        [apptainer, else singularity]
#   --stage-only DIR  publish and stage everything the recipe copies into DIR, but build no image
#                     (to build on another machine: cd DIR && apptainer build IMAGE convergence.def)
#
# Steps: "dotnet publish" the solver self-contained (the image needs no .NET install), stage it as
# ./app beside copies of convergence.def and semwes-entrypoint.sh, then run "<runtime> build" in that
# staging folder. Building needs root or --fakeroot (added automatically when not root).
set -euo pipefail

readonly program="build-image"
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "${script_dir}/.." && pwd)"

say() { printf '%s: %s\n' "$program" "$*" >&2; }
die() { printf '%s: error: %s\n' "$program" "$*" >&2; exit 2; }
usage() { sed -n '/^#   build-image.sh \[/,/^# staging folder/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

output="${PWD}/convergence.sif"
project="${repo_root}/examples/Poisson"
rid="linux-x64"
runtime=""
stage_only=""
mpi="mpich"
base=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --output) [[ $# -ge 2 ]] || die "--output needs a file"; output="$2"; shift 2 ;;
        --project) [[ $# -ge 2 ]] || die "--project needs a folder"; project="$2"; shift 2 ;;
        --rid) [[ $# -ge 2 ]] || die "--rid needs a runtime identifier"; rid="$2"; shift 2 ;;
        --runtime) [[ $# -ge 2 ]] || die "--runtime needs apptainer or singularity"; runtime="$2"; shift 2 ;;
        --stage-only) [[ $# -ge 2 ]] || die "--stage-only needs a folder"; stage_only="$2"; shift 2 ;;
        --mpi) [[ $# -ge 2 ]] || die "--mpi needs mpich or openmpi"; mpi="$2"; shift 2 ;;
        --from) [[ $# -ge 2 ]] || die "--from needs a base image (e.g. debian:12-slim)"; base="$2"; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done

[[ "$mpi" == mpich || "$mpi" == openmpi ]] || die "--mpi must be mpich or openmpi, got '$mpi'"
[[ "$base" != *[[:space:]]* ]] || die "--from must be one image name, got '$base'"
command -v dotnet >/dev/null 2>&1 || die "'dotnet' not found: install the .NET 10 SDK on the build host"
[[ -d "$project" ]] || die "project folder $project not found (--project)"

# Find the container tool before spending minutes on a publish.
if [[ -z "$stage_only" ]]; then
    if [[ -z "$runtime" ]]; then
        if command -v apptainer >/dev/null 2>&1; then
            runtime=apptainer
        elif command -v singularity >/dev/null 2>&1; then
            runtime=singularity
        else
            die "neither apptainer nor singularity is installed: install Apptainer (https://apptainer.org), or run with --stage-only DIR and build on a machine that has it"
        fi
    fi
    command -v "$runtime" >/dev/null 2>&1 || die "container tool '$runtime' not found on PATH"
    output_dir="$(cd "$(dirname "$output")" 2>/dev/null && pwd)" || die "folder of --output $output does not exist"
    output="${output_dir}/$(basename "$output")"
    stage="$(mktemp -d "${TMPDIR:-/tmp}/convergence-image.XXXXXX")"
    trap 'rm -rf "$stage"' EXIT
else
    mkdir -p "$stage_only" || die "cannot create $stage_only"
    stage="$(cd "$stage_only" && pwd)"
    [[ ! -e "${stage}/app" ]] || die "${stage}/app already exists: give --stage-only an empty folder"
fi

say "publishing $project for $rid (self-contained) into ${stage}/app"
dotnet publish "$project" -c Release -r "$rid" --self-contained true -o "${stage}/app" -nologo -v quiet \
    || die "dotnet publish failed (see above)"
cp "${script_dir}/convergence.def" "${script_dir}/semwes-entrypoint.sh" "$stage/"
# The MPI family and the base are lines of the staged recipe (any Apptainer or Singularity builds it).
sed -i -e "s/^    mpi=mpich\$/    mpi=${mpi}/" -e "s/^    export CONVERGENCE_MPI=mpich\$/    export CONVERGENCE_MPI=${mpi}/" "${stage}/convergence.def"
if [[ -n "$base" ]]; then
    sed -i -e "s|^From: .*|From: ${base}|" "${stage}/convergence.def"
fi
[[ "$(grep -c -e "^    mpi=${mpi}\$" -e "^    export CONVERGENCE_MPI=${mpi}\$" "${stage}/convergence.def")" -eq 2 ]] \
    || die "could not set the MPI in the staged convergence.def (were its 'mpi=' or 'CONVERGENCE_MPI=' lines changed?)"
say "image MPI: $mpi${base:+, base $base}"

if [[ -n "$stage_only" ]]; then
    say "staged in $stage; build there with: apptainer build IMAGE.sif convergence.def"
    exit 0
fi

build_args=(build)
if [[ "$(id -u)" -ne 0 ]]; then
    build_args+=(--fakeroot)
fi
say "building $output with $runtime"
(cd "$stage" && "$runtime" "${build_args[@]}" "$output" convergence.def) || die "$runtime build failed (see above)"
say "built $output"
