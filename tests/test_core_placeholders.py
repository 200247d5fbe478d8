"""Blocks that do not load (contract revision 2): what the backend holds of them stays as acknowledged."""

from __future__ import annotations

import json

from tests.support.outlines import COURSE_ID, apply_independently, block_id, make_outline, node, unloadable
from virtu_sync_plugin.core.diff import diff_outlines
from virtu_sync_plugin.core.outline import COURSE, CourseOutline, Entity, Placeholder
from virtu_sync_plugin.core.placeholders import resolve_placeholders
from virtu_sync_plugin.core.snapshot import UNSENT, advance_snapshot, snapshot_from_json, snapshot_to_json

UNIT = block_id("unit", "practice")


def q(name):
    return block_id("assessment", name)


def unit_outline(*names, **fields_of):
    """A course with one unit holding the assessments ``names`` in that order."""
    assessments = [node("assessment", name, **fields_of.get(name, {})) for name in names]
    return make_outline(node("topic", "t", node("subtopic", "s", node("unit", "practice", *assessments))))


def wire(operations):
    return [{k: v for k, v in op.to_dict().items() if k != "operation_id"} for op in operations]


def synced(old, new):
    """What the backend holds after the diff from ``old`` to ``new`` is applied (and its operations)."""
    operations = diff_outlines(old, new)
    return apply_independently(old.tree(), operations), operations


def test_a_component_breaking_and_loading_again_across_three_publishes():
    v1 = unit_outline("a", "b", "broken", "c", b={"title": "B"})
    # Publish 2: "broken" does not load; a and c change places; b's title changes.
    v2_read = unloadable(unit_outline("c", "b", "broken", "a", b={"title": "B2"}), q("broken"))
    held, operations = synced(v1, v2_read)
    assert not [op for op in operations if op.entity_id == q("broken")]  # still at position 2
    assert {op.entity_id for op in operations} == {q("a"), q("b"), q("c")}
    assert held[q("broken")] == v1.tree()[q("broken")]
    assert [held[q(name)]["position"] for name in ("c", "b", "broken", "a")] == [0, 1, 2, 3]
    assert held[q("b")]["data"]["title"] == "B2"

    # Publish 3: still broken, and moved first by the author: only its place follows.
    v3_read = unloadable(unit_outline("broken", "c", "b", "a", b={"title": "B2"}), q("broken"))
    snapshot = advance_snapshot(v1, operations)
    held, operations = synced(snapshot, v3_read)
    broken_ops = [op for op in wire(operations) if op["entity_id"] == q("broken")]
    assert broken_ops == [
        {"operation": "update", "entity_type": "assessment", "entity_id": q("broken"), "position": 0, "data": {}}
    ]
    assert [held[q(name)]["position"] for name in ("broken", "c", "b", "a")] == [0, 1, 2, 3]
    assert held[q("broken")]["data"] == v1.tree()[q("broken")]["data"]

    # Publish 4: it loads again, with a new title: normal diffing resumes.
    snapshot = advance_snapshot(snapshot, operations)
    v4 = unit_outline("broken", "c", "b", "a", b={"title": "B2"}, broken={"title": "Fixed"})
    assert wire(diff_outlines(snapshot, v4)) == [
        {"operation": "update", "entity_type": "assessment", "entity_id": q("broken"), "data": {"title": "Fixed"}}
    ]


def test_a_unit_breaking_with_its_assessments_under_it_keeps_them_all():
    old = make_outline(
        node(
            "topic",
            "t",
            node(
                "subtopic",
                "s",
                node("unit", "u1", node("assessment", "a1")),
                node("unit", "u2", node("assessment", "a2")),
            ),
        )
    )
    new_full = make_outline(
        node(
            "topic",
            "t",
            node(
                "subtopic",
                "s",
                node("unit", "u2", node("assessment", "a2", title="Renamed")),
                node("unit", "u1", node("assessment", "a1")),
            ),
        )
    )
    read = unloadable(new_full, block_id("unit", "u1"))
    held, operations = synced(old, read)
    assert not [op for op in operations if op.operation.value != "update"]
    u1 = held[block_id("unit", "u1")]
    assert (u1["position"], u1["data"]) == (1, old.tree()[block_id("unit", "u1")]["data"])
    assert held[block_id("assessment", "a1")] == old.tree()[block_id("assessment", "a1")]
    assert held[block_id("assessment", "a2")]["data"]["title"] == "Renamed"
    assert held[block_id("unit", "u2")]["position"] == 0


def test_a_block_the_backend_never_had_is_not_counted_and_nothing_is_sent_for_it():
    old = unit_outline("a", "c")
    read = unloadable(unit_outline("a", "new", "c"), q("new"))
    assert diff_outlines(old, read) == []
    assert wire(diff_outlines(None, read)) == wire(diff_outlines(None, unit_outline("a", "c")))


def test_a_dangling_topic_keeps_its_subtree_and_its_siblings_positions_count_it():
    old = make_outline(node("topic", "t1", node("subtopic", "s1")), node("topic", "t2"), node("topic", "t3"))
    read = unloadable(
        make_outline(node("topic", "t1", node("subtopic", "s1")), node("topic", "t3"), node("topic", "t2")),
        block_id("topic", "t1"),
    )
    held, operations = synced(old, read)
    assert {op.entity_id for op in operations} == {block_id("topic", "t2"), block_id("topic", "t3")}
    assert (
        held
        == make_outline(node("topic", "t1", node("subtopic", "s1")), node("topic", "t3"), node("topic", "t2")).tree()
    )


