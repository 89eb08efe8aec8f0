# tests/cli/test_crl.sh - hsmca crl checked with the openssl tools: every
# shard verifies against the chain, each revoked serial is listed exactly
# once in exactly its shard with its reason (none for unspecified),
# openssl verify -crl_check accepts a good certificate and refuses a
# revoked one, entries drop after notAfter (HSMCA_NOW), and CRL numbers
# only grow, across restarts and across kill -9 of `hsmca crl --all`.
source "$(dirname "$0")/lib.sh"

NSHARDS=4
init_ca --set ca.crl_shards=$NSHARDS
cat "$STATE/root.pem" "$STATE/issuing.pem" >"$WORK/chain.pem"
make_csr "$WORK/a.csr" ec:P-256 "/CN=c.example.com" "DNS:c.example.com"

hsmca crl --help >"$WORK/help" || fail "crl --help"
grep -q "^usage: hsmca crl" "$WORK/help" || fail "crl --help"
expect_fail 2 "exclude each other" hsmca crl --all --root --state "$STATE"
expect_fail 2 "bad shard number" hsmca crl --shard -1 --state "$STATE"
expect_fail 3 "does not exist" hsmca crl --shard $NSHARDS --state "$STATE"
ok "crl --help and usage errors"

# Twelve certificates; revoke every other one with a reason in turn.
reasons=(unspecified keyCompromise affiliationChanged superseded cessationOfOperation privilegeWithdrawn)
texts=("" "Key Compromise" "Affiliation Changed" "Superseded" "Cessation Of Operation" "Privilege Withdrawn")
declare -A shard_of reason_of
for i in $(seq 0 11); do
	hsmca issue --state "$STATE" --csr "$WORK/a.csr" >"$WORK/c$i.pem" \
	    2>"$WORK/issue.err" || fail "issue: $(cat "$WORK/issue.err")"
	s="$(serial_of "$WORK/c$i.pem")"
	serial[$i]="$s"
	url="$(openssl x509 -in "$WORK/c$i.pem" -noout -ext crlDistributionPoints | sed -n 's/.*URI://p')"
	shard_of[$s]="$(sed -n 's|.*/crl/\([0-9]*\)\.crl$|\1|p' <<<"$url")"
	if [ $((i % 2)) -eq 0 ]; then
		r=$((i / 2 % 6))
		hsmca revoke "$s" --reason "${reasons[$r]}" --state "$STATE" >/dev/null ||
		    fail "revoke $s"
		reason_of[$s]=$r
	fi
done

hsmca crl --all --out "$WORK/pub" --state "$STATE" 2>"$WORK/crl.err" ||
    fail "crl --all: $(cat "$WORK/crl.err")"
for n in $(seq 0 $((NSHARDS - 1))); do
	[ -s "$WORK/pub/$n.crl" ] || fail "no $n.crl"
	openssl crl -inform DER -in "$WORK/pub/$n.crl" -CAfile "$WORK/chain.pem" \
	    -verify -noout 2>"$WORK/v.err" || fail "shard $n: $(cat "$WORK/v.err")"
	grep -q "verify OK" "$WORK/v.err" || fail "shard $n: $(cat "$WORK/v.err")"
	openssl crl -inform DER -in "$WORK/pub/$n.crl" -out "$WORK/$n.pem"
	openssl crl -in "$WORK/$n.pem" -noout -text >"$WORK/$n.txt"
	grep -q "URI:http://127.0.0.1:14080/crl/$n.crl" "$WORK/$n.txt" ||
	    fail "shard $n: IDP"
done
ok "openssl crl -verify accepts every shard"

# Each revoked serial: once, in its shard, with its reason or none.
for s in "${serial[@]}"; do
	S="$(tr a-f A-F <<<"$s")"
	found="$(grep -l "Serial Number: $S\$" "$WORK"/[0-9]*.txt || true)"
	count="$(cat "$WORK"/[0-9]*.txt | grep -c "Serial Number: $S\$" || true)"
	if [ -n "${reason_of[$s]+x}" ]; then
		[ "$count" -eq 1 ] || fail "$s listed $count times"
		[ "$found" = "$WORK/${shard_of[$s]}.txt" ] ||
		    fail "$s listed in $found, not shard ${shard_of[$s]}"
		block="$(grep -A4 "Serial Number: $S\$" "$found" | sed -n '2,5p' |
		    sed '/Serial Number/,$d')"
		r="${reason_of[$s]}"
		if [ "$r" -eq 0 ]; then
			! grep -q "CRL Reason Code" <<<"$block" ||
			    fail "$s unspecified but has a reason code: $block"
		else
			grep -q "${texts[$r]}" <<<"$block" ||
			    fail "$s: reason ${texts[$r]} missing: $block"
		fi
	else
		[ "$count" -eq 0 ] || fail "unrevoked $s listed"
	fi
done
ok "each revoked serial exactly once in its shard, reasons right, none for unspecified"

good="$WORK/c1.pem" bad="$WORK/c0.pem"
openssl verify -crl_check -CAfile "$WORK/chain.pem" \
    -CRLfile "$WORK/${shard_of[${serial[1]}]}.pem" "$good" >"$WORK/v.out" 2>&1 ||
    fail "good certificate: $(cat "$WORK/v.out")"
! openssl verify -crl_check -CAfile "$WORK/chain.pem" \
    -CRLfile "$WORK/${shard_of[${serial[0]}]}.pem" "$bad" >"$WORK/v.out" 2>&1 ||
    fail "revoked certificate verified"
grep -q "certificate revoked" "$WORK/v.out" || fail "$(cat "$WORK/v.out")"
ok "openssl verify -crl_check: good OK, revoked \"certificate revoked\""

