#!/usr/bin/env bash
# Builds what a release publishes, the way .github/workflows/release.yml does, and checks
# each piece; the image is deploy/test-image.sh's.
#
#   deploy/release-artifacts.sh                  (after scripts/bootstrap)
#   RELEASE_TAG=v1.0.0 deploy/release-artifacts.sh   (the release workflow: the tag must match)
#
# Into .cache/release/ (RELEASE_OUT overrides it):
#   dist/                          the sdist and the wheel built from it (the Python package index)
#   cloudfront-watcher-V.cdx.json  CycloneDX SBOM of the runtime venv: the runtime lock plus the
#                                  wheel, installed without pip as the image's /opt/venv is
#   cloudfront-watcher-V.tgz       the chart (`helm package`), pushed as an OCI artifact
#   release-notes.md               the CHANGELOG.md section, the GitHub release's text
# helm is the one deploy/helm-check.sh fetches (run first, once, if it is missing).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${RELEASE_OUT:-$root/.cache/release}"
started=$SECONDS
log() { printf '[release-artifacts %3ss] %s\n' "$((SECONDS - started))" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }
cd "$root"
tag_args=()
[ -z "${RELEASE_TAG:-}" ] || tag_args=(--tag "$RELEASE_TAG")

# --- 0. one version everywhere ---------------------------------------------------------
python3 deploy/release.py check "${tag_args[@]}" || die "the version does not agree (above)"
version="$(python3 deploy/release.py version)"
rm -rf "$out" && mkdir -p "$out"
log "release $version${RELEASE_TAG:+ (tag $RELEASE_TAG)} -> $out"

# --- 1. sdist, and the wheel built from that sdist -----------------------------------------
# python -m build builds the wheel from the unpacked sdist: a file missing from the sdist
# fails here, not on a user's machine. The pinned backend, no build isolation (as the image).
.venv/bin/python -m build --no-isolation --outdir "$out/dist" . > "$out/build.log" 2>&1 \
    || { tail -n 30 "$out/build.log" >&2; die "python -m build"; }
sdist="$out/dist/cloudfront_watcher-$version.tar.gz"
wheel="$out/dist/cloudfront_watcher-$version-py3-none-any.whl"
[ -f "$sdist" ] && [ -f "$wheel" ] || die "want $(basename "$sdist") and $(basename "$wheel"), got: $(ls "$out/dist")"
[ "$(find "$out/dist" -type f | wc -l)" -eq 2 ] || die "more than the sdist and the wheel in dist/: $(ls "$out/dist")"
# (grep reads a variable, not a pipe: grep -q ends early, and pipefail would count tar's SIGPIPE.)
listing="$(tar -tzf "$sdist")"
grep -qx "cloudfront_watcher-$version/CHANGELOG.md" <<< "$listing" || die "the sdist lacks CHANGELOG.md"
metadata="$(unzip -p "$wheel" "cloudfront_watcher-$version.dist-info/METADATA")"
grep -qx "Version: $version" <<< "$metadata" || die "the wheel's METADATA does not say Version: $version"
log "built $(basename "$sdist") and $(basename "$wheel")"

# --- 2. SBOM of the runtime venv -----------------------------------------------------------------
# shellcheck source=deploy/tools-venv.sh
source "$root/deploy/tools-venv.sh"
venv="$out/venv"
python3 -m venv --without-pip "$venv"
pip=("$tools_venv/bin/python" -m pip --python "$venv/bin/python" --quiet --disable-pip-version-check)
"${pip[@]}" install --require-hashes --no-deps -r requirements/runtime.txt > "$out/pip.log" 2>&1 \
    || { cat "$out/pip.log" >&2; die "pip install -r requirements/runtime.txt"; }
