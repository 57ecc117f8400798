#!/usr/bin/env bash
# promtool on the shipped alerting rules: `check rules`, then `test rules` with
# deploy/prometheus/alerts.test.yaml (each alert fires on its failure, stays silent
# on a healthy series). promtool comes from deploy/prometheus-tools.sh.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$("$root/deploy/prometheus-tools.sh")"
cd "$root/deploy/prometheus"
"$bin/promtool" check rules alerts.yaml
"$bin/promtool" test rules alerts.test.yaml
