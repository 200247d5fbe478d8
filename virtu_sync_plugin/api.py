"""
The public Python API of the Virtu sync plugin (OEP-49).

Other apps, and this app's own tasks, receivers, admin and commands, use only this
module and :mod:`virtu_sync_plugin.data`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import timedelta as _timedelta

from celery import current_app as _celery_app
from django.db import transaction as _transaction
from django.db.models import BooleanField as _BooleanField
from django.db.models import ExpressionWrapper as _ExpressionWrapper
from django.db.models import F as _F
from django.db.models import Q as _Q
from django.utils import timezone as _timezone
from opaque_keys.edx.keys import CourseKey

from . import retention as _retention
from . import verify as _verify
from .backend_client import BackendError, StateEndpointUnavailableError
from .conf import get_sync_settings as _get_sync_settings
from .conf import lease_seconds as _lease_seconds
from .core.diff import diff_outlines as _diff_outlines
from .course_lease import has_pending_request as _has_pending_request
from .course_lease import request_unqueued_sync as _request_unqueued_sync
from .data import ChangeOperation, CourseDrift, CourseOutline, OutOfSyncCourse, PruneResult, SyncResult
from .export_diff import UnreadableExportError
from .export_diff import diff_exports as _diff_exports
from .keys import InvalidCourseKeyError, LibraryKeyError, parse_course_key
from .models import CourseSyncState as _CourseSyncState
from .models import SyncOperation as _SyncOperation
from .models import SyncRun as _SyncRun
from .models import SyncScope as _SyncScope
from .modulestore import course_keys_in_modulestore as _course_keys_in_modulestore
from .retries import RETRY_COURSE_TASK as _RETRY_COURSE_TASK
from .retries import claim_retry as _claim_retry
from .sync import delete_course as _delete_course
from .sync import preview_course_sync as _preview_course_sync
from .sync import read_outline as _read_outline
from .sync import sync_course as _sync_course
from .toggles import COURSE_SYNC_SWITCH as _COURSE_SYNC_SWITCH

_log = logging.getLogger(__name__)

__all__ = [
    "DELETE_COURSE_TASK",
    "RETRY_COURSE_TASK",
    "SYNC_COURSE_TASK",
    "TRIGGER_ADMIN",
    "TRIGGER_BACKFILL",
    "TRIGGER_DELETE",
    "TRIGGER_IMPORT",
    "TRIGGER_MANUAL",
    "TRIGGER_PUBLISH",
    "TRIGGER_RECONCILE",
    "TRIGGER_RERUN",
    "TRIGGER_RETRY",
    "BackendError",
    "InvalidCourseKeyError",
    "LibraryKeyError",
    "StateEndpointUnavailableError",
    "UnreadableExportError",
    "build_outline",
    "course_keys",
    "courses_out_of_sync",
    "courses_with_old_sync_history",
    "delete_course",
    "diff_outlines",
    "has_pending_sync",
    "is_in_sync_scope",
    "is_sync_enabled",
    "is_sync_switch_on",
    "out_of_sync_alert_seconds",
    "parse_course_key",
    "preview_export_change",
    "prune_sync_history",
    "queue_course_deletion",
    "queue_course_sync",
    "repair_course",
    "run_scheduled_retry",
    "sync_course",
    "sync_lease_seconds",
    "verify_course",
]

TRIGGER_PUBLISH = _SyncRun.Trigger.PUBLISH.value
TRIGGER_DELETE = _SyncRun.Trigger.DELETE.value
TRIGGER_IMPORT = _SyncRun.Trigger.IMPORT.value
TRIGGER_RERUN = _SyncRun.Trigger.RERUN.value
TRIGGER_BACKFILL = _SyncRun.Trigger.BACKFILL.value
TRIGGER_ADMIN = _SyncRun.Trigger.ADMIN.value
TRIGGER_MANUAL = _SyncRun.Trigger.MANUAL.value
TRIGGER_RETRY = _SyncRun.Trigger.RETRY.value
TRIGGER_RECONCILE = _SyncRun.Trigger.RECONCILE.value

#: The names of the Celery tasks (for routing them to a queue). :mod:`virtu_sync_plugin.tasks`
#: defines them and calls this module, so this module queues them by name, without importing them.
SYNC_COURSE_TASK = "virtu_sync_plugin.tasks.sync_course"
DELETE_COURSE_TASK = "virtu_sync_plugin.tasks.delete_course"
RETRY_COURSE_TASK = _RETRY_COURSE_TASK


def build_outline(course_key: str | CourseKey) -> CourseOutline | None:
    """
    The published outline of a course, read from the modulestore in one full-depth read.

    Returns ``None`` when the modulestore has no such course (never created, or deleted).
    Odd content is reported in the outline's ``content_errors``.

    Raises:
        InvalidCourseKeyError: if ``course_key`` is not a Studio course key.
    """
    return _read_outline(parse_course_key(course_key))


def diff_outlines(old: CourseOutline | None, new: CourseOutline) -> list[ChangeOperation]:
    """
    The operations that bring the backend from ``old`` to ``new``.

    ``old`` is what the backend acknowledged (``None``: nothing). Creates come first
    (parents before children), then updates, then deletes.
    """
    return _diff_outlines(old, new)


def is_sync_enabled(course_key: str | CourseKey) -> bool:
    """Whether the course is synced now: the global switch is on and the course is in scope."""
    key = parse_course_key(course_key)
    return _COURSE_SYNC_SWITCH.is_enabled() and _SyncScope.current().includes(key)


def sync_course(
    course_key: str | CourseKey,
    *,
    force: bool = False,
    dry_run: bool = False,
    trigger: str = TRIGGER_MANUAL,
) -> SyncResult:
    """
    Sync one course with the backend, here and now (the Celery task calls this too).

    Runs the whole pipeline: resend unacknowledged batches, read the published outline,
    diff it against the acknowledged snapshot, record, send, advance the snapshot. If
    another worker is syncing the course, the request is left with it and the result is
    ``QUEUED``. ``force`` diffs against an empty snapshot (everything sent as upserts;
    what the course no longer has is still deleted). ``dry_run`` returns the operations
    a sync would send and changes nothing. Does not check :func:`is_sync_enabled`.

    Raises:
        InvalidCourseKeyError: if ``course_key`` is not a Studio course key.
    """
    key = parse_course_key(course_key)
    if dry_run:
        return _preview_course_sync(key, force=force)
    return _sync_course(key, trigger=trigger, force=force)


def delete_course(course_key: str | CourseKey) -> SyncResult:
    """
    Delete a course from the backend, after it was deleted in Studio.

    Sends one ``delete`` of the course entity; its snapshot is dropped once the backend
    acknowledges it.
    """
    return _delete_course(parse_course_key(course_key))


def sync_lease_seconds() -> float:
    """How long a worker that died keeps a course's lease (``VIRTU_SYNC_LEASE_SECONDS``)."""
    return _lease_seconds()


