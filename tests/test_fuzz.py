"""
Fuzzing the readers of untrusted input, with hypothesis (bounded: ``max_examples`` each,
no deadline):

- the OLX reader (``olx_modulestore``, behind the preview command and the modulestore
  stand-in): random XML, broken pointer tags, huge attributes, bad dates, policies of the
  wrong shape, non-UTF-8 bytes, symlinks, tarballs with ``../`` members, links and special
  files. It either reads the course (and then every block, every field and the outline can
  be read, and every operation is one the contract accepts) or raises ``OlxError``;
- the backend's answers (``virtu_sync_plugin.backend_client``): arbitrary bytes, statuses
  and headers, as ``requests.Response`` objects and over real HTTP from a socket on
  127.0.0.1 that answers whatever hypothesis says. Either a checked ``BatchResponse`` (or
  state document) or a ``BackendError``.

Never ``KeyError``, ``AttributeError``, ``TypeError``, ``RecursionError``, ... The crashes
these tests found are kept as explicit ``@example``s.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import tarfile
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
import requests
from hypothesis import HealthCheck, assume, currently_in_test_context, example, given, settings
from hypothesis import event as hypothesis_event
from hypothesis import strategies as st
from olx_modulestore import DRAFT_PREFERRED, PUBLISHED_ONLY, OlxError, OlxModuleStore, load_course_export

from tests.conftest import data_field_problems
from tests.support import openapi
from virtu_sync_plugin.backend_client import (
    MAX_DETAIL_CHARS,
    BackendClient,
    BackendError,
    BatchResponse,
    RetryPolicy,
    _error_for,
    _parse_batch_response,
    _retry_after,
)
from virtu_sync_plugin.conf import DEFAULTS, SyncSettings
from virtu_sync_plugin.core.diff import diff_outlines
from virtu_sync_plugin.modulestore import outline_from_course_block

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_COURSE = REPO_ROOT / "demo" / "sample_course"
BLOCK_TYPES = DEFAULTS["VIRTU_SYNC_ASSESSMENT_BLOCK_TYPES"]
#: 200 examples a test (more under HYPOTHESIS_PROFILE=thorough), no deadline.
FUZZ = settings(
    max_examples=max(200, settings().max_examples),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FUZZ_HTTP = settings(FUZZ, max_examples=max(100, settings().max_examples // 2))
#: Fields read on every block (what the plugin and Studio code read), besides the structure.
FIELDS = (
    "display_name", "display_name_with_default", "start", "due", "graded", "format", "visible_to_staff_only",
    "hide_from_toc", "group_access", "self_paced", "weight", "has_score", "end", "language", "max_count",
    "days_early_for_beta", "relative_weeks_due", "highlights", "url_name", "category", "location", "edited_on",
    "course_version", "parent",
)  # fmt: skip


# The OLX reader -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """A symbolic link in an export, to ``target`` (relative to the link's folder, or absolute)."""

    target: str


def write_export(root: Path, files: dict[str, bytes | Link]) -> Path:
    for relpath, content in files.items():
        path = root / relpath
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Link):
                os.symlink(content.target, path)
            else:
                path.write_bytes(content)
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            pass  # two generated paths collide (a file where a folder goes): keep the first
    return root


def event(label: str) -> None:
    """Count an outcome in hypothesis' statistics (``--hypothesis-show-statistics``)."""
    if currently_in_test_context():
        hypothesis_event(label)


def walk(block):
    """Every block under ``block`` once, through ``get_children()``, without recursion."""
    seen, pending = set(), [block]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend(current.get_children())


