"""The configured sources, built from the settings (wiring for the lifecycle owner, app.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from watcher.aws import ClientFactory
from watcher.core.clock import Clock
from watcher.core.config import Settings
from watcher.core.mode import RunMode
from watcher.core.model import Change
from watcher.ops.metrics import Metrics
from watcher.sources import Source
from watcher.sources.poll import PollSource
from watcher.sources.sqs import SqsSource

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

__all__ = ["Sources", "build_sources"]


@dataclass(slots=True)
class Sources:
    """What `[watcher] sources` names; `sqs_client` also serves the queue-depth reads."""

    all: list[Source] = field(default_factory=list)
    sqs: SqsSource | None = None
    poll: PollSource | None = None
    sqs_client: SQSClient | None = None


def build_sources(
    settings: Settings,
    factory: ClientFactory,
    *,
    clock: Clock,
    metrics: Metrics,
    on_change: Callable[[Change], None],
    stop: threading.Event,
    mode: RunMode,
    on_listing: Callable[[str, str, list[str]], None] | None = None,
) -> Sources:
    """The SQS source (short-call client for acks, long-poll client for receives) and/or poll."""
    built = Sources()
    unready_after = settings.http.unready_after_failing_seconds
    if "sqs" in settings.watcher.sources:
        built.sqs_client = factory.sqs()
        built.sqs = SqsSource(
            built.sqs_client,
            settings.sqs,
            receive_client=factory.sqs_receiver(wait_time_seconds=settings.sqs.wait_time_seconds),
            clock=clock,
            metrics=metrics,
            on_change=on_change,
            mode=mode,
            unready_after=unready_after,
        )
        built.all.append(built.sqs)
    if "poll" in settings.watcher.sources:
        built.poll = PollSource(
            factory.s3(),
            settings.poll,
            settings.sites,
            clock=clock,
            metrics=metrics,
            on_change=on_change,
            stop=stop,
            dry_run=mode.dry_run,
            unready_after=unready_after,
            on_listing=on_listing,
            client_for=factory.for_sites(settings.sites).s3,  # a site's role_arn, if any
            skip_unchanged=settings.invalidation.skip_unchanged,
        )
        built.all.append(built.poll)
    return built
