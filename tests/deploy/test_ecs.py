"""The ECS example: a task definition ECS would accept, and a least-privilege policy."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.validate import validate_parameters

pytestmark = pytest.mark.deploy

ROOT = Path(__file__).resolve().parents[2]
ECS = ROOT / "deploy" / "ecs"


def task_definition() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((ECS / "task-definition.json").read_text())
    return document


def watcher_container() -> dict[str, Any]:
    (container,) = task_definition()["containerDefinitions"]
    return dict(container)


def test_task_definition_matches_the_ecs_api() -> None:
    # botocore's own model of RegisterTaskDefinition, offline: every field name and type
    model = botocore.session.get_session().get_service_model("ecs")
    shape = model.operation_model("RegisterTaskDefinition").input_shape
    assert shape is not None
    validate_parameters(task_definition(), shape)  # raises ParamValidationError


def test_health_check_needs_no_shell_and_stop_timeout_covers_the_drain() -> None:
    container = watcher_container()
    assert container["healthCheck"]["command"] == ["CMD", "watcher", "healthcheck"]
    env = {item["name"]: item["value"] for item in container["environment"]}
    assert container["stopTimeout"] > int(env["WATCHER__WATCHER__SHUTDOWN_TIMEOUT_SECONDS"])
    assert container["stopTimeout"] <= 120  # Fargate's ceiling
    assert container["readonlyRootFilesystem"] is True
    assert container["logConfiguration"]["logDriver"] == "awslogs"
    assert task_definition()["taskRoleArn"].endswith(":role/cloudfront-watcher")


def test_the_task_keeps_two_malloc_arenas_as_the_image_does() -> None:
    env = {item["name"]: item["value"] for item in watcher_container()["environment"]}
    assert env["MALLOC_ARENA_MAX"] == "2"
    assert "MALLOC_ARENA_MAX=2" in (ROOT / "Dockerfile").read_text()


def test_environment_alone_is_a_valid_config(tmp_path: Path) -> None:
    # GIVEN no config file in the container (the image's WATCHER_CONFIG points at none)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")}
    env.update({item["name"]: item["value"] for item in watcher_container()["environment"]})
    env["WATCHER_CONFIG"] = str(tmp_path / "absent.toml")
    # WHEN the task's environment is checked THEN the watcher accepts it
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "watcher"), "check"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_policy_is_least_privilege() -> None:
    policy = json.loads((ECS / "iam-policy.json").read_text())
    for statement in policy["Statement"]:
        actions = statement["Action"]
        actions = [actions] if isinstance(actions, str) else actions
        assert all("*" not in action for action in actions), statement["Sid"]
        resources = statement["Resource"]
        resources = [resources] if isinstance(resources, str) else resources
        # a named queue, distribution or bucket: never a bare "*"
        assert all(resource.startswith("arn:aws:") for resource in resources), statement["Sid"]
    allowed = {
        a
        for s in policy["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"} <= allowed
    assert "cloudfront:CreateInvalidation" in allowed
    assert not {"sqs:SendMessage", "s3:PutObject", "s3:DeleteObject"} & allowed


def test_the_execution_role_may_create_the_log_group_the_task_names() -> None:
    # GIVEN a task definition that lets ECS create its log group at the first start
    options = watcher_container()["logConfiguration"]["options"]
    assert options["awslogs-create-group"] == "true"
    # WHEN the execution role has the policy shipped beside it (the managed
    # AmazonECSTaskExecutionRolePolicy lacks logs:CreateLogGroup)
    policy = json.loads((ECS / "execution-role-policy.json").read_text())
    (statement,) = policy["Statement"]
    # THEN it grants exactly that action, on exactly that group, in the task's region
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "logs:CreateLogGroup"
    region, group = options["awslogs-region"], options["awslogs-group"]
    assert statement["Resource"] == f"arn:aws:logs:{region}:123456789012:log-group:{group}:*"
    assert task_definition()["executionRoleArn"].endswith(":role/ecsTaskExecutionRole")


def test_the_docs_say_the_task_needs_egress_for_cloudfront() -> None:
    # CloudFront's API has no VPC endpoint: the ECS docs must say so and name each endpoint
    docs = (ROOT / "docs" / "deploy.md").read_text()
    ecs = docs.split("## ECS", 1)[1].split("\n## ", 1)[0]
    assert "no VPC endpoint" in ecs
    assert "NAT" in ecs
    assert "logs:CreateLogGroup" in ecs
    for endpoint in ("cloudfront.amazonaws.com", "sqs.REGION", "s3.REGION", "sts.REGION", "events.REGION"):
        assert f"`{endpoint}" in ecs, endpoint
