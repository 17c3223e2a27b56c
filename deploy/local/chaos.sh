#!/usr/bin/env bash
# The chaos run: documents through the real path while the hub is killed (SIGKILL) twice, RabbitMQ and PostgreSQL
# are restarted and a recipient gateway is killed; then it checks that nothing was lost or duplicated and that the
# evidence chain is intact. The last line of output is one JSON object; the exit code is 0 only if the run passed.
#
#   deploy/local/chaos.sh [exchange chaos options: --count N --concurrency N --timeout S --settle-timeout S ...]
#   deploy/local/chaos.sh --cluster [options]
#                         on the cluster of services.sh up --cluster (started if need be): stops and starts one RabbitMQ
#                         node, fails PostgreSQL over to its standby and rebuilds the standby, with the same checks
#
# EXCHANGE_CHAOS_COUNT sets --count (default 10000). It restarts this checkout's own servers (services.sh
# restart-rabbitmq / restart-postgres), so it refuses to run with EXCHANGE_EXTERNAL_SERVERS=1. Loopback only; it
# stops by itself (--timeout, default 3600 s) and kills the hosts it started. See docs/operations.md, "Chaos run" and "Past one machine".
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
cd "$ROOT"
# shellcheck source=deploy/local/env.sh
. deploy/local/env.sh

export DOTNET_CLI_TELEMETRY_OPTOUT="${DOTNET_CLI_TELEMETRY_OPTOUT:-1}"
export DOTNET_NOLOGO="${DOTNET_NOLOGO:-1}"

if [ "${EXCHANGE_EXTERNAL_SERVERS:-0}" = 1 ] || [ "${EXCHANGE_EXTERNAL_SERVERS:-0}" = true ]; then
  echo "chaos: the chaos run restarts PostgreSQL and RabbitMQ; it runs only on this checkout's own servers (unset EXCHANGE_EXTERNAL_SERVERS)" >&2
  exit 2
fi

cluster=()
if [ "${1:-}" = --cluster ]; then
  shift
  cluster=(--cluster)
  # The cluster's settings (every node, quorum queues, both PostgreSQL servers) for the hosts this run starts.
  settings="$(bash deploy/local/services.sh up --cluster)"
  eval "$settings"
else
  bash deploy/local/services.sh up >/dev/null
fi

# test.sh has built the solution already and says so.
if [ "${EXCHANGE_CHAOS_NO_BUILD:-0}" != 1 ]; then
  echo "chaos: building src/Exchange.Cli (Release)" >&2
  dotnet build src/Exchange.Cli -c Release -v quiet -nologo >&2
fi

args=(chaos --services deploy/local/services.sh "${cluster[@]}")
if [ -n "${EXCHANGE_CHAOS_COUNT:-}" ]; then
  args+=(--count "$EXCHANGE_CHAOS_COUNT")
fi
exec dotnet src/Exchange.Cli/bin/Release/net10.0/exchange.dll "${args[@]}" "$@"
