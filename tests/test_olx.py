"""Tests of the OLX stand-in modulestore (``olx_modulestore``): plain functions, no Django."""

from __future__ import annotations

import io
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import threading
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from olx_modulestore import (
    DEFAULT_START_DATE,
    DRAFT_BRANCH,
    DRAFT_PREFERRED,
    PUBLISHED_BRANCH,
    PUBLISHED_ONLY,
    OlxCourseBuilder,
    OlxError,
    OlxModuleStore,
    load_course_export,
    pack_export,
)
from opaque_keys.edx.keys import CourseKey
from opaque_keys.edx.locator import CourseLocator

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO_COURSE = REPO_ROOT.parent / "shared" / "olx" / "openedx-demo-course"
DEMO_KEY = CourseKey.from_string("course-v1:OpenedX+DemoX+DemoCourse")
SAMPLE_COURSE = REPO_ROOT / "demo" / "sample_course"
SAMPLE_KEY = CourseKey.from_string("course-v1:VirtuX+MATH101+2026")

needs_demo = pytest.mark.skipif(not DEMO_COURSE.is_dir(), reason=f"the demo course export is not at {DEMO_COURSE}")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def walk(block):
    """The block and its descendants, depth-first in course order, through ``get_children()``."""
    yield block
    for child in block.get_children():
        yield from walk(child)


def published_course(store: OlxModuleStore, course_key: CourseKey):
    with store.branch_setting(PUBLISHED_ONLY, course_key):
        return store.get_course(course_key, depth=None)


def block_named(course, block_id: str):
    return next(block for block in walk(course) if block.url_name == block_id)


def write_export(root: Path, files: dict[str, str]) -> Path:
    """An export folder under ``root`` made of ``files`` (relative path -> XML text)."""
    for relpath, text in files.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def tiny_export(root: Path, vertical_xml: str = '<vertical display_name="Unit"/>', **more: str) -> Path:
    """course-v1:Org+Num+Run: one chapter, one sequential, one vertical given as XML."""
    return write_export(
        root,
        {
            "course.xml": '<course url_name="Run" org="Org" course="Num"/>',
            "course/Run.xml": '<course display_name="Tiny"><chapter url_name="ch"/></course>',
            "chapter/ch.xml": '<chapter display_name="Chapter"><sequential url_name="seq"/></chapter>',
            "sequential/seq.xml": '<sequential display_name="Seq"><vertical url_name="unit"/></sequential>',
            "vertical/unit.xml": vertical_xml,
            **more,
        },
    )


def tiny_course(root: Path, vertical_xml: str = '<vertical display_name="Unit"/>', **more: str):
    export = tiny_export(root, vertical_xml, **more)
    store = OlxModuleStore([load_course_export(export)])
    return published_course(store, CourseKey.from_string("course-v1:Org+Num+Run"))


