"""
Revision 2 read through the stand-in modulestore: what Studio means, and blocks that do not load.

Each course is built with ``OlxCourseBuilder``, served by the ``studio`` stand-in and read
with ``api.build_outline``; diffs go through ``api.diff_outlines`` alone.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from olx_modulestore import OlxCourseBuilder
from opaque_keys.edx.locator import CourseLocator, LibraryLocator

from virtu_sync_plugin import api
from virtu_sync_plugin.core.snapshot import advance_snapshot

pytestmark = pytest.mark.django_db

KEY = CourseLocator("VirtuX", "R2", "2026")
COURSE_ID = str(KEY)


def bid(block_type, name):
    return f"block-v1:VirtuX+R2+2026+type@{block_type}+block@{name}"


def course():
    builder = OlxCourseBuilder(KEY, display_name="Revision 2", start=datetime(2026, 9, 1, tzinfo=UTC))
    chapter = builder.add_child(builder.root, "chapter", "ch", display_name="Chapter")
    sequential = builder.add_child(chapter, "sequential", "seq", display_name="Seq", graded=True, format="Homework")
    unit = builder.add_child(sequential, "vertical", "unit", display_name="Unit")
    return builder, chapter, sequential, unit


def read(studio, builder):
    studio.add_course(builder.build())
    return api.build_outline(KEY)


def assessments(outline):
    return {
        entity_id: entity for entity_id, entity in outline.entities.items() if entity.entity_type.name == "assessment"
    }


def ops(operations):
    return sorted((op.operation.value, op.entity_id, tuple(sorted(op.data or {}))) for op in operations)


def test_a_problem_bank_of_ten_with_count_two_inside_a_unit(studio):
    builder, _, _, unit = course()
    builder.add_problem(unit, "before")
    builder.add_problem_bank(unit, "bank", count=2, problems=10, block_type="itembank")
    builder.add_problem(unit, "after", responses=3)
    outline = read(studio, builder)
    found = assessments(outline)
    assert len(found) == 12
    selection = [{"kind": "random", "container_id": bid("itembank", "bank"), "count": 2}]
    for number in range(10):
        entity = found[bid("problem", f"bank_p{number}")]
        assert (entity.parent_id, entity.position) == (bid("vertical", "unit"), number + 1)
        assert entity.data["selection"] == selection and entity.data["points"] == 1.0
    assert found[bid("problem", "before")].data["selection"] == []
    assert (found[bid("problem", "after")].position, found[bid("problem", "after")].data["points"]) == (11, 3.0)
    assert bid("itembank", "bank") not in outline.entities


def test_an_experiment_with_two_groups_and_an_orphan_child(studio):
    builder, _, _, unit = course()
    builder.add_user_partition(50, "Experiment A/B", {0: "Control", 1: "Variant"})
    experiment = builder.add_split_test(unit, "exp", user_partition_id=50, groups={0: "vert_a", 1: "vert_b"})
    builder.add_problem(bid_key(builder, "vertical", "vert_a"), "pa")
    builder.add_problem(bid_key(builder, "vertical", "vert_b"), "pb")
    orphan = builder.add_child(experiment, "vertical", "orphan")
    builder.add_problem(orphan, "po")
    outline = read(studio, builder)
    found = assessments(outline)
    assert set(found) == {bid("problem", "pa"), bid("problem", "pb")}  # the orphan's is seen by nobody
    assert found[bid("problem", "pa")].data["selection"] == [
        {"kind": "group", "container_id": bid("split_test", "exp"), "group_id": "0", "group_name": "Control"}
    ]
    assert found[bid("problem", "pb")].data["selection"][0]["group_name"] == "Variant"
    assert [found[bid("problem", name)].position for name in ("pa", "pb")] == [0, 1]
    assert ("orphan_experiment_child", bid("vertical", "orphan")) in {
        (error.code, error.block_id) for error in outline.content_errors
    }

    # Hand-edited: both groups point at vert_a; the smallest id names it; vert_b is now an orphan.
    builder.set_group_child(experiment, 1, bid_key(builder, "vertical", "vert_a"))
    found = assessments(read(studio, builder))
    assert set(found) == {bid("problem", "pa")}
    assert found[bid("problem", "pa")].data["selection"][0]["group_id"] == "0"


def bid_key(builder, block_type, name):
    """The builder's key of an existing block."""
    from olx_modulestore import BlockKey

    return BlockKey(block_type, name)


