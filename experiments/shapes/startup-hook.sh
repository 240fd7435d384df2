#!/usr/bin/env bash
# Determined runs this before the entrypoint: install the experiment's pinned requirements.
set -euo pipefail
pip install --quiet -r requirements.txt
