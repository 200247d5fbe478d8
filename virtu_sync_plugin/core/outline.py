"""
Outline types: the course as the Virtu backend sees it, a flat map of typed entities.

An outline holds every entity of a course (course, topics, subtopics, units,
assessments) keyed by entity id, in edX pre-order. Field values are already in their
wire form (ISO 8601 strings for dates, JSON scalars otherwise), so an outline can be
compared, diffed and stored without knowing anything about edX.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

#: A field's wire value: a JSON scalar, or (revision 2) a JSON object or array.
FieldValue = str | int | float | bool | None | dict[str, Any] | list[Any]


@dataclass(frozen=True, slots=True)
class EntityType:
    """A kind of entity the backend knows, with its fields in wire order."""

    name: str
    fields: tuple[str, ...]

    def __str__(self) -> str:
        return self.name


ENTITY_TYPES: dict[str, EntityType] = {}


def define_entity_type(name: str, fields: Iterable[str]) -> EntityType:
    """Create an entity type and register it by name (for decoding stored snapshots)."""
    entity_type = EntityType(name, tuple(fields))
    existing = ENTITY_TYPES.setdefault(name, entity_type)
    if existing != entity_type:
        raise ValueError(f"entity type {name!r} is already defined with fields {existing.fields}")
    return existing


COURSE = define_entity_type(
    "course",
    (
        "title",
        "org",
        "number",
        "run",
        "start",
        "end",
        "language",
        "self_paced",
        "description",
        "grading_policy",
        "other_settings",
    ),
)
TOPIC = define_entity_type("topic", ("title", "start", "visible_to_staff_only", "hide_from_toc"))
SUBTOPIC = define_entity_type(
    "subtopic", ("title", "start", "due", "graded", "format", "visible_to_staff_only", "hide_from_toc")
)
UNIT = define_entity_type("unit", ("title", "visible_to_staff_only"))
ASSESSMENT = define_entity_type("assessment", ("title", "block_type", "weight", "graded", "points", "selection"))


@dataclass(frozen=True, slots=True)
class Entity:
    """
    One entity of an outline.

    ``values`` holds the field values in the order of ``entity_type.fields``; ``position``
    is the 0-based index among the parent's children of the same entity type. The course
    entity has no parent and no position.
    """

    entity_type: EntityType
    entity_id: str
    parent_id: str | None
    position: int | None
    values: tuple[FieldValue, ...]

    @classmethod
    def from_data(
        cls,
        entity_type: EntityType,
        entity_id: str,
        parent_id: str | None,
        position: int | None,
        data: Mapping[str, FieldValue],
    ) -> Entity:
        """Build an entity from a field mapping that has exactly the type's fields."""
        if data.keys() != set(entity_type.fields):
            raise ValueError(
                f"{entity_type.name} {entity_id}: fields {sorted(data)} do not match {sorted(entity_type.fields)}"
            )
        return cls(entity_type, entity_id, parent_id, position, tuple(data[name] for name in entity_type.fields))

    @property
    def data(self) -> dict[str, FieldValue]:
        """The fields as a dict in wire order."""
        return dict(zip(self.entity_type.fields, self.values))


@dataclass(frozen=True, slots=True)
class ContentError:
    """Odd content found while reading a course: reported, never fatal."""

    code: str
    block_id: str | None
    message: str


@dataclass(frozen=True, slots=True)
class Placeholder:
    """
    A block the modulestore could not give (an error block, or a child key that did not come back).

    What the backend holds of it stays as last acknowledged (see :mod:`.placeholders`).
    ``parent_id`` is the entity it is listed under (for a block anywhere inside a unit: the
    unit); ``slot`` is how many of that parent's entity children of the same level come
    before it where the parent lists it. ``may_hold_assessments``: a block inside a unit
    that may be a container (not a component of an assessment type), so the assessments
    under it cannot be known.
    """

    block_id: str
    parent_id: str
    slot: int
    may_hold_assessments: bool = False


@dataclass(frozen=True, slots=True)
class CourseOutline:
    """
    A course's entities keyed by entity id, in edX pre-order (the course entity first).

    Also the form of a snapshot (what the backend has acknowledged), which has no content
    errors and no placeholders and whose order carries no meaning. A read outline's
    ``placeholders`` are the blocks that did not load: its entities leave them out, and
    its positions do not count them (a diff against the snapshot resolves both).
    """

    course_id: str
    entities: Mapping[str, Entity] = field(default_factory=lambda: MappingProxyType({}))
    content_errors: tuple[ContentError, ...] = ()
    published_at: str | None = None
    placeholders: tuple[Placeholder, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.entities, MappingProxyType):
            object.__setattr__(self, "entities", MappingProxyType(dict(self.entities)))

    def __len__(self) -> int:
        return len(self.entities)

    def counts(self) -> dict[str, int]:
        """Number of entities per entity type name."""
        counts: dict[str, int] = {}
        for entity in self.entities.values():
            counts[entity.entity_type.name] = counts.get(entity.entity_type.name, 0) + 1
        return counts

    def tree(self) -> dict[str, dict[str, Any]]:
        """The outline as plain data: entity id → type, parent, position and fields."""
        return {
            entity_id: {
                "entity_type": entity.entity_type.name,
                "parent_id": entity.parent_id,
                "position": entity.position,
                "data": entity.data,
            }
            for entity_id, entity in self.entities.items()
        }