def make_tarball(path: Path, members: dict[str, bytes | None], *, links: dict[str, str] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tarball:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tarball.addfile(info, io.BytesIO(content))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tarball.addfile(info)
    return path


# The Open edX demo course ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_store():
    if not DEMO_COURSE.is_dir():
        pytest.skip(f"the demo course export is not at {DEMO_COURSE}")
    return OlxModuleStore([load_course_export(DEMO_COURSE)])


@needs_demo
def test_demo_course_has_the_published_structure(demo_store):
    course = published_course(demo_store, DEMO_KEY)

    counts = Counter(block.category for block in walk(course))
    assert (counts["chapter"], counts["sequential"], counts["vertical"]) == (6, 17, 58)
    assert (counts["problem"], counts["video"], counts["lti"], counts["library_content"]) == (29, 11, 2, 1)
    problem_parents = Counter(block.get_parent().category for block in walk(course) if block.category == "problem")
    assert problem_parents == {"vertical": 23, "library_content": 6}


@needs_demo
def test_demo_course_titles_dates_and_settings(demo_store):
    course = published_course(demo_store, DEMO_KEY)

    assert course.id == DEMO_KEY
    assert course.display_name == "Open edX Demo Course"
    assert course.start == utc(2020, 1, 1)
    assert course.start.tzinfo is not None
    assert course.end is None
    assert course.self_paced is True
    assert course.language == "en"
    assert (course.org, course.number, course.display_org_with_default) == ("OpenedX", "DemoX", "OpenedX")
    chapter_titles = [chapter.display_name_with_default for chapter in course.get_children()]
    assert chapter_titles[0] == "Module 1: Dive into the Open edX® platform!"
    assert len(set(chapter_titles)) == 6


@needs_demo
def test_demo_course_inherits_settings_from_ancestors(demo_store):
    course = published_course(demo_store, DEMO_KEY)
    graded = [block for block in walk(course) if block.category == "sequential" and block.graded]

    assert [sequential.format for sequential in graded] == [
        "Basic Assessment Tools",
        "Intermediate Assessment Tools",
        "Advanced Assessment Tools",
    ]
    for sequential in graded:
        for block in walk(sequential):
            assert block.graded is True
            assert block.start == utc(2020, 1, 1)
            assert block.self_paced is True
            if block is not sequential:
                assert block.format is None  # format is not inherited


@needs_demo
def test_demo_children_carry_branch_and_version_and_normalise(demo_store):
    course = published_course(demo_store, DEMO_KEY)
    chapter = course.get_children()[0]
    problem = next(block for block in walk(course) if block.category == "problem")

    assert course.location == DEMO_KEY.make_usage_key("course", "course")
    assert course.location.branch is None and course.location.version_guid is None
    assert len(str(course.course_version)) == 24
    for block in (chapter, problem):
        assert block.location.branch == PUBLISHED_BRANCH
        assert block.location.version_guid == course.course_version
        assert block.location.for_branch(None) == DEMO_KEY.make_usage_key(block.category, block.url_name)
        assert block.usage_key == block.location == block.scope_ids.usage_id
    assert course.children[0] == chapter.location
    assert chapter.parent == course.location.map_into_course(chapter.location.course_key)
    assert chapter.get_parent().location.for_branch(None) == course.location


@needs_demo
def test_demo_course_reads_the_same_from_a_tarball_with_a_top_level_folder(demo_store, tmp_path):
    tarball = tmp_path / "demo.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(DEMO_COURSE, arcname="openedx-demo-course")
    from_tarball = OlxModuleStore([load_course_export(tarball)])

    course = published_course(from_tarball, DEMO_KEY)
    expected = published_course(demo_store, DEMO_KEY)
    assert [block.location for block in walk(course)] == [block.location for block in walk(expected)]
    assert course.course_version == expected.course_version


# The repository's sample course ---------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_store():
    return OlxModuleStore([load_course_export(SAMPLE_COURSE)])


def test_sample_course_published_branch_ignores_drafts(sample_store):
    course = published_course(sample_store, SAMPLE_KEY)

    blocks = list(walk(course))
    assert course.id == SAMPLE_KEY
    assert len(blocks) == 40
    assert "numbers_extra" not in {block.url_name for block in blocks}
    assert {block.location.branch for block in blocks[1:]} == {PUBLISHED_BRANCH}


def test_sample_course_draft_branch_shows_the_draft_unit(sample_store):
    with sample_store.branch_setting(DRAFT_PREFERRED, SAMPLE_KEY):
        course = sample_store.get_course(SAMPLE_KEY)
    published = published_course(sample_store, SAMPLE_KEY)

    intro = block_named(course, "numbers_intro")
    assert [unit.url_name for unit in intro.get_children()] == ["numbers_welcome", "numbers_practice", "numbers_extra"]
    draft_unit = intro.get_children()[2]
    assert draft_unit.location.branch == DRAFT_BRANCH
    assert [child.display_name for child in draft_unit.get_children()] == ["Rounding tip"]
    assert len(list(walk(course))) == 42
    assert course.course_version != published.course_version


def test_default_branch_is_draft_preferred_and_a_key_branch_wins(sample_store):
    assert sample_store.get_branch_setting() == DRAFT_PREFERRED
    assert len(list(walk(sample_store.get_course(SAMPLE_KEY)))) == 42

    course = sample_store.get_course(SAMPLE_KEY.for_branch(PUBLISHED_BRANCH))
    assert len(list(walk(course))) == 40


def test_sample_course_fields(sample_store):
    course = published_course(sample_store, SAMPLE_KEY)

    assert course.display_name == "Foundations of Mathematics"
    assert (course.start, course.end) == (utc(2026, 9, 1, 8), utc(2026, 12, 18, 17))
    assert (course.language, course.self_paced) == ("en", False)
    assert course.url_name == "course"
    homework = block_named(course, "numbers_homework")
    assert (homework.graded, homework.format, homework.due) == (True, "Homework", utc(2026, 9, 20, 23, 59))
    fraction_sum = block_named(course, "fraction_sum")
    assert (fraction_sum.graded, fraction_sum.due, fraction_sum.weight) == (True, homework.due, 2.0)
    assert fraction_sum.has_score is True
    assert block_named(course, "fraction_compare").weight is None
    assert block_named(course, "number_line_dnd").weight == 1.5
    assert block_named(course, "exam_area").weight == 5.0
    unit = block_named(course, "hw_fractions")
    assert not hasattr(unit, "weight") and unit.has_score is False
    assert block_named(course, "shapes_text").start == utc(2026, 11, 2, 8)


def test_sample_course_staff_only_content_is_inherited(sample_store):
    course = published_course(sample_store, SAMPLE_KEY)

    staff = block_named(course, "algebra_staff")
    assert [block.visible_to_staff_only for block in walk(staff)] == [True, True, True]
    assert block_named(course, "algebra").visible_to_staff_only is False


def test_sample_course_titles_pointer_and_inline_blocks(sample_store):
    course = published_course(sample_store, SAMPLE_KEY)

    untitled = block_named(course, "numbers_practice")
    assert untitled.display_name is None
    assert untitled.display_name_with_default == "numbers practice"
    assert block_named(course, "place_value_note").display_name == "Place value in one minute"
    exam = block_named(course, "geometry_exam")
    assert [block.url_name for block in walk(exam)] == ["geometry_exam", "exam_part1", "exam_area", "exam_perimeter"]
    bank = block_named(course, "expr_bank")
    assert [problem.url_name for problem in bank.get_children()] == ["bank_evaluate", "bank_simplify"]


def test_course_summaries_and_listing(sample_store):
    (summary,) = sample_store.get_course_summaries()

    assert summary.id == SAMPLE_KEY
    assert summary.location == SAMPLE_KEY.make_usage_key("course", "course")
    assert summary.display_name == "Foundations of Mathematics"
    assert (summary.display_org_with_default, summary.display_number_with_default) == ("VirtuX", "MATH101")
    assert summary.end == utc(2026, 12, 18, 17)
    assert [course.id for course in sample_store.get_courses()] == [SAMPLE_KEY]


def test_unknown_course_is_none_and_keys_must_be_course_keys(sample_store):
    assert sample_store.get_course(CourseKey.from_string("course-v1:VirtuX+NOPE+2026")) is None
    assert sample_store.get_course(SAMPLE_KEY, revision="rev-opt-published-only") is not None
    with pytest.raises(AssertionError):
        sample_store.get_course(str(SAMPLE_KEY))


def test_has_course(sample_store):
    assert sample_store.has_course(SAMPLE_KEY.for_branch(DRAFT_BRANCH)) == SAMPLE_KEY
    assert sample_store.has_course(CourseKey.from_string("course-v1:virtux+math101+2026")) is None
    assert (
        sample_store.has_course(CourseKey.from_string("course-v1:virtux+math101+2026"), ignore_case=True) == SAMPLE_KEY
    )


def test_branch_setting_is_per_thread(sample_store):
    seen_in_thread = []
    with sample_store.branch_setting(PUBLISHED_ONLY, SAMPLE_KEY):
        worker = threading.Thread(target=lambda: seen_in_thread.append(sample_store.get_branch_setting()))
        worker.start()
        worker.join()
        assert sample_store.get_branch_setting() == PUBLISHED_ONLY
    assert seen_in_thread == [DRAFT_PREFERRED]
    assert sample_store.get_branch_setting() == DRAFT_PREFERRED


# Odd content ----------------------------------------------------------------------------------


def test_missing_child_file_stays_in_children_and_is_skipped_by_get_children(tmp_path, caplog):
    vertical = '<vertical><problem url_name="gone"/><html url_name="here"/></vertical>'
    with caplog.at_level(logging.WARNING, logger="olx_modulestore"):
        course = tiny_course(tmp_path, vertical, **{"html/here.xml": '<html display_name="Here"/>'})
    unit = block_named(course, "unit")

    assert [key.block_id for key in unit.children] == ["gone", "here"]
    assert [child.url_name for child in unit.get_children()] == ["here"]
    assert "problem/gone.xml is missing" in caplog.text
    assert "Unable to load item" in caplog.text


def test_duplicate_references_are_kept(tmp_path):
    vertical = '<vertical><problem url_name="p"/><problem url_name="p"/></vertical>'
    course = tiny_course(tmp_path, vertical, **{"problem/p.xml": '<problem display_name="P"/>'})
    unit = block_named(course, "unit")

    assert [key.block_id for key in unit.children] == ["p", "p"]
    first, second = unit.get_children()
    assert first is second


def test_odd_nesting_and_malformed_component_do_not_stop_the_load(tmp_path, caplog):
    export = tiny_export(
        tmp_path,
        '<vertical><problem url_name="broken"/></vertical>',
        **{
            "course/Run.xml": '<course><chapter url_name="ch"/><vertical url_name="unit"/></course>',
            "problem/broken.xml": "<problem><unclosed></problem>",
        },
    )
    with caplog.at_level(logging.WARNING, logger="olx_modulestore"):
        course = published_course(
            OlxModuleStore([load_course_export(export)]), CourseKey.from_string("course-v1:Org+Num+Run")
        )

    assert [child.category for child in course.get_children()] == ["chapter", "vertical"]
    assert course.display_name == "Empty"
    assert block_named(course, "unit").get_children() == []
    assert "problem/broken.xml is not well-formed XML" in caplog.text


def test_pointer_cycle_terminates(tmp_path):
    course = tiny_course(tmp_path, '<vertical><vertical url_name="unit"/></vertical>')

    unit = block_named(course, "unit")
    assert unit.children == [unit.location]
    assert unit.get_parent().url_name == "seq"


def test_inline_children_get_ids_like_the_importer(tmp_path):
    vertical = (
        "<vertical>"
        '<html display_name="Read me: first!">A</html>'
        "<problem><p>no name</p></problem>"
        '<video display_name="Clip" url_name="clip"/>'
        "</vertical>"
    )
    course = tiny_course(tmp_path, vertical)
    html, problem, video = block_named(course, "unit").get_children()

    assert html.url_name == "Read_me_first_"  # BlockUsageLocator.clean(display_name)
    assert problem.url_name.startswith("problem_") and len(problem.url_name) == len("problem_") + 12
    assert problem.url_name == block_named(tiny_course(tmp_path / "again", vertical), "unit").children[1].block_id
    assert video.url_name == "clip" and video.display_name == "Clip"


def test_field_values_policy_quoted_dates_and_bad_values(tmp_path, caplog):
    policy = '{"course/Run": {"start": "2026-03-01T00:00:00Z"}, "sequential/seq": {"due": "2026-04-01T12:00"}}'
    export = tiny_export(
        tmp_path,
        '<vertical start="not a date" visible_to_staff_only="True" group_access=\'{"50": [1, 2]}\'>'
        '<problem url_name="p" weight="0.5" start="&quot;2026-05-01T00:00:00+02:00&quot;" graded="yes"/>'
        "</vertical>",
        **{
            "policies/Run/policy.json": policy,
            "sequential/seq.xml": '<sequential due="2020-01-01T00:00:00Z"><vertical url_name="unit"/></sequential>',
        },
    )
    with caplog.at_level(logging.WARNING, logger="olx_modulestore"):
        course = published_course(
            OlxModuleStore([load_course_export(export)]), CourseKey.from_string("course-v1:Org+Num+Run")
        )
        unit = block_named(course, "unit")
        problem = unit.get_children()[0]

        assert course.start == utc(2026, 3, 1)
        assert unit.start == course.start  # its own start cannot be read, so it inherits
        assert "ignoring start='not a date'" in caplog.text
    assert unit.due == utc(2026, 4, 1, 12)  # the policy overrides the XML attribute
    assert unit.visible_to_staff_only is True
    assert unit.group_access == {50: [1, 2]}
    assert problem.group_access == {50: [1, 2]}
    assert problem.start == utc(2026, 4, 30, 22)
    assert problem.weight == 0.5
    assert problem.graded is False


def test_unscheduled_blocks_have_the_default_start(tmp_path):
    course = tiny_course(tmp_path)

    assert course.start == DEFAULT_START_DATE == utc(2030, 1, 1)
    assert block_named(course, "unit").start == DEFAULT_START_DATE
    assert block_named(course, "unit").due is None


def test_course_key_can_be_overridden(tmp_path):
    other = CourseKey.from_string("course-v1:Other+Key+2030")
    course = load_course_export(tiny_export(tmp_path), course_key=other.for_branch(DRAFT_BRANCH))

    assert course.id == other
    block = published_course(OlxModuleStore([course]), other)
    assert block.get_children()[0].location.course_key.for_branch(None) == other


def test_a_draft_replaces_its_published_block_and_an_orphan_draft_is_skipped(tmp_path, caplog):
    export = tiny_export(
        tmp_path,
        '<vertical display_name="Published"/>',
        **{
            "drafts/vertical/unit.xml": (
                '<vertical display_name="Edited" index_in_children_list="0" '
                'parent_url="block-v1:Org+Num+Run+type@sequential+block@seq"><html url_name="new"/></vertical>'
            ),
            "drafts/html/new.xml": '<html display_name="New"/>',
            "drafts/vertical/orphan.xml": (
                '<vertical index_in_children_list="0" parent_url="block-v1:Org+Num+Run+type@sequential+block@gone"/>'
            ),
        },
    )
    store = OlxModuleStore([load_course_export(export)])
    key = CourseKey.from_string("course-v1:Org+Num+Run")

    with caplog.at_level(logging.WARNING, logger="olx_modulestore"):
        draft_unit = block_named(store.get_course(key), "unit")
    assert draft_unit.display_name == "Edited"
    assert [child.display_name for child in draft_unit.get_children()] == ["New"]
    assert block_named(store.get_course(key), "seq").children == [draft_unit.location]
    assert "has no parent" in caplog.text
    assert block_named(published_course(store, key), "unit").display_name == "Published"


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ({"chapter/x.xml": "<chapter/>"}, "no course.xml"),
        ({"course.xml": "<course url_name="}, "course.xml is not well-formed XML"),
        ({"course.xml": '<course org="O" course="C"/>'}, "course.xml has no url_name"),
        ({"course.xml": '<course url_name="R" org="O" course="C"/>'}, "course/R.xml is missing"),
        ({"course.xml": '<course url_name="R" org="O" course="C"/>', "course/R.xml": "<course>"}, "not well-formed"),
    ],
)
def test_unreadable_exports_raise_olx_error(tmp_path, files, reason):
    export = write_export(tmp_path / "export", files)

    with pytest.raises(OlxError, match=reason) as raised:
        load_course_export(export)
    assert isinstance(raised.value, ValueError)
    assert str(export) in str(raised.value)


