"""What the release and CI workflows promise, read from the files (actionlint checks their syntax).

A platform team installs releases: each is tested, published by identity (no stored secret),
multi-arch, attested, signed, pinned by digest, and its inputs are kept current by Renovate.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"


def _workflow(name: str) -> dict[str, Any]:
    loaded: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    document: dict[str, Any] = {str(key): value for key, value in loaded.items() if key is not True}
    document["on"] = loaded.get(True, loaded.get("on"))
    return document


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = job["steps"]
    return steps


def _uses(job: dict[str, Any], action: str) -> dict[str, Any]:
    (step,) = (s for s in _steps(job) if s.get("uses", "").startswith(action + "@"))
    return step


def _script(job: dict[str, Any]) -> str:
    return "\n".join(s.get("run", "") for s in _steps(job))


def test_every_action_is_pinned_by_commit_with_its_version_named() -> None:
    # GIVEN every `uses:` line of every workflow
    lines = [
        line.strip()
        for path in sorted(WORKFLOWS.glob("*.yml"))
        for line in path.read_text().splitlines()
        if line.strip().startswith(("uses:", "- uses:"))
    ]
    assert len(lines) >= 10
    # THEN each names a full commit (a tag can be moved) and, in a comment, the tag it was
    for line in lines:
        assert re.fullmatch(r"(- )?uses: [\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+(\.\d+)*", line), line


def test_a_version_tag_releases_after_the_tests_and_the_version_check() -> None:
    workflow = _workflow("release.yml")
    assert workflow["on"] == {"push": {"tags": ["v*"]}}
    # GIVEN the default token is read-only; each job asks for what it needs
    assert workflow["permissions"] == {"contents": "read"}
    verify = workflow["jobs"]["verify"]
    script = _script(verify)
    # THEN the tag must be the version everywhere, the test command runs, the artefacts are built
    assert 'deploy/release.py check --tag "$GITHUB_REF_NAME"' in script
    assert "scripts/test" in script
    assert "deploy/release-artifacts.sh" in script
    # AND nothing is published unless verify passed
    for name in ("pypi", "image", "chart", "github"):
        needs = workflow["jobs"][name]["needs"]
        assert "verify" in ([needs] if isinstance(needs, str) else needs), name


def test_the_package_index_trusts_the_workflow_not_a_stored_token() -> None:
    job = _workflow("release.yml")["jobs"]["pypi"]
    assert job["permissions"] == {"id-token": "write"}
    assert job["environment"]["name"] == "pypi"
    step = _uses(job, "pypa/gh-action-pypi-publish")
    assert set(step.get("with", {})) == {"packages-dir"}  # no password, no user
    assert "secrets." not in str(job)


def test_the_image_is_multi_arch_attested_and_signed_by_digest() -> None:
    job = _workflow("release.yml")["jobs"]["image"]
    assert job["permissions"] == {"contents": "read", "packages": "write", "id-token": "write"}
    build = _uses(job, "docker/build-push-action")["with"]
    assert set(build["platforms"].split(",")) == {"linux/amd64", "linux/arm64"}
    assert build["push"] is True
    assert build["sbom"] is True
    assert build["provenance"] == "mode=max"
    assert "VERSION=${{ needs.verify.outputs.version }}" in build["build-args"]
    script = _script(job)
    assert 'cosign sign --yes "$IMAGE@$DIGEST"' in script  # keyless, by digest: never a tag
    assert "cosign attest --yes --type cyclonedx" in script
    assert "cosign verify" in script
    assert "--certificate-oidc-issuer https://token.actions.githubusercontent.com" in script


def test_the_chart_is_pinned_to_the_image_pushed_as_oci_and_signed() -> None:
    job = _workflow("release.yml")["jobs"]["chart"]
    assert "image" in job["needs"]
    script = _script(job)
    assert 'deploy/release.py pin-image "$IMAGE@$DIGEST"' in script
    assert script.index("pin-image") < script.index("helm package") < script.index("helm push")
    assert 'helm push "chart/cloudfront-watcher-$VERSION.tgz" "oci://$charts"' in script
    assert 'cosign sign --yes "$charts/cloudfront-watcher@$chart_digest"' in script


def test_the_github_release_carries_the_changelog_section_and_every_file() -> None:
    job = _workflow("release.yml")["jobs"]["github"]
    assert job["permissions"] == {"contents": "write"}
    script = _script(job)
    assert "gh release create" in script
    assert "--notes-file" in script
    assert "release-notes.md" in script  # deploy/release.py notes: the CHANGELOG.md section
    for artefact in ("python-dist/*", "*.cdx.json", "cloudfront-watcher-$VERSION.tgz"):
        assert artefact in script


def test_ci_runs_every_stage_of_ci_run_on_pull_requests() -> None:
    workflow = _workflow("ci.yml")
    assert "pull_request" in workflow["on"]
    assert workflow["permissions"] == {"contents": "read"}
    (job,) = workflow["jobs"].values()
    groups = job["strategy"]["matrix"]["stages"]
    stages = [stage for group in groups for stage in group.split()]
    # THEN the matrix is .ci/run's list of stages, each once
    listed = re.search(r"^all_stages=\((.*)\)$", (ROOT / ".ci" / "run").read_text(), re.MULTILINE)
    assert listed is not None
    assert sorted(stages) == sorted(listed.group(1).split())
    assert "bash .ci/run $STAGES" in _script(job)
    # AND on the kind of machine .ci/run is written for, itself pinned by digest
    assert re.fullmatch(r"debian:bookworm@sha256:[0-9a-f]{64}", job["container"]["image"])


def test_base_images_are_pinned_by_digest() -> None:
    # GIVEN the Dockerfile's FROM lines, with ARG defaults expanded as a plain build does
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM \S+ AS (\S+)$", text, re.MULTILINE)
    defaults = dict(re.findall(r"^ARG (\w+)=(\S+)$", text, re.MULTILINE))
    images = [
        defaults[written.strip("${}")] if written.startswith("${") else written
        for written in re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    ]
    external = [image for image in images if image not in stages]
    # THEN every image pulled from outside is named by its digest (a tag can move)
    assert external
    for image in external:
        assert re.search(r"@sha256:[0-9a-f]{64}$", image), image


def test_renovate_keeps_the_locks_the_base_image_and_the_actions_current() -> None:
    config = json.loads((ROOT / ".github" / "renovate.json").read_text())
    assert set(config["enabledManagers"]) == {"pip_requirements", "dockerfile", "github-actions"}
    # the locks are requirements/*.txt, which Renovate's default file pattern does not match
    (pattern,) = config["pip_requirements"]["managerFilePatterns"]
    regex = re.compile(pattern.strip("/"))
    locks = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "requirements").glob("*.txt"))
    assert locks
    assert all(regex.search(lock) for lock in locks)
    # the Dockerfile's base is an ARG default, which Renovate expands (Dependabot would not)
    assert re.search(
        r"^ARG BASE_IMAGE=python:3\.11-[\w.-]+@sha256:[0-9a-f]{64}$", (ROOT / "Dockerfile").read_text(), re.M
    )
