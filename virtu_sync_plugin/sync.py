"""
The sync pipeline of one course: outline → diff → operation log → delivery → snapshot.

A pass first resends what an earlier pass recorded but never got acknowledged (same
batch and operation ids), then reads the published outline, diffs it against the
snapshot, records the operations before sending them, and advances the snapshot by what
the backend applied, batch by batch, each in one transaction with the operation log.
Passes of one course never overlap (see :mod:`course_lease`).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from itertools import groupby
from types import MappingProxyType
from typing import Any

from django.conf import settings as django_settings
from django.db import connections, router, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from opaque_keys.edx.locator import CourseLocator

from . import course_lease, retries
from .backend_client import BackendClient, BackendError, PermanentBackendError, UnreadableAnswerError
from .change_processor import APPLIED, DEFERRED, FAILED, BatchEnvelope, ChangeProcessor, Outcome
from .conf import get_sync_settings
from .core.diff import diff_outlines
from .core.operations import ChangeOperation, OperationType
from .core.outline import COURSE, ContentError, CourseOutline, Entity
from .core.placeholders import resolve_placeholders
from .core.snapshot import (
    SnapshotFormatError,
    advance_entities,
    advance_snapshot,
    empty_snapshot,
    mark_for_replay,
    remove_subtrees,
    replay_mark,
    snapshot_from_json,
    snapshot_to_json,
)
from .data import SyncResult, SyncStatus
from .models import CourseSyncState, SyncOperation, SyncRun
from .modulestore import outline_from_course_block, read_published_course
from .monitoring import report_pass

log = logging.getLogger(__name__)


def sync_course(course_key: CourseLocator, *, trigger: str, force: bool = False) -> SyncResult:
    """Ask for a sync of the course and run it here, unless another worker is running one."""
    course_lease.request_sync(course_key, trigger=trigger, force=force)
    return run_requested(course_key)


def delete_course(course_key: CourseLocator) -> SyncResult:
    """Ask for the course's deletion on the backend and send it here, unless a sync is running."""
    course_lease.request_sync(course_key, trigger=SyncRun.Trigger.DELETE, deletion=True)
    return run_requested(course_key)


def run_requested(course_key: CourseLocator) -> SyncResult:
    """
    Run passes while requests are pending, holding the course's lease.

    Returns the last pass's result, or ``QUEUED`` when another worker holds the lease (it
    will run once more for the pending request). The lease is renewed in the background
    while the passes run. A course that the last pass leaves out of sync gets its automatic
    retry scheduled (see :mod:`retries`).
    """
    owner = course_lease.new_owner()
    if not course_lease.acquire(course_key, owner):
        return SyncResult(str(course_key), SyncStatus.QUEUED)
    try:
        with course_lease.LeaseKeeper(course_key, owner):
            while True:
                request = course_lease.start_pass(course_key, owner)
                result = _Pass(course_key, owner, request).run()
                if course_lease.finish_pass(course_key, owner, request):
                    break
    except BaseException:
        course_lease.release(course_key, owner)
        raise
    if result.status is not SyncStatus.COURSE_NOT_FOUND:  # only a publish brings the course back
        retries.schedule_retry(course_key)
    return result


def preview_course_sync(course_key: CourseLocator, *, force: bool = False) -> SyncResult:
    """The operations a sync would send now; sends nothing and changes nothing."""
    state = CourseSyncState.objects.filter(course_key=course_key).first()
    snapshot = load_snapshot(course_key, state.snapshot if state else "")[0]
    outline = read_outline(course_key)
    if outline is None:
        return SyncResult(str(course_key), SyncStatus.COURSE_NOT_FOUND, error=_NOT_FOUND)
    operations = _plan(snapshot, outline, force)
    return SyncResult(str(course_key), SyncStatus.DRY_RUN, tuple(operations), content_errors=outline.content_errors)


_NOT_FOUND = "the course is not in the modulestore (deleted, or never published); the backend is left as it is"


def read_outline(course_key: CourseLocator) -> CourseOutline | None:
    """The course's published outline, or ``None`` when the modulestore lacks the course."""
    course = read_published_course(course_key)
    if course is None:
        return None
    block_types = get_sync_settings().assessment_block_types
    return outline_from_course_block(
        course.block, course_key, assessment_block_types=block_types, description=course.description
    )


