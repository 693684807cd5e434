#!/usr/bin/env bash
# deploy/prometheus/alerts.yaml: promtool parses every rule and expression and runs the
# unit tests of tests/deploy/alerts_test.yaml. (The Prometheus end-to-end test also loads
# the rules and requires each to evaluate.)
set -euo pipefail
: "${CUSTOS_SOURCE_DIR:?}" "${PROMTOOL:?}"
"$PROMTOOL" check rules "$CUSTOS_SOURCE_DIR/deploy/prometheus/alerts.yaml"
# Unit tests of the rules: each alert fires when it should and not before.
"$PROMTOOL" test rules "$CUSTOS_SOURCE_DIR/tests/deploy/alerts_test.yaml"
