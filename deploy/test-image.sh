#!/usr/bin/env bash
# Proves the container image: hadolint on the Dockerfile, then a real build and
# a run of the built image, on a machine without a Docker engine.
#
#   deploy/test-image.sh            (as root on Debian; installs what it needs)
#
# How, and why this way:
# - `podman build --isolation chroot` works without a container runtime or
#   daemon, but it cannot pull here, so the base image is built locally: a
#   minimal Debian rootfs from debootstrap (python3 + venv + CA certificates),
#   cached as a tarball under .cache/image/ and `podman import`ed. Debian's
#   bookworm ships Python 3.11, the project's floor (DEBIAN_SUITE overrides it).
#   The Debian mirror is the one this host's apt already uses (DEBIAN_MIRROR
#   overrides it).
# - pip inside the build must reach the same package index as pip on the host:
#   the host's pip configuration (config files and PIP_* variables) is merged
#   into one pip.conf that is bind-mounted for the build's RUN steps only, with
#   the host CA bundle and any local wheel/index folders it names. Nothing of
#   it ends up in the image (the runtime stage has no RUN step).
# - `podman run` does not work here; `buildah run --isolation chroot` does, so
#   the image is run through a buildah working container.
#
# Environment: IMAGE (tag to build, default localhost/cloudfront-watcher:test),
# DEBIAN_SUITE, DEBIAN_MIRROR, KEEP_IMAGE=1 to keep the working container.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cache="$root/.cache/image"
suite="${DEBIAN_SUITE:-bookworm}"
base_tag="localhost/cloudfront-watcher-base:$suite"
image="${IMAGE:-localhost/cloudfront-watcher:test}"
started=$SECONDS

log() { printf '[test-image %3ss] %s\n' "$((SECONDS - started))" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

# --- 0. tools ----------------------------------------------------------------
missing=()
for tool in podman buildah debootstrap; do
    command -v "$tool" > /dev/null || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
    [ "$(id -u)" -eq 0 ] || die "missing ${missing[*]} and not root: apt-get install ${missing[*]}"
    log "installing ${missing[*]} with apt-get"
    apt-get update -q > /dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" > /dev/null
fi
[ "$(id -u)" -eq 0 ] || die "debootstrap and chroot isolation need root"

# --- 1. hadolint ---------------------------------------------------------------
# shellcheck source=deploy/tools-venv.sh
source "$root/deploy/tools-venv.sh"
t0=$SECONDS
"$tools_venv/bin/hadolint" "$root/Dockerfile"
log "hadolint Dockerfile: clean ($((SECONDS - t0))s)"

# --- 2. base image: debootstrap rootfs, cached --------------------------------
debian_mirror() {
    if [ -n "${DEBIAN_MIRROR:-}" ]; then
        echo "$DEBIAN_MIRROR"
        return
    fi
    local uri
    # shellcheck disable=SC2016 # $(REPO_URI) is apt's format field, not a command
    uri="$(apt-get indextargets --format '$(REPO_URI)' "Release: $suite" \
        'Identifier: Packages' 'Component: main' 2> /dev/null | head -n1)"
    if [ -z "$uri" ]; then
        # No downloaded lists: read the sources themselves (deb822, then one-line).
        uri="$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | grep -v security \
            | awk '{print $2; exit}')"
    fi
    if [ -z "$uri" ]; then
        uri="$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
            | grep -v security | awk '{print $2; exit}')"
    fi
    [ -n "$uri" ] || die "no Debian mirror in this host's apt sources; set DEBIAN_MIRROR"
    echo "$uri"
}

mkdir -p "$cache"
tarball="$cache/debian-$suite-python3.tar"
if [ ! -s "$tarball" ]; then
    mirror="$(debian_mirror)"
    rootfs="$cache/rootfs-$suite"
    rm -rf "$rootfs"
    log "debootstrap $suite (minbase + python3, python3-venv, ca-certificates)"
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
        "$suite" "$rootfs" "$mirror" > "$cache/debootstrap.log" 2>&1 \
        || { tail -n 20 "$cache/debootstrap.log" >&2; die "debootstrap failed"; }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar --numeric-owner -C "$rootfs" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$rootfs"
    log "base rootfs cached: $tarball ($(du -h "$tarball" | cut -f1))"
