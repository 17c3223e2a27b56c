#!/usr/bin/env bash
# Starts the local servers if needed, then runs `exchange demo` (arguments are passed on).
#
#   deploy/local/demo.sh [demo options]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
cd "$ROOT"
# shellcheck source=deploy/local/env.sh
. deploy/local/env.sh

export DOTNET_CLI_TELEMETRY_OPTOUT="${DOTNET_CLI_TELEMETRY_OPTOUT:-1}"
export DOTNET_NOLOGO="${DOTNET_NOLOGO:-1}"

bash deploy/local/services.sh up >/dev/null
exec dotnet run --project src/Exchange.Cli -c Release -- demo "$@"
