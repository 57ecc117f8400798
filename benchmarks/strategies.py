"""What each cost strategy bills and purges on a 10,000-object site; planner and index figures.

Pure (no emulator): the daemon's own planner (`schedule_requests` with each
`Strategy`) against a `SiteIndex` of the site, with the example config's limits
(100 paths a request, 13 wildcards free). Run: .venv/bin/python -m benchmarks.strategies
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from dataclasses import dataclass

from watcher.core.cover import collateral
from watcher.core.planning import InvalidationPlan
from watcher.core.routing import Router
from watcher.core.schedule import schedule_requests
from watcher.core.site_index import DistributionIndex, SiteIndex, index_path
from watcher.core.strategy import STRATEGY_WEIGHTS, Strategy

MAX_PATHS = 100
WILDCARDS = 13


@dataclass(frozen=True, slots=True)
class _Site:
    bucket: str = "site"
    distribution_id: str = "E1"
    prefix: str = ""
    include: tuple[str, ...] = ("**",)
    exclude: tuple[str, ...] = ()
    name: str = "site"


def site_keys() -> list[str]:
    """10,000 keys: docs pages nested in 10 sections x 15 topics, an index.html per directory
    (41 objects a topic), and hashed assets in three directories."""
    rng = random.Random(42)
    keys = ["index.html", "docs/index.html"]
    for s in range(10):
        keys.append(f"docs/s{s}/index.html")
        for t in range(15):
            keys.append(f"docs/s{s}/t{t}/index.html")
            keys.extend(f"docs/s{s}/t{t}/p{p:02}.html" for p in range(40))
    sizes = {"js": 1800, "css": 400}
    sizes["img"] = 10_000 - len(keys) - sum(sizes.values())
    for folder, count in sizes.items():
        keys.extend(f"assets/{folder}/{folder}-{rng.getrandbits(40):010x}.{folder}" for _ in range(count))
    return keys


def deploys(keys: list[str]) -> dict[str, list[str]]:
    """The deploy shapes of issue 15."""
    rng = random.Random(7)
    topics = sorted({k.rsplit("/", 1)[0] for k in keys if k.count("/") == 3})
    pages = {t: [k for k in keys if k.startswith(t + "/")] for t in topics}
    scattered: list[str] = []
    for topic in rng.sample(topics, 60):
        scattered.extend(rng.sample(pages[topic], 33 + (len(scattered) // 33 < 20)))
    return {
        "one page": ["docs/s3/t7/p12.html"],
        "200 pages in 10 directories": [k for t in topics[:10] for k in pages[t][1:21]],
        "every asset of one directory (400)": [k for k in keys if k.startswith("assets/css/")],
        "2,000 files over 60 directories": scattered[:2000],
        "5 files in a big directory (1,800)": [k for k in keys if k.startswith("assets/js/")][:5],
        "3 of 40 pages of a directory": pages[topics[5]][1:4],
    }


def strategy_rows(keys: list[str]) -> list[tuple[str, str, int, int, int, int]]:
    """(deploy, strategy, files, billed paths, wildcards, collateral) per deploy and strategy."""
    index = DistributionIndex([SiteIndex(index_path(k) for k in keys)])
    router = Router([_Site()])
    rows = []
    for name, changed in deploys(keys).items():
        paths = {p for key in changed for route in router.route("site", key).routes for p in route.paths}
        for strategy_name, weight in STRATEGY_WEIGHTS.items():
            strategy = Strategy(strategy_name, weight, index)
            schedule = schedule_requests(
                paths, max_paths=MAX_PATHS, wildcard_budget=WILDCARDS, planner=strategy
            )
            plan = InvalidationPlan(schedule.paths)
            purged = collateral(plan, paths, index)
            rows.append((name, strategy_name, len(changed), len(plan.paths), plan.wildcards, purged))
    return rows


def big_site(count: int = 100_000) -> list[str]:
    """100,000 keys of the same shape (10x the sections)."""
    rng = random.Random(3)
    keys = []
    for s in range(100):
        for t in range(15):
            keys.append(f"docs/s{s}/t{t}/index.html")
            keys.extend(f"docs/s{s}/t{t}/p{p:02}.html" for p in range(40))
    while len(keys) < count:
        keys.append(f"assets/g{len(keys) % 5}/a-{rng.getrandbits(40):010x}.js")
    return keys[:count]


def planner_figures() -> dict[str, float]:
    """Planner ms for 2,000 changed keys against a 100,000-key index (two deploy shapes), build s."""
    keys = big_site()
    started = time.perf_counter()
    site = SiteIndex(index_path(k) for k in keys)
    build = time.perf_counter() - started
    index = DistributionIndex([site])
    rng = random.Random(11)
    directories = sorted({k.rsplit("/", 1)[0] for k in keys})
    chosen = set(rng.sample(directories, 60))
    grouped = rng.sample([k for k in keys if k.rsplit("/", 1)[0] in chosen], 2000)
    uniform = rng.sample(keys, 2000)
    figures = {"index_build_s": build}
    for label, changed in (("60_directories", grouped), ("uniform", uniform)):
        paths = [index_path(k) for k in changed]
        for name in ("balanced", "frugal"):
            strategy = Strategy(name, STRATEGY_WEIGHTS[name], index)
            best = float("inf")
            for _ in range(3):
                t0 = time.perf_counter()
                strategy(paths, max_paths=MAX_PATHS, wildcard_budget=WILDCARDS)
                best = min(best, time.perf_counter() - t0)
            figures[f"{label}_{name}_ms"] = best * 1000
        t0 = time.perf_counter()
        Strategy("exact")(paths, max_paths=MAX_PATHS, wildcard_budget=WILDCARDS)
        figures[f"{label}_exact_ms"] = (time.perf_counter() - t0) * 1000
    return figures


_MEMORY_PROBE = """
from benchmarks.strategies import big_site
from watcher.core.site_index import SiteIndex, index_path
def peak_kib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
keys = big_site()
before = peak_kib()
index = SiteIndex(index_path(k) for k in keys)
print((peak_kib() - before) / 1024, len(index))
"""


def index_memory_mib() -> float:
    """Peak RSS (VmHWM, Linux) added by building a 100,000-key index (fresh process, keys in memory)."""
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE], capture_output=True, text=True, check=True, timeout=300
    ).stdout.split()
    return float(out[0])


def main() -> None:
    """Print the strategy table and the planner/index figures."""
    keys = site_keys()
    print(f"site: {len(keys)} objects; limits: {MAX_PATHS} paths a request, {WILDCARDS} wildcards free")
    print("| deploy | files | strategy | billed paths | wildcards | unchanged objects purged |")
    print("| --- | ---: | --- | ---: | ---: | ---: |")
    for deploy, strategy, files, billed, wildcards, purged in strategy_rows(keys):
        print(f"| {deploy} | {files} | {strategy} | {billed} | {wildcards} | {purged} |")
    figures = planner_figures()
    build, memory = figures["index_build_s"], index_memory_mib()
    print(f"index of 100,000 keys: built in {build:.2f} s, {memory:.1f} MiB more peak RSS")
    for label in ("60_directories", "uniform"):
        times = ", ".join(
            f"{name} {figures[f'{label}_{name}_ms']:.0f} ms" for name in ("exact", "balanced", "frugal")
        )
        print(f"planner, 2,000 changed keys ({label.replace('_', ' ')}) on 100,000: {times}")


if __name__ == "__main__":
    main()
