"""What /metrics serves beyond the watcher's own series: process, platform, build; no _created."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from watcher import __version__
from watcher.ops.build import git_revision
from watcher.ops.metrics import Metrics


def _series(metrics: Metrics) -> list[str]:
    text = generate_latest(metrics.registry).decode()
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_the_exposition_has_process_and_python_series_and_no_created_clutter() -> None:
    # GIVEN the metrics of a watcher with one distribution and the SQS source
    metrics = Metrics(CollectorRegistry())
    metrics.start_series(distributions=["E1"], sources=["sqs"])
    metrics.invalidations.labels(distribution="E1", outcome="created").inc()
    # WHEN exposed
    series = _series(metrics)
    names = {line.split("{")[0].split(" ")[0] for line in series}
    # THEN what an on-call engineer looks at first is there, and no _created series
    assert {"process_resident_memory_bytes", "process_cpu_seconds_total", "process_open_fds"} <= names
    assert {"python_info", "python_gc_collections_total"} <= names
    assert not [line for line in series if "_created" in line]
    # ... while the contract's series keep their names
    assert (
        metrics.registry.get_sample_value(
            "cloudfront_watcher_invalidations_total", {"distribution": "E1", "outcome": "created"}
        )
        == 1
    )


def test_two_watchers_in_one_process_keep_their_own_series() -> None:
    # GIVEN two Metrics on their own registries (as tests and the demo make them)
    first, second = Metrics(CollectorRegistry()), Metrics(CollectorRegistry())
    # WHEN one counts THEN the other does not see it, and both expose process series
    first.retries.labels(reason="Throttling").inc()
    assert (
        second.registry.get_sample_value("cloudfront_watcher_retries_total", {"reason": "Throttling"}) is None
    )
    assert any(line.startswith("process_open_fds") for line in _series(second))


def test_build_info_names_version_python_and_revision(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a revision given by the image build
    monkeypatch.setenv("WATCHER_GIT_REVISION", "0123456789abcdef")
    metrics = Metrics(CollectorRegistry())
    # THEN build_info carries it with the version and the Python version
    [line] = [s for s in _series(metrics) if s.startswith("cloudfront_watcher_build_info")]
    assert 'revision="0123456789abcdef"' in line
    assert f'python_version="{platform.python_version()}"' in line
    assert f'version="{__version__}"' in line


def test_ready_follows_the_unready_reason() -> None:
    # GIVEN readiness tracked from a reason that changes
    metrics = Metrics(CollectorRegistry())
    reason: list[str | None] = ["sqs: no successful AWS call yet"]
    metrics.track_readiness(lambda: reason[0])
    # WHEN the reason clears THEN ready goes from 0 to 1
    assert metrics.registry.get_sample_value("cloudfront_watcher_ready") == 0
    reason[0] = None
    assert metrics.registry.get_sample_value("cloudfront_watcher_ready") == 1


def test_git_revision_reads_a_checkout_without_git(tmp_path: Path) -> None:
    # GIVEN a checkout whose HEAD names a packed branch
    root = tmp_path
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / ".git" / "packed-refs").write_text("# pack-refs\n" + "a" * 40 + " refs/heads/main\n")
    # THEN its revision is read from the files
    assert git_revision(root) == "a" * 40
    assert git_revision(root / "nowhere") == ""
