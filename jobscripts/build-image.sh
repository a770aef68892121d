#!/usr/bin/env bash
# Builds the container image of a Convergence solver from jobscripts/convergence.def.
#
#   build-image.sh [--output IMAGE.sif] [--project DIR | --app DIR] [--rid RID] [--runtime apptainer|singularity]
#                  [--mpi mpich|openmpi] [--from BASE]
#   build-image.sh --rootfs DIR [--squashfs FILE] [--mpi mpich|openmpi] [--project DIR | --app DIR]
#                  [--base-cache DIR] [--mirror URL]
#   build-image.sh --stage-only DIR [--project DIR | --app DIR] [--rid RID] [--mpi mpich|openmpi] [--from BASE]
#
#   --mpi NAME        the MPI inside the image: mpich for MPICH-ABI hosts (MPICH, Intel MPI,
#                     MVAPICH), openmpi for Open MPI hosts (docs/container.md)    [mpich]
#   --from BASE       the base image (the recipe's From:), e.g. to get another Open MPI
#                     version from another distribution                        [debian:12-slim]
#   --output IMAGE    the image to write                                  [./convergence.sif]
#   --project DIR     the solver project to publish                       [examples/Poisson]
#   --app DIR         a solver already published self-contained (skips the publish)
#   --rid RID         .NET runtime identifier of the cluster              [linux-x64]
#   --runtime NAME    container tool to build with                        [apptainer, else singularity]
#   --stage-only DIR  publish and stage everything the recipe copies into DIR, but build no image
#                     (to build on another machine: cd DIR && apptainer build IMAGE convergence.def)
#   --rootfs DIR      without Apptainer: build the same recipe as a directory image in DIR (a
#                     root file system for ch-run, or for "apptainer build IMAGE.sif DIR"): Debian 12
#                     minbase from debootstrap, trimmed like debian:12-slim, then the recipe's
#                     %setup, %files, %post, %environment (under /.singularity.d) and %test.
#                     Needs root and debootstrap; DIR must not exist yet
#   --squashfs FILE   with --rootfs: also write the directory image as a SquashFS file (mksquashfs)
#   --base-cache DIR  with --rootfs: where the debootstrapped base is kept for the next build, and
#                     reused while it matches the mirror  [$CONVERGENCE_IMAGE_CACHE, else /var/cache/convergence-image]
#   --mirror URL      with --rootfs: the Debian mirror [the bookworm source in /etc/apt/sources.list(.d),
#                     else http://deb.debian.org/debian]
#
# Steps: "dotnet publish" the solver self-contained (the image needs no .NET install), stage it as
# ./app beside copies of convergence.def, semwes-entrypoint.sh and image-recipe.sh, then run
# "<runtime> build" in that staging folder (needs root or --fakeroot, added when not root), or with
# --rootfs apply the recipe to a debootstrapped root file system.
set -euo pipefail

readonly program="build-image"
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "${script_dir}/.." && pwd)"