def has_pending_sync(course_key: str | CourseKey) -> bool:
    """Whether a sync of the course was asked for and has not started yet."""
    return _has_pending_request(parse_course_key(course_key))


def run_scheduled_retry(course_key: str | CourseKey, scheduled_for: str) -> SyncResult | None:
    """
    Run the course's scheduled automatic retry: one more sync, here and now.

    ``scheduled_for`` is the time the retry was scheduled for, as the task carries it.
    Returns ``None``, and does nothing, when that retry is no longer due: a pass brought
    the course in sync meanwhile, or another retry replaced it; and when the course is no
    longer synced (:func:`is_sync_enabled`), the retry is dropped. A retry that fails again
    schedules the next one.

    Raises:
        InvalidCourseKeyError: if ``course_key`` is not a Studio course key.
    """
    key = parse_course_key(course_key)
    if not _claim_retry(key, scheduled_for):
        return None
    if not is_sync_enabled(key):
        _log.info("Virtu sync: %s is not synced (switch off or out of scope); its retry is dropped", key)
        return None
    return _sync_course(key, trigger=TRIGGER_RETRY)


def courses_out_of_sync(*, for_longer_than: float | None = None) -> Iterator[OutOfSyncCourse]:
    """
    The courses the backend is behind on, oldest first, each with what it waits for.

    Those whose last pass failed or partly failed, that have operations recorded but not
    acknowledged, whose deletion the backend has not taken yet, or with a sync asked for
    and not run (its task could not be queued). With ``for_longer_than`` (seconds), only
    those out of sync for longer than that.
    """
    unacknowledged = set(
        _SyncOperation.objects.filter(status=_SyncOperation.Status.PENDING)
        .values_list("course_key", flat=True)
        .distinct()
    )
    states = _CourseSyncState.objects.filter(
        _Q(status=_CourseSyncState.Status.FAILED)
        | _Q(deletion_requested=True)
        | _Q(out_of_sync_since__isnull=False)
        | _Q(course_key__in=unacknowledged)
    ).exclude(status=_CourseSyncState.Status.DELETED)
    if for_longer_than is not None:
        states = states.filter(out_of_sync_since__lt=_timezone.now() - _timedelta(seconds=for_longer_than))
    fields = ("course_key", "status", "deletion_requested", "out_of_sync_since", "next_retry_at", "last_error")
    requested = _ExpressionWrapper(_Q(sync_requests__gt=_F("handled_requests")), output_field=_BooleanField())
    states = states.annotate(requested=requested).order_by(_F("out_of_sync_since").asc(nulls_last=True), "course_key")
    for state in states.values(*fields, "requested"):
        waiting_for = []
        if state["deletion_requested"]:
            waiting_for.append("deletion")
        elif state["requested"]:
            waiting_for.append("requested sync")
        if state["course_key"] in unacknowledged:
            waiting_for.append("unacknowledged operations")
        if state["status"] == _CourseSyncState.Status.FAILED and not state["deletion_requested"]:
            waiting_for.append("failed pass")
        yield OutOfSyncCourse(
            course_id=str(state["course_key"]),
            waiting_for=tuple(waiting_for) or ("failed pass",),
            out_of_sync_since=state["out_of_sync_since"],
            next_retry_at=state["next_retry_at"],
            last_error=state["last_error"],
        )


