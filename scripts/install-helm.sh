#!/usr/bin/env bash
# Builds Helm from the Go module proxy into .cache/bin/helm (for stack/test/helm.test.ts), once: a second run with
# the same version does nothing. Needs Go (https://go.dev/doc/install); about 4 minutes on 2 cores.
# The ldflags are those of Helm's own Makefile: its version, and the Kubernetes version `helm template` and
# `helm lint` assume, from the k8s.io/client-go it is built with (without them Helm assumes Kubernetes 1.20).
set -euo pipefail
cd "$(dirname "$0")/.."

HELM_VERSION=v3.22.0
bin=.cache/bin
stamp="$bin/helm.version"

if [[ -x "$bin/helm" && "$(cat "$stamp" 2>/dev/null)" == "$HELM_VERSION" ]]; then exit 0; fi
if ! command -v go >/dev/null 2>&1; then
  echo "[setup] Go is needed to build Helm $HELM_VERSION for the chart tests: install Go 1.26 or newer (https://go.dev/doc/install), or put a helm binary at $bin/helm and '$HELM_VERSION' in $stamp" >&2
  exit 1
fi

echo "[setup] building Helm $HELM_VERSION from the Go module proxy into $bin (once)" >&2
gomod=$(go mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
client_go=$(awk '$1 == "k8s.io/client-go" { print $2 }' "$gomod")   # v0.37.0 -> Kubernetes 1.37
k8s_minor=$(cut -d. -f2 <<<"$client_go")
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
for pkg in pkg/lint/rules pkg/chartutil; do
  ldflags+=" -X helm.sh/helm/v3/$pkg.k8sVersionMajor=1 -X helm.sh/helm/v3/$pkg.k8sVersionMinor=$k8s_minor"
done
mkdir -p "$bin"
GOBIN="$PWD/$bin" CGO_ENABLED=0 go install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
echo "$HELM_VERSION" > "$stamp"
"$bin/helm" version --short >&2
