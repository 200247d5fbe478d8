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

OLX rules follow ``xmodule/modulestore/xml.py`` and ``xml_block.py``: a pointer tag (no
children, no text, its only attribute ``url_name``) loads ``<tag>/<url_name>.xml``; any other
element is the block itself, its id taken from ``url_name``, ``slug``, ``name`` or
``display_name``, else ``<tag>_<12 hex of a hash of the element>`` (the real importer's rule;
the hash is not byte-identical to lxml's). An element with ``xblock-family`` is always inline,
as pure XBlocks export themselves. Only container types have block children; the inner XML of
other blocks is content. Odd content never stops a load: a child whose file is missing or
malformed stays in its parent's ``children`` and is dropped, with a warning, by
``get_children()``, as ``XModuleMixin.get_child`` drops children that fail to load.
"""

from __future__ import annotations

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
        "xblock-family",
        "parent_url",
        "parent_sequential_url",
        "index_in_children_list",
    }
)
_ASIDE_FAMILY = "xblock_asides.v1"
_BLOCK_ID = re.compile(r"^[\w\-~.:]+$")  # what a course-v1 usage key accepts ("%" is not)
_XML_ERRORS = (ParseError, DefusedXmlException)


class OlxError(ValueError):
    """An export that cannot be read at all: the path and the reason."""

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


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
    "library_content": {
        "display_name": _Field(_to_string, "Randomized Content Block"),
        "max_count": _Field(_to_int, 1),
    },
    "split_test": {"display_name": _Field(_to_string, "Content Experiment")},
}
# Types whose class sets ``has_score = True`` (LTI's is a field, above).
_SCORED_TYPES = frozenset({"problem", "openassessment", "drag-and-drop-v2"})

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
    """One stored block: its settings as stored values, and its child references (None for leaves)."""

    block_type: str
    block_id: str
    fields: dict[str, Any]
    children: list[BlockKey] | None


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
        parent_data = self._blocks[parent]
        if parent_data.children is None:
            raise ValueError(f"{parent} is a {parent.type} block, which has no children")
        if not _BLOCK_ID.match(block_id):
            raise ValueError(f"{block_id!r} is not a valid block id")
        key = BlockKey(block_type, block_id)
        if key not in self._blocks:
            children = [] if block_type in _CONTAINER_TYPES else None
            self._blocks[key] = _BlockData(block_type, block_id, dict(fields), children)
        parent_data.children.append(key)
        return key

    def build(self, *, edited_on: datetime | None = None) -> OlxCourse:
        """The course as built so far; ``edited_on`` (default: now) is its edit and publish time."""
        blocks = {
            key: replace(
                data, fields=dict(data.fields), children=None if data.children is None else list(data.children)
            )
            for key, data in self._blocks.items()
        }
        content = json.dumps([(key, data.fields, data.children) for key, data in blocks.items()], default=str)
        version = _object_id(str(self.course_key), hashlib.sha1(content.encode(), usedforsecurity=False).hexdigest())
        moment = _to_date(edited_on) if edited_on else datetime.now(UTC)
        return OlxCourse(self.course_key, _Branch(blocks, version, moment))


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
        if not name.endswith((".xml", ".json")):
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
        data = _BlockData(key.type, key.id, fields, [] if is_container else None)
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
    parser.add_block(COURSE_ROOT, course_element, policy_key=f"course/{run}")

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

    def __init__(self, course: OlxCourse, branch_name: str) -> None:
        self.course = course
        self.branch = course._branch(branch_name)
        self.published_on = course._branch(PUBLISHED_BRANCH).edited_on
        self.course_key = course.id.replace(branch=branch_name, version_guid=self.branch.version_guid)
        self._blocks: dict[BlockKey, OlxBlock | None] = {}
        self._usage_keys: dict[BlockKey, BlockUsageLocator] = {}
        self._parents: dict[BlockKey, BlockKey] | None = None

    def usage_key(self, key: BlockKey) -> BlockUsageLocator:
        usage_key = self._usage_keys.get(key)
        if usage_key is None:
            usage_key = self._usage_keys[key] = self.course_key.make_usage_key(key.type, key.id)
        return usage_key

    def block(self, key: BlockKey) -> OlxBlock | None:
        """The block of ``key`` on this branch, or None if it could not be loaded."""
        if key not in self._blocks:
            data = self.branch.blocks.get(key)
            if data is None:
                self._blocks[key] = None
            else:
                block_class = OlxCourseBlock if key == COURSE_ROOT else OlxBlock
                self._blocks[key] = block_class(self, data, self.usage_key(key))
        return self._blocks[key]

    def course_block(self) -> OlxCourseBlock:
        """The course block as ``MixedModuleStore.get_course`` returns it: location stripped."""
        data = self.branch.blocks[COURSE_ROOT]
        return OlxCourseBlock(self, data, self.course.id.make_usage_key(COURSE_ROOT.type, COURSE_ROOT.id))

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
        if "has_score" in _fields_of(self.category):
            return self._field_value("has_score")
        return self.category in _SCORED_TYPES

    @property
    def course_version(self) -> ObjectId:
        """The version of the branch read: ``ObjectId``, as split sets it (``str()`` gives the 24 hex)."""
        return self._read.branch.version_guid

    @property
    def edited_on(self) -> datetime:
        return self._read.branch.edited_on

    @property
    def subtree_edited_on(self) -> datetime:
        return self._read.branch.edited_on

    @property
    def published_on(self) -> datetime:
        return self._read.published_on

    edited_by = subtree_edited_by = published_by = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in _fields_of(self.category):
            raise AttributeError(f"{type(self).__name__} of type {self.category!r} has no attribute {name!r}")
        return self._field_value(name)

    def _field_value(self, name: str) -> Any:
        if name not in self._values:
            self._values[name] = self._compute_field(name)
        value = self._values[name]
        return value.copy() if isinstance(value, (dict, list)) else value

    def _compute_field(self, name: str) -> Any:
        spec = _fields_of(self.category)[name]
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
    """

    def __init__(
        self,
        courses: Iterable[OlxCourse] = (),
        *,
        export_root: str | os.PathLike | None = None,
        branch_setting_func: Callable[[], str | None] | None = None,
    ) -> None:
        self.export_root = Path(export_root) if export_root is not None else None
        self.default_branch_setting_func = branch_setting_func or (lambda: DRAFT_PREFERRED)
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
        return _CourseRead(course, self._branch_for(course_key)).course_block()

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
        return [_CourseRead(course, branch).course_block() for course in self._courses().values()]

    def get_course_summaries(self, **kwargs: Any) -> list[OlxCourseSummary]:
        """A summary of each course (display name, number, organization, end), on the current branch."""
        branch = self._branch_for(None)
        return [_summary(course, branch) for course in self._courses().values()]

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


def _plain(course_key: CourseKey) -> CourseKey:
    return course_key.for_branch(None)


def _summary(course: OlxCourse, branch_name: str) -> OlxCourseSummary:
    block = _CourseRead(course, branch_name).course_block()
    return OlxCourseSummary(
        course.id,
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
    sidecar = _sidecar(path)
    sidecar_text = sidecar.read_text(encoding="utf-8").strip() if sidecar.is_file() else None
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
