"""Every AWS call a `watcher` process makes, as IAM sees it, and a small policy evaluator.

Two independent witnesses record a subprocess:

- botocore's client-side monitoring (CSM): with ``AWS_CSM_ENABLED=true`` every
  client reports each API call as one UDP datagram (``Type: ApiCall``, its
  ``Service`` and ``Api``) to a listener of ours. It sees every call the
  process makes, whatever endpoint it was sent to, but not the parameters.
- :class:`RecordingProxy`, a FaultProxy in front of moto that keeps each
  request whole, from which the IAM action, the resource ARN and the condition
  keys (``s3:prefix``) are derived.

The tests require both to agree on the operations made, then evaluate each call
against the printed policy: Action and Resource wildcards, and the
``StringLike``/``StringEquals`` conditions the policies use.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, unquote

from tests.support.fault_proxy import FaultProxy, Request, Response

__all__ = [
    "WAIT_ACTIONS",
    "Call",
    "CsmListener",
    "Grant",
    "RecordingProxy",
    "Verdict",
    "actions",
    "aws_call",
    "evaluate",
    "grants",
    "judge",
]

ACCOUNT = "123456789012"  # moto's account
# What `watcher iam-policy --for wait` grants (in our account, or through a site role): reads only.
WAIT_ACTIONS = frozenset(
    {
        "s3:ListBucket",
        "s3:ListBucketVersions",
        "s3:GetBucketVersioning",
        "s3:GetObjectVersion",
        "cloudfront:GetInvalidation",
        "cloudfront:ListInvalidations",
    }
)
_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
_KEY_ID = re.compile(r"Credential=([^/,\s]+)/")
_ACCESS_KEY_ID = re.compile(rb"<AccessKeyId>([^<]+)</AccessKeyId>")
# API operations that IAM authorises under another action.
_SQS_ACTIONS = {
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
    "SendMessageBatch": "SendMessage",
}
_S3_ACTIONS = {
    "ListObjectsV2": "ListBucket",
    "ListObjects": "ListBucket",
    "HeadObject": "GetObject",
    "GetObject": "GetObject",
    "HeadBucket": "ListBucket",
    "ListObjectVersions": "ListBucketVersions",
    "GetBucketVersioning": "GetBucketVersioning",
    "PutBucketVersioning": "PutBucketVersioning",
    "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
    "GetBucketLocation": "GetBucketLocation",
    "GetBucketNotificationConfiguration": "GetBucketNotification",
    "PutBucketNotificationConfiguration": "PutBucketNotification",
}
# Calls that need no permission at all.
_FREE = {("sts", "GetCallerIdentity")}


@dataclass(frozen=True, slots=True)
class Call:
    """One authorised request: the API operation, the IAM action, the resource and condition keys."""

    api: str
    action: str
    resource: str
    context: tuple[tuple[str, str], ...] = ()
    status: int = 200
    role: str = ""  # the role whose assumed keys signed it ("" for our own identity)


@dataclass(frozen=True, slots=True)
class Grant:
    """One (statement, action, resource) triple of a policy: the unit that must be used."""

    sid: str
    action: str
    resource: str


class RecordingProxy(FaultProxy):
    """A FaultProxy that also keeps every forwarded request whole, with its status."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self._whole: list[tuple[Request, int]] = []
        self._roles: dict[str, str] = {}  # access key id -> the role STS issued it for
        self._whole_lock = threading.Lock()

    def dispatch(self, request: Request) -> Response:
        """Forward, then remember the request and the status it got (and whose keys AssumeRole gave)."""
        response = self.forward(request)
        with self._whole_lock:
            self._whole.append((request, response.status))
            issued = _ACCESS_KEY_ID.search(response.body) if request.action == "AssumeRole" else None
            if issued is not None and response.status == 200:
                self._roles[issued.group(1).decode()] = _form(request)["RoleArn"]
        return response

    def calls(self) -> list[Call]:
        """Every recorded request that needs a permission, as IAM sees it (in the signer's account)."""
        with self._whole_lock:
            recorded = list(self._whole)
            roles = dict(self._roles)
        out = []
        for request, status in recorded:
            call = aws_call(request, status, role=roles.get(_key_id(request), ""))
            if call is not None:
                out.append(call)
        return out

    def operations(self) -> set[str]:
        """The API operation names seen (for the comparison with CSM)."""
        with self._whole_lock:
            return {r.action.rpartition(".")[2] for r, _ in self._whole if r.action}

    def reset(self) -> None:
        """Forget what was recorded."""
        with self._whole_lock:
            self._whole.clear()


