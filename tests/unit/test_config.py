"""Configuration: the contract's defaults, TOML + environment, precedence, one line per problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.site import ROOT, run_cli
from watcher.cli import main
from watcher.core.config import ConfigError, Settings, load_settings, resolve_config_path

QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/site-changes"
MINIMAL = f"""
[sqs]
queue_url = "{QUEUE}"

[[sites]]
bucket = "site-bucket"
distribution_id = "E2EXAMPLE"
"""
SITES_JSON = '[{"bucket": "env-bucket", "distribution_id": "EENV", "include": ["**/*.html"]}]'

# CONTRACT.md "Configuration (TOML)", key by key.
CONTRACT_DEFAULTS: dict[str, dict[str, Any]] = {
    "watcher": {
        "sources": ["sqs"],
        "log_level": "info",
        "log_format": "json",
        "dry_run": False,
        "shutdown_timeout_seconds": 25,
    },
    "http": {"listen": "0.0.0.0:9102", "unready_after_failing_seconds": 120},
    "aws": {"region": ""},
    "sqs": {
        "wait_time_seconds": 20,
        "max_messages": 10,
        "visibility_timeout_seconds": 300,
        "on_poison": "delete",
    },
    "poll": {
        "interval_seconds": 60,
        "watch": ["index.html", "**/index.html"],
        "state_file": "",
        "on_change": "object",
    },
    "invalidation": {
        "quiet_period_seconds": 5,
        "max_delay_seconds": 60,
        "max_paths_per_request": 100,
        "max_wildcards_in_progress": 13,
        "wait_for_completion": False,
        "requests_per_second": 0.5,  # v3
    },
}
SITE_DEFAULTS = {"prefix": "", "include": ["**"], "exclude": [], "role_arn": "", "external_id": ""}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def _problems(path: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_settings(path, environ=environ or {})
    return raised.value.problems


# -- defaults and the example -----------------------------------------------------------------


def test_defaults_are_the_contracts(tmp_path: Path) -> None:
    # GIVEN a config with only the required keys
    settings = load_settings(_write(tmp_path, MINIMAL), environ={})
    # THEN every other key has the contract's default
    resolved = settings.to_dict()
    for section, defaults in CONTRACT_DEFAULTS.items():
        assert {key: resolved[section][key] for key in defaults} == defaults, section
    assert {key: resolved["sites"][0][key] for key in SITE_DEFAULTS} == SITE_DEFAULTS


def test_the_root_config_toml_is_valid_and_documents_the_defaults() -> None:
    settings = load_settings(ROOT / "config.toml", environ={})
    resolved = settings.to_dict()
    for section, defaults in CONTRACT_DEFAULTS.items():
        assert {key: resolved[section][key] for key in defaults} == defaults, section


def test_watcher_check_accepts_the_root_config_toml() -> None:
    # WHEN the installed console script checks the documented example
    result = run_cli(["check", "--config", str(ROOT / "config.toml")], env={"PATH": "/usr/bin:/bin"})
    # THEN exit 0 and the resolved settings are printed
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("config OK:")
    assert '"max_wildcards_in_progress": 13' in result.stdout


# -- unknown keys ---------------------------------------------------------------------------------


def test_watcher_check_names_a_typod_key_and_exits_2(tmp_path: Path) -> None:
    # GIVEN a config with a typo in a section key
    path = _write(tmp_path, MINIMAL + "\n[invalidation]\nquiet_periode_seconds = 3\n")
    # WHEN `watcher check` runs
    result = run_cli(["check", "--config", str(path)], env={"PATH": "/usr/bin:/bin"})
    # THEN exit 2 with one line naming the key
    assert result.returncode == 2
    assert "invalidation.quiet_periode_seconds: unknown key" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("extra", "line"),
    [
        ("\n[sqs2]\nqueue_url = 'x'\n", "sqs2: unknown key"),
        ("\n[[sites]]\nbucket = 'b'\ndistribution = 'E1'\n", "sites[1].distribution: unknown key"),
    ],
)
def test_unknown_sections_and_site_keys_are_errors(tmp_path: Path, extra: str, line: str) -> None:
    assert any(problem.startswith(line) for problem in _problems(_write(tmp_path, MINIMAL + extra)))


@pytest.mark.parametrize(
    ("extra", "line"),
    [
        (
            "\n[[sites]]\nbucket = 'b'\ndistribution_id = 'E1'\nprefx = 'a/'\n",
            "sites[1].prefx: unknown key; did you mean `sites[1].prefix`?",
        ),
        (
            "\n[invalidaton]\nquiet_period_seconds = 3\n",
            "invalidaton: unknown key; did you mean `invalidation`?",
        ),
        (
            "\n[poll]\nintervall_seconds = 3\n",
            "poll.intervall_seconds: unknown key; did you mean `poll.interval_seconds`?",
        ),
        ("\n[poll]\ncolour = 3\n", "poll.colour: unknown key"),
    ],
)
def test_an_unknown_key_names_the_closest_valid_key(tmp_path: Path, extra: str, line: str) -> None:
    assert line in _problems(_write(tmp_path, MINIMAL + extra))


@pytest.mark.parametrize(
    ("section", "line"),
    [
        ('[watcher]\nsources = "sqs"', 'watcher.sources: must be a list (got a string: "sqs")'),
        (
            "[invalidation]\nmax_paths_per_request = 2.5",
            "invalidation.max_paths_per_request: must be an integer (got a float: 2.5)",
        ),
        ("[poll]\ninterval_seconds = [60]", "poll.interval_seconds: must be a number (got a list)"),
        ("[poll]\nstate_file = 3", "poll.state_file: must be a string (got an integer: 3)"),
        ("[poll]\ninvalidate_on_start = 3", "poll.invalidate_on_start: must be a boolean (true or false)"),
        ("[poll]\nwatch = [1]", "poll.watch[0]: must be a string (got an integer: 1)"),
        ("http = 3", "http: must be a table (got an integer: 3)"),
    ],
)
def test_a_value_of_the_wrong_type_is_named_by_its_toml_type(tmp_path: Path, section: str, line: str) -> None:
    text = f"{section}\n{MINIMAL}" if not section.startswith("[") else f"{MINIMAL}\n{section}\n"
    problems = _problems(_write(tmp_path, text))
    assert any(problem.startswith(line) for problem in problems), problems
    assert not any("a valid" in problem or "tuple" in problem for problem in problems), problems


# -- environment -------------------------------------------------------------------------------------


def test_environment_overrides_scalars_and_json_lists(tmp_path: Path) -> None:
    # GIVEN the minimal file and environment overrides
    environ = {
        "WATCHER__SQS__WAIT_TIME_SECONDS": "7",
        "WATCHER__WATCHER__DRY_RUN": "true",
        "WATCHER__WATCHER__SOURCES": '["sqs", "poll"]',
        "WATCHER__POLL__WATCH": '["**/*.html"]',
        "WATCHER_CONFIG": "/elsewhere.toml",  # not a WATCHER__ override: never an error
        "PATH": "/usr/bin",
    }
    settings = load_settings(_write(tmp_path, MINIMAL), environ=environ)
    # THEN typed values from strings, lists from JSON
    assert settings.sqs.wait_time_seconds == 7
    assert settings.dry_run is True
    assert settings.watcher.sources == ("sqs", "poll")
    assert settings.poll.watch == ("**/*.html",)


def test_watcher_sites_replaces_the_whole_array(tmp_path: Path) -> None:
    settings = load_settings(
        _write(tmp_path, MINIMAL + '\n[[sites]]\nbucket = "b2"\ndistribution_id = "E2"\n'),
        environ={"WATCHER__SITES": SITES_JSON},
    )
    assert [(s.bucket, s.distribution_id, s.include) for s in settings.sites] == [
        ("env-bucket", "EENV", ("**/*.html",))
    ]


@pytest.mark.parametrize(
    ("name", "value", "line"),
    [
        ("WATCHER__SQS__QUEUE", "x", "WATCHER__SQS__QUEUE: unknown setting: [sqs] has no key 'queue'"),
        ("WATCHER__SQSQUEUE_URL", "x", "WATCHER__SQSQUEUE_URL: unknown setting"),
        ("WATCHER__NOPE__KEY", "x", "WATCHER__NOPE__KEY: unknown setting"),
        ("WATCHER__SQS__QUEUE_URL__X", "x", "WATCHER__SQS__QUEUE_URL__X: unknown setting"),
        ("WATCHER__SITES__0__BUCKET", "x", "WATCHER__SITES__0__BUCKET: unknown setting"),
        ("WATCHER__POLL__WATCH", "index.html", "WATCHER__POLL__WATCH: must be a JSON array"),
        ("WATCHER__SITES", "[{", "WATCHER__SITES: must be a JSON array of site tables"),
    ],
)
def test_bad_watcher_variables_are_errors_naming_the_variable(
    tmp_path: Path, name: str, value: str, line: str
) -> None:
    problems = _problems(_write(tmp_path, MINIMAL), {name: value})
    assert len(problems) == 1
    assert problems[0].startswith(line)


def test_an_unknown_variable_fails_watcher_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WATCHER__INVALIDATION__QUIET_PERIOD", "3")
    assert main(["check", "--config", str(_write(tmp_path, MINIMAL))]) == 2
    assert "WATCHER__INVALIDATION__QUIET_PERIOD: unknown setting" in capsys.readouterr().err


# -- precedence ----------------------------------------------------------------------------------------


def test_precedence_is_flag_then_environment_then_file_then_default(tmp_path: Path) -> None:
    # GIVEN a file setting dry_run, the wait time and max_messages; the environment two of them
    text = MINIMAL.replace("[sqs]", "[sqs]\nwait_time_seconds = 5\nmax_messages = 4")
    path = _write(tmp_path, text + "\n[watcher]\ndry_run = true\n")
    environ = {"WATCHER__WATCHER__DRY_RUN": "false", "WATCHER__SQS__WAIT_TIME_SECONDS": "9"}
    # THEN the file beats the default, the environment beats the file ...
    from_env = load_settings(path, environ=environ)
    assert from_env.sqs.max_messages == 4
    assert from_env.sqs.wait_time_seconds == 9
    assert from_env.dry_run is False
    # ... and a flag (run --dry-run) beats the environment
    flagged = load_settings(path, environ=environ, overrides={"watcher": {"dry_run": True}})
    assert flagged.dry_run is True
    assert flagged.sqs.visibility_timeout_seconds == 300


def test_the_config_path_is_the_flag_then_watcher_config_then_config_toml() -> None:
    assert resolve_config_path("a.toml", {"WATCHER_CONFIG": "b.toml"}) == Path("a.toml")
    assert resolve_config_path(None, {"WATCHER_CONFIG": "b.toml"}) == Path("b.toml")
    assert resolve_config_path(None, {}) == Path("config.toml")


# -- missing file -------------------------------------------------------------------------------------------


def test_a_missing_file_is_fine_when_the_environment_sets_every_required_key(tmp_path: Path) -> None:
    environ = {"WATCHER__SQS__QUEUE_URL": QUEUE, "WATCHER__SITES": SITES_JSON}
    settings = load_settings(tmp_path / "absent.toml", environ=environ)
    assert settings.sqs.queue_url == QUEUE
    assert settings.sites[0].bucket == "env-bucket"


def test_a_missing_file_without_the_environment_is_exit_2_saying_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WATCHER_CONFIG", raising=False)
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert "config.toml: config file not found" in err
    assert "sites: at least one [[sites]] entry is required" in err
    assert "sqs.queue_url: required when sources include 'sqs'" in err


def test_poll_only_needs_no_queue_url(tmp_path: Path) -> None:
    environ = {"WATCHER__WATCHER__SOURCES": '["poll"]', "WATCHER__SITES": SITES_JSON}
    assert load_settings(tmp_path / "absent.toml", environ=environ).sqs.queue_url == ""


# -- bad values: one clear line each ------------------------------------------------------------


def test_a_fifo_queue_is_refused_with_the_reason(tmp_path: Path) -> None:
    (line,) = _problems(_write(tmp_path, MINIMAL.replace("site-changes", "site-changes.fifo")))
    assert line.startswith("sqs.queue_url: FIFO queues cannot receive S3 event notifications")


def test_each_bad_value_is_one_line_naming_its_key(tmp_path: Path) -> None:
    # GIVEN a config with nine bad values in six places
    text = f"""
