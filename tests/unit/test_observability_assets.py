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


REQUIRED_ALERTS = {
    "CloudFrontWatcherDown",
    "CloudFrontWatcherAbsent",
    "CloudFrontWatcherNotReady",
    "CloudFrontWatcherInvalidationsFailing",
    "CloudFrontWatcherChangesPending",
    "CloudFrontWatcherDeadLetters",
    "CloudFrontWatcherAccessDenied",
    "CloudFrontWatcherThrottled",
}


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes."""
    headings = re.findall(r"^#+ (.+)$", markdown, flags=re.MULTILINE)
    return {re.sub(r"[^a-z0-9 _-]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_every_alert_is_complete_and_its_runbook_is_a_section_of_the_docs() -> None:
    # GIVEN the rules and docs/observability.md
    rules = {rule["alert"]: rule for rule in alert_rules()}
    anchors = _anchors((ROOT / "docs/observability.md").read_text())
    # THEN the alerts an operator needs exist ...
    assert set(rules) >= REQUIRED_ALERTS, sorted(REQUIRED_ALERTS - set(rules))
    for name, rule in rules.items():
        # ... each with a severity, a `for`, a summary, a description and a runbook section
        assert rule["labels"]["severity"] in ("warning", "critical"), name
        assert rule["for"], name
        assert rule["annotations"]["summary"], name
        assert rule["annotations"]["description"], name
        doc, _, anchor = rule["annotations"]["runbook_url"].partition("#")
        assert doc == "docs/observability.md", name
        assert anchor in anchors, f"{name}: no section #{anchor} in docs/observability.md"
        assert 'job="cloudfront-watcher"' in rule["expr"], f"{name}: the chart replaces this selector"
    assert rules["CloudFrontWatcherAccessDenied"]["labels"]["severity"] == "critical"


def test_the_chart_renders_the_same_rules_file() -> None:
    # GIVEN the one source of the rules and the chart's copy (.Files.Get reads inside the chart only)
    source = ROOT / "deploy/prometheus/alerts.yaml"
    copy = ROOT / "helm/cloudfront-watcher/files/alerts.yaml"
    # THEN they are identical: after editing the source, `cp deploy/prometheus/alerts.yaml
    # helm/cloudfront-watcher/files/alerts.yaml`
    assert copy.read_bytes() == source.read_bytes(), f"cp {source.relative_to(ROOT)} {copy.relative_to(ROOT)}"


def test_the_month_bill_is_taken_as_the_max_over_replicas() -> None:
    # GIVEN every replica reports the distribution's whole month (cloudfront_watcher_month_billed_paths)
    exprs = dashboard_exprs() + [rule["expr"] for rule in alert_rules()]
    billed = [e for e in exprs if "cloudfront_watcher_month_billed_paths" in e]
    # THEN the dashboard and the alerts read it, each through a max by distribution (a sum over
    # replicas would count the month once per replica)
    assert len(billed) >= 2
    taken_as_max = re.compile(r"max by \(distribution\) \(cloudfront_watcher_month_billed_paths")
    assert all(taken_as_max.search(e) for e in billed)
