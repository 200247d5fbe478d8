"""
Snapshots: the outline as the backend has acknowledged it.

A snapshot advances only by operations the backend reported as applied, so whatever
failed is still missing from it and the next diff derives it again. Its stored form is
versioned, compact JSON: entities as rows in parent-before-child order, a parent as its
row index (or its id, for a parent the snapshot lacks), block ids without the course
prefix they all share.

A snapshot written before a field existed (revision 1 lacks the revision-2 fields) reads
that field as :data:`UNSENT`, which differs from every value: the next diff sends it as
an update, whatever its value (``null`` included). Until it is applied, the stored form
lists it under ``unsent``.

A stored snapshot may be a checkpoint (:func:`mark_for_replay`): it then names the last
logged operation folded into it, and the operations the backend applied after that one
are replayed on it when it is read (:func:`replay_mark`). Rewriting the whole snapshot
after every batch would make a first sync quadratic in the size of the course.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from types import MappingProxyType
from typing import Any

from .operations import ChangeOperation, OperationType
from .outline import ENTITY_TYPES, CourseOutline, Entity, EntityType

SNAPSHOT_FORMAT = "virtu-sync-snapshot"
SNAPSHOT_VERSION = 1
_REPLAY_KEY = "replay_after"  # the last key of a checkpoint's document, written by mark_for_replay
_FULL_ID_MARK = "/"  # never the first character of a block type, so it marks a full id


class _Unsent:
    """The value of a field the backend was never sent (see the module)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNSENT"


UNSENT = _Unsent()


class SnapshotFormatError(ValueError):
    """A stored snapshot that cannot be read."""


def empty_snapshot(course_id: str) -> CourseOutline:
    """The snapshot of a course the backend has acknowledged nothing of."""
    return CourseOutline(course_id)


def advance_snapshot(snapshot: CourseOutline, applied: Iterable[ChangeOperation]) -> CourseOutline:
    """
    Apply the operations the backend applied, in order, and return the new snapshot.

    Creates upsert, updates merge the given fields and placement, deletes remove the
    entity's whole subtree. An update of an entity the snapshot does not hold is
    ignored: without all its fields it cannot be recorded, and the next diff sends a
    create for it.
    """
    entities = dict(snapshot.entities)
    advance_entities(entities, applied)
    return CourseOutline(snapshot.course_id, MappingProxyType(entities))  # entities is ours: no second copy


def advance_entities(entities: dict[str, Entity], applied: Iterable[ChangeOperation]) -> None:
    """:func:`advance_snapshot` in place, on a snapshot's entities (no copy of the whole snapshot)."""
    pending_deletes: list[str] = []
    for operation in applied:
        if operation.operation is OperationType.DELETE:
            pending_deletes.append(operation.entity_id)
            continue
        if pending_deletes:
            _delete_subtrees(entities, pending_deletes)
            pending_deletes = []
        if operation.operation is OperationType.CREATE:
            entities[operation.entity_id] = Entity.from_data(
                operation.entity_type,
                operation.entity_id,
                operation.parent_id,
                operation.position,
                operation.data or {},
            )
        else:
            _apply_update(entities, operation)
    if pending_deletes:
        _delete_subtrees(entities, pending_deletes)


def without_subtrees(snapshot: CourseOutline, entity_ids: Iterable[str]) -> CourseOutline:
    """The snapshot minus these entities and everything below them (what the backend lacks)."""
    entities = dict(snapshot.entities)
    remove_subtrees(entities, entity_ids)
    return CourseOutline(snapshot.course_id, MappingProxyType(entities))


def remove_subtrees(entities: dict[str, Entity], entity_ids: Iterable[str]) -> None:
    """:func:`without_subtrees` in place, on a snapshot's entities."""
    _delete_subtrees(entities, list(entity_ids))


