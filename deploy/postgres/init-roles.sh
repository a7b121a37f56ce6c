#!/bin/sh
# Creates or updates Ferry's PostgreSQL roles (roles.sql) with passwords from the
# environment: POSTGRES_MONITOR_PASSWORD, POSTGRES_GATEWAY_PASSWORD, POSTGRES_SCHEDULER_PASSWORD.
# The Compose postgres service runs it at its first start (/docker-entrypoint-initdb.d);
# run it again after changing a password, or to add the roles to an existing database:
#   docker compose exec postgres /docker-entrypoint-initdb.d/10-ferry-roles.sh
# psql connects as POSTGRES_USER to POSTGRES_DB (PGHOST, PGPORT and friends apply).
set -eu
dir=${FERRY_SQL_DIR:-$(cd "$(dirname "$0")" && pwd)}
for name in POSTGRES_MONITOR_PASSWORD POSTGRES_GATEWAY_PASSWORD POSTGRES_SCHEDULER_PASSWORD; do
  if [ -z "$(printenv "$name" || true)" ]; then
    echo "init-roles.sh: $name is not set: Ferry's database roles were not created (docs/deployment.md)" >&2
    exit 78
  fi
done
psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet \
  --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
  -v monitor_password="$POSTGRES_MONITOR_PASSWORD" \
  -v gateway_password="$POSTGRES_GATEWAY_PASSWORD" \
  -v scheduler_password="$POSTGRES_SCHEDULER_PASSWORD" \
  -f "$dir/roles.sql"
echo "init-roles.sh: roles ferry_monitor, ferry_gateway and ferry_scheduler are ready"
