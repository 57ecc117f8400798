"""The shipped dashboard and alerts only use metrics the watcher exports."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import CollectorRegistry

from watcher.ops.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]
_NAME = re.compile(r"\bcloudfront_watcher_[a-z_]+")
_SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created")}


def exported_names() -> set[str]:
    """Every series name a Metrics object can expose."""
    names: set[str] = set()
    for family in Metrics(CollectorRegistry()).registry.collect():
        names.add(family.name)
        names.update(family.name + suffix for suffix in _SUFFIXES.get(family.type, ()))
    return names


def dashboard_exprs() -> list[str]:
    dashboard = json.loads((ROOT / "deploy/grafana/cloudfront-watcher.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    exprs += [v["definition"] for v in dashboard["templating"]["list"] if "definition" in v]
    return exprs


def alert_rules() -> list[dict[str, Any]]:
    rules = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yaml").read_text())
    return [rule for group in rules["groups"] for rule in group["rules"]]


def test_every_dashboard_and_alert_expression_uses_only_exported_metric_names() -> None:
    # GIVEN the names the watcher exports
    exported = exported_names()
    # WHEN the dashboard's and the alerts' expressions are read
    exprs = dashboard_exprs() + [rule["expr"] for rule in alert_rules()]
    used = {name for expr in exprs for name in _NAME.findall(expr)}
    # THEN each name exists (a rename would leave a blank panel or a silent alert)
    assert used, "no cloudfront_watcher_ metric found in the expressions"
    assert used <= exported, sorted(used - exported)


def test_the_dashboard_is_importable_grafana_json() -> None:
    # GIVEN the dashboard file WHEN parsed THEN it has unique panel ids, a uid and a datasource variable
    dashboard = json.loads((ROOT / "deploy/grafana/cloudfront-watcher.json").read_text())
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert dashboard["uid"]
    assert any(v["type"] == "datasource" for v in dashboard["templating"]["list"])
    assert all(panel["targets"] and panel["gridPos"]["w"] <= 24 for panel in dashboard["panels"])


def test_the_alerts_cover_stale_sites_failures_and_silence() -> None:
    # GIVEN the alert rules WHEN read THEN the three the docs promise exist, each with a summary
    rules = {rule["alert"]: rule for rule in alert_rules()}
    for name in (
        "CloudFrontWatcherStaleSite",
        "CloudFrontWatcherInvalidationsFailing",
        "CloudFrontWatcherNotReceiving",
    ):
        assert rules[name]["annotations"]["summary"]
        assert rules[name]["for"]
