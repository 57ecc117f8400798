"""`watcher wait`'s pure parts: TIME, --keys-from lines, and what covers a changed path."""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.iam_calls import WAIT_ACTIONS, actions
from watcher.cli import main
from watcher.commands.iam import Account, watcher_policy
from watcher.commands.wait.coverage import KnownInvalidation, assess, needed_paths
from watcher.commands.wait.keys import NamedKey, parse_keys
from watcher.commands.wait.listing import ChangedObject, merge_changes
from watcher.commands.wait.since import parse_since
from watcher.core.config import Settings, SiteSettings
from watcher.core.routing import Router

T0 = datetime(2026, 11, 29, 10, 0, 0, tzinfo=UTC)


def test_since_reads_iso_8601_and_epoch_seconds_as_the_same_instant() -> None:
    assert parse_since("2026-11-29T10:00:00Z") == T0
    assert parse_since("2026-11-29T11:00:00+01:00") == T0
    assert parse_since(str(int(T0.timestamp()))) == T0
    assert parse_since(f"{int(T0.timestamp())}.5") == T0 + timedelta(seconds=0.5)


@pytest.mark.parametrize("text", ["", "yesterday", "2026-11-29T10:00:00", "2999-01-01T00:00:00Z"])
def test_since_refuses_what_names_no_past_instant(text: str) -> None:
    with pytest.raises(ValueError, match="--since"):
        parse_since(text)


def test_keys_from_lines_skip_comments_and_refuse_what_is_not_an_s3_url() -> None:
    keys = parse_keys(["# deleted", "", "s3://b/a b.html", " s3://b/x/y "])
    assert [(k.bucket, k.key, k.deleted) for k in keys] == [("b", "a b.html", True), ("b", "x/y", True)]
    with pytest.raises(ValueError, match="line 2"):
        parse_keys(["s3://b/k", "b/k"])


def test_keys_from_reads_the_aws_cli_sync_log_progress_and_padding_included() -> None:
    # GIVEN what `aws s3 sync --delete | tee sync.log` holds: progress ending in \r before results
    log = (
        "delete: s3://b/docs/gone.html\n"
        "Completed 0 Bytes/3 Bytes (0 Bytes/s) with 4 file(s) remaining\rdelete: s3://b/a b.html      \n"
        "Completed 1 Byte/3 Bytes (28 Bytes/s) with 2 file(s) remaining\r"
        "upload: ../public/new.css to s3://b/new.css\n"
        "copy: s3://other/x.js to s3://b/x.js\n"
        "move: s3://b/old/y.js to s3://b/y.js\n"
        "download: s3://b/z to ./z\n"
        "Completed 3 Bytes/3 Bytes (77 Bytes/s) with 1 file(s) remaining\r"
    )
    # WHEN read THEN every delete and write is there, padding dropped
    assert parse_keys(log.splitlines(keepends=True)) == [
        NamedKey("b", "docs/gone.html", deleted=True),
        NamedKey("b", "a b.html", deleted=True),
        NamedKey("b", "new.css", deleted=False),
        NamedKey("b", "x.js", deleted=False),
        NamedKey("b", "y.js", deleted=False),
        NamedKey("b", "old/y.js", deleted=True),
    ]
    # AND what is not a line of the CLI (a dry run changed nothing) is refused, naming it
    with pytest.raises(ValueError, match="line 1"):
        parse_keys(["(dryrun) delete: s3://b/k\n"])


def test_the_latest_change_of_an_object_wins() -> None:
    merged = merge_changes([ChangedObject("b", "k", T0)], [ChangedObject("b", "k", T0 + timedelta(1))])
    assert merged == [ChangedObject("b", "k", T0 + timedelta(1))]


def _known(paths: list[str], created: datetime, status: str = "Completed") -> KnownInvalidation:
    return KnownInvalidation("I1", created, status, tuple(paths))


def test_coverage_uses_the_daemons_routing_and_encoding() -> None:
    router = Router([SiteSettings(bucket="b", distribution_id="E1")])
    needed, unrouted = needed_paths(
        router, [ChangedObject("b", "docs/index.html", T0), ChangedObject("x", "k", T0)]
    )
    assert [n.path for n in needed] == ["/docs/", "/docs/index.html"]
    assert unrouted.other_buckets == ("s3://x/k",)


