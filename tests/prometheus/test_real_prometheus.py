"""A real Prometheus scrapes two real `watcher run` processes sharing one queue (pytest -m prometheus).

The shipped rules (deploy/prometheus/alerts.yaml) are loaded with their `for:` and
range windows shortened; scrape and evaluation every second. The story drives a
deploy, a CloudFront outage (throttling and 503s, then AccessDenied) through a
proxy, a poison message that reaches the dead-letter queue, and one replica
stopped, and asks Prometheus' HTTP API which alerts fire and resolve. Then every
expression of the Grafana dashboard must parse and return data aggregated
across the replicas.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.aws_wire import aws_error
from tests.support.fault_proxy import FaultProxy, Request, Response
from tests.support.site import ROOT, WATCHER_BIN, Stack, config_toml, make_stack, settings_for, watcher_env
from tests.support.waiting import free_port, wait_until

pytestmark = pytest.mark.prometheus

_FOR = "2s"
_WINDOW = "20s"
# A scrape that misses its 1 s timeout on a busy machine reads as `up == 0` for a moment.
_SCRAPE_FLAPS = {"CloudFrontWatcherDown"}
# Grafana's variables, as the dashboard would send them with "All" selected.
_GRAFANA = {"$__rate_interval": "5m", "$distribution": ".*", "$job": ".*"}


class CloudFrontOutage(FaultProxy):
    """The fault proxy, plus CloudFront answering AccessDenied while `denied` is set."""

    denied = False

    def dispatch(self, request: Request) -> Response:
        """AccessDenied for CloudFront calls while denied; else forward."""
        if self.denied and request.service == "cloudfront":
            return aws_error(request, 403, "AccessDenied", "User is not authorized to perform this action")
        return self.forward(request)


@dataclass
class PrometheusServer:
    """The HTTP API of a running prometheus."""

    url: str

    def get(self, path: str, **params: str) -> Any:
        """GET an API path; the `data` of a success answer."""
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}{path}?{query}", timeout=10) as answer:  # noqa: S310
            body = json.loads(answer.read())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result vector (or scalar as a one-element list)."""
        data = self.get("/api/v1/query", query=expr)
        result: list[dict[str, Any]] = data["result"] if data["resultType"] == "vector" else [data]
        return result

    def firing(self) -> set[str]:
        """Names of the alerts firing now."""
        return {
            a["labels"]["alertname"] for a in self.get("/api/v1/alerts")["alerts"] if a["state"] == "firing"
        }

    def wait_firing(self, name: str, timeout: float = 60) -> None:
        """Until `name` fires."""
        wait_until(lambda: name in self.firing(), timeout, interval=0.5, what=f"{name} firing")

    def wait_resolved(self, name: str, timeout: float = 60) -> None:
        """Until `name` neither fires nor is pending."""

        def listed() -> set[str]:  # pending or firing
            return {a["labels"]["alertname"] for a in self.get("/api/v1/alerts")["alerts"]}

        wait_until(lambda: name not in listed(), timeout, interval=0.5, what=f"{name} resolved")


@pytest.fixture(scope="module")
def prometheus_bin() -> Path:
    """promtool and prometheus (Debian's package, fetched once by deploy/prometheus-tools.sh)."""
    ran = subprocess.run(
        [str(ROOT / "deploy" / "prometheus-tools.sh")], capture_output=True, text=True, check=False
    )
    assert ran.returncode == 0, ran.stderr
    return Path(ran.stdout.strip()) / "prometheus"


def shortened_rules() -> str:
    """The shipped rules with every `for:` and range window cut to seconds."""
    text = (ROOT / "deploy/prometheus/alerts.yaml").read_text()
    text = re.sub(r"for: \d+[smh]", f"for: {_FOR}", text)
    text = re.sub(r"offset \d+[smh]", f"offset {_WINDOW}", text)
    return re.sub(r"\[\d+[smh]\]", f"[{_WINDOW}]", text)


@pytest.fixture
def prometheus(prometheus_bin: Path, tmp_path: Path, ports: list[int]) -> Iterator[PrometheusServer]:
    """A prometheus on loopback scraping the two watcher ports every second."""
    (tmp_path / "alerts.yaml").write_text(shortened_rules())
    targets = ", ".join(f'"127.0.0.1:{port}"' for port in ports)
    (tmp_path / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s, scrape_timeout: 1s}\n"
        "rule_files: [alerts.yaml]\n"
        "scrape_configs:\n"
        f"  - job_name: cloudfront-watcher\n    static_configs: [{{targets: [{targets}]}}]\n"
    )
    port = free_port()
    log = (tmp_path / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            str(prometheus_bin),
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=log,
    )
    server = PrometheusServer(f"http://127.0.0.1:{port}")
    try:
        wait_until(lambda: _answers(f"{server.url}/-/ready"), 30, what="prometheus ready")
        yield server
    finally:
        process.terminate()
        process.wait(30)
        log.close()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310
            return bool(answer.status == 200)
    except OSError:
        return False


