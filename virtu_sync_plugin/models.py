"""
Database models: each course's sync state and snapshot, sync runs, and the operation log.

Written only by the sync pipeline; the admin shows them read-only.
"""

from __future__ import annotations

from config_models.models import ConfigurationModel
from django.core.exceptions import ValidationError
from django.db import models
from model_utils.models import TimeStampedModel
from opaque_keys.edx.django.models import CourseKeyField
from opaque_keys.edx.locator import CourseLocator

from .keys import InvalidCourseKeyError, parse_course_key


class SyncScope(ConfigurationModel):
    """
    Which courses are synced while the ``virtu_sync.course_sync`` switch is on.

    With no active row (nothing configured, or the newest row not enabled), every course
    is synced. An enabled row limits sync to its orgs and courses (both empty: every
    course), and its exclusions always win. Every change is a new row recording who
    changed what and when.

    .. no_pii:
    """

    # Short, so that a change made in the admin reaches every worker within a minute
    # even where the cache is per process.
    cache_timeout = 60

    orgs = models.TextField(blank=True, default="", help_text="Orgs whose courses are synced, one per line.")
    course_keys = models.TextField(
        blank=True, default="", help_text="Courses synced (besides those of the orgs), one course key per line."
    )
    excluded_course_keys = models.TextField(
        blank=True, default="", help_text="Courses never synced, one course key per line."
    )

    class Meta(ConfigurationModel.Meta):
        verbose_name = "Virtu sync scope"

    def __str__(self) -> str:
        return f"Virtu sync scope of {self.change_date:%Y-%m-%d %H:%M} ({'enabled' if self.enabled else 'all courses'})"

    def includes(self, course_key: CourseLocator) -> bool:
        """Whether the course is in this scope."""
        if not self.enabled:
            return True
        if str(course_key) in _lines(self.excluded_course_keys):
            return False
        orgs, courses = _lines(self.orgs), _lines(self.course_keys)
        if not orgs and not courses:
            return True
        return course_key.org in orgs or str(course_key) in courses

    def clean(self) -> None:
        problems = []
        for field in ("course_keys", "excluded_course_keys"):
            for line in _lines(getattr(self, field)):
                try:
                    parse_course_key(line)
                except InvalidCourseKeyError as error:
                    problems.append(str(error))
        if problems:
            raise ValidationError(problems)


def _lines(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines() if line.strip()}


