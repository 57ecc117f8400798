"""Deploy shapes shared by the planner's tests and benchmarks/planner_deadline.py."""

from __future__ import annotations

import random

__all__ = ["re_rendered_blog"]


def re_rendered_blog() -> tuple[list[str], list[str]]:
    """A 6,000-object blog (1,200 posts: an index.html and 4 images each) and 150 re-rendered posts.

    Returns (every object's path, the changed paths: each post's directory and its index.html).
    """
    rng = random.Random(5)
    keys: list[str] = []
    posts: list[str] = []
    for i in range(1200):
        slug = f"/blog/{2015 + i // 120}-{1 + (i % 120) // 10:02}-{rng.choice('abcdefgh')}{i:04}/"
        posts.append(slug)
        keys.extend([slug + "index.html", *(f"{slug}img-{j}.jpg" for j in range(4))])
    changed = [path for slug in random.Random(9).sample(posts, 150) for path in (slug, slug + "index.html")]
    return keys, changed
