#!/bin/sh
# Create the namespace the workers use once the server answers (idempotent).
set -eu
NAMESPACE=${DEFAULT_NAMESPACE:-default}
tries=0
until temporal operator cluster health --address "$TEMPORAL_ADDRESS"; do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then
        echo "namespace: Temporal at $TEMPORAL_ADDRESS did not answer; giving up" >&2
        exit 1
    fi
    echo "namespace: waiting for Temporal at $TEMPORAL_ADDRESS ($tries/60)"
    sleep 2
done
temporal operator namespace describe -n "$NAMESPACE" --address "$TEMPORAL_ADDRESS" \
    || temporal operator namespace create -n "$NAMESPACE" --address "$TEMPORAL_ADDRESS"
echo "namespace: $NAMESPACE ready"
