"""Every command ends with its contract's exit code (CONTRACT v4): 0 success, 1 failure at run
time, 2 usage or configuration, 130 interrupted; a closed stdout ends it quietly."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.site import WATCHER_BIN
from tests.unit.test_cli_help import _subcommands
from watcher.cli import main
from watcher.core.mode import why_once_failed

QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/site-changes"
SITE = '[[sites]]\nbucket = "site-bucket"\ndistribution_id = "E2EXAMPLE"\n'
CONFIG = f'[aws]\nregion = "us-east-1"\n[sqs]\nqueue_url = "{QUEUE}"\n{SITE}'
OFFLINE = [
    ["--help"],
    *([name, "--help"] for name in sorted(_subcommands())),
    ["check"],
    ["explain", "s3://site-bucket/index.html"],
    ["iam-policy", "--account-id", "123456789012"],
]


def with_closed_stdout(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the console script with stdout a pipe whose reader is gone (`watcher ... | head -c0`)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [WATCHER_BIN, *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
            cwd=cwd,
            env=env or {"PATH": "/usr/bin:/bin", "WATCHER_CONFIG": str(cwd / "config.toml")},
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize("args", OFFLINE, ids=" ".join)
def test_a_closed_stdout_ends_a_command_quietly(tmp_path: Path, args: list[str]) -> None:
    # GIVEN a valid config WHEN a command writes to a stdout nobody reads any more
    (tmp_path / "config.toml").write_text(CONFIG)
    result = with_closed_stdout(args, tmp_path)
    # THEN it ends with exit 1 (its output was not delivered) and quietly: no traceback,
    # no "Exception ignored" from the interpreter's last flush
    assert "Traceback" not in result.stderr
    assert "Exception ignored" not in result.stderr
    assert "BrokenPipe" not in result.stderr
    assert result.returncode == 1


class _Interrupted:
    """A stdin on which the user presses Ctrl-C."""

    def read(self, *_: object) -> str:
        raise KeyboardInterrupt

    readline = read

    def __iter__(self) -> Iterator[str]:
        raise KeyboardInterrupt


def test_ctrl_c_exits_130_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a command reading a deploy from stdin
    (tmp_path / "config.toml").write_text(CONFIG)
    monkeypatch.setattr("sys.stdin", _Interrupted())
    # WHEN Ctrl-C arrives while it reads
    code = main(["explain", "--config", str(tmp_path / "config.toml"), "--deploy", "-"])
    # THEN exit 130, one short line, no traceback
    assert code == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err == "watcher: interrupted\n"


@pytest.mark.parametrize("value", ["-1", "-0.5", "0", "nan", "inf", "1e300", "soon"])
def test_max_seconds_must_be_a_positive_finite_number_or_exit_2(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # WHEN `run --once --max-seconds` is given a negative, zero, infinite or unreadable number
    with pytest.raises(SystemExit) as exited:
        main(["run", "--once", "--max-seconds", value])
    # THEN a usage error (2) naming the option, before any config is read
    assert exited.value.code == 2
    assert "--max-seconds" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["-1", "nan", "inf"])
def test_cost_price_must_be_a_finite_number_not_below_zero(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["cost", f"--price={value}"])
    assert exited.value.code == 2
    assert "--price" in capsys.readouterr().err


def test_every_help_documents_the_interrupted_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN the top-level help and every subcommand's: each lists 130 among its exit codes
    for args in (["--help"], *([name, "--help"] for name in sorted(_subcommands()))):
        with pytest.raises(SystemExit):
            main(list(args))
        codes = capsys.readouterr().out.split("\nexit codes:\n", 1)[1]
        assert "  130  interrupted" in codes, args


@dataclass
class _Health:
    last_error: str = ""


@dataclass
class _Source:
    name: str
    uncovered: int = 0
    health: _Health = field(default_factory=_Health)


def test_run_once_says_in_one_line_why_it_exits_1() -> None:
    # GIVEN what --once saw at its end THEN one line says each reason, "" when it succeeded
    sqs, poll = _Source("sqs", 3), _Source("poll", 0, _Health("ListObjectsV2 failed: AccessDenied"))
    assert why_once_failed([_Source("sqs"), _Source("poll")], poll_failed=False, receive_failed=False) == ""
    line = why_once_failed([sqs, poll], poll_failed=True, receive_failed=False)
    assert line == (
        "the poll cycle failed (ListObjectsV2 failed: AccessDenied); "
        "3 message(s) not covered by an invalidation, left on the queue"
    )
    assert why_once_failed([_Source("sqs")], poll_failed=False, receive_failed=True) == (
        "receiving failed (no answer): the queue was not drained"
    )
    assert why_once_failed([_Source("poll", 2)], poll_failed=False, receive_failed=False) == (
        "2 change(s) not invalidated; the next run sees them again"
    )
