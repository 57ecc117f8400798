"""Exit codes of the commands that talk to AWS (moto's server): why `run --once` fails, Ctrl-C on
the daemon, a closed stdout. The offline commands: tests/unit/test_cli_exits.py."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from tests.support.poll_site import make_poll_site, poll_settings
from tests.support.site import WATCHER_BIN, config_toml, make_stack, run_cli, settings_for, watcher_env
from tests.unit.test_cli_exits import with_closed_stdout


def test_run_once_that_exits_1_says_why_on_stderr(moto_server: str, tmp_path: Path) -> None:
    # GIVEN a config whose queue does not exist
    stack = make_stack(moto_server)
    config = tmp_path / "config.toml"
    settings = settings_for(stack, sqs={"queue_url": stack.queue_url.replace("site-changes", "gone")})
    config.write_text(config_toml(settings))
    # WHEN `run --once` runs
    result = run_cli(
        ["run", "--config", str(config), "--once", "--max-seconds", "5"], env=watcher_env(moto_server)
    )
    # THEN exit 1, and its last line on stderr says why in words (not only in the JSON log)
    assert result.returncode == 1, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("watcher run --once: exit 1: receiving failed (ReceiveMessage failed: ")
    assert last.endswith("the queue was not drained")


@pytest.mark.timeout(90)
def test_ctrl_c_drains_the_daemon_then_exits_130(moto_server: str, tmp_path: Path) -> None:
    # GIVEN the daemon, started
    stack = make_stack(moto_server)
    config = tmp_path / "config.toml"
    config.write_text(config_toml(settings_for(stack)))
    process = subprocess.Popen(
        [WATCHER_BIN, "run", "--config", str(config)],
        env=watcher_env(moto_server),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        seen = ""
        while "watcher started" not in seen:
            line = process.stderr.readline()
            assert line, "the daemon ended before it started"
            seen += line
        # WHEN Ctrl-C arrives (SIGINT)
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    # THEN it drains as for SIGTERM, and says it was interrupted: 130
    assert "watcher stopped" in rest
    assert process.returncode == 130, rest[-2000:]


def test_a_closed_stdout_ends_run_once_and_setup_quietly(moto_server: str, tmp_path: Path) -> None:
    # GIVEN a poll site without saved state (`run --once` prints that it took a baseline) and a
    # bucket wired to a queue (`setup` prints its plan)
    site = make_poll_site(moto_server)
    polled = tmp_path / "poll.toml"
    polled.write_text(config_toml(poll_settings(site, state_file=str(tmp_path / "state.json"))))
    stack = make_stack(moto_server, bucket="wired-bucket")
    wired = tmp_path / "sqs.toml"
    wired.write_text(config_toml(settings_for(stack)))
    env = watcher_env(moto_server)
    for args in (["run", "--config", str(polled), "--once"], ["setup", "--config", str(wired)]):
        assert run_cli(args, env=env).returncode == 0, args  # read, each succeeds
        (tmp_path / "state.json").unlink(missing_ok=True)  # so that `run --once` prints again
        # WHEN each writes to a stdout nobody reads
        result = with_closed_stdout(args, tmp_path, env)
        # THEN exit 1, no traceback
        assert "Traceback" not in result.stderr, args
        assert "Exception ignored" not in result.stderr, args
        assert result.returncode == 1, (args, result.stderr[-2000:])
