#!/bin/sh
# Starts nats-server with Ferry's configuration (nats.conf beside this script), after
# checking every password the configuration refers to: nats-server itself would accept
# an empty one, and then anyone could log in as that user.
#
#   NATS_MONITOR_PASSWORD=… … sh start.sh [nats-server flags, e.g. -p 4222 -sd /data]
#
# TLS for clients, when NATS_SERVER_TLS_CERT and NATS_SERVER_TLS_KEY name PEM files;
# with NATS_SERVER_TLS_CA too, clients must also present a certificate signed by it.
# NATS_STORE_DIR is JetStream's folder (default /data); NATS_SERVER_BIN the binary
# (default: nats-server on PATH).
set -eu

dir=$(cd "$(dirname "$0")" && pwd)
conf="$dir/nats.conf"

missing=0
# Each `password: $NAME` in the configuration files of this folder.
for name in $(sed -n 's/^[[:space:]]*password:[[:space:]]*\$\([A-Za-z_][A-Za-z0-9_]*\).*/\1/p' "$dir"/*.conf | sort -u); do
  value=$(printenv "$name" || true)
  if [ -z "$value" ]; then
    echo "start.sh: $name is not set (a NATS user's password; see docs/deployment.md)" >&2
    missing=1
  elif ! printf '%s' "$value" | grep -Eq '^[A-Za-z][A-Za-z0-9_]{15,}$'; then
    echo "start.sh: $name must be 16 or more letters, digits or _ and start with a letter (e.g. p\$(openssl rand -hex 20))" >&2
    missing=1
  fi
done
[ "$missing" -eq 0 ] || exit 78

set -- -c "$conf" -sd "${NATS_STORE_DIR:-/data}" "$@"
if [ -n "${NATS_SERVER_TLS_CERT:-}" ] || [ -n "${NATS_SERVER_TLS_KEY:-}" ]; then
  if [ -z "${NATS_SERVER_TLS_CERT:-}" ] || [ -z "${NATS_SERVER_TLS_KEY:-}" ]; then
    echo "start.sh: NATS_SERVER_TLS_CERT and NATS_SERVER_TLS_KEY go together" >&2
    exit 78
  fi
  set -- "$@" --tls --tlscert "$NATS_SERVER_TLS_CERT" --tlskey "$NATS_SERVER_TLS_KEY"
  if [ -n "${NATS_SERVER_TLS_CA:-}" ]; then
    set -- "$@" --tlsverify --tlscacert "$NATS_SERVER_TLS_CA"
  fi
fi

exec "${NATS_SERVER_BIN:-nats-server}" "$@"