def read_everything(path: Path):
    """
    Read the export at ``path`` as everything that reads exports does: the load, both
    branches, every block and field, the outline and its operations. Only ``OlxError`` may
    come out of it, and only from the load; returns the outlines of the published and the
    draft branch (None when the export cannot be read).
    """
    try:
        course = load_course_export(path)
    except OlxError as error:
        assert isinstance(error, ValueError) and error.reason and error.path
        event(f"refused (OlxError): {error.reason[:30]}")
        return None
    store = OlxModuleStore([course])
    outlines = []
    for branch in (PUBLISHED_ONLY, DRAFT_PREFERRED):
        with store.branch_setting(branch, course.id):
            course_block = store.get_course(course.id, depth=None)
            for block in walk(course_block):
                for name in FIELDS:
                    getattr(block, name, None)
                block.get_parent()
                if block.has_children:
                    assert len(block.children) >= len(block.get_children())
            outlines.append(outline_from_course_block(course_block, course.id, assessment_block_types=BLOCK_TYPES))
    store.get_course_summaries()
    event(f"read: {min(len(outlines[0]), 5)}{'+' if len(outlines[0]) >= 5 else ''} entities")
    wires = [
        json.loads(json.dumps(operation.to_dict(), allow_nan=False)) for operation in diff_outlines(None, outlines[0])
    ]
    for wire in wires:
        assert openapi.is_valid("Operation", wire), openapi.schema_errors("Operation", wire)
    assert not data_field_problems(wires)  # the document lets a misnamed data field pass
    return outlines


TAGS = (
    "course", "chapter", "sequential", "vertical", "problem", "html", "video", "library_content", "split_test",
    "conditional", "lti", "lti_consumer", "openassessment", "drag-and-drop-v2", "wiki", "show", "discussion", "x",
)  # fmt: skip
ATTRIBUTES = (
    "url_name", "display_name", "start", "due", "end", "graded", "weight", "format", "visible_to_staff_only",
    "hide_from_toc", "group_access", "self_paced", "xblock-family", "slug", "name", "org", "course", "language",
    "max_count", "has_score", "parent_url", "index_in_children_list", "highlights", "days_early_for_beta",
)  # fmt: skip
POINTERS = ("c1", "c2", "s1", "v1", "p1", "d1", "R", "..:..:outside", "a:b", "%2e%2e", "", " ", "é")
ODD_VALUES = (
    "true", "false", "null", "NaN", "Infinity", "-0", "1e300", "-1e17", "1" + "0" * 400, "9" * 5000,
    "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "2026-13-45T99:99:99Z", "2026-09-01T08:00:00Z",
    "2026-09-01", "[]", "{}", '{"1": [1]}', '{"x": 1}', "[" * 5000 + "]" * 5000, "..", "../../etc/passwd",
    "xblock.v1", "xblock_asides.v1", "\u202e\u0000\ud800", "😀" * 50,
)  # fmt: skip

#: Text that XML can carry (no controls, no lone surrogates); the odd values bring the rest.
xml_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40)
attribute_values = st.one_of(
    xml_text, xml_text, xml_text, st.sampled_from(ODD_VALUES), st.integers().map(str),
    st.floats().map(repr), st.sampled_from(POINTERS), st.just("x" * 100_000),
)  # fmt: skip
attributes = st.dictionaries(st.sampled_from(ATTRIBUTES), attribute_values, max_size=5)
#: The tags expected at each depth below the course (then components, some of them containers).
LEVELS = (
    ("chapter",), ("sequential",), ("vertical",),
    ("problem", "html", "lti", "openassessment", "drag-and-drop-v2", "library_content", "split_test", "conditional"),
)  # fmt: skip


@st.composite
def elements(draw, depth=0):
    """An XML element, mostly where a course has it: a pointer tag, or an inline block with attributes and children."""
    expected = LEVELS[min(depth, len(LEVELS) - 1)]
    tag = draw(st.sampled_from(expected)) if draw(st.integers(0, 4)) else draw(st.sampled_from(TAGS))
    if draw(st.integers(0, 3)) == 0:
        return f"<{tag} url_name={quoteattr(draw(st.sampled_from(POINTERS)))}/>"
    attrs = "".join(f" {name}={quoteattr(value)}" for name, value in draw(attributes).items())
    children = draw(st.lists(elements(depth + 1), max_size=3)) if depth < 5 else []
    text = escape(draw(xml_text)) if draw(st.booleans()) else ""
    return f"<{tag}{attrs}>{text}{''.join(children)}</{tag}>"


