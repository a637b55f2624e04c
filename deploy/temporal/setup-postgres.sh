#!/bin/sh
# Create Temporal's two PostgreSQL databases and bring their schemas up to date with the
# server release's own tool (temporal-sql-tool, in temporalio/admin-tools), as Temporal's
# compose files do now that temporalio/auto-setup is deprecated. Safe to run again: an
# existing database and base schema are kept, and update-schema applies only what is missing.
set -eu
SCHEMA=/etc/temporal/schema/postgresql/v12

setup() {  # setup DATABASE SCHEMA_DIR
    sql="temporal-sql-tool --plugin postgres12 --ep ${POSTGRES_SEEDS} -u ${POSTGRES_USER} -p ${DB_PORT} --db $1"
    echo "schema: $1"
    $sql create || echo "schema: database $1 exists"
    $sql setup-schema -v 0.0 || echo "schema: $1 has its base schema"
    $sql update-schema -d "$2"
}

setup temporal "$SCHEMA/temporal/versioned"
setup temporal_visibility "$SCHEMA/visibility/versioned"
echo "schema: done"
