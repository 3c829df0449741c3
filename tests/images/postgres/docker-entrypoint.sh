#!/bin/bash
# Entry point with the contract of the official postgres image that Testcontainers relies on:
# POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB on first start, bare "-c k=v" arguments
# are passed to postgres, the server listens on PGPORT (default 5432) on every address.
set -euo pipefail

# "docker run IMAGE -c fsync=off" means "postgres -c fsync=off".
if [ "$#" -eq 0 ] || [ "${1:0:1}" = '-' ]; then
    set -- postgres "$@"
fi

if [ "$1" != 'postgres' ]; then
    exec "$@"
fi

# Run the server as the postgres user; root only prepares the directories.
if [ "$(id -u)" = '0' ]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown -R postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 0700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
fi

export PGPORT="${PGPORT:-5432}"
POSTGRES_USER="${POSTGRES_USER:-postgres}"
POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    pwfile="$(mktemp)"
    printf '%s\n' "${POSTGRES_PASSWORD:-}" > "$pwfile"
    if [ -n "${POSTGRES_PASSWORD:-}" ]; then
        auth=scram-sha-256
        pwopt=(--pwfile="$pwfile")
    else
        # Without a password, like the official image with POSTGRES_HOST_AUTH_METHOD=trust.
        auth=trust
        pwopt=()
    fi
    initdb --username="$POSTGRES_USER" "${pwopt[@]}" --encoding=UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host="$auth" -D "$PGDATA" >/dev/null
    rm -f "$pwfile"
    printf 'host all all all %s\n' "$auth" >> "$PGDATA/pg_hba.conf"

    # A socket-only temporary server for the first-start work, so no client can connect
    # (and no readiness probe can succeed) before it is done.
    pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -k /var/run/postgresql" start >/dev/null
    psql_cmd=(psql -v ON_ERROR_STOP=1 --no-psqlrc -h /var/run/postgresql -U "$POSTGRES_USER" -d postgres -q)
    if [ "$POSTGRES_DB" != 'postgres' ]; then
        "${psql_cmd[@]}" -c "CREATE DATABASE \"$POSTGRES_DB\";"
    fi
    for f in /docker-entrypoint-initdb.d/*; do
        case "$f" in
            *.sql) "${psql_cmd[@]}" -d "$POSTGRES_DB" -f "$f" ;;
            *.sh) . "$f" ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    echo 'PostgreSQL init process complete; ready for start up.'
fi

# Defaults first: a later "-c" from the caller overrides them.
exec postgres -c listen_addresses='*' -k /var/run/postgresql "${@:2}"