course_elements = st.builds(
    lambda attrs, children: (
        "<course" + "".join(f" {k}={quoteattr(v)}" for k, v in attrs.items()) + ">" + "".join(children) + "</course>"
    ).encode("utf-8", "surrogatepass"),
    attributes,
    st.lists(elements(), max_size=4),
)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | st.sampled_from(ODD_VALUES),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
policies = st.one_of(
    json_values.map(json.dumps),
    st.dictionaries(
        st.sampled_from(["course/R", "chapter/c1", "sequential/s1", "vertical/v1", "problem/p1", "x"]),
        json_values | st.dictionaries(st.sampled_from(ATTRIBUTES), json_values, max_size=4),
        max_size=4,
    ).map(json.dumps),
)
encodings = st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-16", "latin-1", "cp1252", "utf-8-sig"])


def encoded(text: str, codec: str) -> bytes:
    """``text`` in ``codec``: lone surrogates kept (bytes no decoder takes), other misfits replaced."""
    return text.encode(codec, "surrogatepass" if codec.startswith("utf") else "replace")


file_contents = st.one_of(
    st.tuples(elements(), encodings).map(lambda pair: encoded(*pair)),
    st.tuples(elements(), encodings).map(
        lambda pair: encoded(f'<?xml version="1.0" encoding="{pair[1]}"?>{pair[0]}', pair[1])
    ),
    st.binary(max_size=200),
    st.builds(Link, st.sampled_from(["../outside.xml", "/etc/hostname", "c2.xml", "loop.xml", "..", "/"])),
)
COURSE_XML = b'<course url_name="R" org="O" course="C"/>'
course_xml = st.one_of(
    st.just(COURSE_XML),
    st.just(COURSE_XML),
    st.just(COURSE_XML),
    st.just(COURSE_XML),
    st.builds(
        lambda attrs, inline: (
            "<course" + "".join(f" {k}={quoteattr(v)}" for k, v in attrs.items()) + ">" + inline + "</course>"
        ).encode("utf-8", "surrogatepass"),
        st.dictionaries(st.sampled_from(["url_name", "org", "course", "slug"]), attribute_values, max_size=4),
        st.lists(elements(), max_size=2).map("".join),
    ),
    file_contents,
)
paths = st.sampled_from(
    [
        "course/R.xml", "chapter/c1.xml", "chapter/c2.xml", "sequential/s1.xml", "vertical/v1.xml", "problem/p1.xml",
        "html/p1.xml", "chapter/loop.xml", "drafts/vertical/d1.xml", "drafts/problem/p1.xml", "drafts/x.xml",
        "chapter/a/b.xml", "problem/a/b.xml", "course/R.xml/x.xml", "..xml", "chapter/%2e%2e.xml",
    ]
)  # fmt: skip
exports = st.fixed_dictionaries(
    {
        "course.xml": course_xml,
        "course/R.xml": st.one_of(course_elements, course_elements, course_elements, file_contents),
    },
    optional={"policies/R/policy.json": policies.map(str.encode), "policies/R.json": policies.map(str.encode)},
).flatmap(lambda base: st.dictionaries(paths, file_contents, max_size=6).map(lambda more: {**more, **base}))

DEEP = "<chapter>" * 3000 + "</chapter>" * 3000


