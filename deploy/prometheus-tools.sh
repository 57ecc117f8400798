#!/usr/bin/env bash
# Makes `promtool` and `prometheus` available and prints the directory holding them:
#
#   bin="$(deploy/prometheus-tools.sh)"
#
# When both are on PATH, that directory. Otherwise Debian's `prometheus` package is
# fetched once with the ordinary apt client (`apt-get download`, no install, no
# service started) and unpacked with `dpkg-deb -x` into the gitignored
# .cache/prometheus/. Needs apt (CI runs as root; `apt-get update` first when the
# package lists are missing).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="$root/.cache/prometheus"
log() { echo "[prometheus-tools] $*" >&2; }

if command -v promtool > /dev/null && command -v prometheus > /dev/null; then
    dirname "$(command -v promtool)"
    exit 0
fi
if [ -x "$cache/usr/bin/promtool" ] && [ -x "$cache/usr/bin/prometheus" ]; then
    echo "$cache/usr/bin"
    exit 0
fi
command -v apt-get > /dev/null || { log "no promtool and no apt-get to fetch Debian's prometheus"; exit 1; }
mkdir -p "$cache/deb"
exec {lock}> "$cache/.lock"
flock "$lock"
if [ ! -x "$cache/usr/bin/promtool" ]; then
    if ! apt-cache show prometheus > /dev/null 2>&1; then
        log "apt-get update (package lists)"
        apt-get update -qq > "$cache/apt-update.log" 2>&1 || { cat "$cache/apt-update.log" >&2; exit 1; }
    fi
    log "fetching Debian's prometheus package"
    download() { (cd "$cache/deb" && rm -f ./*.deb && apt-get download prometheus > "$cache/apt-download.log" 2>&1); }
    if ! download; then
        log "apt-get update (stale package lists?) and one more try"
        apt-get update -qq > "$cache/apt-update.log" 2>&1 || { cat "$cache/apt-update.log" >&2; exit 1; }
        download || { cat "$cache/apt-download.log" >&2; exit 1; }
    fi
    dpkg-deb -x "$cache"/deb/prometheus_*.deb "$cache"
    rm -f "$cache"/deb/*.deb
fi
"$cache/usr/bin/promtool" --version 2>&1 | head -1 >&2
echo "$cache/usr/bin"
