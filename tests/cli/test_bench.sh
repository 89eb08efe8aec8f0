# tests/cli/test_bench.sh - bench issue runs both phases, prints the
# figures with the ratio last, and removes its throwaway CA.
source "$(dirname "$0")/lib.sh"

mkdir "$WORK/tmp"
for kt in ec-p256 rsa-2048; do
	TMPDIR="$WORK/tmp" hsmca bench issue --threads 2 --key-type "$kt" \
	    --count 20 >"$WORK/bench.out" 2>"$WORK/bench.err" ||
	    fail "bench $kt: $(cat "$WORK/bench.err")"
	grep -qE '^issue: [0-9.]+ certs/s \(20 in ' "$WORK/bench.out" ||
	    fail "bench $kt: no issue line: $(cat "$WORK/bench.out")"
	grep -qE '^raw sign: [0-9.]+ signs/s' "$WORK/bench.out" ||
	    fail "bench $kt: no raw sign line"
	tail -n1 "$WORK/bench.out" | grep -qE '^ratio: [0-9.]+%$' ||
	    fail "bench $kt: last line is not the ratio"
	[ -z "$(ls -A "$WORK/tmp")" ] || fail "bench $kt left $(ls "$WORK/tmp")"
	sed 's/^/#   /' "$WORK/bench.out"
done
ok "bench issue prints issue, raw sign and ratio last; cleans up"

# Fewer certificates than rounds: the empty rounds are skipped.
TMPDIR="$WORK/tmp" hsmca bench issue --count 2 --rounds 5 \
    >"$WORK/bench.out" 2>"$WORK/bench.err" ||
    fail "bench --count 2 --rounds 5: $(cat "$WORK/bench.err")"
grep -qE '^issue: [0-9.]+ certs/s \(2 in ' "$WORK/bench.out" ||
    fail "bench --count 2 --rounds 5: $(cat "$WORK/bench.out")"
ok "bench issue splits --count over the rounds"

expect_fail 2 "--seconds and --count exclude each other" \
    hsmca bench issue --seconds 1 --count 1
expect_fail 2 "unknown key type" hsmca bench issue --key-type ed448
expect_fail 2 "bad number" hsmca bench issue --threads 0
expect_fail 2 "bad number" hsmca bench issue --rounds 0
ok "bench usage errors"