def _plan(
    snapshot: CourseOutline, outline: CourseOutline, force: bool, abandoned: Sequence[ChangeOperation] = ()
) -> list[ChangeOperation]:
    """
    The operations of a sync.

    A forced one upserts everything it can read, and deletes what is gone from what the
    backend may hold: the snapshot, plus what abandoned operations of unknown outcome may
    have created or moved there. What the backend holds of blocks that do not load is
    left alone (only its place follows its parent's list), like in any sync.
    """
    if not force:
        return diff_outlines(snapshot, outline)
    may_hold = advance_snapshot(snapshot, [op for op in abandoned if op.operation is not OperationType.DELETE])
    resolution = resolve_placeholders(may_hold, outline)
    kept = resolution.kept
    upserts = [op for op in diff_outlines(None, resolution.outline) if op.entity_id not in kept]
    changes = diff_outlines(may_hold, resolution.outline)
    moves = [op for op in changes if op.operation is OperationType.UPDATE and op.entity_id in kept]
    deletes = [op for op in changes if op.operation is OperationType.DELETE]
    return upserts + moves + deletes


def load_snapshot(course_key: CourseLocator, stored: str) -> tuple[CourseOutline, str]:
    """The stored snapshot (a checkpoint brought up to date), and the problem when it cannot be read."""
    if not stored:
        return empty_snapshot(str(course_key)), ""
    try:
        return replayed_snapshot(course_key, snapshot_from_json(stored), replay_mark(stored)), ""
    except SnapshotFormatError as error:
        problem = f"stored snapshot unreadable ({error}); everything is sent again as upserts"
        log.error("Virtu sync of %s: %s", course_key, problem)
        return empty_snapshot(str(course_key)), problem


def replayed_snapshot(course_key: CourseLocator, snapshot: CourseOutline, mark: str | None) -> CourseOutline:
    """
    A checkpoint brought up to date with the operation log.

    The operations the backend applied after the one the mark names are replayed on it, in
    log order: what a pass that stopped between checkpoints (a killed worker) recorded as
    applied but did not fold into the stored snapshot.
    """
    if mark is None:
        return snapshot
    anchor = SyncOperation.objects.filter(operation_id=mark).values_list("run_id", "sequence").first()
    if anchor is None:
        raise SnapshotFormatError(f"the operation {mark} it was checkpointed after is no longer in the log")
    run_id, sequence = anchor
    payloads = (
        SyncOperation.objects.filter(course_key=course_key, status=SyncOperation.Status.APPLIED)
        .filter(Q(run_id__gt=run_id) | Q(run_id=run_id, sequence__gt=sequence))
        .order_by("run_id", "sequence")
        .values_list("payload", flat=True)
    )
    return advance_snapshot(snapshot, [ChangeOperation.from_dict(payload) for payload in payloads])


