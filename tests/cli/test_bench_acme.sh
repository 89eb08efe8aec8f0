# tests/cli/test_bench_acme.sh - bench acme completes real issuances
# against Pebble and against hsmcad and prints its figures with
# "orders/s" last; failures (an unreachable http-01 responder, an
# untrusted TLS certificate, badNonce twice in a row) are counted,
# printed and make it exit 1.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/../../scripts/bench-acme.sh"

for tool in pebble pebble-challtestsrv kdig python3 curl; do
	command -v "$tool" >/dev/null || fail "$tool is not installed"
done
cleanup_hooks+=("bench_stop_all")
mkdir "$WORK/dns" "$WORK/pebble"
bench_dns_start "$WORK/dns" || fail "cannot start pebble-challtestsrv"
http01="$(bench_free_ports 1)"
bench_pebble_start "$WORK/pebble" "$http01" || fail "cannot start Pebble"

# bench ARGS...: the generator against Pebble, bounded in time.
bench() {
	timeout 60 "$HSMCA" bench acme --directory "$BENCH_DIRECTORY" "$@"
}

# A short clean run.
rc=0
bench --ca-bundle "$BENCH_BUNDLE" --orders 5 --concurrency 2 \
    --http01-port "$http01" --domain smoke.test \
    >"$WORK/ok.out" 2>"$WORK/ok.err" || rc=$?
[ "$rc" -eq 0 ] || fail "clean run exited $rc: $(cat "$WORK/ok.out" \
    "$WORK/ok.err")"
[ ! -s "$WORK/ok.err" ] || fail "clean run wrote stderr: $(cat "$WORK/ok.err")"
sed 's/^/#   /' "$WORK/ok.out"
grep -qx 'orders completed: 5 of 5' "$WORK/ok.out" ||
    fail "not 5 of 5 orders completed"
grep -qx 'errors: 0' "$WORK/ok.out" || fail "no \"errors: 0\" line"
grep -qE '^elapsed: [0-9]+\.[0-9]{3} s$' "$WORK/ok.out" ||
    fail "no elapsed line"
grep -qE '^generator cpu: [0-9]+\.[0-9]{3} s \([0-9.]+ ms/order\)$' \
    "$WORK/ok.out" || fail "no generator cpu line"
grep -qx 'connections: 2' "$WORK/ok.out" ||
    fail "not one kept-alive connection per worker"
grep -qE '^latency p50: [0-9]+\.[0-9] ms$' "$WORK/ok.out" ||
    fail "no p50 line"
grep -qE '^latency p99: [0-9]+\.[0-9] ms$' "$WORK/ok.out" ||
    fail "no p99 line"
grep -qE '^step p50 ms: newOrder [0-9.]+ authz [0-9.]+ challenge [0-9.]+ validation [0-9.]+ finalize [0-9.]+ issuance [0-9.]+ download [0-9.]+$' \
    "$WORK/ok.out" || fail "no step line"
grep -qE '^poll wait: [0-9.]+ ms/order \(Retry-After on [0-9]+ answers\)$' \
    "$WORK/ok.out" || fail "no poll wait line"
# Every order was validated through the responder: Pebble fetched each
# key authorization at least once.
hits="$(sed -n 's/^http-01 answered: \([0-9]*\) .*/\1/p' "$WORK/ok.out")"
[ -n "$hits" ] && [ "$hits" -ge 5 ] ||
    fail "http-01 answered \"$hits\" times for 5 orders"
tail -n1 "$WORK/ok.out" | grep -qE '^orders/s: [0-9]+\.[0-9]$' ||
    fail "last line is not \"orders/s: X\""
rate="$(tail -n1 "$WORK/ok.out" | sed 's/^orders\/s: //')"
awk -v r="$rate" 'BEGIN { exit !(r > 0) }' || fail "rate $rate is not > 0"
ok "5 orders against Pebble: all complete, figures printed, orders/s last"

# Pebble validates on $http01; a responder elsewhere fails every order.
other="$(bench_free_ports 1)"
rc=0
bench --ca-bundle "$BENCH_BUNDLE" --orders 3 --concurrency 1 \
    --http01-port "$other" >"$WORK/bad.out" 2>"$WORK/bad.err" || rc=$?
[ "$rc" -eq 1 ] || fail "run with failed orders exited $rc, not 1"
grep -qx 'errors: 3' "$WORK/bad.out" ||
    fail "want errors: 3: $(cat "$WORK/bad.out")"
grep -qx 'orders completed: 0 of 3' "$WORK/bad.out" ||
    fail "failed orders counted as completed"
grep -q "error: order 0 (o0-w0.bench.test): protocol: authorization is invalid: connection: " \
    "$WORK/bad.err" || fail "order failure not printed: $(cat "$WORK/bad.err")"
grep -q 'run had 3 error(s)' "$WORK/bad.err" ||
    fail "no summary of the errors on stderr"
tail -n1 "$WORK/bad.out" | grep -qx 'orders/s: 0.0' ||
    fail "failed run does not end in orders/s: 0.0"
ok "invalid authorizations are counted and printed, exit 1"

# TLS is verified: a bundle that is not Pebble's CA is refused.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$WORK/other.key" -out "$WORK/other.pem" -days 1 \
    -subj "/CN=not pebble" 2>/dev/null
rc=0
bench --ca-bundle "$WORK/other.pem" --orders 2 --concurrency 2 \
    --http01-port "$http01" >"$WORK/tls.out" 2>"$WORK/tls.err" || rc=$?