def _apply_update(entities: dict[str, Entity], operation: ChangeOperation) -> None:
    old = entities.get(operation.entity_id)
    if old is None:
        return
    data = operation.data or {}
    values = tuple(data.get(name, value) for name, value in zip(old.entity_type.fields, old.values))
    entities[operation.entity_id] = Entity(
        old.entity_type,
        old.entity_id,
        operation.parent_id if operation.parent_id is not None else old.parent_id,
        operation.position if operation.position is not None else old.position,
        values,
    )


def _delete_subtrees(entities: dict[str, Entity], root_ids: list[str]) -> None:
    children: dict[str, list[str]] = {}
    for entity in entities.values():
        if entity.parent_id is not None:
            children.setdefault(entity.parent_id, []).append(entity.entity_id)
    stack = list(root_ids)
    while stack:
        entity_id = stack.pop()
        if entities.pop(entity_id, None) is not None:
            stack.extend(children.get(entity_id, ()))


def snapshot_to_json(snapshot: CourseOutline) -> str:
    """The versioned, compact JSON form of a snapshot."""
    prefix = _block_prefix(snapshot.course_id)
    ordered = _parents_first(snapshot)
    used_types = {entity.entity_type.name: entity.entity_type for entity in ordered}
    row_of: dict[str, int] = {}
    rows = []
    unsent: dict[str, list[str]] = {}
    for entity in ordered:
        parent = _stored_parent(entity.parent_id, row_of, prefix)
        values = entity.values
        if UNSENT in values:
            unsent[str(len(rows))] = [name for name, value in zip(entity.entity_type.fields, values) if value is UNSENT]
            values = tuple(None if value is UNSENT else value for value in values)
        row_of[entity.entity_id] = len(rows)
        rows.append([entity.entity_type.name, _compress_id(entity.entity_id, prefix), parent, entity.position, *values])
    document: dict[str, Any] = {
        "format": SNAPSHOT_FORMAT,
        "version": SNAPSHOT_VERSION,
        "course_id": snapshot.course_id,
        "fields": {name: list(entity_type.fields) for name, entity_type in used_types.items()},
    }
    if unsent:
        document["unsent"] = unsent
    document["rows"] = rows  # last: mark_for_replay appends after it
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def snapshot_from_json(text: str | bytes) -> CourseOutline:
    """Read a snapshot written by :func:`snapshot_to_json`."""
    try:
        document = json.loads(text)
        if document.get("format") != SNAPSHOT_FORMAT or document.get("version") != SNAPSHOT_VERSION:
            raise SnapshotFormatError(
                f"unsupported snapshot format {document.get('format')!r} version {document.get('version')!r}"
            )
        course_id = document["course_id"]
        prefix = _block_prefix(course_id)
        stored_fields = {name: tuple(fields) for name, fields in document["fields"].items()}
        # Per entity type name: the type, its stored field names, whether they are the type's own.
        layouts: dict[str, tuple[EntityType, tuple[str, ...], bool]] = {}
        entity_ids: list[str] = []
        entities: dict[str, Entity] = {}
        unsent = document.get("unsent") or {}
        for type_name, stored_id, stored_parent, position, *stored_values in document["rows"]:
            layout = layouts.get(type_name)
            if layout is None:
                layout = layouts[type_name] = _layout(ENTITY_TYPES[type_name], stored_fields[type_name])
            entity_type, stored, same_fields = layout
            if type(stored_id) is not str or not stored_id:
                raise SnapshotFormatError(f"bad entity id {stored_id!r}")
            entity_id = stored_id[1:] if stored_id[0] == _FULL_ID_MARK else prefix + stored_id
            if stored_parent is None:
                parent_id = None
            elif type(stored_parent) is int and 0 <= stored_parent < len(entity_ids):
                parent_id = entity_ids[stored_parent]
            else:
                parent_id = _expand_parent(stored_parent, entity_ids, prefix)
            if same_fields and len(stored_values) == len(stored):
                values = tuple(stored_values)
            else:
                # A field the stored form lacks was never sent: the next diff sends it.
                by_name = dict(zip(stored, stored_values))
                values = tuple(by_name.get(name, UNSENT) for name in entity_type.fields)
            if unsent:
                unsent_names = unsent.get(str(len(entity_ids)))
                if unsent_names:
                    values = tuple(
                        UNSENT if name in unsent_names else value for name, value in zip(entity_type.fields, values)
                    )
            entities[entity_id] = Entity(entity_type, entity_id, parent_id, position, values)
            entity_ids.append(entity_id)
    except SnapshotFormatError:
        raise
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as error:
        raise SnapshotFormatError(f"unreadable snapshot: {error!r}") from error
    return CourseOutline(course_id, entities)


