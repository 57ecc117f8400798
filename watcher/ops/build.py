"""What build is running: version, Python version and git revision, for `build_info`."""

from __future__ import annotations

import os
import platform
from pathlib import Path

from watcher import __version__

__all__ = ["build_labels", "git_revision"]

_REVISION_ENV = "WATCHER_GIT_REVISION"  # set by image builds; not a WATCHER__ config key


def build_labels() -> dict[str, str]:
    """The labels of cloudfront_watcher_build_info."""
    return {
        "version": __version__,
        "python_version": platform.python_version(),
        "revision": git_revision() or "unknown",
    }


def git_revision(source: Path | None = None) -> str:
    """$WATCHER_GIT_REVISION, else the commit of the git checkout the package runs from, else ""."""
    if os.environ.get(_REVISION_ENV):
        return os.environ[_REVISION_ENV].strip()[:40]
    start = source or Path(__file__).resolve().parents[2]
    try:
        return _read_head(start / ".git")
    except (OSError, ValueError, IndexError):
        return ""


def _read_head(dot_git: Path) -> str:
    # Plain file reads, no `git` process: a checkout's .git dir, or a worktree's "gitdir:" file.
    git_dir = dot_git
    if dot_git.is_file():
        git_dir = (dot_git.parent / dot_git.read_text().split("gitdir:", 1)[1].strip()).resolve()
    common = git_dir
    if (git_dir / "commondir").is_file():
        common = (git_dir / (git_dir / "commondir").read_text().strip()).resolve()
    head = (git_dir / "HEAD").read_text().strip()
    if not head.startswith("ref:"):
        return head[:40]
    ref = head.split(":", 1)[1].strip()
    for base in (git_dir, common):
        if (base / ref).is_file():
            return (base / ref).read_text().strip()[:40]
    packed = common / "packed-refs"
    if packed.is_file():
        for line in packed.read_text().splitlines():
            if line.endswith(" " + ref):
                return line.split(" ", 1)[0][:40]
    return ""
