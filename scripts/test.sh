#!/usr/bin/env bash
# The test command: installs what is missing (scripts/setup.sh), type-checks, lints, then runs the
# whole jest suite (real Temporal servers, the emulators, the Python clients) and prints one summary
# line, `N passed, N failed`. Extra arguments go to jest (e.g. a test path).
#   --quick   the developers' fast loop (`npm run test:quick`): type-check, then the product's unit,
#             workflow (time-skipping server), replay and activity tests; no lint, no system suites.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh

quick=false
if [[ "${1:-}" == "--quick" ]]; then
  quick=true
  shift
fi

if $quick; then
  bash scripts/setup.sh
else
  bash scripts/setup.sh --for-tests
fi
if $quick; then
  echo "[test] type-checking" >&2
  npx tsc --noEmit -p .
  set -- product/test/workflows product/test/replay product/test/activities product/test/client/pipelines-config.test.ts "$@"
else
  # Both at once: each keeps one core busy.
  echo "[test] type-checking and linting" >&2
  npx tsc --noEmit -p . &
  typecheck=$!
  lint_status=0
  npx eslint . || lint_status=$?
  typecheck_status=0
  wait "$typecheck" || typecheck_status=$?
  if (( typecheck_status != 0 || lint_status != 0 )); then
    echo "[test] the type-check or the lint failed" >&2
    exit 1
  fi
fi

results=$(mktemp)
trap 'rm -f "$results"' EXIT
status=0
# Three test files at a time, on 2 cores too: many tests mostly wait (on timers, servers, processes), and
# three keep both cores busier than two (measured: 1.7 cores against 1.45). CT_JEST_WORKERS=N runs
# N at once, and CT_JEST_WORKERS=1 one at a time in the jest process itself.
workers_wanted=${CT_JEST_WORKERS:-3}
if [[ ! "$workers_wanted" =~ ^[1-9][0-9]*$ ]]; then
  echo "[test] CT_JEST_WORKERS must be a positive whole number, not \"$workers_wanted\"" >&2
  exit 2
fi
if (( workers_wanted == 1 )); then workers=(--runInBand); else workers=(--maxWorkers="$workers_wanted"); fi
npx jest "${workers[@]}" --json --outputFile="$results" "$@" || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  // Tests skipped where their prerequisites are missing (no Python, no browser); jest reports test.skip as "pending".
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
  if (r.numTotalTests === 0) { console.error("no test ran"); process.exit(1); }
' "$results" || status=1
exit $status