@FUZZ
@given(files=exports)
# Crashes found: TypeError/ValueError from policy entries that are not objects; OverflowError
# from dates beyond what a datetime holds in UTC; RecursionError from nesting deeper than the
# stack (blocks, content, JSON in a policy or an attribute); RuntimeError from a symlink loop;
# InvalidKeyError from a block id a usage key refuses ("%").
@example(files={"course.xml": COURSE_XML, "course/R.xml": b"<course/>", "policies/R/policy.json": b'{"course/R": 5}'})
@example(files={"course.xml": COURSE_XML, "course/R.xml": b"<course/>", "policies/R.json": b'{"course/R": "ab"}'})
@example(files={"course.xml": COURSE_XML, "course/R.xml": b'<course><chapter start="1e300"/></course>'})
@example(
    files={"course.xml": COURSE_XML, "course/R.xml": b'<course><chapter start="0001-01-01T00:00:00+05:00"/></course>'}
)
@example(
    files={
        "course.xml": COURSE_XML,
        "course/R.xml": b'<course><chapter url_name="c1"/></course>',
        "chapter/c1.xml": (
            b'<chapter><sequential><vertical><problem display_name="P"/></vertical></sequential></chapter>'
        ),
        "policies/R/policy.json": b'{"chapter/c1": {"start": 1e300, "due": "9999-12-31T23:59:59-05:00"}}',
    }
)
@example(files={"course.xml": COURSE_XML, "course/R.xml": f"<course>{DEEP}</course>".encode()})
@example(
    files={
        "course.xml": COURSE_XML,
        "course/R.xml": b"<course><html>" + b"<b>" * 3000 + b"</b>" * 3000 + b"</html></course>",
    }
)
@example(files={"course.xml": COURSE_XML, "course/R.xml": b"<course/>", "policies/R.json": b"[" * 5000 + b"]" * 5000})
@example(files={"course.xml": COURSE_XML, "course/R.xml": b'<course><chapter weight="' + b"[" * 5000 + b'"/></course>'})
@example(
    files={
        "course.xml": COURSE_XML,
        "course/R.xml": b'<course><chapter url_name="loop"/></course>',
        "chapter/loop.xml": Link("loop.xml"),
    }
)
@example(files={"course.xml": COURSE_XML, "course/R.xml": b'<course><chapter display_name="100% done"/></course>'})
@example(files={"course.xml": COURSE_XML, "course/R.xml": b'<course><chapter url_name="%2e%2e"/></course>'})
def test_the_olx_reader_reads_a_course_or_says_why_it_cannot(files):
    with tempfile.TemporaryDirectory() as scratch:
        (Path(scratch) / "outside.xml").write_text('<chapter display_name="OUTSIDE THE EXPORT"/>')
        export = write_export(Path(scratch) / "export", files)
        outlines = read_everything(export)
    for outline in outlines or ():  # nothing from outside the export was read
        assert all(entity.data["title"] != "OUTSIDE THE EXPORT" for entity in outline.entities.values())


SAMPLE_FILES = sorted(path.relative_to(SAMPLE_COURSE).as_posix() for path in SAMPLE_COURSE.rglob("*.xml"))
mutations = st.lists(
    st.one_of(
        st.tuples(st.just("truncate"), st.sampled_from(SAMPLE_FILES), st.floats(0, 1)),
        st.tuples(
            st.just("insert"), st.sampled_from(SAMPLE_FILES), st.floats(0, 1), st.binary(min_size=1, max_size=20)
        ),
        st.tuples(st.just("replace"), st.sampled_from(SAMPLE_FILES), file_contents),
        st.tuples(st.just("delete"), st.sampled_from(SAMPLE_FILES)),
        st.tuples(st.just("attribute"), st.sampled_from(SAMPLE_FILES), st.sampled_from(ATTRIBUTES), attribute_values),
        st.tuples(st.just("reencode"), st.sampled_from(SAMPLE_FILES), st.sampled_from(["utf-16", "latin-1", "cp037"])),
    ),
    min_size=1,
    max_size=4,
)


def mutate(export: Path, mutation: tuple) -> None:
    kind, relpath, *rest = mutation
    path = export / relpath
    if not path.is_file() or path.is_symlink():
        return
    data = path.read_bytes()
    if kind == "truncate":
        path.write_bytes(data[: int(len(data) * rest[0])])
    elif kind == "insert":
        at = int(len(data) * rest[0])
        path.write_bytes(data[:at] + rest[1] + data[at:])
    elif kind == "replace":
        path.unlink()
        write_export(export, {relpath: rest[0]})
    elif kind == "delete":
        path.unlink()
    elif kind == "attribute":
        name, value = rest
        end = data.find(b">")
        if end > 0:
            closing = end - 1 if data[end - 1 : end] == b"/" else end
            text = f" {name}={quoteattr(value)}".encode("utf-8", "surrogatepass")
            path.write_bytes(data[:closing] + text + data[closing:])
    elif kind == "reencode":
        path.write_bytes(data.decode("utf-8", "replace").encode(rest[0], "replace"))


