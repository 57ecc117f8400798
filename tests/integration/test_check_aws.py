"""`watcher check --aws`: the queue and the distributions answer, or one line says what does not."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.site import make_stack, settings_for
from watcher.commands.checks import check_aws
from watcher.commands.demo.emulator import environment


def test_a_wired_stack_passes(moto_server: str, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a bucket wired to a queue and a distribution, in the emulator
    stack = make_stack(moto_server)
    with environment({"AWS_ENDPOINT_URL": moto_server}):
        # WHEN check --aws runs THEN it finds no problem
        assert check_aws(settings_for(stack)) == []
    assert "AWS OK" in capsys.readouterr().out


def test_a_missing_distribution_and_a_fifo_queue_are_one_line_each(moto_server: str) -> None:
    # GIVEN a config naming a FIFO queue and a distribution that does not exist
    stack = make_stack(moto_server)
    fifo = stack.sqs.create_queue(QueueName="changes.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    settings = settings_for(stack).model_copy(
        update={
            "sqs": settings_for(stack).sqs.model_copy(update={"queue_url": fifo}),
            "sites": (settings_for(stack).sites[0].model_copy(update={"distribution_id": "ENOSUCH"}),),
        }
    )
    with environment({"AWS_ENDPOINT_URL": moto_server}):
        problems = check_aws(settings)
    # THEN each problem is one line, the distribution's with the hint setup gives too
    assert problems == [
        "sqs.queue_url: FIFO queues cannot receive S3 notifications",
        "distribution ENOSUCH does not exist in account: check sites[].distribution_id",
    ]


def test_check_aws_says_per_site_whether_unchanged_writes_can_be_skipped(
    moto_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN two sites: one on a versioned bucket, one on an unversioned bucket
    stack = make_stack(moto_server)
    stack.s3.put_bucket_versioning(Bucket=stack.bucket, VersioningConfiguration={"Status": "Enabled"})
    stack.s3.create_bucket(Bucket="plain-bucket")
    sites: Any = [
        {"bucket": stack.bucket, "distribution_id": stack.distribution_id},
        {"bucket": "plain-bucket", "distribution_id": stack.distribution_id, "prefix": "docs/"},
    ]
    settings = settings_for(stack, sites=sites)
    # WHEN check --aws runs
    with environment({"AWS_ENDPOINT_URL": moto_server}):
        assert check_aws(settings) == []
    # THEN it says, per site, whether unchanged writes are skipped
    out = capsys.readouterr().out
    assert (
        f"site s3://{stack.bucket}/ -> {stack.distribution_id}: versioning Enabled:"
        " unchanged writes are skipped" in out
    )
    assert "site s3://plain-bucket/docs/" in out
    assert "versioning never enabled: every write is a change (watcher setup --enable-versioning" in out
