"""Unit tests of the diff engine and change operations (pure core, literals only)."""

from __future__ import annotations

import itertools

import pytest

from tests.support.contract_samples import SAMPLE_FIELDS
from tests.support.outlines import COURSE_ID, apply_independently, block_id, make_outline, node
from virtu_sync_plugin.core.diff import DEFAULT_DIFF_ENGINE, LevelDiffHandler, diff_outlines
from virtu_sync_plugin.core.operations import ChangeOperation, OperationType
from virtu_sync_plugin.core.outline import (
    COURSE,
    ENTITY_TYPES,
    TOPIC,
    CourseOutline,
    Entity,
    EntityType,
    define_entity_type,
)


def wire(operations):
    """Operations in wire form without their (random) ids."""
    return [{k: v for k, v in op.to_dict().items() if k != "operation_id"} for op in operations]


def counter_ids():
    counter = itertools.count(1)
    return lambda: f"op-{next(counter)}"


def _base_spec():
    return (
        node(
            "topic",
            "algebra",
            node("subtopic", "equations", node("unit", "linear", node("assessment", "q1"), node("assessment", "q2"))),
            node("subtopic", "inequalities", node("unit", "intervals")),
        ),
        node("topic", "geometry", node("subtopic", "triangles", node("unit", "angles", node("assessment", "q3")))),
    )


BASE = make_outline(*_base_spec())


def test_diff_of_an_outline_with_itself_is_empty():
    assert diff_outlines(BASE, BASE) == []
    assert diff_outlines(BASE, make_outline(*_base_spec())) == []


def test_first_sync_creates_everything_parents_first_with_full_data():
    operations = diff_outlines(None, BASE, operation_id=counter_ids())
    assert [op.operation for op in operations] == [OperationType.CREATE] * len(BASE)
    assert sorted(op.operation_id for op in operations) == sorted(f"op-{n}" for n in range(1, len(BASE) + 1))
    assert wire(operations)[0] == {
        "operation": "create",
        "entity_type": "course",
        "entity_id": COURSE_ID,
        "parent_id": None,
        "position": None,
        "data": {
            "title": "Mathematics",
            "org": "VirtuX",
            "number": "MATH101",
            "run": "2026",
            "start": "2026-09-01T00:00:00Z",
            "end": None,
            "language": "en",
            "self_paced": False,
            "description": SAMPLE_FIELDS["course"]["description"],
            "grading_policy": SAMPLE_FIELDS["course"]["grading_policy"],
            "other_settings": SAMPLE_FIELDS["course"]["other_settings"],
        },
    }
    assert wire(operations)[1] == {
        "operation": "create",
        "entity_type": "topic",
        "entity_id": block_id("topic", "algebra"),
        "parent_id": COURSE_ID,
        "position": 0,
        "data": {
            "title": "Algebra",
            "start": "2026-09-01T00:00:00Z",
            "visible_to_staff_only": False,
            "hide_from_toc": False,
        },
    }
    assert [op.entity_type.name for op in operations] == (
        ["course"] + ["topic"] * 2 + ["subtopic"] * 3 + ["unit"] * 3 + ["assessment"] * 3
    )
    assert apply_independently({}, operations) == BASE.tree()


def test_rename_is_an_update_of_the_title_only():
    renamed = make_outline(
        node(
            "topic",
            "algebra",
            node("subtopic", "equations", node("unit", "linear", node("assessment", "q1"), node("assessment", "q2"))),
            node("subtopic", "inequalities", node("unit", "intervals", title="Intervals on the real line")),
        ),
        node("topic", "geometry", node("subtopic", "triangles", node("unit", "angles", node("assessment", "q3")))),
    )
    assert wire(diff_outlines(BASE, renamed)) == [
        {
            "operation": "update",
            "entity_type": "unit",
            "entity_id": block_id("unit", "intervals"),
            "data": {"title": "Intervals on the real line"},
        }
    ]


def test_course_field_change_is_a_course_update_without_placement():
    changed = make_outline(*_base_spec(), start="2027-01-01T00:00:00Z", self_paced=True)
    assert wire(diff_outlines(BASE, changed)) == [
        {
            "operation": "update",
            "entity_type": "course",
            "entity_id": COURSE_ID,
            "data": {"start": "2027-01-01T00:00:00Z", "self_paced": True},
        }
    ]


def test_move_to_another_parent_is_an_update_of_parent_and_position_and_shifts_siblings():
    moved = make_outline(
        node(
            "topic",
            "algebra",
            node("subtopic", "inequalities", node("unit", "intervals")),
        ),
        node(
            "topic",
            "geometry",
            node("subtopic", "triangles", node("unit", "angles", node("assessment", "q3"))),
            node("subtopic", "equations", node("unit", "linear", node("assessment", "q1"), node("assessment", "q2"))),
        ),
    )
    assert wire(diff_outlines(BASE, moved)) == [
        {
            "operation": "update",
            "entity_type": "subtopic",
            "entity_id": block_id("subtopic", "inequalities"),
            "position": 0,
            "data": {},
        },
        {
            "operation": "update",
            "entity_type": "subtopic",
            "entity_id": block_id("subtopic", "equations"),
            "parent_id": block_id("topic", "geometry"),
            "position": 1,
            "data": {},
        },
    ]