# PEM on stdout; the root CRL against the root alone.
hsmca crl --shard 0 --state "$STATE" 2>/dev/null | openssl crl -noout -text |
    grep -q "CRL Number" || fail "crl --shard 0 on stdout"
hsmca crl --root --out "$WORK/pub" --state "$STATE" 2>/dev/null || fail "crl --root"
openssl crl -inform DER -in "$WORK/pub/root.crl" -CAfile "$STATE/root.pem" \
    -verify -noout 2>&1 | grep -q "verify OK" || fail "root CRL does not verify"
ok "PEM on stdout; root CRL verifies against the root"

# Expiry: listed through notAfter, gone from the first CRL after it.
hsmca issue --state "$STATE" --profile shortlived --csr "$WORK/a.csr" \
    >"$WORK/short.pem" 2>/dev/null || fail "issue shortlived"
s="$(serial_of "$WORK/short.pem")"
S="$(tr a-f A-F <<<"$s")"
n="$(openssl x509 -in "$WORK/short.pem" -noout -ext crlDistributionPoints | sed -n 's|.*/crl/\([0-9]*\)\.crl$|\1|p')"
na="$(to_epoch "$(openssl x509 -in "$WORK/short.pem" -noout -enddate | sed 's/^notAfter=//')")"
hsmca revoke "$s" --reason superseded --state "$STATE" >/dev/null || fail "revoke short"
HSMCA_NOW=$na hsmca crl --shard "$n" --state "$STATE" 2>/dev/null |
    openssl crl -noout -text | grep -q "Serial Number: $S" ||
    fail "not listed at notAfter"
HSMCA_NOW=$((na + 1)) hsmca crl --shard "$n" --state "$STATE" 2>/dev/null |
    openssl crl -noout -text | grep -q "Serial Number: $S" &&
    fail "still listed one second after notAfter"
ok "listed at notAfter, dropped at notAfter + 1 s"

# Numbers across restarts: every run one more, per shard.
numbers() {
	sed -n "s/^crl $1 number \([0-9]*\) .*/\1/p" "$2"
}
hsmca crl --shard 2 --state "$STATE" >/dev/null 2>"$WORK/n1" || fail "crl"
hsmca crl --shard 2 --state "$STATE" >/dev/null 2>"$WORK/n2" || fail "crl"
[ "$(numbers 2 "$WORK/n2")" -eq $(($(numbers 2 "$WORK/n1") + 1)) ] ||
    fail "numbers $(numbers 2 "$WORK/n1") then $(numbers 2 "$WORK/n2")"
ok "CRL number grows by one across processes"

# kill -9 of `hsmca crl --all` at random moments: a number printed (so
# committed) is never printed again nor followed by a smaller one.
cat >"$WORK/loop.sh" <<'LOOP'
while :; do
	"$HSMCA" crl --all --out "$WORK/pub" --state "$STATE" 2>>"$WORK/loop.err" || exit 1
done
LOOP
export HSMCA STATE WORK
: >"$WORK/loop.err"
cp -a "$STATE/tokens" "$WORK/tokens.bak"
# XXX SoftHSM2 rewrites token.object in place at every C_Login (see
# test_kill.sh); a kill in that window empties it: put the copy back.
restore_token() {
	local f
	for f in "$STATE"/tokens/*/token.object; do
		if [ ! -s "$f" ]; then
			echo "# note: kill -9 hit SoftHSM2's token.object rewrite; token restored"
			rm -rf "$STATE/tokens"
			cp -a "$WORK/tokens.bak" "$STATE/tokens"
			return
		fi
	done
}
for round in 1 2 3 4 5; do
	before="$(grep -c '^crl ' "$WORK/loop.err" || true)"
	setsid bash "$WORK/loop.sh" &
	loop=$!
	cleanup_hooks+=("kill -9 -$loop 2>/dev/null")
	for _ in $(seq 1 300); do
		[ "$(grep -c '^crl ' "$WORK/loop.err" || true)" -ge $((before + 6)) ] && break
		kill -0 "$loop" 2>/dev/null || break
		sleep 0.05
	done
	sleep "0.$((RANDOM % 10))$((RANDOM % 10))"
	kill -9 -- "-$loop" 2>/dev/null ||
	    fail "round $round: the loop stopped: $(grep -v '^crl ' "$WORK/loop.err" | tail -3)"
	wait "$loop" 2>/dev/null || true
	restore_token
done
for n in $(seq 0 $((NSHARDS - 1))); do
	numbers "$n" "$WORK/loop.err" >"$WORK/seq.$n"
	[ "$(wc -l <"$WORK/seq.$n")" -ge 5 ] || fail "shard $n: too few CRLs: $(wc -l <"$WORK/seq.$n")"
	sort -n -c -u "$WORK/seq.$n" 2>/dev/null ||
	    fail "shard $n: numbers repeat or go down: $(tr '\n' ' ' <"$WORK/seq.$n")"
done
hsmca crl --all --out "$WORK/pub" --state "$STATE" 2>"$WORK/after" || fail "crl after kill -9"
for n in $(seq 0 $((NSHARDS - 1))); do
	last="$(tail -1 "$WORK/seq.$n")"
	[ "$(numbers "$n" "$WORK/after")" -gt "$last" ] ||
	    fail "shard $n: $(numbers "$n" "$WORK/after") after $last"
	file="$(openssl crl -inform DER -in "$WORK/pub/$n.crl" -noout -crlnumber | sed 's/^crlNumber=0x//')"
	[ "$((16#$file))" -eq "$(numbers "$n" "$WORK/after")" ] || fail "shard $n file number $file"
done
out="$(hsmca db check --state "$STATE")" || fail "db check: $out"
ok "kill -9 x5: numbers never repeat nor go down ($(cat "$WORK"/seq.* | wc -l) CRLs); db check clean"