def test_an_unscored_lti_turned_scored_and_back(studio):
    builder, _, _, unit = course()
    lti = builder.add_child(unit, "lti_consumer", "tool", display_name="Tool", has_score=False)
    first = read(studio, builder)
    assert bid("lti_consumer", "tool") not in first.entities
    builder.set_fields(lti, has_score=True, weight=4.0)
    scored = read(studio, builder)
    assert ops(api.diff_outlines(first, scored)) == [
        ("create", bid("lti_consumer", "tool"), ("block_type", "graded", "points", "selection", "title", "weight"))
    ]
    assert scored.entities[bid("lti_consumer", "tool")].data["points"] == 4.0
    builder.set_fields(lti, has_score=False)
    assert ops(api.diff_outlines(scored, read(studio, builder))) == [("delete", bid("lti_consumer", "tool"), ())]


def test_a_weight_set_cleared_and_set_to_zero(studio):
    builder, _, _, unit = course()
    problem = builder.add_problem(unit, "p", responses=3)
    points = []
    for change in ({}, {"weight": 5.0}, None, {"weight": 0.0}):
        if change is None:
            builder.clear_fields(problem, "weight")
        else:
            builder.set_fields(problem, **change)
        data = read(studio, builder).entities[bid("problem", "p")].data
        points.append((data["weight"], data["points"]))
    assert points == [(None, 3.0), (5.0, 5.0), (None, 3.0), (0.0, 0.0)]


def test_a_max_score_that_fails_is_null_points_and_a_content_error(studio):
    builder, _, _, unit = course()
    builder.add_problem(unit, "bad", points=["abc"])
    outline = read(studio, builder)
    assert outline.entities[bid("problem", "bad")].data["points"] is None
    assert ("max_score_failed", bid("problem", "bad")) in {(e.code, e.block_id) for e in outline.content_errors}


def test_a_component_breaking_and_loading_again_across_three_publishes(studio):
    builder, _, _, unit = course()
    keys = [builder.add_problem(unit, name, display_name=name.upper()) for name in ("a", "b", "c")]
    acknowledged = read(studio, builder)

    builder.break_block(keys[1])  # publish 2: b does not load
    broken = read(studio, builder)
    assert ("unloadable_block", bid("problem", "b")) in {(e.code, e.block_id) for e in broken.content_errors}
    assert api.diff_outlines(acknowledged, broken) == []

    builder.set_children(unit, [keys[2], keys[1], keys[0]])  # publish 3: still broken, siblings reordered
    builder.set_fields(keys[0], display_name="A2")
    operations = api.diff_outlines(acknowledged, read(studio, builder))
    assert not [op for op in operations if op.operation.value != "update"]
    positions = {op.entity_id: op.position for op in operations}
    assert positions == {bid("problem", "a"): 2, bid("problem", "c"): 0}  # b keeps 1: nothing for it
    acknowledged = advance_snapshot(acknowledged, operations)

    builder.repair_block(keys[1])  # publish 4: b loads again
    builder.set_fields(keys[1], display_name="B2")
    assert ops(api.diff_outlines(acknowledged, read(studio, builder))) == [("update", bid("problem", "b"), ("title",))]


def test_a_unit_breaking_with_its_assessments_under_it(studio):
    builder, _, sequential, unit = course()
    builder.add_problem(unit, "p1")
    other = builder.add_child(sequential, "vertical", "other", display_name="Other")
    builder.add_problem(other, "p2")
    acknowledged = read(studio, builder)
    builder.break_block(unit)
    builder.set_fields(bid_key(builder, "problem", "p2"), display_name="Renamed")
    operations = api.diff_outlines(acknowledged, read(studio, builder))
    assert ops(operations) == [("update", bid("problem", "p2"), ("title",))]


def test_an_unloadable_problem_bank_freezes_its_units_assessments(studio):
    builder, _, _, unit = course()
    first = builder.add_problem(unit, "first")
    bank = builder.add_problem_bank(unit, "bank", count=1, problems=2)
    acknowledged = read(studio, builder)
    builder.break_block(bank)
    builder.set_fields(first, display_name="First renamed")
    builder.set_fields(unit, display_name="Unit renamed")
    operations = api.diff_outlines(acknowledged, read(studio, builder))
    assert ops(operations) == [("update", bid("vertical", "unit"), ("title",))]


