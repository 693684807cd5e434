#!/usr/bin/env bash
# deploy/prometheus/alerts.yaml: promtool parses every rule and expression. (The
# Prometheus end-to-end test also loads the rules and requires each to evaluate.)
set -euo pipefail
: "${CUSTOS_SOURCE_DIR:?}" "${PROMTOOL:?}"
"$PROMTOOL" check rules "$CUSTOS_SOURCE_DIR/deploy/prometheus/alerts.yaml"
