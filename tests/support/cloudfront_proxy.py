"""A strict CloudFront stand-in: invalidations as AWS does them, the rest from moto.

moto's CloudFront completes every invalidation at once, makes a new one for a
reused CallerReference and accepts any path in any number. StrictCloudFront
answers the invalidation endpoints itself (with CloudFront's rules, error codes
and XML) and forwards everything else (CreateDistribution, GetDistribution, ...)
to moto. Being a FaultProxy, it injects the same faults; a "lost_response" on
CreateInvalidation creates the invalidation and then loses the answer.
"""

from __future__ import annotations

import random
import re
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs

from tests.support.aws_wire import Request, Response, aws_error
from tests.support.cloudfront_rules import (
    MAX_FILES_IN_PROGRESS,
    MAX_WILDCARDS_IN_PROGRESS,
    batch_problem,
    is_wildcard,
    parse_batch,
    render,
)
from tests.support.fault_proxy import FaultProxy

__all__ = ["CLOUDFRONT_BURST", "CLOUDFRONT_RATE", "Invalidation", "StrictCloudFront"]

_API = "/2020-05-31/distribution"
_COLLECTION = re.compile(rf"^{_API}/([^/]+)/invalidation$")
_ITEM = re.compile(rf"^{_API}/([^/]+)/invalidation/([^/]+)$")
_XML: tuple[tuple[str, str], ...] = (("Content-Type", "text/xml"),)
# CreateInvalidation's documented sustained rate (one call every two seconds), and a small burst.
CLOUDFRONT_RATE = 0.5
CLOUDFRONT_BURST = 5


@dataclass(frozen=True, slots=True)
class Invalidation:
    """One invalidation the stand-in accepted."""

    distribution_id: str
    id: str
    caller_reference: str
    paths: tuple[str, ...]
    create_time: datetime
    started_at: float  # on the stand-in's clock, for InProgress -> Completed