fi
stamp="$cache/base-imported"
if ! podman image exists "$base_tag" || [ "$tarball" -nt "$stamp" ]; then
    podman import --quiet \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["python3"]' \
        "$tarball" "$base_tag" > /dev/null
    touch "$stamp"
fi
log "base image $base_tag: $(podman image inspect --format '{{.Id}}' "$base_tag" | cut -c1-12)"

# --- 3. pip settings for the build, mirrored from the host ---------------------
pipdir="$cache/pip-build"
mkdir -p "$pipdir"
mapfile -t pip_mounts < <(
    "$tools_venv/bin/python" - "$pipdir" << 'PY'
import configparser
import os
import sys
from pathlib import Path

out = Path(sys.argv[1])
files = ["/etc/xdg/pip/pip.conf", "/etc/pip.conf",
         os.path.expanduser("~/.pip/pip.conf"), os.path.expanduser("~/.config/pip/pip.conf")]
if os.environ.get("PIP_CONFIG_FILE"):
    files.append(os.environ["PIP_CONFIG_FILE"])
conf = configparser.RawConfigParser()
conf.read(files)
if not conf.has_section("global"):
    conf.add_section("global")
# Environment beats files, as in pip itself.
for name, value in os.environ.items():
    if name.startswith("PIP_") and name != "PIP_CONFIG_FILE":
        conf.set("global", name[4:].lower().replace("_", "-"), value)
cert = (conf.get("global", "cert", fallback="") or os.environ.get("SSL_CERT_FILE")
        or "/etc/ssl/certs/ca-certificates.crt")
conf.set("global", "cert", "/etc/pip-build-ca.crt")
print(f"{os.path.realpath(cert)}:/etc/pip-build-ca.crt:ro")
# Local folders and files the settings name (find-links, file:// indexes,
# constraints) are mounted at the same path, read-only.
seen = set()
for section in conf.sections():
    for key, value in conf.items(section):
        if key == "cert":
            continue
        for token in value.split():
            path = token.removeprefix("file://").rstrip("/")
            if key.endswith("index-url") and token.startswith("file://"):
                # A local simple index links its files relatively (../files/...).
                path = os.path.dirname(path)
            if path.startswith("/") and os.path.exists(path) and path not in seen:
                seen.add(path)
                print(f"{path}:{path}:ro")
with (out / "pip.conf").open("w") as handle:
    conf.write(handle)
PY
)
volumes=(-v "$pipdir/pip.conf:/etc/pip.conf:ro")
for mount in "${pip_mounts[@]}"; do
    volumes+=(-v "$mount")
done
log "pip settings for the build: $pipdir/pip.conf (+${#pip_mounts[@]} mounts)"

# --- 4. build -------------------------------------------------------------------
t0=$SECONDS
previous="$(podman image inspect --format '{{.Id}}' "$image" 2> /dev/null || true)"
log "podman build --isolation chroot --no-cache $image"
# --no-cache: Debian's buildah (1.28) reuses a cached LABEL or ENV step when only a build
# argument changed, so a second build at another commit kept the first one's REVISION
# and VERSION (the checks below failed on a machine that had built before).
podman build --isolation chroot --no-cache --pull=never \
    --build-arg BASE_IMAGE="$base_tag" \
    --build-arg REVISION="$(git -C "$root" rev-parse HEAD 2> /dev/null || echo unknown)" \
    --build-arg VERSION="$(python3 "$root/deploy/release.py" version)" \
    "${volumes[@]}" -t "$image" -f "$root/Dockerfile" "$root" > "$cache/build.log" 2>&1 \
    || { tail -n 40 "$cache/build.log" >&2; die "podman build failed (log: $cache/build.log)"; }
