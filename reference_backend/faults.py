"""Fault injection: ways for the reference backend to misbehave on purpose, so tests can see the client cope.

A ``FaultPlan`` holds a queue of ``Fault``s; each batch request takes the first one still pending, which then
affects that request and the next ``count - 1``. A latency, if set, delays every contract request.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from enum import StrEnum
from typing import Any

from .web import DROP_CONNECTION, Reply, error_reply, json_reply

HTML_PAGE = b"<!DOCTYPE html><html><head><title>Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"


class FaultMode(StrEnum):
    """What a fault does to a batch request."""

    STATUS = "status"  # answer `status` (with Retry-After if given); nothing applied
    HANG = "hang"  # wait `seconds`, then close the connection without answering; nothing applied
    HTML = "html"  # answer an HTML page with `status`; nothing applied
    REDIRECT = "redirect"  # answer `status` with `Location: location`; nothing applied
    DROP_AFTER_APPLY = "drop_after_apply"  # apply, then close the connection without answering
    INVALID_JSON = "invalid_json"  # apply, then answer 200 with the response JSON cut in half
    WRONG_LENGTH = "wrong_length"  # apply, then answer 200 without the last result
    UNKNOWN_OPERATION_IDS = "unknown_operation_ids"  # apply, then answer 200 with made-up operation ids
    FAIL_OPERATIONS = "fail_operations"  # apply all but `operation_ids`, answered `failed` (code `refused`)


_NEEDED_PARAMETERS: dict[FaultMode, tuple[str, ...]] = {
    FaultMode.STATUS: ("status",),
    FaultMode.HANG: ("seconds",),
    FaultMode.HTML: ("status",),
    FaultMode.REDIRECT: ("status", "location"),
    FaultMode.FAIL_OPERATIONS: ("operation_ids",),
}


@dataclass(frozen=True)
class Fault:
    """One way to misbehave, for the next ``count`` batch requests. Build one with the class methods."""

    mode: FaultMode
    count: int = 1
    status: int | None = None
    retry_after: str | None = None
    seconds: float | None = None
    operation_ids: tuple[str, ...] = ()
    location: str | None = None

    @classmethod
    def fail(cls, status: int, *, retry_after: int | str | None = None, count: int = 1) -> Fault:
        """Answer ``status`` with an error body, and ``Retry-After`` when given, without applying anything."""
        return cls(
            FaultMode.STATUS, count, status=status, retry_after=None if retry_after is None else str(retry_after)
        )

    @classmethod
    def hang(cls, seconds: float, *, count: int = 1) -> Fault:
        """Wait ``seconds`` (longer than the client's timeout), then close the connection; nothing is applied."""
        return cls(FaultMode.HANG, count, seconds=seconds)

    @classmethod
    def html(cls, status: int = 200, *, count: int = 1) -> Fault:
        """Answer an HTML page, as a proxy or a login page would, without applying anything."""
        return cls(FaultMode.HTML, count, status=status)

    @classmethod
    def redirect(cls, location: str, status: int = 307, *, count: int = 1) -> Fault:
        """Answer a redirect to ``location`` without applying anything."""
        return cls(FaultMode.REDIRECT, count, status=status, location=location)

    @classmethod
    def drop_after_apply(cls, *, count: int = 1) -> Fault:
        """Apply the batch, then close the connection without answering."""
        return cls(FaultMode.DROP_AFTER_APPLY, count)

    @classmethod
    def invalid_json(cls, *, count: int = 1) -> Fault:
        """Apply the batch, then answer 200 with a truncated JSON body."""
        return cls(FaultMode.INVALID_JSON, count)

    @classmethod
    def wrong_length(cls, *, count: int = 1) -> Fault:
        """Apply the batch, then answer 200 with one result too few."""
        return cls(FaultMode.WRONG_LENGTH, count)

    @classmethod
    def unknown_operation_ids(cls, *, count: int = 1) -> Fault:
        """Apply the batch, then answer 200 with results whose operation ids are not the request's."""
        return cls(FaultMode.UNKNOWN_OPERATION_IDS, count)

    @classmethod
    def fail_operations(cls, operation_ids: Iterable[str], *, count: int = 1) -> Fault:
        """Answer 200 with these operations ``failed`` (code ``refused``) and not applied; apply the others."""
        return cls(FaultMode.FAIL_OPERATIONS, count, operation_ids=tuple(operation_ids))

    @classmethod
    def from_json(cls, document: Any) -> Fault:
        """The fault described by ``document`` (as ``to_json`` makes it); raises TypeError or ValueError if wrong."""
        if not isinstance(document, dict):
            raise TypeError(f"a fault is a JSON object, got {document!r}")
        unknown = set(document) - {parameter.name for parameter in fields(cls)}
        if unknown:
            raise ValueError(f"unknown fault parameter(s): {', '.join(sorted(unknown))}")
        operation_ids = document.get("operation_ids", [])
        if not isinstance(operation_ids, list):
            raise TypeError(f"operation_ids must be a list, got {operation_ids!r}")
        retry_after = document.get("retry_after")
        return cls(
            FaultMode(document.get("mode")),
            document.get("count", 1),
            status=document.get("status"),
            retry_after=None if retry_after is None else str(retry_after),
            seconds=document.get("seconds"),
            operation_ids=tuple(operation_ids),
            location=document.get("location"),
        )

    def to_json(self) -> dict[str, Any]:
        """The fault as a JSON object, leaving out the parameters its mode does not use."""
        return {name: value for name, value in asdict(self).items() if value not in (None, ())}

    def __post_init__(self) -> None:
        if not _is_integer(self.count) or self.count < 1:
            raise ValueError(f"count must be an integer >= 1, got {self.count!r}")
        if self.status is not None and not (_is_integer(self.status) and 100 <= self.status <= 599):
            raise ValueError(f"status must be an HTTP status code, got {self.status!r}")
        if self.seconds is not None and not (_is_number(self.seconds) and self.seconds >= 0):
            raise ValueError(f"seconds must be a number >= 0, got {self.seconds!r}")
        if self.location is not None and not isinstance(self.location, str):
            raise ValueError(f"location must be a string, got {self.location!r}")
        if not all(isinstance(operation_id, str) for operation_id in self.operation_ids):
            raise ValueError(f"operation_ids must be strings, got {self.operation_ids!r}")
        missing = [name for name in _NEEDED_PARAMETERS.get(self.mode, ()) if getattr(self, name) in (None, ())]
        if missing:
            raise ValueError(f"a {self.mode} fault needs {', '.join(missing)}")

    def reply_instead(self, stopping: threading.Event) -> Reply | None:
        """The reply to give instead of processing the request, or None to process it."""
        match self.mode:
            case FaultMode.STATUS:
                headers = {"Retry-After": self.retry_after} if self.retry_after is not None else {}
                return error_reply(self.status, "injected_fault", f"fault injection: status {self.status}", headers)
            case FaultMode.HANG:
                stopping.wait(self.seconds)
                return DROP_CONNECTION
            case FaultMode.HTML:
                return Reply(self.status, HTML_PAGE, {"Content-Type": "text/html; charset=utf-8"})
            case FaultMode.REDIRECT:
                return Reply(self.status, b"", {"Location": self.location})
        return None

    def refused_operation_ids(self) -> tuple[str, ...]:
        """The operations to answer ``failed`` without applying them."""
        return self.operation_ids if self.mode == FaultMode.FAIL_OPERATIONS else ()

    def spoil(self, reply: Reply) -> Reply:
        """The reply to give instead of the 200 ``reply`` to a processed batch."""
        if reply.status != 200:
            return reply
        match self.mode:
            case FaultMode.DROP_AFTER_APPLY:
                return DROP_CONNECTION
            case FaultMode.INVALID_JSON:
                return replace(reply, body=reply.body[: len(reply.body) // 2])
            case FaultMode.WRONG_LENGTH:
                document = json.loads(reply.body)
                return json_reply(200, {**document, "results": document["results"][:-1]})
            case FaultMode.UNKNOWN_OPERATION_IDS:
                document = json.loads(reply.body)
                results = [
                    {**result, "operation_id": f"unknown-operation-{index}"}
                    for index, result in enumerate(document["results"])
                ]
                return json_reply(200, {**document, "results": results})
        return reply


class FaultPlan:
    """The pending faults, in order, and the latency added to every contract request; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[Fault] = []
        self.latency = 0.0

    def set(self, faults: Sequence[Fault], latency: float = 0.0) -> None:
        """Replace the plan: these faults, in order, and this latency (seconds)."""
        with self._lock:
            self._pending = list(faults)
            self.latency = latency

    def take(self) -> Fault | None:
        """The fault for the batch request now arriving, if any is pending."""
        with self._lock:
            if not self._pending:
                return None
            fault = self._pending[0]
            if fault.count == 1:
                self._pending.pop(0)
            else:
                self._pending[0] = replace(fault, count=fault.count - 1)
            return fault

    def to_json(self) -> dict[str, Any]:
        """The plan as the faults endpoint shows it."""
        with self._lock:
            return {"faults": [fault.to_json() for fault in self._pending], "latency": self.latency}

    def set_from_json(self, document: Any) -> None:
        """Replace the plan with the one a faults endpoint body describes; raises TypeError or ValueError if wrong."""
        if not isinstance(document, dict):
            raise TypeError(f"expected a JSON object, got {document!r}")
        unknown = set(document) - {"faults", "latency"}
        if unknown:
            raise ValueError(f"unknown key(s): {', '.join(sorted(unknown))}")
        latency = document.get("latency", 0.0)
        if not (_is_number(latency) and latency >= 0):
            raise ValueError(f"latency must be a number of seconds >= 0, got {latency!r}")
        faults = document.get("faults", [])
        if not isinstance(faults, list):
            raise TypeError(f"faults must be a list, got {faults!r}")
        self.set([Fault.from_json(fault) for fault in faults], float(latency))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
