# Sourced by the deploy checks: stage_gateway_ini IN OUT DIR copies the gateway config IN
# to OUT with every absolute file path of [gateway] store (a SQLite file), [tls] cert, key
# and client_ca, and [evm] relayer_key moved under DIR, and puts there what the paths name
# (a throwaway self-signed certificate and its key, owner-only; a relayer key made by
# custos-attestor keygen; the store's directory), so that --check-config, which reads
# them as start would, checks the config itself. Needs ATTESTOR_BIN and openssl.
stage_gateway_ini() {
  local in=$1 out=$2 dir=$3
  mkdir -p "$dir"
  if [ ! -f "$dir/.pair.crt" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
      -subj /CN=custos-check -keyout "$dir/.pair.key" -out "$dir/.pair.crt" 2> /dev/null
  fi
  awk -v dir="$dir" '
    match($0, /^[ \t]*(store|cert|key|client_ca|relayer_key)[ \t]*=[ \t]*\//) {
      eq = index($0, "=")
      v = substr($0, eq + 1)
      sub(/^[ \t]+/, "", v)
      print substr($0, 1, eq) " " dir v
      next
    }
    { print }' "$in" > "$out"
  local k v
  while IFS='=' read -r k v; do
    k=${k//[[:space:]]/}
    v=${v#"${v%%[![:space:]]*}"}
    v=${v%%[[:space:];]*}
    case "$v" in "$dir"/*) ;; *) continue ;; esac
    mkdir -p "$(dirname "$v")"
    case "$k" in
      store) ;;
      cert | client_ca) cp "$dir/.pair.crt" "$v" ;;
      key) install -m 0600 "$dir/.pair.key" "$v" ;;
      relayer_key) [ -f "$v" ] || "${ATTESTOR_BIN:?}" keygen --out "$v" > /dev/null ;;
    esac
  done < "$out"
}
