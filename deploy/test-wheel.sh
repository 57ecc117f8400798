#!/usr/bin/env bash
# Proves the wheel a user would install: `python -m build` (with the pinned backend of
# requirements/build.txt), then a fresh venv with only the runtime lock (hashes
# required) and that wheel, and the console scripts run from it.
#
#   deploy/test-wheel.sh      (after scripts/bootstrap, which installs `build`)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$root/.cache/wheel"
started=$SECONDS
log() { printf '[test-wheel %3ss] %s\n' "$((SECONDS - started))" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }
cd "$root"
rm -rf "$work" && mkdir -p "$work"
.venv/bin/python -m build --wheel --no-isolation --outdir "$work/dist" . > "$work/build.log" 2>&1 \
    || { tail -n 30 "$work/build.log" >&2; die "python -m build"; }
wheel="$(ls "$work"/dist/*.whl)"
log "built $(basename "$wheel")"
"${PYTHON:-python3}" -m venv "$work/venv"
pip=("$work/venv/bin/python" -m pip --quiet --disable-pip-version-check)
"${pip[@]}" install --require-hashes --no-deps -r requirements/runtime.txt > "$work/pip.log" 2>&1 \
    || { cat "$work/pip.log" >&2; die "pip install -r requirements/runtime.txt"; }
"${pip[@]}" install --no-deps "$wheel" >> "$work/pip.log" 2>&1 || { cat "$work/pip.log" >&2; die "pip install wheel"; }
"${pip[@]}" check || die "pip check: the runtime lock does not satisfy the wheel's dependencies"
bin="$work/venv/bin"
log "watcher --version: $("$bin/watcher" --version)"
"$bin/watcher" check --config config.toml > "$work/check.out" 2>&1 \
    || { cat "$work/check.out" >&2; die "watcher check --config config.toml"; }
log "watcher check --config config.toml: ok"
"$bin/cloudfront-watcher" --help > "$work/help.out" || die "cloudfront-watcher --help"
grep -q "exit codes" "$work/help.out" || die "cloudfront-watcher --help names no exit codes"
log "cloudfront-watcher --help: ok"
if "$bin/python" -c 'import moto' 2> /dev/null; then
    die "moto (a demo/dev extra) came with the runtime lock"
fi
if "$bin/python" -c 'import rich' 2> /dev/null; then
    die "rich (the progress extra) came with the runtime lock"
fi
"$bin/python" -c 'import sys, watcher.cli, watcher.app; sys.exit("rich" in sys.modules)' \
    || die "the daemon's modules loaded rich"
log "no rich in the runtime: ok"
log "PASS ($((SECONDS - started))s)"
