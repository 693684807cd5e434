#!/usr/bin/env bash
# deploy/nginx: the shipped front proxy passes `nginx -t` (with its site values pointed at
# throwaway files, from a temporary prefix), every location that forwards to the gateway
# sets the identity header (so a client-sent one never gets through), client
# certificates are required, and nginx.conf includes the proxy where it is installed.
set -euo pipefail
src=${CUSTOS_SOURCE_DIR:?}
nginx=${NGINX_BIN:-}
# nginx reads NGINX as sockets inherited from a parent: never let it see one.
unset NGINX
[ -x "$nginx" ] || { echo "nginx not found (scripts/setup installs it)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
conf="$src/deploy/nginx/custos-gateway.conf"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj "/CN=check" -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
sed -e "s|/etc/custos/tls/gateway.crt|$tmp/cert.pem|" \
    -e "s|/etc/custos/tls/gateway.key|$tmp/key.pem|" \
    -e "s|/etc/custos/tls/client-ca.crt|$tmp/cert.pem|" \
    -e "s|listen 443 ssl http2;|listen 127.0.0.1:1 ssl http2;|" \
    -e "s|unix:/run/custos/gateway.sock|unix:$tmp/gateway.sock|" "$conf" > "$tmp/custos-gateway.conf"
mkdir "$tmp/t"
cat > "$tmp/nginx.conf" <<CONF
pid $tmp/nginx.pid;
error_log $tmp/error.log;
events {}
http {
    client_body_temp_path $tmp/t/body; proxy_temp_path $tmp/t/proxy;
    fastcgi_temp_path $tmp/t/fastcgi; uwsgi_temp_path $tmp/t/uwsgi; scgi_temp_path $tmp/t/scgi;
    include $tmp/custos-gateway.conf;
}
CONF

fail=0
if ! out=$("$nginx" -t -q -p "$tmp/" -c "$tmp/nginx.conf" -e "$tmp/error.log" 2>&1) || [ -n "$out" ]; then
  echo "nginx -t:"; echo "$out"; fail=1
fi
passes=$(grep -c '^[[:space:]]*grpc_pass ' "$conf")
headers=$(grep -c '^[[:space:]]*grpc_set_header X-Custos-Client-CN \$custos_client_cn;' "$conf")
[ "$passes" -gt 0 ] && [ "$passes" -eq "$headers" ] ||
  { echo "custos-gateway.conf: $passes grpc_pass but $headers identity headers set"; fail=1; }
for d in "ssl_verify_client on;" "http2_max_concurrent_streams" "limit_req zone=custos_req" \
         "limit_conn custos_conn" "large_client_header_buffers" "client_header_timeout"; do
  grep -q "^[[:space:]]*$d" "$conf" || { echo "custos-gateway.conf: missing $d"; fail=1; }
done
grep -q "include /etc/nginx/custos-gateway.conf;" "$src/deploy/nginx/nginx.conf" ||
  { echo "nginx.conf does not include /etc/nginx/custos-gateway.conf"; fail=1; }

[ "$fail" -eq 0 ] && echo "nginx front proxy: config valid, $passes locations set the identity header"
