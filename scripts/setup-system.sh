#!/usr/bin/env bash
# System packages and services the test suite talks to for real.
# Installs what is missing when run as root (Debian/Ubuntu); otherwise says what to do.
set -euo pipefail

need_apt=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need_apt+=(mosquitto mosquitto-clients)
command -v mosquitto_passwd >/dev/null 2>&1 || need_apt+=(mosquitto-clients)
command -v pg_ctlcluster >/dev/null 2>&1 || command -v psql >/dev/null 2>&1 || need_apt+=(postgresql)
for extra in "$@"; do
    case "$extra" in
        chromium)
            command -v chromium >/dev/null 2>&1 || [ -x /usr/lib/chromium/chromium ] || need_apt+=(chromium)
            dpkg -s fonts-thai-tlwg >/dev/null 2>&1 || need_apt+=(fonts-thai-tlwg) ;;
    esac
done

if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing system packages: ${need_apt[*]}" >&2
        echo "run as root, or: sudo apt-get install -y ${need_apt[*]}" >&2
        exit 1
    fi
    echo "installing: ${need_apt[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_apt[@]}" >/dev/null \
        || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_apt[@]}" >/dev/null; }
fi

# PostgreSQL: tests create their own throwaway databases on this server.
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
        version=$(ls /etc/postgresql | sort -V | tail -n 1)
        pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
        for _ in $(seq 1 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
    fi
    pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not running on 127.0.0.1:5432" >&2; exit 1; }
fi
