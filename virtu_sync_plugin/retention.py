"""
Bounded storage: operation-log rows and run records older than the retention period go.

What may go, once older than the cutoff: an operation with a settled outcome (applied,
failed, deferred), and a run with no operation left that is not its course's latest (the
admin keeps showing how each course's last sync ended). What never goes: an operation
recorded but not acknowledged (``pending``: the next pass of its course resends it, with
its run), and what the stored snapshot needs for replay: a checkpoint
(:func:`~virtu_sync_plugin.core.snapshot.mark_for_replay`) is folded first, read with the
log's later operations replayed on it and stored complete, so no logged row is needed any
more.

A course is pruned under its sync lease (no pass of it runs meanwhile; a course whose sync
is running is left for next time) in batches of :data:`PRUNE_BATCH_ROWS` rows, each its own
short statement. A worker killed at any point leaves a consistent log and snapshot: the
fold is one ``UPDATE``, each batch one ``DELETE``, and the lease runs out as after a killed
sync.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from opaque_keys.edx.locator import CourseLocator

from . import course_lease
from .conf import get_sync_settings
from .core.snapshot import SnapshotFormatError, replay_mark, snapshot_from_json, snapshot_to_json
from .data import PruneResult
from .models import CourseSyncState, SyncOperation, SyncRun
from .sync import replayed_snapshot

#: Rows deleted per statement: short enough not to hold locks that a sync would wait on.
PRUNE_BATCH_ROWS = 500


def retention_cutoff(older_than_days: int | None = None) -> datetime:
    """Rows older than this may go (``older_than_days`` default: ``VIRTU_SYNC_LOG_RETENTION_DAYS``)."""
    days = get_sync_settings().log_retention_days if older_than_days is None else older_than_days
    return timezone.now() - timedelta(days=days)


def courses_with_history_before(cutoff: datetime) -> list[CourseLocator]:
    """The courses with a run older than ``cutoff`` (an operation is never older than its run)."""
    keys = SyncRun.objects.filter(started_at__lt=cutoff).order_by().values_list("course_key", flat=True).distinct()
    return sorted(set(keys), key=str)


def prune_course(
    course_key: CourseLocator, cutoff: datetime, *, dry_run: bool = False, max_batches: int | None = None
) -> PruneResult:
    """
    Delete the course's operation-log rows and runs older than ``cutoff`` that may go.

    ``dry_run`` counts them and changes nothing. ``max_batches`` bounds the work of one call:
    what is left then is reported as ``more``, for the next call.
    """
    course_id = str(course_key)
    if dry_run:
        problem = _snapshot_problem(course_key)
        if problem:
            return PruneResult(course_id, skipped=problem)
        return PruneResult(
            course_id, _old_operations(course_key, cutoff).count(), _old_runs(course_key, cutoff).count()
        )
    if not _old_operations(course_key, cutoff).exists() and not _old_runs(course_key, cutoff).exists():
        return PruneResult(course_id)
    owner = course_lease.new_owner()
    if not course_lease.acquire(course_key, owner):
        return PruneResult(course_id, skipped="a sync of the course is running; pruned next time")
    try:
        return _prune_under_lease(course_key, owner, cutoff, max_batches)
    except course_lease.LeaseLostError:
        return PruneResult(course_id, skipped="a sync took the course over; pruned next time")
    finally:
        course_lease.release(course_key, owner)


def _prune_under_lease(course_key: CourseLocator, owner: str, cutoff: datetime, max_batches: int | None) -> PruneResult:
    course_id = str(course_key)
    problem = _fold_checkpoint(course_key, owner)
    if problem:
        return PruneResult(course_id, skipped=problem)
    budget = max_batches
    deleted = {}
    for model, rows in ((SyncOperation, _old_operations), (SyncRun, _old_runs)):
        deleted[model] = 0
        while budget is None or budget > 0:
            course_lease.renew(course_key, owner)
            ids = list(rows(course_key, cutoff).order_by("pk").values_list("pk", flat=True)[:PRUNE_BATCH_ROWS])
            if not ids:
                break
            model.objects.filter(pk__in=ids).delete()
            deleted[model] += len(ids)
            budget = None if budget is None else budget - 1
    more = budget == 0 and (_old_operations(course_key, cutoff).exists() or _old_runs(course_key, cutoff).exists())
    return PruneResult(course_id, deleted[SyncOperation], deleted[SyncRun], more=more)


def _old_operations(course_key: CourseLocator, cutoff: datetime):
    """The course's operations that may go: older than ``cutoff``, acknowledged or settled."""
    return SyncOperation.objects.filter(course_key=course_key, created__lt=cutoff).exclude(
        status=SyncOperation.Status.PENDING
    )


def _old_runs(course_key: CourseLocator, cutoff: datetime):
    """
    The course's runs that may go once its old operations have gone.

    Older than ``cutoff``, not the course's latest, and with no operation that stays.
    """
    latest = SyncRun.objects.filter(course_key=course_key).order_by("-pk").values_list("pk", flat=True).first()
    staying = SyncOperation.objects.filter(run=OuterRef("pk")).filter(
        Q(status=SyncOperation.Status.PENDING) | Q(created__gte=cutoff)
    )
    return (
        SyncRun.objects.filter(course_key=course_key, started_at__lt=cutoff).exclude(pk=latest).exclude(Exists(staying))
    )


def _stored_snapshot(course_key: CourseLocator) -> str:
    return CourseSyncState.objects.filter(course_key=course_key).values_list("snapshot", flat=True).first() or ""


def _snapshot_problem(course_key: CourseLocator) -> str:
    """Why the course's log must stay whole: its checkpoint cannot be folded."""
    stored = _stored_snapshot(course_key)
    if replay_mark(stored) is None:
        return ""
    try:
        replayed_snapshot(course_key, snapshot_from_json(stored), replay_mark(stored))
    except SnapshotFormatError as error:
        return f"its stored snapshot cannot be read ({error}); the log is kept for the next sync"
    return ""


def _fold_checkpoint(course_key: CourseLocator, owner: str) -> str:
    """
    Store the course's snapshot complete if it is a checkpoint; returns why it could not.

    Under the lease: no pass advances the snapshot meanwhile.
    """
    stored = _stored_snapshot(course_key)
    mark = replay_mark(stored)
    if mark is None:
        return ""
    try:
        snapshot = replayed_snapshot(course_key, snapshot_from_json(stored), mark)
    except SnapshotFormatError as error:
        return f"its stored snapshot cannot be read ({error}); the log is kept for the next sync"
    folded = CourseSyncState.objects.filter(course_key=course_key, lock_owner=owner).update(
        snapshot=snapshot_to_json(snapshot), entity_count=len(snapshot)
    )
    if not folded:
        raise course_lease.LeaseLostError(f"the sync lease of {course_key} was taken over")
    return ""
