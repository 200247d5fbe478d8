"""
Open edX course exports (OLX) served through the modulestore's reading API.

A read-only stand-in for the modulestore, for tests, the demo, benchmarks and the preview
command: code written against ``modulestore()`` in Studio runs unchanged on it.

- :func:`load_course_export` parses an export (a directory or a ``.tar.gz``) once into an
  :class:`OlxCourse`; :class:`OlxCourseBuilder` makes one in memory, without XML.
- :class:`OlxModuleStore` serves courses with the real method names and signatures
  (``get_course``, ``has_course``, ``get_course_summaries``, ``get_courses``,
  ``branch_setting``, ``bulk_operations``, ``make_course_key``).
  :meth:`OlxModuleStore.from_directory` serves the exports found under a directory and sees
  exports that another process replaces there; :func:`pack_export` makes a ``.tar.gz`` of an
  export folder.

What reads return, as in Studio after an OLX import into split:

- The course block returned by ``get_course`` has a plain location (``MixedModuleStore``
  strips branch and version); every other block, reached through ``get_children()`` or
  ``get_parent()``, has ``+branch@<branch>+version@<24 hex>`` in its keys. The course root's
  block id is ``course``, whatever the export's ``url_name``.
- Two branches: ``published-branch`` is the export without its ``drafts/`` folder;
  ``draft-branch`` overlays the drafts the way ``xml_importer._import_course_draft`` does (a
  file under ``drafts/`` whose XML has ``index_in_children_list`` is a draft subtree root,
  named by its file name, inserted under ``parent_url`` at that index when the parent does
  not already list it, and replacing the published block of the same key). The branch
  setting picks one (``draft-preferred`` by default, as in Studio); a key that names a branch
  picks that branch.
- ``course_version`` and the keys' ``version_guid`` are an ``ObjectId`` derived from the
  course key and the content of the files read, so they change exactly when the content does.
- ``edited_on``, ``subtree_edited_on`` and ``published_on`` are one time per branch: the
  newest modification time among the files read (for a tarball, of its members).
- Field values follow the XBlock fields: XML attributes are decoded like
  ``xml_block.deserialize_field``, ``policies/<run>/policy.json`` overrides them, and
  ``start``, ``due``, ``graded``, ``visible_to_staff_only``, ``hide_from_toc``,
  ``group_access``, ``self_paced``, ``days_early_for_beta`` and ``relative_weeks_due`` are
  inherited like ``InheritanceMixin`` fields. A value that cannot be converted (an
  unparseable date, say) is logged and treated as unset.
- An unset field has its block class's default: ``display_name`` is None, except for types
  whose class gives one (``"Empty"`` for the course, ``"Blank Problem"`` for problems,
  ``"Text"`` for html, ...); ``weight`` exists only on the types that define it (problem,
  openassessment, drag-and-drop-v2, lti); a block's only parent is the one under which it
  first appears in a depth-first walk from the course.

- What the platform computes from the fields is computed as its classes do: ``has_score``,
  ``max_score()``, ``max_count``, ``group_id_to_child``, ``user_partitions``,
  ``grading_policy`` (from ``policies/<run>/grading_policy.json``), ``other_course_settings``;
  ``about/<name>.html`` files are ``about`` items served by ``get_item``.
- Content that does not load fails as in split: a block marked to fail (the attribute
  ``x-stand-in-load-error``, or :meth:`OlxCourseBuilder.break_block`) is an
  :class:`ErrorBlock` (type ``error``, a new block id) in its parent's ``get_children()``; a
  disabled XBlock type is a :class:`HiddenBlock`; a dangling child reference is skipped by
  ``get_children()`` and makes ``subtree_edited_on`` raise :class:`ItemNotFoundError`.
  ``stand_ins/README.rst`` lists each remaining difference from edx-platform.

OLX rules follow ``xmodule/modulestore/xml.py`` and ``xml_block.py``: a pointer tag (no
children, no text, its only attribute ``url_name``) loads ``<tag>/<url_name>.xml``; any other
element is the block itself, its id taken from ``url_name``, ``slug``, ``name`` or
``display_name``, else ``<tag>_<12 hex of a hash of the element>`` (the real importer's rule;
the hash is not byte-identical to lxml's). An element with ``xblock-family`` is always inline,
as pure XBlocks export themselves. Only container types have block children; the inner XML of
other blocks is content. Odd content never stops a load: a child whose file is missing or
malformed stays in its parent's ``children`` (a dangling reference) and is dropped, with a
warning, by ``get_children()``, as ``XModuleMixin.get_child`` drops children that are not found.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import logging
import os
import re
import tarfile
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple
from xml.etree.ElementTree import Element, ParseError, tostring

from bson.objectid import ObjectId
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeElementTree
from opaque_keys import InvalidKeyError
from opaque_keys.edx.keys import CourseKey, UsageKey
from opaque_keys.edx.locator import BlockUsageLocator, CourseLocator, DefinitionLocator

__all__ = [
    "COURSE_KEY_SIDECAR_SUFFIX",
    "DEFAULT_START_DATE",
    "DRAFT_BRANCH",
    "DRAFT_PREFERRED",
    "ErrorBlock",
    "Group",
    "HiddenBlock",
    "ItemNotFoundError",
    "LOAD_ERROR_ATTRIBUTE",
    "PUBLISHED_BRANCH",
    "PUBLISHED_ONLY",
    "BlockKey",
    "OlxBlock",
    "OlxCourse",
    "OlxCourseBlock",
    "OlxCourseBuilder",
    "OlxCourseSummary",
    "OlxError",
    "OlxModuleStore",
    "ScopeIds",
    "UserPartition",
    "load_course_export",
    "pack_export",
]

log = logging.getLogger(__name__)

# Branch settings (``ModuleStoreEnum.Branch``) and branch names (``ModuleStoreEnum.BranchName``).
PUBLISHED_ONLY = "published-only"
DRAFT_PREFERRED = "draft-preferred"
PUBLISHED_BRANCH = "published-branch"
DRAFT_BRANCH = "draft-branch"

#: ``xmodule.course_metadata_utils.DEFAULT_START_DATE``: the start of a block nothing schedules.
DEFAULT_START_DATE = datetime(2030, 1, 1, tzinfo=UTC)

#: A file ``<export><suffix>`` beside an export under a store's root names the key to serve it under.
COURSE_KEY_SIDECAR_SUFFIX = ".course_key"

_TARBALL_SUFFIX = ".tar.gz"
_MAX_TARBALL_BYTES = 256 * 1024 * 1024
_DRAFTS_DIR = "drafts/"

# Types whose XML children are blocks (``has_children = True``); other blocks' XML is content.
_CONTAINER_TYPES = frozenset(
    {
        "course",
        "chapter",
        "sequential",
        "vertical",
        "library_content",
        "itembank",
        "split_test",
        "conditional",
        "randomize",
        "problemset",
        "videosequence",
    }
)
# Child elements that are data of their parent, not blocks (CourseBlock, ConditionalBlock).
_NON_BLOCK_CHILD_TAGS = {"course": frozenset({"wiki", "textbook"}), "conditional": frozenset({"show"})}
# ``XmlMixin.metadata_to_strip`` plus the importer's own attributes: never field values.
_NON_FIELD_ATTRIBUTES = frozenset(
    {
        "url_name",
        "slug",
        "course",
        "org",
        "filename",
        "data_dir",
        "tabs",
        "grading_policy",
        "discussion_blackouts",
        "xml_attributes",
        "x-is-pointer-node",
        "x-stand-in-load-error",
        "xblock-family",
        "parent_url",
        "parent_sequential_url",
        "index_in_children_list",
    }
)
_ASIDE_FAMILY = "xblock_asides.v1"
#: An XML attribute, not OLX: the block's class fails to construct with this message (see ErrorBlock).
LOAD_ERROR_ATTRIBUTE = "x-stand-in-load-error"
_BLOCK_ID = re.compile(r"^[\w\-~.:]+$")  # what a course-v1 usage key accepts ("%" is not)
_XML_ERRORS = (ParseError, DefusedXmlException)


class OlxError(ValueError):
    """An export that cannot be read at all: the path and the reason."""

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


class ItemNotFoundError(Exception):
    """
    ``xmodule.modulestore.exceptions.ItemNotFoundError``: no block, course or library has the given key.

    The stand-in's ``xmodule.modulestore.exceptions`` re-exports this class, so code written
    against the platform catches what this reader raises.
    """


class BlockKey(NamedTuple):
    """A block's identity inside its course: ``(block_type, block_id)``, like split's ``BlockKey``."""

    type: str
    id: str


class ScopeIds(NamedTuple):
    """``xblock.fields.ScopeIds``: the ids a block is stored under."""

    user_id: Any
    block_type: str
    def_id: Any
    usage_id: UsageKey


COURSE_ROOT = BlockKey("course", "course")


# Field values ---------------------------------------------------------------------------------
# Converters mirror the XBlock fields' ``from_json``; they raise TypeError/ValueError on bad values.


def _to_string(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"not a string: {value!r}")


def _to_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() == "true"
    return bool(value)


def _to_float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    return float(value)


def _to_int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return int(value)


def _to_list(value: Any) -> list | None:
    if value is None or isinstance(value, list):
        return value
    raise TypeError(f"not a list: {value!r}")


def _to_group_access(value: Any) -> dict | None:
    """``LmsBlockMixin.group_access`` (``GroupAccessDict``): partition ids become ints."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TypeError(f"not a dict: {value!r}")
    return {int(partition_id): groups for partition_id, groups in value.items()}


