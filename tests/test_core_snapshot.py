"""Unit tests of snapshots: advancing by applied operations, and the stored JSON form."""

from __future__ import annotations

import json

import pytest

from tests.support.outlines import COURSE_ID, block_id, make_outline, node
from virtu_sync_plugin.core.diff import diff_outlines
from virtu_sync_plugin.core.operations import OperationType
from virtu_sync_plugin.core.outline import TOPIC, UNIT, CourseOutline, Entity
from virtu_sync_plugin.core.snapshot import (
    SnapshotFormatError,
    advance_snapshot,
    empty_snapshot,
    snapshot_from_json,
    snapshot_to_json,
    without_subtrees,
)

OUTLINE = make_outline(
    node("topic", "algebra", node("subtopic", "equations", node("unit", "linear", node("assessment", "q1")))),
    node("topic", "geometry", node("subtopic", "triangles", title="Triangles ∆ 🙂")),
)


def test_snapshot_advances_only_by_applied_operations():
    operations = diff_outlines(None, OUTLINE)
    failed = {block_id("subtopic", "equations")}
    applied = [op for op in operations if op.entity_id not in failed]
    snapshot = advance_snapshot(empty_snapshot(COURSE_ID), applied)
    assert block_id("subtopic", "equations") not in snapshot.entities
    again = diff_outlines(snapshot, OUTLINE)
    assert [(op.operation, op.entity_id) for op in again] == [(OperationType.CREATE, block_id("subtopic", "equations"))]


def test_delete_removes_the_whole_subtree_from_the_snapshot():
    operations = diff_outlines(OUTLINE, make_outline(node("topic", "geometry", node("subtopic", "triangles"))))
    snapshot = advance_snapshot(OUTLINE, operations)
    assert set(snapshot.entities) == {COURSE_ID, block_id("topic", "geometry"), block_id("subtopic", "triangles")}


def test_update_of_an_entity_the_snapshot_lacks_is_ignored():
    (update,) = diff_outlines(
        OUTLINE,
        make_outline(
            node("topic", "algebra", node("subtopic", "equations", node("unit", "linear", node("assessment", "q1")))),
            node("topic", "geometry", node("subtopic", "triangles", title="Renamed")),
        ),
    )
    without = CourseOutline(COURSE_ID, {k: v for k, v in OUTLINE.entities.items() if k != update.entity_id})
    assert advance_snapshot(without, [update]).tree() == without.tree()


def test_json_form_is_versioned_compact_and_round_trips():
    text = snapshot_to_json(OUTLINE)
    document = json.loads(text)
    assert document["format"] == "virtu-sync-snapshot" and document["version"] == 1
    assert text == json.dumps(document, ensure_ascii=False, separators=(",", ":"))  # compact
    assert "🙂" in text  # not escaped
    assert not any(row[1].startswith("block-v1:") for row in document["rows"])  # ids without the course prefix
    assert snapshot_from_json(text).tree() == OUTLINE.tree()
    assert snapshot_from_json(text.encode()).tree() == OUTLINE.tree()


def test_json_keeps_ids_outside_the_course_and_parents_the_snapshot_lacks():
    foreign_id = "block-v1:Other+X+Y+type@chapter+block@z"
    orphan_id = block_id("unit", "orphan")
    entities = dict(OUTLINE.entities)
    entities[foreign_id] = Entity(TOPIC, foreign_id, COURSE_ID, 5, ("F", None, False, False))
    entities[orphan_id] = Entity(UNIT, orphan_id, block_id("subtopic", "gone"), 0, ("Orphan", False))
    snapshot = CourseOutline(COURSE_ID, entities)
    assert snapshot_from_json(snapshot_to_json(snapshot)).tree() == snapshot.tree()


