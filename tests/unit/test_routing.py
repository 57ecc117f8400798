"""Routing: which [[sites]] take a key, and the CloudFront paths it invalidates.

`watcher explain` prints the same routing; its tests go through the CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from watcher.cli import main
from watcher.core.config import SiteSettings
from watcher.core.globs import compile_glob
from watcher.core.routing import Router


def _site(distribution_id: str = "E1", **fields: Any) -> SiteSettings:
    return SiteSettings.model_validate(
        {"bucket": "site-bucket", "distribution_id": distribution_id, **fields}
    )


def _paths(router: Router, key: str, bucket: str = "site-bucket") -> dict[str, tuple[str, ...]]:
    return {route.distribution_id: route.paths for route in router.route(bucket, key).routes}


# -- prefix ----------------------------------------------------------------------------


def test_the_prefix_is_the_site_root() -> None:
    # GIVEN a site rooted at www/
    router = Router([_site(prefix="www/")])
    # THEN keys under it lose the prefix in their URL path; keys outside are ignored with the reason
    assert _paths(router, "www/css/app.css") == {"E1": ("/css/app.css",)}
    outside = router.route("site-bucket", "staging/css/app.css")
    assert outside.ignored
    assert "outside prefix 'www/'" in outside.reasons[0]


def test_a_bucket_no_site_watches_is_ignored_with_the_reason() -> None:
    result = Router([_site()]).route("other-bucket", "index.html")
    assert result.ignored
    assert result.reasons == ("no site watches bucket 'other-bucket'",)


# -- include / exclude globs --------------------------------------------------------------


@pytest.mark.parametrize(
    ("glob", "matches", "misses"),
    [
        ("*.html", ["a.html", ".html"], ["docs/a.html", "a.htm"]),
        ("**/*.html", ["a.html", "docs/a.html", "a/b/c/d.html"], ["a.css", "docs/a.html/x"]),
        ("**", ["a", "a/b/c", ""], []),
        ("docs/*", ["docs/a.html", "docs/"], ["docs/sub/a.html", "doc/a"]),
        ("docs/**", ["docs/a.html", "docs/sub/deep/a.html"], ["docs", "other/docs/a"]),
        ("assets/*/app.js", ["assets/v1/app.js"], ["assets/app.js", "assets/v1/v2/app.js"]),
        ("page?.html", ["page1.html"], ["page10.html", "page/.html"]),
        ("a+b\\[1].html", ["a+b[1].html"], ["a+b1.html"]),
        ("a+b[1].html", ["a+b1.html"], ["a+b[1].html"]),
    ],
)
def test_star_stays_within_a_segment_and_double_star_crosses_them(
    glob: str, matches: list[str], misses: list[str]
) -> None:
    pattern = compile_glob(glob)
    assert [key for key in matches if pattern.fullmatch(key)] == matches
    assert [key for key in misses if pattern.fullmatch(key)] == []


def test_include_and_exclude_are_matched_against_the_key_without_the_prefix() -> None:
    # GIVEN a site under www/ that takes HTML and assets but not drafts
    router = Router([_site(prefix="www/", include=["**/*.html", "assets/**"], exclude=["drafts/**"])])
    # THEN
    assert _paths(router, "www/blog/post.html") == {"E1": ("/blog/post.html",)}
    assert _paths(router, "www/assets/img/logo.png") == {"E1": ("/assets/img/logo.png",)}
    not_included = router.route("site-bucket", "www/robots.txt")
    excluded = router.route("site-bucket", "www/drafts/next.html")
    assert "not matched by include" in not_included.reasons[0]
    assert "matched by exclude" in excluded.reasons[0]


# -- several sites ---------------------------------------------------------------------------


def test_one_bucket_served_by_two_distributions_routes_to_both() -> None:
    router = Router([_site("EPROD"), _site("ESTAGING")])
    assert _paths(router, "app.js") == {"EPROD": ("/app.js",), "ESTAGING": ("/app.js",)}


def test_a_root_site_and_a_blog_site_both_take_a_blog_key_each_with_its_own_path() -> None:
    # GIVEN the bucket root on one distribution and blog/ on another
    router = Router([_site("EROOT"), _site("EBLOG", prefix="blog/")])
    # THEN a blog key goes to both, rooted where each site is rooted; other keys only to the root site
    assert _paths(router, "blog/post.html") == {"EROOT": ("/blog/post.html",), "EBLOG": ("/post.html",)}
    assert _paths(router, "about.html") == {"EROOT": ("/about.html",)}


def test_one_key_may_match_and_miss_different_sites_of_the_same_bucket() -> None:
    router = Router([_site("EHTML", include=["**/*.html"]), _site("EIMG", include=["img/**"])])
    result = router.route("site-bucket", "img/logo.png")
    assert [route.distribution_id for route in result.routes] == ["EIMG"]
    assert not result.ignored


# -- index.html and encoding --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "paths"),
    [
        ("index.html", ("/index.html", "/")),
        ("docs/index.html", ("/docs/index.html", "/docs/")),
        ("a/b/index.html", ("/a/b/index.html", "/a/b/")),
        ("docs/myindex.html", ("/docs/myindex.html",)),
        ("docs/index.html.bak", ("/docs/index.html.bak",)),
        ("docs/INDEX.html", ("/docs/INDEX.html",)),
    ],
)
def test_an_index_document_also_invalidates_its_directory(key: str, paths: tuple[str, ...]) -> None:
    assert _paths(Router([_site()]), key) == {"E1": paths}


def test_the_root_index_of_a_prefixed_site_invalidates_slash() -> None:
    assert _paths(Router([_site(prefix="www/")]), "www/index.html") == {"E1": ("/index.html", "/")}


@pytest.mark.parametrize(
    ("key", "paths"),
    [
        ("a b.html", ("/a%20b.html",)),
        ("c++.html", ("/c++.html", "/c%2B%2B.html")),
        ("~user/index.html", ("/~user/index.html", "/%7Euser/index.html", "/~user/", "/%7Euser/")),
        ("café.html", ("/caf%C3%A9.html",)),
        ("q?.html", ("/q%3F.html",)),
        ("100%.html", ("/100%25.html",)),
        ("a#b.html", ("/a%23b.html",)),
        ("img/*.png", ("/img/*",)),
        ("it's(1)!.html", ("/it's(1)!.html",)),
    ],
)
def test_keys_with_odd_characters_are_encoded_as_cloudfront_matches_them(
    key: str, paths: tuple[str, ...]
) -> None:
    assert _paths(Router([_site()]), key) == {"E1": paths}


# -- watcher explain: the same routing through the CLI ----------------------------------------


_CONFIG = """
[sqs]
queue_url = "https://sqs.us-east-1.amazonaws.com/123456789012/site-changes"