def _to_date(value: Any) -> datetime | None:
    """A tz-aware UTC datetime from an ISO 8601 string, a datetime or epoch milliseconds."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000, UTC)
        except (OverflowError, OSError) as error:  # beyond what a datetime holds
            raise ValueError(f"not a date: {value!r}") from error
    elif isinstance(value, str):
        moment = datetime.fromisoformat(value.strip())
    else:
        raise TypeError(f"not a date: {value!r}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError as error:  # 0001-01-01T00:00+05:00, 9999-12-31T23:59-05:00
        raise ValueError(f"not a date in UTC: {value!r}") from error


class Group(NamedTuple):
    """``xmodule.partitions.partitions.Group``: a group of learners in a partition (``id`` is an int)."""

    id: int
    name: str


class UserPartitionScheme(NamedTuple):
    """What ``UserPartition.get_scheme`` returns, reduced to what readers use: its ``name``."""

    name: str


class UserPartition(NamedTuple):
    """``xmodule.partitions.partitions.UserPartition``: a group configuration of the course."""

    id: int
    name: str
    description: str
    groups: list[Group]
    scheme: UserPartitionScheme
    parameters: dict
    active: bool


#: Partition schemes the stand-in knows (the platform's ``openedx.user_partition_scheme`` entry points).
USER_PARTITION_SCHEMES = frozenset({"random", "cohort", "enrollment_track", "team", "verification"})


def _to_user_partition(value: Any) -> UserPartition:
    """``UserPartition.from_json``: the same required keys, versions and errors (all ``TypeError``)."""
    if not isinstance(value, dict):
        raise TypeError(f"not a user partition: {value!r}")
    for key in ("id", "name", "description", "version", "groups"):
        if key not in value:
            raise TypeError(f"UserPartition dict {value} missing value key '{key}'")
    if value["version"] == 1:
        scheme = "random"
    elif isinstance(value["version"], int) and value["version"] >= 2:
        if "scheme" not in value:
            raise TypeError(f"UserPartition dict {value} missing value key 'scheme'")
        scheme = value["scheme"]
    else:
        raise TypeError(f"UserPartition dict {value} has unexpected version")
    if scheme not in USER_PARTITION_SCHEMES:
        raise TypeError(f"Unrecognized scheme '{scheme}'")
    groups = []
    for group in value["groups"]:
        for key in ("id", "name", "version"):
            if not isinstance(group, dict) or key not in group:
                raise TypeError(f"Group dict {group} missing value key '{key}'")
        if group["version"] != 1:
            raise TypeError(f"Group dict {group} has unexpected version")
        groups.append(Group(int(group["id"]), group["name"]))
    return UserPartition(
        int(value["id"]),
        value["name"],
        value["description"],
        groups,
        UserPartitionScheme(scheme),
        value.get("parameters", {}),
        value.get("active", True),
    )


def _to_user_partitions(value: Any) -> list[UserPartition]:
    """``UserPartitionList.from_json``: each element through ``UserPartition.from_json``."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError(f"not a list: {value!r}")
    return [_to_user_partition(partition) for partition in value]


def _to_dict(value: Any) -> dict | None:
    if value is None or isinstance(value, dict):
        return value
    raise TypeError(f"not a dict: {value!r}")


#: ``xmodule.course_metadata_utils.DEFAULT_GRADING_POLICY``.
DEFAULT_GRADING_POLICY = {
    "GRADER": [
        {"type": "Homework", "short_label": "HW", "min_count": 12, "drop_count": 2, "weight": 0.15},
        {"type": "Lab", "min_count": 12, "drop_count": 2, "weight": 0.15},
        {"type": "Midterm Exam", "short_label": "Midterm", "min_count": 1, "drop_count": 0, "weight": 0.3},
        {"type": "Final Exam", "short_label": "Final", "min_count": 1, "drop_count": 0, "weight": 0.4},
    ],
    "GRADE_CUTOFFS": {"Pass": 0.5},
}


def _to_grading_policy(value: Any) -> dict:
    """``CourseBlock.set_grading_policy``: the stored policy, ``GRADER`` and ``GRADE_CUTOFFS`` defaulted."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise TypeError(f"not a dict: {value!r}")
    return {**copy.deepcopy(DEFAULT_GRADING_POLICY), **value}


def _to_group_id_to_child(value: Any) -> dict[str, BlockKey] | None:
    """``SplitTestBlock.group_id_to_child`` (``ReferenceValueDict``): group ids as strings, children as block keys."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TypeError(f"not a dict: {value!r}")
    return {str(group_id): _to_block_key(child) for group_id, child in value.items()}


def _to_block_key(value: Any) -> BlockKey:
    """A reference to a block of the same course: a ``BlockKey`` or a usage key string (``i4x://`` included)."""
    if isinstance(value, BlockKey):
        return value
    if isinstance(value, UsageKey):
        return BlockKey(value.block_type, value.block_id)
    if isinstance(value, str):
        try:
            usage_key = UsageKey.from_string(value)
        except InvalidKeyError as error:
            raise ValueError(f"not a usage key: {value!r}") from error
        return BlockKey(usage_key.block_type, usage_key.block_id)
    raise TypeError(f"not a block reference: {value!r}")


@dataclass(frozen=True, slots=True)
class _Field:
    """A settings field: how to read its stored value, its default, whether it is inherited."""

    convert: Callable[[Any], Any]
    default: Any = None
    inherited: bool = False


# ``InheritanceMixin`` fields the plugin may read; children take them from the nearest ancestor.
_INHERITED_FIELDS = {
    "start": _Field(_to_date, DEFAULT_START_DATE, inherited=True),
    "due": _Field(_to_date, None, inherited=True),
    "graded": _Field(_to_bool, False, inherited=True),
    "visible_to_staff_only": _Field(_to_bool, False, inherited=True),
    "hide_from_toc": _Field(_to_bool, False, inherited=True),
    "group_access": _Field(_to_group_access, {}, inherited=True),
    "self_paced": _Field(_to_bool, False, inherited=True),
    "days_early_for_beta": _Field(_to_float, None, inherited=True),
    "relative_weeks_due": _Field(_to_int, None, inherited=True),
    "user_partitions": _Field(_to_user_partitions, [], inherited=True),
}
# Fields every block has (XModuleMixin, LmsBlockMixin, InheritanceMixin).
_COMMON_FIELDS = {**_INHERITED_FIELDS, "display_name": _Field(_to_string), "format": _Field(_to_string)}
# Each type's own fields and defaults, from the block classes (CourseFields, SequenceFields,
# ProblemBlock, HtmlBlock, VideoBlock, ORA's LmsCompatibilityMixin, DragAndDropBlock, LTIBlock,
# LegacyLibraryContentBlock, SplitTestBlock). ``weight`` exists only where a type defines it.
_TYPE_FIELDS: dict[str, dict[str, _Field]] = {
    "course": {
        "display_name": _Field(_to_string, "Empty"),
        "end": _Field(_to_date),
        "enrollment_start": _Field(_to_date),
        "enrollment_end": _Field(_to_date),
        "language": _Field(_to_string),
        "display_organization": _Field(_to_string),
        "display_coursenumber": _Field(_to_string),
        "advertised_start": _Field(_to_string),
        "catalog_visibility": _Field(_to_string, "both"),
        "course_visibility": _Field(_to_string, "private"),
        "invitation_only": _Field(_to_bool, False),
        "entrance_exam_enabled": _Field(_to_bool, False),
        "entrance_exam_id": _Field(_to_string),
        "grading_policy": _Field(_to_grading_policy, DEFAULT_GRADING_POLICY),
        "other_course_settings": _Field(_to_dict, {}),
    },
    "chapter": {"highlights": _Field(_to_list, [])},
    "sequential": {
        "hide_after_due": _Field(_to_bool, False),
        "is_time_limited": _Field(_to_bool, False),
        "default_time_limit_minutes": _Field(_to_int),
        "is_proctored_enabled": _Field(_to_bool, False),
        "is_practice_exam": _Field(_to_bool, False),
        "is_onboarding_exam": _Field(_to_bool, False),
        "is_entrance_exam": _Field(_to_bool, False),
        "exam_review_rules": _Field(_to_string, ""),
    },
    "problem": {"display_name": _Field(_to_string, "Blank Problem"), "weight": _Field(_to_float)},
    "html": {"display_name": _Field(_to_string, "Text")},
    "video": {"display_name": _Field(_to_string, "Video")},
    "openassessment": {"display_name": _Field(_to_string, "Open Response Assessment"), "weight": _Field(_to_float)},
    "drag-and-drop-v2": {"display_name": _Field(_to_string, "Drag and Drop"), "weight": _Field(_to_float, 1)},
    "lti": {
        "display_name": _Field(_to_string, "LTI"),
        "weight": _Field(_to_float, 1.0),
        "has_score": _Field(_to_bool, False),
    },
    "lti_consumer": {
        "display_name": _Field(_to_string, "LTI Consumer"),
        "weight": _Field(_to_float, 1.0),
        "has_score": _Field(_to_bool, False),
    },
    "library_content": {
        "display_name": _Field(_to_string, "Randomized Content Block"),
        "max_count": _Field(_to_int, 1),
    },
    "staffgradedxblock": {"display_name": _Field(_to_string, "Staff Graded Points"), "weight": _Field(_to_float, 1.0)},
    "edx_sga": {
        "display_name": _Field(_to_string, "Staff Graded Assignment"),
        "weight": _Field(_to_float),
        "points": _Field(_to_int, 100),
    },
    "itembank": {"display_name": _Field(_to_string, "Problem Bank"), "max_count": _Field(_to_int, 1)},
    "conditional": {"display_name": _Field(_to_string, "Conditional")},
    "split_test": {
        "display_name": _Field(_to_string, "Content Experiment"),
        "user_partition_id": _Field(_to_int, -1),
        "group_id_to_child": _Field(_to_group_id_to_child, {}),
    },
}
# Types whose class sets ``has_score = True`` (LTI's is a field, above).
_SCORED_TYPES = frozenset({"problem", "openassessment", "drag-and-drop-v2", "staffgradedxblock", "edx_sga"})
# Types whose class has a ``data`` field (``String``/``XMLString``, Scope.content), and its default.
_DATA_DEFAULTS = {"problem": "<problem></problem>", "about": ""}
# Types whose XML (the element itself) is kept as the block's content: what max_score() reads.
_CONTENT_TYPES = frozenset({"problem", "openassessment"})

# How an XML attribute of each known field name is decoded (``xml_block.deserialize_field``).
_ATTRIBUTE_CONVERTERS = {
    name: spec.convert for fields in (_COMMON_FIELDS, *_TYPE_FIELDS.values()) for name, spec in fields.items()
}


