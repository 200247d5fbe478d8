"""
``virtu_sync_preview``: the operations between two real course exports, as a table or as
JSON lines of the wire form. Reads files only.
"""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from olx_modulestore import pack_export

from demo.export_editor import ExportEditor, edit_sample_course
from tests.conftest import DEMO_COURSE_ID, SAMPLE_COURSE, SAMPLE_COURSE_ID, data_field_problems, require_demo_course
from tests.support.openapi import assert_valid
from virtu_sync_plugin import api
from virtu_sync_plugin.export_diff import outline_of_export

OTHER_COURSE_ID = "course-v1:OtherU+MATH101+2027"


def block(block_type: str, url_name: str, course_id: str = SAMPLE_COURSE_ID) -> str:
    return f"block-v1:{course_id.partition(':')[2]}+type@{block_type}+block@{url_name}"


def preview(*arguments: str) -> str:
    out = io.StringIO()
    call_command("virtu_sync_preview", *map(str, arguments), stdout=out)
    return out.getvalue()


def table_rows(output: str) -> dict[tuple[str, str], list[str]]:
    """The table's rows by (operation, entity id), each split into its cells."""
    lines = output.splitlines()
    header, ruler = lines[0], lines[1]
    starts = [index for index, char in enumerate(ruler) if char == "-" and (index == 0 or ruler[index - 1] == " ")]
    assert header.split("  ")[0] == "operation"
    rows = {}
    for line in lines[2:]:
        if not line.strip():
            break
        cells = [line[start:end].strip() for start, end in zip(starts, [*starts[1:], None])]
        rows[(cells[0], cells[2])] = cells
    return rows


@pytest.fixture
def edited_sample(tmp_path):
    """The sample course as an author changed it in Studio."""
    editor = ExportEditor(SAMPLE_COURSE, tmp_path)
    edit_sample_course(editor)
    return editor.path


EXPECTED_SAMPLE_CHANGES = {
    ("update", block("sequential", "numbers_intro")),
    ("update", block("sequential", "algebra_expressions")),
    ("update", block("sequential", "algebra_homework")),
    ("update", block("sequential", "algebra_staff")),
    ("update", block("sequential", "geometry_shapes")),
    ("update", block("sequential", "geometry_exam")),
    ("update", block("vertical", "hw_ordering")),
    ("update", block("vertical", "hw_fractions")),
    ("delete", block("vertical", "eq_reflection")),
    ("create", block("problem", "expr_new")),
}


def test_the_table_lists_each_operation_of_an_edited_sample_course(edited_sample):
    output = preview(SAMPLE_COURSE, edited_sample)

    rows = table_rows(output)
    assert set(rows) == EXPECTED_SAMPLE_CHANGES
    assert rows[("update", block("sequential", "numbers_intro"))] == [
        "update", "subtopic", block("sequential", "numbers_intro"), "", "", "title",
    ]  # fmt: skip
    assert rows[("update", block("sequential", "algebra_expressions"))] == [
        "update", "subtopic", block("sequential", "algebra_expressions"), block("chapter", "geometry"), "0", "start",
    ]  # fmt: skip
    created = rows[("create", block("problem", "expr_new"))]
    assert (created[1], created[3], created[5]) == ("assessment", block("vertical", "expr_practice"), "(all)")
    assert rows[("delete", block("vertical", "eq_reflection"))][3:] == ["", "", ""]
    assert output.rstrip().endswith("1 create, 8 update, 1 delete")


def test_json_lines_are_the_operations_in_their_wire_form(edited_sample):
    operations = [json.loads(line) for line in preview(SAMPLE_COURSE, edited_sample, "--json").splitlines()]

    for operation in operations:
        assert_valid("Operation", operation)
    assert not data_field_problems(operations)  # the document lets a misnamed data field pass
    assert {(op["operation"], op["entity_id"]) for op in operations} == EXPECTED_SAMPLE_CHANGES
    assert [op["operation"] for op in operations] == ["create"] + ["update"] * 8 + ["delete"]  # the contract's order
    rename = next(op for op in operations if op["entity_id"] == block("sequential", "numbers_intro"))
    assert rename["data"] == {"title": "Why Numbers Really Matter"}


def test_a_tarball_reads_like_its_directory(edited_sample, tmp_path):
    tarball = tmp_path / "before.tar.gz"
    pack_export(SAMPLE_COURSE, tarball)

    assert set(table_rows(preview(tarball, edited_sample))) == EXPECTED_SAMPLE_CHANGES


def test_the_same_export_twice_sends_nothing():
    assert preview(SAMPLE_COURSE, SAMPLE_COURSE) == "No operations: a sync would send nothing.\n"
    assert preview(SAMPLE_COURSE, SAMPLE_COURSE, "--json") == ""


def test_both_exports_are_read_under_the_course_key_given(edited_sample):
    operations = api.preview_export_change(SAMPLE_COURSE, edited_sample, course_key=OTHER_COURSE_ID)
    rows = table_rows(preview(SAMPLE_COURSE, edited_sample, "--course-key", OTHER_COURSE_ID))

    assert {(op.operation.value, op.entity_id) for op in operations} == set(rows)
    assert ("update", block("sequential", "numbers_intro", OTHER_COURSE_ID)) in rows
    assert len(rows) == len(EXPECTED_SAMPLE_CHANGES)


