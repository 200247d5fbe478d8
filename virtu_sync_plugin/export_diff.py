"""
The operations between two course exports (OLX).

Exports are read by edx-platform's own reader, as Studio's import reads them (published
content only), and turned into outlines the way a sync reads a course (the configured
assessment types). A ``.tar.gz`` is unpacked into a temporary folder first, refusing links
and paths that leave it. Reads files only; sends nothing.
"""

from __future__ import annotations

import os
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from opaque_keys.edx.locator import CourseLocator

from .conf import get_sync_settings
from .core.diff import diff_outlines
from .core.operations import ChangeOperation
from .core.outline import CourseOutline
from .keys import parse_course_key
from .modulestore import outline_from_course_block, read_course_export

#: What a tarball may unpack to: Studio exports of big courses stay well below it.
MAX_EXPORT_BYTES = 1024 * 1024 * 1024
_TARBALL_SUFFIX = ".tar.gz"
_COURSE_XML = "course.xml"


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

    Read as ``course_key`` (default: the key its ``course.xml`` gives, as ``course-v1``).
    """
    source = Path(path)
    with _export_folder(source) as folder:
        try:
            course = read_course_export(folder.parent, folder.name)
        # The platform's reader raises whatever loading raised (OSError, lxml's and XBlock's
        # errors, ValueError...): all of it means this export cannot be imported.
        except Exception as error:  # noqa: BLE001
            raise UnreadableExportError(f"{source}: cannot be imported: {error}") from None
        if course_key is None:
            read_as = course.block.id
            course_key = CourseLocator(read_as.org, read_as.course, read_as.run)
        block_types = get_sync_settings().assessment_block_types
        return outline_from_course_block(
            course.block, course_key, assessment_block_types=block_types, description=course.description
        )


@contextmanager
def _export_folder(source: Path) -> Iterator[Path]:
    """The folder holding the export's ``course.xml``: ``source`` itself, or a tarball unpacked."""
    if source.is_dir():
        if not (source / _COURSE_XML).is_file():
            raise UnreadableExportError(f"{source}: no {_COURSE_XML}")
        yield source.resolve()
    elif source.is_file() and source.name.endswith(_TARBALL_SUFFIX):
        with tempfile.TemporaryDirectory(prefix="virtu-sync-export-") as scratch:
            yield _unpack(source, Path(scratch))
    else:
        raise UnreadableExportError(f"{source}: neither a directory nor a {_TARBALL_SUFFIX} file")


def _unpack(tarball: Path, scratch: Path) -> Path:
    """
    Unpack ``tarball`` into ``scratch/export`` and return the folder of its ``course.xml``.

    Only folders and regular files, inside the export, within :data:`MAX_EXPORT_BYTES`.
    """
    target = scratch / "export"
    total = 0
    try:
        with tarfile.open(tarball, "r:gz") as archive:
            for member in archive:
                name = member.name.removeprefix("./")
                if name.startswith("/") or ".." in name.split("/"):
                    raise UnreadableExportError(f"{tarball}: member {member.name!r} points outside the export")
                if "\x00" in name:
                    raise UnreadableExportError(f"{tarball}: member {member.name!r} is not a file name")
                if member.isdir():
                    continue
                if not member.isfile():
                    raise UnreadableExportError(f"{tarball}: member {member.name!r} is not a regular file")
                total += member.size
                if total > MAX_EXPORT_BYTES:
                    raise UnreadableExportError(f"{tarball}: more than {MAX_EXPORT_BYTES} bytes unpacked")
                destination = target / name
                destination.parent.mkdir(parents=True, exist_ok=True)
                with archive.extractfile(member) as content, open(destination, "wb") as file:
                    while chunk := content.read(1024 * 1024):
                        file.write(chunk)
    # UnicodeDecodeError: a damaged header that tarfile decodes as a (PAX) member name.
    except (tarfile.TarError, EOFError, OSError, zlib.error, UnicodeDecodeError) as error:
        raise UnreadableExportError(f"{tarball}: not a readable {_TARBALL_SUFFIX}: {error}") from None
    if (target / _COURSE_XML).is_file():
        return target
    tops = list(target.iterdir()) if target.is_dir() else []
    if len(tops) == 1 and (tops[0] / _COURSE_XML).is_file():
        return tops[0]
    raise UnreadableExportError(f"{tarball}: no {_COURSE_XML} (neither at the top nor in a single top-level folder)")
