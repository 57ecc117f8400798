"""Keeps a moderate backlog on the queue while a consumer drains it (moto slows as a queue grows)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from benchmarks.emulator import clients, s3_body

BACKLOG = 200  # visible messages kept ahead of the consumer
SENDERS = 4  # send calls in flight while topping up


def run_keys(run: str, message: int, records: int) -> list[str]:
    """The object keys of one message: a site-like tree (sections, pages, assets)."""
    section = f"{run}/section{message % 40}"
    return [
        f"{section}/page{message}-{i}/index.html" if i % 3 == 0 else f"{section}/assets/{message}-{i}.js"
        for i in range(records)
    ]


@dataclass
class Publisher:
    """Publishes `messages` messages of `records` records each, `backlog` visible at most."""

    endpoint: str
    queue_url: str
    run: str
    messages: int
    records: int
    backlog: int = BACKLOG
    sent: int = 0
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        self._sqs, _ = clients(self.endpoint)

    def prefill(self) -> None:
        """Fill the backlog before the consumer starts (so its first receive is not empty)."""
        self._send(min(self.backlog, self.messages))

    def start(self) -> None:
        """Keep topping the backlog up in a thread."""
        self._thread = threading.Thread(target=self._top_up, name="publisher", daemon=True)
        self._thread.start()

    def join(self) -> None:
        """Wait until everything is published."""
        if self._thread is not None:
            self._thread.join()

    def _top_up(self) -> None:
        sqs, _ = clients(self.endpoint)  # its own, for the depth: the senders share self._sqs
        while self.sent < self.messages:
            visible = int(
                sqs.get_queue_attributes(
                    QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
                )["Attributes"]["ApproximateNumberOfMessages"]
            )
            room = min(self.backlog - visible, self.messages - self.sent)
            if room >= min(10, self.messages - self.sent):
                self._send(room)
            else:
                time.sleep(0.1)

    def _send(self, count: int) -> None:
        """Send `count` messages in batches of 10, `SENDERS` batches in flight (one sender cannot
        keep ahead of a consumer with several receivers)."""
        end = self.sent + count
        batches = [range(i, min(i + 10, end)) for i in range(self.sent, end, 10)]
        with ThreadPoolExecutor(SENDERS) as pool:
            list(pool.map(self._send_batch, batches))
        self.sent = end

    def _send_batch(self, ids: range) -> None:
        entries = [
            {"Id": str(i), "MessageBody": s3_body(run_keys(self.run, i, self.records), i * self.records)}
            for i in ids
        ]
        # boto3 clients are thread-safe (one connection pool of 10)
        self._sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries)  # type: ignore[arg-type]
