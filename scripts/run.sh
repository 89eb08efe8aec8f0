#!/usr/bin/env bash
# scripts/run.sh - set up, create a CA in var/ (once) and issue a demo
# certificate for demo.localhost.  Running it again reuses the CA.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Only the CLI is needed here; test.sh builds everything.
bash "$root/scripts/setup.sh" hsmca

hsmca="$root/build/bin/hsmca"
state="$root/var"

if [ ! -f "$state/hsmca.conf" ]; then
	"$hsmca" init --state "$state"
else
	echo "run: reusing the CA in $state"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The demo key stays beside the certificate; it is a throwaway.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$state/demo.key" -subj "/CN=demo.localhost" \
    -addext "subjectAltName=DNS:demo.localhost" -out "$work/demo.csr" \
    2>/dev/null
chmod 600 "$state/demo.key"
"$hsmca" issue --state "$state" --csr "$work/demo.csr" --out "$state/demo.pem"

echo "demo certificate: $state/demo.pem (key $state/demo.key)"
openssl x509 -in "$state/demo.pem" -noout -subject -ext subjectAltName \
    -enddate
cat "$state/root.pem" "$state/issuing.pem" > "$state/ca-bundle.pem"
echo "CA bundle: $state/ca-bundle.pem"
openssl verify -CAfile "$state/root.pem" -untrusted "$state/issuing.pem" \
    "$state/demo.pem"
