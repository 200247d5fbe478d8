"""
Public data types of the Virtu sync plugin (OEP-49).

Immutable values that cross the app's boundary. The outline and operation types are
defined in the pure core and re-exported here.
"""

import enum
from dataclasses import dataclass
from datetime import datetime

from .core.operations import ChangeOperation, OperationType
from .core.outline import (
    ASSESSMENT,
    COURSE,
    SUBTOPIC,
    TOPIC,
    UNIT,
    ContentError,
    CourseOutline,
    Entity,
    EntityType,
)

__all__ = [
    "ASSESSMENT",
    "COURSE",
    "SUBTOPIC",
    "TOPIC",
    "UNIT",
    "ChangeOperation",
    "ContentError",
    "CourseDrift",
    "CourseOutline",
    "DriftKind",
    "Entity",
    "EntityDrift",
    "EntityType",
    "OperationType",
    "OutOfSyncCourse",
    "PruneResult",
    "SyncResult",
    "SyncStatus",
]


class SyncStatus(enum.Enum):
    """How a sync of one course ended."""

    SYNCED = "synced"  #: operations were sent and all applied
    UNCHANGED = "unchanged"  #: nothing to send
    PARTIAL = "partial"  #: some operations failed or were deferred; the next sync retries them
    FAILED = "failed"  #: nothing could be done now (backend unreachable, course unreadable, ...)
    COURSE_NOT_FOUND = "course_not_found"  #: the modulestore has no such course; the backend is left as it is
    QUEUED = "queued"  #: another worker is syncing the course; it runs once more for this request
    DELETED = "deleted"  #: the course's deletion was sent and acknowledged
    DRY_RUN = "dry_run"  #: operations computed, nothing sent or changed


@dataclass(frozen=True)
class SyncResult:
    """What one call to ``api.sync_course`` did."""

    course_id: str
    status: SyncStatus
    operations: tuple[ChangeOperation, ...] = ()
    applied: int = 0
    failed: int = 0
    deferred: int = 0
    unsent: int = 0
    resent_batches: int = 0
    content_errors: tuple[ContentError, ...] = ()
    error: str = ""

    def counts(self) -> dict[str, int]:
        """Number of operations per operation type (create, update, delete)."""
        counts = dict.fromkeys((kind.value for kind in OperationType), 0)
        for operation in self.operations:
            counts[operation.operation.value] += 1
        return counts


@dataclass(frozen=True)
class PruneResult:
    """What pruning one course's operation log and run records deleted (or, in a dry run, would)."""

    course_id: str
    operations: int = 0
    runs: int = 0
    #: Why the course was left as it is (a sync of it running, its snapshot unreadable); empty if pruned.
    skipped: str = ""
    #: Rows old enough that remain for the next prune (the work of one call is bounded).
    more: bool = False


class DriftKind(enum.Enum):
    """How an entity held by the backend departs from the published course."""

    MISSING = "missing"  #: in the published course, not in the backend
    EXTRA = "extra"  #: in the backend, not in the published course
    DIFFERING = "differing"  #: in both, with other fields, another parent or another position


@dataclass(frozen=True)
class EntityDrift:
    """One entity the backend holds otherwise than the published course has it."""

    kind: DriftKind
    entity_id: str
    entity_type: str
    #: For ``DIFFERING``: what differs, among ``entity_type``, ``fields``, ``parent`` and ``position``.
    differences: tuple[str, ...] = ()


@dataclass(frozen=True)
class CourseDrift:
    """What the backend holds of a course, compared with the course's published outline."""

    course_id: str
    edx_entities: int
    backend_entities: int
    drift: tuple[EntityDrift, ...] = ()

    @property
    def has_drift(self) -> bool:
        """Whether the backend holds anything otherwise than the published course has it."""
        return bool(self.drift)

    def counts(self) -> dict[str, int]:
        """Number of drifted entities per kind (missing, extra, differing)."""
        counts = dict.fromkeys((kind.value for kind in DriftKind), 0)
        for entity in self.drift:
            counts[entity.kind.value] += 1
        return counts


@dataclass(frozen=True)
class OutOfSyncCourse:
    """A course the backend is behind on, and what it waits for."""

    course_id: str
    #: Among ``failed pass``, ``unacknowledged operations``, ``deletion`` and ``requested sync``
    #: (asked for, not run: its task could not be queued).
    waiting_for: tuple[str, ...]
    #: When it fell out of sync (``None`` for a state older than this field).
    out_of_sync_since: datetime | None = None
    #: When its automatic retry runs; ``None`` when none is scheduled.
    next_retry_at: datetime | None = None
    last_error: str = ""
