"""build_outline: the published outline read from the modulestore (stand-in), odd content included."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from olx_modulestore import OlxCourseBuilder, OlxModuleStore
from opaque_keys.edx.locator import CourseLocator

from tests.conftest import DEMO_COURSE_ID, SAMPLE_COURSE, SAMPLE_COURSE_ID, require_demo_course
from virtu_sync_plugin import api
from virtu_sync_plugin.modulestore import outline_from_course_block

pytestmark = pytest.mark.django_db  # publishing reaches the plugin's receivers

BLOCK_TYPES = ("problem", "openassessment", "drag-and-drop-v2", "lti_consumer", "lti", "staffgradedxblock", "edx_sga")


def block(block_type, url_name, course=SAMPLE_COURSE_ID):
    return f"block-v1:{course.partition(':')[2]}+type@{block_type}+block@{url_name}"


@pytest.fixture
def sample_outline(studio):
    studio.publish_export(SAMPLE_COURSE)
    return api.build_outline(SAMPLE_COURSE_ID)


def test_the_sample_course_becomes_the_contract_entities(sample_outline):
    entities = sample_outline.entities
    assert sample_outline.counts() == {"course": 1, "topic": 3, "subtopic": 7, "unit": 11, "assessment": 10}
    assert entities[SAMPLE_COURSE_ID].data == {
        "title": "Foundations of Mathematics",
        "org": "VirtuX",
        "number": "MATH101",
        "run": "2026",
        "start": "2026-09-01T08:00:00Z",
        "end": "2026-12-18T17:00:00Z",
        "language": "en",
        "self_paced": False,
    }
    homework = entities[block("sequential", "algebra_homework")]
    assert (homework.parent_id, homework.position) == (block("chapter", "algebra"), 1)
    assert homework.data == {
        "title": "Homework: Equations",
        "start": "2026-09-01T08:00:00Z",  # inherited from the course
        "due": "2026-10-25T23:59:00Z",
        "graded": True,
        "format": "Homework",
        "visible_to_staff_only": False,
        "hide_from_toc": False,
    }
    # Inherited from the staff-only subsection.
    assert entities[block("vertical", "staff_notes")].data["visible_to_staff_only"] is True
    # Graded is inherited by the problems of a graded subsection; weight is not inherited.
    assert entities[block("problem", "fraction_sum")].data == {
        "title": "Add two fractions",
        "block_type": "problem",
        "weight": 2.0,
        "graded": True,
    }
    assert entities[block("problem", "place_value_check")].data["weight"] is None


def test_assessments_inside_containers_belong_to_the_unit_in_pre_order(sample_outline):
    bank = [sample_outline.entities[block("problem", name)] for name in ("bank_evaluate", "bank_simplify")]
    assert [(entity.parent_id, entity.position) for entity in bank] == [
        (block("vertical", "expr_practice"), 0),
        (block("vertical", "expr_practice"), 1),
    ]
    assert block("library_content", "expr_bank") not in sample_outline.entities
    assert block("html", "expr_text") not in sample_outline.entities


def test_only_the_published_branch_is_read(sample_outline, studio):
    assert block("vertical", "numbers_extra") not in sample_outline.entities
    course_key = CourseLocator.from_string(SAMPLE_COURSE_ID)
    draft = studio.get_course(course_key, depth=None)  # Studio's default branch: drafts
    drafts = [child.location.block_id for seq in draft.get_children()[0].get_children() for child in seq.get_children()]
    assert "numbers_extra" in drafts


def test_a_unit_without_display_name_is_titled_by_its_id_and_reported(sample_outline):
    assert sample_outline.entities[block("vertical", "numbers_practice")].data["title"] == "numbers practice"
    assert [(error.code, error.block_id) for error in sample_outline.content_errors] == [
        ("missing_display_name", block("vertical", "numbers_practice"))
    ]


def test_the_demo_course_counts_match_the_export(studio):
    studio.publish_export(require_demo_course())
    outline = api.build_outline(DEMO_COURSE_ID)
    counts = outline.counts()
    # From the export: 6 chapters, 17 sequentials, 58 verticals.
    assert (counts["course"], counts["topic"], counts["subtopic"], counts["unit"]) == (1, 6, 17, 58)
    assessments = [entity for entity in outline.entities.values() if entity.entity_type.name == "assessment"]
    by_type = {}
    for entity in assessments:
        by_type[entity.data["block_type"]] = by_type.get(entity.data["block_type"], 0) + 1
    # 23 problems in units and 6 inside the library_content; 2 LTI components; the rest one or two each.
    assert by_type == {
        "problem": 29,
        "lti": 2,
        "openassessment": 2,
        "drag-and-drop-v2": 1,
        "edx_sga": 1,
        "staffgradedxblock": 1,
    }
    assert outline.entities[DEMO_COURSE_ID].data["start"] == "2020-01-01T00:00:00Z"
    assert outline.entities[DEMO_COURSE_ID].data["self_paced"] is True
    assert all(entity.parent_id in outline.entities for entity in assessments)


def test_a_course_missing_from_the_modulestore_is_none(studio):
    assert api.build_outline("course-v1:VirtuX+NOPE+2026") is None


@pytest.mark.parametrize("bad", ["nonsense", "library-v1:VirtuX+Lib", "ccx-v1:VirtuX+M+R+ccx@1", "VirtuX/M/R"])
def test_a_key_that_is_no_studio_course_is_a_clear_error(bad):
    with pytest.raises(api.InvalidCourseKeyError):
        api.build_outline(bad)


COURSE_KEY = CourseLocator("Odd", "C1", "R")


def outline_of(builder: OlxCourseBuilder):
    store = OlxModuleStore([builder.build()])
    with store.branch_setting("published-only", COURSE_KEY):
        course = store.get_course(COURSE_KEY, depth=None)
    return outline_from_course_block(course, COURSE_KEY, assessment_block_types=BLOCK_TYPES)


def odd_course():
    builder = OlxCourseBuilder(COURSE_KEY, display_name="Odd course", start=datetime(2026, 1, 1, tzinfo=UTC))
    chapter = builder.add_child(builder.root, "chapter", "ch", display_name="Chapter")
    sequential = builder.add_child(chapter, "sequential", "seq", display_name="Seq")
    unit = builder.add_child(sequential, "vertical", "unit_a", display_name="Unit A")
    return builder, chapter, sequential, unit


def test_a_block_referenced_twice_counts_once_where_it_first_appears():
    builder, chapter, sequential, unit = odd_course()
    builder.add_child(unit, "problem", "p1", display_name="P1")
    other = builder.add_child(sequential, "vertical", "unit_b", display_name="Unit B")
    builder.add_child(other, "problem", "p2", display_name="P2")
    builder.add_child(other, "problem", "p1")  # the same problem again
    builder.add_child(sequential, "vertical", "unit_a")  # the same unit again
    outline = outline_of(builder)
    p1, p2 = (
        outline.entities[block("problem", "p1", str(COURSE_KEY))],
        outline.entities[block("problem", "p2", str(COURSE_KEY))],
    )
    assert (p1.parent_id, p1.position) == (block("vertical", "unit_a", str(COURSE_KEY)), 0)
    assert (p2.parent_id, p2.position) == (block("vertical", "unit_b", str(COURSE_KEY)), 0)
    assert outline.entities[block("vertical", "unit_b", str(COURSE_KEY))].position == 1
    assert [error.code for error in outline.content_errors] == ["duplicate_child", "duplicate_child"]


def test_blocks_outside_the_normal_nesting_are_reported_not_synced():
    builder, chapter, sequential, unit = odd_course()
    stray = builder.add_child(chapter, "vertical", "stray", display_name="Stray unit")
    builder.add_child(stray, "problem", "stray_problem")
    builder.add_child(builder.root, "html", "loose", display_name="Loose html")
    builder.add_child(unit, "mystery_xblock", "m1", display_name="Unknown type")
    outline = outline_of(builder)
    assert outline.counts() == {"course": 1, "topic": 1, "subtopic": 1, "unit": 1}
    assert {(error.code, error.block_id.rpartition("@")[2]) for error in outline.content_errors} == {
        ("unexpected_block", "stray"),
        ("unexpected_block", "loose"),
    }


def test_odd_values_are_cleaned_and_reported():
    builder, chapter, sequential, unit = odd_course()
    long_title = "Ω" * 10_000
    builder.add_child(unit, "problem", "bell", display_name="Ring\x07 the\x00bell\n🙂")
    builder.add_child(unit, "problem", "nan", display_name="NaN weight", weight=math.nan)
    builder.add_child(unit, "problem", "long", display_name=long_title)
    builder.add_child(sequential, "vertical", "no_name")
    outline = outline_of(builder)
    titles = {entity.entity_id.rpartition("@")[2]: entity.data["title"] for entity in outline.entities.values()}
    assert titles["bell"] == "Ring  the bell 🙂"
    assert titles["long"] == long_title
    assert titles["no_name"] == "no name"
    assert outline.entities[block("problem", "nan", str(COURSE_KEY))].data["weight"] is None
    assert sorted(error.code for error in outline.content_errors) == [
        "bad_value",
        "control_characters",
        "missing_display_name",
    ]


def test_dates_are_utc_seconds_with_z_and_default_start_is_2030():
    builder = OlxCourseBuilder(COURSE_KEY, display_name="Dates")
    eastern = timezone(timedelta(hours=-5))
    chapter = builder.add_child(
        builder.root, "chapter", "ch", start=datetime(2026, 3, 1, 7, 30, 15, 999, tzinfo=eastern)
    )
    builder.add_child(chapter, "sequential", "seq", due=datetime(2026, 4, 1, 23, 59))  # naive: taken as UTC
    builder.add_child(builder.root, "chapter", "unscheduled")
    outline = outline_of(builder)
    entities = outline.entities
    assert entities[str(COURSE_KEY)].data["start"] == "2030-01-01T00:00:00Z"
    assert entities[block("chapter", "ch", str(COURSE_KEY))].data["start"] == "2026-03-01T12:30:15Z"
    sequential = entities[block("sequential", "seq", str(COURSE_KEY))].data
    assert (sequential["start"], sequential["due"]) == ("2026-03-01T12:30:15Z", "2026-04-01T23:59:00Z")
    assert entities[block("chapter", "unscheduled", str(COURSE_KEY))].data["start"] == "2030-01-01T00:00:00Z"


def test_a_course_with_only_a_course_block():
    outline = outline_of(OlxCourseBuilder(COURSE_KEY, display_name="Empty"))
    assert list(outline.entities) == [str(COURSE_KEY)]
    assert outline.content_errors == ()
