# Sourced by scripts/ensure_postgres.sh and scripts/ensure_redis.sh: the Debian install they share.
# The tests start throwaway servers of their own, so the packaged services are never started.

# need_apt WHO HINT: exit 1 (saying HINT) unless apt-get is there and can run as root (directly or
# through sudo); sets SUDO.
need_apt() {
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "$1: not found and apt-get is unavailable; $2." >&2
        exit 1
    fi
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        if ! command -v sudo >/dev/null 2>&1; then
            echo "$1: need root (or sudo) to install Debian packages; $2." >&2
            exit 1
        fi
        SUDO="sudo"
    fi
}

# apt_install WHO PACKAGE...: install the packages (after need_apt) without starting their services.
apt_install() {
    local who="$1" policy=/usr/sbin/policy-rc.d created=0 status=0
    shift
    echo "$who: installing Debian package(s) $*..." >&2
    if [ ! -e "$policy" ]; then  # invoke-rc.d asks it: "101" = do not start anything
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
        $SUDO chmod +x "$policy"
        created=1
    fi
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null ||
        status=$?
    if [ "$created" -eq 1 ]; then
        $SUDO rm -f "$policy"
    fi
    return "$status"
}
