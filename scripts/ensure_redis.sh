#!/usr/bin/env bash
# Make sure the Redis server binary (redis-server) is available for the rate-limit tests, which
# start a throwaway server of their own (tests/redisserver.py).
# Idempotent and silent when it is already present; otherwise installs Debian's `redis-server`
# with apt-get and keeps the distribution's own service from running.
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

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_redis: redis-server not found and apt-get is unavailable;" >&2
    echo "install Redis (redis-server) or set HL_REDIS_SERVER to its path." >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "ensure_redis: need root (or sudo) to install the redis-server package" >&2
        exit 1
    fi
fi

echo "ensure_redis: installing Redis (Debian package 'redis-server')..." >&2
export DEBIAN_FRONTEND=noninteractive
# The tests run their own throwaway server: keep the packaged service from starting.
POLICY=/usr/sbin/policy-rc.d
CREATED_POLICY=0
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
    $SUDO chmod +x "$POLICY"
    CREATED_POLICY=1
fi
cleanup() {
    if [ "$CREATED_POLICY" -eq 1 ]; then
        $SUDO rm -f "$POLICY"
    fi
}
trap cleanup EXIT
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends redis-server >/dev/null

if ! have_redis; then
    echo "ensure_redis: redis-server installed but still not found on PATH" >&2
    exit 1
fi
echo "ensure_redis: Redis ready" >&2