def test_only_a_completed_invalidation_created_after_the_second_of_the_change_covers_it() -> None:
    router = Router([SiteSettings(bucket="b", distribution_id="E1")])
    needed, _ = needed_paths(router, [ChangedObject("b", "a b.html", T0 + timedelta(seconds=0.7))])
    end = T0 + timedelta(seconds=1)  # the end of the second in which S3 dates the change
    # created within the second of the change (S3 dates it to the second): not covering; at its end: covering
    early = end - timedelta(seconds=0.001)
    assert not assess(needed, {"E1": [_known(["/a%20b.html"], early)]})["E1"].covered
    assert assess(needed, {"E1": [_known(["/a%20b.html"], end)]})["E1"].done
    # a wildcard covers; "COMPLETED" in any case is completed; InProgress covers but is not done
    assert assess(needed, {"E1": [_known(["/a*"], end, "COMPLETED")]})["E1"].done
    running = assess(needed, {"E1": [_known(["/*"], end, "InProgress")]})["E1"]
    assert (running.covered, running.completed, len(running.in_progress)) == (1, 0, 1)
    # a key with a "*" needs a wildcard path: covered by itself or by a shorter wildcard, not by a file path
    star, _ = needed_paths(router, [ChangedObject("b", "a*b.html", T0)])
    assert [n.path for n in star] == ["/a*"]
    assert assess(star, {"E1": [_known(["/a*"], end)]})["E1"].done
    assert assess(star, {"E1": [_known(["/*"], end)]})["E1"].done
    assert not assess(star, {"E1": [_known(["/a", "/ab*"], end)]})["E1"].covered
    # another distribution's invalidation does not count
    assert not assess(needed, {"E2": [_known(["/*"], end)]})["E1"].covered


def test_the_wait_policy_is_read_only_and_scoped_to_prefixes_and_distributions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a root site and a prefix site on another bucket, and no queue at all
    config = tmp_path / "config.toml"
    config.write_text(
        '[watcher]\nsources = ["poll"]\n'
        '[[sites]]\nbucket = "www"\ndistribution_id = "E1"\n'
        '[[sites]]\nbucket = "docs"\ndistribution_id = "E2"\nprefix = "v2/"\n'
    )
    # WHEN the policy for `watcher wait` is printed offline
    assert main(["iam-policy", "--for", "wait", "--config", str(config), "--account-id", "123456789012"]) == 0
    document = json.loads(capsys.readouterr().out)
    statements = document["Statement"]
    # THEN it only lists and reads, on the site buckets (prefix-scoped) and distributions
    assert actions(statements) == WAIT_ACTIONS
    docs = next(s for s in statements if s["Resource"] == "arn:aws:s3:::docs")
    assert docs["Condition"] == {"StringLike": {"s3:prefix": ["v2/*"]}}
    www = next(s for s in statements if s["Resource"] == "arn:aws:s3:::www")
    assert "Condition" not in www
    cloudfront = next(s for s in statements if s["Sid"] == "ReadSiteInvalidations")
    assert cloudfront["Resource"] == [
        "arn:aws:cloudfront::123456789012:distribution/E1",
        "arn:aws:cloudfront::123456789012:distribution/E2",
    ]


def test_the_watcher_policy_adds_put_events_on_the_configured_bus_only() -> None:
    account = Account("123456789012", "eu-west-1")
    base = {"watcher": {"sources": ["poll"]}, "sites": [{"bucket": "b", "distribution_id": "E1"}]}
    without = watcher_policy(Settings.model_validate(base), account, mode="poll")
    assert not [s for s in without["Statement"] if s["Action"] == "events:PutEvents"]
    named = Settings.model_validate({**base, "notify": {"eventbridge_bus": "deploys"}})
    [publish] = [
        s for s in watcher_policy(named, account, mode="poll")["Statement"] if s["Sid"].startswith("Pub")
    ]
    assert publish["Action"] == "events:PutEvents"
    assert publish["Resource"] == "arn:aws:events:eu-west-1:123456789012:event-bus/deploys"


def test_progress_is_a_plain_line_every_10_s_off_a_terminal_and_bars_on_one() -> None:

    from watcher.commands.wait.bars import RichProgress  # noqa: PLC0415
    from watcher.commands.wait.coverage import DistributionProgress  # noqa: PLC0415
    from watcher.commands.wait.progress import PlainProgress, make_progress  # noqa: PLC0415

    state = {"E1": DistributionProgress("E1", total=4, covered=3, completed=1)}
    log = io.StringIO()
    plain = make_progress(log)
    assert isinstance(plain, PlainProgress)
    for now in (0.0, 5.0, 10.0, 15.0):
        plain.update(state, now)
    assert log.getvalue().count("\n") == 2
    assert "E1 covered 3/4, completed 1/4" in log.getvalue()
    screen = io.StringIO()
    bars = RichProgress(screen)
    bars.update(state, 0.0)
    bars.close()
    assert "completed 1/4" in screen.getvalue()
    assert "covered 3/4" in screen.getvalue()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_without_rich_a_terminal_gets_the_plain_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    from watcher.commands.wait.progress import PlainProgress, make_progress  # noqa: PLC0415

    # GIVEN an installation without the `progress` extra (rich cannot be imported)
    monkeypatch.setitem(sys.modules, "watcher.commands.wait.bars", None)
    # WHEN wait draws its progress on a terminal THEN it prints plain lines instead of failing
    assert isinstance(make_progress(_Terminal()), PlainProgress)