def test_an_unloadable_text_block_leaves_its_units_assessments_syncing(studio):
    builder, _, _, unit = course()
    first = builder.add_problem(unit, "first")
    text = builder.add_child(unit, "html", "text", display_name="Text")
    acknowledged = read(studio, builder)
    builder.break_block(text)
    builder.set_fields(first, display_name="First renamed")
    builder.add_problem(unit, "second")
    operations = api.diff_outlines(acknowledged, read(studio, builder))
    assert ops(operations) == [
        ("create", bid("problem", "second"), ("block_type", "graded", "points", "selection", "title", "weight")),
        ("update", bid("problem", "first"), ("title",)),
    ]


def test_a_dangling_child_is_kept_and_published_at_falls_back_to_the_read_time(studio):
    builder, _, sequential, unit = course()
    builder.add_problem(unit, "p1")
    acknowledged = read(studio, builder)
    builder.add_dangling_child(sequential, "vertical", "ghost")
    before = datetime.now(UTC).replace(microsecond=0)
    outline = read(studio, builder)
    assert before.strftime("%Y-%m-%dT%H:%M:%SZ") <= outline.published_at
    assert ("missing_child", bid("vertical", "ghost")) in {(e.code, e.block_id) for e in outline.content_errors}
    assert api.diff_outlines(acknowledged, outline) == []


def test_an_uninstalled_xblock_type_keeps_its_assessments(studio):
    builder, _, _, unit = course()
    builder.add_child(unit, "lti_consumer", "tool", display_name="Tool", has_score=True, weight=2.0)
    acknowledged = read(studio, builder)
    studio.disabled_xblock_types = {"lti_consumer"}
    outline = read(studio, builder)
    assert bid("lti_consumer", "tool") not in outline.entities
    assert api.diff_outlines(acknowledged, outline) == []


def test_the_course_description_grading_policy_and_other_settings(studio):
    builder, _, _, _ = course()
    policy = {
        "GRADER": [{"type": "Homework", "min_count": 3, "drop_count": 1, "weight": 1.0}],
        "GRADE_CUTOFFS": {"A": 0.9, "B": 0.8},
    }
    builder.set_fields(builder.root, grading_policy=policy, other_course_settings={"examination_level": "MSCE"})
    builder.set_about("short_description", "<p>Algebra & more</p>")
    data = read(studio, builder).entities[COURSE_ID].data
    assert data["description"] == "<p>Algebra & more</p>"
    assert data["grading_policy"] == {
        "graders": [{"type": "Homework", "short_label": None, "min_count": 3, "drop_count": 1, "weight": 1.0}],
        "cutoffs": {"A": 0.9, "B": 0.8},
    }
    assert data["other_settings"] == {"examination_level": "MSCE"}
    builder.set_about("short_description", None)
    builder.clear_fields(builder.root, "other_course_settings")
    data = read(studio, builder).entities[COURSE_ID].data
    assert (data["description"], data["other_settings"]) == (None, {})


def test_a_key_with_branch_and_version_is_the_course_without_them():
    key = "course-v1:VirtuX+R2+2026+branch@published-branch+version@519665f6223ebd6980884f2b"
    assert str(api.parse_course_key(key)) == COURSE_ID


def test_library_keys_are_ignored_quietly(studio, sync_switch_on, caplog, django_capture_on_commit_callbacks):
    library = LibraryLocator("VirtuX", "shared")
    with pytest.raises(api.LibraryKeyError):
        api.parse_course_key(library)
    caplog.set_level(logging.DEBUG)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        studio.publish_library(library)
        studio.delete_course(library, user_id=1)
    assert callbacks == []  # nothing queued
    assert not ours_above_info(caplog)

    from virtu_sync_plugin import tasks

    tasks.sync_course.run(str(library))
    tasks.delete_course.run(str(library))
    assert not ours_above_info(caplog)


def ours_above_info(caplog):
    return [r for r in caplog.records if r.name.startswith("virtu_sync") and r.levelno > logging.INFO]