[watcher]
log_level = "verbose"
shutdown_timeout_seconds = 0
[http]
listen = "9102"
[sqs]
queue_url = "{QUEUE}"
wait_time_seconds = 30
max_messages = 0
on_poison = "drop"
[[sites]]
bucket = "Bad Bucket!"
distribution_id = "e2example"
prefix = "www"
"""
    problems = _problems(_write(tmp_path, text))
    # THEN nine lines, each starting with the key it is about
    assert [p.split(":")[0] for p in problems] == [
        "watcher.log_level",
        "watcher.shutdown_timeout_seconds",
        "http.listen",
        "sqs.wait_time_seconds",
        "sqs.max_messages",
        "sqs.on_poison",
        "sites[0].bucket",
        "sites[0].distribution_id",
        "sites[0].prefix",
    ]
    assert all("\n" not in p for p in problems)
    assert "(got 30)" in problems[3]


@pytest.mark.parametrize(
    ("section", "line"),
    [
        (
            "[invalidation]\nquiet_period_seconds = 30\nmax_delay_seconds = 10",
            "max_delay_seconds must be at least",
        ),
        ("[invalidation]\nmax_wildcards_in_progress = 16", "invalidation.max_wildcards_in_progress"),
        ("[sqs]\nvisibility_timeout_seconds = 50000", "sqs.visibility_timeout_seconds"),
        ("[watcher]\nsources = []", "watcher.sources: at least one source"),
        ('[watcher]\nsources = ["sqs", "sqs"]', "watcher.sources: each source may be named once"),
        ('[watcher]\nsources = ["kafka"]', "watcher.sources[0]"),
    ],
)
def test_out_of_range_values_are_refused(tmp_path: Path, section: str, line: str) -> None:
    header = section.split("\n", 1)[0]
    # a section the minimal file already has gets the bad key added to it (TOML forbids repeating it)
    text = MINIMAL.replace(header, section) if header in MINIMAL else f"{MINIMAL}\n{section}\n"
    problems = _problems(_write(tmp_path, text))
    assert len(problems) == 1, problems
    assert line in problems[0]


def test_settings_are_frozen() -> None:
    settings = Settings.model_validate(
        {"sqs": {"queue_url": QUEUE}, "sites": [{"bucket": "b", "distribution_id": "E1"}]}
    )
    with pytest.raises(ValueError, match="frozen"):
        settings.sqs.max_messages = 1


# -- v3: the CreateInvalidation rate, a role per site ---------------------------------------------


def test_the_invalidation_rate_defaults_to_cloudfronts_and_must_be_positive(tmp_path: Path) -> None:
    assert load_settings(_write(tmp_path, MINIMAL), environ={}).invalidation.requests_per_second == 0.5
    problems = _problems(_write(tmp_path, MINIMAL + "\n[invalidation]\nrequests_per_second = 0\n"))
    assert len(problems) == 1
    assert problems[0].startswith("invalidation.requests_per_second:")


ROLE = "arn:aws:iam::222222222222:role/site-invalidator"


@pytest.mark.parametrize(
    ("site", "problem"),
    [
        ('role_arn = "arn:aws:iam::2222:role/x"', "sites[0].role_arn: not an IAM role ARN"),
        ('role_arn = "arn:aws:iam::222222222222:user/x"', "sites[0].role_arn: not an IAM role ARN"),
        ('external_id = "agency-42"', "sites[0]: external_id is only used with role_arn"),
        (f'role_arn = "{ROLE}"\nexternal_id = "a b"', "sites[0].external_id: 2..1224 characters"),
    ],
)
def test_a_bad_site_role_is_one_clear_line(tmp_path: Path, site: str, problem: str) -> None:
    problems = _problems(_write(tmp_path, MINIMAL + site + "\n"))
    assert len(problems) == 1, problems
    assert problems[0].startswith(problem), problems


def test_a_site_role_is_accepted_in_every_partition(tmp_path: Path) -> None:
    for role in (
        ROLE,
        "arn:aws-cn:iam::222222222222:role/path/to/r",
        "arn:aws-us-gov:iam::222222222222:role/r",
    ):
        settings = load_settings(
            _write(tmp_path, MINIMAL + f'role_arn = "{role}"\nexternal_id = "x-1"\n'), environ={}
        )
        assert settings.sites[0].role_arn == role


def test_one_distribution_cannot_be_given_two_roles(tmp_path: Path) -> None:
    second = f'\n[[sites]]\nbucket = "blog-bucket"\ndistribution_id = "E2EXAMPLE"\nrole_arn = "{ROLE}"\n'
    problems = _problems(_write(tmp_path, MINIMAL + second))
    assert problems == [
        "sites: distribution E2EXAMPLE is given different roles (role_arn/external_id): "
        "a distribution lives in one account"
    ]
