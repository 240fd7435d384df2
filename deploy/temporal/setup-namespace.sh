#!/bin/sh
# Runs in temporalio/admin-tools (service temporal-setup of docker-compose.yml) once the server is up:
# creates the namespace when it is missing, then registers each custom search attribute of
# CT_SEARCH_ATTRIBUTES ("Name=Type ...", see common/search-attributes.ts) that is not registered yet.
# Safe to run again: it only adds what is missing.
set -eu

: "${TEMPORAL_ADDRESS:?}"
: "${CT_SEARCH_ATTRIBUTES:?}"
NAMESPACE=${TEMPORAL_NAMESPACE:-default}
RETENTION=${TEMPORAL_NAMESPACE_RETENTION:-168h}
export TEMPORAL_ADDRESS

# Runs a command until it succeeds, at most 60 times 2 s apart: the server may still be starting, and a
# namespace just created reaches the other services only after their namespace cache refreshes.
retry() {
  tries=0
  until "$@"; do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then
      echo "giving up: $*" >&2
      return 1
    fi
    sleep 2
  done
}

echo "waiting for Temporal at $TEMPORAL_ADDRESS"
retry temporal operator cluster health >/dev/null

if temporal operator namespace describe -n "$NAMESPACE" >/dev/null 2>&1; then
  echo "namespace $NAMESPACE exists"
else
  temporal operator namespace create -n "$NAMESPACE" --retention "$RETENTION"
  echo "namespace $NAMESPACE created (retention $RETENTION)"
fi

registered=$(retry temporal operator search-attribute list -n "$NAMESPACE" -o json 2>/dev/null)
for pair in $CT_SEARCH_ATTRIBUTES; do
  name=${pair%%=*}
  type=${pair#*=}
  if printf '%s' "$registered" | grep -q "\"$name\""; then
    echo "search attribute $name exists"
  else
    retry temporal operator search-attribute create -n "$NAMESPACE" --name "$name" --type "$type"
    echo "search attribute $name ($type) registered"
  fi
done