def test_move_keeping_the_same_index_still_carries_the_position():
    moved = make_outline(
        node(
            "topic",
            "algebra",
            node("subtopic", "equations", node("unit", "linear", node("assessment", "q1"), node("assessment", "q2"))),
        ),
        node(
            "topic",
            "geometry",
            node("subtopic", "triangles", node("unit", "angles", node("assessment", "q3"))),
            node("subtopic", "inequalities", node("unit", "intervals")),
        ),
    )
    move = [op for op in wire(diff_outlines(BASE, moved)) if "parent_id" in op]
    assert move == [
        {
            "operation": "update",
            "entity_type": "subtopic",
            "entity_id": block_id("subtopic", "inequalities"),
            "parent_id": block_id("topic", "geometry"),
            "position": 1,
            "data": {},
        }
    ]


def test_reorder_updates_only_entities_whose_index_changed():
    outline = make_outline(node("topic", "t", *[node("subtopic", name) for name in "abcde"]))
    reordered = make_outline(node("topic", "t", *[node("subtopic", name) for name in "aecdb"]))
    updates = wire(diff_outlines(outline, reordered))
    assert {op["entity_id"]: op["position"] for op in updates} == {
        block_id("subtopic", "e"): 1,
        block_id("subtopic", "b"): 4,
    }
    assert all(op["operation"] == "update" and "parent_id" not in op for op in updates)


def test_positions_count_siblings_of_the_same_entity_type_only():
    outline = make_outline(
        node("topic", "t", node("subtopic", "s", node("unit", "u", node("assessment", "a"), node("assessment", "b"))))
    )
    unit_id = block_id("unit", "u")
    assert outline.entities[block_id("assessment", "b")].position == 1
    assert outline.entities[unit_id].position == 0


def test_deleted_subtree_sends_one_delete_for_its_top_most_entity():
    without_algebra = make_outline(
        node("topic", "geometry", node("subtopic", "triangles", node("unit", "angles", node("assessment", "q3"))))
    )
    assert wire(diff_outlines(BASE, without_algebra)) == [
        {
            "operation": "update",
            "entity_type": "topic",
            "entity_id": block_id("topic", "geometry"),
            "position": 0,
            "data": {},
        },
        {"operation": "delete", "entity_type": "topic", "entity_id": block_id("topic", "algebra")},
    ]


def test_deleting_a_unit_deletes_only_the_unit_and_keeps_what_moved_out_of_it():
    changed = make_outline(
        node(
            "topic",
            "algebra",
            node("subtopic", "equations"),
            node("subtopic", "inequalities", node("unit", "intervals", node("assessment", "q2"))),
        ),
        node("topic", "geometry", node("subtopic", "triangles", node("unit", "angles", node("assessment", "q3")))),
    )
    operations = diff_outlines(BASE, changed)
    assert wire(operations) == [
        {
            "operation": "update",
            "entity_type": "assessment",
            "entity_id": block_id("assessment", "q2"),
            "parent_id": block_id("unit", "intervals"),
            "position": 0,
            "data": {},
        },
        {"operation": "delete", "entity_type": "unit", "entity_id": block_id("unit", "linear")},
    ]
    assert apply_independently(BASE.tree(), operations) == changed.tree()


def test_create_under_a_new_parent_and_move_into_it_keep_a_valid_order():
    changed = make_outline(
        node("topic", "algebra", node("subtopic", "inequalities", node("unit", "intervals"))),
        node("topic", "geometry", node("subtopic", "triangles", node("unit", "angles", node("assessment", "q3")))),
        node(
            "topic",
            "calculus",
            node("subtopic", "equations", node("unit", "linear", node("assessment", "q1"), node("assessment", "q2"))),
            node("subtopic", "limits", node("unit", "epsilons", node("assessment", "q9", weight=2.0, graded=True))),
        ),
    )
    operations = diff_outlines(BASE, changed)
    kinds = [op.operation for op in operations]
    assert kinds == sorted(kinds, key=[OperationType.CREATE, OperationType.UPDATE, OperationType.DELETE].index)
    assert [op.entity_id for op in operations if op.operation is OperationType.CREATE] == [
        block_id("topic", "calculus"),
        block_id("subtopic", "limits"),
        block_id("unit", "epsilons"),
        block_id("assessment", "q9"),
    ]
    assert apply_independently(BASE.tree(), operations) == changed.tree()


def test_unicode_and_very_long_titles_travel_unchanged():
    title = "Ünïcødé ∑ 数学 🙂 " * 700
    changed = make_outline(*_base_spec(), title=title)
    (update,) = diff_outlines(BASE, changed)
    assert update.to_dict()["data"] == {"title": title}
    assert len(title) > 10_000