class StrictCloudFront(FaultProxy):
    """CloudFront's invalidation API, strict; see the module docstring.

    `complete_after`: seconds (on `clock`) an invalidation stays InProgress;
    `complete_all()` completes every one at once, `complete(id)` one of them.
    CreateTime has CloudFront's millisecond precision and comes from `wall`
    (settable: a test may date an invalidation 0.4 s into a second). `add()`
    makes an invalidation as if another caller had (no quota, no HTTP), and
    `on_list(hook)` runs `hook(n)` before the n-th ListInvalidations from now on is
    answered (n from 1): what happens between two looks of a poller. `rate` (calls a second, with
    bursts of `burst`): CreateInvalidation's account-wide rate limit, beyond
    which it answers 400 Throttling "Rate exceeded" (counted in `throttled`);
    None = no limit. CloudFront's is about 0.5/s (`CLOUDFRONT_RATE`).
    """

    def __init__(
        self,
        upstream: str,
        *,
        seed: int = 0,
        complete_after: float = 0.0,
        slow_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        rate: float | None = None,
        burst: int = CLOUDFRONT_BURST,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(upstream, seed=seed, slow_seconds=slow_seconds)
        self.complete_after = complete_after
        self.rate = rate
        self.burst = burst
        self.throttled = 0
        self._tokens = float(burst)
        self._tokens_at = clock()
        self._clock = clock
        self._ids = random.Random(f"invalidation-ids-{seed}")
        self._store_lock = threading.Lock()
        self._invalidations: list[Invalidation] = []
        self._completed: set[str] = set()
        self._known_distributions: set[str] = set()
        self.wall = wall
        self._before_list: Callable[[int], object] | None = None
        self._lists = 0

    # -- what tests look at --------------------------------------------------------

    @property
    def invalidations(self) -> list[Invalidation]:
        """Every accepted invalidation, oldest first (a reused CallerReference adds none)."""
        with self._store_lock:
            return list(self._invalidations)

    @property
    def create_calls(self) -> int:
        """CreateInvalidation requests received, faulted ones included."""
        return self.count("CreateInvalidation")

    def status(self, invalidation: Invalidation) -> str:
        """ "InProgress" or "Completed", as GetInvalidation would answer now."""
        with self._store_lock:
            return self._status(invalidation)

    def complete_all(self) -> None:
        """Complete every invalidation made so far."""
        with self._store_lock:
            self._completed.update(i.id for i in self._invalidations)

    def on_list(self, hook: Callable[[int], object] | None) -> None:
        """Run `hook(n)` before answering the n-th ListInvalidations counted from now."""
        with self._store_lock:
            self._lists = 0
            self._before_list = hook

    def complete(self, invalidation_id: str) -> None:
        """Complete one invalidation (the others keep their own timing)."""
        with self._store_lock:
            self._completed.add(invalidation_id)

    def add(
        self, distribution_id: str, paths: list[str], *, create_time: datetime | None = None
    ) -> Invalidation:
        """An invalidation made by someone else: accepted as it is, newest of the distribution."""
        with self._store_lock:
            invalidation = Invalidation(
                distribution_id,
                self._new_id(),
                f"added-{len(self._invalidations)}",
                tuple(paths),
                create_time or self.wall(),
                self._clock(),
            )
            self._invalidations.append(invalidation)
            return invalidation

    def covered(self, distribution_id: str, path: str) -> bool:
        """Whether an accepted invalidation of the distribution covers `path`."""
        return any(
            p == path or (is_wildcard(p) and path.startswith(p[:-1]))
            for i in self.invalidations
            if i.distribution_id == distribution_id
            for p in i.paths
        )

    # -- serving -------------------------------------------------------------------

    def dispatch(self, request: Request) -> Response:
        """Invalidation endpoints here, everything else upstream."""
        collection = _COLLECTION.match(request.path)
        item = _ITEM.match(request.path)
        if collection and request.method == "POST":
            return self._guarded(request, collection.group(1), self._create)
        if collection and request.method == "GET":
            return self._guarded(request, collection.group(1), self._list)
        if item and request.method == "GET":
            return self._guarded(request, item.group(1), self._get)
        return super().dispatch(request)

    def _guarded(
        self,
        request: Request,
        distribution_id: str,
        answer: Callable[[Request, str], Response],
    ) -> Response:
        if not self._distribution_exists(request, distribution_id):
            return aws_error(request, 404, "NoSuchDistribution", "The specified distribution does not exist.")
        return answer(request, distribution_id)

    def _distribution_exists(self, request: Request, distribution_id: str) -> bool:
        # Positive answers are cached; a missing one may be created later.
        if distribution_id in self._known_distributions:
            return True
        headers = tuple(
            (k, v) for k, v in request.headers if k.lower() not in ("content-type", "content-md5")
        )
        probe = Request("GET", f"{_API}/{distribution_id}", "", headers, b"", "cloudfront")
        if self.forward(probe).status != 200:
            return False
        self._known_distributions.add(distribution_id)
        return True

    def _create(self, request: Request, distribution_id: str) -> Response:
        if not self._take_request_slot():
            return aws_error(request, 400, "Throttling", "Rate exceeded")
        try:
            batch = parse_batch(request.body)
        except ValueError as error:
            return aws_error(request, 400, "MalformedInput", str(error))
        problem = batch_problem(batch)
        if problem:
            return aws_error(request, 400, *problem)
        with self._store_lock:
            existing = next(
                (
                    i
                    for i in self._invalidations
                    if i.distribution_id == distribution_id and i.caller_reference == batch.caller_reference
                ),
                None,
            )
            if existing is not None:
                if sorted(existing.paths) != sorted(batch.paths):
                    return aws_error(
                        request,
                        409,
                        "InvalidationBatchAlreadyExists",
                        "Invalidation batch specified in the request already exists.",
                    )
                return self._invalidation_response(request, existing, 201, fresh=False)
            quota_error = self._quota_error(distribution_id, batch.paths)
            if quota_error:
                return aws_error(request, 400, "TooManyInvalidationsInProgress", quota_error)
            invalidation = Invalidation(
                distribution_id,
                self._new_id(),
                batch.caller_reference,
                batch.paths,
                self.wall(),
                self._clock(),
            )
            self._invalidations.append(invalidation)
            return self._invalidation_response(request, invalidation, 201, fresh=True)

    def _quota_error(self, distribution_id: str, paths: tuple[str, ...]) -> str | None:
        in_progress = [
            p
            for i in self._invalidations
            if i.distribution_id == distribution_id and self._status(i) == "InProgress"
            for p in i.paths
        ]
        wildcards = sum(map(is_wildcard, in_progress)) + sum(map(is_wildcard, paths))
        files = len(in_progress) + len(paths) - wildcards
        if wildcards > MAX_WILDCARDS_IN_PROGRESS:
            return (
                "Processing your request will cause you to exceed the maximum number of "
                f"in-progress wildcard invalidations ({MAX_WILDCARDS_IN_PROGRESS})."
            )
        if files > MAX_FILES_IN_PROGRESS:
            return (
                "Processing your request will cause you to exceed the maximum number of "
                f"in-progress invalidation paths ({MAX_FILES_IN_PROGRESS})."
            )
        return None

    def _get(self, request: Request, distribution_id: str) -> Response:
        wanted = request.path.rpartition("/")[2]
        with self._store_lock:
            found = next(
                (i for i in self._invalidations if i.id == wanted and i.distribution_id == distribution_id),
                None,
            )
            if found is None:
                return aws_error(
                    request, 404, "NoSuchInvalidation", "The specified invalidation does not exist."
                )
            return self._invalidation_response(request, found, 200)

    def _list(self, request: Request, distribution_id: str) -> Response:
        with self._store_lock:
            self._lists += 1
            number, hook = self._lists, self._before_list
        if hook is not None:
            hook(number)
        params = parse_qs(request.query)
        marker = params.get("Marker", [""])[0]
        try:
            max_items = int(params.get("MaxItems", ["100"])[0])
        except ValueError:
            return aws_error(request, 400, "InvalidArgument", "MaxItems must be an integer.")
        with self._store_lock:
            # Newest first by CreateTime (a test may date one in the past); ties: the later made first.
            mine = [i for i in reversed(self._invalidations) if i.distribution_id == distribution_id]
            newest_first = sorted(mine, key=lambda i: i.create_time, reverse=True)
            ids = [i.id for i in newest_first]
            start = ids.index(marker) + 1 if marker in ids else 0
            page = newest_first[start : start + max_items]
            truncated = start + max_items < len(newest_first)
            summaries = [
                (
                    "InvalidationSummary",
                    [
                        ("Id", i.id),
                        ("CreateTime", i.create_time),
                        ("Status", self._status(i)),
                    ],
                )
                for i in page
            ]
        fields: list[tuple[str, object]] = [
            ("Marker", marker),
            ("MaxItems", max_items),
            ("IsTruncated", truncated),
            ("Quantity", len(page)),
        ]
        if truncated:
            fields.insert(1, ("NextMarker", page[-1].id))
        if summaries:
            fields.append(("Items", summaries))
        return Response(200, _XML, render("InvalidationList", fields))

    def _take_request_slot(self) -> bool:
        """A token bucket over every distribution: CloudFront's limit is per account."""
        if self.rate is None:
            return True
        with self._store_lock:
            now = self._clock()
            self._tokens = min(float(self.burst), self._tokens + (now - self._tokens_at) * self.rate)
            self._tokens_at = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            self.throttled += 1
            return False

    # -- helpers (callers hold _store_lock) ------------------------------------------

    def _status(self, invalidation: Invalidation) -> str:
        done = invalidation.id in self._completed or (
            self._clock() - invalidation.started_at >= self.complete_after
        )
        return "Completed" if done else "InProgress"

    def _new_id(self) -> str:
        alphabet = string.ascii_uppercase + string.digits
        taken = {i.id for i in self._invalidations}
        while True:
            candidate = "I" + "".join(self._ids.choice(alphabet) for _ in range(13))
            if candidate not in taken:
                return candidate

    def _invalidation_response(
        self, request: Request, invalidation: Invalidation, status: int, *, fresh: bool = False
    ) -> Response:
        # CloudFront answers a fresh create with InProgress, however fast it completes.
        state = "InProgress" if fresh else self._status(invalidation)
        body = render(
            "Invalidation",
            [
                ("Id", invalidation.id),
                ("Status", state),
                ("CreateTime", invalidation.create_time),
                (
                    "InvalidationBatch",
                    [
                        (
                            "Paths",
                            [
                                ("Quantity", len(invalidation.paths)),
                                ("Items", [("Path", p) for p in invalidation.paths]),
                            ],
                        ),
                        ("CallerReference", invalidation.caller_reference),
                    ],
                ),
            ],
        )
        headers = _XML
        if status == 201:
            location = (
                f"https://cloudfront.amazonaws.com{_API}/{invalidation.distribution_id}"
                f"/invalidation/{invalidation.id}"
            )
            headers = (*_XML, ("Location", location))
        return Response(status, headers, body)