def test_tarballs_with_escaping_members_or_links_are_refused(tmp_path):
    course_xml = b'<course url_name="R" org="O" course="C"><chapter url_name="c"/></course>'
    escaping = make_tarball(tmp_path / "escaping.tar.gz", {"course.xml": course_xml, "../evil.xml": b"<x/>"})
    linked = make_tarball(
        tmp_path / "linked.tar.gz", {"course.xml": course_xml}, links={"chapter/c.xml": "/etc/passwd"}
    )
    absolute = make_tarball(tmp_path / "absolute.tar.gz", {"/course.xml": course_xml})
    not_gzip = tmp_path / "plain.tar.gz"
    not_gzip.write_text("not a tarball")

    with pytest.raises(OlxError, match="points outside the export"):
        load_course_export(escaping)
    with pytest.raises(OlxError, match="is a link"):
        load_course_export(linked)
    with pytest.raises(OlxError, match="points outside the export"):
        load_course_export(absolute)
    with pytest.raises(OlxError, match="not a readable .tar.gz"):
        load_course_export(not_gzip)
    assert not (tmp_path.parent / "evil.xml").exists()


def test_pointer_paths_cannot_leave_the_export(tmp_path, caplog):
    (tmp_path / "secret.xml").write_text('<problem display_name="Secret"/>')
    export = tiny_export(tmp_path / "export", '<vertical><problem url_name="..:..:secret"/></vertical>')

    with caplog.at_level(logging.WARNING, logger="olx_modulestore"):
        course = published_course(
            OlxModuleStore([load_course_export(export)]), CourseKey.from_string("course-v1:Org+Num+Run")
        )
    assert block_named(course, "unit").get_children() == []
    assert "outside the export" in caplog.text


