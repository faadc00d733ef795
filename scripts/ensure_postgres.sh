#!/usr/bin/env bash
# Make sure the PostgreSQL server binaries (initdb, pg_ctl, postgres) are available for the
# storage tests, which start a throwaway cluster of their own (tests/pgcluster.py).
# Idempotent and silent when they are already present; otherwise installs Debian's `postgresql`
# with apt-get (without creating or starting the distribution's default cluster).
set -euo pipefail

have_pg() {
    if [ -n "${HL_PG_BIN:-}" ] && [ -x "${HL_PG_BIN}/initdb" ]; then
        return 0
    fi
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        return 0
    fi
    for d in /usr/lib/postgresql/*/bin; do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
            return 0
        fi
    done
    return 1
}

if have_pg; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_postgres: PostgreSQL server binaries not found and apt-get is unavailable;" >&2
    echo "install PostgreSQL (initdb, pg_ctl, postgres) or set HL_PG_BIN to their directory." >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "ensure_postgres: need root (or sudo) to install the postgresql package" >&2
        exit 1
    fi
fi

echo "ensure_postgres: installing PostgreSQL (Debian package 'postgresql')..." >&2
# The tests run their own throwaway cluster: do not create or start the packaged one.
$SUDO mkdir -p /etc/postgresql-common/createcluster.d
echo "create_main_cluster = false" | $SUDO tee /etc/postgresql-common/createcluster.d/hyperliquid-tests.conf >/dev/null
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null

if ! have_pg; then
    echo "ensure_postgres: postgresql installed but initdb/pg_ctl still not found" >&2
    exit 1
fi
echo "ensure_postgres: PostgreSQL ready" >&2
