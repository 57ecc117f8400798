"""`watcher demo`: the SQS loop (default) or poll mode, against an embedded emulator."""

from __future__ import annotations

__all__ = ["run_demo"]


def run_demo(*, poll: bool = False, keep_running: bool = False) -> int:
    """Run the demo; 0 when the simulated deploy was invalidated."""
    if poll:
        from watcher.commands.demo.poll import run_poll_demo  # noqa: PLC0415

        return run_poll_demo(keep_running=keep_running)
    from watcher.commands.demo.sqs import run_sqs_demo  # noqa: PLC0415

    return run_sqs_demo(keep_running=keep_running)
