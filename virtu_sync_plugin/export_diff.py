"""
The operations between two course exports (OLX).

Exports are read the way a sync reads a course: the published branch, the configured
assessment types. Reads files only; sends nothing.
"""

from __future__ import annotations

import os

from olx_modulestore import PUBLISHED_ONLY, OlxError, OlxModuleStore, load_course_export
from opaque_keys.edx.locator import CourseLocator

from .conf import get_sync_settings
from .core.diff import diff_outlines
from .core.operations import ChangeOperation
from .core.outline import CourseOutline
from .keys import parse_course_key
from .modulestore import outline_from_course_block


class UnreadableExportError(ValueError):
    """A course export that cannot be read: the message names the path and the reason."""


def diff_exports(
    old_path: str | os.PathLike, new_path: str | os.PathLike, *, course_key: CourseLocator | None = None
) -> list[ChangeOperation]:
    """The operations a sync sends when a course goes from export ``old_path`` to ``new_path``."""
    new = outline_of_export(new_path, course_key)
    old = outline_of_export(old_path, parse_course_key(new.course_id))
    return diff_outlines(old, new)


def outline_of_export(path: str | os.PathLike, course_key: CourseLocator | None) -> CourseOutline:
    """
    The published outline of the export at ``path`` (a directory or a ``.tar.gz``).

    Read as ``course_key`` (default: the key in its ``course.xml``).
    """
    try:
        course = load_course_export(path, course_key=course_key)
    except OlxError as error:
        raise UnreadableExportError(str(error)) from None
    store = OlxModuleStore([course])
    with store.branch_setting(PUBLISHED_ONLY):
        course_block = store.get_course(course.id, depth=None)
    block_types = get_sync_settings().assessment_block_types
    return outline_from_course_block(course_block, course.id, assessment_block_types=block_types)
