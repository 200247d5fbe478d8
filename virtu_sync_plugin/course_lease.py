"""
One sync per course at a time, and publishes that coalesce while a sync runs.

This holds across threads, processes and hosts.

The lease is a pair of columns on :class:`CourseSyncState` taken and released with
single conditional ``UPDATE`` statements, which are atomic on MySQL and SQLite alike and
hold no transaction open while a sync talks to the backend. Every request bumps a
counter; the holder notes the counter when a pass starts and may only release when no
request came in meanwhile, so a publish during a sync yields exactly one more pass.
A holder renews its lease from a background thread (:class:`LeaseKeeper`) for as long as
its passes run, however long a step takes (a slow outline read, a slow batch). A holder
that dies stops renewing and keeps the lease until it expires (sooner when it ran on this
host and its process is gone).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.db import DatabaseError, IntegrityError, connection
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from opaque_keys.edx.locator import CourseLocator

from .conf import lease_seconds
from .models import CourseSyncState

log = logging.getLogger(__name__)


class LeaseLostError(RuntimeError):
    """The lease ran out and another worker took the course over."""


@dataclass(frozen=True)
class PendingRequest:
    """What was asked of the course when a pass started."""

    seen_requests: int
    trigger: str
    force: bool
    deletion: bool


def new_owner() -> str:
    """A lease owner id naming this host and process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def course_state(course_key: CourseLocator) -> CourseSyncState:
    """The course's state row, created on first use."""
    try:
        state, _ = CourseSyncState.objects.get_or_create(course_key=course_key)
    except IntegrityError:  # created concurrently by another worker
        state = CourseSyncState.objects.get(course_key=course_key)
    return state


def request_sync(course_key: CourseLocator, *, trigger: str, force: bool = False, deletion: bool = False) -> None:
    """Record that the course needs a sync (or its deletion sent)."""
    course_state(course_key)
    changes = _request(trigger, force, deletion)
    if not deletion:
        changes["status"] = CourseSyncState.Status.PENDING
    CourseSyncState.objects.filter(course_key=course_key).update(**changes)


def request_unqueued_sync(
    course_key: CourseLocator, *, trigger: str, force: bool = False, deletion: bool = False
) -> None:
    """
    Record a sync (or deletion) whose task could not be queued: no worker will run it.

    The request stays pending and the course is out of sync from now on, for
    ``virtu_sync_reconcile``, the admin and the heartbeat check to see. A pass running now
    covers it too (see :func:`finish_pass`).
    """
    course_state(course_key)
    changes = _request(trigger, force, deletion)
    changes["status"] = CourseSyncState.Status.PENDING
    changes["out_of_sync_since"] = Coalesce(F("out_of_sync_since"), Value(timezone.now()))
    CourseSyncState.objects.filter(course_key=course_key).update(**changes)


def _request(trigger: str, force: bool, deletion: bool) -> dict:
    """The changes to a course's state that record one more request."""
    changes = {"sync_requests": F("sync_requests") + 1, "requested_trigger": trigger}
    if force:
        changes["force_requested"] = True
    if deletion:
        changes["deletion_requested"] = True
    return changes


def acquire(course_key: CourseLocator, owner: str) -> bool:
    """Take the course's lease if it is free or expired (or its holder died on this host)."""
    now = timezone.now()
    free = Q(lock_owner="") | Q(lock_expires_at__lt=now)
    lease = {"lock_owner": owner, "lock_expires_at": now + timedelta(seconds=lease_seconds())}
    if CourseSyncState.objects.filter(free, course_key=course_key).update(**lease):
        return True
    holder = CourseSyncState.objects.filter(course_key=course_key).values_list("lock_owner", flat=True).first()
    if holder and _died_on_this_host(holder):
        return bool(CourseSyncState.objects.filter(course_key=course_key, lock_owner=holder).update(**lease))
    return False


def renew(course_key: CourseLocator, owner: str) -> None:
    """Extend the lease; raise :class:`LeaseLostError` if it is no longer ours."""
    expires = timezone.now() + timedelta(seconds=lease_seconds())
    if not CourseSyncState.objects.filter(course_key=course_key, lock_owner=owner).update(lock_expires_at=expires):
        raise LeaseLostError(f"the sync lease of {course_key} was taken over")


class LeaseKeeper:
    """
    Renews a held lease every third of its length from a background thread, until stopped.

    The lease then outlives any one slow step of a pass and still runs out soon after the
    process dies. A renewal that finds the lease taken over stops the thread; the pass
    learns it at its next :func:`renew` (before a batch is sent), which raises.
    """

    def __init__(self, course_key: CourseLocator, owner: str):
        self.course_key = course_key
        self.owner = owner
        self.interval = lease_seconds() / 3
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._renew_until_stopped, name=f"virtu-sync-lease {course_key}")
        self._thread.daemon = True

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopped.set()
        self._thread.join()

    def _renew_until_stopped(self) -> None:
        if self._stopped.wait(self.interval):
            return  # a quick pass: no renewal, no connection of this thread's own
        try:
            while True:
                try:
                    renew(self.course_key, self.owner)
                except LeaseLostError:
                    return
                except DatabaseError as error:  # the next renewal may succeed, before the lease runs out
                    log.warning("Virtu sync of %s: could not renew the sync lease: %s", self.course_key, error)
                if self._stopped.wait(self.interval):
                    return
        finally:
            connection.close()  # this thread's own connection


def start_pass(course_key: CourseLocator, owner: str) -> PendingRequest:
    """Note what has been asked so far; the pass about to run covers it."""
    renew(course_key, owner)
    state = CourseSyncState.objects.get(course_key=course_key)
    CourseSyncState.objects.filter(course_key=course_key, lock_owner=owner).update(handled_requests=state.sync_requests)
    return PendingRequest(state.sync_requests, state.requested_trigger, state.force_requested, state.deletion_requested)


def finish_pass(course_key: CourseLocator, owner: str, request: PendingRequest) -> bool:
    """
    Release the lease unless a request came in during the pass.

    Returns:
        True when released; False when the caller must run one more pass.
    """
    unchanged = CourseSyncState.objects.filter(
        course_key=course_key, lock_owner=owner, sync_requests=request.seen_requests
    )
    if request.force:
        unchanged.update(force_requested=False)
    return bool(unchanged.update(lock_owner="", lock_expires_at=None))


def release(course_key: CourseLocator, owner: str) -> None:
    """Give the lease up whatever is pending (after an error)."""
    CourseSyncState.objects.filter(course_key=course_key, lock_owner=owner).update(lock_owner="", lock_expires_at=None)


def has_pending_request(course_key: CourseLocator) -> bool:
    """Whether a sync was asked for that no pass has covered yet."""
    return CourseSyncState.objects.filter(course_key=course_key, sync_requests__gt=F("handled_requests")).exists()


def _died_on_this_host(owner: str) -> bool:
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
