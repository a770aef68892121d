#!/usr/bin/env bash
# Installs what the Quick start needs on a Debian/Ubuntu host, only what is missing:
#   mpich (mpirun, libmpich.so.12) always; with --tests also chromium, shellcheck and strace.
# Needs root or password-less sudo to install; otherwise says exactly what to install.
set -euo pipefail

want=(mpich)
if [[ "${1:-}" == "--tests" ]]; then
  want+=(chromium shellcheck strace)
fi

missing=()
for pkg in "${want[@]}"; do
  case "$pkg" in
    # (no 'ldconfig | grep -q' under pipefail: grep's early exit would fail the pipeline)
    mpich) command -v mpirun >/dev/null 2>&1 && [[ "$(ldconfig -p 2>/dev/null)" == *libmpich.so.12* ]] || missing+=(mpich) ;;
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