@pytest.fixture
def ports() -> list[int]:
    """The /metrics ports of the two replicas (kept across a restart)."""
    return [free_port(), free_port()]


@dataclass
class Replicas:
    """Two `watcher run` processes on one config but their own ports."""

    stack: Stack
    endpoint: str
    configs: list[Path]
    logs: list[Path]
    processes: list[subprocess.Popen[bytes] | None]

    def start(self, index: int) -> None:
        """Start replica `index` (again)."""
        with self.logs[index].open("ab") as sink:
            self.processes[index] = subprocess.Popen(
                [WATCHER_BIN, "run", "--config", str(self.configs[index])],
                env=watcher_env(self.endpoint),
                stdout=subprocess.DEVNULL,
                stderr=sink,
            )

    def stop(self, index: int) -> None:
        """SIGTERM replica `index` and wait for its exit."""
        process = self.processes[index]
        if process is None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            tail = self.logs[index].read_text(errors="replace").splitlines()[-30:]
            ending = "\n".join(tail)
            raise AssertionError(f"replica {index} ignored SIGTERM for 60 s, log:\n{ending}") from None
        finally:
            if process.poll() is None:
                process.kill()
            self.processes[index] = None


@pytest.fixture
def replicas(
    moto_server: str, tmp_path: Path, ports: list[int]
) -> Iterator[tuple[Replicas, CloudFrontOutage]]:
    """GIVEN a bucket wired to a queue with a DLQ (maxReceiveCount 1), two watchers behind a proxy."""
    stack = make_stack(moto_server)
    dlq_url = stack.sqs.create_queue(QueueName="site-changes-dlq")["QueueUrl"]
    dlq_arn = stack.sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn["QueueArn"], "maxReceiveCount": "1"})
    stack.sqs.set_queue_attributes(QueueUrl=stack.queue_url, Attributes={"RedrivePolicy": redrive})
    with CloudFrontOutage(moto_server, seed=3) as proxy:
        configs, logs = [], []
        for index, port in enumerate(ports):
            settings = settings_for(
                stack,
                watcher={"log_level": "info"},
                http={"listen": f"127.0.0.1:{port}", "unready_after_failing_seconds": 10},
                sqs={"visibility_timeout_seconds": 10, "on_poison": "keep"},
                invalidation={"wait_for_completion": True},
            )
            configs.append(tmp_path / f"replica-{index}.toml")
            configs[-1].write_text(config_toml(settings))
            logs.append(tmp_path / f"replica-{index}.log")
        group = Replicas(stack, proxy.url, configs, logs, [None, None])
        try:
            group.start(0)
            group.start(1)
            yield group, proxy
        finally:
            group.stop(0)
            group.stop(1)


def _in_dlq(stack: Stack, body: str) -> bool:
    """Whether the DLQ holds a message with `body` (a peek: it stays visible, the depth unchanged).

    Not its depth: a message released after a denied flush also reaches this DLQ
    (maxReceiveCount 1) when it is received again, early or late depending on timing.
    """
    url = stack.sqs.get_queue_url(QueueName="site-changes-dlq")["QueueUrl"]
    peeked = stack.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    return any(message["Body"] == body for message in peeked.get("Messages", []))


