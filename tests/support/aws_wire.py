"""How an AWS request and an AWS error look on the wire, for the test proxies.

The proxies must name each request's action (to count and to match faults)
and answer with errors that botocore classifies exactly as it would AWS's own:
same status, same error code, same body shape per protocol. Both come from
botocore's service models, so they follow the client that the tests run.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from botocore.loaders import create_loader

__all__ = [
    "ERROR_FAULT_KINDS",
    "FAULT_KINDS",
    "Request",
    "Response",
    "aws_error",
    "fault_error",
    "identify",
]

ERROR_FAULT_KINDS = ("503", "500", "throttle", "denied")
FAULT_KINDS = (*ERROR_FAULT_KINDS, "lost_response", "slow", "hang", "reset", "down")

# SigV4 credential scope: AKID/DATE/REGION/SERVICE/aws4_request
_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_QUERY_SCOPE = re.compile(r"^[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request$")


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request as the proxy received it, with its AWS identity."""

    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    service: str = ""
    action: str = ""

    def header(self, name: str, default: str = "") -> str:
        """The first header called `name` (case-insensitive)."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), default)

    @property
    def target(self) -> str:
        """Path plus query, as sent on the request line."""
        return f"{self.path}?{self.query}" if self.query else self.path


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP response to relay or to make up."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


def identify(request: Request) -> Request:
    """The same request with its AWS service (signing name) and action filled in.

    The action is the X-Amz-Target for the JSON protocol ("AmazonSQS.ReceiveMessage"),
    the Action parameter for the query protocol, and for REST protocols the
    operation whose HTTP method and URI template match (CreateInvalidation, ...).
    """
    service = _service_of(request)
    action = request.header("X-Amz-Target") or _query_action(request)
    if not action and service:
        action = _rest_action(service, request)
    return Request(
        request.method,
        request.path,
        request.query,
        request.headers,
        request.body,
        service,
        action,
    )


def _service_of(request: Request) -> str:
    found = _SCOPE.search(request.header("Authorization"))
    if found:
        return found.group(1)
    credential = parse_qs(request.query).get("X-Amz-Credential", [""])[0]
    scoped = _QUERY_SCOPE.match(credential)
    if scoped:
        return scoped.group(1)
    if request.path.startswith("/2020-05-31/"):
        return "cloudfront"
    return ""


def _query_action(request: Request) -> str:
    params = parse_qs(request.query)
    if "Action" not in params and "x-www-form-urlencoded" in request.header("Content-Type"):
        params = parse_qs(request.body.decode("utf-8", "replace"))
    return params.get("Action", [""])[0]


@cache
def _model(service: str) -> dict[str, Any]:
    try:
        model: dict[str, Any] = create_loader().load_service_model(service, "service-2")
    except Exception:
        return {}
    return model


Route = tuple[str, re.Pattern[str], frozenset[str], frozenset[str], int, str]


@cache
def _rest_routes(service: str) -> tuple[Route, ...]:
    model = _model(service)
    shapes = model.get("shapes", {})
    routes = []
    for name, op in model.get("operations", {}).items():
        http = op.get("http", {})
        path, _, literal_query = http.get("requestUri", "/").partition("?")
        queries = {p.split("=", 1)[0] for p in literal_query.split("&") if p}
        queries.discard("x-id")  # botocore strips S3's x-id marker before sending
        headers: set[str] = set()
        input_shape = shapes.get(op.get("input", {}).get("shape", ""), {})
        for member in input_shape.get("required", []):
            spec = input_shape["members"][member]
            if spec.get("location") == "querystring":
                queries.add(spec["locationName"])
            elif spec.get("location") == "header":
                headers.add(spec["locationName"].lower())
        pattern = re.sub(
            r"\\\{[^}]+?\\\+\\\}|\\\{[^}]+\\\}",
            lambda m: ".+" if m.group(0).endswith("\\+\\}") else "[^/]+",
            re.escape(path),
        )
        literal = len(re.sub(r"\{[^}]+\}", "", path))
        routes.append(
            (
                http.get("method", ""),
                re.compile(f"^{pattern}/?$"),
                frozenset(queries),
                frozenset(headers),
                literal,
                name,
            )
        )
    return tuple(routes)


def _rest_action(service: str, request: Request) -> str:
    """The modeled operation that matches method, URI template, required query and headers."""
    present = set(parse_qs(request.query, keep_blank_values=True))
    sent_headers = {k.lower() for k, _ in request.headers}
    best: tuple[int, int, str] | None = None
    for method, pattern, queries, headers, literal, name in _rest_routes(service):
        if method != request.method or not pattern.match(request.path):
            continue
        if not (present >= queries and sent_headers >= headers):
            continue
        score = (len(queries) + len(headers), literal, name)
        if best is None or score > best:
            best = score
    return best[2] if best else ""


def _protocol(service: str, request: Request) -> str:
    if service == "s3":
        return "s3"
    protocol = str(_model(service).get("metadata", {}).get("protocol", ""))
    if protocol:
        return protocol
    if request.header("X-Amz-Target"):
        return "json"
    return "query" if _query_action(request) else "rest-xml"


def aws_error(request: Request, status: int, code: str, message: str, *, sender: bool = True) -> Response:
    """An error response shaped like the request's service would send it."""
    request_id = str(uuid.uuid4())
    protocol = _protocol(request.service, request)
    if protocol in ("json", "rest-json"):
        metadata = _model(request.service).get("metadata", {})
        prefix = metadata.get("endpointPrefix", request.service or "aws")
        body = json.dumps({"__type": f"com.amazonaws.{prefix}#{code}", "message": message})
        headers = [
            ("Content-Type", f"application/x-amz-json-{metadata.get('jsonVersion', '1.0')}"),
            ("x-amzn-RequestId", request_id),
            ("x-amzn-ErrorType", code),
        ]
        if "awsQueryCompatible" in metadata:
            headers.append(("x-amzn-query-error", f"{code};{'Sender' if sender else 'Receiver'}"))
        return Response(status, tuple(headers), body.encode())
    if protocol == "s3":
        xml = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{escape(code)}</Code>'
            f"<Message>{escape(message)}</Message><RequestId>{request_id}</RequestId>"
            f"<HostId>{uuid.uuid4().hex}</HostId></Error>"
        )
        return Response(
            status,
            (("Content-Type", "application/xml"), ("x-amz-request-id", request_id)),
            xml.encode(),
        )
    namespace = ""
    if request.service == "cloudfront":
        namespace = ' xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"'
    xml = (
        f'<?xml version="1.0"?>\n<ErrorResponse{namespace}><Error>'
        f"<Type>{'Sender' if sender else 'Receiver'}</Type><Code>{escape(code)}</Code>"
        f"<Message>{escape(message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return Response(status, (("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)), xml.encode())


