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
from watcher.commands.wait.listing import ChangedObject, merge_changes, parse_keys
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
    keys = parse_keys(["# deleted", "", "s3://b/a b.html", " s3://b/x/y "], T0)
    assert [(k.bucket, k.key, k.deleted) for k in keys] == [("b", "a b.html", True), ("b", "x/y", True)]
    with pytest.raises(ValueError, match="line 2"):
        parse_keys(["s3://b/k", "b/k"], T0)


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
    assert unrouted == ["s3://x/k"]


def test_only_a_completed_invalidation_created_at_or_after_the_change_covers_it() -> None:
    router = Router([SiteSettings(bucket="b", distribution_id="E1")])
    needed, _ = needed_paths(router, [ChangedObject("b", "a b.html", T0 + timedelta(seconds=0.7))])
    # created earlier: not covering; the same second counts (S3 keeps whole seconds)
    assert not assess(needed, {"E1": [_known(["/a%20b.html"], T0 - timedelta(seconds=1))]})["E1"].covered
    assert assess(needed, {"E1": [_known(["/a%20b.html"], T0)]})["E1"].done
    # a wildcard covers; "COMPLETED" in any case is completed; InProgress covers but is not done
    assert assess(needed, {"E1": [_known(["/a*"], T0, "COMPLETED")]})["E1"].done
    running = assess(needed, {"E1": [_known(["/*"], T0, "InProgress")]})["E1"]
    assert (running.covered, running.completed, len(running.in_progress)) == (1, 0, 1)
    # a key with a "*" needs a wildcard path: covered by itself or by a shorter wildcard, not by a file path
    star, _ = needed_paths(router, [ChangedObject("b", "a*b.html", T0)])
    assert [n.path for n in star] == ["/a*"]
    assert assess(star, {"E1": [_known(["/a*"], T0)]})["E1"].done
    assert assess(star, {"E1": [_known(["/*"], T0)]})["E1"].done
    assert not assess(star, {"E1": [_known(["/a", "/ab*"], T0)]})["E1"].covered
    # another distribution's invalidation does not count
    assert not assess(needed, {"E2": [_known(["/*"], T0)]})["E1"].covered


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
