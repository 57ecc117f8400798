"""How every command ends (CONTRACT v4): its exit code, a closed stdout, Ctrl-C.

0 success, 1 failure at run time, 2 usage or configuration error, 130 interrupted
(`watcher wait` adds 3: could not tell). A closed stdout (`watcher check | head -c1`)
ends the command quietly with 1: its output was not delivered, and a reader that went
away needs no traceback. Ctrl-C exits 130 with one line on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import math
import os
import sys
from collections.abc import Callable
from typing import ParamSpec

P = ParamSpec("P")

__all__ = [
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "guarded",
    "non_negative_number",
    "seconds_up_to_a_day",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a process Ctrl-C ended
_A_DAY = 86_400.0


def guarded(prog: Callable[[], str]) -> Callable[[Callable[P, int]], Callable[P, int]]:
    """Decorates the entry point: its exit code, or 1 for a closed stdout, 130 for Ctrl-C."""

    def decorate(command: Callable[P, int]) -> Callable[P, int]:
        @functools.wraps(command)
        def run(*args: P.args, **kwargs: P.kwargs) -> int:
            try:
                try:
                    code = command(*args, **kwargs)
                finally:
                    # What is still buffered goes out now, where a closed pipe can still be handled
                    # (at interpreter exit it would be an "Exception ignored" and exit 120).
                    sys.stdout.flush()
            except BrokenPipeError:
                _discard_stdout()
                return EXIT_FAILURE
            except KeyboardInterrupt:
                with contextlib.suppress(OSError):
                    print(f"{prog()}: interrupted", file=sys.stderr)
                return EXIT_INTERRUPTED
            return code

        return run

    return decorate


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's own last flush has nowhere to fail."""
    with contextlib.suppress(OSError, ValueError):  # not a real file (tests): nothing to redirect
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, not {text!r}")
    return value


def seconds_up_to_a_day(text: str) -> float:
    """argparse type: seconds, more than 0 and at most 86400 (a usage error, exit 2, otherwise)."""
    value = _finite(text)
    if not 0 < value <= _A_DAY:
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most {_A_DAY:g} seconds, not {text}")
    return value


def non_negative_number(text: str) -> float:
    """argparse type: a finite number, 0 or more (a usage error, exit 2, otherwise)."""
    value = _finite(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, not {text}")
    return value