class CourseSyncState(TimeStampedModel):
    """
    Where one course stands with the Virtu backend.

    Its acknowledged snapshot, its status, and the per-course lease that keeps two syncs
    of it from running at once.

    .. no_pii:
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        IN_SYNC = "in_sync", "In sync"
        FAILED = "failed", "Failed"
        DELETED = "deleted", "Deleted"

    course_key = CourseKeyField(max_length=255, unique=True, help_text="The Studio course (course-v1 key).")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    snapshot = models.TextField(
        blank=True, default="", help_text="The outline as the backend acknowledged it (versioned JSON)."
    )
    entity_count = models.PositiveIntegerField(default=0, help_text="Entities the backend has acknowledged.")
    sync_requests = models.PositiveBigIntegerField(default=0, help_text="Syncs asked for (publishes, actions).")
    handled_requests = models.PositiveBigIntegerField(
        default=0, help_text="Requests covered by a sync that has started; fewer than asked for means pending."
    )
    requested_trigger = models.CharField(max_length=16, blank=True, default="", help_text="What asked last.")
    force_requested = models.BooleanField(default=False, help_text="A full resync was asked for.")
    deletion_requested = models.BooleanField(default=False, help_text="The course was deleted in Studio.")
    lock_owner = models.CharField(max_length=128, blank=True, default="", help_text="Worker running a sync now.")
    lock_expires_at = models.DateTimeField(null=True, blank=True, help_text="When the running sync's lease ends.")
    last_synced_at = models.DateTimeField(null=True, blank=True, help_text="End of the last sync with no failure.")
    last_attempt_at = models.DateTimeField(null=True, blank=True, help_text="End of the last sync attempt.")
    failed_operations = models.PositiveIntegerField(default=0, help_text="Operations that failed in the last run.")
    deferred_operations = models.PositiveIntegerField(
        default=0, help_text="Operations held back in the last run because an operation they depend on failed."
    )
    last_error = models.TextField(blank=True, default="")
    out_of_sync_since = models.DateTimeField(
        null=True,
        blank=True,
        db_index=True,
        help_text="When the backend first fell behind this course; empty when in sync.",
    )
    next_retry_at = models.DateTimeField(
        null=True, blank=True, db_index=True, help_text="When the scheduled automatic retry runs; empty when none."
    )
    retry_attempts = models.PositiveIntegerField(
        default=0, help_text="Automatic retries since the course fell out of sync."
    )

    class Meta:
        verbose_name = "course sync state"
        permissions = [("run_sync", "Can run Virtu syncs from the admin")]

    def __str__(self) -> str:
        return f"{self.course_key} ({self.get_status_display()})"


class SyncRun(TimeStampedModel):
    """
    One run of the sync pipeline for one course: what started it and what it did.

    .. no_pii:
    """

    class Trigger(models.TextChoices):
        PUBLISH = "publish", "Course published"
        DELETE = "delete", "Course deleted"
        IMPORT = "import", "Course imported"
        RERUN = "rerun", "Course rerun"
        BACKFILL = "backfill", "Backfill"
        ADMIN = "admin", "Admin action"
        MANUAL = "manual", "Python API"
        RETRY = "retry", "Automatic retry"
        RECONCILE = "reconcile", "Reconcile"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Partly failed"
        FAILED = "failed", "Failed"

    course_key = CourseKeyField(max_length=255, db_index=True)
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    forced = models.BooleanField(default=False, help_text="Diffed against an empty snapshot (full resync).")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING, db_index=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    creates = models.PositiveIntegerField(default=0)
    updates = models.PositiveIntegerField(default=0)
    deletes = models.PositiveIntegerField(default=0)
    applied = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    deferred = models.PositiveIntegerField(default=0)
    resent_batches = models.PositiveIntegerField(
        default=0, help_text="Batches of an earlier run, recorded but never acknowledged, sent again first."
    )
    content_errors = models.JSONField(default=list, blank=True, help_text="Odd content found in the course.")
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.course_key} {self.trigger} run at {self.started_at:%Y-%m-%d %H:%M:%S} ({self.status})"


class SyncOperation(TimeStampedModel):
    """
    The operation log: every operation, recorded before it is sent, with its batch and result.

    An operation recorded but not acknowledged (``pending``) is sent again, in the same
    batch with the same ids, by the next sync of its course.

    .. no_pii:
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending (recorded, not acknowledged)"
        APPLIED = "applied", "Applied"
        FAILED = "failed", "Failed"
        DEFERRED = "deferred", "Deferred (an operation it depends on failed)"

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="operations")
    course_key = CourseKeyField(max_length=255, db_index=True)
    batch_id = models.CharField(max_length=36, db_index=True, blank=True, default="")
    sequence = models.PositiveIntegerField(help_text="Order of the operation within its run.")
    operation_id = models.CharField(max_length=36, unique=True)
    operation = models.CharField(max_length=16, db_index=True)
    entity_type = models.CharField(max_length=32, db_index=True)
    entity_id = models.CharField(max_length=255, db_index=True)
    payload = models.JSONField(help_text="The operation exactly as sent on the wire.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0, help_text="Requests that carried this operation.")
    response_status = models.PositiveIntegerField(null=True, blank=True, help_text="Last HTTP status.")
    result_code = models.CharField(max_length=64, blank=True, default="", help_text="Backend's failure code.")
    detail = models.TextField(blank=True, default="", help_text="Backend's detail or the error seen.")
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run_id", "sequence"]
        indexes = [models.Index(fields=["course_key", "status"])]

    def __str__(self) -> str:
        return f"{self.operation} {self.entity_type} {self.entity_id} ({self.status})"
