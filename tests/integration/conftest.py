"""Fixtures for the integration tests."""

from tests.support.localstack import localstack_fixture

# Registered here (not imported per module) so that the session-scoped
# LocalStack is started once for all integration tests that use it.
__all__ = ["localstack_fixture"]