class _Pass:
    """One pass of the pipeline for one course, recorded as one :class:`SyncRun`."""

    def __init__(self, course_key: CourseLocator, owner: str, request: course_lease.PendingRequest):
        self.course_key = course_key
        self.course_id = str(course_key)
        self.owner = owner
        self.request = request
        self.started = time.monotonic()
        self.run_record = SyncRun.objects.create(
            course_key=course_key,
            trigger=request.trigger or SyncRun.Trigger.MANUAL,
            forced=request.force,
            started_at=timezone.now(),
        )
        state = CourseSyncState.objects.get(course_key=course_key)
        self.snapshot, snapshot_problem = load_snapshot(course_key, state.snapshot)
        #: The stored snapshot is a checkpoint (operations were replayed on it): rewrite it whole.
        self.snapshot_checkpointed = not snapshot_problem and replay_mark(state.snapshot) is not None
        #: Worth telling the operator, but no failure of this pass.
        self.notes = [snapshot_problem] if snapshot_problem else []
        #: What kept this pass from bringing the backend in sync.
        self.problems: list[str] = []
        self.outcomes: list[Outcome] = []
        self.planned: list[ChangeOperation] = []
        self.resent_batches = 0
        #: Operations carried by the requests of this pass (resent ones included).
        self.sent = 0
        #: Operations of earlier runs a full resync gave up on (their outcome unknown).
        self.abandoned: list[ChangeOperation] = []

    def run(self) -> SyncResult:
        try:
            processor = self._processor()
            if not self._resend_unacknowledged(processor):
                return self._finish(SyncStatus.FAILED)
            outline = read_outline(self.course_key)
            if self.request.deletion and outline is None:
                return self._delete_course(processor)
            if self.request.deletion:  # the course is back in Studio: keep it on the backend
                CourseSyncState.objects.filter(course_key=self.course_key).update(deletion_requested=False)
            return self._sync(processor, outline)
        except BackendError as error:
            self.problems.append(str(error))
            return self._finish(SyncStatus.FAILED)
        except Exception as error:  # the course stays as it is; the run records why
            log.exception("Virtu sync of %s failed", self.course_id)
            self.problems.append(f"{type(error).__name__}: {error}")
            return self._finish(SyncStatus.FAILED)

    def _processor(self) -> ChangeProcessor:
        client = BackendClient(get_sync_settings())
        journal = _DatabaseJournal(self)
        return ChangeProcessor(client, journal, old_parent_of=self._old_parent_of)

    def _old_parent_of(self, entity_id: str) -> str | None:
        entity = self.snapshot.entities.get(entity_id)
        return entity.parent_id if entity is not None else None

    def _resend_unacknowledged(self, processor: ChangeProcessor) -> bool:
        pending = (
            SyncOperation.objects.filter(course_key=self.course_key, status=SyncOperation.Status.PENDING)
            .exclude(run=self.run_record)
            .order_by("run_id", "sequence")
        )
        if self.request.force:  # a full resync sends everything again: no need to know their outcome
            self.abandoned = [ChangeOperation.from_dict(row.payload) for row in pending]
            pending.update(status=SyncOperation.Status.FAILED, detail="abandoned: a full resync sent everything again")
            return True
        batches = [
            (batch_id, [ChangeOperation.from_dict(row.payload) for row in rows])
            for batch_id, rows in groupby(pending, key=lambda row: row.batch_id)
        ]
        if not batches:
            return True
        self.resent_batches = len(batches)
        report = processor.deliver(batches, self._envelope(None), resend=True)
        processor.journal.close()
        self.outcomes.extend(report.outcomes)
        self.problems.extend(f"backend refused a batch: {refusal}" for refusal in report.refusals)
        if report.stopped_by is not None:
            self.problems.append(_stopped(report.stopped_by))
            return False
        return True

    def _sync(self, processor: ChangeProcessor, outline: CourseOutline | None) -> SyncResult:
        if outline is None:
            self.problems.append(_NOT_FOUND)
            return self._finish(SyncStatus.COURSE_NOT_FOUND)
        self.run_record.content_errors = [
            {"code": error.code, "block_id": error.block_id, "message": error.message}
            for error in outline.content_errors
        ]
        self.planned = _plan(self.snapshot, outline, self.request.force, self.abandoned)
        return self._deliver(processor, self.planned, outline.published_at, outline.content_errors)

    def _delete_course(self, processor: ChangeProcessor) -> SyncResult:
        self.planned = [ChangeOperation(str(uuid.uuid4()), OperationType.DELETE, COURSE, self.course_id)]
        result = self._deliver(processor, self.planned, None, ())
        if result.applied:
            CourseSyncState.objects.filter(course_key=self.course_key).update(
                deletion_requested=False, status=CourseSyncState.Status.DELETED, snapshot="", entity_count=0
            )
            return SyncResult(self.course_id, SyncStatus.DELETED, result.operations, applied=result.applied)
        return result

    def _deliver(
        self,
        processor: ChangeProcessor,
        operations: list[ChangeOperation],
        published_at: str | None,
        content_errors: Sequence[ContentError],
    ) -> SyncResult:
        batches = self._record(operations)
        if batches:
            report = processor.deliver(batches, self._envelope(published_at))
            self.outcomes.extend(report.outcomes)
            self.problems.extend(f"backend refused a batch: {refusal}" for refusal in report.refusals)
            if report.stopped_by is not None:
                self.problems.append(_stopped(report.stopped_by))
        processor.journal.close()
        status = SyncStatus.SYNCED if operations else SyncStatus.UNCHANGED
        return self._finish(status, content_errors)

    def _record(self, operations: Sequence[ChangeOperation]) -> list[tuple[str, list[ChangeOperation]]]:
        """Write the operations to the log, batch ids included, before anything is sent."""
        batch_size = get_sync_settings().batch_size
        batches = [
            (str(uuid.uuid4()), list(operations[start : start + batch_size]))
            for start in range(0, len(operations), batch_size)
        ]
        rows = [
            {
                "batch_id": batch_id,
                "sequence": sequence,
                "operation_id": operation.operation_id,
                "operation": operation.operation.value,
                "entity_type": operation.entity_type.name,
                "entity_id": operation.entity_id,
                "payload": operation.to_dict(),
            }
            for sequence, (batch_id, operation) in enumerate(
                (batch_id, operation) for batch_id, batch in batches for operation in batch
            )
        ]
        _insert_operations(self.run_record, self.course_key, rows)
        return batches

    def _envelope(self, published_at: str | None) -> BatchEnvelope:
        return BatchEnvelope(self.course_id, _studio_url(), published_at, _utc_now_text)

    def _finish(self, status: SyncStatus, content_errors: Sequence[ContentError] = ()) -> SyncResult:
        counts = _count(self.outcomes)
        settled = {outcome.operation.operation_id for outcome in self.outcomes}
        unsent = sum(1 for operation in self.planned if operation.operation_id not in settled)
        if status in (SyncStatus.SYNCED, SyncStatus.UNCHANGED) and (
            counts[FAILED] or counts[DEFERRED] or unsent or self.problems
        ):
            status = SyncStatus.PARTIAL if counts[APPLIED] else SyncStatus.FAILED
        error = "; ".join(self.notes + self.problems)
        run_status = {
            SyncStatus.SYNCED: SyncRun.Status.SUCCEEDED,
            SyncStatus.UNCHANGED: SyncRun.Status.SUCCEEDED,
            SyncStatus.PARTIAL: SyncRun.Status.PARTIAL,
        }.get(status, SyncRun.Status.FAILED)
        kinds = [op.operation for op in self.planned]
        now = timezone.now()
        record = self.run_record
        record.status = run_status
        record.finished_at = now
        record.duration_ms = int((time.monotonic() - self.started) * 1000)
        record.creates = kinds.count(OperationType.CREATE)
        record.updates = kinds.count(OperationType.UPDATE)
        record.deletes = kinds.count(OperationType.DELETE)
        record.applied, record.failed, record.deferred = counts[APPLIED], counts[FAILED], counts[DEFERRED]
        record.resent_batches = self.resent_batches
        record.error = error
        in_sync = run_status == SyncRun.Status.SUCCEEDED
        state_changes = {
            "last_attempt_at": now,
            "failed_operations": counts[FAILED],
            "deferred_operations": counts[DEFERRED],
            "last_error": error,
        }
        state_changes["status"] = CourseSyncState.Status.IN_SYNC if in_sync else CourseSyncState.Status.FAILED
        if in_sync:  # a scheduled retry finds its time gone and does nothing
            state_changes.update(last_synced_at=now, out_of_sync_since=None, next_retry_at=None, retry_attempts=0)
        else:
            state_changes["out_of_sync_since"] = Coalesce(F("out_of_sync_since"), Value(now))
        with transaction.atomic():  # one commit for the run and the course's state
            record.save()
            CourseSyncState.objects.filter(course_key=self.course_key).update(**state_changes)
        if error:
            log.warning("Virtu sync of %s: %s: %s", self.course_id, status.value, error)
        report_pass(record, status, sent=self.sent)
        return SyncResult(
            self.course_id,
            status,
            tuple(self.planned),
            applied=counts[APPLIED],
            failed=counts[FAILED],
            deferred=counts[DEFERRED],
            unsent=unsent,
            resent_batches=self.resent_batches,
            content_errors=tuple(content_errors),
            error=error,
        )


