"""Build outlines from compact nested specs, and apply operations independently of the core."""

from __future__ import annotations

from typing import Any

from tests.support.contract_samples import SAMPLE_FIELDS
from virtu_sync_plugin.core.operations import ChangeOperation
from virtu_sync_plugin.core.outline import COURSE, ENTITY_TYPES, CourseOutline, Entity, Placeholder

COURSE_ID = "course-v1:VirtuX+MATH101+2026"
BLOCK_TYPE_OF = {"topic": "chapter", "subtopic": "sequential", "unit": "vertical", "assessment": "problem"}
DEFAULT_FIELDS: dict[str, dict[str, Any]] = {
    "course": SAMPLE_FIELDS["course"],
    "topic": {"title": "", "start": "2026-09-01T00:00:00Z", "visible_to_staff_only": False, "hide_from_toc": False},
    "subtopic": {
        "title": "",
        "start": "2026-09-01T00:00:00Z",
        "due": None,
        "graded": False,
        "format": None,
        "visible_to_staff_only": False,
        "hide_from_toc": False,
    },
    "unit": {"title": "", "visible_to_staff_only": False},
    "assessment": {
        "title": "",
        "block_type": "problem",
        "weight": None,
        "graded": False,
        "points": 1.0,
        "selection": [],
    },
}


def block_id(entity_type: str, name: str, course_id: str = COURSE_ID) -> str:
    """The block key of a test entity named ``name``."""
    course_part = course_id.partition(":")[2]
    return f"block-v1:{course_part}+type@{BLOCK_TYPE_OF[entity_type]}+block@{name}"


def node(entity_type: str, name: str, *children: tuple, **fields: Any) -> tuple:
    """A spec node: ``node("topic", "algebra", node("subtopic", "s1"), title="Algebra")``."""
    return (entity_type, name, fields, children)


def make_outline(*children: tuple, course_id: str = COURSE_ID, **course_fields: Any) -> CourseOutline:
    """An outline of a course whose children are the given spec nodes, in order."""
    entities: dict[str, Entity] = {}
    course_data = {**DEFAULT_FIELDS["course"], **course_fields}
    entities[course_id] = Entity.from_data(COURSE, course_id, None, None, course_data)
    _add_children(entities, course_id, children, course_id)
    return CourseOutline(course_id, entities)


def _add_children(entities: dict[str, Entity], parent_id: str, children: tuple, course_id: str) -> None:
    positions: dict[str, int] = {}
    for entity_type, name, fields, grandchildren in children:
        entity_id = block_id(entity_type, name, course_id)
        data = {**DEFAULT_FIELDS[entity_type], "title": name.title(), **fields}
        position = positions.get(entity_type, 0)
        positions[entity_type] = position + 1
        entities[entity_id] = Entity.from_data(ENTITY_TYPES[entity_type], entity_id, parent_id, position, data)
        _add_children(entities, entity_id, grandchildren, course_id)


def apply_independently(tree: dict[str, dict[str, Any]], operations: list[ChangeOperation]) -> dict[str, dict]:
    """
    Apply wire-form operations to a plain tree the way a conforming backend does, checking
    that each operation is valid where it stands: no child before its parent, no operation
    on (or under) an entity already deleted, updates only of existing entities.
    """
    tree = {entity_id: dict(entry, data=dict(entry["data"])) for entity_id, entry in tree.items()}
    deleted: set[str] = set()
    for operation in operations:
        wire = operation.to_dict()
        entity_id = wire["entity_id"]
        assert entity_id not in deleted, f"operation on deleted entity {entity_id}"
        if "parent_id" in wire and wire["parent_id"] is not None:
            assert wire["parent_id"] in tree, f"{wire['operation']} of {entity_id} before its parent"
            assert wire["parent_id"] not in deleted
        if wire["operation"] == "create":
            tree[entity_id] = {
                "entity_type": wire["entity_type"],
                "parent_id": wire["parent_id"],
                "position": wire["position"],
                "data": dict(wire["data"]),
            }
        elif wire["operation"] == "update":
            assert entity_id in tree, f"update of missing {entity_id}"
            entry = tree[entity_id]
            assert wire["data"].keys() <= entry["data"].keys()
            entry["data"].update(wire["data"])
            if "parent_id" in wire:
                assert "position" in wire, "a move must carry its position"
                entry["parent_id"] = wire["parent_id"]
            if "position" in wire:
                entry["position"] = wire["position"]
        else:
            assert entity_id in tree, f"delete of missing {entity_id}"
            subtree = {entity_id}
            grew = True
            while grew:
                grew = False
                for other_id, entry in tree.items():
                    if other_id not in subtree and entry["parent_id"] in subtree:
                        subtree.add(other_id)
                        grew = True
            for removed in subtree:
                del tree[removed]
            deleted |= subtree
    return tree


def unloadable(
    outline: CourseOutline, *entity_ids: str, containers: tuple[tuple[str, str, int], ...] = ()
) -> CourseOutline:
    """
    ``outline`` as a read gives it when the blocks ``entity_ids`` do not load.

    Each is left out with its subtree and becomes a placeholder at its place (the number
    of its kept siblings before it); the kept siblings' positions close up. ``containers``
    adds placeholders of containers inside units: ``(container_id, unit_id, slot)``.
    """
    removed: set[str] = set()
    children: dict[str | None, list[Entity]] = {}
    for entity in outline.entities.values():
        children.setdefault(entity.parent_id, []).append(entity)
    stack = list(entity_ids)
    while stack:
        entity_id = stack.pop()
        removed.add(entity_id)
        stack.extend(child.entity_id for child in children.get(entity_id, ()))
    entities: dict[str, Entity] = {}
    placeholders = []
    for entity in outline.entities.values():
        if entity.entity_id in removed:
            if entity.entity_id in entity_ids:
                siblings = children[entity.parent_id]
                slot = sum(
                    1 for sibling in siblings if sibling.entity_id not in removed and sibling.position < entity.position
                )
                placeholders.append(Placeholder(entity.entity_id, entity.parent_id, slot))
            continue
        position = entity.position
        if position is not None:
            position -= sum(
                1
                for sibling in children[entity.parent_id]
                if sibling.entity_id in removed and sibling.position < entity.position
            )
        entities[entity.entity_id] = Entity(
            entity.entity_type, entity.entity_id, entity.parent_id, position, entity.values
        )
    placeholders.extend(Placeholder(block, unit, slot, True) for block, unit, slot in containers)
    return CourseOutline(outline.course_id, entities, placeholders=tuple(placeholders))
