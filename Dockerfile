# cloudfront-watcher container image.
#
#   docker build -t cloudfront-watcher .
#   docker run --read-only -v "$PWD/config.toml:/etc/cloudfront-watcher/config.toml:ro" \
#       -p 9102:9102 cloudfront-watcher
#
# The base is the official slim Python image, pinned by digest: the OCI index of
# python:3.11-slim-bookworm (every platform; Python 3.11.16, 2026-08-25, as listed by
# docker-library/repo-info). Renovate proposes new digests (.github/renovate.json).
# BASE_IMAGE may name any image with python3 (>= 3.11) and its venv module instead:
# deploy/test-image.sh builds against a local Debian base, which is why the Dockerfile
# only ever calls `python3`.
ARG BASE_IMAGE=python:3.11-slim-bookworm@sha256:fe556eaffd0d96abd8685b83bb8a69addd0dc730fa193669a7df0d49ddcfac02

FROM ${BASE_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
# Two venvs: /opt/build holds the pinned pip and build backend (requirements/build.txt);
# /opt/venv is what ships, and leaves this stage without pip or setuptools.
COPY requirements/build.txt requirements/runtime.txt ./requirements/
RUN python3 -m venv /opt/build \
    && /opt/build/bin/python -m pip install --no-cache-dir --require-hashes -r requirements/build.txt \
    && python3 -m venv --without-pip /opt/venv

# Dependencies first, in their own layer: rebuilt only when the lock changes, not on
# every source edit. Runtime dependencies only (no dev/demo extras), every file by hash.
RUN /opt/build/bin/python -m pip --python /opt/venv/bin/python install --no-cache-dir \
        --require-hashes --no-deps -r requirements/runtime.txt

# Then the package itself, built by the pinned backend (no build isolation: nothing
# unpinned is fetched).
COPY pyproject.toml README.md ./
COPY watcher/ ./watcher/
RUN /opt/build/bin/python -m pip wheel --no-cache-dir --no-deps --no-build-isolation -w /tmp/dist . \
    && /opt/build/bin/python -m pip --python /opt/venv/bin/python install --no-cache-dir --no-deps \
        /tmp/dist/*.whl \
    && /opt/venv/bin/watcher --help > /dev/null


FROM ${BASE_IMAGE} AS runtime
ARG BASE_IMAGE
# VERSION: pyproject.toml's (deploy/release.py checks this default; CI and the release
# workflow pass it as a build argument too).
ARG VERSION=1.0.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="cloudfront-watcher" \
      org.opencontainers.image.description="Keeps CloudFront distributions fresh when their S3 origins change: exact, coalesced, never-lost invalidations." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="https://github.com/cloudfront-watcher/cloudfront-watcher" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"

COPY --from=build /opt/venv /opt/venv

# Bytecode was compiled at install time; the process never writes to the root
# filesystem, so the container runs with readOnlyRootFilesystem / --read-only.
# MALLOC_ARENA_MAX=2: glibc gives each allocating thread its own arena (up to 8 per
# core) and the daemon's receivers, workers and HTTP handlers each fragment one; two
# arenas keep the resident set a few MiB lower at no measurable cost.
ENV PATH="/opt/venv/bin:${PATH}" \
    MALLOC_ARENA_MAX=2 \
    WATCHER_GIT_REVISION="${REVISION}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    WATCHER_CONFIG=/etc/cloudfront-watcher/config.toml
WORKDIR /
USER 10001:10001
EXPOSE 9102

# No HEALTHCHECK: orchestrators probe /healthz and /readyz themselves; ECS uses
# ["CMD", "watcher", "healthcheck"] (the image needs no shell or curl).
ENTRYPOINT ["watcher"]
CMD ["run"]
