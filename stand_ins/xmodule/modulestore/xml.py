"""
Stand-in for ``xmodule.modulestore.xml``: ``XMLModuleStore``, the read-only store that reads
course exports (OLX) from folders, as Studio's import (``xml_importer.ImportManager``) does
before it writes the course into split.

Built on the OLX reader (``olx_modulestore``). As the real class, it loads every course at
construction, from ``data_dir/<source dir>/course.xml``; it reads the published content only
(the ``drafts/`` folder is the importer's business, not this store's) and the course's
``about/*.html`` items (``content_importers``); course keys are old-style
(``org/course/url_name``, blocks ``i4x://...``), and a course that cannot be loaded raises out
of the constructor. The differences are listed in ``stand_ins/README.rst``.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from pathlib import Path

from defusedxml import ElementTree
from olx_modulestore import PUBLISHED_ONLY, OlxModuleStore, load_course_export
from opaque_keys.edx.keys import CourseKey
from opaque_keys.edx.locator import BlockUsageLocator, CourseLocator

from . import COURSE_ROOT, ModuleStoreEnum
from .exceptions import ItemNotFoundError

log = logging.getLogger(__name__)


class XMLModuleStore:
    """An XML backed ModuleStore."""

    parent_xml = COURSE_ROOT

    def __init__(
        self,
        data_dir,
        default_class=None,
        source_dirs=None,
        course_ids=None,
        load_error_blocks=True,
        i18n_service=None,
        fs_service=None,
        user_service=None,
        signal_handler=None,
        target_course_id=None,
        xblock_mixins=(),
        xblock_select=None,
        **kwargs,
    ):
        self.data_dir = Path(data_dir)
        self.courses = {}  # course_dir -> course block
        self.course_stores = {}  # course key -> the OLX reader's store of that course (the real one's ``modules``)
        self.errored_courses = {}  # course_dir -> error messages
        self.default_class = default_class
        self.load_error_blocks = load_error_blocks
        self.xblock_mixins = xblock_mixins
        self.xblock_select = xblock_select
        if course_ids is not None:
            course_ids = [CourseKey.from_string(course_id) for course_id in course_ids]
        if source_dirs is None:
            source_dirs = sorted(
                d for d in os.listdir(self.data_dir) if os.path.exists(self.data_dir / d / self.parent_xml)
            )
        for course_dir in source_dirs:
            self.try_load_course(course_dir, course_ids, target_course_id)

    def try_load_course(self, course_dir, course_ids=None, target_course_id=None):
        """Load a course; a course that fails is recorded in ``errored_courses`` and its error re-raised."""
        try:
            course_block = self.load_course(course_dir, course_ids, target_course_id)
        except Exception as exc:
            msg = f'Course import {target_course_id}: ERROR: Failed to load courselike "{course_dir}": {exc}'
            log.exception(msg)
            self.errored_courses[course_dir] = [msg]
            raise
        if course_block is not None:
            self.courses[course_dir] = course_block

    def load_course(self, course_dir, course_ids, target_course_id=None):
        """The course block of ``data_dir/course_dir``, or None when ``course_ids`` leaves it out."""
        with open(self.data_dir / course_dir / self.parent_xml) as course_file:
            course_data = ElementTree.parse(course_file).getroot()
        org = course_data.get("org")
        if org is None:
            log.warning("No 'org' attribute set for courselike in %s. Using default 'edx'", course_dir)
            org = "edx"
        course = course_data.get("course")
        if course is None:
            log.warning("No 'course' attribute set for course in %s. Using default '%s'", course_dir, course_dir)
            course = course_dir
        url_name = course_data.get("url_name", course_data.get("slug"))
        course_id = self.get_id(org, course, url_name)
        if course_ids is not None and course_id not in course_ids:
            return None
        store = OlxModuleStore([load_course_export(self.data_dir / course_dir, course_key=course_id)])
        with store.branch_setting(PUBLISHED_ONLY):
            course_block = store.get_course(course_id, depth=None)
        self.course_stores[course_id] = store
        return course_block

    @staticmethod
    def get_id(org, course, url_name):
        """The old-style key of a course: ``org/course/url_name``."""
        if not url_name:
            raise ValueError("Can't load a course without a 'url_name' (or 'name') set.  Set url_name.")
        return CourseKey.from_string("/".join([org, course, url_name]))

    def get_item(self, usage_key, depth=0, **kwargs):
        """
        The block of ``usage_key``: a block of a course loaded here, or one of its about items.

        Raises:
            ItemNotFoundError: if no course loaded here has it.
        """
        store = self.course_stores.get(usage_key.course_key)
        if store is None:
            raise ItemNotFoundError(usage_key)
        with store.branch_setting(PUBLISHED_ONLY):
            return store.get_item(usage_key)

    def get_courses(self, **kwargs):
        """The course blocks loaded."""
        return list(self.courses.values())

    def get_course_summaries(self, **kwargs):
        """``get_courses()``."""
        return self.get_courses(**kwargs)

    def get_course(self, course_id, depth=0, **kwargs):
        """The course block of ``course_id``, or None (``ModuleStoreReadBase``'s linear search)."""
        assert isinstance(course_id, CourseKey)
        for course in self.get_courses(**kwargs):
            if course.id == course_id:
                return course
        return None

    def has_course(self, course_id, ignore_case=False, **kwargs):
        """The key of the course if it was loaded, else None (case-insensitive on request)."""
        assert isinstance(course_id, CourseKey)
        for course in self.get_courses():
            if course.id == course_id or (
                ignore_case
                and (course.id.org.lower(), course.id.course.lower(), course.id.run.lower())
                == (course_id.org.lower(), course_id.course.lower(), course_id.run.lower())
            ):
                return course.id
        return None

    def get_errored_courses(self):
        """course_dir -> errors, for each course that failed to load."""
        return dict(self.errored_courses)

    def make_course_key(self, org, course, run):
        """An old-style course key."""
        return CourseLocator(org, course, run, deprecated=True)

    def make_course_usage_key(self, course_key):
        """The usage key of the course block."""
        return BlockUsageLocator(course_key, "course", course_key.run)

    def get_modulestore_type(self, course_key=None):
        """None, as the real store answers."""
        return None

    @contextmanager
    def branch_setting(self, branch_setting, course_id=None):
        """Only ``published-only``: the store is read-only."""
        if branch_setting != ModuleStoreEnum.Branch.published_only:
            raise ValueError(f"Cannot set branch setting to {branch_setting} on a ReadOnly store")
        yield
