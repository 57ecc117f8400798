"""The Helm chart, rendered by real helm 3 and helm 4 binaries.

The binaries are the ones deploy/helm-check.sh fetched into .cache/helm/; without
them every test here is skipped with that reason. Run: pytest -m deploy tests/deploy
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.deploy

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "cloudfront-watcher"
HELM_CACHE = ROOT / ".cache" / "helm"
HELMS = ("v3", "v4")
DEPLOYMENT_VARIANTS = ("sqs", "poll", "servicemonitor")
ALL_VARIANTS = (*DEPLOYMENT_VARIANTS, "sidecar")
# The metric names of the contract; alert rules may use no other (besides `up`).
CONTRACT_METRICS = {
    "cloudfront_watcher_events_total",
    "cloudfront_watcher_sqs_messages_total",
    "cloudfront_watcher_invalidations_total",
    "cloudfront_watcher_invalidation_paths_total",
    "cloudfront_watcher_pending_paths",
    "cloudfront_watcher_invalidations_in_progress",
    "cloudfront_watcher_event_to_invalidation_seconds",
    "cloudfront_watcher_invalidation_request_seconds",
    "cloudfront_watcher_retries_total",
    "cloudfront_watcher_aws_errors_total",
    "cloudfront_watcher_last_event_timestamp_seconds",
    "cloudfront_watcher_last_invalidation_timestamp_seconds",
    "cloudfront_watcher_build_info",
}

Manifests = dict[str, dict[str, Any]]
Render = Callable[..., Manifests]


def helm_binary(major: str) -> Path:
    """The cached helm of that major version, or a skip saying how to get it."""
    binary = HELM_CACHE / major / "helm"
    if not os.access(binary, os.X_OK):
        pytest.skip(f"helm {major} not fetched: run deploy/helm-check.sh first ({binary} missing)")
    return binary


def helm_template(major: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`helm template` of the chart with the given extra arguments."""
    return subprocess.run(
        [str(helm_binary(major)), "template", "cfw", str(CHART), "--namespace", "sites", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def variant_args(variant: str) -> list[str]:
    """The helm arguments that select one ci/*-values.yaml variant."""
    return ["-f", str(CHART / "ci" / f"{variant}-values.yaml")]


@pytest.fixture(params=HELMS)
def render(request: pytest.FixtureRequest) -> Render:
    """Renders the chart with one helm major version; returns the manifests by kind."""
    major: str = request.param

    def _render(variant: str, *extra: str) -> Manifests:
        result = helm_template(major, *variant_args(variant), *extra)
        assert result.returncode == 0, result.stderr
        manifests: Manifests = {}
        for doc in yaml.safe_load_all(result.stdout):
            if doc:
                assert doc["kind"] not in manifests, f"two {doc['kind']}s"
                manifests[doc["kind"]] = doc
        return manifests

    return _render


def pod_spec(manifests: Manifests) -> dict[str, Any]:
    spec: dict[str, Any] = manifests["Deployment"]["spec"]["template"]["spec"]
    return spec


def watcher_container(manifests: Manifests) -> dict[str, Any]:
    containers = pod_spec(manifests)["containers"]
    (container,) = (c for c in containers if c["name"] == "watcher")
    return dict(container)


def config_toml(manifests: Manifests) -> str:
    text: str = manifests["ConfigMap"]["data"]["config.toml"]
    return text


def watcher_check(config_file: Path) -> subprocess.CompletedProcess[str]:
    """`watcher check --config FILE` from the project's venv, with no WATCHER__ overrides."""
    watcher = ROOT / ".venv" / "bin" / "watcher"
    command = str(watcher) if watcher.exists() else shutil.which("watcher")
    if command is None:
        pytest.skip("no watcher command: run scripts/bootstrap")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")}
    return subprocess.run(
        [command, "check", "--config", str(config_file)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


@pytest.mark.parametrize("variant", DEPLOYMENT_VARIANTS)
def test_probes_are_on_healthz_and_readyz(render: Render, variant: str) -> None:
    # GIVEN a deployment variant WHEN rendered
    container = watcher_container(render(variant))
    # THEN liveness follows the heartbeat, readiness the AWS reachability, on the metrics port
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http-metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http-metrics"}
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    (port,) = container["ports"]
    assert port["name"] == "http-metrics"
    assert port["containerPort"] == 9102


def test_container_port_follows_the_listen_address(render: Render) -> None:
    manifests = render("sqs", "--set", "config.http.listen=0.0.0.0:9300")
    assert watcher_container(manifests)["ports"][0]["containerPort"] == 9300
    assert 'listen = "0.0.0.0:9300"' in config_toml(manifests)


@pytest.mark.parametrize("variant", DEPLOYMENT_VARIANTS)
def test_security_context_is_hardened(render: Render, variant: str) -> None:
    manifests = render(variant)
    pod = pod_spec(manifests)["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert pod["runAsUser"] == 10001
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    container = watcher_container(manifests)["securityContext"]
    assert container["readOnlyRootFilesystem"] is True
    assert container["allowPrivilegeEscalation"] is False
    assert container["capabilities"]["drop"] == ["ALL"]
    assert pod_spec(manifests)["automountServiceAccountToken"] is False


def test_config_checksum_rolls_pods_only_when_the_config_changes(render: Render) -> None:
    # GIVEN the sqs variant rendered as it is
    def checksum(*extra: str) -> str:
        annotations = render("sqs", *extra)["Deployment"]["spec"]["template"]["metadata"]
        value: str = annotations["annotations"]["checksum/config"]
        return value

    base = checksum()
    assert re.fullmatch(r"[0-9a-f]{64}", base)
    # WHEN only something outside the config changes THEN the pods keep their checksum
    assert checksum("--set", "revisionHistoryLimit=9") == base
    # (the replica count is in the config: each pod's share of the CreateInvalidation rate)
    assert checksum("--set", "replicaCount=5") != base
    # WHEN the watcher config changes THEN the checksum changes, so the pods roll
    assert checksum("--set", "config.invalidation.quiet_period_seconds=9") != base


def test_irsa_role_annotates_the_service_account_the_pods_use(render: Render) -> None:
    manifests = render("sqs")
    account = manifests["ServiceAccount"]
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == (
        "arn:aws:iam::123456789012:role/cloudfront-watcher"
    )
    assert pod_spec(manifests)["serviceAccountName"] == account["metadata"]["name"]
    # annotations given directly (servicemonitor variant) work the same way
    direct = render("servicemonitor")["ServiceAccount"]["metadata"]["annotations"]
    assert direct["eks.amazonaws.com/role-arn"].endswith(":role/cloudfront-watcher")


@pytest.mark.parametrize("variant", DEPLOYMENT_VARIANTS)
def test_grace_period_exceeds_the_shutdown_timeout(render: Render, variant: str) -> None:
    manifests = render(variant)
    shutdown = tomllib.loads(config_toml(manifests))["watcher"]["shutdown_timeout_seconds"]
    grace = pod_spec(manifests)["terminationGracePeriodSeconds"]
    assert grace > shutdown
    assert grace >= 30


@pytest.mark.parametrize("major", HELMS)
def test_a_grace_period_below_the_shutdown_timeout_is_refused(major: str) -> None:
    result = helm_template(major, *variant_args("sqs"), "--set", "terminationGracePeriodSeconds=20")
    assert result.returncode != 0
    assert "must exceed config.watcher.shutdown_timeout_seconds" in result.stderr


def test_poll_mode_runs_one_replica_with_recreate_and_keeps_its_state(render: Render) -> None:
    # GIVEN the poll variant, which asks for 3 replicas
    manifests = render("poll")
    deployment = manifests["Deployment"]["spec"]
    # THEN one poller, never two at once during a rollout
    assert deployment["replicas"] == 1
    assert deployment["strategy"] == {"type": "Recreate"}
    # AND the state file lives on the claim mounted into the container
    state_file = tomllib.loads(config_toml(manifests))["poll"]["state_file"]
    (mount,) = (m for m in watcher_container(manifests)["volumeMounts"] if m["name"] == "state")
    assert state_file.startswith(mount["mountPath"] + "/")
    (volume,) = (v for v in pod_spec(manifests)["volumes"] if v["name"] == "state")
    claim = manifests["PersistentVolumeClaim"]["metadata"]["name"]
    assert volume["persistentVolumeClaim"]["claimName"] == claim


def test_sqs_mode_scales_out_with_rolling_updates(render: Render) -> None:
    deployment = render("sqs")["Deployment"]["spec"]
    assert deployment["replicas"] == 3
    assert deployment["strategy"]["type"] == "RollingUpdate"


def test_disruption_budget_lets_unready_pods_be_evicted(render: Render) -> None:
    budget = render("sqs")["PodDisruptionBudget"]["spec"]
    assert budget["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    assert budget["maxUnavailable"] == 1


def test_extra_env_reaches_the_container(render: Render) -> None:
    env = watcher_container(render("sqs"))["env"]
    assert {"name": "AWS_ENDPOINT_URL_SQS", "value": "http://localstack.localstack.svc:4566"} in env


def test_the_container_keeps_two_malloc_arenas_also_with_extra_env(render: Render) -> None:
    # GIVEN values without extraEnv (poll) and with it (sqs) THEN both containers set MALLOC_ARENA_MAX=2
    for variant in ("poll", "sqs"):
        env = watcher_container(render(variant))["env"]
        assert {"name": "MALLOC_ARENA_MAX", "value": "2"} in env


def test_sidecar_mode_renders_only_the_config(render: Render) -> None:
    manifests = render("sidecar")
    assert set(manifests) == {"ConfigMap"}
    assert 'listen = "0.0.0.0:9192"' in config_toml(manifests)


def test_servicemonitor_scrapes_the_service_port(render: Render) -> None:
    manifests = render("servicemonitor")
    monitor = manifests["ServiceMonitor"]["spec"]
    service = manifests["Service"]
    (endpoint,) = monitor["endpoints"]
    assert endpoint["path"] == "/metrics"
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert monitor["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert manifests["ServiceMonitor"]["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_podmonitor_scrapes_the_pods_without_a_service(render: Render) -> None:
    # GIVEN a Prometheus Operator that selects PodMonitors, and no Service (ci/podmonitor-values.yaml)
    manifests = render("podmonitor")
    assert "Service" not in manifests
    assert "ServiceMonitor" not in manifests
    monitor = manifests["PodMonitor"]
    # THEN the PodMonitor selects this release's pods, in its namespace, on their metrics port
    pod_labels = manifests["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["sites"]}
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["path"] == "/metrics"
    assert endpoint["port"] in {p["name"] for p in watcher_container(manifests)["ports"]}
    assert endpoint["metricRelabelings"][0]["action"] == "drop"
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    # AND the alerts select what that scrape labels: job = namespace/PodMonitor name
    rules = manifests["PrometheusRule"]["spec"]["groups"][0]["rules"]
    selector = f'namespace="sites", job="sites/{monitor["metadata"]["name"]}"'
    assert all(selector in rule["expr"] for rule in rules if "cloudfront_watcher_" in rule["expr"])
    assert not any("service=" in rule["expr"] for rule in rules)


def test_podmonitor_in_sidecar_mode_scrapes_the_site_pods(render: Render) -> None:
    # GIVEN sidecar mode with a PodMonitor (ci/podmonitor-sidecar-values.yaml)
    manifests = render("podmonitor-sidecar")
    # THEN besides the config only the PodMonitor is rendered; it selects the site's pods by
    # the labels given, on the port the NOTES' sidecar snippet names
    assert set(manifests) == {"ConfigMap", "PodMonitor"}
    spec = manifests["PodMonitor"]["spec"]
    assert spec["selector"]["matchLabels"] == {"app.kubernetes.io/name": "blog"}
    (endpoint,) = spec["podMetricsEndpoints"]
    assert endpoint["port"] == "watcher-metrics"


def test_sidecar_notes_keep_the_site_ready_during_an_aws_outage() -> None:
    # GIVEN sidecar mode, WHEN installed (helm 4 renders NOTES without a cluster; helm 3's
    # --dry-run=client still asks the cluster for its version)
    result = subprocess.run(
        [
            str(helm_binary("v4")),
            "install",
            "cfw",
            str(CHART),
            "--namespace",
            "sites",
            "--dry-run=client",
            *variant_args("podmonitor-sidecar"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    notes = result.stdout.split("NOTES:", 1)[1]
    # THEN the snippet's readiness probe is /healthz, like its liveness probe: a sidecar's
    # readiness is the site pod's readiness, and /readyz turns 503 when AWS fails
    snippet = yaml.safe_load(
        notes.split("your site's pod", 1)[1].split("and set the pod", 1)[0].split(":", 1)[1]
    )
    (container,) = snippet["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert "/readyz there" in notes
    assert "alerting only" in notes
    # AND they name the PodMonitor and the pods it scrapes
    assert "PodMonitor sites/cfw-cloudfront-watcher scrapes port watcher-metrics" in notes


@pytest.mark.parametrize("major", HELMS)
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["-f", str(CHART / "ci" / "servicemonitor-values.yaml"), "--set", "podMonitor.enabled=true"],
            "every pod would be scraped twice",
        ),
        (
            ["-f", str(CHART / "ci" / "sidecar-values.yaml"), "--set", "podMonitor.enabled=true"],
            "podMonitor.podSelector is required in sidecar mode",
        ),
    ],
)
def test_podmonitor_values_that_cannot_work_fail_clearly(
    major: str, args: Sequence[str], message: str
) -> None:
    result = helm_template(major, *args)
    assert result.returncode != 0
    assert message in result.stderr


def test_alert_rules_are_the_shipped_rules_file_with_the_release_selector(render: Render) -> None:
    # GIVEN the one source of the rules
    source = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yaml").read_text())["groups"][0]["rules"]
    # WHEN the chart renders its PrometheusRule (ci/servicemonitor-values.yaml sets runbookBaseUrl)
    rules = render("servicemonitor")["PrometheusRule"]["spec"]["groups"][0]["rules"]
    # THEN it is that file, with this release's selector and absolute runbook links
    assert [r["alert"] for r in rules] == [r["alert"] for r in source]
    selector = 'namespace="sites", service="cfw-cloudfront-watcher"'
    base = "https://example.org/cloudfront-watcher/observability.md"
    for rule, original in zip(rules, source, strict=True):
        assert rule["expr"] == original["expr"].replace('job="cloudfront-watcher"', selector)
        assert rule["for"] == original["for"]
        assert rule["labels"] == original["labels"]
        assert rule["annotations"]["runbook_url"] == original["annotations"]["runbook_url"].replace(
            "docs/observability.md", base
        )
        assert rule["annotations"]["summary"] == original["annotations"]["summary"]
        names = set(re.findall(r"\b(cloudfront_watcher_[a-z_]+|up)\{", rule["expr"]))
        assert names, rule["expr"]


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_rendered_config_is_what_the_values_say(render: Render, variant: str) -> None:
    # GIVEN the chart's defaults overlaid with the variant's values
    values = yaml.safe_load((CHART / "values.yaml").read_text())["config"]
    overlay = yaml.safe_load((CHART / "ci" / f"{variant}-values.yaml").read_text())
    # TOML has no null: a key whose value is null (the default of an optional key) is left out
    expected = {
        section: {key: value for key, value in keys.items() if value is not None}
        if isinstance(keys, dict)
        else keys
        for section, keys in deep_merge(values, overlay.get("config", {})).items()
    }
    # WHEN rendered THEN the TOML holds exactly those keys, integers as integers
    rendered = tomllib.loads(config_toml(render(variant)))
    if variant == "poll":
        expected["poll"]["state_file"] = "/var/lib/cloudfront-watcher/poll-state.json"
    # The release's CreateInvalidation rate is shared by its pods (one pod in poll or sidecar mode).
    pods = (
        1
        if variant in ("poll", "sidecar")
        else deep_merge(yaml.safe_load((CHART / "values.yaml").read_text()), overlay)["replicaCount"]
    )
    expected["invalidation"]["requests_per_second"] = (
        int(expected["invalidation"]["requests_per_second"] * 10000 / pods) / 10000
    )
    assert rendered == expected
    assert type(rendered["sqs"]["wait_time_seconds"]) is int


def test_strings_survive_quoting(render: Render) -> None:
    # GIVEN globs with quotes, backslashes, TOML-special and non-ASCII characters
    odd = ['a"b', "back\\slash", "#not-a-comment", "caf\u00e9/**", "<&>", "tab\there"]
    sites = [{"bucket": "my-site-bucket", "distribution_id": "E2EXAMPLE", "exclude": odd}]
    manifests = render("sqs", "--set-json", f"config.sites={json.dumps(sites)}")
    # THEN the TOML parses back to the very same strings
    assert tomllib.loads(config_toml(manifests))["sites"][0]["exclude"] == odd


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_watcher_check_accepts_the_rendered_config(render: Render, variant: str, tmp_path: Path) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text(config_toml(render(variant)))
    result = watcher_check(config_file)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("major", HELMS)
@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "config.sqs.queue_url is required"),
        (
            [
                "--set",
                "config.sqs.queue_url=https://sqs.us-east-1.amazonaws.com/123456789012/q",
                "--set",
                "config.sites=null",
            ],
            "config.sites",
        ),
        (["--set", "config.sqs.visibility=1"], "visibility"),
        (["--set", "config.sqs.max_messages=11"], "max_messages"),
        (["--set", "config.watcher.sources={kafka}"], "sources"),
    ],
)
def test_invalid_values_fail_with_a_clear_message(major: str, args: Sequence[str], message: str) -> None:
    result = helm_template(major, *args)
    assert result.returncode != 0
    assert message in result.stderr


def test_queue_url_may_come_from_the_environment(render: Render) -> None:
    env = '[{"name": "WATCHER__SQS__QUEUE_URL", "value": "https://q"}]'
    manifests = render("sqs", "--set", "config.sqs.queue_url=", "--set-json", f"extraEnv={env}")
    assert {"name": "WATCHER__SQS__QUEUE_URL", "value": "https://q"} in (watcher_container(manifests)["env"])


def deep_merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """helm's merge of values: maps merge key by key, everything else replaces."""
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def test_fractional_seconds_stay_fractional_and_large_integers_stay_integers(render: Render) -> None:
    manifests = render(
        "sqs",
        "--set-json",
        "config.invalidation.quiet_period_seconds=0.5",
        "--set-json",
        "config.sqs.visibility_timeout_seconds=43200",
    )
    rendered = tomllib.loads(config_toml(manifests))
    assert rendered["invalidation"]["quiet_period_seconds"] == 0.5
    assert rendered["sqs"]["visibility_timeout_seconds"] == 43200
    assert "43200" in config_toml(manifests)
    assert "e+" not in config_toml(manifests)


def test_schema_knows_every_setting_of_the_watcher(tmp_path: Path) -> None:
    # GIVEN the settings the watcher resolves (`watcher check` prints every one of them)
    config_file = tmp_path / "config.toml"
    shutil.copy(ROOT / "config.toml", config_file)
    result = watcher_check(config_file)
    assert result.returncode == 0, result.stdout + result.stderr
    start = result.stdout.find("{")
    try:
        resolved = json.loads(result.stdout[start:])
    except ValueError:
        pytest.skip("watcher check does not print the resolved settings as JSON")
    # THEN values.schema.json accepts exactly those keys, no more, no fewer
    schema = json.loads((CHART / "values.schema.json").read_text())["properties"]["config"]
    for section, settings in resolved.items():
        node = schema["properties"][section]
        keys = set(settings[0] if section == "sites" else settings)
        properties = (node["items"] if section == "sites" else node)["properties"]
        assert set(properties) == keys, section
    assert set(schema["properties"]) == set(resolved)


@pytest.mark.parametrize(
    ("args", "per_pod"),
    [
        (["--set", "replicaCount=1"], 0.5),
        (["--set", "replicaCount=3"], 0.1666),
        (["--set", "replicaCount=2", "--set", "config.invalidation.requests_per_second=2"], 1),
        (["--set", "replicaCount=0"], 0.5),
    ],
)
def test_replicas_share_the_accounts_invalidation_rate(
    render: Render, args: list[str], per_pod: float
) -> None:
    # GIVEN the release's CreateInvalidation rate (CloudFront's is per account) and N replicas
    manifests = render("sqs", *args)
    # THEN each pod gets its share, rounded down (so that together they stay within it)
    assert tomllib.loads(config_toml(manifests))["invalidation"]["requests_per_second"] == per_pod


def test_autoscaling_is_off_by_default(render: Render) -> None:
    manifests = render("sqs")
    assert "ScaledObject" not in manifests
    assert "TriggerAuthentication" not in manifests
    assert manifests["Deployment"]["spec"]["replicas"] == 3


def test_keda_scales_the_watcher_on_its_queue_with_pod_identity(render: Render) -> None:
    # GIVEN autoscaling enabled on an SQS-mode release
    manifests = render("autoscaling")
    scaled, auth = manifests["ScaledObject"], manifests["TriggerAuthentication"]
    # THEN KEDA's ScaledObject targets the watcher's Deployment within min/max replicas
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert scaled["spec"]["scaleTargetRef"]["name"] == manifests["Deployment"]["metadata"]["name"]
    assert scaled["spec"]["minReplicaCount"] == 1
    assert scaled["spec"]["maxReplicaCount"] == 5
    # AND scales on the configured queue's depth, with the region read from its URL
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "aws-sqs-queue"
    assert trigger["metadata"] == {
        "queueURL": "https://sqs.eu-west-1.amazonaws.com/123456789012/site-changes",
        "awsRegion": "eu-west-1",
        "queueLength": "200",
        "activationQueueLength": "0",
    }
    # AND authenticates with AWS pod identity: the watcher's own role
    assert trigger["authenticationRef"]["name"] == auth["metadata"]["name"]
    assert auth["spec"]["podIdentity"] == {"provider": "aws", "identityOwner": "workload"}
    # AND the Deployment leaves the replica count to KEDA; each pod gets 1/maxReplicas of the rate
    assert "replicas" not in manifests["Deployment"]["spec"]
    assert tomllib.loads(config_toml(manifests))["invalidation"]["requests_per_second"] == 0.1


def test_keda_may_assume_a_role_of_its_own(render: Render) -> None:
    role = "arn:aws:iam::123456789012:role/keda-reads-queue"
    manifests = render("autoscaling", "--set", f"autoscaling.roleArn={role}")
    assert manifests["TriggerAuthentication"]["spec"]["podIdentity"] == {"provider": "aws", "roleArn": role}


@pytest.mark.parametrize("major", HELMS)
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "config.watcher.sources={poll}", "--set", "config.sqs.queue_url="], "poll mode"),
        (["--set", "autoscaling.minReplicas=6"], "minReplicas"),
        (["--set", "config.sqs.queue_url=http://localhost:4566/000000000000/q"], "region"),
    ],
)
def test_autoscaling_values_that_cannot_work_fail_clearly(
    major: str, args: Sequence[str], message: str
) -> None:
    result = helm_template(major, *variant_args("autoscaling"), *args)
    assert result.returncode != 0
    assert message in result.stderr


# -- conventions of widely used charts: image registry, existing config, NetworkPolicy -------------


def test_image_registry_and_the_global_registry_prefix_the_repository(render: Render) -> None:
    def image(*extra: str) -> str:
        value: str = watcher_container(render("sqs", *extra))["image"]
        return value

    # the published image, tagged with the chart's appVersion (one version: tests/unit/test_release.py)
    version = yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"]
    assert image() == f"ghcr.io/cloudfront-watcher/cloudfront-watcher:{version}"
    assert image("--set", "image.registry=registry.example.com/") == (
        f"registry.example.com/cloudfront-watcher/cloudfront-watcher:{version}"
    )
    # global.imageRegistry (a mirror for every chart of a platform) wins over image.registry
    assert image(
        "--set", "image.registry=registry.example.com", "--set", "global.imageRegistry=mirror.local"
    ) == (f"mirror.local/cloudfront-watcher/cloudfront-watcher:{version}")
    digest = watcher_container(render("existingsecret"))["image"]
    assert digest.startswith("mirror.example.com/cache/cloudfront-watcher/cloudfront-watcher@sha256:")


@pytest.mark.parametrize(
    ("variant", "volume"),
    [
        ("existingsecret", {"secret": {"secretName": "site-watcher-config"}}),
        ("existingconfigmap", {"configMap": {"name": "site-watcher-config"}}),
    ],
)
def test_an_existing_configmap_or_secret_replaces_the_rendered_config(
    render: Render, variant: str, volume: dict[str, Any]
) -> None:
    # GIVEN a variant whose config comes from an object outside the chart (no config values at all)
    manifests = render(variant)
    # THEN the chart renders no ConfigMap and mounts that object's config.toml
    assert "ConfigMap" not in manifests
    (config,) = (v for v in pod_spec(manifests)["volumes"] if v["name"] == "config")
    (kind,) = set(config) - {"name"}
    assert kind in volume
    assert volume[kind].items() <= config[kind].items()
    assert config[kind]["items"] == [{"key": "config.toml", "path": "config.toml"}]
    annotations = manifests["Deployment"]["spec"]["template"]["metadata"].get("annotations") or {}
    assert "checksum/config" not in annotations
    assert watcher_container(manifests)["args"] == ["run", "--config", "/etc/cloudfront-watcher/config.toml"]


@pytest.mark.parametrize("major", HELMS)
def test_existing_configmap_and_secret_together_are_refused(major: str) -> None:
    result = helm_template(major, *variant_args("existingsecret"), "--set", "existingConfigMap=other")
    assert result.returncode != 0
    assert "existingConfigMap and existingSecret both set" in result.stderr


def test_network_policy_allows_dns_https_and_scrapes_only(render: Render) -> None:
    # GIVEN the default values THEN no NetworkPolicy
    assert "NetworkPolicy" not in render("sqs")
    # GIVEN it enabled with its defaults
    policy = render("sqs", "--set", "networkPolicy.enabled=true")["NetworkPolicy"]["spec"]
    deployment = render("sqs")["Deployment"]
    assert policy["podSelector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    # THEN ingress only to the metrics port, egress only to DNS (UDP and TCP) and HTTPS
    (ingress,) = policy["ingress"]
    assert ingress["ports"] == [{"port": "http-metrics", "protocol": "TCP"}]
    assert "from" not in ingress
    ports = [(p["port"], p["protocol"]) for rule in policy["egress"] for p in rule["ports"]]
    assert ports == [(53, "UDP"), (53, "TCP"), (443, "TCP")]
    assert all("to" not in rule for rule in policy["egress"])


def test_network_policy_peers_and_extra_egress(render: Render) -> None:
    policy = render("existingsecret")["NetworkPolicy"]["spec"]
    (ingress,) = policy["ingress"]
    assert ingress["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    ]
    dns = policy["egress"][0]
    assert dns["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}
    extra = render("existingconfigmap")["NetworkPolicy"]["spec"]["egress"]
    assert extra[-1] == {
        "to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}],
        "ports": [{"port": 4566, "protocol": "TCP"}],
    }


def test_servicemonitor_job_label_scheme_and_tls(render: Render) -> None:
    # GIVEN the defaults (servicemonitor variant) THEN plain HTTP, no TLS settings, no job label
    plain = render("servicemonitor")["ServiceMonitor"]["spec"]
    assert plain["endpoints"][0]["scheme"] == "http"
    assert "tlsConfig" not in plain["endpoints"][0]
    assert "jobLabel" not in plain
    # GIVEN them set THEN they reach the ServiceMonitor
    monitor = render("existingconfigmap")["ServiceMonitor"]["spec"]
    assert monitor["jobLabel"] == "app.kubernetes.io/name"
    (endpoint,) = monitor["endpoints"]
    assert endpoint["scheme"] == "https"
    assert endpoint["tlsConfig"] == {"serverName": "site-watcher.sites.svc", "insecureSkipVerify": False}


def test_prometheus_rule_namespace(render: Render) -> None:
    assert render("servicemonitor")["PrometheusRule"]["metadata"]["namespace"] == "sites"
    assert render("existingconfigmap")["PrometheusRule"]["metadata"]["namespace"] == "monitoring"


def test_chart_metadata_names_home_sources_and_maintainers() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["home"].startswith("https://")
    assert chart["sources"]
    assert all(source.startswith("https://") for source in chart["sources"])
    assert all(maintainer["name"] for maintainer in chart["maintainers"])