say() { printf '%s: %s\n' "$program" "$*" >&2; }
die() { printf '%s: error: %s\n' "$program" "$*" >&2; exit 2; }
usage() { sed -n '/^#   build-image.sh \[/,/^# Steps:/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }

output="${PWD}/convergence.sif"
project="${repo_root}/examples/Poisson"
app=""
rid="linux-x64"
runtime=""
stage_only=""
rootfs=""
squashfs=""
base_cache="${CONVERGENCE_IMAGE_CACHE:-/var/cache/convergence-image}"
mirror=""
mpi="mpich"
base=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --output) [[ $# -ge 2 ]] || die "--output needs a file"; output="$2"; shift 2 ;;
        --project) [[ $# -ge 2 ]] || die "--project needs a folder"; project="$2"; shift 2 ;;
        --app) [[ $# -ge 2 ]] || die "--app needs a folder"; app="$2"; shift 2 ;;
        --rid) [[ $# -ge 2 ]] || die "--rid needs a runtime identifier"; rid="$2"; shift 2 ;;
        --runtime) [[ $# -ge 2 ]] || die "--runtime needs apptainer or singularity"; runtime="$2"; shift 2 ;;
        --stage-only) [[ $# -ge 2 ]] || die "--stage-only needs a folder"; stage_only="$2"; shift 2 ;;
        --rootfs) [[ $# -ge 2 ]] || die "--rootfs needs a folder"; rootfs="$2"; shift 2 ;;
        --squashfs) [[ $# -ge 2 ]] || die "--squashfs needs a file"; squashfs="$2"; shift 2 ;;
        --base-cache) [[ $# -ge 2 ]] || die "--base-cache needs a folder"; base_cache="$2"; shift 2 ;;
        --mirror) [[ $# -ge 2 ]] || die "--mirror needs a URL"; mirror="$2"; shift 2 ;;
        --mpi) [[ $# -ge 2 ]] || die "--mpi needs mpich or openmpi"; mpi="$2"; shift 2 ;;
        --from) [[ $# -ge 2 ]] || die "--from needs a base image (e.g. debian:12-slim)"; base="$2"; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done

[[ "$mpi" == mpich || "$mpi" == openmpi ]] || die "--mpi must be mpich or openmpi, got '$mpi'"
[[ "$base" != *[[:space:]]* ]] || die "--from must be one image name, got '$base'"
[[ -z "$stage_only" || -z "$rootfs" ]] || die "--stage-only and --rootfs exclude each other"
[[ -z "$squashfs" || -n "$rootfs" ]] || die "--squashfs needs --rootfs"
if [[ -n "$app" ]]; then
    [[ -d "$app" ]] || die "--app folder $app not found"
    app="$(cd "$app" && pwd)"
else
    command -v dotnet >/dev/null 2>&1 || die "'dotnet' not found: install the .NET 10 SDK on the build host"
    [[ -d "$project" ]] || die "project folder $project not found (--project)"
fi

# Check the tools before spending minutes on a publish.
if [[ -n "$rootfs" ]]; then
    [[ -z "$base" || "$base" == debian:12* || "$base" == debian:bookworm* ]] \
        || die "--rootfs builds on Debian 12 (bookworm) only; --from $base needs Apptainer"
    [[ "$(id -u)" -eq 0 ]] || die "--rootfs needs root (debootstrap, chroot and the /proc mount of the build): run it with sudo"
    command -v debootstrap >/dev/null 2>&1 || die "debootstrap not found: apt-get install debootstrap"
    command -v chroot >/dev/null 2>&1 || die "chroot not found (coreutils)"
    if [[ -n "$squashfs" ]]; then
        command -v mksquashfs >/dev/null 2>&1 || die "mksquashfs not found: apt-get install squashfs-tools"
    fi
    [[ ! -e "$rootfs" ]] || [[ -d "$rootfs" && -z "$(ls -A "$rootfs")" ]] || die "--rootfs $rootfs exists and is not empty: give a new folder"
    mkdir -p "$rootfs" || die "cannot create $rootfs"
    rootfs="$(cd "$rootfs" && pwd)"
    rmdir "$rootfs"
    [[ "$rootfs" != / ]] || die "--rootfs must not be /"
elif [[ -z "$stage_only" ]]; then
    if [[ -z "$runtime" ]]; then
        if command -v apptainer >/dev/null 2>&1; then
            runtime=apptainer
        elif command -v singularity >/dev/null 2>&1; then
            runtime=singularity
        else
            die "neither apptainer nor singularity is installed: install Apptainer (https://apptainer.org), build a directory image with --rootfs DIR, or run with --stage-only DIR and build on a machine that has it"
        fi
    fi
    command -v "$runtime" >/dev/null 2>&1 || die "container tool '$runtime' not found on PATH"
    output_dir="$(cd "$(dirname "$output")" 2>/dev/null && pwd)" || die "folder of --output $output does not exist"
    output="${output_dir}/$(basename "$output")"
fi

# Cleanup for every mode: the staging folder, and in --rootfs mode the mounts inside the root file
# system (unmounted before anything is deleted, so a removal can never reach the host's /dev or /proc).
stage=""
remove_stage=0
mounted=()
cleanup() {
    local i
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
        umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" 2>/dev/null || true
    done
    mounted=()
    if [[ "$remove_stage" -eq 1 && -n "$stage" ]]; then
        rm -rf --one-file-system "$stage"
    fi
}
trap cleanup EXIT

if [[ -n "$stage_only" ]]; then
    mkdir -p "$stage_only" || die "cannot create $stage_only"
    stage="$(cd "$stage_only" && pwd)"
    [[ ! -e "${stage}/app" ]] || die "${stage}/app already exists: give --stage-only an empty folder"
else
    stage="$(mktemp -d "${TMPDIR:-/tmp}/convergence-image.XXXXXX")"
    remove_stage=1
fi

if [[ -n "$app" ]]; then
    say "staging the published solver $app into ${stage}/app"
    cp -a "$app" "${stage}/app"
else
    say "publishing $project for $rid (self-contained) into ${stage}/app"
    dotnet publish "$project" -c Release -r "$rid" --self-contained true -o "${stage}/app" -nologo -v quiet \
        || die "dotnet publish failed (see above)"
fi
cp "${script_dir}/convergence.def" "${script_dir}/semwes-entrypoint.sh" "${script_dir}/image-recipe.sh" "$stage/"
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

if [[ -z "$rootfs" ]]; then
    build_args=(build)
    if [[ "$(id -u)" -ne 0 ]]; then
        build_args+=(--fakeroot)
    fi
    say "building $output with $runtime"
    (cd "$stage" && "$runtime" "${build_args[@]}" "$output" convergence.def) || die "$runtime build failed (see above)"
    say "built $output"
    exit 0
fi

# ---- --rootfs: the recipe applied without Apptainer ------------------------------------------------

readonly suite=bookworm
def="${stage}/convergence.def"

# Prints the body of the recipe's %$1 section (the lines up to the next section).
section() {
    awk -v want="$1" '
        /^%[a-z]+[[:space:]]*$/ { current = $1; sub(/^%/, "", current); next }
        current == want { print }' "$def"
}

# Prints the first URI of an enabled "deb" source for suite $1 in the host's APT sources (one-line
# .list files and deb822 .sources files), or nothing.
host_source() {
    local wanted="$1" file
    for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -f "$file" ]] || continue
        awk -v s="$wanted" '
            $1 == "deb" {
                i = 2
                if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                if ($(i + 1) == s) { print $i; exit }
            }' "$file"
    done | head -n 1 | grep . && return 0
    for file in /etc/apt/sources.list.d/*.sources; do
        [[ -f "$file" ]] || continue
        awk -v s="$wanted" '
            BEGIN { RS = ""; FS = "\n" }
            {
                types = ""; uris = ""; suites = ""; enabled = "yes"
                for (i = 1; i <= NF; i++) {
                    line = $i
                    if (line ~ /^[[:space:]]*#/) continue
                    key = tolower(line); sub(/:.*/, "", key)
                    value = line; sub(/^[^:]*:[[:space:]]*/, "", value)
                    if (key == "types") types = " " value " "
                    else if (key == "uris") uris = value
                    else if (key == "suites") suites = " " value " "
                    else if (key == "enabled") enabled = tolower(value)
                }
                if (enabled != "no" && types ~ / deb / && suites ~ (" " s " ")) { split(uris, u, /[[:space:]]+/); print u[1]; exit }
            }' "$file"
    done | head -n 1 | grep . && return 0
    return 1
}

if [[ -z "$mirror" ]]; then
    mirror="$(host_source "$suite" || true)"
    mirror="${mirror:-http://deb.debian.org/debian}"
fi
security="$(host_source "${suite}-security" || true)"
security="${security:-http://deb.debian.org/debian-security}"
mirror="${mirror%/}"
security="${security%/}"
arch="$(dpkg --print-architecture 2>/dev/null || uname -m)"
say "Debian ${suite} from ${mirror} (security: ${security})"

# The base: debootstrap minbase, trimmed the way debian:12-slim is. Kept in the cache and reused
# while its stamp names the same suite, mirror and trimming; rebuilt (and replaced in one rename) otherwise.
readonly base_version=1
key="debian-${suite}-minbase-${arch}-$(printf '%s' "$mirror" | sha256sum | cut -c1-12)"
stamp_text="suite=${suite} variant=minbase arch=${arch} mirror=${mirror} security=${security} trim=${base_version}"
mkdir -p "$base_cache" || die "cannot create the base cache $base_cache (--base-cache)"
base_cache="$(cd "$base_cache" && pwd)"
base_dir="${base_cache}/${key}"

# Writes /etc/apt/sources.list.d/debian.sources (deb822, like debian:12-slim) into root file system $1.
write_sources() {
    rm -f "$1/etc/apt/sources.list"
    mkdir -p "$1/etc/apt/sources.list.d"
    cat >"$1/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: ${mirror}
Suites: ${suite} ${suite}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${security}
Suites: ${suite}-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
}

build_base() {
    local new="${base_dir}.new.$$"
    rm -rf --one-file-system "$new"
    mkdir -p "$new"
    say "debootstrap --variant=minbase ${suite} (a few minutes; cached in ${base_dir} for later builds)"
    debootstrap --variant=minbase --arch="$arch" "$suite" "${new}/rootfs" "$mirror" >"${new}/debootstrap.log" 2>&1 \
        || { tail -n 20 "${new}/debootstrap.log" >&2; die "debootstrap failed (log: ${new}/debootstrap.log)"; }
    local r="${new}/rootfs"
    write_sources "$r"
    # What debian:12-slim leaves out, kept out of later installs too: documentation, manuals, translations.
    mkdir -p "${r}/etc/dpkg/dpkg.cfg.d" "${r}/etc/apt/apt.conf.d"
    cat >"${r}/etc/dpkg/dpkg.cfg.d/convergence-slim" <<'EOF'
# Trimmed like debian:12-slim: no documentation, manuals or translations (copyright files stay).
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
    cat >"${r}/etc/apt/apt.conf.d/convergence-slim" <<'EOF'
// Trimmed like debian:12-slim: no translated package descriptions, no downloaded packages kept.
Acquire::Languages "none";
APT::Keep-Downloaded-Packages "false";
EOF
    find "${r}/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
    find "${r}/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
    rm -rf --one-file-system "${r}/usr/share/man/"* "${r}/usr/share/info/"* "${r}/usr/share/groff/"* \
        "${r}/usr/share/lintian/"* "${r}/var/lib/apt/lists/"* "${r}/var/cache/apt/"*.bin "${r}/var/cache/apt/archives/"*.deb
    find "${r}/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf --one-file-system {} + 2>/dev/null || true
    find "${r}/var/log" -type f -delete
    printf '%s\n' "$stamp_text" >"${new}/stamp"
    rm -rf --one-file-system "$base_dir"
    mv "${new}" "$base_dir"
}

(
    # One build at a time prepares the base; the others wait and reuse it.
    flock 9
    if [[ -f "${base_dir}/stamp" && "$(cat "${base_dir}/stamp")" == "$stamp_text" && -x "${base_dir}/rootfs/usr/bin/apt-get" ]]; then
        say "reusing the base ${base_dir} ($(sed -n 's/.*mirror=\([^ ]*\).*/\1/p' "${base_dir}/stamp"))"
    else
        build_base
    fi
) 9>"${base_dir}.lock" || exit $?

work="${rootfs}.partial"
[[ ! -e "$work" ]] || rm -rf --one-file-system "$work"
say "copying the base into $work"
cp -a "${base_dir}/rootfs" "$work"
write_sources "$work"

# What "apptainer build" provides to %post and %test: /proc, /sys, /dev, and the host's name resolution.
for fs in proc sys dev dev/pts dev/shm; do
    mkdir -p "${work}/${fs}"
    if [[ "$fs" == proc ]]; then
        mount -t proc proc "${work}/proc"
    else
        mount --bind "/${fs}" "${work}/${fs}"
    fi
    mounted+=("${work}/${fs}")
done
resolv_saved=""
if [[ -e "${work}/etc/resolv.conf" || -L "${work}/etc/resolv.conf" ]]; then
    resolv_saved="${work}/etc/.resolv.conf.convergence"
    mv "${work}/etc/resolv.conf" "$resolv_saved"
fi
cp -L /etc/resolv.conf "${work}/etc/resolv.conf" 2>/dev/null || true

in_image() {
    chroot "$work" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root LANG=C.UTF-8 TERM=dumb ${http_proxy:+http_proxy="$http_proxy"} ${https_proxy:+https_proxy="$https_proxy"} \
        "$@"
}

say "%setup"
(cd "$stage" && APPTAINER_ROOTFS="$work" SINGULARITY_ROOTFS="$work" bash -e -c "$(section setup)") || die "%setup failed (see above)"

say "%files"
while read -r source destination _; do
    [[ -n "$source" && "$source" != \#* ]] || continue
    destination="${destination:-$source}"
    [[ "$destination" == /* ]] || die "%files destination '$destination' is not an absolute path"
    mkdir -p "$(dirname "${work}${destination}")"
    cp -fLr "${stage}/${source}" "${work}${destination}" || die "%files: cannot copy $source to $destination"
done < <(section files)

# %environment, %runscript, %test, %help and %labels where Apptainer keeps them, so that a shell in the
# image (or "apptainer build IMAGE.sif DIR" later) finds them in the usual place.
meta="${work}/.singularity.d"
mkdir -p "${meta}/env"
{ printf '#!/bin/sh\n# Custom environment shell code should follow\n\n'; section environment; } >"${meta}/env/90-environment.sh"
{ printf '#!/bin/sh\n\n'; section runscript; } >"${meta}/runscript"
{ printf '#!/bin/sh\n\n'; section test; } >"${meta}/test"
section help >"${meta}/runscript.help"
{
    printf '{\n'
    section labels | sed -n 's/^[[:space:]]*\([^[:space:]]\{1,\}\)[[:space:]]\{1,\}\(.*[^[:space:]]\)[[:space:]]*$/\1\t\2/p' \
        | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^\([^\t]*\)\t\(.*\)$/    "\1": "\2",/'
    printf '    "org.label-schema.build-arch": "%s"\n}\n' "$arch"
} >"${meta}/labels.json"
chmod 0755 "${meta}/env/90-environment.sh" "${meta}/runscript" "${meta}/test"
ln -sfn .singularity.d/env/90-environment.sh "${work}/environment"
ln -sfn .singularity.d/runscript "${work}/singularity"

say "%post (in the root file system)"
section post >"${work}/tmp/.convergence-post.sh"
in_image /bin/sh -e /tmp/.convergence-post.sh || die "%post failed (see above); the partial image is in $work"
rm -f "${work}/tmp/.convergence-post.sh"

say "%test"
in_image /bin/sh -c '. /.singularity.d/env/90-environment.sh && exec /bin/sh -e /.singularity.d/test' \
    || die "%test failed (see above); the partial image is in $work"

cleanup
rm -f "${work}/etc/resolv.conf"
if [[ -n "$resolv_saved" ]]; then
    mv "$resolv_saved" "${work}/etc/resolv.conf"
else
    : >"${work}/etc/resolv.conf"
fi
find "${work}/tmp" "${work}/var/tmp" -mindepth 1 -delete
rm -rf --one-file-system "${work}/var/lib/apt/lists/"* "${work}/var/cache/apt/"*.bin "${work}/var/cache/apt/archives/"*.deb
mv "$work" "$rootfs"
say "built directory image $rootfs ($(du -sh "$rootfs" | cut -f1)); run it with: ch-run -b SERVICE:/service -b SCRATCH:/scratch $rootfs -- /opt/convergence/bin/semwes-entrypoint.sh ARGS"

if [[ -n "$squashfs" ]]; then
    rm -f "$squashfs"
    mksquashfs "$rootfs" "$squashfs" -comp gzip -noappend -quiet >/dev/null || die "mksquashfs failed"
    say "built SquashFS image $squashfs ($(du -sh "$squashfs" | cut -f1))"
fi
