"""StrictCloudFront plus the CreateInvalidation answers FaultProxy's kinds do not cover.

FaultProxy injects 503, Throttling and lost responses; CloudFront also answers
TooManyInvalidationsInProgress (a quota), AccessDenied (IAM) and InvalidArgument
for a path it dislikes. These are CloudFront-shaped error responses from the
stand-in, decided before the request reaches the invalidation store.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass

from tests.support.aws_wire import Request, Response, aws_error
from tests.support.cloudfront_proxy import StrictCloudFront
from tests.support.cloudfront_rules import parse_batch

__all__ = ["ScriptedCloudFront", "is_create_invalidation"]

_QUOTA = (
    "Processing your request will cause you to exceed the maximum number of "
    "in-progress wildcard invalidations (15)."
)
_MESSAGES = {
    "TooManyInvalidationsInProgress": (400, _QUOTA),
    "AccessDenied": (403, "User is not authorized to perform: cloudfront:CreateInvalidation"),
    "InvalidArgument": (400, "Your request contains one or more invalid invalidation paths."),
}


def is_create_invalidation(request: Request) -> bool:
    """Matcher for FaultProxy: only CreateInvalidation calls."""
    return request.action.endswith("CreateInvalidation")


@dataclass(slots=True)
class _Answer:
    code: str
    remaining: int


class ScriptedCloudFront(StrictCloudFront):
    """See the module docstring. `quota_rate`: share of CreateInvalidations refused by quota."""

    def __init__(
        self,
        upstream: str,
        *,
        seed: int = 0,
        quota_rate: float = 0.0,
        complete_after: float = 0.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if clock is None:
            super().__init__(upstream, seed=seed, complete_after=complete_after, slow_seconds=1.0)
        else:
            super().__init__(
                upstream, seed=seed, complete_after=complete_after, slow_seconds=1.0, clock=clock
            )
        self.quota_rate = quota_rate
        self.rejected_paths: set[str] = set()
        self.refusals: list[str] = []
        self._answers: list[_Answer] = []
        self._script_random = random.Random(f"scripted-{seed}")
        self._script_lock = threading.Lock()

    def answer_next(self, code: str, count: int = 1) -> None:
        """Refuse the next `count` CreateInvalidations with `code` (a key of _MESSAGES)."""
        if code not in _MESSAGES:
            raise ValueError(f"unknown answer {code!r}; known: {sorted(_MESSAGES)}")
        with self._script_lock:
            self._answers.append(_Answer(code, count))

    def dispatch(self, request: Request) -> Response:
        """Scripted refusals first, then StrictCloudFront's own rules."""
        if request.method == "POST" and is_create_invalidation(request):
            code = self._refusal(request)
            if code is not None:
                with self._script_lock:
                    self.refusals.append(code)
                status, message = _MESSAGES[code]
                return aws_error(request, status, code, message)
        return super().dispatch(request)

    def _refusal(self, request: Request) -> str | None:
        with self._script_lock:
            if self._answers:
                answer = self._answers[0]
                answer.remaining -= 1
                if answer.remaining <= 0:
                    self._answers.pop(0)
                return answer.code
            if self.quota_rate and self._script_random.random() < self.quota_rate:
                return "TooManyInvalidationsInProgress"
        if self.rejected_paths:
            try:
                paths = parse_batch(request.body).paths
            except ValueError:
                return None  # StrictCloudFront answers MalformedInput
            if self.rejected_paths.intersection(paths):
                return "InvalidArgument"
        return None
