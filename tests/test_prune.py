"""
Bounded storage: old operation-log rows and run records are deleted, by the sync task and
by ``virtu_sync_prune``, never an unacknowledged operation or what the snapshot needs; the
syncs after a prune are as minimal as before it, and the backend does not drift.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone
from edx_django_utils.cache import RequestCache
from waffle.models import Switch

from demo.export_editor import ExportEditor, edit_sample_course
from reference_backend.faults import Fault
from tests.conftest import REPO_ROOT, SAMPLE_COURSE, SAMPLE_COURSE_ID
from tests.support.workers import worker_environment
from virtu_sync_plugin import api, backend_client, course_lease, retention, sync, tasks
from virtu_sync_plugin.conf import settings_problems
from virtu_sync_plugin.core.snapshot import replay_mark, snapshot_from_json
from virtu_sync_plugin.data import PruneResult, SyncStatus
from virtu_sync_plugin.models import CourseSyncState, SyncOperation, SyncRun

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.mysql]

COURSE_KEY = api.parse_course_key(SAMPLE_COURSE_ID)


class WorkerDied(BaseException):
    """A worker killed mid-sync: nothing of the pass's own clean-up runs."""


def age_everything(days: int = 40) -> None:
    """Make every run and logged operation ``days`` old."""
    then = timezone.now() - timedelta(days=days)
    SyncRun.objects.update(started_at=then, finished_at=then, created=then, modified=then)
    SyncOperation.objects.update(created=then, modified=then)


def expire_lease() -> None:
    """The lease of a worker that died here runs out."""
    CourseSyncState.objects.update(lock_expires_at=timezone.now() - timedelta(seconds=1))


def stored_snapshot() -> str:
    return CourseSyncState.objects.get(course_key=SAMPLE_COURSE_ID).snapshot


def loaded_snapshot():
    snapshot, problem = sync.load_snapshot(COURSE_KEY, stored_snapshot())
    assert not problem
    return snapshot


def pending_ids() -> set[str]:
    return set(SyncOperation.objects.filter(status=SyncOperation.Status.PENDING).values_list("operation_id", flat=True))


def sync_dying_at_batch(monkeypatch, batch: int, *, force: bool = False) -> None:
    """A sync whose worker dies as it sends ``batch``: a checkpoint, operations left pending."""
    send_batch = backend_client.BackendClient.send_batch
    sent = []

    def dying_send(self, body):
        sent.append(body["batch_id"])
        if len(sent) == batch:
            raise WorkerDied
        return send_batch(self, body)

    monkeypatch.setattr(backend_client.BackendClient, "send_batch", dying_send)
    with pytest.raises(WorkerDied):
        api.sync_course(SAMPLE_COURSE_ID, force=force)
    monkeypatch.setattr(backend_client.BackendClient, "send_batch", send_batch)
    expire_lease()


@pytest.fixture
def old_history(settings, studio, backend, monkeypatch, tmp_path):
    """
    Forty days of history: syncs, unchanged re-syncs, an edit, then a full resync whose
    worker died midway (its snapshot a checkpoint, operations unacknowledged).
    """
    settings.VIRTU_SYNC_BATCH_SIZE = 2
    studio.publish_export(SAMPLE_COURSE)  # the switch is off: the syncs below are the only ones
    assert api.sync_course(SAMPLE_COURSE_ID).status is SyncStatus.SYNCED
    for _ in range(3):
        assert api.sync_course(SAMPLE_COURSE_ID).status is SyncStatus.UNCHANGED
    editor = ExportEditor(SAMPLE_COURSE, tmp_path / "edited")
    edit_sample_course(editor)
    studio.publish_export(editor.path)
    assert api.sync_course(SAMPLE_COURSE_ID).status is SyncStatus.SYNCED
    sync_dying_at_batch(monkeypatch, 5, force=True)
    assert replay_mark(stored_snapshot()) is not None, "the dead pass left a checkpoint"
    assert pending_ids()
    age_everything()
    return editor


def sent_operations(backend, since: int = 0) -> list[dict]:
    return [
        operation
        for request in backend.requests()[since:]
        if request.path.endswith("/batches")
        for operation in json.loads(request.body)["operations"]
    ]


