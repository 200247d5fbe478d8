"""
The preview command's tarball handling (``virtu_sync_plugin.export_diff``): an export
``.tar.gz`` is unpacked into a temporary folder for edx-platform's reader, refusing members
that leave the export, links and special files. Fuzzed with the tarballs of ``test_fuzz``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from olx_modulestore import pack_export

from tests.conftest import SAMPLE_COURSE
from tests.test_fuzz import COURSE_XML, FUZZ, damaged_tarball, make_tarball, members, unsafe_members
from virtu_sync_plugin.export_diff import UnreadableExportError, _export_folder


@FUZZ
@given(entries=members, damage=st.one_of(st.none(), st.tuples(st.floats(0, 1), st.binary(max_size=8))))
@example(entries=[("course.xml", "file", COURSE_XML, ""), ("../evil.xml", "file", b"<x/>", "")], damage=None)
@example(entries=[("course.xml", "file", COURSE_XML, ""), ("chapter/c1.xml", "symlink", b"", "/etc/")], damage=None)
@example(entries=[("course.xml", "file", COURSE_XML, ""), ("course/R.xml", "hardlink", b"", "course.xml")], damage=None)
@example(entries=[("course.xml", "file", COURSE_XML, ""), ("dev.xml", "fifo", b"", "")], damage=None)
@example(entries=[("top/course.xml", "file", COURSE_XML, ""), ("top/chapter/c1.xml", "file", b"<x/>", "")], damage=None)
# Found: a member name with a NUL byte (ValueError from open()).
@example(entries=[("\x00\udc80", "file", COURSE_XML, "")], damage=None)
def test_a_tarball_unpacks_inside_a_scratch_folder_or_is_refused(tmp_path, entries, damage):
    data = damaged_tarball(entries, damage)
    with tempfile.TemporaryDirectory(dir=tmp_path) as scratch:
        tarball = Path(scratch) / "course.tar.gz"
        tarball.write_bytes(data)
        try:
            with _export_folder(tarball) as folder:
                assert (folder / "course.xml").is_file()
                unpacked_in = Path(tempfile.gettempdir())
                assert folder.is_relative_to(unpacked_in) and not folder.is_relative_to(scratch)
                assert not [path for path in folder.rglob("*") if path.is_symlink()]
            assert not folder.exists()  # the scratch folder goes away
            if damage is None:
                assert unsafe_members(data) == []
        except UnreadableExportError as error:
            assert str(tarball) in str(error)
        assert sorted(path.name for path in Path(scratch).iterdir()) == ["course.tar.gz"]
    assert not (tmp_path.parent / "evil.xml").exists()


def test_a_studio_export_unpacks_to_its_top_level_folder(tmp_path):
    pack_export(SAMPLE_COURSE, tmp_path / "course.tar.gz")

    with _export_folder(tmp_path / "course.tar.gz") as folder:
        assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == sorted(
            p.relative_to(SAMPLE_COURSE) for p in SAMPLE_COURSE.rglob("*")
        )


@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        ([("course.xml", "file", COURSE_XML, ""), ("../evil.xml", "file", b"<x/>", "")], "points outside the export"),
        ([("course.xml", "file", COURSE_XML, ""), ("/abs.xml", "file", b"<x/>", "")], "points outside the export"),
        ([("course.xml", "file", COURSE_XML, ""), ("c.xml", "symlink", b"", "/etc/hostname")], "not a regular file"),
        ([("course.xml", "file", COURSE_XML, ""), ("c.xml", "hardlink", b"", "course.xml")], "not a regular file"),
        ([("a/course.xml", "file", COURSE_XML, ""), ("b/course.xml", "file", COURSE_XML, "")], "no course.xml"),
    ],
)
def test_unsafe_or_odd_tarballs_are_refused_with_the_reason(tmp_path, entries, reason):
    tarball = tmp_path / "course.tar.gz"
    tarball.write_bytes(make_tarball(entries))

    with pytest.raises(UnreadableExportError, match=reason), _export_folder(tarball):
        pass
    assert not (tmp_path.parent / "evil.xml").exists()