def _throttle_code(service: str) -> str:
    shapes = _model(service).get("shapes", {})
    for code in ("ThrottlingException", "RequestThrottled", "Throttling"):
        if shapes.get(code, {}).get("exception"):
            return code
    return "ThrottlingException"


def fault_error(kind: str, request: Request) -> Response:
    """The error response that AWS sends for fault `kind` ("503", "500", "throttle", "denied")."""
    protocol = _protocol(request.service, request)
    if kind == "503":
        return aws_error(request, 503, "ServiceUnavailable", "Service Unavailable", sender=False)
    if kind == "500":
        code = "InternalError" if protocol == "s3" else "InternalFailure"
        return aws_error(
            request,
            500,
            code,
            "We encountered an internal error. Please try again.",
            sender=False,
        )
    if kind == "denied":  # what IAM answers a call the policy does not allow
        return aws_error(request, 403, "AccessDenied", "User is not authorized to perform this action")
    if kind == "throttle":
        if protocol == "s3":
            return aws_error(request, 503, "SlowDown", "Please reduce your request rate.")
        if protocol in ("json", "rest-json"):
            code = _throttle_code(request.service)
            return aws_error(request, 400, code, "Rate exceeded")
        return aws_error(request, 400, "Throttling", "Rate exceeded")
    raise ValueError(f"{kind!r} is not an error fault; error faults: {ERROR_FAULT_KINDS}")
