#!/usr/bin/env bash
# Make sure the Redis server binary (redis-server) is available for the rate-limit tests, which
# start a throwaway server of their own (tests/redisserver.py).
# Idempotent and silent when it is already present; otherwise installs Debian's `redis-server`.
set -euo pipefail

have_redis() {
    if [ -n "${HL_REDIS_SERVER:-}" ] && [ -x "${HL_REDIS_SERVER}" ]; then
        return 0
    fi
    command -v redis-server >/dev/null 2>&1
}

if have_redis; then
    exit 0
fi

. "$(dirname "$0")/apt_install.sh"
need_apt ensure_redis "install Redis (redis-server) or set HL_REDIS_SERVER to its path"
apt_install ensure_redis redis-server

if ! have_redis; then
    echo "ensure_redis: redis-server installed but still not found on PATH" >&2
    exit 1
fi
echo "ensure_redis: Redis ready" >&2
