"""
Revision 2 through the whole pipeline, against the reference backend: blocks that do not load
on every path that writes (sync, full resync, verify and repair), and the upgrade from a
revision-1 snapshot.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import pytest
from olx_modulestore import BlockKey, OlxCourseBuilder
from opaque_keys.edx.locator import CourseLocator

from virtu_sync_plugin import api
from virtu_sync_plugin.models import CourseSyncState

pytestmark = pytest.mark.django_db(transaction=True)

KEY = CourseLocator("VirtuX", "R2S", "2026")
COURSE_ID = str(KEY)


def bid(block_type, name):
    return f"block-v1:VirtuX+R2S+2026+type@{block_type}+block@{name}"


def build():
    builder = OlxCourseBuilder(KEY, display_name="Pipeline", start=datetime(2026, 9, 1, tzinfo=UTC))
    chapter = builder.add_child(builder.root, "chapter", "ch", display_name="Chapter")
    sequential = builder.add_child(chapter, "sequential", "seq", display_name="Seq")
    unit = builder.add_child(sequential, "vertical", "u1", display_name="U1")
    for name in ("a", "b", "c"):
        builder.add_problem(unit, name, display_name=name.upper())
    builder.add_problem_bank(unit, "bank", count=1, problems=2)
    other = builder.add_child(sequential, "vertical", "u2", display_name="U2")
    builder.add_problem(other, "d", responses=2)
    return builder


def publish(studio, builder):
    studio.add_course(builder.build())


def sent_since(backend, count):
    return [
        (operation["operation"], operation["entity_id"], sorted(operation.get("data", {})))
        for request in backend.requests()[count:]
        if request.method == "POST"
        for operation in json.loads(request.body)["operations"]
    ]


def test_unreadable_blocks_are_left_alone_by_sync_full_resync_verify_and_repair(studio, backend):
    builder = build()
    publish(studio, builder)
    assert api.sync_course(KEY).status.value == "synced"
    acknowledged = backend.tree(COURSE_ID)

    # b and unit u2 (with d) stop loading; c moves first; a's title changes.
    builder.break_block(BlockKey("problem", "b"))
    builder.break_block(BlockKey("vertical", "u2"))
    builder.set_children(
        BlockKey("vertical", "u1"),
        [
            BlockKey("problem", "c"),
            BlockKey("problem", "a"),
            BlockKey("problem", "b"),
            BlockKey("library_content", "bank"),
        ],
    )
    builder.set_fields(BlockKey("problem", "a"), display_name="A2")
    publish(studio, builder)
    unreadable = [bid("problem", "b"), bid("vertical", "u2"), bid("problem", "d")]

    def check_left_alone(sent):
        # Nothing but their place: no create, no delete, no field.
        assert all(op[0] == "update" and op[2] == [] for op in sent if op[1] in unreadable), sent
        held = backend.tree(COURSE_ID)
        for entity_id in unreadable:
            assert held[entity_id]["data"] == acknowledged[entity_id]["data"]
            assert held[entity_id]["parent_id"] == acknowledged[entity_id]["parent_id"]

    count = len(backend.requests())
    result = api.sync_course(KEY)
    assert result.status.value == "synced"
    assert {error.block_id for error in result.content_errors} >= {bid("problem", "b"), bid("vertical", "u2")}
    sent = sent_since(backend, count)
    assert sorted(sent) == [
        ("update", bid("problem", "a"), ["title"]),
        ("update", bid("problem", "b"), []),  # its place follows the unit's list
        ("update", bid("problem", "c"), []),
    ]
    check_left_alone(sent)
    held = backend.tree(COURSE_ID)
    assert [held[bid("problem", name)]["position"] for name in ("c", "a", "b")] == [0, 1, 2]

    count = len(backend.requests())
    assert api.sync_course(KEY, force=True).status.value == "synced"  # "Full resync" and --force
    sent = sent_since(backend, count)
    assert {op[0] for op in sent} == {"create"}
    check_left_alone(sent)

    assert api.verify_course(KEY).drift == ()
    # Drift by hand on a readable entity: repaired; the unreadable ones are neither drift nor touched.
    store = backend._store
    row = store.find(COURSE_ID, bid("problem", "c"))
    store.save(COURSE_ID, dataclasses.replace(row, data={**row.data, "title": "Edited by hand"}))
    assert [drift.entity_id for drift in api.verify_course(KEY).drift] == [bid("problem", "c")]
    count = len(backend.requests())
    assert api.repair_course(KEY).status.value == "synced"
    sent = sent_since(backend, count)
    assert [op[:2] for op in sent] == [("create", bid("problem", "c"))]
    check_left_alone(sent)
    assert api.verify_course(KEY).drift == ()
    assert api.sync_course(KEY).status.value == "unchanged"

    # They load again: normal diffing resumes and the backend ends equal to the course.
    builder.repair_block(BlockKey("problem", "b"))
    builder.repair_block(BlockKey("vertical", "u2"))
    builder.set_fields(BlockKey("problem", "d"), weight=4.0)
    publish(studio, builder)
    count = len(backend.requests())
    api.sync_course(KEY)
    assert sent_since(backend, count) == [("update", bid("problem", "d"), ["points", "weight"])]
    assert backend.tree(COURSE_ID) == api.build_outline(KEY).tree()


REVISION_1_FIELDS = {
    "course": ["title", "org", "number", "run", "start", "end", "language", "self_paced"],
    "assessment": ["title", "block_type", "weight", "graded"],
}


def test_the_first_sync_after_the_upgrade_sends_the_new_fields_as_updates(studio, backend):
    builder = build()
    builder.add_child(BlockKey("vertical", "u2"), "lti_consumer", "tool", display_name="Tool", has_score=False)
    publish(studio, builder)
    api.sync_course(KEY)
    # What revision 1 left: its snapshot (without the new fields, and with the unscored LTI tool).
    state = CourseSyncState.objects.get(course_key=KEY)
    document = json.loads(state.snapshot)
    rows = document["rows"]
    for row in rows:
        if row[0] in REVISION_1_FIELDS:
            stored = dict(zip(document["fields"][row[0]], row[4:]))
            row[4:] = [stored[name] for name in REVISION_1_FIELDS[row[0]]]
    u2_row = next(index for index, row in enumerate(rows) if row[1].endswith("vertical+block@u2"))
    rows.append(["assessment", "lti_consumer+block@tool", u2_row, 1, "Tool", "lti_consumer", 1.0, False])
    document["fields"].update(REVISION_1_FIELDS)
    state.snapshot = json.dumps(document)
    state.save()

    count = len(backend.requests())
    result = api.sync_course(KEY)
    assert result.status.value == "synced"
    sent = sent_since(backend, count)
    assessments = [
        entity_id
        for entity_id, entity in api.build_outline(KEY).tree().items()
        if entity["entity_type"] == "assessment"
    ]
    assert sorted(sent) == sorted(
        [("update", COURSE_ID, ["description", "grading_policy", "other_settings"])]
        + [("update", entity_id, ["points", "selection"]) for entity_id in assessments]
        + [("delete", bid("lti_consumer", "tool"), [])]
    )
    assert api.verify_course(KEY).drift == ()
    assert api.sync_course(KEY).status.value == "unchanged"
