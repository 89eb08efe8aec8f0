#!/usr/bin/env bash
# scripts/test.sh - set up, build and run the whole test suite.
#   --asan   build with clang, AddressSanitizer and UBSan into build-asan/
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
asan=0
for arg in "$@"; do
	case "$arg" in
	--asan) asan=1 ;;
	-h|--help)
		echo "usage: scripts/test.sh [--asan]"
		exit 0 ;;
	*)
		echo "test: unknown option $arg" >&2
		exit 2 ;;
	esac
done

if ((asan)); then
	bash "$root/scripts/setup.sh" --deps-only
	build="$root/build-asan"
	cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug \
	    -DHSMCA_SANITIZE=ON -DCMAKE_C_COMPILER=clang >/dev/null
	cmake --build "$build" -j"$(nproc)"
	# A leak or an error in any process, the CLI's included, fails.
	export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
	export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
else
	bash "$root/scripts/setup.sh"
	build="$root/build"
fi

cd "$build"
ctest --output-on-failure -j2 --timeout 600
