#!/usr/bin/env bash
# LocalStack (S3 + SQS) in host mode: no Docker, no auth token, no network
# beyond loopback.
#
# Usage:
#   deploy/localstack/run-host.sh [start] [--port N]   start in the background, wait
#                                                      until S3 and SQS are up, print
#                                                      the endpoint and the pid
#   deploy/localstack/run-host.sh stop [--port N]      stop the one started on that port
#   deploy/localstack/run-host.sh status [--port N]    exit 0 when it is running and healthy
#   deploy/localstack/run-host.sh install              only create/update the venv
#   deploy/localstack/run-host.sh python               print the Python it would use
#
# Environment:
#   LOCALSTACK_PORT            gateway port on 127.0.0.1 (default 4566; --port wins)
#   LOCALSTACK_PYTHON          a Python >= 3.12 to use instead of searching for one
#   LOCALSTACK_VENV            venv location (default <repo>/.cache/localstack-venv)
#   LOCALSTACK_START_TIMEOUT   seconds to wait for health (default 120)
#
# The venv is installed from requirements.txt beside this script and reused
# until that file (or the Python) changes. Runtime state (pid, log, the
# FILESYSTEM_ROOT temp dir) lives in <repo>/.cache/localstack-run/<port>/.
#
# Exit codes: 0 ok, 1 failure (install, start, health timeout), 2 usage,
# 3 no Python >= 3.12 on this machine (callers may skip on 3 only).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
requirements="$here/requirements.txt"
venv="${LOCALSTACK_VENV:-$root/.cache/localstack-venv}"
port="${LOCALSTACK_PORT:-4566}"
start_timeout="${LOCALSTACK_START_TIMEOUT:-120}"
cmd="start"

log() { printf 'localstack: %s\n' "$*" >&2; }
die() { log "$2"; exit "$1"; }

while [ $# -gt 0 ]; do
    case "$1" in
        start|stop|status|install|python) cmd="$1" ;;
        --port) [ $# -ge 2 ] || die 2 "--port needs a value"; port="$2"; shift ;;
        --port=*) port="${1#--port=}" ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die 2 "unknown argument: $1 (try --help)" ;;
    esac
    shift
done
case "$port" in
    ''|*[!0-9]*) die 2 "port must be a number, got '$port'" ;;
esac

run_dir="$root/.cache/localstack-run/$port"
pid_file="$run_dir/pid"
log_file="$run_dir/localstack.log"
fs_file="$run_dir/filesystem-root"
endpoint="http://127.0.0.1:$port"

# --- Python >= 3.12 with a working venv module ------------------------------

usable_python() {
    # A pyenv shim of a version that is not selected exits non-zero here, so
    # running the candidate (rather than trusting `command -v`) is the test.
    "$1" -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 12) else 1)' \
        >/dev/null 2>&1
}

find_python() {
    local candidate
    if [ -n "${LOCALSTACK_PYTHON:-}" ]; then
        echo "$LOCALSTACK_PYTHON"; return 0
    fi
    # 3.12 first: the version requirements.txt was frozen with.
    for candidate in python3.12 python3.13 python3.14 python3; do
        if command -v "$candidate" >/dev/null 2>&1 && usable_python "$candidate"; then
            command -v "$candidate"; return 0
        fi
    done
    local pyenv_root="${PYENV_ROOT:-}"
    if [ -z "$pyenv_root" ] && command -v pyenv >/dev/null 2>&1; then
        pyenv_root="$(pyenv root 2>/dev/null || true)"
    fi
    [ -n "$pyenv_root" ] || pyenv_root="$HOME/.pyenv"
    for candidate in "$pyenv_root"/versions/3.12*/bin/python3 \
                     "$pyenv_root"/versions/3.13*/bin/python3 \
                     "$pyenv_root"/versions/3.14*/bin/python3; do
        if [ -x "$candidate" ] && usable_python "$candidate"; then
            echo "$candidate"; return 0
        fi
    done
    return 1
}

python_or_exit() {
    local py
    if [ -n "${LOCALSTACK_PYTHON:-}" ] && ! usable_python "$LOCALSTACK_PYTHON"; then
        die 2 "LOCALSTACK_PYTHON=$LOCALSTACK_PYTHON is not a Python >= 3.12 with the venv module"
    fi
    if ! py="$(find_python)"; then
        die 3 "no Python >= 3.12 (with venv) found: looked at LOCALSTACK_PYTHON, python3.12, python3.13, python3.14, python3 and pyenv versions; install one (e.g. 'pyenv install 3.12') or set LOCALSTACK_PYTHON"
    fi
    echo "$py"
}

# --- venv, reinstalled only when requirements.txt or the Python changes ------

