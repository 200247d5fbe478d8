"""
The stored snapshot is written whole only now and then during a long sync (checkpoints),
and the operation log fills the gaps: whenever a pass stops, what is loaded next equals
what the backend holds.
"""

from __future__ import annotations

import pytest

from tests.conftest import SAMPLE_COURSE, SAMPLE_COURSE_ID
from virtu_sync_plugin import api, backend_client, sync
from virtu_sync_plugin.core.snapshot import (
    empty_snapshot,
    mark_for_replay,
    replay_mark,
    snapshot_from_json,
    snapshot_to_json,
)
from virtu_sync_plugin.data import SyncStatus
from virtu_sync_plugin.models import CourseSyncState, SyncOperation

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.mysql]


class WorkerDied(BaseException):
    """A worker killed mid-sync: nothing of the pass's own clean-up runs."""


@pytest.fixture
def small_batches(settings, studio, backend):
    settings.VIRTU_SYNC_BATCH_SIZE = 2
    studio.publish_export(SAMPLE_COURSE)  # the switch is off: nothing synced yet
    return studio


def stored_snapshot():
    return CourseSyncState.objects.get().snapshot


def loaded_snapshot():
    """The snapshot the next pass starts from (checkpoint and operation log together)."""
    snapshot, problem = sync.load_snapshot(api.parse_course_key(SAMPLE_COURSE_ID), stored_snapshot())
    assert not problem
    return snapshot


def test_a_long_first_sync_writes_the_snapshot_a_few_times_and_ends_complete(small_batches, backend, monkeypatch):
    monkeypatch.setattr(sync, "CHECKPOINT_OPERATIONS", 6)
    writes = []

    def counted_snapshot_to_json(snapshot):
        writes.append(len(snapshot))
        return snapshot_to_json(snapshot)

    monkeypatch.setattr(sync, "snapshot_to_json", counted_snapshot_to_json)

    result = api.sync_course(SAMPLE_COURSE_ID)

    assert result.status is SyncStatus.SYNCED
    batches = len({row.batch_id for row in SyncOperation.objects.all()})
    assert len(writes) < batches / 2, (writes, batches)
    assert replay_mark(stored_snapshot()) is None, "a finished pass leaves the snapshot complete"
    assert snapshot_from_json(stored_snapshot()).tree() == api.build_outline(SAMPLE_COURSE_ID).tree()
    assert backend.tree(SAMPLE_COURSE_ID) == api.build_outline(SAMPLE_COURSE_ID).tree()


@pytest.mark.parametrize("dies_at_batch", [2, 3, 5, 9])
def test_a_worker_that_dies_between_checkpoints_loses_nothing(small_batches, backend, monkeypatch, dies_at_batch):
    monkeypatch.setattr(sync, "CHECKPOINT_OPERATIONS", 1000)
    send_batch = backend_client.BackendClient.send_batch
    sent = []

    def dying_send(self, body):
        sent.append(body["batch_id"])
        if len(sent) == dies_at_batch:
            raise WorkerDied
        return send_batch(self, body)

    monkeypatch.setattr(backend_client.BackendClient, "send_batch", dying_send)
    with pytest.raises(WorkerDied):
        api.sync_course(SAMPLE_COURSE_ID)

    # Only the first batches were folded into the stored snapshot; the log has the rest.
    if dies_at_batch > 2:
        assert replay_mark(stored_snapshot()) is not None
    applied = SyncOperation.objects.filter(status=SyncOperation.Status.APPLIED).count()
    assert applied == 2 * (dies_at_batch - 1)
    assert loaded_snapshot().tree() == backend.tree(SAMPLE_COURSE_ID)

    monkeypatch.setattr(backend_client.BackendClient, "send_batch", send_batch)
    result = api.sync_course(SAMPLE_COURSE_ID)
    assert result.status in (SyncStatus.SYNCED, SyncStatus.UNCHANGED), result.error
    assert backend.tree(SAMPLE_COURSE_ID) == api.build_outline(SAMPLE_COURSE_ID).tree()
    assert max(backend.effects().values()) == 1, "an operation took effect twice"
    assert replay_mark(stored_snapshot()) is None
    assert loaded_snapshot().tree() == backend.tree(SAMPLE_COURSE_ID)


def test_a_checkpoint_whose_mark_left_the_log_is_reported_and_everything_is_upserted(small_batches, backend):
    assert api.sync_course(SAMPLE_COURSE_ID).status is SyncStatus.SYNCED
    complete = stored_snapshot()
    CourseSyncState.objects.update(snapshot=mark_for_replay(complete, "no-such-operation"))

    result = api.sync_course(SAMPLE_COURSE_ID)

    assert "stored snapshot unreadable" in result.error
    assert backend.tree(SAMPLE_COURSE_ID) == api.build_outline(SAMPLE_COURSE_ID).tree()


def test_a_checkpoint_is_a_snapshot_document_with_its_mark_last():
    text = snapshot_to_json(empty_snapshot("course-v1:A+B+C"))
    marked = mark_for_replay(text, "a1b2")
    assert replay_mark(text) is None
    assert replay_mark(marked) == replay_mark(marked.encode()) == "a1b2"
    assert snapshot_from_json(marked).tree() == snapshot_from_json(text).tree() == {}
    with pytest.raises(ValueError):
        mark_for_replay(marked, "again")
