"""The reference backend's application: routing, authentication, signatures, limits, and the admin endpoints.

Contract endpoints (bearer token required):

- ``POST /course-sync/v1/batches``: checked in this order: token (401), body size (413), signature when a
  secret is set (401), JSON (400), schema (422) and number of operations (413), ``Idempotency-Key`` (400),
  reuse of a ``batch_id`` for something else (409); then applied once (200).
- ``GET /course-sync/v1/courses/{course_id}/state``: ``course_id`` is one percent-encoded path segment.

Admin endpoints for tests (same bearer token): ``POST /_reference/faults``, ``GET /_reference/tree``,
``GET /_reference/effects``, ``GET /_reference/requests`` (the last 1000 contract requests), and
``POST /_reference/reset``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .batches import IdempotencyConflict, TooManyOperations, parse_batch, process_batch
from .entities import InvalidBatch, fingerprint
from .faults import FaultPlan
from .store import Store
from .web import DROP_CONNECTION, Reply, Request, error_reply, json_reply

DEFAULT_MAX_OPERATIONS = 500
DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024
SIGNATURE_TOLERANCE_SECONDS = 300
RECEIVED_REQUESTS_KEPT = 1000
_SIGNATURE = re.compile(r"t=(?P<timestamp>[0-9]+),v1=(?P<digest>[0-9a-f]{64})")


@dataclass(frozen=True)
class ReceivedRequest:
    """A contract request as it reached the backend: header names in lower case, the body's exact bytes."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def to_json(self) -> dict[str, Any]:
        """The request as ``GET /_reference/requests`` lists it (the body in base64)."""
        return {
            "method": self.method,
            "path": self.path,
            "headers": self.headers,
            "body_base64": base64.b64encode(self.body).decode("ascii"),
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> ReceivedRequest:
        """The request as ``to_json`` described it."""
        body = base64.b64decode(document["body_base64"])
        return cls(document["method"], document["path"], document["headers"], body)


class ReferenceApp:
    """Answers requests from the data in ``store``; one instance is shared by all the server's threads."""

    def __init__(
        self,
        store: Store,
        *,
        token: str,
        secret: str | None = None,
        max_operations: int = DEFAULT_MAX_OPERATIONS,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self.store = store
        self.max_body_bytes = max_body_bytes
        self.faults = FaultPlan()
        self.stopping = threading.Event()
        self._token = token
        self._secret = secret
        self._max_operations = max_operations
        self._received: deque[ReceivedRequest] = deque(maxlen=RECEIVED_REQUESTS_KEPT)
        self._received_lock = threading.Lock()

    def handle(self, request: Request) -> Reply:
        """The reply to one request."""
        split = urlsplit(request.target)
        # Split before decoding, so that an encoded "/" stays inside its segment.
        segments = [unquote(segment) for segment in split.path.split("/")[1:]]
        if segments[:1] != ["_reference"]:
            self._record(request)
            self.stopping.wait(self.faults.latency)
        if self.stopping.is_set():
            return DROP_CONNECTION
        if not self._has_token(request):
            return error_reply(401, "unauthorized", "expected the header 'Authorization: Bearer <token>'")
        match request.method, segments:
            case "POST", ["course-sync", "v1", "batches"]:
                return self._batches(request)
            case "GET", ["course-sync", "v1", "courses", course_id, "state"]:
                return self._course_state(course_id)
            case "POST", ["_reference", "faults"]:
                return self._set_faults(request)
            case "GET", ["_reference", "tree"]:
                course_ids = parse_qs(split.query).get("course_id")
                return json_reply(200, self._tree(course_ids[0] if course_ids else None))
            case "GET", ["_reference", "effects"]:
                return json_reply(200, self.store.effects())
            case "GET", ["_reference", "requests"]:
                with self._received_lock:
                    return json_reply(200, [received.to_json() for received in self._received])
            case "POST", ["_reference", "reset"]:
                self._reset()
                return json_reply(200, {})
        return error_reply(404, "not_found", f"nothing here: {request.method} {split.path}")

    def _batches(self, request: Request) -> Reply:
        fault = self.faults.take()
        if fault is not None:
            reply = fault.reply_instead(self.stopping)
            if reply is not None:
                return reply
        reply = self._apply_batch(request, fault.refused_operation_ids() if fault else ())
        return fault.spoil(reply) if fault else reply

    def _apply_batch(self, request: Request, refused_operation_ids: tuple[str, ...]) -> Reply:
        if request.body is None:
            return error_reply(413, "payload_too_large", f"the body is larger than {self.max_body_bytes} bytes")
        if self._secret is not None:
            refusal = _signature_refusal(self._secret, request.headers.get("x-virtu-signature"), request.body)
            if refusal:
                return refusal
        try:
            body = json.loads(request.body.decode("utf-8"), parse_constant=_refuse_constant)
        except ValueError as error:
            return error_reply(400, "invalid_json", f"the body is not UTF-8 JSON: {error}")
        try:
            batch = parse_batch(body, max_operations=self._max_operations)
        except TooManyOperations as error:
            return error_reply(413, "too_many_operations", str(error))
        except InvalidBatch as error:
            return error_reply(422, "invalid_batch", str(error))
        idempotency_key = request.headers.get("idempotency-key")
        if idempotency_key != batch.batch_id:
            return error_reply(
                400, "bad_idempotency_key", f"Idempotency-Key is {idempotency_key!r}, the batch_id {batch.batch_id!r}"
            )
        try:
            return json_reply(200, process_batch(self.store, batch, refused_operation_ids=refused_operation_ids))
        except IdempotencyConflict as error:
            return error_reply(409, "idempotency_key_reused", str(error))

    def _course_state(self, course_id: str) -> Reply:
        entities = self.store.entities(course_id)
        if not any(entity.entity_id == course_id for entity in entities):
            return error_reply(404, "course_not_found", f"no course {course_id}")
        return json_reply(
            200,
            {
                "course_id": course_id,
                "entities": {
                    entity.entity_id: {
                        "entity_type": entity.entity_type,
                        "parent_id": entity.parent_id,
                        "position": entity.position,
                        "fingerprint": fingerprint(entity.data),
                    }
                    for entity in entities
                },
            },
        )

    def _set_faults(self, request: Request) -> Reply:
        try:
            self.faults.set_from_json(json.loads(request.body or b"{}"))
        except (TypeError, ValueError) as error:
            return error_reply(400, "invalid_faults", str(error))
        return json_reply(200, self.faults.to_json())

    def _tree(self, course_id: str | None) -> dict[str, Any]:
        return {
            entity.entity_id: {
                "entity_type": entity.entity_type,
                "parent_id": entity.parent_id,
                "position": entity.position,
                "data": entity.data,
            }
            for entity in self.store.entities(course_id)
        }

    def _reset(self) -> None:
        self.store.reset()
        self.faults.set([])
        with self._received_lock:
            self._received.clear()

    def _record(self, request: Request) -> None:
        received = ReceivedRequest(request.method, request.target, dict(request.headers), request.body or b"")
        with self._received_lock:
            self._received.append(received)

    def _has_token(self, request: Request) -> bool:
        expected = f"Bearer {self._token}".encode()
        return hmac.compare_digest(request.headers.get("authorization", "").encode(), expected)


def _signature_refusal(secret: str, header: str | None, body: bytes) -> Reply | None:
    """Refuse a missing, malformed, wrong or stale ``X-Virtu-Signature``: HMAC-SHA256 of ``"<t>.<body>"``."""
    if header is None:
        return error_reply(401, "missing_signature", "expected the header X-Virtu-Signature")
    match = _SIGNATURE.fullmatch(header)
    if match is None:
        return error_reply(401, "malformed_signature", "X-Virtu-Signature is not 't=<unix seconds>,v1=<hex>'")
    signed = match["timestamp"].encode("ascii") + b"." + body
    expected = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, match["digest"]):
        return error_reply(401, "bad_signature", "X-Virtu-Signature does not match the body")
    if abs(time.time() - int(match["timestamp"])) > SIGNATURE_TOLERANCE_SECONDS:
        return error_reply(
            401, "signature_expired", f"the signature's time is over {SIGNATURE_TOLERANCE_SECONDS} s from now"
        )
    return None


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")