def out_of_sync_alert_seconds() -> float:
    """How long a course may stay out of sync before the heartbeat check fails (seconds)."""
    return _get_sync_settings().heartbeat_out_of_sync_seconds


def queue_course_sync(course_key: str | CourseKey, *, force: bool = False, trigger: str = TRIGGER_MANUAL) -> None:
    """
    Queue a sync of the course on the Celery workers, once the current transaction commits.

    A task that cannot be queued (the broker is down) is logged, never raised: after its
    commit, a Studio request must not fail. The sync is then recorded as asked for, and
    the course as out of sync, for :func:`courses_out_of_sync` (and ``virtu_sync_reconcile``)
    to find it.
    """
    key = parse_course_key(course_key)
    _queue_after_commit(key, SYNC_COURSE_TASK, (str(key), trigger, force), trigger=trigger, force=force)


def queue_course_deletion(course_key: str | CourseKey) -> None:
    """
    Queue the deletion of the course from the backend, once the current transaction commits.

    Like :func:`queue_course_sync`, a deletion that cannot be queued is recorded, not lost.
    """
    key = parse_course_key(course_key)
    _queue_after_commit(key, DELETE_COURSE_TASK, (str(key), TRIGGER_DELETE), trigger=TRIGGER_DELETE, deletion=True)


def _queue_after_commit(
    key: CourseKey, task_name: str, arguments: tuple, *, trigger: str, force: bool = False, deletion: bool = False
) -> None:
    def send() -> None:
        try:
            # The app's registry: the tasks are registered when the app is ready (apps.py).
            _celery_app.tasks[task_name].delay(*arguments)
        except Exception:  # pylint: disable=broad-except
            _log.exception(
                "Virtu sync: could not queue the %s of %s (is the Celery broker up?); it is NOT synced",
                trigger,
                key,
            )
            _record_unqueued(key, trigger=trigger, force=force, deletion=deletion)

    _transaction.on_commit(send)


def _record_unqueued(key: CourseKey, *, trigger: str, force: bool, deletion: bool) -> None:
    """Record a request whose task could not be queued; never raise (Studio's request has committed)."""
    try:
        _request_unqueued_sync(key, trigger=trigger, force=force, deletion=deletion)
    except Exception:  # pylint: disable=broad-except
        _log.exception(
            "Virtu sync: could not record that %s needs its %s either; nothing will bring it over by itself",
            key,
            trigger,
        )
    else:
        _log.info("Virtu sync: the %s of %s is recorded for virtu_sync_reconcile", trigger, key)