#: Fewest applied operations a pass leaves in the operation log before it checkpoints the
#: snapshot again (or the snapshot's size, when larger: checkpoints then cost O(n) in all).
CHECKPOINT_OPERATIONS = 1000


class _DatabaseJournal:
    """
    Records the processor's decisions in the operation log and advances the snapshot.

    The operation log and the stored snapshot always agree, whatever point a worker dies
    at. A batch's outcomes are stored in one transaction with the next batch's ``sending``
    (or with ``close``, after the last batch): one commit per batch. Until then the batch
    is pending in the log, and would be resent with the same ids, which the backend
    answers from its record. The stored snapshot either holds every applied operation
    (complete) or is a checkpoint that names the last one it holds, the later ones being
    replayed from the log when it is read (see :func:`replayed_snapshot`). A pass stores the
    snapshot whole at its first batch, then checkpoints every :data:`CHECKPOINT_OPERATIONS`
    operations (or the snapshot's size, if larger) and when an entity is forgotten, and
    stores it complete again at the end of each delivery.
    """

    def __init__(self, sync_pass: _Pass):
        self.sync_pass = sync_pass
        #: The stored snapshot is a checkpoint: later batches may leave their operations to the log.
        self.checkpointed = sync_pass.snapshot_checkpointed
        #: ``sync_pass.snapshot`` differs from the stored snapshot.
        self.dirty = False
        #: Applied operations that the stored snapshot leaves to the log.
        self.unfolded = 0
        #: Entities in the stored snapshot when it was written.
        self.stored_size = len(sync_pass.snapshot)
        #: This journal has stored the snapshot.
        self.stored = False
        #: The stored form of ``sync_pass.snapshot``, complete, once made (until it changes).
        self.complete_text: str | None = None
        #: The entities of ``sync_pass.snapshot`` once a batch advanced it: advanced in place
        #: (``sync_pass.snapshot`` is a view of them), not copied whole after every batch.
        self.entities: dict[str, Entity] | None = None
        #: The last settled batch's outcomes, and whether it forgot entities: not stored yet.
        self.unstored: tuple[Sequence[Outcome], bool] | None = None

    def rebatch(self, batch_id: str, operations: Sequence[ChangeOperation]) -> None:
        SyncOperation.objects.filter(operation_id__in=_ids(operations)).update(batch_id=batch_id)

    def sending(self, batch_id: str, deferred: Sequence[Outcome]) -> None:
        with transaction.atomic():  # one commit per batch, the lease renewed (and checked) in it
            self._store_settled(final=False)
            course_lease.renew(self.sync_pass.course_key, self.sync_pass.owner)
            _record_outcomes(deferred)
            self.sync_pass.sent += SyncOperation.objects.filter(
                batch_id=batch_id, status=SyncOperation.Status.PENDING
            ).update(attempts=F("attempts") + 1)

    def settled(self, batch_id: str, outcomes: Sequence[Outcome]) -> None:
        sync_pass = self.sync_pass
        applied = [outcome.operation for outcome in outcomes if outcome.status == APPLIED]
        forgotten = [outcome.forget for outcome in outcomes if outcome.forget is not None]
        if applied or forgotten:
            if self.entities is None:
                self.entities = dict(sync_pass.snapshot.entities)
                sync_pass.snapshot = CourseOutline(sync_pass.course_id, MappingProxyType(self.entities))
            advance_entities(self.entities, applied)
            if forgotten:  # not in the log as applied: only a stored snapshot keeps it
                remove_subtrees(self.entities, forgotten)
            self.unfolded += len(applied)
            self.dirty = True
            self.complete_text = None
        self.unstored = (outcomes, bool(forgotten))

    def close(self) -> None:
        """Store the last batch's outcomes, and the snapshot complete (the end of a delivery)."""
        if self.unstored is not None or self.dirty or self.checkpointed:
            with transaction.atomic():
                self._store_settled(final=True)

    def _store_settled(self, *, final: bool) -> None:
        forgotten, after = False, None
        if self.unstored is not None:
            outcomes, forgotten = self.unstored
            self.unstored = None
            _record_outcomes(outcomes)
            after = outcomes[-1].operation.operation_id if outcomes else None
        if final:
            if self.dirty or self.checkpointed:
                self._store(checkpoint_after=None)
        elif forgotten or (
            self.dirty and (not self.checkpointed or self.unfolded >= max(CHECKPOINT_OPERATIONS, self.stored_size))
        ):
            # The first store is complete (a single batch needs no other); the later ones are
            # checkpoints after the batch's last operation.
            self._store(checkpoint_after=after if self.stored else None)  # complete when no batch to name

    def _store(self, *, checkpoint_after: str | None) -> None:
        snapshot = self.sync_pass.snapshot
        if self.complete_text is None:
            self.complete_text = snapshot_to_json(snapshot)
        text = self.complete_text if checkpoint_after is None else mark_for_replay(self.complete_text, checkpoint_after)
        CourseSyncState.objects.filter(course_key=self.sync_pass.course_key).update(
            snapshot=text, entity_count=len(snapshot)
        )
        self.checkpointed = checkpoint_after is not None
        self.dirty = False
        self.unfolded = 0
        self.stored_size = len(snapshot)
        self.stored = True


