"""Property-based tests of the diff engine and snapshots against an independent applier."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.support.outlines import DEFAULT_FIELDS, apply_independently, block_id
from virtu_sync_plugin.core.diff import diff_outlines
from virtu_sync_plugin.core.operations import OperationType
from virtu_sync_plugin.core.outline import COURSE, ENTITY_TYPES, CourseOutline, Entity
from virtu_sync_plugin.core.snapshot import advance_snapshot, snapshot_from_json, snapshot_to_json

COURSE_ID = "course-v1:Prop+P1+R"
#: A fixed pool of block names per level, so that two random outlines share entities.
POOL = {"topic": 4, "subtopic": 7, "unit": 9, "assessment": 10}
LEVELS = [("topic", None), ("subtopic", "topic"), ("unit", "subtopic"), ("assessment", "unit")]
FIELD_VALUES = {
    "title": st.sampled_from(["A", "B", "Ünïcødé 🙂", "x" * 500, "  "]),
    "start": st.sampled_from([None, "2026-09-01T00:00:00Z", "2030-01-01T00:00:00Z"]),
    "due": st.sampled_from([None, "2026-12-24T23:59:59Z"]),
    "end": st.sampled_from([None, "2027-06-30T00:00:00Z"]),
    "graded": st.booleans(),
    "format": st.sampled_from([None, "Homework", "Exam"]),
    "visible_to_staff_only": st.booleans(),
    "hide_from_toc": st.booleans(),
    "self_paced": st.booleans(),
    "language": st.sampled_from([None, "en", "fr"]),
    "block_type": st.sampled_from(["problem", "openassessment"]),
    "weight": st.sampled_from([None, 1.0, 2.5]),
    "points": st.sampled_from([None, 1.0, 3.0]),
    "selection": st.sampled_from(
        [
            [],
            [{"kind": "random", "container_id": "block-v1:Prop+P1+R+type@itembank+block@bank", "count": 2}],
            [
                {
                    "kind": "group",
                    "container_id": "block-v1:Prop+P1+R+type@split_test+block@x",
                    "group_id": "0",
                    "group_name": None,
                }
            ],
        ]
    ),
    "description": st.sampled_from([None, "", "Numbers 🙂"]),
    "other_settings": st.sampled_from([{}, {"examination_level": "MSCE"}]),
}


@st.composite
def outlines(draw) -> CourseOutline:
    """A random outline over the fixed pool: entities present or not, any parent, any order."""
    course_data = {
        **DEFAULT_FIELDS["course"],
        **{
            name: draw(FIELD_VALUES[name])
            for name in ("title", "start", "end", "language", "self_paced", "description", "other_settings")
        },
    }
    entities = {COURSE_ID: Entity.from_data(COURSE, COURSE_ID, None, None, course_data)}
    present = {None: [COURSE_ID]}
    for level, parent_level in LEVELS:
        names = [f"{level[0]}{n}" for n in range(POOL[level]) if draw(st.booleans())]
        parents = present[parent_level]
        if not parents:
            present[level] = []
            continue
        names = draw(st.permutations(names))
        positions: dict[str, int] = {}
        present[level] = []
        entity_type = ENTITY_TYPES[level]
        for name in names:
            parent_id = draw(st.sampled_from(parents))
            entity_id = block_id(level, name, COURSE_ID)
            data = {field: draw(FIELD_VALUES[field]) for field in entity_type.fields}
            position = positions.get(parent_id, 0)
            positions[parent_id] = position + 1
            entities[entity_id] = Entity.from_data(entity_type, entity_id, parent_id, position, data)
            present[level].append(entity_id)
    return CourseOutline(COURSE_ID, entities)


@given(outlines(), outlines())
def test_applying_the_diff_to_a_gives_b(old, new):
    operations = diff_outlines(old, new)
    assert apply_independently(old.tree(), operations) == new.tree()


@given(outlines(), outlines())
def test_operations_come_creates_then_updates_then_deletes_and_deletes_are_top_most(old, new):
    operations = diff_outlines(old, new)
    order = [OperationType.CREATE, OperationType.UPDATE, OperationType.DELETE]
    kinds = [order.index(op.operation) for op in operations]
    assert kinds == sorted(kinds)
    deleted = {op.entity_id for op in operations if op.operation is OperationType.DELETE}
    for entity_id in deleted:
        assert old.entities[entity_id].parent_id not in deleted
    assert len({op.entity_id for op in operations}) == len(operations)


@given(outlines())
def test_diff_of_an_outline_with_itself_is_empty(outline):
    assert diff_outlines(outline, outline) == []
    assert diff_outlines(outline, CourseOutline(outline.course_id, dict(outline.entities))) == []


@given(outlines(), outlines())
def test_advancing_a_snapshot_by_all_operations_reaches_the_new_outline(old, new):
    advanced = advance_snapshot(old, diff_outlines(old, new))
    assert advanced.tree() == new.tree()
    assert diff_outlines(advanced, new) == []


@given(outlines(), outlines(), st.data())
def test_a_partly_applied_diff_leaves_exactly_the_rest_to_send(old, new, data):
    operations = diff_outlines(old, new)
    applied = [op for op in operations if data.draw(st.booleans())]
    backend = apply_independently(old.tree(), applied) if _valid_subset(old, applied) else None
    snapshot = advance_snapshot(old, applied)
    if backend is not None:
        assert snapshot.tree() == backend
    assert advance_snapshot(snapshot, diff_outlines(snapshot, new)).tree() == new.tree()


def _valid_subset(old, applied):
    try:
        apply_independently(old.tree(), applied)
    except AssertionError:
        return False
    return True


@given(outlines())
def test_snapshot_json_round_trips(outline):
    assert snapshot_from_json(snapshot_to_json(outline)).tree() == outline.tree()
