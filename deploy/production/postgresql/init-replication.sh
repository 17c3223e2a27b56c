#!/usr/bin/env bash
# Run once by the postgres image on the primary's first start: the user the standby streams as.
set -Eeuo pipefail
: "${POSTGRES_REPLICATION_USER:=replicator}"
psql -v ON_ERROR_STOP=1 -v user="$POSTGRES_REPLICATION_USER" -v password="$POSTGRES_REPLICATION_PASSWORD" \
  --username "$POSTGRES_USER" --dbname postgres <<'SQL'
create role :"user" with replication login password :'password';
SQL
# The image's pg_hba.conf allows "host all all all scram-sha-256" but not replication connections.
echo "host replication $POSTGRES_REPLICATION_USER all scram-sha-256" >> "$PGDATA/pg_hba.conf"
