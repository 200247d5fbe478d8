"""
Change operations: the commands a sync sends to the backend, in the contract's wire form.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .outline import ENTITY_TYPES, EntityType, FieldValue


class OperationType(enum.Enum):
    """What an operation does to its entity."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class ChangeOperation:
    """
    One create, update or delete of one entity.

    On ``create``, ``parent_id``, ``position`` (both ``None`` for the course) and ``data``
    (every field) are always sent. On ``update``, ``parent_id`` and ``position`` are
    ``None`` unless they changed (a move carries both) and ``data`` holds only the
    changed fields. A ``delete`` carries neither.
    """

    operation_id: str
    operation: OperationType
    entity_type: EntityType
    entity_id: str
    parent_id: str | None = None
    position: int | None = None
    data: Mapping[str, FieldValue] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The operation exactly as it goes on the wire."""
        wire: dict[str, Any] = {
            "operation_id": self.operation_id,
            "operation": self.operation.value,
            "entity_type": self.entity_type.name,
            "entity_id": self.entity_id,
        }
        if self.operation is OperationType.CREATE:
            wire["parent_id"] = self.parent_id
            wire["position"] = self.position
        elif self.operation is OperationType.UPDATE:
            if self.parent_id is not None:
                wire["parent_id"] = self.parent_id
            if self.position is not None:
                wire["position"] = self.position
        if self.operation is not OperationType.DELETE:
            wire["data"] = dict(self.data or {})
        return wire

    @classmethod
    def from_dict(cls, wire: Mapping[str, Any]) -> ChangeOperation:
        """Read an operation back from its wire form (e.g. from the operation log)."""
        try:
            entity_type = ENTITY_TYPES[wire["entity_type"]]
            return cls(
                operation_id=wire["operation_id"],
                operation=OperationType(wire["operation"]),
                entity_type=entity_type,
                entity_id=wire["entity_id"],
                parent_id=wire.get("parent_id"),
                position=wire.get("position"),
                data=wire.get("data"),
            )
        except (KeyError, ValueError, TypeError) as error:
            raise ValueError(f"not a change operation: {error!r}") from error
