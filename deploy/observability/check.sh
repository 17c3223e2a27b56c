#!/usr/bin/env bash
# Checks the files of deploy/observability:
#   - grafana-dashboard.json is JSON (python3 -m json.tool);
#   - alert-rules.yml and prometheus.yml pass promtool (Debian's prometheus package; fetched into .local/tools
#     without installing the server when promtool is not on PATH);
#   - with the URLs of running hosts' /metrics as arguments (deploy/local/province.sh status lists them), every
#     exchange_* metric the dashboard and the rules name is served by one of them.
#
#   deploy/observability/check.sh [http://127.0.0.1:18080/metrics ...]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
root="$(cd "$here/../.." && pwd -P)"

python3 -m json.tool "$here/grafana-dashboard.json" >/dev/null
echo "check: grafana-dashboard.json is valid JSON"

promtool="$(command -v promtool || true)"
if [ -z "$promtool" ]; then
  tools="${EXCHANGE_HOME:-$root/.local}/tools"
  promtool="$tools/usr/bin/promtool"
  if [ ! -x "$promtool" ]; then
    echo "check: fetching promtool from Debian's prometheus package into $tools" >&2
    mkdir -p "$tools"
    (cd "$tools" && apt-get download prometheus >/dev/null && dpkg -x prometheus_*.deb . && rm -f prometheus_*.deb)
  fi
fi
"$promtool" check rules "$here/alert-rules.yml"
(cd "$here" && "$promtool" check config prometheus.yml)

# exchange_* names the dashboard and the rules ask for.
wanted="$(cat "$here/grafana-dashboard.json" "$here/alert-rules.yml" | grep -o 'exchange_[a-z_]*' | sort -u)"
if [ "$#" -eq 0 ]; then
  echo "check: metrics named: $(echo "$wanted" | tr '\n' ' ')"
  echo "check: give the hosts' /metrics URLs to check that they serve them"
  exit 0
fi

served="$(for url in "$@"; do curl -fsS "$url"; done | grep -v '^#' | grep -o '^exchange_[a-z_]*' | sort -u)"
missing="$(comm -23 <(echo "$wanted") <(echo "$served"))"
if [ -n "$missing" ]; then
  echo "check: named by the dashboard or the rules but served by none of the hosts: $(echo "$missing" | tr '\n' ' ')" >&2
  exit 1
fi
echo "check: every exchange_* metric the dashboard and the rules name is served"
