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
echo "[test] type-checking" >&2
npx tsc --noEmit -p .
if $quick; then
  set -- product/test/workflows product/test/replay product/test/activities product/test/client/pipelines-config.test.ts "$@"
else
  echo "[test] linting" >&2
  npx eslint .
fi

results=$(mktemp)
trap 'rm -f "$results"' EXIT
status=0
# One test file at a time by default; CT_JEST_WORKERS=N runs N files at once.
if [[ -n "${CT_JEST_WORKERS:-}" ]]; then workers=(--maxWorkers="$CT_JEST_WORKERS"); else workers=(--runInBand); fi
npx jest "${workers[@]}" --json --outputFile="$results" "$@" || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  // Tests skipped where their prerequisites are missing (no Python, no browser); jest reports test.skip as "pending".
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
  if (r.numTotalTests === 0) { console.error("no test ran"); process.exit(1); }
' "$results" || status=1
exit $status
