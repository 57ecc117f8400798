"""The printed IAM policies, proven by the calls the real commands make (pytest -m iam).

Each test runs `watcher ...` as a subprocess against moto through a recording
proxy, with botocore's client-side monitoring reporting every API call to a UDP
listener. THEN, per mode: both witnesses saw the same operations, every call is
allowed by the policy `watcher iam-policy` prints for that mode (action,
resource ARN, s3:prefix), and every grant of that policy was used by some call.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.iam.conftest import RECORDED
from tests.support import events
from tests.support.accounts import as_role
from tests.support.iam_calls import Call, CsmListener, RecordingProxy, judge
from tests.support.s3_events import s3_body
from tests.support.site import (
    WATCHER_BIN,
    aws_clients,
    config_toml,
    make_stack,
    queue_depth,
    run_cli,
    settings_for,
    watcher_env,
)
from tests.support.waiting import wait_until
from watcher.commands.demo.emulator import create_distribution

pytestmark = pytest.mark.iam


@dataclass
class Witnesses:
    """The recording proxy (resources) and the CSM listener (every call) of one test."""

    proxy: RecordingProxy
    csm: CsmListener

    def env(self, client_id: str, **extra: str) -> dict[str, str]:
        """A watcher subprocess environment: AWS through the proxy, CSM to the listener."""
        return watcher_env(self.proxy.url, **self.csm.env(client_id), **extra)


@pytest.fixture
def witnesses(moto_server: str) -> Iterator[Witnesses]:
    """GIVEN moto behind a recording proxy and a CSM listener."""
    with RecordingProxy(moto_server) as proxy, CsmListener() as csm:
        yield Witnesses(proxy, csm)


def _policy(config: Path, endpoint: str, *args: str) -> dict[str, Any]:
    """What `watcher iam-policy` prints, online (account from STS, DLQ from the RedrivePolicy)."""
    ran = run_cli(["iam-policy", "--config", str(config), *args], env=watcher_env(endpoint))
    assert ran.returncode == 0, ran.stderr
    policy: dict[str, Any] = json.loads(ran.stdout)
    return policy


def _assert_proven(
    mode: str, policy: Mapping[str, Any], calls: list[Call], w: Witnesses, *, proven_elsewhere: str = ""
) -> None:
    # Both witnesses saw the same operations: nothing bypassed the proxy.
    with contextlib.suppress(AssertionError):  # datagrams may trail; the assertion below names any gap
        wait_until(lambda: {api for _s, api in w.csm.api_calls(mode)} >= w.proxy.operations(), 5)
    csm_ops = {api for _service, api in w.csm.api_calls(mode)}
    assert csm_ops == w.proxy.operations(), (csm_ops, w.proxy.operations())
    verdict = judge(policy, calls)
    denied = sorted({(c.action, c.resource, c.context) for c in verdict.denied})
    assert not denied, f"{mode}: calls the policy denies: {denied}\npolicy: {json.dumps(policy, indent=1)}"
    unused = sorted((g for g in verdict.unused if g.action != proven_elsewhere), key=str)
    assert not unused, f"{mode}: grants no call used: {unused}"
    _report(mode, policy, calls, len(w.csm.api_calls(mode)))


def _report(mode: str, policy: Mapping[str, Any], calls: list[Call], csm_count: int) -> None:
    used: dict[str, int] = {}
    for call in calls:
        used[f"{call.action} {call.resource}"] = used.get(f"{call.action} {call.resource}", 0) + 1
    RECORDED[mode] = {
        "csm_api_calls": csm_count,
        "authorised_requests": len(calls),
        "by_grant": used,
        "policy": policy,
    }


def _daemon(config: Path, env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        return subprocess.Popen([WATCHER_BIN, "run", "--config", str(config)], env=dict(env), stderr=sink)


def _stop(process: subprocess.Popen[bytes], log: Path) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        assert process.wait(60) == 0, log.read_text()[-3000:]
    finally:
        if process.poll() is None:
            process.kill()


def test_sqs_mode_with_a_dead_letter_queue_and_completion(
    moto_server: str, witnesses: Witnesses, tmp_path: Path
) -> None:
    # GIVEN a bucket wired to a queue whose RedrivePolicy names a DLQ, wait_for_completion
    stack = make_stack(moto_server)
    dlq_url = stack.sqs.create_queue(QueueName="site-changes-dlq")["QueueUrl"]
    dlq_arn = stack.sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]
    redrive = {"deadLetterTargetArn": dlq_arn["QueueArn"], "maxReceiveCount": "3"}
    stack.sqs.set_queue_attributes(
        QueueUrl=stack.queue_url, Attributes={"RedrivePolicy": json.dumps(redrive)}
    )
    config = tmp_path / "config.toml"
    # ... a quiet period longer than a third of the visibility timeout (the batch's visibility is extended)
    # ... and completion events to an EventBridge bus
    aws_events = boto3.client("events", endpoint_url=moto_server, region_name="us-east-1")
    aws_events.create_event_bus(Name="deploys")
    settings = settings_for(
        stack,
        sqs={"visibility_timeout_seconds": 10},
        invalidation={"wait_for_completion": True, "quiet_period_seconds": 7, "max_delay_seconds": 15},
        notify={"eventbridge_bus": "deploys"},
    )
    config.write_text(config_toml(settings))
    policy = _policy(config, moto_server)
    # ... and CloudFront refuses the first CreateInvalidation (retried)
    witnesses.proxy.inject("503", 1, match=lambda r: r.action == "CreateInvalidation")

    # ... and a versioned bucket, where an identical re-upload is announced with its versionId as
    # real S3 does (moto's notifications lack it): the content check reads both versions
    stack.s3.put_bucket_versioning(Bucket=stack.bucket, VersioningConfiguration={"Status": "Enabled"})

    # WHEN the daemon runs through a deploy, then stops
    log = tmp_path / "watcher.log"
    process = _daemon(config, witnesses.env("sqs"), log)
    try:
        stack.deploy({"index.html": "v2", "app.js": "v2"})
        _announce_identical_write(stack.s3, stack.sqs, stack.queue_url, stack.bucket, "app.js")
        wait_until(lambda: "invalidation completed" in log.read_text(), 60, what="a completed invalidation")
        wait_until(lambda: stack.queue_depth() == 0, 30, what="an empty queue")
        wait_until(lambda: log.read_text().count("event published") == 2, 30, what="two events published")
    finally:
        _stop(process, log)

    # THEN every call is allowed, every grant used
    calls = witnesses.proxy.calls()
    assert any(c.resource.endswith(":site-changes-dlq") for c in calls), "the DLQ depth was not read"
    assert {c.action for c in calls} >= {"s3:ListBucketVersions", "s3:GetObjectVersion"}
    _assert_proven("sqs", policy, calls, witnesses)


def _announce_identical_write(s3: Any, sqs: Any, queue_url: str, bucket: str, key: str) -> None:
    """Upload `key`'s current bytes again and publish the record S3 sends for it in a versioned bucket."""
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    written = s3.put_object(Bucket=bucket, Key=key, Body=body)
    record = events.s3_record(bucket=bucket, key=key, version_id=written["VersionId"], etag=written["ETag"])
    sqs.send_message(QueueUrl=queue_url, MessageBody=events.s3_body(record))