@FUZZ
@given(changes=mutations)
@example(changes=[("attribute", "chapter/algebra.xml", "start", "9999-12-31T23:59:59-05:00")])
@example(changes=[("attribute", "vertical/eq_linear.xml", "start", "1e300")])
@example(changes=[("replace", "course/2026.xml", f"<course>{DEEP}</course>".encode())])
def test_the_olx_reader_survives_a_damaged_sample_course(tmp_path, changes):
    with tempfile.TemporaryDirectory(dir=tmp_path) as scratch:
        export = Path(scratch) / "export"
        shutil.copytree(SAMPLE_COURSE, export)
        for change in changes:
            mutate(export, change)
        read_everything(export)


MEMBER_TYPES = {
    "file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
    "fifo": tarfile.FIFOTYPE, "chardev": tarfile.CHRTYPE,
}  # fmt: skip
member_names = st.one_of(
    st.sampled_from(
        [
            "course.xml", "course/R.xml", "chapter/c1.xml", "top/course.xml", "top/course/R.xml", "./course.xml",
            "../evil.xml", "/abs/evil.xml", "a/../../evil.xml", "course/../../evil.xml", "..", "chapter/..",
            "policies/R/policy.json", "drafts/vertical/d1.xml", "notes.txt", "x" * 300 + ".xml",
        ]
    ),
    st.text(min_size=1, max_size=30),
    st.binary(min_size=1, max_size=30).map(lambda raw: raw.decode("utf-8", "surrogateescape")),
)  # fmt: skip
members = st.lists(
    st.tuples(
        member_names,
        st.sampled_from(list(MEMBER_TYPES)),
        st.one_of(
            st.just(COURSE_XML),
            st.just(b'<course display_name="T"><chapter url_name="c1"/></course>'),
            file_contents.filter(lambda content: not isinstance(content, Link)),
        ),
        st.sampled_from(["course.xml", "../../etc/passwd", "/etc/hostname", "chapter/c1.xml"]),
    ),
    max_size=8,
)


def make_tarball(entries) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT, errors="surrogateescape") as tarball:
        for name, kind, content, link_target in entries:
            info = tarfile.TarInfo(name)
            info.type = MEMBER_TYPES[kind]
            if kind == "file":
                info.size = len(content)
                tarball.addfile(info, io.BytesIO(content))
            else:
                info.linkname = link_target
                tarball.addfile(info)
    return buffer.getvalue()


def damaged_tarball(entries, damage) -> bytes:
    """The tarball of ``entries`` with ``damage`` (fraction, bytes) written over it; unwritable names are rejected."""
    try:
        data = make_tarball(entries)
    except (ValueError, UnicodeError):  # a name tarfile cannot write
        assume(False)
    if damage is not None:
        at = int(len(data) * damage[0])
        data = data[:at] + damage[1] + data[at + len(damage[1]) :]
    return data


