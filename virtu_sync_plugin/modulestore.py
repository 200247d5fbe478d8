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

Revision 2 reads values the way the platform's own code does: a component is an
assessment when its type is configured and ``getattr(block, "has_score", False)`` (as
``lms/djangoapps/grades/transformer.py``); its points are its ``weight`` when set, else
``block.max_score()``; its ``selection`` names the randomized-content
(``max_count``), experiment (``group_id_to_child``, group names from the course's
``user_partitions``) and ``conditional`` containers above it. A child key of
``parent.children`` that does not come back from ``get_children()`` (the split
modulestore puts an ``error`` block with another block id at its place, or skips a
dangling key), or that loads as ``HiddenBlock`` (its XBlock type is not installed), is
a :class:`Placeholder`: what the backend holds of it is kept.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
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
    Placeholder,
)

#: Block types of the structural levels, by the entity type they become.
TOPIC_BLOCK_TYPE = "chapter"
SUBTOPIC_BLOCK_TYPE = "sequential"
UNIT_BLOCK_TYPE = "vertical"
#: What edx-platform loads in place of a block whose definition cannot be loaded.
ERROR_BLOCK_TYPE = "error"
#: Containers that choose content per learner, by the ``selection`` kind they give.
RANDOM_BLOCK_TYPES = frozenset({"library_content", "itembank"})
GROUP_BLOCK_TYPE = "split_test"
CONDITIONAL_BLOCK_TYPE = "conditional"
#: Built-in component types that never have children (their classes keep XBlock's
#: ``has_children = False``): one that does not load cannot hide assessments.
LEAF_BLOCK_TYPES = frozenset({"html", "video", "discussion"})
#: The block class of a type with no installed XBlock, in an import (``ImportManager``'s default).
_IMPORT_DEFAULT_CLASS = "xmodule.hidden_block.HiddenBlock"
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True, slots=True)
class PublishedCourse:
    """A course as read from the published branch: its block tree and its short description."""

    block: Any
    description: str | None


def read_published_course(course_key: CourseLocator) -> PublishedCourse | None:
    """
    The course's **published** branch, or ``None`` for an unknown course (or a library).

    The whole tree is loaded.

    ``get_course`` ignores ``revision=``, and Studio reads drafts by default, so the
    published branch is selected with ``branch_setting``.
    """
    from xmodule.modulestore import ModuleStoreEnum  # pylint: disable=import-outside-toplevel
    from xmodule.modulestore.django import modulestore  # pylint: disable=import-outside-toplevel

    store = modulestore()
    with store.branch_setting(ModuleStoreEnum.Branch.published_only, course_key):
        course_block = store.get_course(course_key, depth=None)
        if course_block is None:
            return None
        return PublishedCourse(course_block, read_short_description(store, course_key))


def read_short_description(store: Any, course_key: CourseLocator) -> str | None:
    """
    The course's short description as Studio's Schedule & Details page stores it, or ``None``.

    The ``about`` item ``short_description``, read from the store's current branch the way
    ``CourseDetails.fetch_about_attribute`` reads it (``ItemNotFoundError``: none).
    """
    from xmodule.modulestore.exceptions import ItemNotFoundError  # pylint: disable=import-outside-toplevel

    try:
        about = store.get_item(course_key.make_usage_key("about", "short_description"))
    except ItemNotFoundError:
        return None
    data = getattr(about, "data", None)
    return None if data is None else str(data)


def read_course_export(data_dir: str | os.PathLike, course_dir: str) -> PublishedCourse:
    """
    The course of the export in ``data_dir/course_dir``, read as Studio's import reads it.

    edx-platform's own reader, ``XMLModuleStore``, with the arguments of
    ``xml_importer.ImportManager`` in Studio's import task: the published content only (an
    import sends ``drafts/`` to the draft branch), the XBlock mixins and selection of Studio's
    modulestore, and no error blocks (a block that does not parse is left out of its parent,
    as after an import). Its short description is the export's ``about/short_description.html``,
    read as after an import. Keys are old-style (``org/course/run``). Raises whatever loading
    the course raises.
    """
    from xmodule.modulestore.django import modulestore  # pylint: disable=import-outside-toplevel
    from xmodule.modulestore.xml import XMLModuleStore  # pylint: disable=import-outside-toplevel

    studio_store = modulestore()
    store = XMLModuleStore(
        data_dir,
        default_class=_IMPORT_DEFAULT_CLASS,
        source_dirs=[course_dir],
        load_error_blocks=False,
        xblock_mixins=studio_store.xblock_mixins,
        xblock_select=studio_store.xblock_select,
    )
    (course_block,) = store.get_courses()
    return PublishedCourse(course_block, read_short_description(store, course_block.id))


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
    description: str | None = None,
    read_at: datetime | None = None,
) -> CourseOutline:
    """Turn a loaded course block tree (and its short description) into an outline (no side effects)."""
    return _OutlineReader(course_key, frozenset(assessment_block_types)).read(course_block, description, read_at)


