"""HTTP requests and replies as the reference backend's application sees them, apart from the server."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

JSON_CONTENT_TYPE = "application/json; charset=utf-8"


@dataclass(frozen=True)
class Request:
    """An HTTP request as received.

    ``target`` is the raw request target (path and query, still percent-encoded); header names are lower
    case; ``body`` is None when it was larger than the backend accepts, and so was not kept.
    """

    method: str
    target: str
    headers: Mapping[str, str]
    body: bytes | None


@dataclass(frozen=True)
class Reply:
    """What to answer: a status, headers and body, or nothing at all (``drop_connection``)."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    drop_connection: bool = False


DROP_CONNECTION = Reply(drop_connection=True)


def json_reply(status: int, document: Any, headers: Mapping[str, str] | None = None) -> Reply:
    """A reply with a JSON body."""
    body = json.dumps(document, ensure_ascii=False).encode("utf-8")
    return Reply(status, body, {"Content-Type": JSON_CONTENT_TYPE, **(headers or {})})


def error_reply(status: int, code: str, detail: str, headers: Mapping[str, str] | None = None) -> Reply:
    """A refusal with the contract's error body ``{"code": ..., "detail": ...}``."""
    return json_reply(status, {"code": code, "detail": detail}, headers)