def _polling_config(
    config: Path, tmp_path: Path, sources: list[str], *, site: list[str], sqs: list[str] | None = None
) -> None:
    """A daemon polling one site under www/ every second, completions awaited (and `sqs` lines, if any)."""
    lines = ["[watcher]", f"sources = {json.dumps(sources)}", 'log_level = "debug"']
    lines += ["shutdown_timeout_seconds = 10", "[http]", 'listen = "127.0.0.1:0"', *(sqs or [])]
    lines += ["[poll]", "interval_seconds = 1", f'state_file = "{tmp_path / "poll-state.json"}"']
    lines += ["[invalidation]", "quiet_period_seconds = 0.5", "max_delay_seconds = 5"]
    lines += ["wait_for_completion = true", "[[sites]]", 'prefix = "www/"', *site]
    config.write_text("\n".join(lines) + "\n")


def test_poll_mode_lists_only_under_the_site_prefix(
    moto_server: str, witnesses: Witnesses, tmp_path: Path
) -> None:
    # GIVEN a site under www/ of a bucket with other content, polled every second
    s3, _sqs, cloudfront = aws_clients(moto_server)
    s3.create_bucket(Bucket="poll-site")
    s3.put_bucket_versioning(Bucket="poll-site", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket="poll-site", Key="www/index.html", Body=b"v1")
    s3.put_object(Bucket="poll-site", Key="private/index.html", Body=b"secret")
    distribution = create_distribution(cloudfront, "poll-site")
    config = tmp_path / "config.toml"
    site = ['bucket = "poll-site"', f'distribution_id = "{distribution}"']
    _polling_config(config, tmp_path, ["poll"], site=site)
    policy = _policy(config, moto_server)

    # WHEN the daemon takes its baseline, a page changes, and it stops
    log = tmp_path / "watcher.log"
    process = _daemon(config, witnesses.env("poll"), log)
    try:
        wait_until(lambda: '"outcome": "ok"' in log.read_text(), 30, what="a cycle after the baseline")
        s3.put_object(Bucket="poll-site", Key="www/index.html", Body=b"v2")
        wait_until(lambda: "invalidation completed" in log.read_text(), 60, what="a completed invalidation")
        # ... and re-uploads it unchanged (a later second, so that the listing shows it): compared
        time.sleep(1.1)
        s3.put_object(Bucket="poll-site", Key="www/index.html", Body=b"v2")
        wait_until(lambda: _listed_versions(witnesses), 30, what="the re-upload compared")
    finally:
        _stop(process, log)

    # THEN every call is allowed (listing under www/ only), every grant used
    calls = witnesses.proxy.calls()
    assert {dict(c.context).get("s3:prefix") for c in calls if c.action == "s3:ListBucket"} == {"www/"}
    _assert_proven("poll", policy, calls, witnesses)