def unsafe_members(data: bytes) -> list[str]:
    """The members a reader must refuse, as tarfile reads them: leaving the export, links, special files."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tarball:
        return [
            member.name
            for member in tarball
            if member.name.removeprefix("./").startswith("/")
            or ".." in member.name.removeprefix("./").split("/")
            or not (member.isfile() or member.isdir())
        ]


@FUZZ
@given(entries=members, damage=st.one_of(st.none(), st.tuples(st.floats(0, 1), st.binary(max_size=8))))
@example(entries=[("course.xml", "file", COURSE_XML, ""), ("../evil.xml", "file", b"<x/>", "")], damage=None)
@example(
    entries=[("course.xml", "file", COURSE_XML, ""), ("chapter/c1.xml", "symlink", b"", "/etc/hostname")], damage=None
)
@example(entries=[("course.xml", "file", COURSE_XML, ""), ("course/R.xml", "hardlink", b"", "course.xml")], damage=None)
@example(entries=[("course.xml", "file", COURSE_XML, ""), ("dev.xml", "fifo", b"", "")], damage=None)
@example(  # a damaged header whose member name does not decode
    entries=[
        (
            "course.xml",
            "file",
            b"\x00\x00\x00\x00\x01\x00\x00\x02\x00\x01" + b"\x00" * 30 + b"\x01\x06\x0e",
            "course.xml",
        ),
        ("\x00\x04\udc80", "dir", COURSE_XML, "course.xml"),
    ],
    damage=(0.75, b"\x01"),
)
def test_tarballs_are_read_in_memory_and_refused_when_a_member_leaves_the_export_or_is_no_plain_file(
    tmp_path, entries, damage
):
    data = damaged_tarball(entries, damage)
    with tempfile.TemporaryDirectory(dir=tmp_path) as scratch:
        tarball = Path(scratch) / "course.tar.gz"
        tarball.write_bytes(data)
        outline = read_everything(tarball)
        assert sorted(os.listdir(scratch)) == ["course.tar.gz"]  # nothing extracted, nothing written
    if outline is not None and damage is None:
        assert unsafe_members(data) == []
    assert not (tmp_path.parent / "evil.xml").exists()


def test_a_symlinked_file_or_folder_pointing_outside_the_export_is_not_read(tmp_path):
    outside = tmp_path / "outside"
    (outside / "chapter").mkdir(parents=True)
    (outside / "chapter" / "c1.xml").write_text('<chapter display_name="OUTSIDE THE EXPORT"/>')
    (outside / "secret.xml").write_text('<sequential display_name="OUTSIDE THE EXPORT"/>')
    (outside / "drafts" / "vertical").mkdir(parents=True)
    (outside / "drafts" / "vertical" / "d1.xml").write_text(
        '<vertical parent_url="block-v1:O+C+R+type@sequential+block@s2" index_in_children_list="0" '
        'display_name="OUTSIDE THE EXPORT"/>'
    )
    export = write_export(
        tmp_path / "export",
        {
            "course.xml": COURSE_XML,
            "course/R.xml": b'<course><chapter url_name="c1"/><chapter url_name="c2"/></course>',
            "chapter/c2.xml": (
                b'<chapter display_name="Inside"><sequential url_name="s1"/><sequential url_name="s2"/></chapter>'
            ),
            "sequential/s1.xml": Link(str(outside / "secret.xml")),  # a file linked outside
            "sequential/s2.xml": b'<sequential display_name="Inside too"/>',
            "chapter/c1.xml": Link("../../outside/chapter/c1.xml"),  # relative, through ..
            "drafts": Link(str(outside / "drafts")),  # a folder linked outside
        },
    )

    outlines = read_everything(export)

    for outline in outlines:  # published and draft
        titles = {entity.data["title"] for entity in outline.entities.values()}
        assert {"Inside", "Inside too"} <= titles and "OUTSIDE THE EXPORT" not in titles
        assert {error.code for error in outline.content_errors} >= {"missing_child"}


# The backend's answers ------------------------------------------------------------------------------

OPERATION_IDS = [str(uuid.uuid4()) for _ in range(3)]
BATCH_ID = str(uuid.uuid4())


def response(status: int, body: bytes, headers: dict[str, str] | None = None) -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    answer._content = body  # noqa: SLF001  (what requests stores once it has read the body)
    answer.headers.update(headers or {})
    answer.encoding = requests.utils.get_encoding_from_headers(answer.headers)
    answer.url = "https://virtu.test/course-sync/v1/batches"
    return answer


def draw_ascii(pair) -> bool:
    """Whether to escape non-ASCII characters (either way, deterministically)."""
    return len(json.dumps(pair[0])) % 2 == 0


@st.composite
def results_documents(draw):
    """Answers to a batch of ``OPERATION_IDS``, from right to slightly wrong to nonsense, and whether it is right."""
    results = []
    for operation_id in OPERATION_IDS:
        result = {"operation_id": operation_id, "status": draw(st.sampled_from(["applied", "failed"]))}
        if draw(st.booleans()):
            result["code"] = draw(st.one_of(st.text(max_size=10), st.just("x" * 5000), json_values))
        if draw(st.booleans()):
            result["detail"] = draw(st.one_of(st.text(max_size=30), st.just("y" * 5000), json_values))
        results.append(result)
    document = {"batch_id": BATCH_ID, "results": results}
    if draw(st.booleans()):
        document["extra"] = draw(json_values)  # unknown keys are allowed
    damage = draw(
        st.sampled_from(["none", "none", "random", "batch_id", "drop", "extra", "swap", "status", "id", "type"])
    )
    if damage == "random":
        return draw(json_values), False
    if damage == "batch_id":
        document["batch_id"] = draw(json_values.filter(lambda value: value != BATCH_ID))
    elif damage == "drop":
        results.pop()
    elif damage == "extra":
        results.append(dict(results[0]))
    elif damage == "swap":
        results.reverse()
    elif damage == "status":
        results[1]["status"] = draw(json_values.filter(lambda value: value not in ("applied", "failed")))
    elif damage == "id":
        results[0]["operation_id"] = draw(json_values.filter(lambda value: value != OPERATION_IDS[0]))
    elif damage == "type":
        results[2] = draw(json_values)
    return document, damage == "none"


bodies = st.one_of(
    results_documents().map(
        lambda pair: (json.dumps(pair[0], ensure_ascii=draw_ascii(pair)).encode("utf-8", "surrogatepass"), pair[1])
    ),
    st.binary(max_size=300).map(lambda raw: (raw, False)),
    st.sampled_from(
        [b"[" * 100_000 + b"]" * 100_000, b'{"batch_id": ' + b"[" * 100_000, b"\xef\xbb\xbf{}", b"null"]
    ).map(lambda raw: (raw, False)),
)


content_types = st.sampled_from(
    [None, "application/json", "application/json; charset=utf-8", "application/json; charset=latin-1",
     "application/json; charset=klingon", "text/html", "text/plain; charset=utf-16"]
)  # fmt: skip


@FUZZ
@given(body=bodies, content_type=content_types)
@example(body=(b"[" * 100_000 + b"]" * 100_000, False), content_type="application/json")  # RecursionError
@example(body=(b'{"batch_id": "x", "results": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", False), content_type=None)
def test_a_200_answer_is_either_the_checked_results_or_a_backend_error(body, content_type):
    raw, right = body
    answer = response(200, raw, {"Content-Type": content_type} if content_type else {})
    # Right only as UTF-8 JSON: a backend that declares another charset is misread, rightly.
    right = right and content_type in (None, "application/json", "application/json; charset=utf-8")
    try:
        parsed = _parse_batch_response(answer, BATCH_ID, OPERATION_IDS)
    except BackendError as error:
        assert not right, f"a right answer was refused: {error}"
        assert str(error) and len(str(error)) < 3 * MAX_DETAIL_CHARS and error.status == 200
        return
    assert isinstance(parsed, BatchResponse) and parsed.batch_id == BATCH_ID
    assert [result.operation_id for result in parsed.results] == OPERATION_IDS
    for result in parsed.results:
        assert result.status in ("applied", "failed")
        assert isinstance(result.code, str) and isinstance(result.detail, str)
        assert len(result.code) <= MAX_DETAIL_CHARS and len(result.detail) <= MAX_DETAIL_CHARS


header_values = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=40),
    st.sampled_from(
        [
            "http://[::1", "http://[oops]/", "https://user:pw@evil.example:99999/x", "//evil.example/", "0", "-5",
            "nan", "inf", "1e999", "Mon, 99 Foo 99999 99:99:99 GMT", "Fri, 31 Dec 9999 23:59:59 -2359",
            "Sat, 01 Jan 0001 00:00:00 +2359", "Wed, 21 Oct 2015 07:28:00 GMT",
        ]
    ),
)  # fmt: skip


@FUZZ
@given(
    status=st.integers(100, 999),
    raw=st.one_of(st.binary(max_size=200), st.sampled_from([b"[" * 100_000, b'{"detail": ' + b"[" * 100_000 + b"]}"])),
    location=st.none() | header_values,
    retry_after=st.none() | header_values,
    content_type=content_types,
)
@example(status=307, raw=b"", location="http://[::1", retry_after=None, content_type=None)  # ValueError
@example(status=500, raw=b"[" * 100_000 + b"]" * 100_000, location=None, retry_after=None, content_type=None)
def test_any_other_answer_is_a_backend_error_with_a_bounded_message(status, raw, location, retry_after, content_type):
    headers = {"Location": location, "Retry-After": retry_after, "Content-Type": content_type}
    answer = response(status, raw, {name: value for name, value in headers.items() if value is not None})

    error = _error_for(answer)
    wait = _retry_after(answer)

    assert isinstance(error, BackendError) and error.status == status
    assert str(error).startswith(f"HTTP {status}: ") and len(str(error)) < 3 * MAX_DETAIL_CHARS
    assert wait is None or wait >= 0


class RawHTTPServer:
    """A socket on 127.0.0.1 that answers each connection with ``reply`` (raw bytes), then closes it."""

    def __init__(self):
        self.reply = b""
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(2)
                try:
                    received = b""
                    while b"\r\n\r\n" not in received:
                        chunk = connection.recv(65536)
                        if not chunk:
                            break
                        received += chunk
                    head, _, body = received.partition(b"\r\n\r\n")
                    length = next(
                        (
                            int(line.split(b":")[1])
                            for line in head.split(b"\r\n")
                            if line.lower().startswith(b"content-length:")
                        ),
                        0,
                    )
                    while len(body) < length:
                        chunk = connection.recv(65536)
                        if not chunk:
                            break
                        body += chunk
                    connection.sendall(self.reply)
                    connection.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

    def close(self):
        self.socket.close()


@pytest.fixture(scope="module")
def raw_server():
    server = RawHTTPServer()
    yield server
    server.close()


@st.composite
def raw_replies(draw):
    """What a broken server, proxy or impostor may send back: HTTP of any shape, or not HTTP at all."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=200))
    status = draw(st.integers(100, 999))
    reason = draw(st.sampled_from([b"OK", b"", b"Whatever", b"\xff\xfe"]))
    body, _ = draw(bodies)
    headers = [(b"Content-Type", b"application/json")]
    for name in draw(
        st.lists(
            st.sampled_from(
                ["Location", "Retry-After", "Content-Encoding", "Transfer-Encoding", "Content-Length", "X-Odd"]
            ),
            max_size=3,
            unique=True,
        )
    ):
        value = draw(
            st.sampled_from([b"gzip", b"chunked", b"-1", b"999999", b"http://[::1", b"0", b"\xff"])
            | header_values.map(str.encode)
        )
        headers.append((name.encode(), value))
    if not any(name == b"Content-Length" for name, _ in headers):
        headers.append((b"Content-Length", str(len(body)).encode()))
    head = b"HTTP/1.1 %d %s\r\n" % (status, reason) + b"".join(
        name + b": " + value + b"\r\n" for name, value in headers
    )
    return head + b"Connection: close\r\n\r\n" + body