_FIELDS_BY_TYPE = {block_type: {**_COMMON_FIELDS, **own} for block_type, own in _TYPE_FIELDS.items()}


def _fields_of(block_type: str) -> dict[str, _Field]:
    return _FIELDS_BY_TYPE.get(block_type, _COMMON_FIELDS)


def _deserialize_attribute(name: str, raw: str) -> Any:
    """The stored value of XML attribute ``name``: JSON when it decodes to a valid value, else the text."""
    convert = _ATTRIBUTE_CONVERTERS.get(name)
    if convert is None:
        return raw
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return raw
    if value is None:
        return None
    try:
        convert(value)
    except (TypeError, ValueError, OverflowError):
        return raw
    return value


# Course data ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _BlockData:
    """
    One stored block: settings, child references, content, and a load error if it fails to load.

    Settings are stored values; children are None for leaves; content is the XML of a problem or
    an ORA, or the text of an about item.
    """

    block_type: str
    block_id: str
    fields: dict[str, Any]
    children: list[BlockKey] | None
    content: str | None = None
    load_error: str | None = None


@dataclass(frozen=True, slots=True)
class _Branch:
    """The blocks of one branch of a course, with that branch's version and edit time."""

    blocks: Mapping[BlockKey, _BlockData]
    version_guid: ObjectId
    edited_on: datetime


@dataclass(frozen=True, slots=True)
class _DraftRoot:
    """A draft subtree from ``drafts/``: where it goes and its blocks (the root's included)."""

    root: BlockKey
    parent: BlockKey
    index: int
    blocks: Mapping[BlockKey, _BlockData]


class OlxCourse:
    """
    One course: its key, its published blocks and its drafts. Immutable once built.

    Make one with :func:`load_course_export` or :class:`OlxCourseBuilder`.
    """

    def __init__(
        self,
        course_key: CourseLocator,
        published: _Branch,
        *,
        draft_roots: Iterable[_DraftRoot] = (),
        draft_digest: str = "",
        draft_edited_on: datetime | None = None,
        source: Path | None = None,
    ) -> None:
        self.id = course_key.for_branch(None)
        self.source = source
        self._published = published
        self._draft_roots = tuple(draft_roots)
        self._draft_digest = draft_digest
        self._draft_edited_on = draft_edited_on
        self._draft: _Branch | None = None
        self._draft_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OlxCourse({self.id}, source={self.source})"

    def _branch(self, branch_name: str) -> _Branch:
        """The blocks of ``published-branch`` or ``draft-branch``."""
        if branch_name == PUBLISHED_BRANCH:
            return self._published
        if branch_name != DRAFT_BRANCH:
            raise ValueError(f"unknown branch {branch_name!r}")
        with self._draft_lock:
            if self._draft is None:
                self._draft = self._overlay_drafts()
            return self._draft

    def _overlay_drafts(self) -> _Branch:
        blocks = dict(self._published.blocks)
        for draft in self._draft_roots:
            parent = blocks.get(draft.parent)
            if parent is None or parent.children is None:
                log.warning("%s: draft %s has no parent %s in the course; skipped", self.id, draft.root, draft.parent)
                continue
            if not any(child.id == draft.root.id for child in parent.children):
                children = list(parent.children)
                children.insert(draft.index, draft.root)
                blocks[draft.parent] = replace(parent, children=children)
            blocks.update(draft.blocks)
        published = self._published
        version = _object_id(str(published.version_guid), "draft", self._draft_digest)
        edited_on = max(published.edited_on, self._draft_edited_on or published.edited_on)
        return _Branch(blocks, version, edited_on)


def _object_id(*parts: str) -> ObjectId:
    digest = hashlib.sha1("\0".join(parts).encode("utf-8"), usedforsecurity=False).hexdigest()
    return ObjectId(digest[:24])


class OlxCourseBuilder:
    """
    Builds an :class:`OlxCourse` in memory, without XML (synthetic courses, benchmarks).

    Field values are given as stored values or Python values (``start=datetime(...)`` or
    ``start="2026-09-01T00:00:00Z"``)::

        builder = OlxCourseBuilder(CourseLocator("VirtuX", "BIG", "2026"), display_name="Big")
        chapter = builder.add_child(builder.root, "chapter", "ch1", display_name="Chapter 1")
        builder.add_child(chapter, "sequential", "seq1", graded=True, format="Homework")
        course = builder.build()

    Course fields include ``grading_policy`` (``{"GRADER": [...], "GRADE_CUTOFFS": {...}}``),
    ``other_course_settings`` and ``user_partitions`` (stored form, see
    :meth:`add_user_partition`). A builder can be changed after :meth:`build` and built again,
    to make the next version of the same course (a later publish).
    """

    def __init__(self, course_key: CourseLocator, **course_fields: Any) -> None:
        self.course_key = course_key.for_branch(None)
        self.root = COURSE_ROOT
        self._blocks = {COURSE_ROOT: _BlockData("course", "course", dict(course_fields), [])}

    def add_child(self, parent: BlockKey, block_type: str, block_id: str, **fields: Any) -> BlockKey:
        """
        Append block ``(block_type, block_id)`` to ``parent``'s children and return its key.

        Adding a key that exists adds another reference to the same block (its fields are kept).
        """
        parent_data = self._container(parent)
        if not _BLOCK_ID.match(block_id):
            raise ValueError(f"{block_id!r} is not a valid block id")
        key = BlockKey(block_type, block_id)
        if key not in self._blocks:
            children = [] if block_type in _CONTAINER_TYPES else None
            self._blocks[key] = _BlockData(block_type, block_id, dict(fields), children)
        parent_data.children.append(key)
        return key

    def add_problem(
        self, parent: BlockKey, block_id: str, *, responses: int = 1, points: Iterable[Any] | None = None, **fields: Any
    ) -> BlockKey:
        """
        Add a capa problem whose ``max_score()`` is ``responses`` (or the sum of ``points``).

        It has ``responses`` numerical responses of one answer field each, or one response per
        value of ``points`` with that ``points`` attribute on its field (any text: ``"abc"``
        makes ``max_score()`` fail as capa's does).
        """
        key = self.add_child(parent, "problem", block_id, **fields)
        fields_points = [None] * responses if points is None else list(points)
        body = "".join(
            '<numericalresponse answer="1"><formulaequationinput{}/></numericalresponse>'.format(
                "" if value is None else f' points="{value}"'
            )
            for value in fields_points
        )
        self.set_content(key, f"<problem>{body}</problem>")
        return key

    def add_open_assessment(
        self, parent: BlockKey, block_id: str, *, criteria: Iterable[Iterable[int]], **fields: Any
    ) -> BlockKey:
        """Add an ORA whose rubric has one criterion per element of ``criteria`` (its options' points)."""
        key = self.add_child(parent, "openassessment", block_id, **fields)
        rubric = "".join(
            "<criterion>" + "".join(f'<option points="{points}"/>' for points in options) + "</criterion>"
            for options in criteria
        )
        self.set_content(key, f"<openassessment><rubric>{rubric}</rubric></openassessment>")
        return key

    def add_problem_bank(
        self,
        parent: BlockKey,
        block_id: str,
        *,
        count: int,
        problems: int,
        block_type: str = "library_content",
        **fields: Any,
    ) -> BlockKey:
        """
        Add a randomized content block with ``max_count`` ``count`` and ``problems`` problems.

        ``block_type`` is ``library_content`` or ``itembank``; the problems are one-point problems
        ``<block_id>_p0``, ``<block_id>_p1``, ...
        """
        bank = self.add_child(parent, block_type, block_id, max_count=count, **fields)
        for number in range(problems):
            self.add_problem(bank, f"{block_id}_p{number}")
        return bank

    def add_split_test(
        self, parent: BlockKey, block_id: str, *, user_partition_id: int, groups: Mapping[int, str], **fields: Any
    ) -> BlockKey:
        """
        Add a content experiment (``split_test``) with one vertical child per group.

        It uses partition ``user_partition_id``; ``groups`` maps a group id to the vertical's block id, and
        ``group_id_to_child`` is set to match. Add more children (an orphan no group points at)
        with :meth:`add_child`; point groups elsewhere with :meth:`set_group_child`.
        """
        experiment = self.add_child(parent, "split_test", block_id, user_partition_id=user_partition_id, **fields)
        self._blocks[experiment].fields.setdefault("group_id_to_child", {})
        for group_id, vertical_id in groups.items():
            self.set_group_child(experiment, group_id, self.add_child(experiment, "vertical", vertical_id))
        return experiment

    def set_group_child(self, split_test: BlockKey, group_id: int | str, child: BlockKey | None) -> None:
        """Make group ``group_id`` of the experiment see ``child`` (None: no child for that group)."""
        mapping = self._blocks[split_test].fields.setdefault("group_id_to_child", {})
        if child is None:
            mapping.pop(str(group_id), None)
        else:
            mapping[str(group_id)] = child

    def add_user_partition(
        self, partition_id: int, name: str, groups: Mapping[int, str], *, scheme: str = "random", description: str = ""
    ) -> None:
        """Add a group configuration to the course's ``user_partitions``, in the stored (version 3) form."""
        self._blocks[COURSE_ROOT].fields.setdefault("user_partitions", []).append(
            {
                "id": partition_id,
                "name": name,
                "description": description,
                "version": 3,
                "scheme": scheme,
                "parameters": {},
                "active": True,
                "groups": [
                    {"id": group_id, "name": group_name, "version": 1} for group_id, group_name in groups.items()
                ],
            }
        )

    def set_fields(self, key: BlockKey, **fields: Any) -> None:
        """Set fields of an existing block (the course: ``builder.root``), as its settings editor does."""
        self._blocks[key].fields.update(fields)

    def clear_fields(self, key: BlockKey, *names: str) -> None:
        """Unset fields of a block, so that they take their default (or inherited) value."""
        for name in names:
            self._blocks[key].fields.pop(name, None)

    def set_content(self, key: BlockKey, content: str | None) -> None:
        """Set a block's content: a problem's XML (``data``), an ORA's XML."""
        self._blocks[key].content = content

    def set_children(self, parent: BlockKey, children: Iterable[BlockKey]) -> None:
        """Replace ``parent``'s child references (reorder, drop, or reference keys that have no block)."""
        self._container(parent).children = list(children)

    def add_dangling_child(self, parent: BlockKey, block_type: str, block_id: str) -> BlockKey:
        """Append a child reference to a block the course does not have (a dangling reference)."""
        key = BlockKey(block_type, block_id)
        if key in self._blocks:
            raise ValueError(f"{key} exists")
        self._container(parent).children.append(key)
        return key

    def break_block(self, key: BlockKey, message: str = "the XBlock class failed to load") -> None:
        """Make a block fail to load: reads give an :class:`ErrorBlock` in its place until :meth:`repair_block`."""
        if key == COURSE_ROOT:
            raise ValueError("the course block cannot be broken")
        self._blocks[key].load_error = message

    def repair_block(self, key: BlockKey) -> None:
        """Let a block broken by :meth:`break_block` load again."""
        self._blocks[key].load_error = None

    def set_about(self, name: str, text: str | None) -> None:
        """Set the course's about item ``name`` (``short_description``, ``overview``, ...); None removes it."""
        key = BlockKey("about", name)
        if text is None:
            self._blocks.pop(key, None)
        else:
            self._blocks[key] = _BlockData("about", name, {}, None, text)

    def build(self, *, edited_on: datetime | None = None) -> OlxCourse:
        """The course as built so far; ``edited_on`` (default: now) is its edit and publish time."""
        blocks = {
            key: replace(
                data,
                fields={
                    name: copy.deepcopy(value) if isinstance(value, (dict, list)) else value
                    for name, value in data.fields.items()
                },
                children=None if data.children is None else list(data.children),
            )
            for key, data in self._blocks.items()
        }
        content = json.dumps(
            [(key, data.fields, data.children, data.content, data.load_error) for key, data in blocks.items()],
            default=str,
        )
        version = _object_id(str(self.course_key), hashlib.sha1(content.encode(), usedforsecurity=False).hexdigest())
        moment = _to_date(edited_on) if edited_on else datetime.now(UTC)
        return OlxCourse(self.course_key, _Branch(blocks, version, moment))

    def _container(self, key: BlockKey) -> _BlockData:
        data = self._blocks[key]
        if data.children is None:
            raise ValueError(f"{key} is a {key.type} block, which has no children")
        return data


