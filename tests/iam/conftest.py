"""Prints, after `pytest -m iam`, the calls recorded per mode and the policy each one proved."""

from __future__ import annotations

import json
from typing import Any

import pytest

# mode -> what tests/iam recorded; filled by the tests, printed once at the end.
RECORDED: dict[str, dict[str, Any]] = {}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line per mode, then each proven policy's statements in short."""
    if not RECORDED:
        return
    terminalreporter.section("IAM: calls recorded per mode")
    for mode, seen in RECORDED.items():
        terminalreporter.write_line(
            f"{mode}: {seen['csm_api_calls']} API calls (CSM), {seen['authorised_requests']} authorised "
            f"requests, {len(seen['by_grant'])} distinct (action, resource)"
        )
        for statement in seen["policy"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            condition = f" if {json.dumps(statement['Condition'])}" if "Condition" in statement else ""
            terminalreporter.write_line(
                f"    {statement.get('Sid', '')}: {', '.join(actions)} on {statement['Resource']}{condition}"
            )


@pytest.fixture(scope="session", autouse=True)
def _fresh_record() -> None:
    RECORDED.clear()