#: The columns of the operation log that :func:`_insert_operations` knows how to fill.
_OPERATION_COLUMNS = frozenset(
    {
        "id", "created", "modified", "run_id", "course_key", "batch_id", "sequence", "operation_id", "operation",
        "entity_type", "entity_id", "payload", "status", "attempts", "response_status", "result_code", "detail",
        "acknowledged_at",
    }
)  # fmt: skip
_INSERT_CHUNK = 1000


def _insert_operations(run: SyncRun, course_key: CourseLocator, rows: list[dict[str, Any]]) -> None:
    """
    Add rows to the operation log, in one transaction: what ``bulk_create`` does.

    ``bulk_create`` prepares every field of every row through the ORM, which costs ~100 µs
    a row (3 s for a first sync of a 50k-block course); here the values shared by all rows
    (the run, the course, the defaults, the timestamps) are prepared once, and only the
    per-row ones per row. A model with other columns than these goes through ``bulk_create``.
    """
    if not rows:
        return
    meta = SyncOperation._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    if {field.attname for field in meta.concrete_fields} != _OPERATION_COLUMNS:
        SyncOperation.objects.bulk_create([SyncOperation(run=run, course_key=course_key, **row) for row in rows])
        return
    connection = connections[router.db_for_write(SyncOperation)]
    template = SyncOperation(run=run, course_key=course_key, payload={})
    shared = {field.attname: field.get_db_prep_save(field.pre_save(template, True), connection) for field in fields}
    payload_field = meta.get_field("payload")
    table = connection.ops.quote_name(meta.db_table)
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"
    names = [field.attname for field in fields]
    with transaction.atomic(using=connection.alias, savepoint=False), connection.cursor() as cursor:
        for start in range(0, len(rows), _INSERT_CHUNK):
            values = []
            for row in rows[start : start + _INSERT_CHUNK]:
                row = {**row, "payload": payload_field.get_db_prep_save(row["payload"], connection)}
                values.append(tuple(row[name] if name in row else shared[name] for name in names))
            cursor.executemany(sql, values)


