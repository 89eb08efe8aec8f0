# tests/cli/test_kill.sh - a certificate reported as issued survives
# kill -9 of the issuing loop; the store stays consistent.
source "$(dirname "$0")/lib.sh"

init_ca
for i in 0 1 2 3; do
	make_csr "$WORK/k$i.csr" ec:P-256 "/CN=k$i.example.com" "DNS:k$i.example.com"
done

# The loop records a serial only after hsmca has said it is issued
# (durably stored).  It runs in its own process group so kill -9 takes
# the running hsmca with it.
cat >"$WORK/loop.sh" <<'LOOP'
i=0
while :; do
	"$HSMCA" issue --state "$STATE" --csr "$WORK/k$((i % 4)).csr" \
	    2>>"$WORK/loop.err" >/dev/null || exit 1
	i=$((i + 1))
done
LOOP
# Serials are taken from the loop's stderr: "issued serial HEX" is
# printed only after ca_issue() returned, i.e. after the commit.
export HSMCA STATE WORK
setsid bash "$WORK/loop.sh" &
loop=$!
cleanup_hooks+=("kill -9 -$loop 2>/dev/null")

# Wait for a few issuances, then kill at a random moment.
for _ in $(seq 1 300); do
	n="$(cat "$WORK/loop.err" 2>/dev/null | grep -c '^issued serial' || true)"
	[ "$n" -ge 3 ] && break
	sleep 0.1
done
sleep "0.$((RANDOM % 10))$((RANDOM % 10))"
# Prefer a moment when an hsmca issue process is running.
for _ in $(seq 1 50); do
	pgrep -g "$loop" -f "hsmca issue" >/dev/null 2>&1 && break
	sleep 0.01
done
kill -9 -- "-$loop"
wait "$loop" 2>/dev/null || true

sed -n 's/^issued serial \([0-9a-f]\{16,\}\)$/\1/p' "$WORK/loop.err" >"$WORK/serials"
count="$(wc -l <"$WORK/serials")"
[ "$count" -ge 3 ] || fail "only $count issuances before the kill: $(cat "$WORK/loop.err")"
while read -r s; do
	hsmca show --state "$STATE" "$s" >/dev/null 2>"$WORK/show.err" ||
	    fail "serial $s reported issued but not found: $(cat "$WORK/show.err")"
done <"$WORK/serials"
ok "all $count serials reported before kill -9 are stored"

out="$(hsmca db check --state "$STATE")" || fail "db check after kill -9: $out"
grep -q ", 0 problems$" <<<"$out" || fail "db check: $out"
stored="$(hsmca list --state "$STATE" | wc -l)"
[ "$stored" -ge "$count" ] || fail "$stored stored < $count reported"
ok "db check clean after kill -9 ($stored records)"

# The CA still issues after the crash.
hsmca issue --state "$STATE" --csr "$WORK/k0.csr" >/dev/null 2>&1 ||
    fail "issue after kill -9"
ok "CA issues after kill -9"
