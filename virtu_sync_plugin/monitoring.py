"""
What each sync pass tells the platform's monitoring (New Relic, Datadog, OpenTelemetry).

Custom attributes set through edx-django-utils on the current transaction (the Celery
task, or the request of an admin action): fixed names under one prefix, and enum-like
values, so that dashboards and alerts need no configuration. When a task runs several
passes (publishes that came in meanwhile), the last one's values stay.
"""

from __future__ import annotations

from edx_django_utils.monitoring import set_custom_attribute

from .data import SyncStatus
from .models import SyncRun

PREFIX = "virtu_sync."

#: Every attribute a pass sets, and what it holds.
ATTRIBUTES = {
    "course_key": "the course's key",
    "trigger": "what started the pass: a SyncRun trigger (publish, delete, import, rerun, backfill, admin, "
    "manual, retry, reconcile)",
    "status": "how the pass ended: synced, unchanged, partial, failed, course_not_found or deleted",
    "forced": "True for a full resync",
    "operations_planned": "operations the pass computed",
    "operations_sent": "operations carried by the pass's requests, resent ones included",
    "operations_applied": "operations the backend applied",
    "operations_failed": "operations that failed or were held back because one they depend on failed",
    "resent_batches": "batches of an earlier pass, never acknowledged, sent again",
    "duration_ms": "the pass's duration in milliseconds",
}


def report_pass(run: SyncRun, status: SyncStatus, *, sent: int) -> None:
    """Set the monitoring custom attributes of a finished pass."""
    values = {
        "course_key": str(run.course_key),
        "trigger": run.trigger,
        "status": status.value,
        "forced": run.forced,
        "operations_planned": run.creates + run.updates + run.deletes,
        "operations_sent": sent,
        "operations_applied": run.applied,
        "operations_failed": run.failed + run.deferred,
        "resent_batches": run.resent_batches,
        "duration_ms": run.duration_ms,
    }
    for name, value in values.items():
        set_custom_attribute(PREFIX + name, value)
