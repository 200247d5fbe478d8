"""
Automatic retries of a course that is out of sync, with no person and no publish.

When a course's last pass leaves it out of sync, one retry is scheduled as a Celery task
with an ETA (no Celery beat needed): the wait starts at ``VIRTU_SYNC_RETRY_DELAYS[0]``
and doubles after each failed retry up to ``VIRTU_SYNC_RETRY_DELAYS[1]``, less up to a
quarter of it at random, until ``VIRTU_SYNC_RETRY_FOR`` after the course fell out of sync.

The course's ``next_retry_at`` is the one scheduled retry: it is set by a conditional
``UPDATE`` only while empty (so one retry per course however many passes fail), and the
task carries its value. A task runs only if it still finds its own value there and clears
it; a pass that brings the course in sync clears it too, which turns the task into a no-op.
A retry still not run an hour after its time lost its message (a broker emptied by a
restart): the next pass that fails schedules another.
Where tasks run eagerly (``task_always_eager``), a retry would run at once and in a loop:
none is scheduled there.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from celery import current_app as celery_app
from django.core.exceptions import ImproperlyConfigured
from django.db.models import F, Q
from django.utils import timezone
from opaque_keys.edx.locator import CourseLocator

from .conf import MAX_RETRY_DELAY, get_sync_settings
from .models import CourseSyncState

log = logging.getLogger(__name__)

#: The name of the Celery task that runs a retry (defined in :mod:`virtu_sync_plugin.tasks`,
#: which calls the api: queued here by name).
RETRY_COURSE_TASK = "virtu_sync_plugin.tasks.retry_course_sync"

#: The largest part of a wait taken off at random, so that courses that failed together spread out.
JITTER = 0.25


def retry_delay(attempt: int, first_delay: float, max_delay: float) -> float:
    """Seconds to wait before automatic retry number ``attempt`` (0 for the first)."""
    delay = min(max_delay, first_delay * 2 ** min(attempt, 32))
    return delay * (1 - JITTER * random.random())


def schedule_retry(course_key: CourseLocator) -> datetime | None:
    """
    Schedule the course's next automatic retry if it is out of sync and none is scheduled.

    Returns when the retry runs, or ``None`` when none was scheduled (in sync, one already
    scheduled, past ``VIRTU_SYNC_RETRY_FOR``, tasks run eagerly, or the broker is down).
    """
    if celery_app.conf.task_always_eager:
        return None
    state = (
        CourseSyncState.objects.filter(course_key=course_key)
        .values("out_of_sync_since", "next_retry_at", "retry_attempts")
        .first()
    )
    now = timezone.now()
    lost = now - timedelta(seconds=MAX_RETRY_DELAY)
    if state is None or state["out_of_sync_since"] is None:
        return None
    if state["next_retry_at"] is not None and state["next_retry_at"] >= lost:
        return None
    try:
        settings = get_sync_settings()
    except ImproperlyConfigured:  # every pass fails the same way until the settings are fixed
        return None
    deadline = state["out_of_sync_since"] + timedelta(seconds=settings.retry_for)
    if now >= deadline:
        log.warning(
            "Virtu sync of %s: out of sync since %s; no more automatic retries (VIRTU_SYNC_RETRY_FOR). "
            "Publish it, sync it in the admin, or run virtu_sync_reconcile",
            course_key,
            f"{state['out_of_sync_since']:%Y-%m-%d %H:%M:%S} UTC",
        )
        return None
    delay = retry_delay(state["retry_attempts"], settings.retry_first_delay, settings.retry_max_delay)
    when = min(now + timedelta(seconds=delay), deadline)
    claimed = (
        CourseSyncState.objects.filter(course_key=course_key, out_of_sync_since__isnull=False)
        .filter(Q(next_retry_at__isnull=True) | Q(next_retry_at__lt=lost))
        .update(next_retry_at=when, retry_attempts=F("retry_attempts") + 1)
    )
    if not claimed:  # another worker scheduled one meanwhile, or the course got in sync
        return None
    try:
        celery_app.tasks[RETRY_COURSE_TASK].apply_async((str(course_key), when.isoformat()), eta=when)
    except Exception:  # pylint: disable=broad-except
        CourseSyncState.objects.filter(course_key=course_key, next_retry_at=when).update(
            next_retry_at=None, retry_attempts=F("retry_attempts") - 1
        )
        log.exception("Virtu sync of %s: could not schedule its retry (is the Celery broker up?)", course_key)
        return None
    log.info("Virtu sync of %s: out of sync; retry %d at %s", course_key, state["retry_attempts"] + 1, when)
    return when


def claim_retry(course_key: CourseLocator, scheduled_for: str) -> bool:
    """
    Take the scheduled retry of the course for running it now; False if it is no longer due.

    It is not due when another retry replaced it, or a pass brought the course in sync.
    """
    try:
        when = datetime.fromisoformat(scheduled_for)
    except (TypeError, ValueError):
        log.error("Virtu sync of %s: a retry task with a bad time %.40r; ignored", course_key, scheduled_for)
        return False
    return bool(CourseSyncState.objects.filter(course_key=course_key, next_retry_at=when).update(next_retry_at=None))
