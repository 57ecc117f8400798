"""The watcher against LocalStack's S3 and SQS (events closer to real S3 than moto's),
with CloudFront from moto behind the strict stand-in (LocalStack's CloudFront is paid-only)."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from tests.support.cloudfront_proxy import StrictCloudFront
from tests.support.localstack import LOCALSTACK_TIMEOUT, localstack_client, wire_bucket_to_queue
from tests.support.site import run_cli, watcher_env
from watcher.commands.demo.emulator import create_distribution

pytestmark = [pytest.mark.localstack, pytest.mark.timeout(LOCALSTACK_TIMEOUT)]

DEPLOY = {
    "docs/a b.html": "/docs/a%20b.html",
    "café/index.html": "/caf%C3%A9/index.html",
    "日本/ページ.html": "/%E6%97%A5%E6%9C%AC/%E3%83%9A%E3%83%BC%E3%82%B8.html",
    "x+y.txt": "/x+y.txt",
}


def test_a_deploy_with_spaces_and_unicode_is_invalidated_exactly(
    localstack: str, moto_server: str, tmp_path: Path
) -> None:
    # GIVEN a LocalStack bucket wired to a LocalStack queue, and a distribution behind StrictCloudFront
    queue_url = wire_bucket_to_queue(localstack, "ls-site", "ls-changes")
    with StrictCloudFront(moto_server) as cloudfront_proxy:
        cloudfront = boto3.client("cloudfront", endpoint_url=cloudfront_proxy.url, region_name="us-east-1")
        distribution_id = create_distribution(cloudfront, "ls-site")
        config = tmp_path / "config.toml"
        config.write_text(
            "[sqs]\n"
            f'queue_url = "{queue_url}"\n'
            "wait_time_seconds = 2\n"
            "[http]\n"
            'listen = "127.0.0.1:0"\n'
            "[invalidation]\n"
            "quiet_period_seconds = 1\n"
            "[[sites]]\n"
            'bucket = "ls-site"\n'
            f'distribution_id = "{distribution_id}"\n'
        )
        # WHEN the deploy lands in LocalStack's S3 and the watcher drains the queue
        s3 = localstack_client(localstack, "s3")
        for key in DEPLOY:
            s3.put_object(Bucket="ls-site", Key=key, Body=b"<html></html>")
        env = watcher_env(
            moto_server,
            AWS_ENDPOINT_URL_S3=localstack,
            AWS_ENDPOINT_URL_SQS=localstack,
            AWS_ENDPOINT_URL_CLOUDFRONT=cloudfront_proxy.url,
        )
        result = run_cli(["run", "--config", str(config), "--once", "--max-seconds", "60"], env=env)
        # THEN one invalidation holds exactly the encoded paths (and both forms of '+')
        assert result.returncode == 0, result.stderr[-3000:]
        (invalidation,) = cloudfront_proxy.invalidations
        expected = set(DEPLOY.values()) | {"/caf%C3%A9/", "/x%2By.txt"}
        assert set(invalidation.paths) == expected
        attributes = localstack_client(localstack, "sqs").get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        assert attributes == {
            "ApproximateNumberOfMessages": "0",
            "ApproximateNumberOfMessagesNotVisible": "0",
        }