def mark_for_replay(text: str, after: str) -> str:
    """
    The stored form ``text`` (from :func:`snapshot_to_json`) marked as a checkpoint.

    The operations the backend applied after the logged operation ``after`` are not in
    it: whoever reads it replays them on it, in log order. Still a snapshot document.
    """
    if not text.endswith("]}"):
        raise ValueError("not a document written by snapshot_to_json")
    return f"{text[:-1]},{json.dumps(_REPLAY_KEY)}:{json.dumps(after)}}}"


def replay_mark(text: str | bytes) -> str | None:
    """
    The operation a checkpoint (:func:`mark_for_replay`) was marked after, or None.

    None means a complete snapshot: nothing to replay. Reads only the end of ``text``.
    """
    tail = text[-400:]
    if isinstance(tail, bytes):
        tail = tail.decode("utf-8", "replace")
    if not tail.endswith('"}'):  # a complete document ends with its rows: "]}"
        return None
    start = tail.rfind(f",{json.dumps(_REPLAY_KEY)}:")
    if start < 0:
        return None
    try:
        after = json.loads(tail[start + len(_REPLAY_KEY) + 4 : -1])
    except ValueError:
        return None
    return after if isinstance(after, str) and after else None


def _layout(entity_type: EntityType, stored: tuple[str, ...]) -> tuple[EntityType, tuple[str, ...], bool]:
    """How rows of ``entity_type`` stored with the field names ``stored`` are read."""
    return entity_type, stored, stored == entity_type.fields


def _parents_first(snapshot: CourseOutline) -> list[Entity]:
    entities = snapshot.entities
    children: dict[str | None, list[Entity]] = {}
    roots: list[Entity] = []
    for entity in entities.values():
        if entity.parent_id is None or entity.parent_id not in entities:
            roots.append(entity)
        else:
            children.setdefault(entity.parent_id, []).append(entity)
    ordered: list[Entity] = []
    stack = roots[::-1]
    while stack:
        entity = stack.pop()
        ordered.append(entity)
        stack.extend(reversed(children.get(entity.entity_id, ())))
    if len(ordered) < len(entities):  # parent links that form a cycle: keep them, by id
        placed = {entity.entity_id for entity in ordered}
        ordered.extend(entity for entity in entities.values() if entity.entity_id not in placed)
    return ordered


def _stored_parent(parent_id: str | None, row_of: dict[str, int], prefix: str) -> int | str | None:
    if parent_id is None:
        return None
    row = row_of.get(parent_id)
    return row if row is not None else _compress_id(parent_id, prefix)


def _expand_parent(stored: Any, entity_ids: list[str], prefix: str) -> str | None:
    if stored is None:
        return None
    if isinstance(stored, int) and not isinstance(stored, bool) and 0 <= stored < len(entity_ids):
        return entity_ids[stored]
    if isinstance(stored, str):
        return _expand_id(stored, prefix)
    raise SnapshotFormatError(f"bad parent reference {stored!r}")


def _block_prefix(course_id: str) -> str:
    _, _, course_part = course_id.partition(":")
    return f"block-v1:{course_part}+type@"


def _compress_id(entity_id: str, prefix: str) -> str:
    if entity_id.startswith(prefix):
        return entity_id[len(prefix) :]
    return _FULL_ID_MARK + entity_id


def _expand_id(stored_id: Any, prefix: str) -> str:
    if not isinstance(stored_id, str) or not stored_id:
        raise SnapshotFormatError(f"bad entity id {stored_id!r}")
    if stored_id.startswith(_FULL_ID_MARK):
        return stored_id[1:]
    return prefix + stored_id