# Courses built in memory ----------------------------------------------------------------------


def test_builder_makes_a_large_course_without_xml():
    key = CourseLocator("VirtuX", "BIG", "2026")
    builder = OlxCourseBuilder(key, display_name="Big", start=utc(2026, 1, 5))
    for chapter_number in range(10):
        chapter = builder.add_child(builder.root, "chapter", f"ch{chapter_number}")
        for sequence_number in range(10):
            sequential = builder.add_child(
                chapter, "sequential", f"s{chapter_number}_{sequence_number}", graded=True, format="Homework"
            )
            for unit_number in range(5):
                unit = builder.add_child(sequential, "vertical", f"u{chapter_number}_{sequence_number}_{unit_number}")
                for problem_number in range(9):
                    problem_id = f"p{chapter_number}_{sequence_number}_{unit_number}_{problem_number}"
                    last_problem = builder.add_child(unit, "problem", problem_id)
    store = OlxModuleStore([builder.build(edited_on=utc(2026, 2, 1))])

    course = published_course(store, key)
    blocks = list(walk(course))
    assert len(blocks) == 1 + 10 + 100 + 500 + 4500
    problem = blocks[-1]
    assert (problem.graded, problem.start, problem.display_name_with_default) == (
        True,
        utc(2026, 1, 5),
        "Blank Problem",
    )
    assert problem.subtree_edited_on == course.edited_on == utc(2026, 2, 1)
    with pytest.raises(ValueError, match="no children"):
        builder.add_child(last_problem, "html", "x")