# Reading exports ------------------------------------------------------------------------------


class _ExportFiles:
    """The files of an export, by path relative to the course root (``course.xml``'s folder)."""

    def __init__(self, label: Path) -> None:
        self.label = label

    def read(self, relpath: str) -> tuple[bytes, float] | None:
        """The file's bytes and modification time, or None if it is absent or outside the export."""
        if relpath.startswith("/") or ".." in relpath.split("/"):
            log.warning("%s: refusing path %r outside the export", self.label, relpath)
            return None
        return self._read(relpath)

    def _read(self, relpath: str) -> tuple[bytes, float] | None:
        raise NotImplementedError

    def paths_under(self, prefix: str) -> list[str]:
        """The files whose path starts with ``prefix``, sorted."""
        raise NotImplementedError


class _DirectoryFiles(_ExportFiles):
    def __init__(self, label: Path, root: Path) -> None:
        super().__init__(label)
        self.root = root.resolve()

    def _read(self, relpath: str) -> tuple[bytes, float] | None:
        try:
            path = (self.root / relpath).resolve()
        except RecursionError:
            raise
        except (OSError, RuntimeError) as error:  # a symlink loop (RuntimeError before Python 3.13)
            log.warning("%s: cannot read %r: %s", self.label, relpath, error)
            return None
        if not path.is_relative_to(self.root):
            log.warning("%s: refusing %r, a link outside the export", self.label, relpath)
            return None
        try:
            return path.read_bytes(), path.stat().st_mtime
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        except OSError as error:  # unreadable (permissions, a link loop, an I/O error)
            log.warning("%s: cannot read %r: %s", self.label, relpath, error)
            return None

    def paths_under(self, prefix: str) -> list[str]:
        base = self.root / prefix
        return sorted(path.relative_to(self.root).as_posix() for path in base.rglob("*") if path.is_file())


class _TarballFiles(_ExportFiles):
    def __init__(self, label: Path, members: dict[str, tuple[bytes, float]]) -> None:
        super().__init__(label)
        self.members = members

    def _read(self, relpath: str) -> tuple[bytes, float] | None:
        return self.members.get(relpath)

    def paths_under(self, prefix: str) -> list[str]:
        return sorted(name for name in self.members if name.startswith(prefix))


def _directory_files(path: Path) -> _ExportFiles:
    if (path / "course.xml").is_file():
        return _DirectoryFiles(path, path)
    folders = [entry for entry in path.iterdir() if entry.is_dir() and not entry.name.startswith(".")]
    if len(folders) == 1 and (folders[0] / "course.xml").is_file():
        return _DirectoryFiles(path, folders[0])
    raise OlxError(path, "no course.xml (neither at the top nor in a single top-level folder)")


def _tarball_files(path: Path) -> _ExportFiles:
    """The tarball's regular files, read in memory; links and paths leaving the export are refused."""
    try:
        with tarfile.open(path, "r:gz") as tarball:
            members = _tarball_members(path, tarball)
    # UnicodeDecodeError: a damaged header that tarfile decodes as a (PAX) member name.
    except (tarfile.TarError, EOFError, OSError, zlib.error, UnicodeDecodeError) as error:
        raise OlxError(path, f"not a readable .tar.gz: {error}") from error
    if "course.xml" not in members:
        tops = {name.split("/", 1)[0] for name in members}
        top = next(iter(tops)) if len(tops) == 1 else None
        if top is None or f"{top}/course.xml" not in members:
            raise OlxError(path, "no course.xml (neither at the top nor in a single top-level folder)")
        members = {name.removeprefix(f"{top}/"): content for name, content in members.items()}
    return _TarballFiles(path, members)


def _tarball_members(path: Path, tarball: tarfile.TarFile) -> dict[str, tuple[bytes, float]]:
    """The XML and JSON files of ``tarball`` by name, with their mtimes; nothing is extracted to disk."""
    members: dict[str, tuple[bytes, float]] = {}
    total = 0
    for member in tarball:
        name = member.name.removeprefix("./")
        if name.startswith("/") or ".." in name.split("/"):
            raise OlxError(path, f"member {member.name!r} points outside the export")
        if member.issym() or member.islnk():
            raise OlxError(path, f"member {member.name!r} is a link")
        if member.isdir():
            continue
        if not member.isfile():
            raise OlxError(path, f"member {member.name!r} is not a regular file")
        about_item = name.endswith(".html") and name.split("/")[-2:-1] == ["about"] and name.count("/") <= 2
        if not (name.endswith((".xml", ".json")) or about_item):
            continue
        total += member.size
        if total > _MAX_TARBALL_BYTES:
            raise OlxError(path, f"more than {_MAX_TARBALL_BYTES} bytes of XML and JSON")
        members[name] = (tarball.extractfile(member).read(), float(member.mtime))
    return members


def _parse_xml(data: bytes) -> Element:
    return SafeElementTree.fromstring(data)


def _is_pointer_tag(element: Element) -> bool:
    """``xml_block.is_pointer_tag``: no children, no text, exactly the pointer attributes."""
    expected = {"url_name", "course", "org"} if element.tag == "course" else {"url_name"}
    has_text = element.text is not None and element.text.strip() != ""
    return len(element) == 0 and set(element.attrib) == expected and not has_text


def _inline_block_id(element: Element) -> str:
    """The id the importer gives an inline element (``make_name_unique``'s lookups, then a hash)."""
    attributes = element.attrib
    for name, clean in (("url_name", None), ("slug", None), ("name", True), ("display_name", True)):
        value = attributes.get(name)
        if value is not None:
            return BlockUsageLocator.clean(value) if clean else value
    digest = hashlib.sha1(tostring(element), usedforsecurity=False).hexdigest()
    return f"{element.tag}_{digest[:12]}"


class _BlockParser:
    """Parses blocks from one folder of an export, following pointer tags to their files."""

    def __init__(self, files: _ExportFiles, base: str, policy: Mapping[str, Mapping[str, Any]]) -> None:
        self.files = files
        self.base = base
        self.policy = policy
        self.blocks: dict[BlockKey, _BlockData] = {}
        self._digest = hashlib.sha1(usedforsecurity=False)
        self.newest_mtime = 0.0

    @property
    def digest(self) -> str:
        """A hash of every file this parser has read, in order."""
        return self._digest.hexdigest()

    def read(self, relpath: str) -> bytes | None:
        found = self.files.read(relpath)
        if found is None:
            return None
        data, mtime = found
        self._digest.update(f"{relpath}\0{len(data)}\0".encode())
        self._digest.update(data)
        self.newest_mtime = max(self.newest_mtime, mtime)
        return data

    def read_element(self, relpath: str) -> Element | None:
        """The root element of file ``relpath``, or None (logged) if it is missing or malformed."""
        data = self.read(relpath)
        if data is None:
            log.warning("%s: %s is missing", self.files.label, relpath)
            return None
        try:
            return _parse_xml(data)
        except _XML_ERRORS as error:
            log.warning("%s: %s is not well-formed XML: %s", self.files.label, relpath, error)
            return None

    def add_block(self, key: BlockKey, element: Element, policy_key: str | None = None) -> _BlockData:
        """Store the block that ``element`` defines, then its children."""
        fields = {
            name: _deserialize_attribute(name, raw)
            for name, raw in element.attrib.items()
            if name not in _NON_FIELD_ATTRIBUTES
        }
        fields.update(self.policy.get(policy_key or f"{key.type}/{key.id}", {}))
        is_container = key.type in _CONTAINER_TYPES
        content = tostring(element, encoding="unicode") if key.type in _CONTENT_TYPES else None
        data = _BlockData(
            key.type, key.id, fields, [] if is_container else None, content, element.get(LOAD_ERROR_ATTRIBUTE)
        )
        # Registered before its children are parsed, so that a pointer cycle ends here.
        self.blocks[key] = data
        if is_container:
            skipped = _NON_BLOCK_CHILD_TAGS.get(key.type, frozenset())
            for child in element:
                if isinstance(child.tag, str) and child.tag not in skipped:
                    child_key = self.child_key(child)
                    if child_key is not None:
                        data.children.append(child_key)
        return data

    def child_key(self, element: Element) -> BlockKey | None:
        """The key of the block a child element stands for, loading that block if it is new."""
        if element.get("xblock-family") == _ASIDE_FAMILY:
            return None
        pointer = _is_pointer_tag(element)
        block_id = element.get("url_name") if pointer else _inline_block_id(element)
        if not block_id or not _BLOCK_ID.match(block_id):
            log.warning("%s: <%s> has an invalid block id %r; skipped", self.files.label, element.tag, block_id)
            return None
        key = BlockKey(element.tag, block_id)
        if key in self.blocks:
            return key
        if pointer:
            definition = self.read_element(f"{self.base}{key.type}/{block_id.replace(':', '/')}.xml")
            if definition is not None:
                self.add_block(key, definition)
        else:
            self.add_block(key, element)
        return key


