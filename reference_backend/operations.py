"""The operations of a batch, one strategy class per operation name.

A strategy checks the shape of its operation (``check``) and applies it to the store (``apply``). Adding an
operation type to the contract means writing one more strategy and listing it in ``STRATEGIES``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from .entities import COURSE, NULL, PARENT_TYPE, POSITION, InvalidBatch, check_keys, key_rule, known_fields
from .store import Store, StoredEntity

APPLIED = "applied"
FAILED = "failed"
# The keys every operation has; `batches.parse_batch` checks them before handing over to a strategy.
ENVELOPE = frozenset({"operation_id", "operation", "entity_type", "entity_id"})


@dataclass(frozen=True)
class Operation:
    """One operation of a batch, its shape checked.

    ``parent_id`` and ``position`` are ``None`` when the operation does not set them (and for a course);
    ``data`` holds the fields it sets (none for a delete), without those the backend does not know.
    """

    operation_id: str
    name: str
    entity_type: str
    entity_id: str
    parent_id: str | None = None
    position: int | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OperationResult:
    """The outcome of one operation, as answered to the client."""

    operation_id: str
    status: str
    code: str | None = None
    detail: str | None = None

    def to_json(self) -> dict[str, str]:
        """The result as it appears in a response's ``results``."""
        result = {"operation_id": self.operation_id, "status": self.status}
        if self.code is not None:
            result["code"] = self.code
        if self.detail is not None:
            result["detail"] = self.detail
        return result


def applied(operation: Operation) -> OperationResult:
    """The operation took effect."""
    return OperationResult(operation.operation_id, APPLIED)


def failed(operation: Operation, code: str, detail: str) -> OperationResult:
    """The operation was not applied, for the reason ``code``."""
    return OperationResult(operation.operation_id, FAILED, code, detail)


class OperationStrategy(ABC):
    """How one kind of operation is checked and applied."""

    name: ClassVar[str]

    @abstractmethod
    def check(self, raw: Mapping[str, Any], where: str) -> Operation:
        """Check the operation's keys beyond the envelope; raise InvalidBatch when they break the schema."""

    @abstractmethod
    def apply(self, store: Store, course_id: str, operation: Operation) -> OperationResult:
        """Apply the operation on its own, in the course ``course_id``."""


class CreateStrategy(OperationStrategy):
    """Create an entity, or overwrite it when it exists (upsert)."""

    name = "create"

    def check(self, raw: Mapping[str, Any], where: str) -> Operation:
        keys = ENVELOPE | {"parent_id", "position", "data"}
        check_keys(raw, where, required=keys, allowed=keys)
        entity_type = raw["entity_type"]
        key_rule(PARENT_TYPE[entity_type]).check(raw["parent_id"], f"{where}.parent_id")
        (NULL if entity_type == COURSE else POSITION).check(raw["position"], f"{where}.position")
        return _operation(raw, known_fields(entity_type, raw["data"], f"{where}.data", complete=True))

    def apply(self, store: Store, course_id: str, operation: Operation) -> OperationResult:
        existing = store.find(course_id, operation.entity_id)
        refusal = _identity_refusal(course_id, operation, existing) or _parent_refusal(store, course_id, operation)
        if refusal:
            return refusal
        entity = StoredEntity(
            operation.entity_type, operation.entity_id, operation.parent_id, operation.position, dict(operation.data)
        )
        store.save(course_id, entity)
        return applied(operation)