[ "$rc" -eq 1 ] || fail "untrusted server: exited $rc, not 1"
grep -q 'worker 0 account: io: GET https://127.0.0.1:.*certificate' \
    "$WORK/tls.err" || fail "no TLS error printed: $(cat "$WORK/tls.err")"
grep -qx 'orders completed: 0 of 2' "$WORK/tls.out" ||
    fail "orders completed without a trusted server"
ok "an untrusted server certificate fails every worker, exit 1"

# A Pebble that rejects 10% of good nonces: each badNonce is retried once
# with the nonce it carried; only a second one in a row fails a request
# (about 1 in 100), so a few orders may fail, never 10 (the give-up).
# Two workers: Pebble 2.4 deadlocks at times from four up.
bench_kill "$BENCH_PEBBLE_PID"
mkdir "$WORK/pebble-nonce"
BENCH_PEBBLE_NONCEREJECT=10 bench_pebble_start "$WORK/pebble-nonce" \
    "$http01" || fail "cannot start Pebble"
rc=0
bench --ca-bundle "$BENCH_BUNDLE" --orders 20 --concurrency 2 \
    --http01-port "$http01" >"$WORK/nonce.out" 2>"$WORK/nonce.err" || rc=$?
retried="$(sed -n 's/^requests: .*badNonce retried \([0-9]*\),.*/\1/p' \
    "$WORK/nonce.out")"
[ -n "$retried" ] && [ "$retried" -gt 0 ] ||
    fail "no badNonce retried: $(cat "$WORK/nonce.out")"
done_="$(sed -n 's/^orders completed: \([0-9]*\) of 20$/\1/p' "$WORK/nonce.out")"
errs="$(sed -n 's/^errors: \([0-9]*\)$/\1/p' "$WORK/nonce.out")"
order_errs="$(grep -c 'error: order' "$WORK/nonce.err" || true)"
acct_errs="$(grep -c 'error: worker .* account' "$WORK/nonce.err" || true)"
[ $((done_ + order_errs)) -eq 20 ] ||
    fail "completed $done_ + failed $order_errs != 20"
[ $((order_errs + acct_errs)) -eq "$errs" ] ||
    fail "errors: $errs, but $order_errs + $acct_errs printed"
[ "$done_" -gt 0 ] || fail "no order survived the retries"
if [ "$errs" -eq 0 ]; then
	[ "$rc" -eq 0 ] || fail "no errors but exit $rc"
else
	[ "$rc" -eq 1 ] || fail "errors but exit $rc"
	# Only a second badNonce in a row may fail anything here.
	if grep 'error: ' "$WORK/nonce.err" | grep -qv 'badNonce'; then
		fail "failure other than badNonce: $(cat "$WORK/nonce.err")"
	fi
fi
echo "#   badNonce retried $retried times; $done_ of 20 completed"
ok "badNonce answers are retried once with their nonce and counted"

# The same short run against hsmcad, built beside hsmca.
hsmcad="$(dirname "$HSMCA")/hsmcad"
[ -x "$hsmcad" ] || fail "no hsmcad beside $HSMCA"
mkdir "$WORK/hsmcad"
bench_hsmcad_start "$hsmcad" "$WORK/hsmcad" "$http01" ||
    fail "cannot start hsmcad"
rc=0
bench --ca-bundle "$BENCH_BUNDLE" --orders 5 --concurrency 2 \
    --http01-port "$http01" --domain smoke.test \
    >"$WORK/hsmcad.out" 2>"$WORK/hsmcad.err" || rc=$?
[ "$rc" -eq 0 ] || fail "run against hsmcad exited $rc: $(cat \
    "$WORK/hsmcad.out" "$WORK/hsmcad.err")"
grep -qx 'orders completed: 5 of 5' "$WORK/hsmcad.out" ||
    fail "hsmcad: not 5 of 5 orders completed"
hits="$(sed -n 's/^http-01 answered: \([0-9]*\) .*/\1/p' "$WORK/hsmcad.out")"
[ -n "$hits" ] && [ "$hits" -ge 5 ] ||
    fail "hsmcad fetched the http-01 token \"$hits\" times for 5 orders"
tail -n1 "$WORK/hsmcad.out" | grep -qE '^orders/s: [0-9]+\.[0-9]$' ||
    fail "hsmcad: last line is not \"orders/s: X\""
bench_kill "$BENCH_HSMCAD_PID"
ok "5 orders against hsmcad with real http-01 validation"

expect_fail 2 "--directory and --ca-bundle are required" \
    "$HSMCA" bench acme --orders 1
expect_fail 2 "--concurrency: want 1..256" "$HSMCA" bench acme \
    --directory "$BENCH_DIRECTORY" --ca-bundle "$BENCH_BUNDLE" \
    --concurrency 257
expect_fail 2 "--domain: want lower-case" "$HSMCA" bench acme \
    --directory "$BENCH_DIRECTORY" --ca-bundle "$BENCH_BUNDLE" \
    --domain "Bad..test"
expect_fail 2 "--http01-port: want 1..65535" "$HSMCA" bench acme \
    --directory "$BENCH_DIRECTORY" --ca-bundle "$BENCH_BUNDLE" \
    --http01-port 0
"$HSMCA" bench acme --help | grep -q 'at most 50 ms' ||
    fail "--help does not state the poll cap"
ok "bench acme usage errors exit 2; --help states the poll cap"
