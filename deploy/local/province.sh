#!/usr/bin/env bash
# The sample province kept running, for a document system to point at: the hub, the auditors' host and one gateway per
# agency, each a process of its own on a fixed loopback port, restarted if it dies, until `down`.
#
#   deploy/local/province.sh up [--json]       start it (or find it running); wait until every host is ready; print
#                                              every gateway's URL, API key and national-axis client, the hub's and the
#                                              audit host's URL and key (--json: as one JSON line, the last of stdout)
#   deploy/local/province.sh status [--json]   the supervisor and each host: URL, pid, up/down, restarts
#   deploy/local/province.sh down              stop the supervisor and every host (the servers keep running)
#
# `up` first starts the servers (services.sh up; with EXCHANGE_EXTERNAL_SERVERS=1 it only checks them) and builds the
# command-line tool (EXCHANGE_PROVINCE_NO_BUILD=1 skips that). Progress goes to standard error. Credentials, state and
# logs stay under .local/ (EXCHANGE_HOME). See docs/operations.md, "Province".
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
cd "$ROOT"
# shellcheck source=deploy/local/env.sh
. deploy/local/env.sh

export DOTNET_CLI_TELEMETRY_OPTOUT="${DOTNET_CLI_TELEMETRY_OPTOUT:-1}"
export DOTNET_NOLOGO="${DOTNET_NOLOGO:-1}"

cmd="${1:-}"
case "$cmd" in
  up|status|down) shift ;;
  *)
    echo "usage: $0 up [--json] | status [--json] | down" >&2
    exit 2
    ;;
esac

TOOL="$ROOT/src/Exchange.Cli/bin/Release/net10.0/exchange.dll"
if [ "$cmd" = up ]; then
  bash deploy/local/services.sh up >/dev/null
  if [ "${EXCHANGE_PROVINCE_NO_BUILD:-0}" != 1 ]; then
    echo "province: building src/Exchange.Cli (Release)" >&2
    dotnet build src/Exchange.Cli -c Release -v quiet -nologo >&2
  fi
fi

if [ ! -f "$TOOL" ]; then
  echo "province: $TOOL is not built; run: deploy/local/province.sh up" >&2
  exit 2
fi

exec dotnet "$TOOL" province "$cmd" "$@"
