"""
The diff engine: from the acknowledged snapshot and the new outline to change operations.

The engine is a chain of per-level handlers ordered from the top of the tree down
(Course → Topic → Subtopic → Unit → Assessment). Each handler decides, for the entities
of its level, what a creation, a change and a removal turn into. A new level is one new
handler class appended to the chain; no existing handler changes.

Semantics (``course-sync-v1``): field-level updates carry only changed fields; a move is
an update of ``parent_id`` (with ``position``), never a delete plus a create; positions
are sent only for entities whose index changed; only the top-most entity of a removed
subtree is deleted; operations come as creates (parents first), then updates, then
deletes. Work is linear in the number of entities. Blocks that did not load (the new
outline's placeholders) are first resolved against the old outline
(:func:`~.placeholders.resolve_placeholders`): what the backend holds of them is kept.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import ClassVar

from .operations import ChangeOperation, OperationType
from .outline import ASSESSMENT, COURSE, SUBTOPIC, TOPIC, UNIT, CourseOutline, Entity, EntityType
from .placeholders import resolve_placeholders

OperationIdFactory = Callable[[], str]


def new_operation_id() -> str:
    """A fresh, globally unique operation id."""
    return str(uuid.uuid4())


class LevelDiffHandler:
    """Turns the differences of one level's entities into operations."""

    entity_type: ClassVar[EntityType]
    #: Whether entities of this level have a parent and a position that can change.
    placed: ClassVar[bool] = True

    def created(self, new: Entity, operation_id: str) -> ChangeOperation:
        """The operation for an entity that is new."""
        return ChangeOperation(
            operation_id,
            OperationType.CREATE,
            new.entity_type,
            new.entity_id,
            parent_id=new.parent_id,
            position=new.position,
            data=new.data,
        )

    def changed(self, old: Entity, new: Entity, operation_id: str) -> ChangeOperation | None:
        """The update for an entity present on both sides, or ``None`` if nothing changed."""
        data = {}
        if old.values != new.values:
            data = {
                name: new_value
                for name, old_value, new_value in zip(self.entity_type.fields, old.values, new.values)
                if old_value != new_value
            }
        parent_id = position = None
        if self.placed:
            if new.parent_id != old.parent_id:
                parent_id, position = new.parent_id, new.position
            elif new.position != old.position:
                position = new.position
        if not data and parent_id is None and position is None:
            return None
        return ChangeOperation(
            operation_id,
            OperationType.UPDATE,
            new.entity_type,
            new.entity_id,
            parent_id=parent_id,
            position=position,
            data=data,
        )

    def removed(self, old: Entity, operation_id: str) -> ChangeOperation:
        """The delete of the top-most entity of a removed subtree."""
        return ChangeOperation(operation_id, OperationType.DELETE, old.entity_type, old.entity_id)


class CourseDiffHandler(LevelDiffHandler):
    """The course entity: never moved or re-positioned."""

    entity_type = COURSE
    placed = False


class TopicDiffHandler(LevelDiffHandler):
    """Topics (chapters / sections)."""

    entity_type = TOPIC


class SubtopicDiffHandler(LevelDiffHandler):
    """Subtopics (sequentials / subsections)."""

    entity_type = SUBTOPIC


class UnitDiffHandler(LevelDiffHandler):
    """Units (verticals)."""

    entity_type = UNIT


class AssessmentDiffHandler(LevelDiffHandler):
    """Assessments (scorable components inside a unit)."""

    entity_type = ASSESSMENT


class DiffEngine:
    """Diffs two outlines through a chain of level handlers, ordered top-down."""

    def __init__(self, chain: Sequence[LevelDiffHandler]):
        self.chain = tuple(chain)
        self._level_of = {handler.entity_type: level for level, handler in enumerate(self.chain)}
        if len(self._level_of) != len(self.chain):
            raise ValueError("each entity type needs exactly one handler")

    def with_handler(self, handler: LevelDiffHandler) -> DiffEngine:
        """A new engine with ``handler`` appended as the lowest level."""
        return DiffEngine((*self.chain, handler))

    def diff(
        self,
        old: CourseOutline | None,
        new: CourseOutline,
        *,
        operation_id: OperationIdFactory = new_operation_id,
    ) -> list[ChangeOperation]:
        """The operations that turn ``old`` (``None``: nothing acknowledged) into ``new``."""
        if new.placeholders:
            new = resolve_placeholders(old, new).outline
        old_entities: Mapping[str, Entity] = old.entities if old is not None else {}
        new_entities = new.entities
        creates: list[list[ChangeOperation]] = [[] for _ in self.chain]
        updates: list[ChangeOperation] = []
        deletes: list[ChangeOperation] = []
        # The hot loop (every entity, usually unchanged): entity types are told apart by
        # identity first (hashing the dataclass costs more than the rest of an iteration),
        # and an entity's level is looked up only when it has something to send.
        known_types = {id(entity_type) for entity_type in self._level_of}
        old_entity_of = old_entities.get
        for entity_id, new_entity in new_entities.items():
            if id(new_entity.entity_type) not in known_types:
                self._level(new_entity)  # an equal type made elsewhere, or an error
            old_entity = old_entity_of(entity_id)
            if old_entity is None:
                level = self._level(new_entity)
                creates[level].append(self.chain[level].created(new_entity, operation_id()))
            elif old_entity is not new_entity and (  # old_entity != new_entity, field by field
                old_entity.values != new_entity.values
                or old_entity.parent_id != new_entity.parent_id
                or old_entity.position != new_entity.position
                or old_entity.entity_id != new_entity.entity_id
                or (
                    old_entity.entity_type is not new_entity.entity_type
                    and old_entity.entity_type != new_entity.entity_type
                )
            ):
                level = self._level(new_entity)
                update = self.chain[level].changed(old_entity, new_entity, operation_id())
                if update is not None:
                    updates.append(update)
        for entity_id, old_entity in old_entities.items():
            if entity_id in new_entities:
                continue
            parent_id = old_entity.parent_id
            # Top-most removed: its parent survives (or never was acknowledged itself).
            if parent_id is None or parent_id in new_entities or parent_id not in old_entities:
                deletes.append(self.chain[self._level(old_entity)].removed(old_entity, operation_id()))
        return [*_flatten(creates), *updates, *deletes]

    def _level(self, entity: Entity) -> int:
        try:
            return self._level_of[entity.entity_type]
        except KeyError:
            raise ValueError(f"no diff handler for entity type {entity.entity_type.name!r}") from None


def _flatten(groups: Iterable[list[ChangeOperation]]) -> list[ChangeOperation]:
    return [operation for group in groups for operation in group]


DEFAULT_DIFF_ENGINE = DiffEngine(
    (CourseDiffHandler(), TopicDiffHandler(), SubtopicDiffHandler(), UnitDiffHandler(), AssessmentDiffHandler())
)


def diff_outlines(
    old: CourseOutline | None,
    new: CourseOutline,
    *,
    operation_id: OperationIdFactory = new_operation_id,
) -> list[ChangeOperation]:
    """Diff two outlines with the default chain (Course → Topic → Subtopic → Unit → Assessment)."""
    return DEFAULT_DIFF_ENGINE.diff(old, new, operation_id=operation_id)
