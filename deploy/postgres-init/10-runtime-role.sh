#!/bin/sh
# First start of the database only: the role the portal runs as. It owns nothing; the
# migrate service (running as the owner) grants it rows, never DDL (python -m portal migrate
# with DATABASE_RUNTIME_ROLE). Password via a psql variable, so any character is safe.
set -eu
echo "CREATE ROLE portal_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'pw';" |
  psql -v ON_ERROR_STOP=1 -v pw="$PORTAL_APP_DB_PASSWORD" --username "$POSTGRES_USER" --dbname "$POSTGRES_DB"
