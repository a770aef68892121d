#!/usr/bin/env bash
# Installs what the Quick start needs on a Debian/Ubuntu host, only what is missing:
#   mpich (mpirun.mpich, libmpich.so.12) always; with --openmpi also Open MPI (openmpi-bin:
#   mpirun.openmpi, libmpi.so.40); with --tests chromium, shellcheck, strace, Open MPI (the tests run both MPIs)
#   and what the container tests need: Charliecloud's ch-run (charliecloud-runtime), debootstrap,
#   squashfs-tools and squashfuse; /dev/fuse is then made usable by every user, as Debian's fuse3 rule does;
#   and what the namespace cluster of local-cluster.sh needs: iproute2 (ip) and util-linux (unshare, nsenter).
#   install-host-prerequisites.sh [--tests] [--openmpi]
# Needs root or password-less sudo to install; otherwise says exactly what to install.
# Installing openmpi-bin may switch Debian's plain 'mpirun' to Open MPI: the project's scripts and
# tests therefore always call mpirun.mpich or mpirun.openmpi by name.
set -euo pipefail

want=(mpich)
for arg in "$@"; do
  case "$arg" in
    --tests) want+=(chromium shellcheck strace openmpi-bin charliecloud-runtime debootstrap squashfs-tools squashfuse iproute2 util-linux) ;;
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
    charliecloud-runtime) command -v ch-run >/dev/null 2>&1 || missing+=(charliecloud-runtime) ;;
    debootstrap) command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap) ;;
    squashfs-tools) command -v mksquashfs >/dev/null 2>&1 || missing+=(squashfs-tools) ;;
    squashfuse) command -v squashfuse >/dev/null 2>&1 || missing+=(squashfuse) ;;
    iproute2) command -v ip >/dev/null 2>&1 || missing+=(iproute2) ;;
    util-linux) command -v nsenter >/dev/null 2>&1 && command -v unshare >/dev/null 2>&1 || missing+=(util-linux) ;;
  esac
done

if ! command -v dotnet >/dev/null 2>&1; then
  echo "error: the .NET 10 SDK (dotnet) is not on PATH; install it first (https://dot.net), then run this again" >&2
  exit 1
fi

# ch-run mounts SquashFS images through FUSE; an unprivileged user needs /dev/fuse (0666 on a Debian
# host with udev and fuse3; some virtual machines and containers leave it 0600).
fix_fuse() {
  if [[ " ${want[*]} " == *" squashfuse "* && -c /dev/fuse && "$(stat -c %a /dev/fuse)" != 666 ]]; then
    if [[ $(id -u) -eq 0 ]]; then
      chmod 0666 /dev/fuse && echo "made /dev/fuse usable by every user (for ch-run's SquashFS mounts)"
    else
      echo "warning: /dev/fuse is not usable by every user; unprivileged ch-run of SquashFS images needs: sudo chmod 0666 /dev/fuse" >&2
    fi
  fi
}

if [[ ${#missing[@]} -eq 0 ]]; then
  fix_fuse
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
fix_fuse
