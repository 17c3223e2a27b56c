#!/usr/bin/env bash
# Builds the solution once and runs every test project against the local servers.
#
#   deploy/local/test.sh [extra dotnet test arguments, e.g. --filter "FullyQualifiedName~Router"]
#
# The last line of output is the total over all test projects: "N passed, N failed, N skipped".
# Exits non-zero when the build fails, a test fails, the test run itself fails, or no test ran.
# Results (.trx) go to .local/test-results/<run>/.
#
# After the tests, a short chaos run (deploy/local/chaos.sh, EXCHANGE_CHAOS_COUNT documents, default 1000) counts
# as one more test: passed when nothing was lost or duplicated and the evidence chain is intact. It restarts the
# servers this script started, so it is skipped (and counted skipped) with EXCHANGE_EXTERNAL_SERVERS=1, with
# EXCHANGE_CHAOS=0, and on a focused run (extra dotnet test arguments).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
cd "$ROOT"
# shellcheck source=deploy/local/env.sh
. deploy/local/env.sh

export DOTNET_CLI_TELEMETRY_OPTOUT="${DOTNET_CLI_TELEMETRY_OPTOUT:-1}"
export DOTNET_NOLOGO="${DOTNET_NOLOGO:-1}"
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE="${DOTNET_SKIP_FIRST_TIME_EXPERIENCE:-1}"

SOLUTION="${EXCHANGE_SOLUTION:-Exchange.sln}"
# A test host that runs longer than this without finishing is stopped (and its tests fail), so that
# a hang ends the run with a reason instead of eating the CI time limit. 0 turns it off.
HANG_TIMEOUT="${EXCHANGE_TEST_HANG_TIMEOUT:-20m}"

say() { printf 'test: %s\n' "$*"; }

summary() {  # passed failed skipped
  printf '%s passed, %s failed, %s skipped\n' "$1" "$2" "$3"
}

bash deploy/local/services.sh up >/dev/null

say "building $SOLUTION (Release)"
if ! dotnet build "$SOLUTION" -c Release; then
  say "the build failed"
  summary 0 0 0
  exit 1
fi

results_base="$ROOT/.local/test-results"
run="$(date -u +%Y%m%dT%H%M%SZ)-$$"
results="$results_base/$run"
rm -rf "$results"
mkdir -p "$results"
# Keep the five most recent runs.
find "$results_base" -mindepth 1 -maxdepth 1 -type d -printf '%T@ %p\n' 2>/dev/null \
  | sort -rn | tail -n +6 | cut -d' ' -f2- | while IFS= read -r old; do rm -rf -- "$old"; done

test_args=(test "$SOLUTION" -c Release --no-build --logger trx --results-directory "$results")
if [ "$HANG_TIMEOUT" != 0 ]; then
  test_args+=(--blame-hang-timeout "$HANG_TIMEOUT" --blame-hang-dump-type none)
fi

say "running the tests (results in $results)"
test_rc=0
dotnet "${test_args[@]}" "$@" || test_rc=$?

# Sum the counters of every .trx (one per test project; the logger numbers clashing names).
passed=0 failed=0 total=0 files=0 run_broken=0
while IFS= read -r -d '' trx; do
  files=$((files + 1))
  counters="$(grep -o '<Counters [^>]*>' "$trx" | head -1 || true)"
  if [ -z "$counters" ]; then
    say "note: no counters in $trx"
    continue
  fi
  count() { printf '%s' "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]\+' || echo 0; }
  t="$(count total)"
  p="$(count passed)"
  f=$(( $(count failed) + $(count error) + $(count timeout) + $(count aborted) ))
  outcome="$(grep -o '<ResultSummary outcome="[A-Za-z]*"' "$trx" | head -1 | cut -d'"' -f2 || true)"
  if [ "$f" -eq 0 ] && [[ "$outcome" =~ ^(Failed|Aborted|Error|Timeout)$ ]]; then
    assembly="$(grep -o '[^/ "]*\.dll' "$trx" | head -1 || true)"
    say "note: the run of ${assembly:-$(basename "$trx")} ended '$outcome' without a failed test (a test host crashed or hung?)"
    run_broken=1
  fi
  total=$((total + t))
  passed=$((passed + p))
  failed=$((failed + f))
done < <(find "$results" -name '*.trx' -print0)
skipped=$((total - passed - failed))
[ "$skipped" -ge 0 ] || skipped=0

# Every test project of the solution should have left a .trx naming its assembly.
while IFS= read -r project; do
  name="$(basename "$project" .csproj)"
  if ! grep -rqiF --include='*.trx' -- "/$name.dll" "$results"; then
    say "note: test project $name produced no .trx (did its test host start?)"
  fi
done < <(dotnet sln "$SOLUTION" list 2>/dev/null | tr '\\' '/' | grep -E '(^|/)tests/.*Tests\.csproj$' || true)

# The chaos run, one test more (see the top of this file).
chaos_skip=""
if [ "${EXCHANGE_CHAOS:-1}" = 0 ]; then
  chaos_skip="EXCHANGE_CHAOS=0"
elif [ "${EXCHANGE_EXTERNAL_SERVERS:-0}" = 1 ] || [ "${EXCHANGE_EXTERNAL_SERVERS:-0}" = true ]; then
  chaos_skip="it restarts the servers, and EXCHANGE_EXTERNAL_SERVERS=1 says they are not this checkout's"
elif [ "$#" -gt 0 ]; then
  chaos_skip="a focused run (dotnet test arguments given)"
fi
if [ -n "$chaos_skip" ]; then
  say "chaos run skipped: $chaos_skip"
  skipped=$((skipped + 1))
else
  say "chaos run: ${EXCHANGE_CHAOS_COUNT:-1000} documents (log in $results/chaos.log)"
  chaos_rc=0
  EXCHANGE_CHAOS_NO_BUILD=1 EXCHANGE_CHAOS_COUNT="${EXCHANGE_CHAOS_COUNT:-1000}" \
    bash deploy/local/chaos.sh --timeout "${EXCHANGE_CHAOS_TIMEOUT:-1800}" >"$results/chaos.log" 2>&1 || chaos_rc=$?
  if [ "$chaos_rc" -eq 0 ]; then
    grep -E '^chaos: .*(fault:|sending done|settled|PASSED)' "$results/chaos.log" || true
    tail -1 "$results/chaos.log"
    passed=$((passed + 1))
  else
    tail -60 "$results/chaos.log"
    say "the chaos run failed (exit $chaos_rc); its hosts' logs are in .local/logs/chaos"
    failed=$((failed + 1))
  fi
  # It restarted both servers: make sure they are up again, as the tests found them.
  bash deploy/local/services.sh status >/dev/null || bash deploy/local/services.sh up >/dev/null || say "the servers did not come back after the chaos run"
fi

rc=0
if [ "$failed" -gt 0 ]; then
  say "$failed test(s) failed"
  rc=1
elif [ "$test_rc" -ne 0 ] || [ "$run_broken" = 1 ]; then
  say "dotnet test exited with code $test_rc although no test failed (a test host crashed or the run aborted?)"
  rc=1
fi
if [ "$total" -eq 0 ]; then
  say "no test ran ($files .trx file(s))"
  rc=1
fi
summary "$passed" "$failed" "$skipped"
exit "$rc"
