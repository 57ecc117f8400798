#!/usr/bin/env bash
# Creates (once) the gitignored CI tools venv .cache/tools-venv from the pinned
# deploy/tools-requirements.txt and prints its path. Sourced or run by the other
# deploy/ scripts; the project's own .venv is never touched.
set -euo pipefail
tools_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_venv="$tools_root/.cache/tools-venv"
tools_stamp="$tools_venv/.installed-$(sha256sum "$tools_root/deploy/tools-requirements.txt" | cut -c1-16)"
mkdir -p "$tools_root/.cache"
# Serialised: helm-check.sh and test-image.sh may start at the same time.
exec {tools_lock}> "$tools_root/.cache/tools-venv.lock"
flock "$tools_lock"
if [ ! -f "$tools_stamp" ]; then
    "${PYTHON:-python3}" -m venv "$tools_venv"
    "$tools_venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        -r "$tools_root/deploy/tools-requirements.txt" > "$tools_venv/pip.log" 2>&1 \
        || { cat "$tools_venv/pip.log" >&2; exit 1; }
    touch "$tools_stamp"
fi
flock -u "$tools_lock"
exec {tools_lock}>&-
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    echo "$tools_venv"
fi