"${pip[@]}" install --no-deps "$wheel" >> "$out/pip.log" 2>&1 || { cat "$out/pip.log" >&2; die "pip install the wheel"; }
"${pip[@]}" check || die "pip check: the runtime lock does not satisfy the wheel's dependencies"
sbom="$out/cloudfront-watcher-$version.cdx.json"
# --output-reproducible: no serial number or timestamp, so the same inputs give the same file.
"$tools_venv/bin/cyclonedx-py" environment --pyproject pyproject.toml --mc-type application \
    --output-reproducible --output-format JSON --output-file "$sbom" "$venv/bin/python" \
    > "$out/sbom.log" 2>&1 || { cat "$out/sbom.log" >&2; die "cyclonedx-py environment"; }
"$tools_venv/bin/python" - "$sbom" "$version" requirements/runtime.txt << 'PY' || die "the SBOM is not the runtime venv's"
import json
import re
import sys

from packaging.markers import Marker

sbom_path, version, lock = sys.argv[1:]
sbom = json.load(open(sbom_path))
root = sbom["metadata"]["component"]
assert (root["name"], root["version"]) == ("cloudfront-watcher", version), root
found = {c["name"].lower().replace("_", "-"): c for c in sbom["components"]}
# The lock is universal: a pin whose environment marker is false here is not installed.
lines = re.findall(r"^([A-Za-z0-9_.-]+)==([^\s;]+)(?: ; ([^\\\n]+))?", open(lock).read(), re.MULTILINE)
pins = {name.lower().replace("_", "-"): v for name, v, marker in lines if not marker or Marker(marker).evaluate()}
missing = sorted(set(pins) - set(found))
assert not missing, f"locked but not in the SBOM: {missing}"
wrong = {n: (found[n]["version"], v) for n, v in pins.items() if found[n]["version"] != v}
assert not wrong, f"SBOM version != lock: {wrong}"
for name in ("pip", "setuptools", "moto", "pytest"):
    assert name not in found, f"{name} is in the SBOM of the runtime venv"
assert all(c.get("purl", "").startswith("pkg:pypi/") for c in found.values())
print(f"{len(found)} components, each pinned by requirements/runtime.txt")
PY
log "SBOM $(basename "$sbom") (CycloneDX $(jq -r .specVersion "$sbom" 2> /dev/null || echo JSON))"

# --- 3. the chart package ----------------------------------------------------------------------
helm="$root/.cache/helm/v3/helm"
[ -x "$helm" ] || "$root/deploy/helm-check.sh" > "$out/helm-check.log" 2>&1 \
    || { tail -n 20 "$out/helm-check.log" >&2; die "deploy/helm-check.sh (fetches helm)"; }
"$helm" package helm/cloudfront-watcher --destination "$out" > /dev/null || die "helm package"
chart="$out/cloudfront-watcher-$version.tgz"
[ -f "$chart" ] || die "helm package made $(ls "$out"/*.tgz), want $(basename "$chart")"
chart_yaml="$("$helm" show chart "$chart")"
grep -qx "appVersion: \"\{0,1\}$version\"\{0,1\}" <<< "$chart_yaml" || die "the packaged chart's appVersion is not $version"
grep -qx "version: $version" <<< "$chart_yaml" || die "the packaged chart's version is not $version"
"$helm" lint --strict "$chart" -f helm/cloudfront-watcher/ci/sqs-values.yaml > "$out/lint.log" 2>&1 \
    || { cat "$out/lint.log" >&2; die "helm lint --strict of the package"; }
rendered="$("$helm" template cfw "$chart" -f helm/cloudfront-watcher/ci/sqs-values.yaml)"
image="$(sed -n 's/^ *image: "\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' <<< "$rendered" | head -n1)"
[[ "$image" == *":$version" || "$image" == *"@sha256:"* ]] || die "the packaged chart runs image '$image', not $version"
log "chart $(basename "$chart"): appVersion $version, image $image"

# --- 4. the release's text -------------------------------------------------------------------------
python3 deploy/release.py notes "${tag_args[@]}" > "$out/release-notes.md"
[ -s "$out/release-notes.md" ] || die "CHANGELOG.md has no text for $version"
log "release notes: $(wc -l < "$out/release-notes.md") lines from CHANGELOG.md"
rm -rf "$venv"
log "PASS ($((SECONDS - started))s): $(cd "$out" && find . -type f ! -name '*.log' | sort | tr '\n' ' ')"
