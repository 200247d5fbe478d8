"""Batches: check one against the contract, then apply it exactly once."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from .entities import (
    COURSE_ID,
    ENTITY_TYPES,
    IDENTIFIER,
    UTC_DATETIME_TEXT,
    InvalidBatch,
    ValueRule,
    check_keys,
    key_rule,
)
from .operations import APPLIED, ENVELOPE, STRATEGIES, Operation, OperationResult, failed
from .store import Store, StoredBatch

BATCH_KEYS = frozenset({"schema_version", "batch_id", "course_id", "sent_at", "source", "operations"})
SOURCE_KEYS = frozenset({"studio", "published_at"})
SCHEMA_VERSION = ValueRule("1", lambda value: value == 1 and not isinstance(value, bool))
STUDIO_URL = ValueRule(
    "an http(s) URL", lambda value: isinstance(value, str) and re.fullmatch(r"https?://[^\s]+", value) is not None
)


class TooManyOperations(ValueError):
    """A batch with more operations than the backend accepts."""


class IdempotencyConflict(ValueError):
    """A ``batch_id`` already used for a batch that asked for something else."""


@dataclass(frozen=True)
class Batch:
    """A batch whose body conforms to the contract.

    ``request_digest`` identifies what it asks (course and operations), to tell a retry from a different
    batch that reuses the id.
    """

    batch_id: str
    course_id: str
    operations: tuple[Operation, ...]
    request_digest: str


def parse_batch(body: Any, *, max_operations: int) -> Batch:
    """Check a parsed request body against the contract's ``Batch`` schema.

    Raises TooManyOperations above ``max_operations``, InvalidBatch for anything else that is wrong.
    """
    if not isinstance(body, dict):
        raise InvalidBatch(f"(top level): expected an object, got {body!r}")
    check_keys(body, "(top level)", required=BATCH_KEYS, allowed=BATCH_KEYS)
    raw_operations = body["operations"]
    if isinstance(raw_operations, list) and len(raw_operations) > max_operations:
        raise TooManyOperations(f"{len(raw_operations)} operations; this backend accepts at most {max_operations}")
    SCHEMA_VERSION.check(body["schema_version"], "schema_version")
    IDENTIFIER.check(body["batch_id"], "batch_id")
    COURSE_ID.check(body["course_id"], "course_id")
    UTC_DATETIME_TEXT.check(body["sent_at"], "sent_at")
    source = body["source"]
    if not isinstance(source, dict):
        raise InvalidBatch(f"source: expected an object, got {source!r}")
    check_keys(source, "source", required=SOURCE_KEYS, allowed=SOURCE_KEYS)
    STUDIO_URL.check(source["studio"], "source.studio")
    UTC_DATETIME_TEXT.check(source["published_at"], "source.published_at")
    if not isinstance(raw_operations, list) or not raw_operations:
        raise InvalidBatch(f"operations: expected a non-empty array, got {raw_operations!r}")
    operations = tuple(_parse_operation(raw, f"operations[{index}]") for index, raw in enumerate(raw_operations))
    operation_ids = [operation.operation_id for operation in operations]
    repeated = sorted({operation_id for operation_id in operation_ids if operation_ids.count(operation_id) > 1})
    if repeated:
        raise InvalidBatch(f"operations: operation_id used more than once: {', '.join(repeated)}")
    asked = json.dumps([body["course_id"], raw_operations], sort_keys=True, separators=(",", ":"))
    return Batch(body["batch_id"], body["course_id"], operations, hashlib.sha256(asked.encode()).hexdigest())


def _parse_operation(raw: Any, where: str) -> Operation:
    if not isinstance(raw, dict):
        raise InvalidBatch(f"{where}: expected an object, got {raw!r}")
    check_keys(raw, where, required=ENVELOPE)
    IDENTIFIER.check(raw["operation_id"], f"{where}.operation_id")
    strategy = STRATEGIES.get(raw["operation"]) if isinstance(raw["operation"], str) else None
    if strategy is None:
        raise InvalidBatch(f"{where}.operation: expected one of {', '.join(STRATEGIES)}, got {raw['operation']!r}")
    if raw["entity_type"] not in ENTITY_TYPES:
        raise InvalidBatch(
            f"{where}.entity_type: expected one of {', '.join(ENTITY_TYPES)}, got {raw['entity_type']!r}"
        )
    key_rule(raw["entity_type"]).check(raw["entity_id"], f"{where}.entity_id")
    return strategy.check(raw, where)


def process_batch(store: Store, batch: Batch, *, refused_operation_ids: Collection[str] = ()) -> dict[str, Any]:
    """Apply the batch once and return the response body; a retry of it gets the same response again.

    The operations are applied in order, each on its own, in one transaction with the stored response: a
    crash applies all or nothing, and a retry after it applies afresh. ``refused_operation_ids`` fail without
    being applied (fault injection). Raises IdempotencyConflict for a reused ``batch_id``.
    """
    with store.transaction():
        stored = store.stored_batch(batch.batch_id)
        if stored is not None:
            if stored.request_digest != batch.request_digest:
                raise IdempotencyConflict(
                    f"batch_id {batch.batch_id} was already used for different operations or another course"
                )
            return stored.response
        results = [_apply(store, batch.course_id, operation, refused_operation_ids) for operation in batch.operations]
        response = {"batch_id": batch.batch_id, "results": [result.to_json() for result in results]}
        store.save_batch(batch.batch_id, StoredBatch(batch.request_digest, response))
        return response


def _apply(
    store: Store, course_id: str, operation: Operation, refused_operation_ids: Collection[str]
) -> OperationResult:
    if operation.operation_id in refused_operation_ids:
        return failed(operation, "refused", "refused by the reference backend's fault injection")
    result = STRATEGIES[operation.name].apply(store, course_id, operation)
    if result.status == APPLIED:
        store.count_effect(operation.operation_id)
    return result
