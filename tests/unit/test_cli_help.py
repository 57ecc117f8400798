"""The CLI explains itself: every subcommand has a description and its exit codes."""

from __future__ import annotations

import argparse
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.support.site import WATCHER_BIN, run_cli
from watcher.cli import _build_parser, main

ROOT = Path(__file__).resolve().parents[2]
QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/site-changes"


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = _build_parser()
    (action,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 0
    return capsys.readouterr().out


def test_watcher_help_lists_the_subcommands_and_the_exit_codes() -> None:
    result = run_cli(["--help"], env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0
    assert "Keeps CloudFront distributions fresh" in result.stdout
    assert "exit codes:\n  0  ok\n  1  " in result.stdout
    assert "2  invalid configuration or usage" in result.stdout
    assert "WATCHER__SECTION__KEY" in result.stdout
    for name in _subcommands():
        assert f"\n    {name} " in result.stdout


# Iterates over the parser itself: a subcommand added later is covered without editing this test.
@pytest.mark.parametrize("name", sorted(_subcommands()))
def test_every_subcommand_has_a_description_and_its_exit_codes(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _help([name, "--help"], capsys)
    usage, description = text.split("\n\n")[:2]
    assert usage.startswith(f"usage: watcher {name}")
    assert description.strip()
    assert not description.startswith(("options:", "positional arguments:"))
    assert "\nexit codes:\n" in text
    codes = text.split("\nexit codes:\n", 1)[1]
    assert "  0  " in codes
    assert "  2  " in codes
    if "--config" in text:  # where the config is looked up, and the environment overrides
        assert "$WATCHER_CONFIG" in codes
        assert "WATCHER__SECTION__KEY" in codes


def test_defaults_are_shown(capsys: pytest.CaptureFixture[str]) -> None:
    assert "(default: 300.0)" in _help(["run", "--help"], capsys)
    assert "(default: False)" not in _help(["run", "--help"], capsys)  # flags: no noise


def test_config_is_accepted_before_or_after_the_subcommand(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text(f'[sqs]\nqueue_url = "{QUEUE}"\n[[sites]]\nbucket = "b"\ndistribution_id = "E1"\n')
    env = {"PATH": "/usr/bin:/bin"}
    before = run_cli(["--config", str(config), "check"], env=env, cwd=tmp_path)
    after = run_cli(["check", "--config", str(config)], env=env, cwd=tmp_path)
    assert before.returncode == after.returncode == 0, before.stderr
    assert before.stdout == after.stdout
    assert f"config OK: {config}" in before.stdout
    # the one after the subcommand wins when both are given
    both = run_cli(["--config", "missing.toml", "check", "--config", str(config)], env=env, cwd=tmp_path)
    assert both.returncode == 0, both.stderr


def test_cloudfront_watcher_is_the_same_program() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["cloudfront-watcher"] == scripts["watcher"] == "watcher.cli:main"
    long_name = Path(WATCHER_BIN).with_name("cloudfront-watcher")
    if long_name.exists():  # installed by scripts/bootstrap
        result = subprocess.run(
            [str(long_name), "--help"], capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0
        assert result.stdout.startswith("usage: cloudfront-watcher ")


def test_the_readme_shows_what_watcher_check_prints_for_a_wrong_key_and_type(tmp_path: Path) -> None:
    # GIVEN the example file of the README's "Configuration" section
    readme = (ROOT / "README.md").read_text()
    example = readme.split("refuses what `watcher check` refuses. For this file:", 1)[1]
    toml_text = example.split("```toml\n", 1)[1].split("```", 1)[0]
    shown = example.split("prints:\n\n```\n", 1)[1].split("```", 1)[0]
    (tmp_path / "config.toml").write_text(toml_text)
    # WHEN the command the README names runs on it
    result = run_cli(["check", "--config", "config.toml"], env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    # THEN it prints exactly what the README shows, and exits 2
    assert result.returncode == 2
    assert result.stderr == shown
