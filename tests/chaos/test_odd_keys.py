"""Odd keys: `watcher explain` and the invalidation agree, and strict CloudFront accepts every path."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.chaos import BUCKET, chaos_site
from tests.support.site import config_toml, run_cli, watcher_env

pytestmark = pytest.mark.chaos

ODD_KEYS = [
    "docs/a b.html",
    "docs/a+b.html",
    "docs/100%.html",
    "docs/c#sharp.html",
    "docs/what?.html",
    "docs/star*/x.html",
    "docs/~user/index.html",
    "docs/日本語/ページ.html",
    "docs/café/ünïcödé.html",
    'docs/[brackets] {braces} <angle> |pipe| ^caret^ `tick` "quote".html',
    "long/" + "x" * (1024 - len("long/")),
    "wide/" + "é" * ((1024 - len("wide/")) // 2),
]


def _explained_paths(output: str) -> set[str]:
    return {line.strip() for line in output.splitlines() if line.startswith("      /")}


def test_odd_keys_are_invalidated_exactly_as_explain_says(moto_server: str, tmp_path: Path) -> None:
    assert all(len(key.encode()) <= 1024 for key in ODD_KEYS)
    with chaos_site(moto_server) as site:
        # GIVEN S3 notifications for keys with spaces, +, %, #, ?, *, ~, unicode and 1,024 bytes
        config = tmp_path / "config.toml"
        config.write_text(config_toml(site.settings()))
        env = watcher_env(moto_server, **site.env)
        site.publish(ODD_KEYS)
        # WHEN `watcher explain` is asked about them and `watcher run --once` invalidates them
        explained = run_cli(
            ["explain", "--config", str(config), *(f"s3://{BUCKET}/{k}" for k in ODD_KEYS)], env=env
        )
        result = run_cli(["run", "--config", str(config), "--once"], env=env)
        # THEN both agree path for path
        assert explained.returncode == 0, explained.stderr
        assert result.returncode == 0, result.stderr[-3000:]
        sent = {path for invalidation in site.cloudfront.invalidations for path in invalidation.paths}
        assert _explained_paths(explained.stdout) == sent == site.expected_paths()
        # AND strict CloudFront accepted every request (no InvalidArgument, no bisection needed)
        statuses = [r.status for r in site.cloudfront.requests if r.action == "CreateInvalidation"]
        assert statuses
        assert set(statuses) == {201}
        assert site.depth() == 0
