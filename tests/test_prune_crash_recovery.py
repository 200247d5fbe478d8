"""
A worker killed (SIGKILL) at each step of pruning a course's old history: no unacknowledged
operation is lost, the snapshot the next pass loads is unchanged, and the next sync brings
the backend to the published course with no operation applied twice.
"""

from __future__ import annotations

import pytest

from tests.conftest import SAMPLE_COURSE_ID
from tests.crash_prune_worker import STEPS
from tests.support.workers import run_until_killed, worker_environment
from tests.test_prune import loaded_snapshot, old_history, pending_ids  # noqa: F401  (old_history: a fixture)
from virtu_sync_plugin import api
from virtu_sync_plugin.core.snapshot import replay_mark
from virtu_sync_plugin.data import SyncStatus
from virtu_sync_plugin.models import CourseSyncState, SyncOperation, SyncRun

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.mysql]


def run_pruner_until_it_dies(step, settings, backend):
    run_until_killed("tests.crash_prune_worker", SAMPLE_COURSE_ID, step, environment=worker_environment(settings))


@pytest.mark.parametrize("step", STEPS)
def test_a_worker_killed_at_any_step_of_a_prune_loses_nothing(step, old_history, settings, backend):  # noqa: F811
    pending, loaded = pending_ids(), loaded_snapshot().tree()
    rows = SyncOperation.objects.count(), SyncRun.objects.count()

    run_pruner_until_it_dies(step, settings, backend)

    assert CourseSyncState.objects.get().lock_owner, "the dead pruner still holds the lease"
    assert pending_ids() == pending, "an unacknowledged operation was lost"
    assert loaded_snapshot().tree() == loaded, "the next pass would start from another snapshot"
    assert (replay_mark(CourseSyncState.objects.get().snapshot) is None) == (step != "fold")
    deleted = rows[0] - SyncOperation.objects.count(), rows[1] - SyncRun.objects.count()
    assert deleted[0] == {"fold": 0, "operations": 0, "mid_operations": 2}.get(step, deleted[0])
    assert deleted[1] == (2 if step == "mid_runs" else 0)

    result = api.sync_course(SAMPLE_COURSE_ID)  # the restart: the dead pruner's lease is taken over
    assert result.status in (SyncStatus.SYNCED, SyncStatus.UNCHANGED), result.error
    assert backend.tree(SAMPLE_COURSE_ID) == api.build_outline(SAMPLE_COURSE_ID).tree()
    assert max(backend.effects().values()) == 1, "an operation took effect twice"
    assert not SyncOperation.objects.filter(status=SyncOperation.Status.PENDING).exists()
    assert CourseSyncState.objects.get().status == CourseSyncState.Status.IN_SYNC

    finished = api.prune_sync_history(SAMPLE_COURSE_ID)  # the next prune does the rest
    assert not finished.skipped and not finished.more
    assert api.prune_sync_history(SAMPLE_COURSE_ID, dry_run=True) == api.prune_sync_history(SAMPLE_COURSE_ID)
