#!/bin/sh
# One-shot job (temporalio/admin-tools): create the app's namespace and register the
# custom search attributes the workflows set (workflows/search_attributes.py).
# Idempotent: existing namespace and attributes are left alone.
set -eu
NAMESPACE="${NAMESPACE:?}"
ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
RETENTION="${NAMESPACE_RETENTION:-720h}"

echo "waiting for Temporal at $ADDRESS"
attempt=0
until temporal operator cluster health --address "$ADDRESS"; do
  attempt=$((attempt + 1))
  [ "$attempt" -lt 30 ] || { echo "Temporal did not become healthy"; exit 1; }
  sleep 2
done

temporal operator namespace describe -n "$NAMESPACE" --address "$ADDRESS" >/dev/null 2>&1 \
  || temporal operator namespace create -n "$NAMESPACE" --retention "$RETENTION" --address "$ADDRESS"

existing="$(temporal operator search-attribute list -n "$NAMESPACE" --address "$ADDRESS")"
# name:type pairs (the temporal CLI's type names).
for attribute in LkkLogin:Keyword LkkStage:Keyword LkkContract:Keyword LkkContracts:KeywordList; do
  name="${attribute%%:*}"
  type="${attribute#*:}"
  if echo "$existing" | grep -qw "$name"; then
    echo "search attribute $name exists"
  else
    temporal operator search-attribute create -n "$NAMESPACE" --name "$name" --type "$type" --address "$ADDRESS"
  fi
done
echo "namespace $NAMESPACE ready"
