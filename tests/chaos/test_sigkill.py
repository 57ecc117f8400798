"""SIGKILL at random points of deploys, restarted each time: at the end every change is covered."""

from __future__ import annotations

import random
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.chaos import chaos_site
from tests.support.site import WATCHER_BIN, config_toml, run_cli, watcher_env

pytestmark = pytest.mark.chaos

KILLS = 20


def test_twenty_sigkills_at_random_points_lose_no_change(moto_server: str, tmp_path: Path) -> None:
    rng = random.Random(20)
    with chaos_site(moto_server) as site:
        # GIVEN a daemon with a fast quiet period
        config = tmp_path / "config.toml"
        settings = site.settings(
            sqs={"visibility_timeout_seconds": 10}, invalidation={"quiet_period_seconds": 0.2}
        )
        config.write_text(config_toml(settings))
        env = watcher_env(moto_server, **site.env)
        # WHEN, 20 times, a deploy lands and the daemon is killed at a random moment of it
        for kill in range(KILLS):
            site.publish((f"deploy{kill}/page{i}.html" for i in range(4)), per_message=2)
            process = subprocess.Popen(
                [WATCHER_BIN, "run", "--config", str(config)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(rng.uniform(0.2, 2.5))
            process.kill()
            process.wait(10)
        killed_before_covering = len(site.uncovered())
        # THEN, once the held messages become visible again (their visibility timeout made to
        # lapse now rather than waited out), one more run covers everything
        site.lapse_visibility()
        result = run_cli(["run", "--config", str(config), "--once", "--max-seconds", "60"], env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        assert site.uncovered() == set()
        assert site.depth() == 0
        # (the kills did land mid-deploy: some changes were still uncovered before the last run)
        assert killed_before_covering > 0