class CsmListener:
    """A UDP listener for botocore's client-side monitoring datagrams."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self._events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="csm", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(5)
        self._socket.close()

    def env(self, client_id: str) -> dict[str, str]:
        """The environment that makes botocore report to this listener."""
        return {
            "AWS_CSM_ENABLED": "true",
            "AWS_CSM_HOST": "127.0.0.1",
            "AWS_CSM_PORT": str(self._socket.getsockname()[1]),
            "AWS_CSM_CLIENT_ID": client_id,
        }

    def api_calls(self, client_id: str) -> list[tuple[str, str]]:
        """(Service, Api) of every ApiCall reported under `client_id`, in arrival order."""
        with self._lock:
            # CloudFront's operations carry their API version ("CreateInvalidation2020_05_31").
            return [
                (e.get("Service", ""), re.sub(r"\d{4}_\d{2}_\d{2}$", "", e.get("Api", "")))
                for e in self._events
                if e.get("Type") == "ApiCall" and e.get("ClientId") == client_id
            ]

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._socket.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                event = json.loads(data)
            except ValueError:
                continue
            with self._lock:
                self._events.append(event)


def _region_and_service(request: Request) -> tuple[str, str]:
    found = _SCOPE.search(request.header("Authorization"))
    return (found.group(1), found.group(2)) if found else ("", request.service)


def _key_id(request: Request) -> str:
    found = _KEY_ID.search(request.header("Authorization"))
    return found.group(1) if found else ""


def _form(request: Request) -> dict[str, str]:
    """A query-protocol request's parameters (STS)."""
    return {k: v[0] for k, v in parse_qs(request.body.decode()).items()}


def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _sqs_arn(region: str, params: Mapping[str, Any]) -> str:
    url = str(params.get("QueueUrl", ""))
    if url:
        owner, name = url.rstrip("/").split("/")[-2:]
    else:
        owner, name = str(params.get("QueueOwnerAWSAccountId") or ACCOUNT), str(params["QueueName"])
    return f"arn:aws:sqs:{region}:{owner}:{name}"


def aws_call(request: Request, status: int = 200, *, role: str = "") -> Call | None:
    """The IAM view of one request, signed by `role`'s assumed keys (in its account) or ours.

    None when it needs no permission; unknown APIs raise.
    """
    call = _aws_call(request, status, role.split(":")[4] if role else ACCOUNT)
    return None if call is None else replace(call, role=role)