def test_fields_missing_from_an_older_stored_form_read_as_none_and_are_sent_again():
    document = json.loads(snapshot_to_json(OUTLINE))
    document["fields"]["topic"] = ["title", "start", "visible_to_staff_only"]
    document["rows"] = [row[:-1] if row[0] == "topic" else row for row in document["rows"]]
    snapshot = snapshot_from_json(json.dumps(document))
    updates = diff_outlines(snapshot, OUTLINE)
    assert {op.entity_id: dict(op.data) for op in updates} == {
        block_id("topic", "algebra"): {"hide_from_toc": False},
        block_id("topic", "geometry"): {"hide_from_toc": False},
    }


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        "{}",
        '{"format": "virtu-sync-snapshot", "version": 99}',
        '{"format": "virtu-sync-snapshot", "version": 1, "course_id": "course-v1:A+B+C", "fields": {}, '
        '"rows": [["video", "x", null, 0]]}',
        '{"format": "virtu-sync-snapshot", "version": 1, "course_id": "course-v1:A+B+C", "fields": {"topic": []}, '
        '"rows": [["topic", "chapter+block@x", 7, 0]]}',
        '{"format": "virtu-sync-snapshot", "version": 1, "course_id": "course-v1:A+B+C", "fields": {"topic": []}, '
        '"rows": [["topic", "", null, 0]]}',
    ],
)
def test_unreadable_snapshots_are_a_clear_error(text):
    with pytest.raises(SnapshotFormatError):
        snapshot_from_json(text)


def test_without_subtrees_drops_what_the_backend_lacks():
    snapshot = without_subtrees(OUTLINE, [block_id("subtopic", "equations"), "block-v1:unknown"])
    assert set(snapshot.entities) == set(OUTLINE.entities) - {
        block_id("subtopic", "equations"),
        block_id("unit", "linear"),
        block_id("assessment", "q1"),
    }


def test_updates_and_moves_advance_the_snapshot_field_by_field():
    equations = node("subtopic", "equations", node("unit", "linear", node("assessment", "q1", title="Q1, renamed")))
    new = make_outline(
        node("topic", "geometry", node("subtopic", "triangles", title="Triangles ∆ 🙂"), equations, title="Shapes"),
        node("topic", "algebra"),
    )
    operations = diff_outlines(OUTLINE, new)
    assert {op.operation for op in operations} == {OperationType.UPDATE}

    snapshot = advance_snapshot(OUTLINE, operations)

    assert snapshot.entities == new.entities  # types, ids, parents, positions and every field
    assert snapshot_from_json(snapshot_to_json(snapshot)).entities == new.entities
    assert OUTLINE.entities[block_id("topic", "algebra")].position == 0  # the snapshot advanced is left as it was


def test_every_snapshot_keeps_its_course_id():
    assert empty_snapshot(COURSE_ID).course_id == COURSE_ID
    assert advance_snapshot(OUTLINE, []).course_id == COURSE_ID
    assert without_subtrees(OUTLINE, []).course_id == COURSE_ID
    assert snapshot_from_json(snapshot_to_json(OUTLINE)).course_id == COURSE_ID


def test_json_is_utf_8_text_not_escapes():
    assert "Triangles ∆ 🙂" in snapshot_to_json(OUTLINE)


def test_creates_and_updates_after_deletes_are_still_applied():
    new = make_outline(node("topic", "geometry", title="Shapes"), node("topic", "calculus"))
    operations = diff_outlines(OUTLINE, new)
    deletes_first = sorted(operations, key=lambda op: op.operation is not OperationType.DELETE)

    snapshot = advance_snapshot(OUTLINE, deletes_first)

    assert snapshot.entities == new.entities


def test_a_snapshot_stored_children_first_reads_back_whole():
    reversed_order = CourseOutline(COURSE_ID, dict(reversed(list(OUTLINE.entities.items()))))
    assert snapshot_from_json(snapshot_to_json(reversed_order)).entities == OUTLINE.entities


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {"format": "virtu-sync-snapshot", "version": 99},
            "format 'virtu-sync-snapshot' version 99",
        ),
        ({"format": "other", "version": 1}, "unsupported snapshot format 'other' version 1"),
    ],
)
def test_an_unknown_snapshot_format_or_version_is_named(document, message):
    with pytest.raises(SnapshotFormatError, match=message):
        snapshot_from_json(json.dumps(document))
