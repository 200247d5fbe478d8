"""
The one adapter to edx-platform's modulestore.

It reads a course's published blocks and turns them into a
:class:`~virtu_sync_plugin.core.outline.CourseOutline`.

edx-platform is imported lazily, inside the functions that read from it, so the package
imports without it. Reading has no side effects and is forgiving: odd content (a block
without a display name, a duplicate or missing child, a block outside the normal
nesting, a bad value) becomes a :class:`ContentError` on the outline, never an
exception. The output is strict: every entity has exactly its contract fields, in wire
form.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from opaque_keys.edx.locator import BlockUsageLocator, CourseLocator

from .core.outline import (
    ASSESSMENT,
    COURSE,
    SUBTOPIC,
    TOPIC,
    UNIT,
    ContentError,
    CourseOutline,
    Entity,
    EntityType,
    FieldValue,
)

#: Block types of the structural levels, by the entity type they become.
TOPIC_BLOCK_TYPE = "chapter"
SUBTOPIC_BLOCK_TYPE = "sequential"
UNIT_BLOCK_TYPE = "vertical"
#: What edx-platform loads in place of a block whose definition cannot be loaded.
ERROR_BLOCK_TYPE = "error"
#: The block class of a type with no installed XBlock, in an import (``ImportManager``'s default).
_IMPORT_DEFAULT_CLASS = "xmodule.hidden_block.HiddenBlock"
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def read_published_course(course_key: CourseLocator) -> Any | None:
    """
    The course block of the course's **published** branch, or ``None`` for an unknown course.

    The whole tree is loaded.

    ``get_course`` ignores ``revision=``, and Studio reads drafts by default, so the
    published branch is selected with ``branch_setting``.
    """
    from xmodule.modulestore import ModuleStoreEnum  # pylint: disable=import-outside-toplevel
    from xmodule.modulestore.django import modulestore  # pylint: disable=import-outside-toplevel

    store = modulestore()
    with store.branch_setting(ModuleStoreEnum.Branch.published_only, course_key):
        return store.get_course(course_key, depth=None)


def read_course_export(data_dir: str | os.PathLike, course_dir: str) -> Any:
    """
    The course block of the export in ``data_dir/course_dir``, read as Studio's import reads it.

    edx-platform's own reader, ``XMLModuleStore``, with the arguments of
    ``xml_importer.ImportManager`` in Studio's import task: the published content only (an
    import sends ``drafts/`` to the draft branch), the settings' XBlock mixins, and no
    error blocks (a block that does not parse is left out of its parent, as after an import).
    Keys are old-style (``org/course/run``). Raises whatever loading the course raises.
    """
    from django.conf import settings  # pylint: disable=import-outside-toplevel
    from xmodule.modulestore.xml import XMLModuleStore  # pylint: disable=import-outside-toplevel

    store = XMLModuleStore(
        data_dir,
        default_class=_IMPORT_DEFAULT_CLASS,
        source_dirs=[course_dir],
        load_error_blocks=False,
        xblock_mixins=getattr(settings, "XBLOCK_MIXINS", ()),
        xblock_select=getattr(settings, "XBLOCK_SELECT_FUNCTION", None),
    )
    (course_block,) = store.get_courses()
    return course_block


def course_keys_in_modulestore() -> Iterator[CourseLocator]:
    """The keys of every course in the modulestore (summaries only: no course is loaded)."""
    from xmodule.modulestore.django import modulestore  # pylint: disable=import-outside-toplevel

    for summary in modulestore().get_course_summaries():
        yield summary.id


def outline_from_course_block(
    course_block: Any,
    course_key: CourseLocator,
    *,
    assessment_block_types: Iterable[str],
    read_at: datetime | None = None,
) -> CourseOutline:
    """Turn a loaded course block tree into an outline (no side effects)."""
    return _OutlineReader(course_key, frozenset(assessment_block_types)).read(course_block, read_at)


class _OutlineReader:
    """One pass over a course's block tree, in edX pre-order."""

    def __init__(self, course_key: CourseLocator, assessment_block_types: frozenset[str]):
        self.course_key = course_key
        self.assessment_block_types = assessment_block_types
        self.entities: dict[str, Entity] = {}
        self.errors: list[ContentError] = []
        self._seen: set[str] = set()
        # What every block id of the course starts with, as ``str(key.map_into_course(course_key))``
        # writes it: mapping keys through opaque_keys costs ~30 µs a block (half of a read).
        probe = course_key.make_usage_key("t", "b")
        self._id_prefix = str(probe)[: -len("t+block@b")] if type(probe) is BlockUsageLocator else None

    def read(self, course: Any, read_at: datetime | None) -> CourseOutline:
        course_id = str(self.course_key)
        self._seen.add(course_id)
        self._add(
            COURSE,
            course_id,
            None,
            None,
            (
                self._title(course, course_id),
                self.course_key.org,
                self.course_key.course,
                self.course_key.run,
                self._date(course, "start", course_id),
                self._date(course, "end", course_id),
                _optional_text(getattr(course, "language", None)),
                bool(getattr(course, "self_paced", False)),
            ),
        )
        for topic_id, chapter in self._placed_children(course, course_id, TOPIC_BLOCK_TYPE):
            for subtopic_id, sequential in self._placed_children(chapter, topic_id, SUBTOPIC_BLOCK_TYPE):
                for unit_id, vertical in self._placed_children(sequential, subtopic_id, UNIT_BLOCK_TYPE):
                    self._read_assessments(vertical, unit_id)
        published = _subtree_edited_on(course)
        published_at = _iso(published) if isinstance(published, datetime) else _iso(read_at or datetime.now(UTC))
        return CourseOutline(course_id, self.entities, tuple(self.errors), published_at)

    def _placed_children(self, parent: Any, parent_id: str, block_type: str) -> Iterator[tuple[str, Any]]:
        """Children of the expected block type, each made an entity (then the caller descends)."""
        position = 0
        for child_id, child in self._new_children(parent, parent_id):
            child_type = _block_type(child)
            if child_type != block_type:
                self._error(
                    "unexpected_block",
                    child_id,
                    f"a {child_type} directly under {parent_id} is outside the normal nesting "
                    f"(expected {block_type}); it and its content are not synced",
                )
                continue
            self._add_structural(child, child_id, parent_id, position)
            position += 1
            yield child_id, child

    def _add_structural(self, block: Any, block_id: str, parent_id: str, position: int) -> None:
        title = self._title(block, block_id)
        staff_only = bool(getattr(block, "visible_to_staff_only", False))
        hidden = bool(getattr(block, "hide_from_toc", False))
        block_type = _block_type(block)
        if block_type == TOPIC_BLOCK_TYPE:
            values: tuple[FieldValue, ...] = (title, self._date(block, "start", block_id), staff_only, hidden)
            self._add(TOPIC, block_id, parent_id, position, values)
        elif block_type == SUBTOPIC_BLOCK_TYPE:
            values = (
                title,
                self._date(block, "start", block_id),
                self._date(block, "due", block_id),
                bool(getattr(block, "graded", False)),
                _optional_text(getattr(block, "format", None)),
                staff_only,
                hidden,
            )
            self._add(SUBTOPIC, block_id, parent_id, position, values)
        else:
            self._add(UNIT, block_id, parent_id, position, (title, staff_only))

    def _read_assessments(self, unit: Any, unit_id: str) -> None:
        """Scorable components anywhere below the unit, in depth-first pre-order."""
        position = 0
        stack = [self._new_children(unit, unit_id)]
        while stack:
            child = next(stack[-1], None)
            if child is None:
                stack.pop()
                continue
            block_id, block = child
            block_type = _block_type(block)
            if block_type in self.assessment_block_types:
                values = (
                    self._title(block, block_id),
                    block_type,
                    self._weight(block, block_id),
                    bool(getattr(block, "graded", False)),
                )
                self._add(ASSESSMENT, block_id, unit_id, position, values)
                position += 1
            elif getattr(block, "has_children", False):
                stack.append(self._new_children(block, block_id))

    def _new_children(self, parent: Any, parent_id: str) -> Iterator[tuple[str, Any]]:
        """Loaded children in edX order, each block once: where it first appears."""
        loaded_ids = set()
        for child in parent.get_children():
            child_id = self._block_id(child)
            loaded_ids.add(child_id)
            if child_id in self._seen:
                self._error("duplicate_child", child_id, f"referenced again under {parent_id}; counted once")
                continue
            self._seen.add(child_id)
            if _block_type(child) == ERROR_BLOCK_TYPE:
                self._error("unloadable_block", child_id, f"a child of {parent_id} could not be loaded")
                continue
            yield child_id, child
        for child_key in getattr(parent, "children", ()):
            child_id = self._id_in_course(child_key)
            if child_id not in loaded_ids:
                self._error("missing_child", child_id, f"referenced by {parent_id} but missing from the course")

    def _block_id(self, block: Any) -> str:
        return self._id_in_course(block.location)

    def _id_in_course(self, usage_key: Any) -> str:
        """``str(usage_key.map_into_course(course_key))``, without building the mapped key when it is plain."""
        if self._id_prefix is not None and type(usage_key) is BlockUsageLocator and not usage_key.deprecated:
            return f"{self._id_prefix}{usage_key.block_type}+block@{usage_key.block_id}"
        return str(usage_key.map_into_course(self.course_key))

    def _add(
        self,
        entity_type: EntityType,
        entity_id: str,
        parent_id: str | None,
        position: int | None,
        values: tuple[FieldValue, ...],
    ) -> None:
        self.entities[entity_id] = Entity(entity_type, entity_id, parent_id, position, values)

    def _title(self, block: Any, block_id: str) -> str:
        """What Studio shows: the display name, or its default (the block id, ``_`` as spaces)."""
        title = getattr(block, "display_name", None)
        if title is None or not str(title).strip():
            self._error("missing_display_name", block_id, "no display name; the block id stands in for it")
            title = getattr(block, "display_name_with_default", None)
            if title is None or not str(title).strip():
                title = block.location.block_id.replace("_", " ")
        title = str(title)
        if _CONTROL_CHARACTERS.search(title):
            self._error("control_characters", block_id, "control characters in the display name became spaces")
            title = _CONTROL_CHARACTERS.sub(" ", title)
        return title

    def _date(self, block: Any, field: str, block_id: str) -> str | None:
        value = getattr(block, field, None)
        if value is None or isinstance(value, datetime):
            return _iso(value)
        self._error("bad_value", block_id, f"{field} is not a date ({type(value).__name__}); sent as null")
        return None

    def _weight(self, block: Any, block_id: str) -> float | int | None:
        weight = getattr(block, "weight", None)
        if weight is None or (
            isinstance(weight, int | float) and not isinstance(weight, bool) and math.isfinite(weight)
        ):
            return weight
        self._error("bad_value", block_id, f"weight {weight!r} is not a finite number; sent as null")
        return None

    def _error(self, code: str, block_id: str, message: str) -> None:
        self.errors.append(ContentError(code, block_id, message))


def _subtree_edited_on(course: Any) -> Any:
    """``course.subtree_edited_on``, or None when split raises ``ItemNotFoundError`` (a dangling child)."""
    from xmodule.modulestore.exceptions import ItemNotFoundError  # pylint: disable=import-outside-toplevel

    try:
        return getattr(course, "subtree_edited_on", None)
    except ItemNotFoundError:
        return None


def _block_type(block: Any) -> str:
    return block.location.block_type


def _optional_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _iso(value: datetime | None) -> str | None:
    """A datetime as ``YYYY-MM-DDTHH:MM:SSZ`` in UTC (naive values are taken as UTC)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:{value.minute:02d}:{value.second:02d}Z"
