"""The setup decisions as plain data: S3's overlap rule, the plan, AccessDenied lines, IAM documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from watcher.cli import main
from watcher.commands.iam import Account, kms_key_resource, setup_policy, watcher_policy
from watcher.commands.setup.discover import describe_error
from watcher.commands.setup.overlap import KeyFilter, NotificationEntry, events_overlap, first_overlap
from watcher.commands.setup.plan import plan_setup
from watcher.commands.setup.state import (
    BucketState,
    Observed,
    QueueState,
    RuleState,
    Target,
)
from watcher.core.config import Settings

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:site-changes"
LAMBDA_ARN = "arn:aws:lambda:us-east-1:123456789012:function:thumbs"


@pytest.mark.parametrize(
    ("ours", "theirs", "overlap"),
    [
        (["s3:ObjectCreated:*"], ["s3:ObjectCreated:Put"], True),
        (["s3:ObjectCreated:Put"], ["s3:ObjectCreated:*"], True),
        (["s3:ObjectCreated:Put"], ["s3:ObjectCreated:Copy"], False),
        (["s3:ObjectRemoved:*"], ["s3:ObjectRemoved:DeleteMarkerCreated"], True),
        (["s3:ObjectCreated:*", "s3:ObjectRemoved:*"], ["s3:ObjectTagging:*", "s3:ObjectRestore:*"], False),
        (["s3:LifecycleExpiration:*"], ["s3:LifecycleExpiration:Delete"], True),
    ],
)
def test_event_types_overlap_within_one_family(ours: list[str], theirs: list[str], overlap: bool) -> None:
    assert events_overlap(ours, theirs) is overlap


@pytest.mark.parametrize(
    ("one", "other", "overlap"),
    [
        (KeyFilter(), KeyFilter(prefix="uploads/"), True),  # empty prefix matches every key
        (KeyFilter(prefix="www/"), KeyFilter(prefix="uploads/"), False),
        (KeyFilter(prefix="www/"), KeyFilter(prefix="www/img/"), True),
        (KeyFilter(suffix=".jpg"), KeyFilter(suffix=".html"), False),
        (KeyFilter(prefix="a/", suffix=".jpg"), KeyFilter(prefix="a/b/", suffix="x.jpg"), True),
        (KeyFilter(prefix="a/", suffix=".jpg"), KeyFilter(prefix="b/", suffix=".jpg"), False),
    ],
)
def test_key_filters_overlap_when_prefixes_and_suffixes_both_do(
    one: KeyFilter, other: KeyFilter, overlap: bool
) -> None:
    assert one.overlaps(other) is overlap
    assert other.overlaps(one) is overlap


def test_filter_rule_names_are_read_case_insensitively() -> None:
    api = {"Key": {"FilterRules": [{"Name": "Prefix", "Value": "img/"}, {"Name": "suffix", "Value": ".png"}]}}
    assert KeyFilter.from_api(api) == KeyFilter("img/", ".png")


def test_first_overlap_needs_events_and_filters_to_meet() -> None:
    ours = [NotificationEntry("queue", QUEUE_ARN, ("s3:ObjectCreated:*",), KeyFilter(prefix="www/"))]
    elsewhere = NotificationEntry(
        "lambda", LAMBDA_ARN, ("s3:ObjectCreated:Put",), KeyFilter(prefix="uploads/")
    )
    same_place = NotificationEntry("lambda", LAMBDA_ARN, ("s3:ObjectCreated:Put",), KeyFilter(suffix=".html"))
    assert first_overlap(ours, [elsewhere]) is None
    assert first_overlap(ours, [elsewhere, same_place]) == (ours[0], same_place)


def _target(**prefixes: tuple[str, ...]) -> Target:
    return Target("123456789012", "us-east-1", "site-changes", prefixes or {"site": ("",)})


def _observed(notification: dict[str, Any], *, queue: QueueState | None = None) -> Observed:
    return Observed(
        queue=queue or QueueState(exists=False),
        dlq=QueueState(exists=False),
        buckets=(BucketState("site", "us-east-1", notification),),
        rule=RuleState(exists=False),
    )


def test_an_empty_account_gets_dlq_queue_then_notification_in_that_order() -> None:
    # GIVEN nothing exists WHEN planning THEN the DLQ, the queue (with its policy), then the bucket
    plan = plan_setup(_target(), _observed({}))
    assert [a.kind for a in plan.actions] == ["create_queue", "create_queue", "put_bucket_notification"]
    queue_attributes = plan.actions[1].params["Attributes"]
    statement = json.loads(queue_attributes["Policy"])["Statement"][0]
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"] == ["arn:aws:s3:::site"]
    assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"
    assert not plan.problems


def test_a_lambda_on_other_events_is_kept_beside_our_entry() -> None:
    lambda_entry = {"Id": "thumbs", "LambdaFunctionArn": LAMBDA_ARN, "Events": ["s3:ObjectTagging:*"]}
    plan = plan_setup(_target(), _observed({"LambdaFunctionConfigurations": [lambda_entry]}))
    configuration = plan.actions[-1].params["Configuration"]
    assert configuration["LambdaFunctionConfigurations"] == [lambda_entry]
    assert configuration["QueueConfigurations"][0]["QueueArn"] == QUEUE_ARN
    assert "EventBridgeConfiguration" not in configuration


def test_taken_created_events_send_the_bucket_the_eventbridge_way() -> None:
    taken = {"LambdaFunctionArn": LAMBDA_ARN, "Events": ["s3:ObjectCreated:Put"], "Id": "resize"}
    plan = plan_setup(_target(), _observed({"LambdaFunctionConfigurations": [taken]}))
    kinds = [a.kind for a in plan.actions]
    assert kinds == ["create_queue", "create_queue", "put_rule", "put_targets", "put_bucket_notification"]
    assert plan.actions[-1].params["Configuration"]["EventBridgeConfiguration"] == {}
    assert plan.actions[-1].params["Configuration"]["QueueConfigurations"] == []
    assert any("through EventBridge" in fact and "resize" in fact for fact in plan.facts)


def test_site_prefixes_keep_us_clear_of_another_prefix() -> None:
    # GIVEN a Lambda on uploads/ and a site under www/: no overlap, so direct notification with a filter
    taken = {"LambdaFunctionArn": LAMBDA_ARN, "Events": ["s3:ObjectCreated:*"], "Filter": _prefix("uploads/")}
    plan = plan_setup(_target(site=("www/",)), _observed({"LambdaFunctionConfigurations": [taken]}))
    [ours] = plan.actions[-1].params["Configuration"]["QueueConfigurations"]
    assert ours["Filter"] == _prefix("www/", name="prefix")


def _prefix(value: str, name: str = "Prefix") -> dict[str, Any]:
    return {"Key": {"FilterRules": [{"Name": name, "Value": value}]}}


def test_what_is_in_place_plans_nothing() -> None:
    # GIVEN the state a first apply leaves WHEN planning again THEN no action
    first = plan_setup(_target(), _observed({}))
    queue = QueueState(True, "https://q", dict(first.actions[1].params["Attributes"]))
    applied = Observed(
        queue=queue,
        dlq=QueueState(True, "https://dlq"),
        buckets=(BucketState("site", "us-east-1", first.actions[-1].params["Configuration"]),),
        rule=RuleState(exists=False),
    )
    assert plan_setup(_target(), applied).actions == []


def test_other_statements_of_the_queue_policy_are_kept() -> None:
    theirs = {"Sid": "Ops", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "sqs:*"}
    attributes = {
        "Policy": json.dumps({"Version": "2012-10-17", "Statement": [theirs]}),
        "RedrivePolicy": "{}",
    }
    plan = plan_setup(_target(), _observed({}, queue=QueueState(True, "https://q", attributes)))
    [update] = [a for a in plan.actions if a.kind == "set_queue_attributes"]
    statements = json.loads(update.params["Attributes"]["Policy"])["Statement"]
    assert statements[0] == theirs
    assert "RedrivePolicy" not in update.params["Attributes"]  # an existing redrive policy is kept


def test_a_customer_key_is_a_note_and_the_managed_key_a_problem() -> None:
    customer = QueueState(True, "https://q", {"KmsMasterKeyId": "alias/site-queue"})
    managed = QueueState(True, "https://q", {"KmsMasterKeyId": "alias/aws/sqs"})
    assert not plan_setup(_target(), _observed({}, queue=customer)).problems
    assert "SSE-SQS" in plan_setup(_target(), _observed({}, queue=managed)).problems[0]


def test_access_denied_says_which_policy_to_attach() -> None:
    denied = ClientError(
        {"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetBucketNotificationConfiguration"
    )
    line = describe_error(denied, "s3:GetBucketNotification of bucket site")
    assert line.startswith("AccessDenied on s3:GetBucketNotification of bucket site")
    assert "watcher iam-policy --for setup" in line


SETTINGS = Settings.model_validate(
    {
        "watcher": {"sources": ["sqs", "poll"]},
        "sqs": {"queue_url": "https://sqs.eu-west-1.amazonaws.com/111122223333/site-changes"},
        "sites": [
            {"bucket": "site", "distribution_id": "E1", "prefix": "www/"},
            {"bucket": "site", "distribution_id": "E2", "prefix": "www/blog/"},
        ],
    }
)
ACCOUNT = Account("111122223333", "eu-west-1")


def _resources(document: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for statement in document["Statement"]:
        resource = statement["Resource"]
        found.update([resource] if isinstance(resource, str) else resource)
    return found


def test_the_watcher_policy_names_only_configured_resources() -> None:
    document = watcher_policy(SETTINGS, ACCOUNT, mode="both", kms_key="1234abcd-12ab")
    assert _resources(document) == {
        "arn:aws:sqs:eu-west-1:111122223333:site-changes",
        "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab",
        "arn:aws:cloudfront::111122223333:distribution/E1",
        "arn:aws:cloudfront::111122223333:distribution/E2",
        "arn:aws:s3:::site",
        "arn:aws:s3:::site/www/*",  # the content check's HeadObject of versions (skip_unchanged)
    }
    listing = next(s for s in document["Statement"] if s["Action"] == "s3:ListBucket")
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["www/*"]}}


def test_the_dead_letter_queue_depth_is_readable_and_nothing_more() -> None:
    dlq = "arn:aws:sqs:eu-west-1:111122223333:site-changes-dlq"
    document = watcher_policy(SETTINGS, ACCOUNT, mode="sqs", dlq_arn=dlq)
    [statement] = [s for s in document["Statement"] if s["Resource"] == dlq]
    assert statement["Action"] == ["sqs:GetQueueAttributes", "sqs:GetQueueUrl"]


def test_iam_policy_offline_assumes_the_setup_dlq_and_honours_aws_region(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a queue URL that names no region (an emulator), AWS_REGION set, AWS_DEFAULT_REGION not
    config = tmp_path / "config.toml"
    config.write_text(
        '[sqs]\nqueue_url = "http://127.0.0.1:4566/111122223333/q"\n'
        '[[sites]]\nbucket = "b"\ndistribution_id = "E1"\n'
    )
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    offline = ["iam-policy", "--config", str(config), "--account-id", "111122223333"]
    # WHEN the watcher's policy is printed offline, then with --dlq-name ''
    assert main(offline) == 0
    assumed = capsys.readouterr()
    assert main([*offline, "--dlq-name", ""]) == 0
    without = json.loads(capsys.readouterr().out)
    # THEN the ARNs are in AWS_REGION, the DLQ is assumed to be q-dlq (and it says so) ...
    assert "arn:aws:sqs:eu-central-1:111122223333:q" in assumed.out
    assert "arn:aws:sqs:eu-central-1:111122223333:q-dlq" in assumed.out
    assert "--dlq-name" in assumed.err
    # ... and --dlq-name '' leaves it out
    assert "q-dlq" not in json.dumps(without)


def test_sqs_mode_reads_only_versions_and_no_kms_without_a_customer_key() -> None:
    document = watcher_policy(SETTINGS, ACCOUNT, mode="sqs")
    s3 = sorted(a for s in document["Statement"] for a in [s["Action"]] if str(a).startswith("s3:"))
    # the content check (skip_unchanged): the version before a write, and both versions' headers
    assert s3 == ["s3:GetObjectVersion", "s3:ListBucketVersions"]
    assert "kms:" not in json.dumps([s["Action"] for s in document["Statement"]])


def test_sqs_mode_without_skip_unchanged_reads_no_bucket() -> None:
    settings = SETTINGS.model_copy(
        update={"invalidation": SETTINGS.invalidation.model_copy(update={"skip_unchanged": False})}
    )
    document = watcher_policy(settings, ACCOUNT, mode="sqs")
    assert "s3:" not in json.dumps([s["Action"] for s in document["Statement"]])


def test_an_alias_is_matched_through_resource_aliases() -> None:
    resource, condition = kms_key_resource("alias/site-queue", ACCOUNT)
    assert resource == "arn:aws:kms:eu-west-1:111122223333:key/*"
    assert condition == {"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/site-queue"}}


def test_the_setup_policy_names_queue_dlq_buckets_rule_and_distributions() -> None:
    assert _resources(setup_policy(SETTINGS, ACCOUNT)) == {
        "arn:aws:sqs:eu-west-1:111122223333:site-changes",
        "arn:aws:sqs:eu-west-1:111122223333:site-changes-dlq",
        "arn:aws:s3:::site",
        "arn:aws:events:eu-west-1:111122223333:rule/cloudfront-watcher-site-changes",
        "arn:aws:cloudfront::111122223333:distribution/E1",
        "arn:aws:cloudfront::111122223333:distribution/E2",
    }


def test_iam_policy_offline_prints_json_and_rejects_a_bad_account_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[sqs]\nqueue_url = "https://sqs.us-east-1.amazonaws.com/123456789012/q"\n'
        '[[sites]]\nbucket = "b"\ndistribution_id = "E1"\n'
    )
    assert main(["iam-policy", "--config", str(config), "--account-id", "123456789012"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert "arn:aws:sqs:us-east-1:123456789012:q" in _resources(document)
    assert main(["iam-policy", "--config", str(config), "--account-id", "12"]) == 2


_PARTITIONS = (("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov"))


@pytest.mark.parametrize("case", [(r, p, m) for r, p in _PARTITIONS for m in ("watcher", "setup", "wait")])
def test_an_offline_policy_takes_its_partition_from_the_region(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    case: tuple[str, str, str],
) -> None:
    region, partition, mode = case
    # GIVEN a site in a region outside the `aws` partition, and no AWS call (--account-id)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[aws]\nregion = "{region}"\n'
        f'[sqs]\nqueue_url = "https://sqs.{region}.amazonaws.com/111122223333/q"\n'
        '[[sites]]\nbucket = "b"\ndistribution_id = "E1"\n'
    )
    monkeypatch.delenv("AWS_REGION", raising=False)
    # WHEN a policy is printed offline
    assert main(["iam-policy", "--for", mode, "--config", str(config), "--account-id", "111122223333"]) == 0
    document = json.loads(capsys.readouterr().out)
    # THEN every ARN it names is in that region's partition
    arns = [r for s in document["Statement"] for r in _as_list(s["Resource"]) if r != "*"]
    assert arns
    assert all(arn.startswith(f"arn:{partition}:") for arn in arns), arns


def _as_list(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]
