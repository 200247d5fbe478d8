"""
A worker process killed (SIGKILL) at each point of a sync: after a restart and one more
sync, the backend equals the outline, and no operation took effect twice.
"""

from __future__ import annotations

import pytest

from demo.export_editor import ExportEditor
from tests.conftest import SAMPLE_COURSE, SAMPLE_COURSE_ID
from tests.support.workers import run_until_killed, worker_environment
from virtu_sync_plugin import api
from virtu_sync_plugin.data import SyncStatus
from virtu_sync_plugin.models import CourseSyncState, SyncOperation

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.mysql]

CRASH_POINTS = ["before_send", "after_apply", "snapshot_write", "second_batch"]


def run_worker_until_it_dies(point, settings, backend):
    environment = worker_environment(settings, VIRTU_TEST_BATCH_SIZE="8")
    run_until_killed("tests.crash_worker", SAMPLE_COURSE_ID, point, environment=environment)


@pytest.mark.parametrize("point", CRASH_POINTS)
@pytest.mark.parametrize("first_sync", [True, False], ids=["first-sync", "re-publish"])
def test_a_worker_killed_at_any_point_loses_nothing_and_applies_nothing_twice(
    point, first_sync, studio, backend, settings, tmp_path
):
    settings.VIRTU_SYNC_BATCH_SIZE = 8
    studio.publish_export(SAMPLE_COURSE)  # switch off: nothing synced yet
    if not first_sync:
        assert api.sync_course(SAMPLE_COURSE_ID).status is SyncStatus.SYNCED
        editor = ExportEditor(SAMPLE_COURSE, tmp_path)
        for url_name in ("numbers", "algebra", "geometry"):
            editor.rename("chapter", url_name, f"{url_name} renamed")
        for url_name in ("numbers_intro", "numbers_homework", "algebra_expressions", "algebra_homework"):
            editor.rename("sequential", url_name, f"{url_name} renamed")
        editor.move("sequential", "algebra_staff", "chapter", "numbers")
        editor.delete("vertical", "eq_reflection")
        studio.publish_export(editor.path)

    run_worker_until_it_dies(point, settings, backend)
    assert CourseSyncState.objects.get().lock_owner, "the dead worker still holds the lease"

    result = api.sync_course(SAMPLE_COURSE_ID)  # the restart: one more sync
    assert result.status in (SyncStatus.SYNCED, SyncStatus.UNCHANGED), result.error
    assert backend.tree(SAMPLE_COURSE_ID) == api.build_outline(SAMPLE_COURSE_ID).tree()
    assert max(backend.effects().values()) == 1, "an operation took effect twice"
    assert not SyncOperation.objects.filter(status=SyncOperation.Status.PENDING).exists()
    assert CourseSyncState.objects.get().status == CourseSyncState.Status.IN_SYNC
