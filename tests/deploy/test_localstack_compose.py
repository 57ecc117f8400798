"""deploy/localstack: the compose file's wiring, and init.sh run for real.

There is no container engine here, so the compose file is checked as data; its
init script runs against moto's server (standing in for LocalStack's S3/SQS and
for CloudFront), and the watcher then invalidates a deploy with the config the
script wrote.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

pytestmark = pytest.mark.deploy

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / "deploy" / "localstack"


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((LOCAL / "compose.yaml").read_text())
    return document


def aws_cli() -> str:
    """The aws CLI of the tools venv (deploy/tools-venv.sh), else one on PATH."""
    tools = ROOT / ".cache" / "tools-venv" / "bin" / "aws"
    if tools.exists():
        return str(tools)
    found = shutil.which("aws")
    if found is None:
        pytest.skip("no aws CLI: run deploy/tools-venv.sh (installs deploy/tools-requirements.txt)")
    return found


def test_every_port_is_published_on_loopback_only() -> None:
    for name, service in compose()["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port}"


def test_localstack_serves_s3_and_sqs_with_the_auth_token_passed_through() -> None:
    localstack = compose()["services"]["localstack"]["environment"]
    assert localstack["SERVICES"] == "s3,sqs"
    assert localstack["LOCALSTACK_AUTH_TOKEN"].startswith("${LOCALSTACK_AUTH_TOKEN:?")


def test_watcher_reaches_localstack_for_s3_sqs_and_moto_for_cloudfront() -> None:
    services = compose()["services"]
    watcher = services["watcher"]
    env = watcher["environment"]
    assert env["AWS_ENDPOINT_URL_S3"] == env["AWS_ENDPOINT_URL_SQS"] == "http://localstack:4566"
    assert env["AWS_ENDPOINT_URL_CLOUDFRONT"] == "http://moto:5000"
    assert watcher["depends_on"]["init"]["condition"] == "service_completed_successfully"
    assert watcher["read_only"] is True
    assert (LOCAL / watcher["build"]["context"] / watcher["build"]["dockerfile"]).resolve() == (
        ROOT / "Dockerfile"
    )
    # the config init writes is the config the watcher reads
    init = services["init"]
    shared = next(v.split(":")[1] for v in init["volumes"] if v.startswith("watcher-config:"))
    mounted = next(v.split(":")[1] for v in watcher["volumes"] if v.startswith("watcher-config:"))
    assert init["environment"]["CONFIG_OUT"] == f"{shared}/config.toml"
    assert env["WATCHER_CONFIG"] == f"{mounted}/config.toml"


def test_moto_image_is_the_locked_moto_release() -> None:
    locked = re.search(r"^moto==(\S+) ", (ROOT / "requirements" / "dev.txt").read_text(), re.MULTILINE)
    assert locked is not None
    assert compose()["services"]["moto"]["image"].endswith(f":${{MOTO_VERSION:-{locked.group(1)}}}")


def test_init_wires_a_site_that_the_watcher_then_invalidates(moto_server: str, tmp_path: Path) -> None:
    # GIVEN init.sh run twice against the emulator (the second run must change nothing)
    config = tmp_path / "config.toml"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WATCHER_", "AWS_ENDPOINT_URL"))}
    env.update(
        {
            "AWS_ENDPOINT_URL_S3": moto_server,
            "AWS_ENDPOINT_URL_SQS": moto_server,
            "AWS_ENDPOINT_URL_CLOUDFRONT": moto_server,
            "CONFIG_OUT": str(config),
            "PATH": f"{Path(aws_cli()).parent}:{env.get('PATH', '')}",
        }
    )
    texts = []
    for _ in range(2):
        subprocess.run(["sh", str(LOCAL / "init.sh")], env=env, check=True, capture_output=True)
        texts.append(config.read_text())
    assert texts[0] == texts[1]
    distribution = re.search(r'distribution_id = "(\w+)"', texts[0])
    assert distribution is not None
    # WHEN a deploy lands in the bucket and the watcher runs once with that config
    s3 = boto3.client("s3", endpoint_url=moto_server)
    s3.put_object(Bucket="my-site-bucket", Key="docs/index.html", Body=b"<h1>new</h1>")
    run_env = {**env, "WATCHER__HTTP__LISTEN": "127.0.0.1:0"}
    result = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "watcher"),
            "run",
            "--config",
            str(config),
            "--once",
            "--max-seconds",
            "30",
        ],
        env=run_env,
        capture_output=True,
        text=True,
        check=False,
        timeout=90,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # THEN the distribution got exactly the changed object and its directory
    cloudfront = boto3.client("cloudfront", endpoint_url=moto_server)
    items = cloudfront.list_invalidations(DistributionId=distribution.group(1))["InvalidationList"]
    (invalidation,) = items["Items"]
    paths = cloudfront.get_invalidation(DistributionId=distribution.group(1), Id=invalidation["Id"])
    assert sorted(paths["Invalidation"]["InvalidationBatch"]["Paths"]["Items"]) == [
        "/docs/",
        "/docs/index.html",
    ]
