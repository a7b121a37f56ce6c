#!/bin/sh
# The drain check before an upgrade: has every consumer of a stream (default FILES) handled
# everything? Reads nats-server's /jsz?consumers=true (JSON) on standard input, prints each
# consumer with the messages not yet delivered (pending) and delivered but not yet
# acknowledged (ack pending), and exits 0 when all are zero, 1 otherwise. Needs jq.
#
#   docker compose exec -T nats wget -qO- 'http://127.0.0.1:8222/jsz?consumers=true' | sh deploy/nats/pending.sh
#
# With NATS_PREFIX=p, name the stream: … | sh deploy/nats/pending.sh p_FILES
set -eu
stream=${1:-FILES}
command -v jq >/dev/null || { echo "pending.sh: needs jq" >&2; exit 69; }
json=$(cat)
consumers='.account_details[]?.stream_detail[]? | select(.name == $s) | .consumer_detail[]?'
printf '%s' "$json" | jq -r --arg s "$stream" "$consumers | \"\\(.name)\\tpending \\(.num_pending)\\tack pending \\(.num_ack_pending)\""
count=$(printf '%s' "$json" | jq --arg s "$stream" "[$consumers] | length")
busy=$(printf '%s' "$json" | jq --arg s "$stream" "[$consumers | .num_pending + .num_ack_pending] | add // 0")
if [ "$count" -eq 0 ]; then
  echo "$stream: no consumers (wrong stream name, or nothing ever consumed it)" >&2
  exit 1
fi
if [ "$busy" -ne 0 ]; then
  echo "$stream: $busy messages not handled yet"
  exit 1
fi
echo "$stream: drained"
