"""
Stand-in for ``xmodule.modulestore.mixed``: ``MixedModuleStore``, the class of ``modulestore()``.

It serves the course exports (OLX) under one directory, its ``olx_root``, set in
``settings.MODULESTORE['default']['OPTIONS']['olx_root']``; it is an ``OlxModuleStore`` of
that directory, so it has the real reading API and block attributes (see
``olx_modulestore``). Every process that uses the same root sees the same courses: a
Celery worker in another process reads what a test published.

To act like Studio in tests and the demo it can also write:

- ``publish_export(export_path, course_key=None)`` places an export under the root and sends
  ``course_published`` with the plain course key, as a publish in Studio does;
- ``delete_course(course_key, user_id)`` removes it and sends ``course_deleted`` with the key
  as passed, as split does;
- ``publish_library(library_key)`` sends what split sends when a legacy content library
  (``library-v1:...``) is published: ``course_published`` with the library key, then
  ``library_updated``. Libraries hold no course: ``get_course`` of a library key is None.

``OPTIONS['disabled_xblock_types']`` (the real option's name; a list here, a callable in
edx-platform) names XBlock types that load as ``HiddenBlock``, as when their package is missing.
"""

import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import quote

from olx_modulestore import COURSE_KEY_SIDECAR_SUFFIX, OlxModuleStore, load_course_export, pack_export
from opaque_keys.edx.keys import CourseKey
from opaque_keys.edx.locator import LibraryLocator

from xmodule.modulestore.exceptions import ItemNotFoundError


class MixedModuleStore(OlxModuleStore):
    """
    The store ``modulestore()`` returns: the exports under ``olx_root``, read like Studio reads
    courses, and written the way Studio publishes and deletes them.

    ``signal_handler`` is the ``SignalHandler`` the store sends its signals through;
    ``branch_setting_func`` gives the default branch setting. Other options of the real
    ``MixedModuleStore`` (``mappings``, ``stores``, ...) are accepted and ignored.
    """

    def __init__(self, olx_root, signal_handler=None, branch_setting_func=None, disabled_xblock_types=(), **kwargs):
        if callable(disabled_xblock_types):
            disabled_xblock_types = disabled_xblock_types()
        super().__init__(
            export_root=olx_root, branch_setting_func=branch_setting_func, disabled_xblock_types=disabled_xblock_types
        )
        self.signal_handler = signal_handler
        self._libraries = set()

    def publish_library(self, library_key):
        """
        Send the signals of a publish of legacy content library ``library_key``; return the key sent.

        ``course_published`` carries the library key without branch (as split's
        ``send_bulk_published_signal`` sends it), ``library_updated`` the key as given.
        """
        assert isinstance(library_key, LibraryLocator)
        self._libraries.add(library_key.for_branch(None))
        if self.signal_handler:
            self.signal_handler.send("course_published", course_key=library_key.for_branch(None))
            self.signal_handler.send("library_updated", library_key=library_key)
        return library_key.for_branch(None)

    def publish_export(self, export_path, *, course_key=None):
        """
        Publish the export at ``export_path`` (a directory or a ``.tar.gz``) as ``course_key``
        (default: the key in its ``course.xml``), send ``course_published``, return the key.

        The course is stored as ``<olx_root>/<quoted key>.tar.gz`` beside a ``.course_key``
        sidecar, and the tarball is swapped in with ``os.replace``: a reader in any process sees
        the old content or the new, never a mix. Other exports of the same key are removed.

        Raises:
            OlxError: if the export cannot be read.
        """
        source = Path(export_path)
        course_key = load_course_export(source, course_key=course_key).id
        self.export_root.mkdir(parents=True, exist_ok=True)
        target = self.export_root / f"{quote(str(course_key), safe='+')}.tar.gz"
        stale = [path for path in self.export_paths(course_key) if path != target]
        _replace_file(target.with_name(target.name + COURSE_KEY_SIDECAR_SUFFIX), str(course_key).encode())
        descriptor, staged = tempfile.mkstemp(dir=self.export_root, prefix=".publishing-", suffix=".tar.gz")
        os.close(descriptor)
        try:
            if source.is_dir():
                pack_export(source, staged)
            else:
                shutil.copyfile(source, staged)
            os.replace(staged, target)
        finally:
            Path(staged).unlink(missing_ok=True)
        for path in stale:
            _remove_export(path)
        if self.signal_handler:
            # Publishing copies draft to published, so the signal carries no branch.
            self.signal_handler.send("course_published", course_key=course_key.for_branch(None))
        return course_key

    def delete_course(self, course_key, user_id):
        """
        Remove the course's exports from the root and send ``course_deleted`` with ``course_key``
        as given (it may carry a branch).

        Raises:
            ItemNotFoundError: if no export under the root serves the course.
        """
        assert isinstance(course_key, CourseKey)
        if isinstance(course_key, LibraryLocator) and course_key.for_branch(None) in self._libraries:
            self._libraries.discard(course_key.for_branch(None))
            if self.signal_handler:
                self.signal_handler.send("course_deleted", course_key=course_key)
            return
        paths = self.export_paths(course_key)
        if not paths:
            raise ItemNotFoundError(course_key)
        for path in paths:
            _remove_export(path)
        if self.signal_handler:
            self.signal_handler.send("course_deleted", course_key=course_key)


def _replace_file(path, content):
    """Write ``content`` to ``path`` through a temporary file and ``os.replace``."""
    descriptor, staged = tempfile.mkstemp(dir=path.parent, prefix=".writing-")
    with os.fdopen(descriptor, "wb") as staged_file:
        staged_file.write(content)
    os.replace(staged, path)


def _remove_export(path):
    """Remove an export, then its sidecar; a folder is renamed away first, so no reader sees it half-deleted."""
    if path.is_dir():
        doomed = Path(tempfile.mkdtemp(dir=path.parent, prefix=".deleting-"))
        path.rename(doomed / path.name)
        shutil.rmtree(doomed)
    else:
        path.unlink(missing_ok=True)
    path.with_name(path.name + COURSE_KEY_SIDECAR_SUFFIX).unlink(missing_ok=True)
