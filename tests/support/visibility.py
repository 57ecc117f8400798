"""The visibility timeout of SQS, lapsed on demand: no test waits it out.

A consumer that dies (SIGKILL) leaves its received messages in flight until their
visibility timeout lapses; only then can another consumer receive them. Waiting for
that in real time costs the timeout (at least 10 s here). `ReceiptRecorder` sits in
front of SQS and remembers every receipt handle it relayed; `lapse()` then does what
the lapse would do, at once: it makes each of those messages visible again
(ChangeMessageVisibility to 0), straight on the emulator. Handles of messages that
were deleted meanwhile fail in SQS as they would on AWS, and are skipped.
"""

from __future__ import annotations

import json
import re
import threading
from typing import TYPE_CHECKING, Any

from tests.support.fault_proxy import FaultProxy, Request, Response

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

__all__ = ["ReceiptRecorder"]

_XML_HANDLE = re.compile(rb"<ReceiptHandle>([^<]+)</ReceiptHandle>")


class ReceiptRecorder(FaultProxy):
    """A FaultProxy that records the receipt handles of every ReceiveMessage it answered."""

    def __init__(self, upstream: str, **kwargs: Any) -> None:
        super().__init__(upstream, **kwargs)
        self._handles: list[str] = []
        self._handles_lock = threading.Lock()

    def dispatch(self, request: Request) -> Response:
        """Forward, and keep the receipt handles of a successful receive."""
        response = super().dispatch(request)
        if request.action.endswith("ReceiveMessage") and response.status == 200:
            handles = _receipt_handles(response.body)
            with self._handles_lock:
                self._handles.extend(handles)
        return response

    @property
    def handles(self) -> list[str]:
        """Every receipt handle relayed so far, in order."""
        with self._handles_lock:
            return list(self._handles)

    def lapse(self, sqs: SQSClient, queue_url: str) -> int:
        """Make every message received through here visible again now; returns how many were."""
        handles = self.handles
        visible = 0
        for start in range(0, len(handles), 10):
            entries: Any = [
                {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                for i, handle in enumerate(handles[start : start + 10])
            ]
            answer = sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)
            visible += len(answer.get("Successful", []))
        return visible


def _receipt_handles(body: bytes) -> list[str]:
    """The handles in a ReceiveMessage answer (JSON protocol, or the older query/XML one)."""
    if body.lstrip().startswith(b"{"):
        messages = json.loads(body).get("Messages", [])
        return [str(message["ReceiptHandle"]) for message in messages]
    return [match.decode() for match in _XML_HANDLE.findall(body)]