def test_the_demo_course_against_an_edited_copy(tmp_path):
    demo = require_demo_course()
    editor = ExportEditor(demo, tmp_path)
    editor.rename("chapter", "30b3fbb840024953b2d4b2e700a53002", "Module 1: Welcome")
    editor.delete("chapter", "478db06a3afb417d87e26c0eafe5e962")  # "Conclusion", the last section

    operations = [json.loads(line) for line in preview(demo, editor.path, "--json").splitlines()]

    assert [(op["operation"], op["entity_id"], op.get("data")) for op in operations] == [
        (
            "update",
            block("chapter", "30b3fbb840024953b2d4b2e700a53002", DEMO_COURSE_ID),
            {"title": "Module 1: Welcome"},
        ),
        ("delete", block("chapter", "478db06a3afb417d87e26c0eafe5e962", DEMO_COURSE_ID), None),
    ]


def test_a_whole_course_from_nothing_to_the_demo_course(tmp_path):
    demo = require_demo_course()

    output = preview(SAMPLE_COURSE, demo)  # the sample course read as the demo course, then the demo course

    rows = table_rows(output)
    creates = [key for key in rows if key[0] == "create"]
    assert len(creates) == 6 + 17 + 58 + 36  # topics, subtopics, units, assessments: the demo course's
    assert ("update", DEMO_COURSE_ID) in rows  # same course entity, other fields
    deletes = {entity_id for operation, entity_id in rows if operation == "delete"}
    assert deletes == {block("chapter", name, DEMO_COURSE_ID) for name in ("numbers", "algebra", "geometry")}


@pytest.mark.parametrize(
    ("make_old", "message"),
    [
        (lambda tmp_path: tmp_path / "nowhere", "neither a directory nor a .tar.gz file"),
        (lambda tmp_path: tmp_path, "no course.xml"),
        (lambda tmp_path: _write(tmp_path / "broken", "course.xml", "<course url_name="), "cannot be imported"),
        (lambda tmp_path: _write(tmp_path, "broken.tar.gz", "not gzip"), "broken.tar.gz"),
    ],
)
def test_an_unreadable_export_is_a_clear_error(tmp_path, make_old, message):
    old = make_old(tmp_path)
    with pytest.raises(CommandError, match=message) as failure:
        preview(old, SAMPLE_COURSE)
    assert str(old) in str(failure.value)


def test_a_malformed_course_key_is_a_clear_error():
    with pytest.raises(CommandError, match="'MATH101' is not a course key"):
        preview(SAMPLE_COURSE, SAMPLE_COURSE, "--course-key", "MATH101")


def _write(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return folder if name == "course.xml" else folder / name


def test_revision_2_fields_and_a_problem_that_does_not_load(tmp_path):
    editor = ExportEditor(SAMPLE_COURSE, tmp_path)
    editor.set_attribute("problem", "fraction_sum", "weight", "4")
    editor.set_attribute("problem", "fraction_compare", "x-stand-in-load-error", "ImportError after an upgrade")
    editor.rename("problem", "fraction_compare", "Renamed while broken")
    lines = [json.loads(line) for line in preview(SAMPLE_COURSE, editor.path, "--json").splitlines()]
    assert [(op["operation"], op["entity_id"], op["data"]) for op in lines] == [
        ("update", block("problem", "fraction_sum"), {"weight": 4.0, "points": 4.0})
    ]  # nothing for the problem that does not load: not deleted, not renamed

    outline = outline_of_export(editor.path, None)
    assert outline.entities[block("problem", "bank_evaluate")].data["selection"] == [
        {"kind": "random", "container_id": block("library_content", "expr_bank"), "count": 1}
    ]
    assert outline.entities[SAMPLE_COURSE_ID].data["grading_policy"]["graders"][0]["type"] == "Homework"
    assert ("unloadable_block", block("problem", "fraction_compare")) in {
        (error.code, error.block_id) for error in outline.content_errors
    }


def test_the_course_description_is_the_export_s_about_short_description(tmp_path):
    editor = ExportEditor(SAMPLE_COURSE, tmp_path)
    about = editor.path / "about" / "short_description.html"
    assert outline_of_export(SAMPLE_COURSE, None).entities[SAMPLE_COURSE_ID].data["description"] == about.read_text()
    about.write_text("<p>Numbers & algebra, in Form 1.</p>")

    lines = [json.loads(line) for line in preview(SAMPLE_COURSE, editor.path, "--json").splitlines()]
    assert [(op["operation"], op["entity_id"], op["data"]) for op in lines] == [
        ("update", SAMPLE_COURSE_ID, {"description": "<p>Numbers & algebra, in Form 1.</p>"})
    ]

    about.unlink()  # no about item: no description
    assert outline_of_export(editor.path, None).entities[SAMPLE_COURSE_ID].data["description"] is None
