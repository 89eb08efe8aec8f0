# tests/cli/test_conf_man.sh - every key hsmca init writes into hsmca.conf
# is documented in docs/hsmca.conf.5 (regenerate the page with
# scripts/gen-conf-man.py after changing the key table).
source "$(dirname "$0")/lib.sh"

page="$(dirname "$0")/../../docs/hsmca.conf.5"
[ -s "$page" ] || fail "no $page"
init_ca
n=0
section=""
while IFS= read -r line; do
	case "$line" in
	\[*\]) section="${line#[}"; section="${section%]}" ;;
	"# "*" ="|"# "*" = "*) key="${line#\# }"; key="${key%% =*}"
		grep -qxF ".B $section.$key" "$page" ||
		    fail "$section.$key is not in hsmca.conf.5"
		n=$((n + 1)) ;;
	\#*|"") ;;
	*) key="${line%% =*}"
		grep -qxF ".B $section.$key" "$page" ||
		    fail "$section.$key is not in hsmca.conf.5"
		n=$((n + 1)) ;;
	esac
done <"$STATE/hsmca.conf"
((n > 40)) || fail "read only $n keys from hsmca.conf"
ok "$n keys of hsmca.conf are documented in hsmca.conf.5"