class UpdateStrategy(OperationStrategy):
    """Change the given fields of an existing entity, and its parent or position when given."""

    name = "update"

    def check(self, raw: Mapping[str, Any], where: str) -> Operation:
        entity_type = raw["entity_type"]
        # The course is never moved or re-positioned.
        movable = {"parent_id", "position"} if entity_type != COURSE else set()
        check_keys(raw, where, required=ENVELOPE | {"data"}, allowed=ENVELOPE | {"data"} | movable)
        if "parent_id" in raw:
            key_rule(PARENT_TYPE[entity_type]).check(raw["parent_id"], f"{where}.parent_id")
            if "position" not in raw:
                raise InvalidBatch(f"{where}: an update that changes parent_id also gives position")
        if "position" in raw:
            POSITION.check(raw["position"], f"{where}.position")
        data = known_fields(entity_type, raw["data"], f"{where}.data", complete=False)
        # The data as sent, as the document counts it: an update of only unknown fields is valid, and changes nothing.
        if not raw["data"] and "position" not in raw:
            raise InvalidBatch(f"{where}: an update changes something: data is empty and there is no position")
        return _operation(raw, data)

    def apply(self, store: Store, course_id: str, operation: Operation) -> OperationResult:
        existing = store.find(course_id, operation.entity_id)
        refusal = _identity_refusal(course_id, operation, existing)
        if refusal:
            return refusal
        if existing is None:
            return failed(operation, "not_found", f"no {operation.entity_type} {operation.entity_id} to update")
        refusal = _parent_refusal(store, course_id, operation)
        if refusal:
            return refusal
        updated = replace(
            existing,
            parent_id=existing.parent_id if operation.parent_id is None else operation.parent_id,
            position=existing.position if operation.position is None else operation.position,
            data={**existing.data, **operation.data},
        )
        store.save(course_id, updated)
        return applied(operation)


class DeleteStrategy(OperationStrategy):
    """Delete an entity and its whole subtree; deleting a missing entity is applied too (idempotent)."""

    name = "delete"

    def check(self, raw: Mapping[str, Any], where: str) -> Operation:
        check_keys(raw, where, required=ENVELOPE, allowed=ENVELOPE)
        return _operation(raw, {})

    def apply(self, store: Store, course_id: str, operation: Operation) -> OperationResult:
        refusal = _identity_refusal(course_id, operation, store.find(course_id, operation.entity_id))
        if refusal:
            return refusal
        store.delete(course_id, operation.entity_type, operation.entity_id)
        return applied(operation)


STRATEGIES: Mapping[str, OperationStrategy] = {
    strategy.name: strategy for strategy in (CreateStrategy(), UpdateStrategy(), DeleteStrategy())
}


def _operation(raw: Mapping[str, Any], data: Mapping[str, Any]) -> Operation:
    position = raw.get("position")
    return Operation(
        operation_id=raw["operation_id"],
        name=raw["operation"],
        entity_type=raw["entity_type"],
        entity_id=raw["entity_id"],
        parent_id=raw.get("parent_id"),
        position=None if position is None else int(position),
        data=data,
    )


def _identity_refusal(course_id: str, operation: Operation, existing: StoredEntity | None) -> OperationResult | None:
    """Refuse an operation on a course other than the batch's, or on an id stored as another entity type."""
    if operation.entity_type == COURSE and operation.entity_id != course_id:
        return failed(operation, "course_id_mismatch", f"the batch is for {course_id}, not {operation.entity_id}")
    if existing is not None and existing.entity_type != operation.entity_type:
        return failed(
            operation,
            "entity_type_mismatch",
            f"{operation.entity_id} is a {existing.entity_type}, not a {operation.entity_type}",
        )
    return None


def _parent_refusal(store: Store, course_id: str, operation: Operation) -> OperationResult | None:
    """Refuse a parent that is missing from the course or is not of the parent type of the entity."""
    if operation.parent_id is None:
        return None
    parent = store.find(course_id, operation.parent_id)
    parent_type = PARENT_TYPE[operation.entity_type]
    if parent is None:
        return failed(operation, "parent_not_found", f"no {parent_type} {operation.parent_id} in {course_id}")
    if parent.entity_type != parent_type:
        return failed(
            operation,
            "parent_type_mismatch",
            f"{operation.parent_id} is a {parent.entity_type}; a {operation.entity_type}'s parent is a {parent_type}",
        )
    return None
