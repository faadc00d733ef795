#!/usr/bin/env bash
# Make sure the PostgreSQL server binaries (initdb, pg_ctl, postgres) are available for the
# storage tests, which start a throwaway cluster of their own (tests/pgcluster.py).
# Idempotent and silent when they are already present; otherwise installs Debian's `postgresql`
# (without creating or starting the distribution's default cluster).
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

. "$(dirname "$0")/apt_install.sh"
need_apt ensure_postgres "install PostgreSQL (initdb, pg_ctl, postgres) or set HL_PG_BIN to their directory"
# The tests run their own throwaway cluster: do not create the packaged one.
$SUDO mkdir -p /etc/postgresql-common/createcluster.d
echo "create_main_cluster = false" | $SUDO tee /etc/postgresql-common/createcluster.d/hyperliquid-tests.conf >/dev/null
apt_install ensure_postgres postgresql

if ! have_pg; then
    echo "ensure_postgres: postgresql installed but initdb/pg_ctl still not found" >&2
    exit 1
fi
echo "ensure_postgres: PostgreSQL ready" >&2