current="$(podman image inspect --format '{{.Id}}' "$image")"
if [ -n "$previous" ] && [ "$previous" != "$current" ]; then
    podman rmi "$previous" > /dev/null 2>&1 || true # our own previous build, now untagged
fi
log "built $image ($((SECONDS - t0))s, $(podman image inspect --format '{{.Size}}' "$image" \
    | awk '{printf "%d MB", $1 / 1000000}'))"

# --- 5. the image's configuration ---------------------------------------------------
config="$(podman image inspect --format \
    '{{.Config.User}}|{{json .Config.Entrypoint}}|{{json .Config.Cmd}}|{{json .Config.ExposedPorts}}' \
    "$image")"
log "image config: $config"
IFS='|' read -r user entrypoint cmd ports <<< "$config"
[ "$user" = "10001:10001" ] || die "USER is '$user', want 10001:10001"
[ "$entrypoint" = '["watcher"]' ] || die "ENTRYPOINT is $entrypoint"
[ "$cmd" = '["run"]' ] || die "CMD is $cmd"
[[ "$ports" == *'9102/tcp'* ]] || die "EXPOSE lacks 9102: $ports"
healthcheck="$(podman image inspect --format '{{json .Config.Healthcheck}}' "$image" 2> /dev/null || true)"
[[ "$healthcheck" =~ ^(null|)$ ]] || die "image has a HEALTHCHECK: $healthcheck"

# --- 6. run it --------------------------------------------------------------------
ctr="$(buildah from --pull-never "$image")"
moto_pid=""
cleanup() {
    [ -z "$moto_pid" ] || kill "$moto_pid" 2> /dev/null || true
    [ "${KEEP_IMAGE:-0}" = 1 ] || buildah rm "$ctr" > /dev/null 2>&1 || true
}
trap cleanup EXIT
in_image() { buildah run --isolation chroot "$@"; }

revision="$(in_image "$ctr" -- python3 -c 'from watcher.ops.build import build_labels; print(build_labels()["revision"])')"
want="$(git -C "$root" rev-parse HEAD 2> /dev/null || echo unknown)"
[ "$revision" = "$want" ] || die "build_info revision is '$revision', want $want"
uid="$(in_image "$ctr" -- python3 -c 'import os; print(os.getuid())')"
[ "$uid" = 10001 ] || die "process runs as uid $uid, want 10001"
in_image "$ctr" -- python3 -c 'import pathlib; assert not pathlib.Path("/etc/pip.conf").exists()' \
    || die "the build's pip settings leaked into the image"
if in_image "$ctr" -- python3 -c 'import moto' > /dev/null 2>&1; then
    die "moto (a dev/demo extra) is installed in the runtime image"
fi
# The runtime layer is the venv alone: no installer, no build backend (python3 on PATH is
# the venv's; the base image's own Python is not part of that layer).
for tool in pip setuptools wheel; do
    if in_image "$ctr" -- python3 -c "import $tool" > /dev/null 2>&1; then
        die "$tool is importable in the runtime venv"
    fi
done
leftovers="$(in_image "$ctr" -- python3 -c 'import pathlib, sys; print(" ".join(sorted(
    p.name for p in pathlib.Path(sys.prefix).glob("**/*") if p.name.split("-")[0].split(".")[0] in
    ("pip", "pip3", "setuptools", "_distutils_hack", "distutils-precedence"))))')"
[ -z "$leftovers" ] || die "pip or setuptools files in the runtime venv: $leftovers"
[ "$(in_image "$ctr" -- python3 -c 'import sys; print(sys.prefix)')" = /opt/venv ] \
    || die "python3 on PATH is not the runtime venv's"