def test_a_prune_keeps_what_the_next_sync_needs_and_the_syncs_after_it_stay_minimal(
    old_history, studio, backend, tmp_path
):
    pending, loaded = pending_ids(), loaded_snapshot().tree()
    pending_runs = set(SyncOperation.objects.filter(operation_id__in=pending).values_list("run_id", flat=True))
    assert SyncOperation.objects.count() > len(pending) and SyncRun.objects.count() > len(pending_runs) + 1

    result = api.prune_sync_history(SAMPLE_COURSE_ID)

    assert result.operations > 0 and result.runs > 0 and not result.skipped and not result.more
    assert pending_ids() == pending, "no unacknowledged operation was deleted"
    assert not SyncOperation.objects.exclude(status=SyncOperation.Status.PENDING).exists()
    latest = SyncRun.objects.order_by("-pk").first()
    assert set(SyncRun.objects.values_list("pk", flat=True)) == pending_runs | {latest.pk}
    assert replay_mark(stored_snapshot()) is None, "the checkpoint was folded"
    assert snapshot_from_json(stored_snapshot()).tree() == loaded

    # The next sync resends what was pending, and finishes the full resync.
    result = api.sync_course(SAMPLE_COURSE_ID)
    assert result.status in (SyncStatus.SYNCED, SyncStatus.UNCHANGED), result.error
    assert backend.tree(SAMPLE_COURSE_ID) == api.build_outline(SAMPLE_COURSE_ID).tree()
    assert max(backend.effects().values()) == 1, "an operation took effect twice"

    # Everything that may go, then an unchanged re-publish sends nothing...
    age_everything()
    assert api.prune_sync_history(SAMPLE_COURSE_ID, older_than_days=0).operations > 0
    assert SyncOperation.objects.count() == 0 and SyncRun.objects.count() == 1
    requests = len(backend.requests())
    assert api.sync_course(SAMPLE_COURSE_ID).status is SyncStatus.UNCHANGED
    assert len(backend.requests()) == requests

    # ...an edit sends exactly the operations that differ...
    before = api.build_outline(SAMPLE_COURSE_ID)
    editor = ExportEditor(old_history.path, tmp_path / "edited-again")
    editor.rename("chapter", "numbers", "Numbers, pruned")
    editor.delete("vertical", "hw_ordering")
    studio.publish_export(editor.path)
    expected = {(op.operation.value, op.entity_id) for op in api.diff_outlines(before, api.build_outline(COURSE_KEY))}
    assert expected == {
        ("update", "block-v1:VirtuX+MATH101+2026+type@chapter+block@numbers"),
        ("delete", "block-v1:VirtuX+MATH101+2026+type@vertical+block@hw_ordering"),
        ("update", "block-v1:VirtuX+MATH101+2026+type@vertical+block@hw_fractions"),  # now first
    }
    assert api.sync_course(SAMPLE_COURSE_ID).status is SyncStatus.SYNCED
    assert {(op["operation"], op["entity_id"]) for op in sent_operations(backend, requests)} == expected

    # ...and the backend holds exactly the published course.
    Switch.objects.create(name="virtu_sync.course_sync", active=True)
    cache.clear()  # waffle caches the switch's absence
    RequestCache.clear_all_namespaces()
    out = io.StringIO()
    call_command("virtu_sync_verify", "--course", SAMPLE_COURSE_ID, stdout=out, stderr=io.StringIO())
    assert "1 in sync, 0 drifting" in out.getvalue()


def test_rows_younger_than_the_retention_period_stay(old_history, settings):
    settings.VIRTU_SYNC_LOG_RETENTION_DAYS = 60
    rows = SyncOperation.objects.count(), SyncRun.objects.count(), stored_snapshot()

    assert api.prune_sync_history(SAMPLE_COURSE_ID) == PruneResult(SAMPLE_COURSE_ID)
    assert (SyncOperation.objects.count(), SyncRun.objects.count(), stored_snapshot()) == rows


def test_a_course_whose_sync_is_running_is_left_as_it_is(old_history):
    assert course_lease.acquire(COURSE_KEY, "another-host:1:abc")
    rows = SyncOperation.objects.count(), SyncRun.objects.count(), stored_snapshot()

    result = api.prune_sync_history(SAMPLE_COURSE_ID)

    assert result.skipped.startswith("a sync of the course is running")
    assert (SyncOperation.objects.count(), SyncRun.objects.count(), stored_snapshot()) == rows
    assert CourseSyncState.objects.get().lock_owner == "another-host:1:abc"


def test_a_checkpoint_that_cannot_be_folded_keeps_the_whole_log(old_history):
    SyncOperation.objects.filter(operation_id=replay_mark(stored_snapshot())).delete()
    rows = SyncOperation.objects.count(), SyncRun.objects.count()

    result = api.prune_sync_history(SAMPLE_COURSE_ID, older_than_days=0)
    assert "stored snapshot cannot be read" in result.skipped
    assert "stored snapshot cannot be read" in api.prune_sync_history(SAMPLE_COURSE_ID, dry_run=True).skipped
    assert (SyncOperation.objects.count(), SyncRun.objects.count()) == rows
    assert not CourseSyncState.objects.get().lock_owner