def _hidden_block_class() -> type | None:
    """What Studio loads a block of an XBlock type that is not installed as (``default_class``)."""
    try:
        from xmodule.hidden_block import HiddenBlock  # pylint: disable=import-outside-toplevel
    except ImportError:  # no platform here (an export read on its own)
        return None
    return HiddenBlock


#: A child as the reader walks it: its id, the block type of its key, and the block (``None``: not given).
_Child = tuple[str, str, Any]
#: The containers above a component that choose content per learner, outermost first.
_Selection = tuple[dict[str, Any], ...]
#: A child inside a unit, with the selection it is under.
_Walked = tuple[str, str, Any, _Selection]


class _OutlineReader:
    """One pass over a course's block tree, in edX pre-order."""

    def __init__(self, course_key: CourseLocator, assessment_block_types: frozenset[str]):
        self.course_key = course_key
        self.assessment_block_types = assessment_block_types
        self.entities: dict[str, Entity] = {}
        self.errors: list[ContentError] = []
        self.placeholders: list[Placeholder] = []
        self._seen: set[str] = set()
        self._hidden_class = _hidden_block_class()
        self._user_partitions: Any = ()
        # What every block id of the course starts with, as ``str(key.map_into_course(course_key))``
        # writes it: mapping keys through opaque_keys costs ~30 µs a block (half of a read).
        probe = course_key.make_usage_key("t", "b")
        self._id_prefix = str(probe)[: -len("t+block@b")] if type(probe) is BlockUsageLocator else None

    def read(self, course: Any, description: str | None, read_at: datetime | None) -> CourseOutline:
        course_id = str(self.course_key)
        self._seen.add(course_id)
        self._user_partitions = getattr(course, "user_partitions", None) or ()
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
                description,
                self._grading_policy(course, course_id),
                self._other_settings(course, course_id),
            ),
        )
        for topic_id, chapter in self._placed_children(course, course_id, TOPIC_BLOCK_TYPE):
            for subtopic_id, sequential in self._placed_children(chapter, topic_id, SUBTOPIC_BLOCK_TYPE):
                for unit_id, vertical in self._placed_children(sequential, subtopic_id, UNIT_BLOCK_TYPE):
                    self._read_assessments(vertical, unit_id)
        published_at = self._published_at(course, read_at)
        return CourseOutline(course_id, self.entities, tuple(self.errors), published_at, tuple(self.placeholders))

    def _published_at(self, course: Any, read_at: datetime | None) -> str | None:
        """The published version's edit time; the read time when there is none or it cannot be computed."""
        from xmodule.modulestore.exceptions import ItemNotFoundError  # pylint: disable=import-outside-toplevel

        try:
            published = getattr(course, "subtree_edited_on", None)
        except ItemNotFoundError as error:  # split raises it when the structure holds a dangling child
            self._error("published_at_unknown", str(self.course_key), f"subtree_edited_on failed ({error!r})")
            published = None
        return _iso(published) if isinstance(published, datetime) else _iso(read_at or datetime.now(UTC))

    def _placed_children(self, parent: Any, parent_id: str, block_type: str) -> Iterator[tuple[str, Any]]:
        """Children of the expected block type, each made an entity (then the caller descends)."""
        position = 0
        for child_id, child_type, child in self._new_children(parent, parent_id):
            if child is None:
                if child_type == block_type:
                    self.placeholders.append(Placeholder(child_id, parent_id, position))
                continue
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
        """Scored components anywhere below the unit, in depth-first pre-order, with their selection."""
        position = 0
        stack = [self._inside(unit, unit_id, UNIT_BLOCK_TYPE, ())]
        while stack:
            child = next(stack[-1], None)
            if child is None:
                stack.pop()
                continue
            block_id, block_type, block, selection = child
            if block is None:
                may_hold = block_type not in self.assessment_block_types | LEAF_BLOCK_TYPES
                self.placeholders.append(Placeholder(block_id, unit_id, position, may_hold))
                continue
            if block_type in self.assessment_block_types and getattr(block, "has_score", False):
                weight = self._weight(block, block_id)
                values = (
                    self._title(block, block_id),
                    block_type,
                    weight,
                    bool(getattr(block, "graded", False)),
                    self._points(block, block_id, weight),
                    list(selection),
                )
                self._add(ASSESSMENT, block_id, unit_id, position, values)
                position += 1
            elif getattr(block, "has_children", False):
                stack.append(self._inside(block, block_id, block_type, selection))

    def _inside(self, block: Any, block_id: str, block_type: str, selection: _Selection) -> Iterator[_Walked]:
        """The children of a block in a unit (or of the unit), each with the selection it is under."""
        children = self._new_children(block, block_id)
        if block_type in RANDOM_BLOCK_TYPES:
            element = {"kind": "random", "container_id": block_id, "count": self._count(block, block_id)}
            selection = (*selection, element)
        elif block_type == CONDITIONAL_BLOCK_TYPE:
            selection = (*selection, {"kind": "conditional", "container_id": block_id})
        elif block_type == GROUP_BLOCK_TYPE:
            return self._group_children(block, block_id, children, selection)
        return ((child_id, child_type, child, selection) for child_id, child_type, child in children)

    def _group_children(
        self, block: Any, block_id: str, children: Iterator[_Child], selection: _Selection
    ) -> Iterator[_Walked]:
        """
        A content experiment's children, each under its group's selection.

        Only learners of the group that ``group_id_to_child`` points at a child see it; a
        child that no group points at is seen by nobody (not walked); several groups: the
        smallest id names it.
        """
        group_of: dict[str, int] = {}
        for group_id, child_key in (getattr(block, "group_id_to_child", None) or {}).items():
            try:
                number, child_id = int(group_id), self._id_in_course(child_key)
            except (TypeError, ValueError, AttributeError):
                self._error("bad_value", block_id, f"group_id_to_child entry {group_id!r} is not a group and a key")
                continue
            if child_id not in group_of or number < group_of[child_id]:
                group_of[child_id] = number
        names = self._group_names(getattr(block, "user_partition_id", None))
        for child_id, child_type, child in children:
            number = group_of.get(child_id)
            if number is None:
                self._error("orphan_experiment_child", child_id, f"no group of {block_id} shows it; not synced")
                continue
            element = {
                "kind": "group",
                "container_id": block_id,
                "group_id": str(number),
                "group_name": names.get(number),
            }
            yield child_id, child_type, child, (*selection, element)

    def _group_names(self, partition_id: Any) -> dict[int, str]:
        """Group id → name in the course's user partition ``partition_id``."""
        for partition in self._user_partitions:
            if getattr(partition, "id", None) == partition_id:
                return {
                    group.id: str(group.name)
                    for group in getattr(partition, "groups", ())
                    if isinstance(getattr(group, "id", None), int)
                }
        return {}

    def _new_children(self, parent: Any, parent_id: str) -> Iterator[_Child]:
        """
        The children ``parent`` lists, in edX order, each block once: where it first appears.

        A listed key that does not come back (at its place ``get_children()`` gives an
        ``error`` block, or nothing for a dangling key) or that loads as ``HiddenBlock``
        comes with ``None`` for its block.
        """
        loaded = list(parent.get_children())
        keys = getattr(parent, "children", None)
        if not keys:  # nothing listed: what loaded is all there is
            keys = [child.location for child in loaded if _block_type(child) != ERROR_BLOCK_TYPE]
        next_loaded = 0
        for key in keys:
            child_id = self._id_in_course(key)
            child = None
            error_block = False
            if next_loaded < len(loaded):
                candidate = loaded[next_loaded]
                if _block_type(candidate) == ERROR_BLOCK_TYPE:
                    next_loaded += 1
                    error_block = True
                elif self._block_id(candidate) == child_id:
                    next_loaded += 1
                    child = candidate
            if child_id in self._seen:
                self._error("duplicate_child", child_id, f"referenced again under {parent_id}; counted once")
                continue
            self._seen.add(child_id)
            if child is not None and self._hidden_class is not None and isinstance(child, self._hidden_class):
                self._error(
                    "unloadable_block",
                    child_id,
                    f"its XBlock type is not installed (loaded as HiddenBlock under {parent_id}); "
                    "what the backend holds of it is kept",
                )
                child = None
            elif child is None and error_block:
                self._error(
                    "unloadable_block",
                    child_id,
                    f"a child of {parent_id} could not be loaded (error block); what the backend holds of it is kept",
                )
            elif child is None:
                self._error(
                    "missing_child",
                    child_id,
                    f"referenced by {parent_id} but missing from the course; what the backend holds of it is kept",
                )
            yield child_id, key.block_type, child

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
        if weight is None or _is_number(weight):
            return weight
        self._error("bad_value", block_id, f"weight {weight!r} is not a finite number; sent as null")
        return None

    def _points(self, block: Any, block_id: str, weight: float | int | None) -> float | None:
        """What the platform grades the block out of: its weight when set, else its ``max_score()``."""
        if weight is not None:
            return float(weight)
        try:
            max_score = block.max_score()
        except Exception as error:  # pylint: disable=broad-except  (an XBlock's own code)
            self._error("max_score_failed", block_id, f"max_score() failed ({error!r}); points sent as null")
            return None
        if max_score is None or not _is_number(max_score):
            self._error("max_score_failed", block_id, f"max_score() gave {max_score!r}; points sent as null")
            return None
        return float(max_score)

    def _count(self, block: Any, block_id: str) -> int | None:
        """How many children of a randomized content block each learner gets (-1: all)."""
        count = getattr(block, "max_count", None)
        if isinstance(count, int) and not isinstance(count, bool):
            return count
        self._error("bad_value", block_id, f"max_count {count!r} is not a whole number; sent as null")
        return None

    def _grading_policy(self, course: Any, course_id: str) -> dict[str, Any] | None:
        """The course's graders (in Studio's order) and grade cutoffs, from ``course.grading_policy``."""
        policy = getattr(course, "grading_policy", None)
        if not isinstance(policy, dict):
            self._error("bad_value", course_id, "the grading policy is not a JSON object; sent as null")
            return None
        graders = policy.get("GRADER") or []
        cutoffs = policy.get("GRADE_CUTOFFS") or {}
        if not isinstance(graders, list) or not all(isinstance(grader, dict) for grader in graders):
            self._error("bad_value", course_id, "the grading policy's GRADER is not a list of objects; sent as []")
            graders = []
        if not isinstance(cutoffs, dict):
            self._error("bad_value", course_id, "the grading policy's GRADE_CUTOFFS is not an object; sent as {}")
            cutoffs = {}
        value = {
            "graders": [{name: grader.get(name) for name in _GRADER_KEYS} for grader in graders],
            "cutoffs": dict(cutoffs),
        }
        return self._json(value, course_id, "grading policy", None)

    def _other_settings(self, course: Any, course_id: str) -> dict[str, Any]:
        """The course's "Other Course Settings" (``other_course_settings``), ``{}`` when none."""
        settings = getattr(course, "other_course_settings", None)
        if settings is None:
            return {}
        if not isinstance(settings, dict):
            self._error("bad_value", course_id, "other_course_settings is not a JSON object; sent as {}")
            return {}
        return self._json(settings, course_id, "other_course_settings", {})

    def _json(self, value: Any, block_id: str, what: str, fallback: Any) -> Any:
        """``value`` as plain JSON data (finite numbers only), or ``fallback`` with a content error."""
        try:
            return json.loads(json.dumps(value, allow_nan=False))
        except (TypeError, ValueError) as error:
            self._error("bad_value", block_id, f"the {what} is not plain JSON ({error}); sent as {fallback!r}")
            return fallback

    def _error(self, code: str, block_id: str, message: str) -> None:
        self.errors.append(ContentError(code, block_id, message))


#: The keys of a grader as Studio's grading page writes them (``GRADER`` entries).
_GRADER_KEYS = ("type", "short_label", "min_count", "drop_count", "weight")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


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