def _record_outcomes(outcomes: Iterable[Outcome]) -> None:
    """Store outcomes, one UPDATE per distinct result rather than per operation."""
    now = timezone.now()
    groups: dict[tuple, list[str]] = {}
    for outcome in outcomes:
        key = (outcome.status, outcome.code, outcome.detail, outcome.response_status)
        groups.setdefault(key, []).append(outcome.operation.operation_id)
    for (status, code, detail, response_status), operation_ids in groups.items():
        SyncOperation.objects.filter(operation_id__in=operation_ids).update(
            status=status,
            result_code=code,
            detail=detail,
            response_status=response_status,
            acknowledged_at=now if status in (APPLIED, FAILED) else None,
        )


def _stopped(error: BackendError) -> str:
    if isinstance(error, PermanentBackendError):
        return (
            f"the backend refused a batch it may already have applied ({error}); it stays recorded and is "
            "resent next time; a full resync abandons it"
        )
    if isinstance(error, UnreadableAnswerError):
        return f"the backend's answer could not be read ({error}); the batch will be resent with the same ids"
    return f"backend unreachable: {error}"


def _count(outcomes: Iterable[Outcome]) -> dict[str, int]:
    counts = {APPLIED: 0, FAILED: 0, DEFERRED: 0}
    for outcome in outcomes:
        counts[outcome.status] += 1
    return counts


def _ids(operations: Iterable[ChangeOperation]) -> list[str]:
    return [operation.operation_id for operation in operations]


def _studio_url() -> str:
    """Studio's base URL, from the platform's settings."""
    root = getattr(django_settings, "CMS_ROOT_URL", "")
    if root:
        return root
    base = getattr(django_settings, "CMS_BASE", "")
    return f"https://{base}" if base else "https://studio.invalid"


def _utc_now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
