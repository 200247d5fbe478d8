"""
Tests of the edx-platform stand-ins under ``stand_ins/xmodule`` (signals, ``modulestore()``,
publishing and deleting courses). ``test_settings`` puts ``stand_ins/`` on ``sys.path``.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.dispatch import Signal
from olx_modulestore import DRAFT_PREFERRED, PUBLISHED_ONLY, OlxModuleStore
from opaque_keys.edx.keys import CourseKey
from xmodule.modulestore import ModuleStoreEnum
from xmodule.modulestore import django as modulestore_django
from xmodule.modulestore.django import (
    COURSE_DELETED,
    COURSE_PUBLISHED,
    SignalHandler,
    SwitchedSignal,
    clear_existing_modulestores,
    modulestore,
)
from xmodule.modulestore.exceptions import DuplicateCourseError, InvalidBranchSetting, ItemNotFoundError
from xmodule.modulestore.mixed import MixedModuleStore

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_COURSE = REPO_ROOT / "demo" / "sample_course"
SAMPLE_KEY = CourseKey.from_string("course-v1:VirtuX+MATH101+2026")
SIGNAL_NAMES = [
    "pre_publish",
    "course_published",
    "course_deleted",
    "library_updated",
    "item_deleted",
    "pre_item_delete",
]


@pytest.fixture
def olx_root(studio):
    """The directory the ``studio`` store (``modulestore()``, see conftest) reads its courses from."""
    return studio.export_root


@pytest.fixture
def received():
    """Calls received by a receiver connected to ``course_published`` and ``course_deleted``."""
    calls = []

    def receiver(signal, sender, **kwargs):
        calls.append((signal, sender, kwargs))

    COURSE_PUBLISHED.connect(receiver)
    COURSE_DELETED.connect(receiver)
    yield calls
    COURSE_PUBLISHED.disconnect(receiver)
    COURSE_DELETED.disconnect(receiver)


def test_module_store_enum_has_the_real_values():
    assert ModuleStoreEnum.Branch.published_only == PUBLISHED_ONLY == "published-only"
    assert ModuleStoreEnum.Branch.draft_preferred == DRAFT_PREFERRED == "draft-preferred"
    assert (ModuleStoreEnum.BranchName.published, ModuleStoreEnum.BranchName.draft) == (
        "published-branch",
        "draft-branch",
    )
    assert ModuleStoreEnum.RevisionOption.published_only == "rev-opt-published-only"
    assert (ModuleStoreEnum.UserID.mgmt_command, ModuleStoreEnum.UserID.test) == (-1, -3)
    assert ModuleStoreEnum.Type.split == "split"


def test_signals_are_switched_signals_exported_in_upper_case():
    assert [signal.name for signal in SignalHandler.all_signals()] == SIGNAL_NAMES
    for name in SIGNAL_NAMES:
        signal = getattr(SignalHandler, name)
        assert isinstance(signal, SwitchedSignal) and isinstance(signal, Signal)
        assert getattr(modulestore_django, name.upper()) is signal
        assert SignalHandler.signal_by_name(name) is signal
    assert COURSE_PUBLISHED is SignalHandler.course_published
    assert repr(COURSE_PUBLISHED) == "SwitchedSignal('course_published')"


def test_send_is_robust_and_logs_each_response(caplog):
    calls = []

    def failing(sender, **kwargs):
        raise RuntimeError("receiver failed")

    def working(sender, course_key, **kwargs):
        calls.append((sender, course_key))
        return "done"

    COURSE_PUBLISHED.connect(failing)
    COURSE_PUBLISHED.connect(working)
    try:
        with caplog.at_level(logging.INFO, logger="xmodule.modulestore.django"):
            SignalHandler(MixedModuleStore).send("course_published", course_key=SAMPLE_KEY)
    finally:
        COURSE_PUBLISHED.disconnect(failing)
        COURSE_PUBLISHED.disconnect(working)

    assert calls == [(MixedModuleStore, SAMPLE_KEY)]
    assert "Response was: receiver failed" in caplog.text
    assert "Response was: done" in caplog.text


def test_switched_signals_can_be_turned_off_and_back_on():
    calls = []

    def receiver(sender, **kwargs):
        calls.append(sender)

    COURSE_PUBLISHED.connect(receiver)
    try:
        with COURSE_PUBLISHED.for_state(is_enabled=False):
            assert COURSE_PUBLISHED.send_robust(sender=None, course_key=SAMPLE_KEY) == []
            assert COURSE_PUBLISHED.send(sender=None, course_key=SAMPLE_KEY) == []
        COURSE_PUBLISHED.disable()
        SignalHandler(MixedModuleStore).send("course_published", course_key=SAMPLE_KEY)
        COURSE_PUBLISHED.enable()
        SignalHandler(MixedModuleStore).send("course_published", course_key=SAMPLE_KEY)
    finally:
        COURSE_PUBLISHED.enable()
        COURSE_PUBLISHED.disconnect(receiver)

    assert calls == [MixedModuleStore]


def test_modulestore_is_a_singleton_reading_olx_root_from_settings(settings, olx_root):
    store = modulestore()

    assert isinstance(store, MixedModuleStore)
    assert store is modulestore()
    assert store.export_root == olx_root == Path(settings.MODULESTORE["default"]["OPTIONS"]["olx_root"])
    assert store.signal_handler.modulestore_class is MixedModuleStore
    clear_existing_modulestores()
    assert modulestore() is not store


def test_default_branch_comes_from_settings_else_studio_default(olx_root, settings):
    assert modulestore().get_branch_setting() == DRAFT_PREFERRED

    settings.MODULESTORE_BRANCH = PUBLISHED_ONLY
    assert modulestore().get_branch_setting() == PUBLISHED_ONLY
    with modulestore().branch_setting(DRAFT_PREFERRED, SAMPLE_KEY):
        assert modulestore().get_branch_setting() == DRAFT_PREFERRED


def test_publish_export_sends_course_published_with_the_plain_key(olx_root, received):
    key = modulestore().publish_export(SAMPLE_COURSE)

    assert key == SAMPLE_KEY
    assert received == [(COURSE_PUBLISHED, MixedModuleStore, {"course_key": SAMPLE_KEY})]
    sent_key = received[0][2]["course_key"]
    assert sent_key.branch is None and sent_key.version_guid is None
    assert modulestore().get_course(SAMPLE_KEY).display_name == "Foundations of Mathematics"


def test_publish_export_under_another_key(olx_root, received):
    other = CourseKey.from_string("course-v1:VirtuX+MATH101+2027")

    modulestore().publish_export(SAMPLE_COURSE, course_key=other.for_branch(ModuleStoreEnum.BranchName.draft))

    assert received[0][2] == {"course_key": other}
    assert sorted(str(summary.id) for summary in modulestore().get_course_summaries()) == [str(other)]
    assert not list(olx_root.glob("*.publishing-*"))


def test_published_content_is_seen_by_other_stores_and_processes(olx_root, tmp_path):
    store = modulestore()
    store.publish_export(SAMPLE_COURSE)
    first_version = store.get_course(SAMPLE_KEY).course_version
    other_store = MixedModuleStore(olx_root=olx_root)
    assert other_store.get_course(SAMPLE_KEY).course_version == first_version

    edited = tmp_path / "edited"
    shutil.copytree(SAMPLE_COURSE, edited)
    chapter = edited / "chapter" / "numbers.xml"
    chapter.write_text(chapter.read_text().replace("Numbers and Operations", "Whole Numbers"))
    store.publish_export(edited)

    for reader in (store, other_store):
        course = reader.get_course(SAMPLE_KEY)
        assert course.course_version != first_version
        assert course.get_children()[0].display_name == "Whole Numbers"
    script = (
        "import sys\n"
        "sys.path.insert(0, 'stand_ins')\n"
        "from opaque_keys.edx.keys import CourseKey\n"
        "from olx_modulestore import OlxModuleStore\n"
        "course = OlxModuleStore.from_directory(sys.argv[1]).get_course(CourseKey.from_string(sys.argv[2]))\n"
        "print(course.get_children()[0].display_name)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(olx_root), str(SAMPLE_KEY)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "Whole Numbers"


def test_publish_export_replaces_other_exports_of_the_same_course(olx_root):
    shutil.copytree(SAMPLE_COURSE, olx_root / "placed-by-hand")

    modulestore().publish_export(SAMPLE_COURSE)

    assert not (olx_root / "placed-by-hand").exists()
    assert len(modulestore().export_paths(SAMPLE_KEY)) == 1


def test_delete_course_removes_it_and_sends_the_key_as_passed(olx_root, received):
    store = modulestore()
    store.publish_export(SAMPLE_COURSE)
    branch_key = SAMPLE_KEY.for_branch(ModuleStoreEnum.BranchName.draft)

    store.delete_course(branch_key, ModuleStoreEnum.UserID.test)

    assert received[-1] == (COURSE_DELETED, MixedModuleStore, {"course_key": branch_key})
    assert store.get_course(SAMPLE_KEY) is None
    assert OlxModuleStore.from_directory(olx_root).get_course(SAMPLE_KEY) is None
    assert sorted(path.name for path in olx_root.iterdir()) == []
    with pytest.raises(ItemNotFoundError):
        store.delete_course(SAMPLE_KEY, ModuleStoreEnum.UserID.test)


def test_exceptions_keep_the_real_constructors():
    duplicate = DuplicateCourseError(SAMPLE_KEY, "existing")
    assert (duplicate.course_id, duplicate.existing_entry) == (SAMPLE_KEY, "existing")
    assert str(InvalidBranchSetting("published-only", "draft-preferred")) == (
        "Invalid branch: expected published-only but got draft-preferred"
    )
    assert issubclass(ItemNotFoundError, Exception)
