# tests/cli/lib.sh - helpers for the hsmca CLI tests (sourced by bash).
#
# Each test gets its own temporary directory, removed at exit, and makes
# its own CA in it with `hsmca init`.  HSMCA names the binary under test.
set -euo pipefail

: "${HSMCA:?HSMCA must name the hsmca binary}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/hsmca-cli-XXXXXX")"
STATE="$WORK/state"
SOFTHSM_MODULE="${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}"
cleanup_hooks=()
cleanup() {
	local h
	for h in "${cleanup_hooks[@]}"; do
		eval "$h" || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
# Never reach the system token configuration.
export SOFTHSM2_CONF="$WORK/no-softhsm2.conf"
unset HSMCA_STATE HSMCA_PIN HSMCA_NOW

ntests=0
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
ok() {
	ntests=$((ntests + 1))
	echo "ok $ntests - $*"
}

hsmca() {
	"$HSMCA" "$@"
}

# init_ca [OPTIONS...]: a fresh CA in $STATE.
init_ca() {
	hsmca init --state "$STATE" "$@" >"$WORK/init.out" ||
	    fail "hsmca init failed: $(cat "$WORK/init.out")"
}

# make_csr OUT KEYSPEC SUBJ [SANS] [extra openssl req args...]
#   KEYSPEC: ec:CURVE or rsa:BITS.  SANS: "DNS:a,DNS:b" or "" for none.
make_csr() {
	local out="$1" keyspec="$2" subj="$3" sans="${4:-}"
	shift 4 || shift $#
	local keyargs
	case "$keyspec" in
	ec:*) keyargs=(-newkey ec -pkeyopt "ec_paramgen_curve:${keyspec#ec:}") ;;
	rsa:*) keyargs=(-newkey "$keyspec") ;;
	*) fail "bad keyspec $keyspec" ;;
	esac
	local ext=()
	if [ -n "$sans" ]; then
		ext=(-addext "subjectAltName=$sans")
	fi
	openssl req -new "${keyargs[@]}" -nodes -keyout "$out.key" \
	    -subj "$subj" "${ext[@]}" "$@" -out "$out" 2>"$WORK/openssl.err" ||
	    fail "openssl req: $(cat "$WORK/openssl.err")"
}

# expect_fail CODE SUBSTRING CMD...: CMD must exit with CODE and print
# SUBSTRING on stderr.
expect_fail() {
	local want="$1" substr="$2" rc=0
	shift 2
	"$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
	if [ "$rc" -ne "$want" ]; then
		fail "$* exited $rc, expected $want; stderr: $(cat "$WORK/err")"
	fi
	if ! grep -qF -- "$substr" "$WORK/err"; then
		fail "$*: stderr lacks \"$substr\": $(cat "$WORK/err")"
	fi
}

# serial_of PEMFILE: the serial in lower-case hex without leading zeros
# stripped, as hsmca prints it.
serial_of() {
	openssl x509 -in "$1" -noout -serial | sed 's/^serial=//' |
	    tr 'A-F' 'a-f'
}

# to_epoch "Mon DD HH:MM:SS YYYY GMT"
to_epoch() {
	date -u -d "$1" +%s
}
