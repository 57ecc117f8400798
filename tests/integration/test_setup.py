"""`watcher setup` and `watcher iam-policy` against moto's server over HTTP."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.site import aws_clients
from watcher.cli import main
from watcher.commands.demo.emulator import create_distribution

LAMBDA_ARN = "arn:aws:lambda:us-east-1:123456789012:function:thumbnails"
OTHER_QUEUE = "search-indexer"


@dataclass
class Ran:
    """What one in-process `watcher ...` printed (a subprocess would cost ~2 s of imports each)."""

    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def watcher_cli(moto_server: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """Runs `watcher ARGS` in this process against the moto server."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("AWS_REGION", "us-east-1")

    def run(args: list[str]) -> Ran:
        capsys.readouterr()
        code = main(args)
        out, err = capsys.readouterr()
        return Ran(code, out, err)

    run.endpoint = moto_server  # type: ignore[attr-defined]
    return run


def _config(tmp_path: Path, sites: list[dict[str, str]], queue_url: str = "") -> Path:
    lines = ["[watcher]", 'sources = ["sqs"]', "[sqs]", f'queue_url = "{queue_url}"']
    for site in sites:
        lines += ["[[sites]]", *(f'{key} = "{value}"' for key, value in site.items())]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _queue_bodies(sqs: Any, queue_url: str, *, want: str, timeout: float = 10) -> list[str]:
    """Receive until a body mentions `want` (S3 also sends an s3:TestEvent)."""
    bodies: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not any(want in body for body in bodies):
        answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        bodies += [message["Body"] for message in answer.get("Messages", [])]
    return bodies


def test_setup_wires_a_bucket_next_to_a_lambda_and_a_second_run_changes_nothing(
    moto_server: str, tmp_path: Path, watcher_cli: Any
) -> None:
    # GIVEN a bucket whose tagging events already go to a Lambda, and its distribution
    s3, sqs, cloudfront = aws_clients(moto_server)
    s3.create_bucket(Bucket="site")
    lambda_entry: Any = {"Id": "thumbs", "LambdaFunctionArn": LAMBDA_ARN, "Events": ["s3:ObjectTagging:*"]}
    s3.put_bucket_notification_configuration(
        Bucket="site", NotificationConfiguration={"LambdaFunctionConfigurations": [lambda_entry]}
    )
    distribution = create_distribution(cloudfront, "site")
    config = _config(tmp_path, [{"bucket": "site", "distribution_id": distribution}])
    setup = ["setup", "--config", str(config), "--queue-name", "site-changes"]

    # WHEN setup runs without --apply
    planned = watcher_cli(setup)
    # THEN it prints the plan and creates nothing
    assert planned.returncode == 0, planned.stderr
    assert "create queue site-changes" in planned.stdout
    assert "nothing changed" in planned.stdout, planned.stdout
    assert "QueueUrls" not in sqs.list_queues()

    # WHEN it runs with --apply, then once more
    applied = watcher_cli([*setup, "--apply"])
    again = watcher_cli([*setup, "--apply"])

    # THEN the queue, its DLQ and the notification exist, the Lambda entry is kept ...
    assert applied.returncode == 0, applied.stderr
    assert 'queue_url = "' in applied.stdout
    notification = s3.get_bucket_notification_configuration(Bucket="site")
    assert notification["LambdaFunctionConfigurations"][0]["LambdaFunctionArn"] == LAMBDA_ARN
    [ours] = notification["QueueConfigurations"]
    assert set(ours["Events"]) == {"s3:ObjectCreated:*", "s3:ObjectRemoved:*", "s3:LifecycleExpiration:*"}
    queue_url = sqs.get_queue_url(QueueName="site-changes")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"].endswith(":site-changes-dlq")
    [statement] = json.loads(attributes["Policy"])["Statement"]
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    # ... the second run reports no changes ...
    assert again.returncode == 0, again.stderr
    assert "no changes" in again.stdout
    # ... and an upload reaches the watcher's queue
    s3.put_object(Bucket="site", Key="index.html", Body=b"<h1>v2</h1>")
    assert any("index.html" in body for body in _queue_bodies(sqs, queue_url, want="index.html"))