def load_course_export(path: str | os.PathLike, *, course_key: CourseKey | None = None) -> OlxCourse:
    """
    Parse the course export at ``path``: a directory, or a ``.tar.gz`` of one.

    The course key comes from ``course.xml`` (``org``, ``course``, and ``url_name`` as the
    run) unless ``course_key`` is given.

    Raises:
        OlxError: if the export cannot be read (no ``course.xml``, a malformed ``course.xml``
            or course file, a bad tarball, a tar member that is a link or leaves the export).
    """
    source = Path(path)
    if source.is_dir():
        files = _directory_files(source)
    elif source.is_file() and source.name.endswith(_TARBALL_SUFFIX):
        files = _tarball_files(source)
    else:
        raise OlxError(source, "neither a directory nor a .tar.gz file")
    try:
        return _load(files, source, course_key)
    except RecursionError:
        raise OlxError(source, "blocks or values nested too deeply to read") from None


def _load(files: _ExportFiles, source: Path, course_key: CourseKey | None) -> OlxCourse:
    parser = _BlockParser(files, "", {})
    course_xml = parser.read("course.xml")
    if course_xml is None:
        raise OlxError(source, "no course.xml")
    try:
        pointer = _parse_xml(course_xml)
    except _XML_ERRORS as error:
        raise OlxError(source, f"course.xml is not well-formed XML: {error}") from error
    run = pointer.get("url_name", pointer.get("slug"))
    if not run:
        raise OlxError(source, "course.xml has no url_name (the course run)")
    if course_key is None:
        course_key = _course_key_from_xml(pointer, run, source)
    parser.policy = _read_policy(parser, run)

    if _is_pointer_tag(pointer):
        course_file = f"course/{run.replace(':', '/')}.xml"
        data = parser.read(course_file)
        if data is None:
            raise OlxError(source, f"{course_file} is missing")
        try:
            course_element = _parse_xml(data)
        except _XML_ERRORS as error:
            raise OlxError(source, f"{course_file} is not well-formed XML: {error}") from error
    else:
        course_element = pointer
    course_block = parser.add_block(COURSE_ROOT, course_element, policy_key=f"course/{run}")
    grading_policy = _read_grading_policy(parser, run)
    if grading_policy is not None:
        course_block.fields["grading_policy"] = grading_policy
    _read_about_items(parser)

    key_text = str(course_key.for_branch(None))
    published = _Branch(
        parser.blocks, _object_id(key_text, parser.digest), datetime.fromtimestamp(parser.newest_mtime, UTC)
    )
    draft_parser = _BlockParser(files, _DRAFTS_DIR, {})
    draft_roots = _read_draft_roots(draft_parser, course_key)
    draft_edited_on = datetime.fromtimestamp(draft_parser.newest_mtime, UTC) if draft_roots else None
    return OlxCourse(
        course_key,
        published,
        draft_roots=draft_roots,
        draft_digest=draft_parser.digest,
        draft_edited_on=draft_edited_on,
        source=source,
    )


def _course_key_from_xml(pointer: Element, run: str, source: Path) -> CourseLocator:
    org = pointer.get("org")
    if org is None:
        log.warning("%s: course.xml has no org; using 'edx' as the importer does", source)
        org = "edx"
    number = pointer.get("course")
    if number is None:
        number = source.name.removesuffix(_TARBALL_SUFFIX)
        log.warning("%s: course.xml has no course attribute; using %r as the importer does", source, number)
    try:
        return CourseLocator(org, number, run)
    except InvalidKeyError as error:
        raise OlxError(source, f"course.xml does not make a valid course key: {error}") from error


def _read_policy(parser: _BlockParser, run: str) -> dict[str, Any]:
    """``policies/<run>/policy.json`` (or the older ``policies/<run>.json``); {} if absent or invalid."""
    for relpath in (f"policies/{run}/policy.json", f"policies/{run}.json"):
        data = parser.read(relpath)
        if data is None:
            continue
        try:
            policy = json.loads(data)
        except (ValueError, RecursionError) as error:
            log.warning("%s: %s is not valid JSON, ignored: %s", parser.files.label, relpath, error)
            return {}
        if isinstance(policy, dict):
            ignored = sorted(key for key, value in policy.items() if not isinstance(value, dict))
            if ignored:
                log.warning("%s: %s: entries that are not objects ignored: %s", parser.files.label, relpath, ignored)
            return {key: value for key, value in policy.items() if isinstance(value, dict)}
        log.warning("%s: %s is not a JSON object, ignored", parser.files.label, relpath)
        return {}
    return {}


def _read_grading_policy(parser: _BlockParser, run: str) -> dict | None:
    """
    The stored grading policy, read as ``CourseBlock.parse_xml`` reads it.

    From ``policies/<run>/grading_policy.json``, else ``grading_policy.json``: None if there is
    neither, {} (logged) if it is not a JSON object.
    """
    for relpath in (f"policies/{run}/grading_policy.json", "grading_policy.json"):
        data = parser.read(relpath)
        if data is None:
            continue
        try:
            policy = json.loads(data)
        except (ValueError, RecursionError) as error:
            log.warning("%s: %s is not valid JSON, ignored: %s", parser.files.label, relpath, error)
            return {}
        if not isinstance(policy, dict):
            log.warning("%s: %s is not a JSON object, ignored", parser.files.label, relpath)
            return {}
        return policy
    return None


def _is_about_file(relpath: str) -> bool:
    return relpath.startswith("about/") and relpath.endswith(".html") and relpath.count("/") == 1


def _read_about_items(parser: _BlockParser) -> None:
    """
    Add the ``about/<name>.html`` files as ``about`` blocks, their text as ``data``.

    They are detached (no parent), as the importer makes them.
    """
    for relpath in parser.files.paths_under("about/"):
        if not _is_about_file(relpath):
            continue
        block_id = relpath[len("about/") : -len(".html")]
        raw = parser.read(relpath)
        if raw is None or not _BLOCK_ID.match(block_id):
            continue
        text = raw.decode("utf-8", errors="replace")
        parser.blocks[BlockKey("about", block_id)] = _BlockData("about", block_id, {}, None, text)


def _read_draft_roots(parser: _BlockParser, course_key: CourseKey) -> list[_DraftRoot]:
    """The draft subtree roots under ``drafts/``, sorted by their index, as the importer reads them."""
    roots = []
    for relpath in parser.files.paths_under(_DRAFTS_DIR):
        file_name = relpath.rsplit("/", 1)[-1]
        if file_name.startswith("._") or not file_name.endswith(".xml"):
            continue
        data = parser.read(relpath)
        if data is None or b"index_in_children_list" not in data:
            continue
        try:
            element = _parse_xml(data)
        except _XML_ERRORS as error:
            log.warning("%s: %s is not well-formed XML: %s", parser.files.label, relpath, error)
            continue
        try:
            parent_url = element.get("parent_url", element.get("parent_sequential_url"))
            parent = UsageKey.from_string(parent_url).map_into_course(course_key)
            index = int(element.get("index_in_children_list"))
        except (InvalidKeyError, TypeError, ValueError):
            log.warning(
                "%s: draft %s has no usable parent_url/index_in_children_list; skipped", parser.files.label, relpath
            )
            continue
        block_id = os.path.splitext(file_name)[0]
        if not _BLOCK_ID.match(block_id):
            log.warning("%s: draft %s has an invalid block id; skipped", parser.files.label, relpath)
            continue
        root = BlockKey(element.tag, block_id)
        parser.add_block(root, element)
        roots.append((index, root, BlockKey(parent.block_type, parent.block_id)))
    roots.sort(key=lambda entry: entry[0])
    return [_DraftRoot(root, parent, index, _subtree(parser.blocks, root)) for index, root, parent in roots]


def _subtree(blocks: Mapping[BlockKey, _BlockData], root: BlockKey) -> dict[BlockKey, _BlockData]:
    found: dict[BlockKey, _BlockData] = {}
    pending = [root]
    while pending:
        key = pending.pop()
        data = blocks.get(key)
        if data is None or key in found:
            continue
        found[key] = data
        pending.extend(data.children or ())
    return found


# Blocks ---------------------------------------------------------------------------------------


