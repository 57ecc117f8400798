"""`watcher demo` runs the whole loop, then `watcher wait` on its deploy, and says both worked."""

from __future__ import annotations

from tests.support.site import run_cli, watcher_env


def test_the_demo_deploy_is_invalidated_and_wait_sees_it_live() -> None:
    # GIVEN nothing but the installed console script WHEN the demo runs
    env = {k: v for k, v in watcher_env("http://127.0.0.1:1").items() if k != "AWS_ENDPOINT_URL"}
    result = run_cli(["demo"], env=env, timeout=110)
    # THEN the deploy was invalidated and `wait` returned 0 on it
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "watcher wait exited 0 (the deploy is live)" in result.stdout
    assert "demo OK" in result.stdout
    # AND its second deploy (every file re-uploaded, one edited) invalidated that one file, saying why
    assert "  invalidated: /about/, /about/index.html" in result.stdout
    assert (
        "5 of 6 writes unchanged: each has the same bytes and headers as the version before it"
        in result.stdout
    )