log "runtime venv: no pip, setuptools or wheel"
version="$(in_image "$ctr" -- watcher --version)" || die "watcher --version failed"
log "watcher --version: $version"
# One version: the label the registry shows is what the program says, and pyproject.toml's.
label="$(podman image inspect --format '{{index .Labels "org.opencontainers.image.version"}}' "$image")"
want_version="$(python3 "$root/deploy/release.py" version)"
[ "$version" = "cloudfront-watcher $want_version" ] || die "watcher --version is '$version', want $want_version"
[ "$label" = "$want_version" ] || die "label org.opencontainers.image.version is '$label', want $want_version"
log "label org.opencontainers.image.version: $label"
in_image -v "$root/config.toml:/config.toml:ro" "$ctr" -- watcher check --config /config.toml \
    > "$cache/check.out" 2>&1 || { cat "$cache/check.out" >&2; die "watcher check failed"; }
log "watcher check --config /config.toml: ok"

# --- 7. the daemon itself, end to end, from inside the image ----------------------
# moto's server on loopback stands in for S3, SQS and CloudFront; deploy/localstack/
# init.sh wires it; the image's `watcher run --once` must invalidate a deploy.
moto="$root/.venv/bin/moto_server"
if [ ! -x "$moto" ]; then
    log "SKIP end-to-end run: no $moto (scripts/bootstrap installs the dev extra)"
else
    port="$("$tools_venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    endpoint="http://127.0.0.1:$port"
    "$moto" -H 127.0.0.1 -p "$port" > "$cache/moto.log" 2>&1 &
    moto_pid=$!
    "$tools_venv/bin/python" - "$endpoint" << 'PY' || die "moto server did not start (log: $cache/moto.log)"
import sys
import time
import urllib.request

for _ in range(100):
    try:
        urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=1)  # noqa: S310 - loopback
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit(1)
PY
    export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
    export AWS_EC2_METADATA_DISABLED=true
    rm -rf "$cache/e2e" && mkdir -p "$cache/e2e"
    PATH="$tools_venv/bin:$PATH" AWS_ENDPOINT_URL_S3="$endpoint" AWS_ENDPOINT_URL_SQS="$endpoint" \
        AWS_ENDPOINT_URL_CLOUDFRONT="$endpoint" CONFIG_OUT="$cache/e2e/config.toml" \
        sh "$root/deploy/localstack/init.sh" 2> "$cache/e2e/init.log" \
        || { cat "$cache/e2e/init.log" >&2; die "deploy/localstack/init.sh failed"; }
    echo '<h1>new</h1>' | "$tools_venv/bin/aws" --endpoint-url "$endpoint" s3 cp - \
        "s3://my-site-bucket/docs/new page/index.html" > /dev/null
    in_image --network host -v "$cache/e2e/config.toml:/config.toml:ro" \
        -e AWS_ENDPOINT_URL="$endpoint" -e AWS_ACCESS_KEY_ID=test -e AWS_SECRET_ACCESS_KEY=test \
        -e AWS_DEFAULT_REGION=us-east-1 -e AWS_EC2_METADATA_DISABLED=true \
        -e WATCHER__HTTP__LISTEN=127.0.0.1:0 \
        "$ctr" -- watcher run --config /config.toml --once --max-seconds 60 > "$cache/e2e/run.log" 2>&1 \
        || { tail -n 30 "$cache/e2e/run.log" >&2; die "watcher run --once failed in the image"; }
    distribution="$(sed -n 's/^distribution_id = "\(.*\)"$/\1/p' "$cache/e2e/config.toml")"
    cloudfront() { "$tools_venv/bin/aws" --endpoint-url "$endpoint" cloudfront "$@"; }
    id="$(cloudfront list-invalidations --distribution-id "$distribution" \
        --query 'InvalidationList.Items[0].Id' --output text)"
    paths="$(cloudfront get-invalidation --distribution-id "$distribution" --id "$id" \
        --query 'sort(Invalidation.InvalidationBatch.Paths.Items)' --output text)"
    [ "$paths" = "$(printf '/docs/new%%20page/\t/docs/new%%20page/index.html')" ] \
        || die "invalidated paths: '$paths'"
    log "watcher run --once in the image invalidated: $paths"
fi
log "PASS ($((SECONDS - started))s)"