class _CourseRead:
    """
    One read of one branch of a course, like a split runtime.

    It makes block objects on demand and caches them, so that ``get_parent()`` and
    ``get_children()`` return the same objects.
    """

    def __init__(
        self, course: OlxCourse, branch_name: str, disabled_xblock_types: frozenset[str] = frozenset()
    ) -> None:
        self.course = course
        self.branch = course._branch(branch_name)
        self.published_on = course._branch(PUBLISHED_BRANCH).edited_on
        self.course_key = course.id.replace(branch=branch_name, version_guid=self.branch.version_guid)
        self.disabled_xblock_types = disabled_xblock_types
        self._blocks: dict[BlockKey, OlxBlock | None] = {}
        self._usage_keys: dict[BlockKey, BlockUsageLocator] = {}
        self._parents: dict[BlockKey, BlockKey] | None = None
        self._dangling_below: dict[BlockKey, BlockKey | None] = {}

    def usage_key(self, key: BlockKey) -> BlockUsageLocator:
        usage_key = self._usage_keys.get(key)
        if usage_key is None:
            usage_key = self._usage_keys[key] = self.course_key.make_usage_key(key.type, key.id)
        return usage_key

    def block(self, key: BlockKey) -> OlxBlock | None:
        """
        The block of ``key`` on this branch, or None if the structure has no such block.

        Like split's runtime: a block whose class fails to construct comes back as an
        :class:`ErrorBlock`, a block of a disabled type as a :class:`HiddenBlock`.
        """
        if key not in self._blocks:
            data = self.branch.blocks.get(key)
            self._blocks[key] = None if data is None else self.make_block(data, self.usage_key(key))
        return self._blocks[key]

    def make_block(self, data: _BlockData, usage_key: BlockUsageLocator) -> OlxBlock:
        """The block object of ``data`` at ``usage_key``, of the class split's runtime would give it."""
        if data.load_error is not None and data.block_type != COURSE_ROOT.type:
            return ErrorBlock(self, data, usage_key)
        if data.block_type in self.disabled_xblock_types:
            return HiddenBlock(self, data, usage_key)
        block_class = OlxCourseBlock if BlockKey(data.block_type, data.block_id) == COURSE_ROOT else OlxBlock
        return block_class(self, data, usage_key)

    def course_block(self) -> OlxCourseBlock:
        """The course block as ``MixedModuleStore.get_course`` returns it: location stripped."""
        data = self.branch.blocks[COURSE_ROOT]
        return OlxCourseBlock(self, data, self.course.id.make_usage_key(COURSE_ROOT.type, COURSE_ROOT.id))

    def check_subtree(self, key: BlockKey) -> None:
        """
        Raise ``ItemNotFoundError`` if a child reference under ``key`` names no block.

        At any depth, as ``SplitModuleStoreRuntime._compute_subtree_edited_internal`` does when it
        fetches every child's data.
        """
        if key not in self._dangling_below:
            dangling = None
            visited = {key}
            pending = [key]
            while pending and dangling is None:
                data = self.branch.blocks.get(pending.pop())
                for child in (data.children or ()) if data is not None else ():
                    if child not in self.branch.blocks:
                        dangling = child
                        break
                    if child not in visited:
                        visited.add(child)
                        pending.append(child)
            self._dangling_below[key] = dangling
        if self._dangling_below[key] is not None:
            raise ItemNotFoundError(self._dangling_below[key])

    def parent_key(self, key: BlockKey) -> BlockKey | None:
        """
        The parent of ``key``.

        A block has one parent: the one under which it first appears in a depth-first,
        pre-order walk from the course.
        """
        if self._parents is None:
            parents: dict[BlockKey, BlockKey] = {}
            visited = set()
            pending: list[tuple[BlockKey, BlockKey | None]] = [(COURSE_ROOT, None)]
            while pending:
                block_key, parent = pending.pop()
                if block_key in visited:
                    continue
                visited.add(block_key)
                if parent is not None:
                    parents[block_key] = parent
                data = self.branch.blocks.get(block_key)
                if data is not None and data.children:
                    pending.extend((child, block_key) for child in reversed(data.children))
            self._parents = parents
        return self._parents.get(key)


class OlxBlock:
    """
    A block read from an :class:`OlxCourse`.

    It has the attributes Studio code reads on real blocks, with the same semantics:
    ``location``/``usage_key``, ``scope_ids``, ``category``, ``url_name``,
    ``display_name``, ``display_name_with_default``, ``has_children``, ``children``,
    ``get_children()``, ``get_parent()``, ``parent``, the settings fields (``start``,
    ``due``, ``graded``, ``format``, ``visible_to_staff_only``, ``hide_from_toc``,
    ``group_access``, the type's own fields such as ``weight``), ``has_score``, ``edited_on``,
    ``subtree_edited_on``, ``published_on`` and ``course_version``.
    """

    __slots__ = ("_child_blocks", "_child_keys", "_data", "_key", "_read", "_scope_ids", "_usage_key", "_values")

    def __init__(self, read: _CourseRead, data: _BlockData, usage_key: BlockUsageLocator) -> None:
        self._read = read
        self._data = data
        self._key = BlockKey(data.block_type, data.block_id)
        self._usage_key = usage_key
        self._scope_ids: ScopeIds | None = None
        self._values: dict[str, Any] = {}
        self._child_keys: list[BlockUsageLocator] | None = None
        self._child_blocks: dict[BlockKey, OlxBlock | None] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location})"

    @property
    def scope_ids(self) -> ScopeIds:
        """``ScopeIds(None, block_type, a DefinitionLocator, usage key)``, as split gives its blocks."""
        if self._scope_ids is None:
            definition_id = _object_id(str(self._read.course.id), self._key.type, self._key.id)
            self._scope_ids = ScopeIds(
                None, self._key.type, DefinitionLocator(self._key.type, definition_id), self._usage_key
            )
        return self._scope_ids

    @property
    def usage_key(self) -> BlockUsageLocator:
        return self._usage_key

    @property
    def location(self) -> BlockUsageLocator:
        return self._usage_key

    @property
    def context_key(self) -> CourseLocator:
        return self._usage_key.context_key

    @property
    def course_id(self) -> CourseLocator:
        return self._usage_key.context_key

    @property
    def category(self) -> str:
        return self._key.type

    @property
    def url_name(self) -> str:
        return self._key.id

    @property
    def display_name_with_default(self) -> str:
        """``display_name``, or when it is None the block id with ``_`` turned into spaces."""
        display_name = self.display_name
        return display_name if display_name is not None else self.usage_key.block_id.replace("_", " ")

    @property
    def has_children(self) -> bool:
        return self._data.children is not None

    @property
    def children(self) -> list[BlockUsageLocator]:
        """The child usage keys in order (duplicates and unloadable children included); containers only."""
        if self._data.children is None:
            raise AttributeError(f"{self.category} blocks have no children")
        return list(self._child_usage_keys())

    def _child_usage_keys(self) -> list[BlockUsageLocator]:
        if self._child_keys is None:
            self._child_keys = [self._read.usage_key(child) for child in self._data.children]
        return self._child_keys

    def get_children(
        self,
        usage_id_filter: Callable[[BlockUsageLocator], bool] | None = None,
        usage_key_filter: Callable[[BlockUsageLocator], bool] | None = None,
    ) -> list[OlxBlock]:
        """The child blocks in order; a child that cannot be loaded is skipped with a warning."""
        if not self.has_children:
            return []
        keep = usage_id_filter or usage_key_filter
        return [
            child
            for key, usage_key in zip(self._data.children, self._child_usage_keys(), strict=True)
            if keep is None or keep(usage_key)
            if (child := self._child(key, usage_key)) is not None
        ]

    def _child(self, key: BlockKey, usage_key: BlockUsageLocator) -> OlxBlock | None:
        if key not in self._child_blocks:
            child = self._read.block(key)
            if child is None:
                log.warning("Unable to load item %s, skipping", usage_key)
            self._child_blocks[key] = child
        return self._child_blocks[key]

    @property
    def parent(self) -> BlockUsageLocator | None:
        parent = self._read.parent_key(self._key)
        return None if parent is None else self._read.usage_key(parent)

    def get_parent(self) -> OlxBlock | None:
        parent = self._read.parent_key(self._key)
        return None if parent is None else self._read.block(parent)

    @property
    def has_score(self) -> bool:
        """As the block's class defines it: a field on LTI, True on problems, ORA and drag and drop, else False."""
        if "has_score" in self._fields():
            return self._field_value("has_score")
        return self.category in _SCORED_TYPES

    def max_score(self) -> float | int | None:
        """
        The points the block is graded out of without a learner, as its class computes them.

        ``XModuleMixin.max_score`` gives None for the types that do not score.

        Problems: the number of response fields, as capa counts them (see :func:`capa_max_score`);
        ORA: the sum of each criterion's best option; drag and drop: 1; LTI: ``weight`` when
        ``has_score``, else None; staffgradedxblock: ``weight``; edx_sga: ``points``. Raises what
        the platform's computation raises on bad content.
        """
        max_score = _MAX_SCORES.get(self.category)
        return None if max_score is None else max_score(self)

    @property
    def course_version(self) -> ObjectId:
        """The version of the branch read: ``ObjectId``, as split sets it (``str()`` gives the 24 hex)."""
        return self._read.branch.version_guid

    @property
    def edited_on(self) -> datetime:
        return self._read.branch.edited_on

    @property
    def subtree_edited_on(self) -> datetime:
        """The newest edit in the subtree; ``ItemNotFoundError`` if it holds a dangling child reference (as split)."""
        self._read.check_subtree(self._key)
        return self._read.branch.edited_on

    @property
    def published_on(self) -> datetime:
        return self._read.published_on

    edited_by = subtree_edited_by = published_by = None

    def __getattr__(self, name: str) -> Any:
        if name == "data" and self.category in _DATA_DEFAULTS:
            return self._data.content if self._data.content is not None else _DATA_DEFAULTS[self.category]
        if name.startswith("_") or name not in self._fields():
            raise AttributeError(f"{type(self).__name__} of type {self.category!r} has no attribute {name!r}")
        value = self._field_value(name)
        if name == "group_id_to_child":  # references become usage keys of this read, like ``children``
            return {group_id: self._read.usage_key(child) for group_id, child in value.items()}
        return value

    def _fields(self) -> dict[str, _Field]:
        """The settings fields of the block's class."""
        return _fields_of(self.category)

    def _field_value(self, name: str) -> Any:
        if name not in self._values:
            self._values[name] = self._compute_field(name)
        value = self._values[name]
        if isinstance(value, (dict, list)):
            return copy.deepcopy(value) if value else type(value)()
        return value

    def _compute_field(self, name: str) -> Any:
        spec = self._fields()[name]
        is_set, value = self._stored_value(name, spec)
        if is_set:
            return value
        parent = self.get_parent() if spec.inherited else None
        return spec.default if parent is None else parent._field_value(name)

    def _stored_value(self, name: str, spec: _Field) -> tuple[bool, Any]:
        """Whether ``name`` is set on this block, and its value; a value that cannot be read is logged and unset."""
        fields = self._data.fields
        if name not in fields:
            return False, None
        try:
            return True, spec.convert(fields[name])
        except (TypeError, ValueError, OverflowError) as error:
            log.warning("%s: ignoring %s=%r: %s", self.location, name, fields[name], error)
            return False, None


