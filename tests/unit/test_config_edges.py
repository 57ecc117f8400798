"""Config edges every command meets the same way: exit 2 with the problem on one line, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from watcher.cli import main
from watcher.core.config import ConfigError, load_settings

QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/site-changes"
SITE = '\n[[sites]]\nbucket = "site-bucket"\ndistribution_id = "E2EXAMPLE"\n'
COMMANDS = [
    ["run", "--once"],
    ["check"],
    ["explain", "s3://site-bucket/index.html"],
    ["iam-policy", "--account-id", "123456789012"],
    ["setup"],
]
BAD_FILES = {
    "non-utf8": (
        f'[sqs]\nqueue_url = "{QUEUE}"\n# caf\xe9\n'.encode("latin-1") + SITE.encode(),
        "cannot read TOML",
    ),
    "non-table": (f'watcher = 1\n[sqs]\nqueue_url = "{QUEUE}"\n{SITE}'.encode(), "watcher: must be a table"),
}


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize("bad", sorted(BAD_FILES))
def test_every_command_turns_a_bad_file_into_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str], bad: str
) -> None:
    # GIVEN a config file that is not UTF-8, or has a section that is not a table
    content, problem = BAD_FILES[bad]
    path = tmp_path / "config.toml"
    path.write_bytes(content)
    # WHEN any command reads it
    code = main([*command, "--config", str(path)])
    # THEN exit 2, the problem on one line, no traceback
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert len([line for line in err.splitlines() if problem in line]) == 1


def test_a_shutdown_timeout_shorter_than_the_long_poll_is_refused(tmp_path: Path) -> None:
    # GIVEN a shutdown timeout that would end the drain while a 20 s long poll is open
    path = tmp_path / "config.toml"
    path.write_text(f'[watcher]\nshutdown_timeout_seconds = 10\n[sqs]\nqueue_url = "{QUEUE}"\n{SITE}')
    # THEN the config is refused, naming both keys
    with pytest.raises(ConfigError) as refused:
        load_settings(path, environ={})
    assert any(
        "watcher.shutdown_timeout_seconds: must be at least sqs.wait_time_seconds" in line
        for line in refused.value.problems
    )
    # AND a shorter long poll makes it fine
    sqs = f'[sqs]\nqueue_url = "{QUEUE}"\nwait_time_seconds = 5\n'
    path.write_text(f"[watcher]\nshutdown_timeout_seconds = 10\n{sqs}{SITE}")
    assert load_settings(path, environ={}).watcher.shutdown_timeout_seconds == 10
