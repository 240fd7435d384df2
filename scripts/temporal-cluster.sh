#!/usr/bin/env bash
# Builds the binaries of the `cluster` local stack (stack/temporal-cluster.ts) once, from the Go module proxy,
# into .cache/bin: the Temporal server and its schema tool (go install, pinned version), and the web UI server
# (stack/temporal-ui: ui-server's library at a pinned version, with its go.mod and go.sum as the lock).
#
#   bash scripts/temporal-cluster.sh build    build what is missing (or at another version)
#   bash scripts/temporal-cluster.sh check    say what is missing to build or run the stack (exit 1 if anything)
#
# The server needs Go >= 1.26.10: GOTOOLCHAIN makes the installed `go` fetch that toolchain (from the module
# proxy) for these builds only. First build about 12 minutes on 2 cores (the server), later ones: nothing.
# stack/temporal-cluster.ts reads the same versions from the .version stamps: keep the names in step.
set -euo pipefail
cd "$(dirname "$0")/.."

TEMPORAL_VERSION=v1.32.2
UI_SERVER_VERSION=v2.58.1
GO_TOOLCHAIN=go1.27.3
bin=.cache/bin
log() { echo "[temporal-cluster] $*" >&2; }

ui_src=stack/temporal-ui
ui_stamp() { echo "$UI_SERVER_VERSION-$(cat "$ui_src/main.go" "$ui_src/go.mod" "$ui_src/go.sum" | sha256sum | cut -c1-12)"; }

# "<binary> <module package>@<version>" (or "<binary> ./<folder>@<stamp>" for a program of ours), one a line.
binaries() {
  echo "temporal-server go.temporal.io/server/cmd/server@$TEMPORAL_VERSION"
  echo "temporal-sql-tool go.temporal.io/server/cmd/tools/sql@$TEMPORAL_VERSION"
  echo "temporal-ui-server ./$ui_src@$(ui_stamp)"
}

built() { [[ -x "$bin/$1" && "$(cat "$bin/$1.version" 2>/dev/null)" == "$2" ]]; }

postgres_missing() { ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; }

case "${1:-build}" in
  check)
    missing=()
    while read -r name pkg; do
      built "$name" "${pkg#*@}" || missing+=("$bin/$name ${pkg#*@} (build it: bash scripts/temporal-cluster.sh build$(command -v go >/dev/null || echo ', which needs Go: https://go.dev/dl/'))")
    done < <(binaries)
    postgres_missing && missing+=("PostgreSQL's server (Debian: apt-get install -y postgresql-15)")
    if ((${#missing[@]})); then
      log "missing:"; printf '  - %s\n' "${missing[@]}" >&2
      exit 1
    fi
    log "the Temporal server, its schema tool, the UI server and PostgreSQL are there"
    ;;
  build)
    to_build=()
    while read -r name pkg; do built "$name" "${pkg#*@}" || to_build+=("$name $pkg"); done < <(binaries)
    ((${#to_build[@]})) || exit 0
    if ! command -v go >/dev/null 2>&1; then
      log "cannot build the Temporal server $TEMPORAL_VERSION: Go is missing (install Go 1.21 or newer: https://go.dev/dl/; it fetches $GO_TOOLCHAIN itself)"
      exit 1
    fi
    mkdir -p "$bin"
    for entry in "${to_build[@]}"; do
      read -r name pkg <<<"$entry"
      log "building $name from $pkg (once; the server takes about 12 minutes on 2 cores)"
      started=$(date +%s)
      # GOTOOLCHAIN: the modules need a newer Go than may be installed; -mod=readonly: go.mod and go.sum are the lock.
      export GOTOOLCHAIN=$GO_TOOLCHAIN CGO_ENABLED=0
      if [[ "$pkg" == ./* ]]; then
        (cd "${pkg%@*}" && GOFLAGS="-mod=readonly -buildvcs=false" nice -n 10 go build -trimpath -ldflags "-s -w" -o "$PWD/../../$bin/$name.tmp" .)
        mv "$bin/$name.tmp" "$bin/$name"
      else
        # `go install pkg@version` names the binary after its folder (`server`, `sql`): install into a folder of its own.
        tmp=$(mktemp -d "$bin/.build.XXXXXX")
        GOBIN="$PWD/$tmp" nice -n 10 go install -trimpath -ldflags "-s -w" "$pkg"
        mv "$tmp/$(basename "${pkg%@*}")" "$bin/$name"
        rm -rf "$tmp"
      fi
      echo "${pkg#*@}" > "$bin/$name.version"
      log "built $bin/$name in $(( $(date +%s) - started )) s"
    done
    ;;
  *)
    echo "usage: $0 build|check" >&2; exit 2
    ;;
esac
