#!/bin/sh
# Runs in temporalio/admin-tools (service temporal-setup of docker-compose.yml) once the server is up, and in
# the local `cluster` stack (stack/temporal-cluster.ts, with the project's `temporal` CLI on PATH):
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

# Registers one search attribute, retrying while the server settles. A visibility store that has no room left for
# this type (SQL visibility has a fixed number of custom columns per type and namespace) fails at once, saying so.
register() {
  tries=0
  until out=$(temporal operator search-attribute create -n "$NAMESPACE" --name "$1" --type "$2" 2>&1); do
    if printf '%s' "$out" | grep -q "cannot have more than"; then
      echo "cannot register search attribute $1 ($2) in namespace $NAMESPACE: the visibility store is full for type $2 ($(printf '%s' "$out" | grep -o 'cannot have more than [0-9]* search attribute of type [A-Za-z]*')). Remove custom $2 attributes this namespace no longer uses (temporal operator search-attribute remove), or use a visibility store with more room (Elasticsearch)." >&2
      return 1
    fi
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then
      echo "giving up registering search attribute $1 ($2): $out" >&2
      return 1
    fi
    sleep 2
  done
  echo "search attribute $1 ($2) registered"
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
    register "$name" "$type"
  fi
done