def test_added_courses_can_be_removed():
    course = OlxCourseBuilder(CourseLocator("O", "C", "R")).build()
    store = OlxModuleStore()
    store.add_course(course)
    assert store.has_course(course.id) == course.id

    store.remove_course(course.id.for_branch(PUBLISHED_BRANCH))
    assert store.get_course(course.id) is None
    with pytest.raises(KeyError):
        store.remove_course(course.id)


# Stores over a directory of exports -----------------------------------------------------------


def test_directory_store_rescans_and_sees_replaced_exports(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    store = OlxModuleStore.from_directory(root)
    assert store.get_course_summaries() == []

    shutil.copytree(SAMPLE_COURSE, root / "math")
    first = store.get_course(SAMPLE_KEY)
    assert first.display_name == "Foundations of Mathematics"

    edited = tmp_path / "edited"
    shutil.copytree(SAMPLE_COURSE, edited)
    policy = edited / "policies" / "2026" / "policy.json"
    policy.write_text(policy.read_text().replace('"Foundations of Mathematics"', '"Mathematics, edited"'))
    staged = root / ".staged.tar.gz"
    pack_export(edited, staged)
    os.replace(staged, root / "math.tar.gz")
    shutil.rmtree(root / "math")

    second = store.get_course(SAMPLE_KEY)
    assert second.display_name == "Mathematics, edited"
    assert second.course_version != first.course_version
    (root / "math.tar.gz").unlink()
    assert store.get_course(SAMPLE_KEY) is None


def test_directory_store_sidecar_serves_an_export_under_another_key(tmp_path):
    other = CourseKey.from_string("course-v1:VirtuX+MATH101+2027")
    pack_export(SAMPLE_COURSE, tmp_path / "a.tar.gz")
    pack_export(SAMPLE_COURSE, tmp_path / "b.tar.gz")
    (tmp_path / "b.tar.gz.course_key").write_text(f"{other}\n")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "course.xml").write_text("<course")
    store = OlxModuleStore.from_directory(tmp_path)

    assert sorted(str(summary.id) for summary in store.get_course_summaries()) == [str(SAMPLE_KEY), str(other)]
    assert store.get_course(other).get_children()[0].location.course_key.for_branch(None) == other
    assert store.get_course(other).course_version != store.get_course(SAMPLE_KEY).course_version
    assert store.export_paths(other) == [tmp_path / "b.tar.gz"]


def test_another_process_reads_the_same_exports(tmp_path):
    pack_export(SAMPLE_COURSE, tmp_path / "math.tar.gz")
    script = (
        "import sys\n"
        "sys.path.insert(0, 'stand_ins')\n"
        "from opaque_keys.edx.keys import CourseKey\n"
        "from olx_modulestore import OlxModuleStore\n"
        "store = OlxModuleStore.from_directory(sys.argv[1])\n"
        "course = store.get_course(CourseKey.from_string(sys.argv[2]))\n"
        "print(course.display_name, course.course_version)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path), str(SAMPLE_KEY)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )

    course = OlxModuleStore.from_directory(tmp_path).get_course(SAMPLE_KEY)
    assert result.stdout.strip() == f"Foundations of Mathematics {course.course_version}"
