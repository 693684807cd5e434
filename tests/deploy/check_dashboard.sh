#!/usr/bin/env bash
# deploy/grafana/custos-dashboard.json: every custos_* metric its panels and variables name
# is one the binaries export (a quoted name in the gateway's or the attestor's sources,
# histograms with _bucket, _sum, _count), every panel has a query, and the feed variable
# takes feeds in seconds and in business days alike. Offline; the Prometheus end-to-end
# test also runs each query against a live Prometheus.
set -euo pipefail
: "${CUSTOS_SOURCE_DIR:?}"
dash="$CUSTOS_SOURCE_DIR/deploy/grafana/custos-dashboard.json"
exported=$(grep -rhoE '"custos_[a-z0-9_]+' "$CUSTOS_SOURCE_DIR/gateway" "$CUSTOS_SOURCE_DIR/attestor" \
  --include='*.c' | tr -d '"' | sort -u)
/usr/bin/python3 - "$dash" "$exported" <<'PY'
import json, re, sys
dash = json.load(open(sys.argv[1]))
exported = set(sys.argv[2].split())
bad = []
def known(name):
    if name in exported:
        return True
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and name[: -len(suffix)] in exported:
            return True
    return False
def check(where, text):
    names = re.findall(r"custos_[a-z0-9_]+", text)
    for n in names:
        if not known(n):
            bad.append("%s: %s is not a metric the binaries export" % (where, n))
    return names
panels = dash.get("panels", [])
if not panels:
    bad.append("no panels")
for p in panels:
    targets = p.get("targets", [])
    if p.get("type") != "row" and not targets:
        bad.append("panel %r has no query" % p.get("title"))
    for t in targets:
        if not check("panel %r" % p.get("title"), t.get("expr", "")):
            bad.append("panel %r: a query names no custos_ metric" % p.get("title"))
for v in dash.get("templating", {}).get("list", []):
    q = v.get("query")
    if isinstance(q, str) and q.startswith("label_values("):
        names = check("variable %r" % v.get("name"), q)
        if v.get("name") == "feed":
            for need in ("custos_feed_max_age_seconds", "custos_feed_max_age_business_days"):
                if need not in names:
                    bad.append("variable feed misses the feeds of %s" % need)
ids = [p.get("id") for p in panels]
if len(ids) != len(set(ids)):
    bad.append("panel ids repeat")
for b in bad:
    print("check_dashboard: " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
echo "check_dashboard: $(grep -c '"expr"' "$dash") queries checked"
