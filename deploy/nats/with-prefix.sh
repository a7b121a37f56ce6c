#!/bin/sh
# Rewrites auth.conf (in place) for a deployment with NATS_PREFIX=P: every Ferry subject
# gets "P." in front, stream names in JetStream API subjects "P_", the KV bucket becomes
# P_uploads. Inboxes, user names and passwords do not change. Run it once, on a fresh copy
# of auth.conf; instruments added later take gen-instrument-user.sh --prefix P.
#   sh deploy/nats/with-prefix.sh lab
set -eu
[ $# -eq 1 ] || { echo "usage: with-prefix.sh PREFIX" >&2; exit 64; }
p=$1
printf '%s' "$p" | grep -Eq '^[A-Za-z0-9_-]{1,64}$' || { echo "\"$p\": letters, digits, - and _ only (as NATS_PREFIX)" >&2; exit 65; }
auth="$(cd "$(dirname "$0")" && pwd)/auth.conf"
if grep -Eq "\"$p\\.(file|heartbeat)\\." "$auth"; then
  echo "$auth already has the prefix $p" >&2
  exit 65
fi
tmp=$(mktemp "$auth.XXXXXX")
sed -E \
  -e "s/\"(file|upload|job|backup|alert|command|canary|heartbeat|dlq)\\./\"$p.\\1./g" \
  -e "s/(\\\$JS\\.[A-Z.]*\\.)(FILES|JOBS|OPS|HEARTBEATS|DLQ)([\".])/\\1${p}_\\2\\3/g" \
  -e "s/(\\\$JS\\.API\\.CONSUMER\\.CREATE\\.${p}_[A-Z]+\\.[A-Za-z0-9_-]+\\.)(file|upload|command)\\./\\1$p.\\2./g" \
  -e "s/KV_uploads/KV_${p}_uploads/g" \
  -e "s/\\\$KV\\.uploads\\./\$KV.${p}_uploads./g" \
  "$auth" > "$tmp"
mv "$tmp" "$auth"
echo "auth.conf now serves NATS_PREFIX=$p" >&2
