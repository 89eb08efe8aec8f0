# tests/cli/test_clock.sh - HSMCA_NOW (the testing clock) reaches
# issuance and list --expiring-within; the CA/B Forum validity schedule
# is applied at its boundary through the CLI.
source "$(dirname "$0")/lib.sh"

init_ca
make_csr "$WORK/a.csr" ec:P-256 "/CN=clock.example.com" "DNS:clock.example.com"

t2027="$(date -u -d 2027-01-01T00:00:00Z +%s)"
HSMCA_NOW="$t2027" hsmca issue --state "$STATE" --csr "$WORK/a.csr" \
    >"$WORK/c.pem" 2>/dev/null || fail "issue at 2027-01-01"
openssl x509 -in "$WORK/c.pem" -noout -startdate |
    grep -q "notBefore=Jan  1 00:00:00 2027 GMT" ||
    fail "notBefore is not HSMCA_NOW: $(openssl x509 -in "$WORK/c.pem" -noout -startdate)"
openssl x509 -in "$WORK/c.pem" -noout -enddate |
    grep -q "notAfter=Mar 31 23:59:59 2027 GMT" || fail "notAfter of dv at 2027-01-01"
ok "HSMCA_NOW sets notBefore; dv ends 90 days later, inclusive"

# From 2029-03-15 the maximum is 47 days: dv (90 days) is refused.
t47="$(date -u -d 2029-03-15T00:00:00Z +%s)"
HSMCA_NOW=$((t47 - 1)) hsmca issue --state "$STATE" --csr "$WORK/a.csr" \
    >/dev/null 2>&1 || fail "dv refused one second before 2029-03-15"
HSMCA_NOW="$t47" expect_fail 3 "exceeds the 47-day maximum" \
    hsmca issue --state "$STATE" --csr "$WORK/a.csr"
HSMCA_NOW="$t47" hsmca issue --state "$STATE" --csr "$WORK/a.csr" \
    --profile shortlived >/dev/null 2>&1 || fail "shortlived refused at 2029-03-15"
ok "dv accepted at 2029-03-14T23:59:59Z, refused at 2029-03-15; shortlived accepted"

# list --expiring-within counts from HSMCA_NOW.
n="$(HSMCA_NOW="$t2027" hsmca list --state "$STATE" --expiring-within 90 | wc -l)"
[ "$n" -eq 1 ] || fail "expiring within 90 days of 2027-01-01: $n, want 1"
n="$(HSMCA_NOW="$t2027" hsmca list --state "$STATE" --expiring-within 89 | wc -l)"
[ "$n" -eq 0 ] || fail "expiring within 89 days of 2027-01-01: $n, want 0"
ok "list --expiring-within follows HSMCA_NOW"
