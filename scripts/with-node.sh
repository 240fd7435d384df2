#!/usr/bin/env bash
# Runs a command with a supported Node.js first on PATH (scripts/node-env.sh), e.g. `npm run demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh
exec "$@"
