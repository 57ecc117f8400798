"""Cost settings: strategy weights, the override, validation, and the IAM they need."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from watcher.commands.iam import Account, watcher_policy
from watcher.core.config import ConfigError, Settings, load_settings
from watcher.core.strategy import configured_weight
from watcher.sources.site_listing import cost_strategies

SITES = [{"bucket": "site", "distribution_id": "E1", "prefix": "www/"}]
QUEUE = {"queue_url": "https://sqs.eu-west-1.amazonaws.com/111122223333/site-changes"}


def _settings(**invalidation: Any) -> Settings:
    return Settings.model_validate({"sqs": QUEUE, "sites": SITES, "invalidation": invalidation})


@pytest.mark.parametrize(
    ("invalidation", "weight"),
    [
        ({}, None),
        ({"strategy": "balanced"}, 1.0),
        ({"strategy": "frugal"}, 0.05),
        ({"strategy": "frugal", "collateral_weight": 0.5}, 0.5),
        ({"collateral_weight": 2}, 2.0),
    ],
)
def test_each_strategy_has_its_weight_and_collateral_weight_overrides_it(
    invalidation: dict[str, Any], weight: float | None
) -> None:
    assert configured_weight(_settings(**invalidation).invalidation) == weight


def test_defaults_are_exact_and_an_hourly_relist() -> None:
    inv = _settings().invalidation
    assert (inv.strategy, inv.collateral_weight, inv.index_refresh_seconds) == ("exact", None, 3600)


def test_the_planner_keeps_two_wildcards_and_50_ms_by_default() -> None:
    inv = _settings().invalidation
    assert (inv.wildcard_reserve, inv.planner_budget_ms) == (2, 50)
    tuned = _settings(wildcard_reserve=0, planner_budget_ms=250).invalidation
    assert (tuned.wildcard_reserve, tuned.planner_budget_ms) == (0, 250)
    with pytest.raises(ValueError, match="wildcard_reserve"):
        _settings(wildcard_reserve=16)
    with pytest.raises(ValueError, match="planner_budget_ms"):
        _settings(planner_budget_ms=0)


def test_each_distribution_plans_with_the_configured_reserve_and_budget() -> None:
    # GIVEN exact (no site index) with a reserve of 3 and a budget of 80 ms
    strategies = cost_strategies(_settings(wildcard_reserve=3, planner_budget_ms=80), None)
    # THEN the distribution's strategy carries them (exact keeps a reserve too)
    assert strategies["E1"].reserve == 3
    assert strategies["E1"].budget_seconds == pytest.approx(0.08)


def test_an_unknown_strategy_or_a_negative_weight_is_one_clear_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[sqs]\nqueue_url = "https://sqs.eu-west-1.amazonaws.com/1/q"\n'
        '[invalidation]\nstrategy = "cheap"\ncollateral_weight = -1\n'
        '[[sites]]\nbucket = "b"\ndistribution_id = "E1"\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={})
    assert any(p.startswith("invalidation.strategy:") for p in caught.value.problems)
    assert any(p.startswith("invalidation.collateral_weight:") for p in caught.value.problems)


def test_the_environment_sets_the_strategy(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[sqs]\nqueue_url = "https://sqs.eu-west-1.amazonaws.com/1/q"\n'
        '[[sites]]\nbucket = "b"\ndistribution_id = "E1"\n'
    )
    env = {"WATCHER__INVALIDATION__STRATEGY": "frugal", "WATCHER__INVALIDATION__COLLATERAL_WEIGHT": "0.2"}
    assert configured_weight(load_settings(config, environ=env).invalidation) == 0.2


def test_a_cost_strategy_adds_list_bucket_under_the_site_prefixes_only() -> None:
    account = Account("111122223333", "eu-west-1")
    # GIVEN sqs mode (without the content check's version reads): exact needs no S3 at all
    assert "s3:" not in str(watcher_policy(_settings(skip_unchanged=False), account, mode="sqs"))
    # WHEN the strategy needs the site index THEN ListBucket on the bucket, scoped to the prefix
    document = watcher_policy(_settings(strategy="balanced", skip_unchanged=False), account, mode="sqs")
    (listing,) = [s for s in document["Statement"] if s["Action"] == "s3:ListBucket"]
    assert listing["Resource"] == "arn:aws:s3:::site"
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["www/*"]}}
    assert "s3:GetObject" not in str(document)