[[sites]]
bucket = "site-bucket"
distribution_id = "EROOT"
exclude = ["drafts/**"]

[[sites]]
bucket = "site-bucket"
distribution_id = "EBLOG"
prefix = "blog/"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(_CONFIG)
    return path


def test_explain_prints_every_site_and_the_exact_paths(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # WHEN `watcher explain` is asked about a blog index with a space and a plus in its path
    code = main(["explain", "--config", str(config), "s3://site-bucket/blog/a b+c/index.html"])
    # THEN both sites are listed with exactly the paths the daemon would send
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines() == [
        "s3://site-bucket/blog/a b+c/index.html",
        "  site s3://site-bucket/ -> EROOT",
        "    distribution EROOT invalidates:",
        "      /blog/a%20b+c/index.html",
        "      /blog/a%20b%2Bc/index.html",
        "      /blog/a%20b+c/",
        "      /blog/a%20b%2Bc/",
        "  site s3://site-bucket/blog/ -> EBLOG",
        "    distribution EBLOG invalidates:",
        "      /a%20b+c/index.html",
        "      /a%20b%2Bc/index.html",
        "      /a%20b+c/",
        "      /a%20b%2Bc/",
    ]


def test_explain_says_why_a_key_is_ignored(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["explain", "--config", str(config), "s3://site-bucket/drafts/x.html", "s3://nope/x"])
    out = capsys.readouterr().out
    assert code == 0
    assert "  ignored:\n    s3://site-bucket/ -> EROOT: matched by exclude ['drafts/**']" in out
    assert "s3://site-bucket/blog/ -> EBLOG: key is outside prefix 'blog/'" in out
    assert "no site watches bucket 'nope'" in out


@pytest.mark.parametrize("url", ["site-bucket/index.html", "s3://site-bucket", "s3://site-bucket/"])
def test_explain_rejects_what_is_not_an_s3_url_with_exit_2(
    config: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["explain", "--config", str(config), url]) == 2
    assert "expected s3://BUCKET/KEY" in capsys.readouterr().err
