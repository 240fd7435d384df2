#!/usr/bin/env bash
# Builds the real-pachd entry program (stack/real-pachd: Pachyderm's own pachd v2.12.2 wired without
# Kubernetes) once, into .cache/real-pachd/<version>-<program hash>/real-pachd, and prints its path.
#
#   bash scripts/real-pachd.sh build    build if missing, print the binary's path
#   bash scripts/real-pachd.sh path     print where the binary is (or will be), build nothing
#   bash scripts/real-pachd.sh check    say what is missing to build and run it (exit 1 if anything)
#
# Pachyderm's module comes from the Go module proxy (pinned in stack/real-pachd/go.mod and go.sum);
# the Go build and module caches are the user's, so a rebuild after a fresh clone takes seconds.
# stack/real-pachd.ts computes the same folder name: keep the two in step.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=2.12.2
GO_MIN=1.23
src=stack/real-pachd
log() { echo "[real-pachd] $*" >&2; }

program_hash() { cat "$src/main.go" "$src/go.mod" "$src/go.sum" | sha256sum | cut -c1-16; }
binary_path() { echo "${REAL_PACHD_CACHE:-$PWD/.cache/real-pachd}/$VERSION-$(program_hash)/real-pachd"; }

# What is missing to build (Go) and to run (PostgreSQL's server binaries) real pachd.
missing() {
  local out=()
  if ! command -v go >/dev/null 2>&1; then
    out+=("Go >= $GO_MIN (https://go.dev/dl/, or Debian's golang-go if new enough)")
  else
    local v; v=$(go env GOVERSION | sed 's/^go//')
    if [[ "$(printf '%s\n%s\n' "$GO_MIN" "$v" | sort -V | head -1)" != "$GO_MIN" ]]; then
      out+=("Go >= $GO_MIN (found $v)")
    fi
  fi
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
    out+=("PostgreSQL's server (Debian: apt-get install -y postgresql-15)")
  fi
  printf '%s\n' "${out[@]}"
}

case "${1:-build}" in
  path)
    binary_path
    ;;
  check)
    what=$(missing)
    if [[ -n "$what" ]]; then
      log "missing:"; echo "$what" | sed 's/^/  - /' >&2
      exit 1
    fi
    log "Go and PostgreSQL are there"
    ;;
  build)
    bin=$(binary_path)
    if [[ -x "$bin" ]]; then echo "$bin"; exit 0; fi
    if ! command -v go >/dev/null 2>&1; then
      log "cannot build: Go is missing (install Go >= $GO_MIN)"; exit 1
    fi
    mkdir -p "$(dirname "$bin")"
    log "building pachd $VERSION (first build: several minutes and ~3 GB of Go caches; later ones: seconds)"
    started=$(date +%s)
    tmp="$bin.tmp.$$"
    # -mod=readonly: go.mod and go.sum are the lock; GOTOOLCHAIN=local: never download a toolchain;
    # -buildvcs=false: the program is identified by its hash, not by the checkout's state.
    (cd "$src" && GOFLAGS="-mod=readonly -buildvcs=false" GOTOOLCHAIN=local nice -n 10 go build -o "$tmp" \
      -ldflags "-s -w -X github.com/pachyderm/pachyderm/v2/src/version.AppVersion=$VERSION" .)
    mv "$tmp" "$bin"
    log "built $bin in $(( $(date +%s) - started )) s ($(du -m "$bin" | cut -f1) MB)"
    echo "$bin"
    ;;
  *)
    echo "usage: $0 build|path|check" >&2; exit 2
    ;;
esac