def _listed_versions(w: Witnesses) -> bool:
    return "s3:GetObjectVersion" in {c.action for c in w.proxy.calls()}


def _setup_config(path: Path, sites: list[tuple[str, str]], queue_url: str = "") -> None:
    lines = ["[watcher]", 'sources = ["sqs"]', "[sqs]", f'queue_url = "{queue_url}"']
    for bucket, distribution in sites:
        lines += ["[[sites]]", f'bucket = "{bucket}"', f'distribution_id = "{distribution}"']
    path.write_text("\n".join(lines) + "\n")


def test_setup_apply_under_the_setup_policy_and_check_aws_too(
    moto_server: str, witnesses: Witnesses, tmp_path: Path
) -> None:
    # GIVEN two buckets with their distributions; the second one's created events feed another queue
    s3, sqs, cloudfront = aws_clients(moto_server)
    sites = []
    for bucket in ("site", "blog"):
        s3.create_bucket(Bucket=bucket)
        sites.append((bucket, create_distribution(cloudfront, bucket)))
    other_url = sqs.create_queue(QueueName="search-indexer")["QueueUrl"]
    other = sqs.get_queue_attributes(QueueUrl=other_url, AttributeNames=["QueueArn"])["Attributes"]
    taken: Any = {"Id": "indexer", "QueueArn": other["QueueArn"], "Events": ["s3:ObjectCreated:Put"]}
    s3.put_bucket_notification_configuration(
        Bucket="blog", NotificationConfiguration={"QueueConfigurations": [taken]}
    )
    config = tmp_path / "config.toml"
    _setup_config(config, sites)
    policy = _policy(config, moto_server, "--for", "setup", "--queue-name", "site-changes")
    setup = ["setup", "--config", str(config), "--queue-name", "site-changes", "--apply"]

    # WHEN setup --apply wires the first site (creating the queue and its DLQ), then both
    # (an existing queue gets a new policy and an EventBridge rule), then both again (no change)
    _setup_config(config, sites[:1])
    first = run_cli(setup, env=witnesses.env("setup"))
    _setup_config(config, sites)
    runs = [first, run_cli(setup, env=witnesses.env("setup")), run_cli(setup, env=witnesses.env("setup"))]
    assert [r.returncode for r in runs] == [0, 0, 0], [r.stderr for r in runs]
    assert "through EventBridge" in runs[1].stdout, runs[1].stdout

    # THEN every call is allowed, every grant used
    _assert_proven("setup", policy, witnesses.proxy.calls(), witnesses)

    # WHEN `check --aws` runs on the resulting config (an operator's pre-flight check)
    witnesses.proxy.reset()
    queue_url = sqs.get_queue_url(QueueName="site-changes")["QueueUrl"]
    _setup_config(config, sites, queue_url)
    checked = run_cli(["check", "--aws", "--config", str(config)], env=witnesses.env("check"))
    assert checked.returncode == 0, checked.stderr
    # THEN the setup identity's policy allows all of it (the watcher's role lacks GetDistribution)
    verdict = judge(policy, witnesses.proxy.calls())
    assert not verdict.denied, verdict.denied
    _report(
        "check --aws (setup policy)", policy, witnesses.proxy.calls(), len(witnesses.csm.api_calls("check"))
    )