@FUZZ_HTTP
@given(reply=raw_replies())
@example(reply=b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://[::1\r\nContent-Length: 0\r\n\r\n")
@example(
    reply=b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 200000\r\n\r\n"
    + b"[" * 100_000
    + b"]" * 100_000
)
@example(reply=b"HTTP/1.1 404 Not Found\r\nContent-Length: 100000\r\n\r\n" + b"{" * 100_000)
def test_whatever_comes_back_over_http_the_client_returns_results_or_raises_a_backend_error(raw_server, reply):
    raw_server.reply = reply
    client_settings = SyncSettings(
        backend_url=raw_server.url,
        api_token="tok-FUZZ-Zq8",
        signing_secret="sec-FUZZ-Zq8",
        batch_size=200,
        connect_timeout=2.0,
        read_timeout=2.0,
        allow_insecure_http=True,
        assessment_block_types=frozenset(BLOCK_TYPES),
    )
    with requests.Session() as session:
        session.trust_env = False
        client = BackendClient(
            client_settings, session=session, retry=RetryPolicy(max_attempts=2, base_delay=0), sleep=lambda _: None
        )
        body = {
            "schema_version": 1,
            "batch_id": BATCH_ID,
            "course_id": "course-v1:O+C+R",
            "sent_at": "x",
            "source": {},
            "operations": [{"operation_id": operation_id} for operation_id in OPERATION_IDS],
        }
        try:
            answer = client.send_batch(body)
        except BackendError as error:
            assert str(error) and "FUZZ-Zq8" not in str(error)
        else:
            assert [result.operation_id for result in answer.results] == OPERATION_IDS
        try:
            state = client.fetch_state("course-v1:O+C+R")
        except BackendError as error:
            assert str(error) and "FUZZ-Zq8" not in str(error)
        else:
            assert state is None or isinstance(state.get("entities"), dict)
