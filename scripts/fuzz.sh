#!/usr/bin/env bash
# scripts/fuzz.sh - build the libFuzzer targets (clang, ASan+UBSan) and
# run each for a while.
#   scripts/fuzz.sh [--seconds S] [TARGET...]
# S defaults to 300 per target; TARGET names a fuzz_NAME binary (default:
# all).  Each run starts from a copy of the target's seed corpus, so the
# checked-in seeds are never modified; a crash leaves its input in
# build-fuzz/artifacts/ and makes the script exit non-zero.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
secs=300
targets=()
while (($#)); do
	case "$1" in
	--seconds)
		secs="${2:?--seconds needs a value}"
		shift 2 ;;
	-h|--help)
		sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
		exit 0 ;;
	-*)
		echo "fuzz: unknown option $1" >&2
		exit 2 ;;
	*)
		targets+=("$1")
		shift ;;
	esac
done

build="$root/build-fuzz"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DHSMCA_FUZZ=ON -DHSMCA_SANITIZE=ON >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null

if ((${#targets[@]} == 0)); then
	for f in "$build"/bin/fuzz_* "$build"/tests/*/fuzz_*; do
		[ -x "$f" ] && targets+=("$(basename "$f")")
	done
fi

mkdir -p "$build/artifacts"
status=0
for t in "${targets[@]}"; do
	bin="$(find "$build" -name "$t" -type f -perm -u+x | head -n1)"
	if [ -z "$bin" ]; then
		echo "fuzz: no binary $t" >&2
		exit 2
	fi
	name="${t#fuzz_}"
	seeds="$(find "$root/tests" -type d -path "*/corpus/$name" | head -n1)"
	work="$(mktemp -d)"
	[ -n "$seeds" ] && cp -r "$seeds/." "$work/"
	echo "fuzz: $t for ${secs}s"
	if ! "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix="$build/artifacts/$t-" "$work" \
	    >"$build/artifacts/$t.log" 2>&1; then
		echo "fuzz: $t FAILED; see $build/artifacts/$t.log" >&2
		status=1
	else
		grep -E '^(#[0-9]+|Done)' "$build/artifacts/$t.log" | tail -n1
	fi
	rm -rf "$work"
done
exit "$status"