def test_setup_enable_versioning_under_its_setup_policy(
    moto_server: str, witnesses: Witnesses, tmp_path: Path
) -> None:
    # GIVEN a site bucket with a lifecycle rule of its own, and the setup policy for --enable-versioning
    s3, _sqs, cloudfront = aws_clients(moto_server)
    s3.create_bucket(Bucket="site")
    rule: Any = {"ID": "logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 9}}
    s3.put_bucket_lifecycle_configuration(Bucket="site", LifecycleConfiguration={"Rules": [rule]})
    config = tmp_path / "config.toml"
    _setup_config(config, [("site", create_distribution(cloudfront, "site"))])
    args = ["--queue-name", "site-changes", "--enable-versioning"]
    policy = _policy(config, moto_server, "--for", "setup", *args)
    # WHEN setup --enable-versioning --apply runs under it
    ran = run_cli(["setup", "--config", str(config), *args, "--apply"], env=witnesses.env("setup-versioning"))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    # THEN every call is allowed, and the versioning grants were all used
    calls = witnesses.proxy.calls()
    verdict = judge(policy, calls)
    assert not verdict.denied, verdict.denied
    versioning = {"s3:PutBucketVersioning", "s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration"}
    assert versioning <= {c.action for c in calls}
    assert s3.get_bucket_versioning(Bucket="site")["Status"] == "Enabled"


def test_wait_reads_only_what_its_read_only_policy_grants(
    moto_server: str, witnesses: Witnesses, tmp_path: Path
) -> None:
    # GIVEN a versioned bucket whose www/ prefix is a site, a deploy with a delete, and its invalidation
    s3, _sqs, cloudfront = aws_clients(moto_server)
    s3.create_bucket(Bucket="wait-site")
    s3.put_bucket_versioning(Bucket="wait-site", VersioningConfiguration={"Status": "Enabled"})
    distribution = create_distribution(cloudfront, "wait-site")
    since = str(int(time.time()) - 1)
    s3.put_object(Bucket="wait-site", Key="www/index.html", Body=b"v2")
    s3.put_object(Bucket="wait-site", Key="www/index.html", Body=b"v2")  # identical: no change of its own
    s3.put_object(Bucket="wait-site", Key="www/old.html", Body=b"old")
    s3.delete_object(Bucket="wait-site", Key="www/old.html")
    time.sleep(1.1)  # an invalidation counts from the end of the second in which S3 dates the change
    cloudfront.create_invalidation(
        DistributionId=distribution,
        InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": "deploy-1"},
    )
    config = tmp_path / "config.toml"
    config.write_text(
        f'[watcher]\nsources = ["poll"]\n[[sites]]\nbucket = "wait-site"\nprefix = "www/"\n'
        f'distribution_id = "{distribution}"\n'
    )
    policy = _policy(config, moto_server, "--for", "wait")
    # WHEN a CI job waits for the deploy
    ran = run_cli(
        ["wait", "--config", str(config), "--since", since, "--interval", "1", "--timeout", "30"],
        env=witnesses.env("wait"),
    )
    # THEN it succeeded, listing under www/ only, and every call is allowed, every grant used
    assert ran.returncode == 0, ran.stdout + ran.stderr
    calls = witnesses.proxy.calls()
    listings = {(c.action, dict(c.context).get("s3:prefix")) for c in calls if c.action.startswith("s3:List")}
    # ... and the version before the identical write (under www/ too)
    assert listings == {
        ("s3:ListBucket", "www/"),
        ("s3:ListBucketVersions", "www/"),
        ("s3:ListBucketVersions", "www/index.html"),
    }
    _assert_proven("wait", policy, calls, witnesses)


THEIR_ROLE = "arn:aws:iam::222222222222:role/site-invalidator"


def test_a_site_role_is_proven_by_the_calls_made_through_it(
    moto_server: str, witnesses: Witnesses, tmp_path: Path
) -> None:
    # GIVEN a bucket and a distribution in another account, reachable through a role with an external id
    s3 = as_role(moto_server, "s3", THEIR_ROLE, "agency-42")
    s3.create_bucket(Bucket="their-site")
    s3.put_bucket_versioning(Bucket="their-site", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket="their-site", Key="www/index.html", Body=b"v1")
    cloudfront = as_role(moto_server, "cloudfront", THEIR_ROLE, "agency-42")
    distribution = create_distribution(cloudfront, "their-site")
    # ... our own queue (SQS stays on the watcher's identity), and both sources: the queue and polling
    sqs = boto3.client("sqs", endpoint_url=moto_server, region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName="our-changes")["QueueUrl"]
    config = tmp_path / "config.toml"
    site = ['bucket = "their-site"', f'distribution_id = "{distribution}"', f'role_arn = "{THEIR_ROLE}"']
    _polling_config(
        config,
        tmp_path,
        ["sqs", "poll"],
        site=[*site, 'external_id = "agency-42"'],
        sqs=["[sqs]", f'queue_url = "{queue_url}"', "wait_time_seconds = 1"],
    )
    ours = _policy(config, moto_server)
    role = _policy(config, moto_server, "--for", "site-role")[THEIR_ROLE]

    # WHEN the daemon takes its baseline, a deploy reaches it through the queue and the poll, and it stops
    log = tmp_path / "watcher.log"
    process = _daemon(config, witnesses.env("site-role"), log)
    try:
        wait_until(lambda: '"outcome": "ok"' in log.read_text(), 30, what="a cycle after the baseline")
        s3.put_object(Bucket="their-site", Key="www/index.html", Body=b"v2")
        sqs.send_message(QueueUrl=queue_url, MessageBody=s3_body(["www/docs/a.html"], 1, "their-site"))
        _announce_identical_write(s3, sqs, queue_url, "their-site", "www/index.html")
        wait_until(lambda: log.read_text().count("invalidation completed") >= 1, 60, what="a completion")
        wait_until(lambda: queue_depth(sqs, queue_url) == 0, 30, what="an empty queue")
    finally:
        _stop(process, log)

    # THEN the calls signed with the role's keys are all allowed by, and use all of, its permission policy
    calls = witnesses.proxy.calls()
    theirs = [c for c in calls if c.role == THEIR_ROLE]
    assert {c.action for c in theirs} >= {"s3:ListBucket", "cloudfront:CreateInvalidation"}, theirs
    verdict = judge(role["PermissionPolicy"], theirs)
    assert not verdict.denied, verdict.denied
    assert not verdict.unused, sorted(verdict.unused, key=str)
    # ... the rest (SQS, and AssumeRole with the external id) by our own policy, which grants nothing else
    own = [c for c in calls if not c.role]
    assume = [c for c in own if c.action == "sts:AssumeRole"]
    assert assume, "no AssumeRole recorded"
    assert {dict(c.context).get("sts:ExternalId") for c in assume} == {"agency-42"}
    # (no batch waited long enough for a visibility extension: the sqs test proves that grant)
    _assert_proven("site-role", ours, own, witnesses, proven_elsewhere="sqs:ChangeMessageVisibility")
    # ... and the role's trust policy lets our account assume it with that external id
    (trust,) = role["TrustPolicy"]["Statement"]
    assert trust["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": "agency-42"}}
    _report("site-role (the role's keys)", role["PermissionPolicy"], theirs, 0)