def test_the_shipped_alerts_fire_and_resolve_and_the_dashboard_aggregates_replicas(
    prometheus: PrometheusServer, replicas: tuple[Replicas, CloudFrontOutage]
) -> None:
    group, proxy = replicas
    stack = group.stack
    # GIVEN both replicas scraped and ready
    wait_until(
        lambda: len(prometheus.query('cloudfront_watcher_ready{job="cloudfront-watcher"} == 1')) == 2,
        60,
        interval=0.5,
        what="two ready replicas",
    )

    # WHEN a deploy lands THEN it is invalidated and no alert fires
    stack.deploy({"index.html": "v2", "app.js": "v2"})
    wait_until(
        lambda: prometheus.query('sum(cloudfront_watcher_invalidations_total{outcome="created"}) > 0'),
        60,
        interval=0.5,
        what="an invalidation counted",
    )
    time.sleep(3)  # a few evaluations with `for: 2s`
    assert not prometheus.firing() - _SCRAPE_FLAPS, prometheus.firing()

    # WHEN CloudFront throttles and fails every call, and a deploy waits
    proxy.set_fault_rate(1.0, kinds=("throttle", "503"), match=lambda r: r.service == "cloudfront")
    stack.deploy({"about.html": "v2"})
    # THEN the changes pend (stale site) and the throttling is sustained
    prometheus.wait_firing("CloudFrontWatcherChangesPending")
    prometheus.wait_firing("CloudFrontWatcherThrottled")
    # ... and the replica whose flush keeps failing is not ready (CloudFront failing for 10 s)
    prometheus.wait_firing("CloudFrontWatcherNotReady")

    # WHEN CloudFront denies the calls THEN the flushes fail, and the denial pages
    proxy.clear_faults()
    proxy.denied = True
    # (the flush is in its retry backoff, up to a minute, before it meets the denial)
    prometheus.wait_firing("CloudFrontWatcherAccessDenied", 120)
    prometheus.wait_firing("CloudFrontWatcherInvalidationsFailing", 60)

    # WHEN CloudFront recovers THEN the change is invalidated and those alerts resolve
    proxy.denied = False
    for name in (
        "CloudFrontWatcherNotReady",
        "CloudFrontWatcherChangesPending",
        "CloudFrontWatcherThrottled",
        "CloudFrontWatcherAccessDenied",
        "CloudFrontWatcherInvalidationsFailing",
    ):
        prometheus.wait_resolved(name, 90)

    # WHEN a poison message reaches the DLQ and one replica is stopped
    poison = "{not an S3 event"
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=poison)
    wait_until(lambda: _in_dlq(stack, poison), 60, interval=0.5, what="the poison message in the DLQ")
    group.stop(1)
    # THEN the replica is down (and the other one keeps the site: no Absent)
    prometheus.wait_firing("CloudFrontWatcherDown")
    assert "CloudFrontWatcherAbsent" not in prometheus.firing()
    # WHEN it comes back THEN Down resolves, and the DLQ it samples at start fires DeadLetters
    group.start(1)
    prometheus.wait_resolved("CloudFrontWatcherDown")
    prometheus.wait_firing("CloudFrontWatcherDeadLetters")

    # THEN every dashboard expression parses and returns data aggregated across the replicas
    _assert_dashboard_aggregates(prometheus)

    # WHEN the DLQ is drained and the replicas restarted (each samples the depth at start,
    # then every 60 s) THEN DeadLetters resolves, and nothing fires any more
    # (first the queue empties: a message released after the denied flush reaches the DLQ then)
    wait_until(lambda: stack.queue_depth() == 0, 150, interval=1, what="nothing left to redrive")
    stack.sqs.purge_queue(QueueUrl=stack.sqs.get_queue_url(QueueName="site-changes-dlq")["QueueUrl"])
    for index in (0, 1):
        group.stop(index)
        group.start(index)
    prometheus.wait_resolved("CloudFrontWatcherDeadLetters", 90)
    wait_until(lambda: not prometheus.firing() - _SCRAPE_FLAPS, 60, interval=0.5, what="no alert firing")
    # ... and the last invalidation and event stay on the dashboard, though no process has seen one since
    for title, expr in dashboard_exprs():
        if title.startswith("Time since"):
            assert prometheus.query(expr), f"{title}: restarted replicas blank the panel: {expr}"


def dashboard_exprs() -> list[tuple[str, str]]:
    """(panel title, expression) of every dashboard target, Grafana variables filled in."""
    dashboard = json.loads((ROOT / "deploy/grafana/cloudfront-watcher.json").read_text())
    out = []
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            expr = target["expr"]
            for variable, value in _GRAFANA.items():
                expr = expr.replace(variable, value)
            out.append((panel["title"], expr))
    return out


def _assert_dashboard_aggregates(prometheus: PrometheusServer) -> None:
    # Two replicas serve every series: a per-pod panel would show two of each.
    assert len(prometheus.query('up{job="cloudfront-watcher"} == 1')) == 2
    for title, expr in dashboard_exprs():
        result = prometheus.query(expr)
        assert result, f"{title}: no data for {expr}"
        for series in result:
            labels = series.get("metric", {})
            assert "instance" not in labels, f"{title}: one series per replica: {expr}"
        keys = [json.dumps(series.get("metric", {}), sort_keys=True) for series in result]
        assert len(keys) == len(set(keys)), f"{title}: duplicate series {keys}"
        if title.startswith("Time since"):
            values = [float(series["value"][1]) for series in result]
            assert all(0 <= v < 3600 for v in values), f"{title}: {values} (a never-flushed replica's 0?)"