def test_course_with_only_a_course_block():
    only_course = make_outline()
    assert wire(diff_outlines(None, only_course)) == [
        {
            "operation": "create",
            "entity_type": "course",
            "entity_id": COURSE_ID,
            "parent_id": None,
            "position": None,
            "data": only_course.entities[COURSE_ID].data,
        }
    ]
    assert diff_outlines(only_course, only_course) == []
    emptied = wire(diff_outlines(BASE, only_course))
    assert emptied == [
        {"operation": "delete", "entity_type": "topic", "entity_id": block_id("topic", "algebra")},
        {"operation": "delete", "entity_type": "topic", "entity_id": block_id("topic", "geometry")},
    ]


def test_empty_outline_creates_nothing_and_deletes_the_course():
    empty = CourseOutline(COURSE_ID)
    assert diff_outlines(None, empty) == []
    assert wire(diff_outlines(BASE, empty)) == [
        {"operation": "delete", "entity_type": "course", "entity_id": COURSE_ID}
    ]


def test_delete_wire_form_has_no_data_or_placement():
    operation = ChangeOperation("id-1", OperationType.DELETE, TOPIC, block_id("topic", "x"))
    assert operation.to_dict() == {
        "operation_id": "id-1",
        "operation": "delete",
        "entity_type": "topic",
        "entity_id": block_id("topic", "x"),
    }


@pytest.mark.parametrize("operation", diff_outlines(None, BASE)[:3] + diff_outlines(BASE, CourseOutline(COURSE_ID)))
def test_operations_read_back_from_their_wire_form(operation):
    assert ChangeOperation.from_dict(operation.to_dict()) == operation


@pytest.mark.parametrize(
    "bad",
    [
        {},
        {"operation": "create"},
        {"operation_id": "x", "operation": "upsert", "entity_type": "topic", "entity_id": "b"},
        {"operation_id": "x", "operation": "create", "entity_type": "video", "entity_id": "b"},
    ],
)
def test_reading_a_malformed_operation_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="not a change operation"):
        ChangeOperation.from_dict(bad)


def test_entity_with_wrong_fields_is_refused():
    with pytest.raises(ValueError, match="do not match"):
        Entity.from_data(COURSE, COURSE_ID, None, None, {"title": "x"})


def test_a_new_level_is_one_handler_registered_without_touching_the_others(monkeypatch):
    # Registered for this test only: the registry is global (other tests read "video" as unknown).
    monkeypatch.setitem(ENTITY_TYPES, "video", EntityType("video", ("title", "duration")))
    video = define_entity_type("video", ("title", "duration"))

    class VideoDiffHandler(LevelDiffHandler):
        entity_type = video

    engine = DEFAULT_DIFF_ENGINE.with_handler(VideoDiffHandler())
    unit_id = block_id("unit", "linear")
    video_id = unit_id.replace("type@vertical", "type@video").replace("block@linear", "block@intro")
    with_video = dict(BASE.entities)
    with_video[video_id] = Entity.from_data(video, video_id, unit_id, 0, {"title": "Intro", "duration": 93})
    new = CourseOutline(COURSE_ID, with_video)

    assert wire(engine.diff(BASE, new)) == [
        {
            "operation": "create",
            "entity_type": "video",
            "entity_id": video_id,
            "parent_id": unit_id,
            "position": 0,
            "data": {"title": "Intro", "duration": 93},
        }
    ]
    with pytest.raises(ValueError, match="no diff handler for entity type 'video'"):
        diff_outlines(BASE, new)


def test_each_entity_type_has_exactly_one_handler():
    with pytest.raises(ValueError, match="exactly one handler"):
        DEFAULT_DIFF_ENGINE.with_handler(DEFAULT_DIFF_ENGINE.chain[1])


def test_every_operation_has_its_own_id():
    new = make_outline(node("topic", "geometry", title="Shapes"), node("topic", "calculus"))
    old = make_outline(node("topic", "algebra"), node("topic", "geometry"))
    operations = diff_outlines(old, new)
    assert {op.operation for op in operations} == set(OperationType)
    ids = [op.operation_id for op in operations]
    assert all(isinstance(operation_id, str) and operation_id for operation_id in ids)
    assert len(set(ids)) == len(ids)


def test_an_entity_type_without_a_handler_is_refused_even_when_unchanged(monkeypatch):
    monkeypatch.setitem(ENTITY_TYPES, "video", EntityType("video", ("title",)))
    video = define_entity_type("video", ("title",))
    video_id = block_id("unit", "linear").replace("type@vertical", "type@video")
    entities = dict(BASE.entities)
    entities[video_id] = Entity.from_data(video, video_id, block_id("unit", "linear"), 0, {"title": "Intro"})
    outline = CourseOutline(COURSE_ID, entities)
    with pytest.raises(ValueError, match="no diff handler for entity type 'video'"):
        diff_outlines(outline, CourseOutline(COURSE_ID, dict(entities)))


def test_an_entity_type_is_registered_once_by_name():
    try:
        podcast = define_entity_type("podcast", ("title",))
        assert ENTITY_TYPES["podcast"] is podcast
        assert define_entity_type("podcast", ("title",)) is podcast
        with pytest.raises(ValueError, match=r"entity type 'podcast' is already defined with fields \('title',\)"):
            define_entity_type("podcast", ("title", "duration"))
    finally:
        ENTITY_TYPES.pop("podcast", None)  # the registry is global