def test_the_sync_task_prunes_its_course_a_bounded_amount_after_each_sync(
    settings, studio, backend, sync_switch_on, monkeypatch
):
    settings.VIRTU_SYNC_BATCH_SIZE = 2
    for _ in range(4):
        studio.publish_export(SAMPLE_COURSE)  # the task syncs (the first time only sends anything)
    assert SyncRun.objects.count() == 4
    age_everything()
    operations = SyncOperation.objects.count()
    monkeypatch.setattr(retention, "PRUNE_BATCH_ROWS", 3)
    monkeypatch.setattr(tasks, "PRUNE_BATCHES_PER_TASK", 2)

    studio.publish_export(SAMPLE_COURSE)
    assert SyncOperation.objects.count() == operations - 6, "two batches of three rows, no more"

    monkeypatch.setattr(tasks, "PRUNE_BATCHES_PER_TASK", 1000)
    studio.publish_export(SAMPLE_COURSE)
    assert SyncOperation.objects.count() == 0
    assert SyncRun.objects.count() == 2, "the old runs went; the two recent ones stay"
    assert CourseSyncState.objects.get().status == CourseSyncState.Status.IN_SYNC
    assert not CourseSyncState.objects.get().lock_owner


def test_the_command_prunes_every_course_and_its_dry_run_deletes_nothing(old_history, studio, backend):
    other = "course-v1:OtherU+MATH101+2026"
    studio.publish_export(SAMPLE_COURSE, course_key=api.parse_course_key(other))
    assert api.sync_course(other).status is SyncStatus.SYNCED
    age_everything()
    rows = SyncOperation.objects.count(), SyncRun.objects.count()
    expected = [api.prune_sync_history(key, dry_run=True) for key in (SAMPLE_COURSE_ID, other)]
    assert all(result.operations for result in expected)

    dry = prune_command("--dry-run")
    assert dry == (
        f"Would delete {sum(r.operations for r in expected)} operation-log rows and "
        f"{sum(r.runs for r in expected)} sync runs of 2 course(s).\n"
    )
    assert (SyncOperation.objects.count(), SyncRun.objects.count()) == rows

    assert prune_command("--older-than", "45") == "Deleted 0 operation-log rows and 0 sync runs of 0 course(s).\n"
    pending = pending_ids()
    assert prune_command() == dry.replace("Would delete", "Deleted")
    assert pending and pending_ids() == pending and SyncOperation.objects.count() == len(pending)
    assert SyncRun.objects.filter(course_key=other).count() == 1


def prune_command(*arguments: str) -> str:
    out = io.StringIO()
    call_command("virtu_sync_prune", *arguments, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def run_prune_command(*arguments: str, settings) -> subprocess.CompletedProcess:
    """``manage.py virtu_sync_prune`` as an operator runs it, on this test's database."""
    return subprocess.run(
        [sys.executable, "manage.py", "virtu_sync_prune", *arguments],
        cwd=REPO_ROOT,
        env=worker_environment(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("days", ["-1", "abc", "1.5", ""])
def test_a_bad_older_than_is_a_clear_error_with_exit_status_2_and_deletes_nothing(old_history, settings, days):
    rows = SyncOperation.objects.count(), SyncRun.objects.count(), stored_snapshot()

    command = run_prune_command("--older-than", days, settings=settings)

    assert command.returncode == 2, command.stderr
    assert f"argument --older-than: must be a whole number of days, 0 or more, not {days!r}" in command.stderr
    assert command.stdout == ""
    assert (SyncOperation.objects.count(), SyncRun.objects.count(), stored_snapshot()) == rows


def test_the_command_run_by_an_operator_prunes_everything_that_may_go(old_history, settings):
    pending = pending_ids()

    command = run_prune_command("--older-than", "0", settings=settings)

    assert command.returncode == 0, command.stderr
    assert command.stdout.startswith("Deleted ") and command.stdout.endswith(" of 1 course(s).\n")
    assert pending_ids() == pending and SyncOperation.objects.count() == len(pending)


def test_a_failed_pass_s_unacknowledged_operations_outlive_any_prune(settings, studio, backend):
    studio.publish_export(SAMPLE_COURSE)
    backend.set_faults(Fault.fail(503, count=100))
    assert api.sync_course(SAMPLE_COURSE_ID).status is SyncStatus.FAILED
    pending = pending_ids()
    assert pending
    age_everything()

    api.prune_sync_history(SAMPLE_COURSE_ID, older_than_days=0)

    assert pending_ids() == pending
    backend.set_faults()
    result = api.sync_course(SAMPLE_COURSE_ID)  # resends the pending batches: nothing left to diff
    assert result.status is SyncStatus.UNCHANGED and result.resent_batches > 0, result.error
    assert not pending_ids()
    assert backend.tree(SAMPLE_COURSE_ID) == api.build_outline(SAMPLE_COURSE_ID).tree()


@pytest.mark.parametrize("days", [0, -1, "30", 1.5, None])
def test_the_retention_setting_must_be_a_whole_number_of_days(days):
    class Settings:
        VIRTU_SYNC_LOG_RETENTION_DAYS = days

    assert any("VIRTU_SYNC_LOG_RETENTION_DAYS must be a whole number" in p for p in settings_problems(Settings))


def test_the_retention_setting_defaults_to_30_days():
    class Settings:
        pass

    assert settings_problems(Settings) == []
    assert retention.retention_cutoff() < timezone.now() - timedelta(days=29, hours=23)
