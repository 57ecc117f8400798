#!/usr/bin/env bash
# Creates (once) the gitignored CI tools venv .cache/tools-venv from the pinned
# deploy/tools-requirements.txt and prints its path. Sourced or run by the other
# deploy/ scripts; the project's own .venv is never touched.
set -euo pipefail
tools_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_venv="$tools_root/.cache/tools-venv"
tools_stamp="$tools_venv/.installed-$(sha256sum "$tools_root/deploy/tools-requirements.txt" | cut -c1-16)"
if [ ! -f "$tools_stamp" ]; then
    "${PYTHON:-python3}" -m venv "$tools_venv"
    "$tools_venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        -r "$tools_root/deploy/tools-requirements.txt"
    touch "$tools_stamp"
fi
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    echo "$tools_venv"
fi