class OlxCourseBlock(OlxBlock):
    """The course block: also ``id``, ``org``, ``number`` and the ``display_*_with_default`` helpers."""

    __slots__ = ()

    @property
    def id(self) -> CourseLocator:
        return self.location.course_key

    @property
    def org(self) -> str:
        return self.location.org

    @property
    def number(self) -> str:
        return self.location.course

    @property
    def display_org_with_default(self) -> str:
        return self.display_organization or self.org

    @property
    def display_number_with_default(self) -> str:
        return self.display_coursenumber or self.number


class ErrorBlock(OlxBlock):
    """
    ``xmodule.error_block.ErrorBlock``, as split's runtime returns it for a block that fails to load.

    ``SplitModuleStoreRuntime.xblock_from_json`` makes one when the block's class fails to construct.

    Its location is in the same course (branch and version included) with block type ``error``
    and, as ``ErrorBlock._construct`` renames every ``error`` location, a block id that is the
    SHA-1 of its ``contents``: not the failed block's id. It has no children, no parent, no
    score, no edit info; its settings are the field defaults (its field data is a plain
    ``DictFieldData``); ``error_msg`` says what failed. ``get_children()`` of the parent returns
    it where the failed child stands, while the parent's ``children`` still lists the failed
    child's own key.
    """

    __slots__ = ()

    def __init__(self, read: _CourseRead, data: _BlockData, usage_key: BlockUsageLocator) -> None:
        contents = json.dumps(
            {"block_type": data.block_type, "block_id": data.block_id, "fields": data.fields},
            sort_keys=True,
            default=str,
        )
        digest = hashlib.sha1(contents.encode("utf-8"), usedforsecurity=False).hexdigest()
        super().__init__(read, data, usage_key.course_key.make_usage_key("error", digest))
        self._values.update(contents=contents, error_msg=data.load_error or "Error not available")

    @property
    def category(self) -> str:
        return "error"

    @property
    def scope_ids(self) -> ScopeIds:
        return ScopeIds(None, "error", self._usage_key, self._usage_key)

    @property
    def has_children(self) -> bool:
        return False

    @property
    def children(self) -> list[BlockUsageLocator]:
        raise AttributeError("error blocks have no children")

    @property
    def parent(self) -> None:
        return None

    def get_parent(self) -> None:
        return None

    @property
    def edited_on(self) -> datetime:
        raise AttributeError("an error block has no edit info")

    @property
    def subtree_edited_on(self) -> datetime:
        raise AttributeError("an error block has no edit info")

    @property
    def published_on(self) -> datetime:
        raise AttributeError("an error block has no edit info")

    def _fields(self) -> dict[str, _Field]:
        return _ERROR_BLOCK_FIELDS

    def _compute_field(self, name: str) -> Any:
        return self._fields()[name].default


class HiddenBlock(OlxBlock):
    """
    ``xmodule.hidden_block.HiddenBlock``: a block whose XBlock type is disabled or not installed.

    It is the modulestore's ``default_class``, loaded when the type has no class.

    Same key and type as the block; only the fields every block has (``display_name``,
    ``start``, ``graded``, ...) and ``data``; ``has_score`` False and ``max_score()`` None; no
    children (the type's ``has_children`` is lost with its class).
    """

    __slots__ = ()

    HIDDEN = True

    @property
    def has_children(self) -> bool:
        return False

    @property
    def children(self) -> list[BlockUsageLocator]:
        raise AttributeError(f"{self.category} blocks have no children when the type is disabled")

    @property
    def has_score(self) -> bool:
        return False

    def max_score(self) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        if name == "data":  # RawMixin.data
            return self._data.content or ""
        return super().__getattr__(name)

    def _fields(self) -> dict[str, _Field]:
        return _COMMON_FIELDS


_ERROR_BLOCK_FIELDS = {**_COMMON_FIELDS, "contents": _Field(_to_string), "error_msg": _Field(_to_string)}


# capa's registered tags: ``responsetypes.registry`` (the responses) and ``inputtypes.registry``
# (the answer fields) of xmodule/capa.
CAPA_RESPONSE_TAGS = frozenset(
    {
        "choiceresponse",
        "multiplechoiceresponse",
        "truefalseresponse",
        "optionresponse",
        "numericalresponse",
        "stringresponse",
        "customresponse",
        "symbolicresponse",
        "coderesponse",
        "externalresponse",
        "formularesponse",
        "schematicresponse",
        "imageresponse",
        "annotationresponse",
        "choicetextresponse",
    }
)
CAPA_INPUT_TAGS = frozenset(
    {
        "textline",
        "textbox",
        "codeinput",
        "choicegroup",
        "radiogroup",
        "checkboxgroup",
        "optioninput",
        "javascriptinput",
        "jsinput",
        "filesubmission",
        "matlabinput",
        "schematic",
        "imageinput",
        "crystallography",
        "vsepr_input",
        "chemicalequationinput",
        "formulaequationinput",
        "drag_and_drop_input",
        "editamoleculeinput",
        "designprotein2dinput",
        "editageneinput",
        "annotationinput",
        "radiotextgroup",
        "checkboxtextgroup",
    }
)


def capa_max_score(problem_xml: str) -> int:
    """
    ``LoncapaProblem.get_max_score()`` of a problem's XML.

    Over every response element, the ``points`` of each answer field inside it (``int(points)``,
    1 when absent). Raises ``ParseError`` for XML that does not parse and ``ValueError`` for a
    ``points`` that is not an integer, as capa raises.
    """
    root = _parse_xml(problem_xml.encode("utf-8"))
    total = 0
    for response in root.iter():
        if response.tag in CAPA_RESPONSE_TAGS:
            for field in response.iter():
                if field is not response and field.tag in CAPA_INPUT_TAGS:
                    total += int(field.get("points", "1"))
    return total


def _ora_max_score(block: OlxBlock) -> int:
    """ORA's ``LmsCompatibilityMixin.max_score``: each rubric criterion's best option, summed."""
    if block._data.content is None:
        return 0
    rubric = _parse_xml(block._data.content.encode("utf-8")).find("rubric")
    criteria = rubric.findall("criterion") if rubric is not None else []
    return sum(
        max((int(option.get("points")) for option in criterion.findall("option")), default=0) for criterion in criteria
    )


def _lti_max_score(block: OlxBlock) -> float | None:
    """LTI (``lti_block`` and ``lti_consumer``): ``self.weight if self.has_score else None``."""
    return block.weight if block.has_score else None


_MAX_SCORES: dict[str, Callable[[OlxBlock], Any]] = {
    "problem": lambda block: capa_max_score(block.data),
    "openassessment": _ora_max_score,
    "drag-and-drop-v2": lambda block: 1,
    "lti": _lti_max_score,
    "lti_consumer": _lti_max_score,
    "staffgradedxblock": lambda block: block.weight,  # StaffGradedXBlock.max_score
    "edx_sga": lambda block: block.points,  # StaffGradedAssignmentXBlock.max_score
}


class OlxCourseSummary:
    """``xmodule.course_block.CourseSummary``: a course listed without loading it."""

    def __init__(
        self,
        course_locator: CourseLocator,
        display_name: str | None = "Empty",
        display_coursenumber: str | None = None,
        display_organization: str | None = None,
        end: datetime | None = None,
    ) -> None:
        self.display_coursenumber = display_coursenumber
        self.display_organization = display_organization
        self.display_name = display_name
        self.id = course_locator
        self.location = course_locator.make_usage_key("course", "course")
        self.end = end

    def __repr__(self) -> str:
        return f"OlxCourseSummary({self.id})"

    @property
    def display_org_with_default(self) -> str:
        return self.display_organization or self.location.org

    @property
    def display_number_with_default(self) -> str:
        return self.display_coursenumber or self.location.course

    def has_ended(self) -> bool:
        return self.end is not None and datetime.now(UTC) > self.end


# The store ------------------------------------------------------------------------------------


class _ScannedExport(NamedTuple):
    signature: tuple
    course: OlxCourse | None