def _aws_call(request: Request, status: int, account: str) -> Call | None:
    region, service = _region_and_service(request)
    api = request.action.rpartition(".")[2]
    if (service, api) in _FREE:
        return None
    if (service, api) == ("sts", "AssumeRole"):
        form = _form(request)
        external = (("sts:ExternalId", form["ExternalId"]),) if "ExternalId" in form else ()
        return Call(api, "sts:AssumeRole", form["RoleArn"], external, status=status)
    if service == "sqs":
        params: Mapping[str, Any] = _json_body(request) or _form(request)
        action = _SQS_ACTIONS.get(api, api)
        return Call(api, f"sqs:{action}", _sqs_arn(region, params), status=status)
    if service == "cloudfront":
        distribution = re.search(r"/distribution/([^/]+)", request.path)
        if distribution is None:
            raise AssertionError(f"no distribution in {request.method} {request.path}")
        resource = f"arn:aws:cloudfront::{account}:distribution/{distribution.group(1)}"
        return Call(api, f"cloudfront:{api}", resource, status=status)
    if service == "s3":
        if api not in _S3_ACTIONS:
            raise AssertionError(f"no IAM mapping for s3 {api} ({request.method} {request.target})")
        bucket, _, key = request.path.lstrip("/").partition("/")
        action = _S3_ACTIONS[api]
        if action == "GetObject":
            # IAM: GetObject/HeadObject of a given version needs s3:GetObjectVersion instead.
            versioned = "versionId" in parse_qs(request.query)
            action = "GetObjectVersion" if versioned else action
            return Call(api, f"s3:{action}", f"arn:aws:s3:::{bucket}/{unquote(key)}", status=status)
        context: tuple[tuple[str, str], ...] = ()
        if action in ("ListBucket", "ListBucketVersions"):
            context = (("s3:prefix", parse_qs(request.query).get("prefix", [""])[0]),)
        return Call(api, f"s3:{action}", f"arn:aws:s3:::{bucket}", context, status=status)
    if service == "events" and api == "PutEvents":
        bus = str(_json_body(request)["Entries"][0].get("EventBusName") or "default")
        resource = bus if bus.startswith("arn:") else f"arn:aws:events:{region}:{account}:event-bus/{bus}"
        return Call(api, "events:PutEvents", resource, status=status)
    if service == "events":
        body = _json_body(request)
        name = body.get("Name") or body.get("Rule")
        if not name:
            raise AssertionError(f"no rule name in events {api}: {body}")
        return Call(api, f"events:{api}", f"arn:aws:events:{region}:{account}:rule/{name}", status=status)
    raise AssertionError(f"no IAM mapping for {service} {api} ({request.method} {request.target})")


def _wildcard(pattern: str, *, case: bool) -> re.Pattern[str]:
    """IAM's wildcards: * any run of characters (":" and "/" included), ? one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{regex}$", 0 if case else re.IGNORECASE)


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _condition_holds(condition: Mapping[str, Mapping[str, Any]], context: Mapping[str, str]) -> bool:
    for operator, keys in condition.items():
        for key, wanted in keys.items():
            if key not in context:
                return False  # IAM: a condition on a key absent from the request does not match
            value = context[key]
            if operator == "StringLike":
                ok = any(_wildcard(p, case=True).match(value) for p in _as_list(wanted))
            elif operator == "StringEquals":
                ok = value in _as_list(wanted)
            else:
                raise AssertionError(f"the evaluator does not know the condition operator {operator}")
            if not ok:
                return False
    return True


def actions(statements: Iterable[Mapping[str, Any]]) -> set[str]:
    """Every action the statements name."""
    return {action for statement in statements for action in _as_list(statement["Action"])}


def grants(policy: Mapping[str, Any]) -> set[Grant]:
    """Every (Sid, Action, Resource) the policy allows."""
    out = set()
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow", statement
        for action in _as_list(statement["Action"]):
            for resource in _as_list(statement["Resource"]):
                out.add(Grant(statement.get("Sid", ""), action, resource))
    return out


def evaluate(policy: Mapping[str, Any], call: Call) -> set[Grant]:
    """The grants of `policy` that allow `call` (empty: denied)."""
    context = dict(call.context)
    matched = set()
    for statement in policy["Statement"]:
        if statement.get("Effect") != "Allow":
            continue
        if not _condition_holds(statement.get("Condition", {}), context):
            continue
        for action in _as_list(statement["Action"]):
            if not _wildcard(action, case=False).match(call.action):
                continue
            for resource in _as_list(statement["Resource"]):
                if _wildcard(resource, case=True).match(call.resource):
                    matched.add(Grant(statement.get("Sid", ""), action, resource))
    return matched


@dataclass
class Verdict:
    """What a run's calls prove about a policy."""

    denied: list[Call] = field(default_factory=list)
    unused: set[Grant] = field(default_factory=set)


def judge(policy: Mapping[str, Any], calls: Iterable[Call]) -> Verdict:
    """Calls the policy denies, and grants no call used."""
    verdict = Verdict(unused=grants(policy))
    for call in calls:
        used = evaluate(policy, call)
        if not used:
            verdict.denied.append(call)
        verdict.unused -= used
    return verdict