ensure_venv() {
    local py="$1" py_version stamp
    py_version="$("$py" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
    stamp="$venv/.installed-$( { cat "$requirements"; echo "$py_version"; } | sha256sum | cut -c1-16)"
    [ -f "$stamp" ] && [ -x "$venv/bin/python" ] && return 0
    mkdir -p "$(dirname "$venv")"
    # One installer at a time (parallel test sessions share the venv).
    exec 9>"$venv.lock"
    if command -v flock >/dev/null 2>&1; then flock 9; fi
    if [ -f "$stamp" ] && [ -x "$venv/bin/python" ]; then exec 9>&-; return 0; fi
    log "installing LocalStack into $venv with $py ($py_version); takes a few minutes the first time"
    rm -rf "$venv"
    "$py" -m venv "$venv"
    if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            -r "$requirements" >"$venv.install.log" 2>&1; then
        grep -v 'is ignored: it is neither' "$venv.install.log" | tail -n 30 >&2 || true
        exec 9>&-
        die 1 "pip install -r $requirements failed (full log: $venv.install.log)"
    fi
    touch "$stamp"
    exec 9>&-
}

# --- process management -------------------------------------------------------

running_pid() {
    # The pid from the pid file, if that process is still our LocalStack.
    local pid
    [ -f "$pid_file" ] || return 1
    pid="$(cat "$pid_file")"
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'localstack.runtime.main' || return 1
    echo "$pid"
}

healthy() {
    # S3 and SQS "available" or "running" in /_localstack/health.
    "$venv/bin/python" - "$endpoint" <<'PY' >/dev/null 2>&1
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + "/_localstack/health", timeout=2) as r:
    services = json.load(r)["services"]
ok = {"available", "running"}
sys.exit(0 if services.get("s3") in ok and services.get("sqs") in ok else 1)
PY
}

port_free() {
    "$venv/bin/python" - "$port" <<'PY' >/dev/null 2>&1
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.close()
PY
}

stop() {
    local pid fs
    if pid="$(running_pid)"; then
        # LocalStack shuts down on SIGTERM within a few seconds; escalate after 20.
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 40); do
            [ -d "/proc/$pid" ] || break
            sleep 0.5
        done
        if [ -d "/proc/$pid" ]; then
            log "pid $pid ignored SIGTERM for 20 s; sending SIGKILL"
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        fi
        log "stopped pid $pid on port $port"
    else
        log "not running on port $port"
    fi
    if [ -f "$fs_file" ]; then
        fs="$(cat "$fs_file")"
        case "$fs" in */localstack-fs.*) rm -rf "$fs" ;; esac
    fi
    rm -f "$pid_file" "$fs_file"
}

start() {
    local py pid fs started
    py="$(python_or_exit)"
    ensure_venv "$py"
    mkdir -p "$run_dir"
    if pid="$(running_pid)"; then
        if healthy; then
            log "already running"
            echo "endpoint=$endpoint pid=$pid"
            return 0
        fi
        die 1 "pid $pid is running on port $port but not healthy; run '$0 stop --port $port'"
    fi
    port_free || die 1 "port $port on 127.0.0.1 is in use by something else"
    fs="$(mktemp -d "${TMPDIR:-/tmp}/localstack-fs.XXXXXX")"
    echo "$fs" >"$fs_file"
    # Offline and quiet: no DNS server, no analytics, no certificate or
    # infrastructure downloads, no persistence, no auth token; queue URLs name
    # 127.0.0.1 (not *.localhost.localstack.cloud, which needs public DNS).
    (
        cd "$fs"
        unset LOCALSTACK_AUTH_TOKEN LOCALSTACK_API_KEY AWS_ENDPOINT_URL
        export SERVICES=s3,sqs \
            EAGER_SERVICE_LOADING=1 \
            GATEWAY_LISTEN="127.0.0.1:$port" \
            LOCALSTACK_HOST="127.0.0.1:$port" \
            SQS_ENDPOINT_STRATEGY=path \
            DNS_ADDRESS=0 \
            DISABLE_EVENTS=1 \
            SKIP_SSL_CERT_DOWNLOAD=1 \
            PERSISTENCE=0 \
            ACTIVATE_PRO=0 \
            DEBUG=0 \
            LS_LOG="${LS_LOG:-info}" \
            FILESYSTEM_ROOT="$fs"
        exec setsid "$venv/bin/python" -m localstack.runtime.main </dev/null >"$log_file" 2>&1
    ) &
    pid=$!
    echo "$pid" >"$pid_file"
    started=$SECONDS
    while ! healthy; do
        if [ ! -d "/proc/$pid" ]; then
            tail -n 30 "$log_file" >&2 || true
            rm -f "$pid_file"
            die 1 "LocalStack exited during startup (log: $log_file)"
        fi
        if [ $((SECONDS - started)) -ge "$start_timeout" ]; then
            tail -n 30 "$log_file" >&2 || true
            stop
            die 1 "S3 and SQS not healthy after ${start_timeout}s (log: $log_file)"
        fi
        sleep 0.5
    done
    log "ready after $((SECONDS - started)) s (log: $log_file)"
    echo "endpoint=$endpoint pid=$pid"
}

case "$cmd" in
    python) python_or_exit ;;
    install) py="$(python_or_exit)"; ensure_venv "$py"; log "venv ready: $venv" ;;
    stop) stop ;;
    status)
        running_pid >/dev/null && [ -x "$venv/bin/python" ] && healthy \
            && { echo "endpoint=$endpoint pid=$(running_pid)"; exit 0; }
        die 1 "not running (healthy) on port $port"
        ;;
    start) start ;;
esac
