"""Logging: every line on stderr is JSON (default) or a console line, whoever wrote it.

structlog's own lines, the standard library's loggers (botocore, urllib3,
APScheduler, ...), Python `warnings` and uncaught exceptions in the main thread
or any other thread all go through one `ProcessorFormatter`, so each JSON line
has `timestamp`, `level`, `logger` and `event` (`| json` in Loki or CloudWatch
Logs Insights never meets a plain-text line).
"""

from __future__ import annotations

import logging
import sys
import threading
from types import TracebackType
from typing import Literal

import structlog

__all__ = ["configure_logging"]

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
# Other libraries' loggers speak from WARNING up (botocore's debug lines would bury ours).
_FOREIGN_LEVEL = logging.WARNING


class _OurHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The stderr handler this module installs (found again, and replaced, on reconfiguration)."""


def configure_logging(level: str = "info", fmt: Literal["json", "console"] = "json") -> None:
    """Route structlog, stdlib logging, warnings and uncaught exceptions to stderr at `level`."""
    threshold = _LEVELS.get(level, logging.INFO)
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )
    handler = _OurHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _OurHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(_FOREIGN_LEVEL)
    # Ours are filtered by structlog at `threshold`; the stdlib logger must let them through.
    logging.getLogger("watcher").setLevel(threshold)
    logging.captureWarnings(True)  # warnings.warn -> logger "py.warnings"
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread


def _log_uncaught(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    structlog.get_logger("watcher").critical("uncaught exception", exc_info=(exc_type, exc, tb))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit or args.exc_value is None:
        return  # as threading's own hook: a thread that exits quietly is no error
    structlog.get_logger("watcher").error(
        "uncaught exception in thread",
        thread=args.thread.name if args.thread is not None else "",
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )
