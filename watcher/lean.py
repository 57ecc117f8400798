"""Imported first by the `watcher` command: structlog without rich, two malloc arenas.

When rich is installed (it is: `watcher wait` draws its progress with it),
structlog's `dev` and `tracebacks` modules import it, and pygments with it, at
`import structlog`, for console tracebacks the daemon never renders (its
console format uses plain ones): 8 MiB in a fresh interpreter, and the idle
daemon went from 68.8 to 65.3 MiB without them. structlog is imported here with
`import rich` failing, then rich is importable again, for `watcher wait`.

glibc gives each thread that allocates its own malloc arena, up to 8 per core;
the daemon's receivers, ack and flush workers and HTTP handlers each fragment
one, and memory freed in one arena serves no other. Two arenas, as
`MALLOC_ARENA_MAX=2` would set them (an explicit `MALLOC_ARENA_MAX` wins): 2 MiB
less at the peak of a 10,000-message drain (83.1 -> 81.1 MiB; 62 s and 64 s).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

__all__: list[str] = []

_M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)


def _import_structlog_without_rich() -> None:
    if "structlog" in sys.modules or "rich" in sys.modules:
        return  # too late, or rich is wanted already: nothing to save
    sys.modules["rich"] = None  # type: ignore[assignment]  # `import rich` raises ImportError
    try:
        import structlog  # noqa: F401, PLC0415 - the import is the point
    finally:
        del sys.modules["rich"]


def _two_malloc_arenas() -> None:
    if "MALLOC_ARENA_MAX" in os.environ or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(_M_ARENA_MAX, 2)  # glibc; musl has no mallopt (AttributeError) and one allocator
    except (OSError, AttributeError):
        return


_import_structlog_without_rich()
_two_malloc_arenas()
