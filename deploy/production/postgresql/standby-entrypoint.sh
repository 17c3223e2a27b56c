#!/usr/bin/env bash
# The standby's start: on an empty data folder, copy the primary (pg_basebackup -R writes standby.signal and
# primary_conninfo), then run the server; it streams from the primary and answers read-only queries (hot standby).
set -Eeuo pipefail
: "${POSTGRES_REPLICATION_USER:=replicator}"
: "${POSTGRES_PRIMARY_HOST:=postgres-primary}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready -h "$POSTGRES_PRIMARY_HOST" -q; do sleep 1; done
  PGPASSWORD="$POSTGRES_REPLICATION_PASSWORD" pg_basebackup -h "$POSTGRES_PRIMARY_HOST" -U "$POSTGRES_REPLICATION_USER" \
    -D "$PGDATA" -R -X stream -c fast
  chmod 0700 "$PGDATA"
fi
exec postgres -c hot_standby=on
