#!/usr/bin/env bash
# Installs what the Quick start needs on a Debian/Ubuntu host, only what is missing:
#   mpich (mpirun.mpich, libmpich.so.12) always; with --openmpi also Open MPI (openmpi-bin:
#   mpirun.openmpi, libmpi.so.40); with --tests chromium, shellcheck, strace and Open MPI (the tests run both MPIs).
#   install-host-prerequisites.sh [--tests] [--openmpi]
# Needs root or password-less sudo to install; otherwise says exactly what to install.
# Installing openmpi-bin may switch Debian's plain 'mpirun' to Open MPI: the project's scripts and
# tests therefore always call mpirun.mpich or mpirun.openmpi by name.
set -euo pipefail

want=(mpich)
for arg in "$@"; do
  case "$arg" in
    --tests) want+=(chromium shellcheck strace openmpi-bin) ;;
    --openmpi) want+=(openmpi-bin) ;;
    *) echo "error: unknown option '$arg' (use --tests and/or --openmpi)" >&2; exit 2 ;;
  esac
done

missing=()
for pkg in "${want[@]}"; do
  case "$pkg" in
    # (no 'ldconfig | grep -q' under pipefail: grep's early exit would fail the pipeline)
    mpich) command -v mpirun.mpich >/dev/null 2>&1 && [[ "$(ldconfig -p 2>/dev/null)" == *libmpich.so.12* ]] || missing+=(mpich) ;;
    openmpi-bin)
      if ! command -v mpirun.openmpi >/dev/null 2>&1 || [[ "$(ldconfig -p 2>/dev/null)" != *libmpi.so.40* ]]; then
        [[ " ${missing[*]} " == *" openmpi-bin "* ]] || missing+=(openmpi-bin)
      fi
      ;;
    chromium) command -v chromium >/dev/null 2>&1 || missing+=(chromium) ;;
    shellcheck) command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck) ;;
    strace) command -v strace >/dev/null 2>&1 || missing+=(strace) ;;
  esac
done

if ! command -v dotnet >/dev/null 2>&1; then
  echo "error: the .NET 10 SDK (dotnet) is not on PATH; install it first (https://dot.net), then run this again" >&2
  exit 1
fi

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "error: missing packages: ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: missing packages: ${missing[*]}, and this is not a Debian/Ubuntu system (no apt-get); install them with your package manager" >&2
  exit 1
fi

echo "installing: ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "installed: ${missing[*]}"
