"""Planner cost: 100,000 paths of one burst into one request."""

from __future__ import annotations

import time
from dataclasses import dataclass

from watcher.core.planning import plan_invalidation


@dataclass
class PlannerCost:
    """Seconds for the best of three plans, and what came out."""

    paths: int
    collapsed_seconds: float
    collapsed_paths: int
    exact_seconds: float


def _burst(count: int) -> list[str]:
    return [f"/docs/v{i % 7}/section{i % 97}/topic{i % 1009}/page{i}.html" for i in range(count)]


def plan_cost(count: int = 100_000) -> PlannerCost:
    """Time plan_invalidation on `count` distinct paths: collapsed to 100 paths / 13 wildcards, and exact."""
    paths = _burst(count)
    collapsed = []
    for _ in range(3):
        t0 = time.perf_counter()
        plan = plan_invalidation(paths, max_paths=100, wildcard_budget=13)
        collapsed.append(time.perf_counter() - t0)
    exact = []
    for _ in range(3):
        t0 = time.perf_counter()
        plan_invalidation(paths, max_paths=count, wildcard_budget=13)
        exact.append(time.perf_counter() - t0)
    return PlannerCost(count, min(collapsed), len(plan.paths), min(exact))
