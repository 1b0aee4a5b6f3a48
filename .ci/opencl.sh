#!/usr/bin/env bash
# OpenCL for real on a CI machine without a GPU: the ILGPU tests (kernel properties and golden forwards) run
# with DREAM_TEST_DEVICE=opencl on PoCL's CPU device inside a Debian trixie chroot. Debian 12's PoCL 3.1 lacks
# the OpenCL generic address space that ILGPU requires; trixie's PoCL 6 has it (docs/kernels.md, "OpenCL").
#
# Usage, as root from any directory:  .ci/opencl.sh [TEST_OUTPUT_DIR]
#   TEST_OUTPUT_DIR  a built Dream.Tests output folder (holding Dream.Tests.dll); by default Dream.Tests is built
#                    in Release here and its bin folder is used.
# The chroot is built once (debootstrap, about a minute and 800 MB) and cached in .ci-work/opencl-root, which
# git ignores; delete that folder to rebuild it. The host's .NET SDK and the repository are bind-mounted into the
# chroot for the run and unmounted afterwards. Exits non-zero when a test fails or no OpenCL device is usable
# (the device check test is required to pass, so a missing device cannot turn into silently skipped tests).
# With OPENCL_RESULTS_DIR set to a folder inside the repository, a TRX file (prefix "opencl") is written there
# too, so .ci/run can count these results with the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
root=$repo/.ci-work/opencl-root
# The Debian mirror this machine's apt already uses (its first "URIs:" or "deb" line ending in /debian).
mirror=${DEBIAN_MIRROR:-$(grep -rhoE 'https?://[^ ]+/debian/?$|https?://[^ ]+/debian ' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1 | tr -d ' ' || true)}
[ -n "$mirror" ] || { echo "opencl.sh: no Debian mirror found in apt's sources; set DEBIAN_MIRROR" >&2; exit 2; }

[ "$(id -u)" = 0 ] || { echo "opencl.sh: must run as root (debootstrap, mount, chroot)" >&2; exit 2; }
dotnet_bin=$(command -v dotnet) || { echo "opencl.sh: no dotnet SDK on PATH" >&2; exit 2; }
dotnet_root=$(dirname "$(readlink -f "$dotnet_bin")")

if [ $# -ge 1 ]; then
  tests=$(readlink -f "$1")
else
  dotnet build Dream.Tests -c Release -v quiet -nologo
  tests=$repo/Dream.Tests/bin/Release/net10.0
fi
[ -f "$tests/Dream.Tests.dll" ] || { echo "opencl.sh: no Dream.Tests.dll in $tests" >&2; exit 2; }
case "$tests" in "$repo"/*) ;; *) echo "opencl.sh: the test folder must lie inside the repository ($repo)" >&2; exit 2;; esac

if [ ! -f "$root/.ready" ]; then
  command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
  rm -rf "$root"
  mkdir -p "$root"
  debootstrap --variant=minbase --include=pocl-opencl-icd,ocl-icd-libopencl1,libicu76 trixie "$root" "$mirror"
  # ILGPU opens the unversioned library name.
  ln -sf libOpenCL.so.1 "$root/usr/lib/x86_64-linux-gnu/libOpenCL.so"
  touch "$root/.ready"
fi

mounts=()
cleanup() {
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
bind() {  # bind SOURCE at the same path inside the chroot
  mkdir -p "$root$2"
  mount --bind "$1" "$root$2"
  mounts+=("$root$2")
}
mkdir -p "$root/proc"
mount -t proc proc "$root/proc"
mounts+=("$root/proc")
bind /sys /sys
bind /dev /dev
bind "$dotnet_root" "$dotnet_root"
bind "$repo" "$repo"

trx=""
if [ -n "${OPENCL_RESULTS_DIR:-}" ]; then
  mkdir -p "$OPENCL_RESULTS_DIR"
  results=$(readlink -f "$OPENCL_RESULTS_DIR")
  case "$results" in "$repo"/*) ;; *) echo "opencl.sh: OPENCL_RESULTS_DIR must lie inside the repository" >&2; exit 2;; esac
  trx="--logger 'trx;LogFilePrefix=opencl' --results-directory '$results'"
fi

chroot "$root" /usr/bin/env -i \
  PATH="$dotnet_root:/usr/sbin:/usr/bin:/sbin:/bin" HOME=/tmp TMPDIR=/tmp DOTNET_ROOT="$dotnet_root" \
  DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 \
  DREAM_TEST_DEVICE=opencl DREAM_TEST_REQUIRE_DEVICE=1 \
  /bin/sh -c "cd /tmp && dotnet test '$tests/Dream.Tests.dll' --filter '${OPENCL_FILTER:-FullyQualifiedName~Dream.Tests.Ilgpu}' --logger 'console;verbosity=normal' $trx"