def course_keys() -> Iterator[CourseKey]:
    """The keys of every course in the modulestore, one at a time."""
    return _course_keys_in_modulestore()


# Operator tools


def is_sync_switch_on() -> bool:
    """Whether the global ``virtu_sync.course_sync`` switch is on (off: no course is synced)."""
    return _COURSE_SYNC_SWITCH.is_enabled()


def is_in_sync_scope(course_key: str | CourseKey) -> bool:
    """Whether the course is in the sync scope set in the admin, whatever the global switch says."""
    return _SyncScope.current().includes(parse_course_key(course_key))


def preview_export_change(
    old_path: str | os.PathLike, new_path: str | os.PathLike, *, course_key: str | CourseKey | None = None
) -> list[ChangeOperation]:
    """
    The operations a sync would send when a course goes from one export to another.

    ``old_path`` and ``new_path`` are directories or ``.tar.gz`` files, both read as
    ``course_key`` (default: the key in the new export's ``course.xml``). Reads files only.

    Raises:
        UnreadableExportError: if either export cannot be read.
        InvalidCourseKeyError: if ``course_key`` is not a Studio course key.
    """
    key = parse_course_key(course_key) if course_key is not None else None
    return _diff_exports(old_path, new_path, course_key=key)


def verify_course(course_key: str | CourseKey) -> CourseDrift | None:
    """
    Compare the course's published outline with what the backend holds of it.

    Uses the contract's optional state endpoint; reports missing, extra and differing entities.

    Returns ``None`` when the modulestore has no such course. Changes nothing and does
    not check :func:`is_sync_enabled`.

    Raises:
        InvalidCourseKeyError: if ``course_key`` is not a Studio course key.
        StateEndpointUnavailableError: if the backend does not offer the state endpoint.
        BackendError: if the backend is not configured, unreachable, or refuses the request.
    """
    return _verify.verify_course(parse_course_key(course_key))


def repair_course(course_key: str | CourseKey, *, trigger: str = TRIGGER_MANUAL) -> SyncResult:
    """
    Bring the backend back to the published course, whatever drifted.

    Takes what the backend really holds as the course's snapshot, then syncs: missing and
    differing entities are upserted, extra ones deleted. ``QUEUED`` when another worker is
    syncing the course; ``COURSE_NOT_FOUND`` when the modulestore lacks it. Does not check
    :func:`is_sync_enabled`.

    Raises:
        InvalidCourseKeyError: if ``course_key`` is not a Studio course key.
        StateEndpointUnavailableError: if the backend does not offer the state endpoint.
        BackendError: if the backend is not configured, unreachable, or refuses the request.
    """
    return _verify.repair_course(parse_course_key(course_key), trigger=trigger)


def courses_with_old_sync_history(*, older_than_days: int | None = None) -> list[CourseKey]:
    """
    The courses with run records older than ``older_than_days`` days.

    ``older_than_days`` defaults to ``VIRTU_SYNC_LOG_RETENTION_DAYS``.
    """
    return _retention.courses_with_history_before(_retention.retention_cutoff(older_than_days))


def prune_sync_history(
    course_key: str | CourseKey,
    *,
    older_than_days: int | None = None,
    dry_run: bool = False,
    max_batches: int | None = None,
) -> PruneResult:
    """
    Delete the course's operation-log rows and run records older than ``older_than_days`` days.

    ``older_than_days`` defaults to ``VIRTU_SYNC_LOG_RETENTION_DAYS``; 0 means everything
    that may go. Never deletes an operation the backend has not acknowledged, a row the
    stored snapshot needs (a checkpoint is folded first), or the course's latest run. Works
    in small batches under the course's sync lease; a course whose sync is running is left
    as it is (``skipped``). ``max_batches`` bounds the work (``more``: rows left for next
    time). ``dry_run`` counts and changes nothing.

    Raises:
        InvalidCourseKeyError: if ``course_key`` is not a Studio course key.
    """
    key = parse_course_key(course_key)
    cutoff = _retention.retention_cutoff(older_than_days)
    return _retention.prune_course(key, cutoff, dry_run=dry_run, max_batches=max_batches)
