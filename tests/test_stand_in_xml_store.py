"""
The stand-in of ``xmodule.modulestore.xml.XMLModuleStore`` (``stand_ins/xmodule/modulestore/xml.py``):
the real class's constructor and reads, on the OLX reader. The preview command reads exports with it.
"""

from __future__ import annotations

import shutil

import pytest
from opaque_keys.edx.keys import CourseKey
from xmodule.modulestore import ModuleStoreEnum
from xmodule.modulestore.exceptions import ItemNotFoundError
from xmodule.modulestore.xml import XMLModuleStore

from tests.conftest import SAMPLE_COURSE

OLD_STYLE_KEY = CourseKey.from_string("VirtuX/MATH101/2026")


@pytest.fixture
def data_dir(tmp_path):
    shutil.copytree(SAMPLE_COURSE, tmp_path / "math")
    (tmp_path / "not_a_course").mkdir()
    return tmp_path


def test_it_loads_every_folder_with_a_course_xml_under_old_style_keys(data_dir):
    store = XMLModuleStore(data_dir, default_class="xmodule.hidden_block.HiddenBlock", load_error_blocks=False)

    (course,) = store.get_courses()
    assert course.id == OLD_STYLE_KEY and course.id.deprecated
    assert store.get_course(OLD_STYLE_KEY) is course
    assert store.get_course(CourseKey.from_string("course-v1:VirtuX+MATH101+2026")) is None
    assert store.has_course(CourseKey.from_string("virtux/math101/2026"), ignore_case=True) == OLD_STYLE_KEY
    assert str(course.get_children()[0].location).startswith("i4x://VirtuX/MATH101/chapter/")


def test_it_reads_the_published_content_only(data_dir):
    (course,) = XMLModuleStore(data_dir, source_dirs=["math"]).get_courses()

    numbers = course.get_children()[0]
    units = [unit.location.block_id for seq in numbers.get_children() for unit in seq.get_children()]
    assert "numbers_extra" not in units  # the draft unit under drafts/
    assert units  # but the published units are there


def test_course_ids_leave_other_courses_out(data_dir):
    assert XMLModuleStore(data_dir, course_ids=["Other/X/1"]).get_courses() == []


def test_it_is_read_only(data_dir):
    store = XMLModuleStore(data_dir)

    with store.branch_setting(ModuleStoreEnum.Branch.published_only):
        pass
    with pytest.raises(ValueError, match="ReadOnly store"), store.branch_setting("draft-preferred"):
        pass


def test_a_course_that_cannot_load_raises_out_of_the_constructor(data_dir):
    (data_dir / "math" / "course.xml").write_text('<course org="VirtuX" course="MATH101"/>')
    with pytest.raises(ValueError, match="without a 'url_name'"):
        XMLModuleStore(data_dir, source_dirs=["math"])
    with pytest.raises(FileNotFoundError):
        XMLModuleStore(data_dir, source_dirs=["not_a_course"])


def test_get_item_serves_the_course_s_about_items_and_raises_item_not_found_for_an_absent_one(data_dir):
    store = XMLModuleStore(data_dir, source_dirs=["math"])
    text = (data_dir / "math" / "about" / "short_description.html").read_text()

    about = store.get_item(OLD_STYLE_KEY.make_usage_key("about", "short_description"))

    assert about.data == text and text.startswith("Whole numbers")
    assert store.get_item(OLD_STYLE_KEY.make_usage_key("chapter", "algebra")).display_name == "Algebra Basics"
    with pytest.raises(ItemNotFoundError):
        store.get_item(OLD_STYLE_KEY.make_usage_key("about", "overview"))
    new_style_key = CourseKey.from_string("course-v1:VirtuX+MATH101+2026")
    with pytest.raises(ItemNotFoundError):  # the course is loaded here under its old-style key only
        store.get_item(new_style_key.make_usage_key("about", "short_description"))
