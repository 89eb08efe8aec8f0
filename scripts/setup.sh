#!/usr/bin/env bash
# scripts/setup.sh - install what hsmca needs on Debian 12 (only the
# packages that are missing) and build it into build/.  Safe to run again.
#   setup.sh [TARGET...]   build only these CMake targets (default: all)
#   setup.sh --deps-only   install the packages, build nothing
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${HSMCA_BUILD_DIR:-$root/build}"

# Keep in step with .ci/run.
packages=(
	build-essential cmake pkg-config clang libclang-rt-14-dev
	libssl-dev openssl libp11-dev libp11-kit-dev softhsm2 opensc
	liblmdb-dev lmdb-utils libcmocka-dev libjansson-dev libinih-dev procps
	libmicrohttpd-dev libcurl4-openssl-dev libunbound-dev libevent-dev libldns-dev libpsl-dev
	wrk certbot lego dehydrated uacme acme-tiny pebble knot knot-dnsutils time curl
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
if ((${#missing[@]} > 0)); then
	echo "setup: installing ${missing[*]}"
	sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		sudo=(sudo)
	fi
	"${sudo[@]}" apt-get update
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y \
	    --no-install-recommends "${missing[@]}"
fi

if [ "${1:-}" = "--deps-only" ]; then
	exit 0
fi

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE="${HSMCA_BUILD_TYPE:-RelWithDebInfo}" >/dev/null
targets=()
for t in "$@"; do
	targets+=(--target "$t")
done
cmake --build "$build" -j"$(nproc)" "${targets[@]}"