def test_a_bucket_whose_created_events_are_taken_goes_the_eventbridge_way(
    moto_server: str, tmp_path: Path, watcher_cli: Any
) -> None:
    # GIVEN a bucket whose ObjectCreated events already feed another team's queue, and our queue
    s3, sqs, cloudfront = aws_clients(moto_server)
    s3.create_bucket(Bucket="site")
    other_url = sqs.create_queue(QueueName=OTHER_QUEUE)["QueueUrl"]
    other_arn = sqs.get_queue_attributes(QueueUrl=other_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    taken: Any = {"Id": "indexer", "QueueArn": other_arn, "Events": ["s3:ObjectCreated:Put"]}
    s3.put_bucket_notification_configuration(
        Bucket="site", NotificationConfiguration={"QueueConfigurations": [taken]}
    )
    queue_url = sqs.create_queue(QueueName="site-changes")["QueueUrl"]
    distribution = create_distribution(cloudfront, "site")
    config = _config(tmp_path, [{"bucket": "site", "distribution_id": distribution}], queue_url)

    # WHEN setup is applied twice
    applied = watcher_cli(["setup", "--config", str(config), "--apply"])
    again = watcher_cli(["setup", "--config", str(config), "--apply"])

    # THEN it says why, enables EventBridge on the bucket and keeps the other consumer's entry
    assert applied.returncode == 0, applied.stderr
    assert "through EventBridge" in applied.stdout
    notification = s3.get_bucket_notification_configuration(Bucket="site")
    assert [entry["QueueArn"] for entry in notification["QueueConfigurations"]] == [other_arn]
    # ... a rule for the bucket targets our queue, which lets that rule (only) send
    events = _events_client(moto_server)
    rule = events.describe_rule(Name="cloudfront-watcher-site-changes")
    assert json.loads(rule["EventPattern"])["detail"] == {"bucket": {"name": ["site"]}}
    [target] = events.list_targets_by_rule(Rule="cloudfront-watcher-site-changes")["Targets"]
    assert target["Arn"].endswith(":site-changes")
    policy = json.loads(
        sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["Policy"])["Attributes"]["Policy"]
    )
    assert [s["Principal"] for s in policy["Statement"]] == [{"Service": "events.amazonaws.com"}]
    assert policy["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"] == rule["Arn"]
    # ... an upload reaches our queue as an EventBridge event (so delivery is enabled) ...
    s3.put_object(Bucket="site", Key="index.html", Body=b"<h1>v2</h1>")
    bodies = _queue_bodies(sqs, queue_url, want="Object Created")
    assert any('"Object Created"' in body and "index.html" in body for body in bodies), bodies
    # ... and the second run changes only what moto cannot show: its GET omits EventBridgeConfiguration
    assert again.returncode == 0, again.stderr
    assert "+ " not in again.stdout.replace("+ bucket site: enable EventBridge delivery", ""), again.stdout


def _events_client(endpoint: str) -> Any:
    import boto3  # noqa: PLC0415

    return boto3.client("events", endpoint_url=endpoint, region_name="us-east-1")


def test_setup_names_each_problem_on_one_line_and_changes_nothing(tmp_path: Path, watcher_cli: Any) -> None:
    # GIVEN a queue on the AWS-managed KMS key whose policy denies sending, a bucket in another
    # region, and a distribution that does not exist
    s3, sqs, _ = aws_clients(watcher_cli.endpoint)
    policy = {"Statement": [{"Sid": "NoSend", "Effect": "Deny", "Principal": "*", "Action": "sqs:*"}]}
    attributes: Any = {"KmsMasterKeyId": "alias/aws/sqs", "Policy": json.dumps(policy)}
    queue_url = sqs.create_queue(QueueName="site-changes", Attributes=attributes)["QueueUrl"]
    s3.create_bucket(Bucket="eu-site", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    config = _config(tmp_path, [{"bucket": "eu-site", "distribution_id": "EMISSING"}], queue_url)

    # WHEN setup is applied
    ran = watcher_cli(["setup", "--config", str(config), "--apply"])

    # THEN it fails with one line per problem, and nothing was changed
    assert ran.returncode == 1
    problems = ran.stderr.strip().splitlines()
    assert len(problems) == 4, problems
    assert any("bucket eu-site is in eu-west-1 but the queue is in us-east-1" in p for p in problems)
    assert any("distribution EMISSING does not exist" in p for p in problems)
    assert any("AWS-managed key alias/aws/sqs" in p and "SSE-SQS" in p for p in problems)
    assert any("denies sqs:SendMessage (statement NoSend)" in p for p in problems)
    assert "DeadLetterQueue" not in str(sqs.list_queues())
    assert "QueueConfigurations" not in s3.get_bucket_notification_configuration(Bucket="eu-site")


def test_iam_policy_online_names_only_the_configured_arns(tmp_path: Path, watcher_cli: Any) -> None:
    # GIVEN a config naming one queue and one distribution, credentials for account 123456789012
    _, sqs, _ = aws_clients(watcher_cli.endpoint)
    queue_url = sqs.create_queue(QueueName="site-changes")["QueueUrl"]
    config = _config(tmp_path, [{"bucket": "site", "distribution_id": "E2EXAMPLE"}], queue_url)

    # WHEN the watcher's policy is printed (account id from STS)
    ran = watcher_cli(["iam-policy", "--config", str(config), "--mode", "both"])

    # THEN it is JSON whose resources are exactly the configured queue, distribution and bucket (objects)
    assert ran.returncode == 0, ran.stderr
    resources = {
        resource
        for statement in json.loads(ran.stdout)["Statement"]
        for resource in (
            [statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"]
        )
    }
    assert resources == {
        "arn:aws:sqs:us-east-1:123456789012:site-changes",
        "arn:aws:cloudfront::123456789012:distribution/E2EXAMPLE",
        "arn:aws:s3:::site",
        "arn:aws:s3:::site/*",  # the content check's HeadObject of versions (skip_unchanged)
    }


def test_the_plan_names_an_existing_queue_by_its_url(
    moto_server: str, tmp_path: Path, watcher_cli: Any
) -> None:
    # GIVEN a config without queue_url, and the queue --queue-name names already there
    s3, sqs, cloudfront = aws_clients(moto_server)
    s3.create_bucket(Bucket="site")
    queue_url = sqs.create_queue(QueueName="site-changes")["QueueUrl"]
    distribution = create_distribution(cloudfront, "site")
    config = _config(tmp_path, [{"bucket": "site", "distribution_id": distribution}])
    # WHEN setup plans (no --apply)
    planned = watcher_cli(["setup", "--config", str(config), "--queue-name", "site-changes"])
    # THEN the line to put in the config carries the queue's URL, not a promise of one
    assert planned.returncode == 0, planned.stderr
    assert f'put this in the config: [sqs] queue_url = "{queue_url}"' in planned.stdout
    assert "(created by --apply)" not in planned.stdout
