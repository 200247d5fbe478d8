"""
Blocks that do not load: what the backend holds of them stays as last acknowledged.

A read outline lists the blocks the modulestore could not give as
:class:`~.outline.Placeholder` s (contract, revision 2, "Content that does not load").
:func:`resolve_placeholders` turns such an outline into the outline the backend should
hold, given what it has acknowledged (``old``):

- a placeholder the backend holds keeps its entity and the entity's whole subtree
  exactly as in ``old`` (fields untouched: no update, no delete, no create); its own
  place comes from its parent's list: it counts among its siblings where the parent
  lists it, and its parent and position follow that place;
- a placeholder the backend never had is not counted and nothing is sent for it;
- a placeholder inside a unit that may hold assessments (a container that is no entity
  of its own) freezes that unit's assessments: those the backend holds stay exactly as
  in ``old`` (fields, parent, position), none is created; the unit's own fields still sync.

An entity read elsewhere in the new outline (a block that loaded under another parent)
is taken as read: what loaded wins over what is kept.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass

from .outline import ASSESSMENT, CourseOutline, Entity, Placeholder


@dataclass(frozen=True, slots=True)
class Resolution:
    """An outline with its placeholders resolved, and the ids of the entities kept as acknowledged."""

    outline: CourseOutline
    kept: frozenset[str]


def resolve_placeholders(old: CourseOutline | None, new: CourseOutline) -> Resolution:
    """``new`` as the backend should hold it, its placeholders resolved against ``old`` (see the module)."""
    if not new.placeholders:
        return Resolution(new, frozenset())
    old_entities: Mapping[str, Entity] = old.entities if old is not None else {}
    entities = dict(new.entities)
    kept: set[str] = set()
    held: dict[str, list[tuple[int, int, Placeholder]]] = {}
    frozen_units: set[str] = set()
    for order, placeholder in enumerate(new.placeholders):
        if placeholder.block_id in entities or placeholder.parent_id not in entities:
            continue  # loaded where it appears first; or its parent is not synced at all
        if placeholder.block_id in old_entities:
            held.setdefault(placeholder.parent_id, []).append((placeholder.slot, order, placeholder))
        elif placeholder.may_hold_assessments:
            frozen_units.add(placeholder.parent_id)

    new_children: dict[str, list[Entity]] = {}
    for entity in new.entities.values():
        if entity.parent_id is not None:
            new_children.setdefault(entity.parent_id, []).append(entity)
    old_children: dict[str, list[Entity]] = {}
    for entity in old_entities.values():
        if entity.parent_id is not None:
            old_children.setdefault(entity.parent_id, []).append(entity)

    def keep(entity: Entity) -> None:
        entities[entity.entity_id] = entity
        kept.add(entity.entity_id)

    for unit_id in frozen_units:
        for entity in new_children.get(unit_id, ()):
            if entity.entity_type == ASSESSMENT:
                del entities[entity.entity_id]
                if entity.entity_id in old_entities:
                    keep(old_entities[entity.entity_id])
        for entity in old_children.get(unit_id, ()):
            if entity.entity_type == ASSESSMENT and entity.entity_id not in entities:
                keep(entity)

    for parent_id, places in held.items():
        if parent_id in frozen_units:
            continue  # its assessments, this one included, are all kept as they were
        places.sort()
        slots = [slot for slot, _, _ in places]
        held_types = {old_entities[placeholder.block_id].entity_type for _, _, placeholder in places}
        for sibling in new_children.get(parent_id, ()):
            shift = bisect_right(slots, sibling.position) if sibling.position is not None else 0
            if shift and sibling.entity_type in held_types:
                entities[sibling.entity_id] = Entity(
                    sibling.entity_type,
                    sibling.entity_id,
                    sibling.parent_id,
                    sibling.position + shift,
                    sibling.values,
                )
        for index, (slot, _, placeholder) in enumerate(places):
            acknowledged = old_entities[placeholder.block_id]
            keep(Entity(acknowledged.entity_type, acknowledged.entity_id, parent_id, slot + index, acknowledged.values))
            stack = list(old_children.get(acknowledged.entity_id, ()))
            while stack:
                entity = stack.pop()
                if entity.entity_id in entities:
                    continue  # loaded elsewhere: taken as read, with its subtree
                keep(entity)
                stack.extend(old_children.get(entity.entity_id, ()))

    outline = CourseOutline(new.course_id, entities, new.content_errors, new.published_at)
    return Resolution(outline, frozenset(kept))
