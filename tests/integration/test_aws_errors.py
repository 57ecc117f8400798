"""One classifier for AWS errors, and one hook that counts each failed call once."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ParamValidationError

from tests.support.fault_proxy import FaultProxy
from watcher.aws import ClientFactory
from watcher.awserrors import Kind, classify
from watcher.commands.demo.emulator import environment


def _error(code: str, status: int, message: str = "") -> ClientError:
    response = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "AnyOperation")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("exc", "kind", "code"),
    [
        (_error("Throttling", 400), "throttled", "Throttling"),
        (_error("SlowDown", 503), "throttled", "SlowDown"),
        (
            _error("TooManyInvalidationsInProgress", 400),
            "throttled",
            "TooManyInvalidationsInProgress",
        ),
        (_error("ServiceUnavailable", 503), "transient", "ServiceUnavailable"),
        (_error("", 502), "transient", "HTTP502"),
        (_error("RequestTimeout", 400), "transient", "RequestTimeout"),
        (_error("NoSuchDistribution", 404), "permanent", "NoSuchDistribution"),
        (_error("AccessDenied", 403), "permanent", "AccessDenied"),
        (
            _error("InvalidationBatchAlreadyExists", 409),
            "permanent",
            "InvalidationBatchAlreadyExists",
        ),
        (
            EndpointConnectionError(endpoint_url="http://x"),
            "transient",
            "EndpointConnectionError",
        ),
        (ConnectionResetError(), "transient", "ConnectionResetError"),
        (ParamValidationError(report="bad"), "configuration", "ParamValidationError"),
        (ValueError("not AWS"), "permanent", "ValueError"),
    ],
)
def test_every_error_is_transient_throttled_configuration_or_permanent_with_its_code(
    exc: BaseException, kind: Kind, code: str
) -> None:
    # GIVEN what an AWS call may raise WHEN it is classified THEN kind and code are as documented
    error = classify(exc)
    assert (error.kind, error.code) == (kind, code)
    assert error.retryable is (kind in ("transient", "throttled"))


def test_the_message_of_a_client_error_is_kept_for_one_line_problems() -> None:
    assert classify(_error("AccessDenied", 403, "not allowed")).message == "not allowed"


def test_the_factory_hook_counts_each_failed_call_once_after_botocore_retries(moto_server: str) -> None:
    counted: list[tuple[str, ...]] = []
    with FaultProxy(moto_server) as proxy, environment({"AWS_ENDPOINT_URL": proxy.url}):
        # GIVEN clients from a factory with an error callback, behind a proxy that fails 3 SQS calls
        factory = ClientFactory(
            region="us-east-1", on_error=lambda service, code: counted.append((service, code))
        )
        sqs, cloudfront = factory.sqs(), factory.cloudfront()
        url = sqs.create_queue(QueueName="counted")["QueueUrl"]
        proxy.inject("503", count=3)
        # WHEN one call fails through all 3 of botocore's attempts, one succeeds, one is refused
        with pytest.raises(ClientError):
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
        with pytest.raises(ClientError):
            cloudfront.get_distribution(Id="ENOSUCH")
        # AND one call cannot connect at all
        proxy.set_down(True)
        with pytest.raises(Exception, match="Connection"):
            cloudfront.list_distributions()
    # THEN each failed call is counted once, by service and code, successes never
    assert counted[:2] == [("sqs", "ServiceUnavailable"), ("cloudfront", "NoSuchDistribution")]
    assert counted[2][0] == "cloudfront"
    assert len(counted) == 3