class OlxModuleStore:
    """
    Read-only modulestore over :class:`OlxCourse` objects, with the real reading API.

    Courses come from the constructor and :meth:`add_course`, and, for a store made with
    :meth:`from_directory` (or ``export_root=``), from the exports directly under that
    directory: each sub-directory with a ``course.xml`` and each ``*.tar.gz``. The directory
    is re-scanned on every read, and an export is re-parsed when it changes (its inode, ctime,
    newest file mtime or sidecar), so exports that another process replaces are seen. An
    export's key comes from its ``course.xml``, unless a sidecar file ``<export>.course_key``
    beside it (``math.tar.gz.course_key``, ``math.course_key`` for a folder ``math``) holds
    another key. Entries whose name starts with ``.`` are ignored. Added courses take
    precedence over exports with the same key.

    ``branch_setting_func`` returns the default branch setting; without it the store reads
    ``draft-preferred``, as Studio does.

    ``disabled_xblock_types`` (the modulestore option of that name: XBlock types that are
    disabled, or whose package is not installed) load as :class:`HiddenBlock`; it can be
    changed between reads (``store.disabled_xblock_types = {...}``).
    """

    def __init__(
        self,
        courses: Iterable[OlxCourse] = (),
        *,
        export_root: str | os.PathLike | None = None,
        branch_setting_func: Callable[[], str | None] | None = None,
        disabled_xblock_types: Iterable[str] = (),
    ) -> None:
        self.export_root = Path(export_root) if export_root is not None else None
        self.default_branch_setting_func = branch_setting_func or (lambda: DRAFT_PREFERRED)
        self.disabled_xblock_types = frozenset(disabled_xblock_types)
        self.thread_cache = threading.local()
        self._added: dict[CourseKey, OlxCourse] = {}
        self._scanned: dict[Path, _ScannedExport] = {}
        self._scan_lock = threading.Lock()
        for course in courses:
            self.add_course(course)

    @classmethod
    def from_directory(
        cls, root: str | os.PathLike, *, branch_setting_func: Callable[[], str | None] | None = None
    ) -> OlxModuleStore:
        """A store serving the exports under ``root`` (see the class docstring)."""
        return cls(export_root=root, branch_setting_func=branch_setting_func)

    def add_course(self, olx_course: OlxCourse) -> None:
        """Serve ``olx_course`` (replacing any course with the same key)."""
        self._added[olx_course.id] = olx_course

    def remove_course(self, course_key: CourseKey) -> None:
        """Stop serving a course added with :meth:`add_course`; KeyError if there is none."""
        del self._added[_plain(course_key)]

    # Reading API, as MixedModuleStore has it.

    def get_course(self, course_key: CourseKey, depth: int | None = 0, **kwargs: Any) -> OlxCourseBlock | None:
        """
        The course block, its location without branch or version, or None for an unknown course.

        ``depth`` and ``revision=`` are accepted and have no effect (blocks load on
        demand; split ignores ``revision`` here too).
        """
        assert isinstance(course_key, CourseKey)
        course = self._courses().get(_plain(course_key))
        if course is None:
            return None
        return self._read(course, self._branch_for(course_key)).course_block()

    def get_item(
        self, usage_key: UsageKey, depth: int | None = 0, revision: str | None = None, **kwargs: Any
    ) -> OlxBlock:
        """
        The block of ``usage_key``, its location without branch or version (as Mixed returns it).

        The branch is the key's own, else ``revision`` (``rev-opt-published-only`` or
        ``rev-opt-draft-only``, as split_draft honours it), else the branch setting's. Detached
        blocks (``about`` items) are found too. A block that fails to load comes back as an
        :class:`ErrorBlock`.

        Raises:
            ItemNotFoundError: if the course or the block does not exist.
        """
        assert isinstance(usage_key, UsageKey)
        course_key = usage_key.course_key
        course = self._courses().get(_plain(course_key)) if isinstance(course_key, CourseKey) else None
        if course is None:
            raise ItemNotFoundError(usage_key)
        branch = getattr(course_key, "branch", None)
        if branch not in (PUBLISHED_BRANCH, DRAFT_BRANCH):
            branch = _REVISION_BRANCHES.get(revision) or self._branch_for(course_key)
        read = self._read(course, branch)
        key = BlockKey(usage_key.block_type, usage_key.block_id)
        if key == COURSE_ROOT:
            return read.course_block()
        data = read.branch.blocks.get(key)
        if data is None:
            raise ItemNotFoundError(usage_key)
        return read.make_block(data, course.id.make_usage_key(key.type, key.id))

    def has_course(self, course_key: CourseKey, ignore_case: bool = False, **kwargs: Any) -> CourseKey | None:
        """The key of the course if the store has it (matching case-insensitively if asked), else None."""
        assert isinstance(course_key, CourseKey)
        wanted = _plain(course_key)
        for key in self._courses():
            if key == wanted or (ignore_case and str(key).lower() == str(wanted).lower()):
                return key
        return None

    def get_courses(self, **kwargs: Any) -> list[OlxCourseBlock]:
        """The course blocks of all courses, on the current branch."""
        branch = self._branch_for(None)
        return [self._read(course, branch).course_block() for course in self._courses().values()]

    def get_course_summaries(self, **kwargs: Any) -> list[OlxCourseSummary]:
        """A summary of each course (display name, number, organization, end), on the current branch."""
        branch = self._branch_for(None)
        return [_summary(self._read(course, branch)) for course in self._courses().values()]

    def make_course_key(self, org: str, course: str, run: str) -> CourseLocator:
        """The key a course ``org``/``course``/``run`` has in this store (it may not exist)."""
        return CourseLocator(org, course, run)

    @contextmanager
    def branch_setting(self, branch_setting: str, course_id: CourseKey | None = None) -> Iterator[None]:
        """Read with ``branch_setting`` (``published-only`` or ``draft-preferred``) in this thread."""
        previous = getattr(self.thread_cache, "branch_setting", None)
        self.thread_cache.branch_setting = branch_setting
        try:
            yield
        finally:
            self.thread_cache.branch_setting = previous

    def get_branch_setting(self, course_id: CourseKey | None = None) -> str | None:
        """The thread's branch setting, else the default one."""
        return getattr(self.thread_cache, "branch_setting", None) or self.default_branch_setting_func()

    @contextmanager
    def bulk_operations(
        self, course_id: CourseKey | None, emit_signals: bool = True, ignore_case: bool = False
    ) -> Iterator[None]:
        """Accepted for compatibility; reads need no bulk operation here."""
        yield

    # Exports under the root.

    def export_paths(self, course_key: CourseKey) -> list[Path]:
        """The exports under the export root that serve ``course_key``."""
        self._courses()
        wanted = _plain(course_key)
        with self._scan_lock:
            return [
                path
                for path, scanned in self._scanned.items()
                if scanned.course is not None and scanned.course.id == wanted
            ]

    def _read(self, course: OlxCourse, branch_name: str) -> _CourseRead:
        return _CourseRead(course, branch_name, self.disabled_xblock_types)

    def _branch_for(self, course_key: CourseKey | None) -> str:
        """The branch a read uses: the key's own branch, else the branch setting's."""
        branch = getattr(course_key, "branch", None)
        if branch in (PUBLISHED_BRANCH, DRAFT_BRANCH):
            return branch
        return DRAFT_BRANCH if self.get_branch_setting(course_key) == DRAFT_PREFERRED else PUBLISHED_BRANCH

    def _courses(self) -> dict[CourseKey, OlxCourse]:
        courses = self._scan_exports() if self.export_root is not None else {}
        courses.update(self._added)
        return courses

    def _scan_exports(self) -> dict[CourseKey, OlxCourse]:
        courses: dict[CourseKey, OlxCourse] = {}
        with self._scan_lock:
            present = set()
            for path in _export_candidates(self.export_root):
                present.add(path)
                course = self._scanned_course(path)
                if course is None:
                    continue
                if course.id in courses:
                    log.warning(
                        "%s serves %s, already served by %s; ignored", path, course.id, courses[course.id].source
                    )
                    continue
                courses[course.id] = course
            for path in set(self._scanned) - present:
                del self._scanned[path]
        return courses

    def _scanned_course(self, path: Path) -> OlxCourse | None:
        try:
            signature = _export_signature(path)
        except OSError:
            return None  # replaced or removed while scanning; the next read sees it
        scanned = self._scanned.get(path)
        if scanned is None or scanned.signature != signature:
            scanned = self._scanned[path] = _ScannedExport(signature, _load_scanned(path))
        return scanned.course


# ``ModuleStoreEnum.RevisionOption`` values that pick a branch in split_draft's ``get_item``.
_REVISION_BRANCHES = {"rev-opt-published-only": PUBLISHED_BRANCH, "rev-opt-draft-only": DRAFT_BRANCH}


def _plain(course_key: CourseKey) -> CourseKey:
    return course_key.for_branch(None)


def _summary(read: _CourseRead) -> OlxCourseSummary:
    block = read.course_block()
    return OlxCourseSummary(
        read.course.id,
        display_name=block.display_name,
        display_coursenumber=block.display_coursenumber,
        display_organization=block.display_organization,
        end=block.end,
    )


def _export_candidates(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    candidates = []
    for entry in sorted(os.scandir(root), key=lambda entry: entry.name):
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        is_folder_export = entry.is_dir() and (path / "course.xml").is_file()
        is_tarball = entry.name.endswith(_TARBALL_SUFFIX) and entry.is_file()
        if is_folder_export or is_tarball:
            candidates.append(path)
    return candidates


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + COURSE_KEY_SIDECAR_SUFFIX)


def _export_signature(path: Path) -> tuple:
    """
    What changes when an export is replaced or edited.

    Its inode, ctime and size, the newest mtime and the number of its files and folders,
    and its sidecar's text.
    """
    stat = path.stat()
    newest, entries = stat.st_mtime_ns, 0
    if path.is_dir():
        for folder, folders, files in os.walk(path):
            for name in (*folders, *files):
                newest = max(newest, os.stat(os.path.join(folder, name)).st_mtime_ns)
                entries += 1
    # A string, not a Path: on Python 3.11 each new Path interns its name, and the churn of
    # the interpreter's table of interned strings at every read would show in memory tests.
    sidecar = os.fspath(path) + COURSE_KEY_SIDECAR_SUFFIX
    sidecar_text = None
    if os.path.isfile(sidecar):
        with open(sidecar, encoding="utf-8") as file:
            sidecar_text = file.read().strip()
    return stat.st_ino, stat.st_ctime_ns, stat.st_size, newest, entries, sidecar_text


def _load_scanned(path: Path) -> OlxCourse | None:
    """The course of an export found under a store's root, or None (logged) if it cannot be read."""
    sidecar = _sidecar(path)
    try:
        course_key = None
        if sidecar.is_file():
            text = sidecar.read_text(encoding="utf-8").strip()
            try:
                course_key = CourseKey.from_string(text)
            except InvalidKeyError as error:
                raise OlxError(sidecar, f"not a course key: {text!r}") from error
        return load_course_export(path, course_key=course_key)
    except OlxError as error:
        log.warning("Skipping the export %s: %s", path, error)
        return None


def pack_export(export: str | os.PathLike, tarball: str | os.PathLike) -> None:
    """Write the regular files of the export directory ``export`` into the ``.tar.gz`` file ``tarball``."""
    export = Path(export)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(export.rglob("*")):
            if path.is_file() and not path.is_symlink():
                archive.add(path, arcname=path.relative_to(export).as_posix(), recursive=False)
    Path(tarball).write_bytes(buffer.getvalue())