def test_an_unloadable_container_freezes_the_units_assessments_but_not_the_unit():
    old = unit_outline("a", "in_bank", "b")
    new = make_outline(
        node(
            "topic",
            "t",
            node(
                "subtopic",
                "s",
                node(
                    "unit",
                    "practice",
                    node("assessment", "b", title="B changed"),
                    node("assessment", "fresh"),
                    title="Unit renamed",
                ),
            ),
        )
    )
    read = CourseOutline(
        COURSE_ID,
        new.entities,
        placeholders=(Placeholder(block_id("assessment", "bank").replace("problem", "itembank"), UNIT, 0, True),),
    )
    assert wire(diff_outlines(old, read)) == [
        {"operation": "update", "entity_type": "unit", "entity_id": UNIT, "data": {"title": "Unit renamed"}}
    ]
    resolution = resolve_placeholders(old, read)
    assert resolution.kept == {q("a"), q("in_bank"), q("b")}


def test_a_moved_assessment_arriving_in_a_frozen_unit_is_kept_where_it_was_acknowledged():
    old = make_outline(
        node(
            "topic",
            "t",
            node("subtopic", "s", node("unit", "practice"), node("unit", "other", node("assessment", "m"))),
        )
    )
    new = make_outline(
        node(
            "topic",
            "t",
            node("subtopic", "s", node("unit", "practice", node("assessment", "m")), node("unit", "other")),
        )
    )
    read = CourseOutline(
        COURSE_ID, new.entities, placeholders=(Placeholder("block-v1:x+type@conditional+block@c", UNIT, 0, True),)
    )
    assert diff_outlines(old, read) == []  # neither moved (which place would it take?) nor deleted


def test_the_new_fields_are_diffed_like_any_other():
    course_data = {**make_outline().entities[COURSE_ID].data}
    old = make_outline()
    new_policy = {**course_data["grading_policy"], "cutoffs": {"Pass": 0.6}}
    new = make_outline(grading_policy=new_policy, other_settings={"academic_class": "Form 3"})
    assert wire(diff_outlines(old, new)) == [
        {
            "operation": "update",
            "entity_type": "course",
            "entity_id": COURSE_ID,
            "data": {"grading_policy": new_policy, "other_settings": {"academic_class": "Form 3"}},
        }
    ]


def test_a_weight_set_cleared_and_set_to_zero_changes_weight_and_points():
    v1 = unit_outline("p", p={"weight": None, "points": 3.0})
    v2 = unit_outline("p", p={"weight": 2.0, "points": 2.0})
    v3 = unit_outline("p", p={"weight": None, "points": 3.0})
    v4 = unit_outline("p", p={"weight": 0.0, "points": 0.0})
    data = [op["data"] for old, new in ((v1, v2), (v2, v3), (v3, v4)) for op in wire(diff_outlines(old, new))]
    assert data == [{"weight": 2.0, "points": 2.0}, {"weight": None, "points": 3.0}, {"weight": 0.0, "points": 0.0}]


def test_the_upgrade_from_a_revision_1_snapshot_sends_the_new_fields_as_updates():
    current = make_outline(
        node("topic", "t", node("subtopic", "s", node("unit", "u", node("assessment", "a"), node("assessment", "b")))),
        description=None,
    )
    # What revision 1 stored: the same entities without the revision-2 fields.
    document = json.loads(snapshot_to_json(current))
    revision_1_fields = {
        "course": ["title", "org", "number", "run", "start", "end", "language", "self_paced"],
        "assessment": ["title", "block_type", "weight", "graded"],
    }
    for row in document["rows"]:
        if row[0] in revision_1_fields:
            stored = dict(zip(document["fields"][row[0]], row[4:]))
            row[4:] = [stored[name] for name in revision_1_fields[row[0]]]
    document["fields"].update(revision_1_fields)
    old = snapshot_from_json(json.dumps(document))
    assert old.entities[COURSE_ID].data["description"] is UNSENT

    operations = diff_outlines(old, current)
    assert sorted((op["entity_type"], sorted(op["data"])) for op in wire(operations)) == [
        ("assessment", ["points", "selection"]),
        ("assessment", ["points", "selection"]),
        ("course", ["description", "grading_policy", "other_settings"]),  # a null description too
    ]
    assert all(op.operation.value == "update" for op in operations)
    # Stored before they were applied (a failed batch), the unsent fields stay unsent.
    assert snapshot_from_json(snapshot_to_json(old)).entities[COURSE_ID].data["description"] is UNSENT
    assert diff_outlines(advance_snapshot(old, operations), current) == []


def test_an_unsent_field_survives_a_checkpoint_round_trip_next_to_json_values():
    entity = Entity(
        COURSE, COURSE_ID, None, None, ("T", "o", "n", "r", None, None, None, False, UNSENT, None, {"a": [1]})
    )
    snapshot = CourseOutline(COURSE_ID, {COURSE_ID: entity})
    again = snapshot_from_json(snapshot_to_json(snapshot)).entities[COURSE_ID]
    assert again.values == entity.values
