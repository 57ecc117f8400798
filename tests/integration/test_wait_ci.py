"""`watcher wait` as a CI step: exit codes, --json, and the README's recipes run as a user runs them.

The recipes use the real aws CLI (the dev extra's `aws`) against moto, and the
`watcher` console script, in bash, with the shell lines copied out of README.md.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.support.cloudfront_proxy import StrictCloudFront
from tests.support.site import ROOT, config_toml, make_stack, settings_for, watcher_env
from tests.support.wait_site import Deploy, deploy_site
from watcher.cli import main

SCHEMA = json.loads((ROOT / "docs" / "wait-report.schema.json").read_text())
BIN = Path(sys.executable).parent


@pytest.fixture
def deploy(moto_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Deploy]:
    with deploy_site(moto_server, tmp_path, monkeypatch) as site:
        yield site


def _now() -> str:
    return datetime.now(UTC).isoformat()


def test_an_interval_below_one_second_is_a_usage_error(
    deploy: Deploy, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN --interval 0.5 (0.001 once made 65 ListInvalidations in 3 s) WHEN wait starts THEN exit 2
    code = main(["wait", "--config", str(deploy.config), "--since", _now(), "--interval", "0.5"])
    assert code == 2
    assert "--interval" in capsys.readouterr().err
    assert deploy.cloudfront.count("ListInvalidations") == 0


def test_a_missing_distribution_is_exit_3_with_the_reason(
    deploy: Deploy, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a config naming a distribution that does not exist, and a change to wait for
    config = tmp_path / "gone.toml"
    config.write_text(deploy.config.read_text().replace(deploy.stack.distribution_id, "EGONE0000000"))
    since = _now()
    deploy.stack.deploy({"a.html": "a"})
    # WHEN wait runs THEN it could not tell: exit 3, with CloudFront's reason
    code = main(["wait", "--config", str(config), "--since", since, "--interval", "1", "--timeout", "5"])
    assert code == 3
    assert "NoSuchDistribution" in capsys.readouterr().err


def test_json_is_one_report_on_stdout_valid_against_the_schema(
    deploy: Deploy, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a deploy of which one path is invalidated
    since = _now()
    deploy.stack.deploy({"a.html": "a", "b.html": "b"})
    deploy.cloudfront.on_list(lambda n: n == 2 and deploy.add(["/a.html"]))
    # WHEN wait --json times out
    argv = ["wait", "--config", str(deploy.config), "--since", since, "--interval", "1", "--timeout", "3"]
    code = main([*argv, "--json"])
    captured = capsys.readouterr()
    # THEN stdout is one JSON document that the schema in docs/ accepts; progress went to stderr
    report = json.loads(captured.out)
    jsonschema.validate(report, SCHEMA)
    assert code == report["exit_code"] == 1
    assert report["outcome"] == "timeout"
    [dist] = report["distributions"]
    assert (dist["distribution_id"], dist["paths"], dist["completed"]) == (deploy.stack.distribution_id, 2, 1)
    assert [p["path"] for p in dist["pending"]] == ["/b.html"]
    assert [i["paths_covered"] for i in dist["invalidations"]] == [1]
    assert "waiting:" in captured.err
    # AND once live, the report says so too
    deploy.cloudfront.on_list(lambda n: n == 2 and deploy.add(["/b.html"]))
    code = main([*argv[:-1], "10", "--json"])
    report = json.loads(capsys.readouterr().out)
    jsonschema.validate(report, SCHEMA)
    assert (code, report["outcome"], report["distributions"][0]["pending"]) == (0, "live", [])


def _ctrl_c_as_from_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_exits_130(deploy: Deploy) -> None:
    # GIVEN the installed `watcher wait` waiting for a path nothing invalidates
    since = _now()
    deploy.stack.deploy({"a.html": "a"})
    env = {**watcher_env(deploy.stack.endpoint), "AWS_ENDPOINT_URL_CLOUDFRONT": deploy.cloudfront.url}
    argv = [str(BIN / "watcher"), "wait", "--config", str(deploy.config), "--since", since, "--interval", "1"]
    # As from a terminal: a process started in the background of a non-interactive shell (CI's
    # runners, `cmd &`) inherits SIGINT ignored, and Python then keeps it ignored; reset it.
    process = subprocess.Popen(
        [*argv, "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_ctrl_c_as_from_a_terminal,  # noqa: PLW1509 - one signal call, no locks
    )
    try:
        deadline = time.monotonic() + 60
        while deploy.cloudfront.count("ListInvalidations") == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        # WHEN it is interrupted (Ctrl-C)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    # THEN it exits 130, its report saying so
    assert process.returncode == 130, err
    assert json.loads(out)["outcome"] == "interrupted"


# -- the README's recipes ------------------------------------------------------------


def _readme_yaml(title: str) -> Any:
    """The YAML block of README.md whose first line is the comment `# <title>`."""
    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    [block] = [b for b in blocks if b.startswith(f"# {title}\n")]
    return yaml.safe_load(block)


def _github_steps() -> list[str]:
    """The `run:` scripts of the GitHub Actions steps, in order (`uses:` steps run elsewhere)."""
    steps = _readme_yaml("GitHub Actions")
    assert all(step.get("shell") == "bash" for step in steps if "run" in step)
    return [step["run"] for step in steps if "run" in step]


def _gitlab_script() -> list[str]:
    """The GitLab job's script lines; installing is this test's own business."""
    job = _readme_yaml("GitLab CI")["deploy-site"]
    return [line for line in job["script"] if not line.startswith("pip install")]


def _run_github(workdir: Path, env: dict[str, str], steps: list[str]) -> int:
    """Each step in `bash -eo pipefail` (GitHub's `shell: bash`), $GITHUB_ENV carried over."""
    github_env = workdir / "github.env"
    github_env.touch()
    code = 0
    for script in steps:
        carried = dict(line.split("=", 1) for line in github_env.read_text().splitlines() if line)
        run = {**env, **carried, "GITHUB_ENV": str(github_env)}
        code = subprocess.run(
            ["bash", "-eo", "pipefail", "-c", script], check=False, cwd=workdir, env=run, timeout=120
        ).returncode
        if code:
            return code
    return code


def _run_gitlab(workdir: Path, env: dict[str, str], lines: list[str]) -> int:
    """The script lines in one bash session, as GitLab's runner does (`set -eo pipefail`)."""
    script = "set -eo pipefail\n" + "\n".join(lines)
    return subprocess.run(["bash", "-c", script], check=False, cwd=workdir, env=env, timeout=120).returncode


@pytest.mark.recipes  # real CLIs in real time: .ci/run's recipes stage
@pytest.mark.parametrize(
    ("ci", "progress"),
    [("GitHub Actions", False), ("GitLab CI", False), ("GitHub Actions", True)],
    ids=["github", "gitlab", "github-without---no-progress"],
)
def test_the_readme_recipe_gives_wait_every_delete_with_the_real_aws_cli(
    moto_server: str, tmp_path: Path, ci: str, progress: bool
) -> None:
    # GIVEN the README's bucket with an old page and a page the deploy changes
    stack = make_stack(moto_server, bucket="my-site-bucket")
    old_pages = {"old.html": "old", "docs/gone page.html": "gone"}
    stack.deploy({**old_pages, "keep.html": "v1"})
    public = tmp_path / "public"
    (public / "docs").mkdir(parents=True)
    (public / "index.html").write_text("<h1>v2</h1>")
    (public / "keep.html").write_text("v2")
    (tmp_path / "config.toml").write_text(config_toml(settings_for(stack)))
    with StrictCloudFront(moto_server) as cloudfront:
        env = {
            **watcher_env(moto_server),
            "AWS_ENDPOINT_URL": moto_server,
            "AWS_ENDPOINT_URL_CLOUDFRONT": cloudfront.url,
            "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        }
        steps = _github_steps() if ci == "GitHub Actions" else _gitlab_script()
        assert any("--timeout 900" in step for step in steps)
        short = [step.replace("--timeout 900", "--timeout 3") for step in steps]
        if progress:  # a user who drops --no-progress: the CLI's \r progress precedes each delete
            short = [step.replace(" --no-progress", "") for step in short]
            assert short != [step.replace("--timeout 900", "--timeout 3") for step in steps]
        run = _run_github if ci == "GitHub Actions" else _run_gitlab
        # AND the daemon's invalidation of the uploads (made while wait looks), not of the deletes
        uploads = ["/index.html", "/", "/keep.html"]
        cloudfront.on_list(lambda n: n == 2 and cloudfront.add(stack.distribution_id, uploads))
        # WHEN the recipe runs: the real `aws s3 sync --delete`, then `watcher wait`
        code = run(tmp_path, env, short)
        # THEN the sync deleted, and wait waits for both deletes (exit 1, they are pending)
        report = json.loads((tmp_path / "wait-report.json").read_text())
        jsonschema.validate(report, SCHEMA)
        assert code == 1, report
        pending = [p["path"] for d in report["distributions"] for p in d["pending"]]
        assert sorted(pending) == ["/docs/gone%20page.html", "/old.html"]
        if progress:
            assert b"\r" in (tmp_path / "sync.log").read_bytes()
        # AND the same recipe, on the next deploy deleting them again, is live once a wildcard covers them
        stack.deploy(old_pages)
        cloudfront.on_list(lambda n: n == 2 and cloudfront.add(stack.distribution_id, ["/*"]))
        assert run(tmp_path, env, short) == 0
        report = json.loads((tmp_path / "wait-report.json").read_text())
        assert {p["key"] for p in report["distributions"][0]["pending"]} == set()
        assert report["paths"] >= 2  # the two deletes again
