"""
Celery tasks of the Virtu sync plugin. Each task calls one ``api`` function.

Arguments are strings (JSON serializer). A task that finds another worker syncing the
same course leaves its request pending with that worker, and checks back once the
worker's lease would have run out, so a request survives a worker that died. A course
left out of sync is retried by ``retry_course_sync``, scheduled with an ETA by the pass
that left it so (see ``virtu_sync_plugin.retries``): no Celery beat is needed.
"""

import logging

from celery import shared_task
from edx_django_utils.cache import RequestCache
from edx_django_utils.monitoring import set_code_owner_attribute

from virtu_sync_plugin import api
from virtu_sync_plugin.data import SyncStatus

log = logging.getLogger(__name__)


@shared_task(bind=True, ignore_result=True, name=api.SYNC_COURSE_TASK)
@set_code_owner_attribute
def sync_course(self, course_key_string, trigger=api.TRIGGER_PUBLISH, force=False, follow_up=False):
    """Sync one course with the Virtu backend (coalescing with a sync already running)."""
    key = _enabled_course_key(course_key_string)
    if key is None or (follow_up and not api.has_pending_sync(key)):
        return
    trigger = _known_trigger(trigger, key)
    force = force is True  # only a real true forces a full resync (not "false" from a hand-made message)
    result = api.sync_course(key, trigger=trigger, force=force)
    if result.status is SyncStatus.QUEUED:
        _check_back(self, course_key_string, trigger, force)
    else:
        _prune_history(key)


@shared_task(ignore_result=True, name=api.DELETE_COURSE_TASK)
@set_code_owner_attribute
def delete_course(course_key_string, trigger=api.TRIGGER_DELETE):
    """Delete a course deleted in Studio from the Virtu backend (retried like a sync when it fails)."""
    key = _enabled_course_key(course_key_string)
    if key is None:
        return
    result = api.delete_course(key)
    if result.status is SyncStatus.QUEUED:
        _check_back(sync_course, course_key_string, trigger, False)
        return
    _prune_history(key)


@shared_task(ignore_result=True, name=api.RETRY_COURSE_TASK)
@set_code_owner_attribute
def retry_course_sync(course_key_string, scheduled_for):
    """The automatic retry of a course left out of sync; nothing if it is no longer due."""
    key = _course_key(course_key_string)
    if key is None:
        return
    result = api.run_scheduled_retry(key, scheduled_for)
    if result is None:
        return
    if result.status is SyncStatus.QUEUED:
        _check_back(sync_course, course_key_string, api.TRIGGER_RETRY, False)
    else:
        _prune_history(key)


#: Batches of old rows one task deletes at most (``api.prune_sync_history``); the rest waits.
PRUNE_BATCHES_PER_TASK = 20


def _prune_history(key):
    """Delete the course's log rows and runs past their retention: bounded work, after the sync."""
    try:
        api.prune_sync_history(key, max_batches=PRUNE_BATCHES_PER_TASK)
    except Exception:  # pylint: disable=broad-except  (the sync is done; the next task prunes again)
        log.exception("Virtu sync of %s: pruning its old operation log failed", key)


def _course_key(course_key_string):
    # A worker has no request boundary: forget values cached for an earlier task (the switch, the scope).
    RequestCache.clear_all_namespaces()
    try:
        return api.parse_course_key(course_key_string)
    except api.LibraryKeyError:  # a content library: never synced, nothing to report
        return None
    except api.InvalidCourseKeyError as error:
        log.error("Virtu sync: %s", error)
        return None


def _enabled_course_key(course_key_string):
    key = _course_key(course_key_string)
    if key is None:
        return None
    if not api.is_sync_enabled(key):
        log.info("Virtu sync: %s is not synced (switch off or out of scope)", key)
        return None
    return key


#: What may start a sync (``SyncRun.trigger``).
_TRIGGERS = frozenset(
    {
        api.TRIGGER_PUBLISH,
        api.TRIGGER_DELETE,
        api.TRIGGER_IMPORT,
        api.TRIGGER_RERUN,
        api.TRIGGER_BACKFILL,
        api.TRIGGER_ADMIN,
        api.TRIGGER_MANUAL,
        api.TRIGGER_RETRY,
        api.TRIGGER_RECONCILE,
    }
)


def _known_trigger(trigger, key):
    """The trigger, or ``manual`` for one this version does not know (a newer sender, a bad message)."""
    if isinstance(trigger, str) and trigger in _TRIGGERS:
        return trigger
    log.warning("Virtu sync of %s: unknown trigger %.40r; syncing, recorded as %s", key, trigger, api.TRIGGER_MANUAL)
    return api.TRIGGER_MANUAL


def _check_back(task, course_key_string, trigger, force):
    task.apply_async(
        (course_key_string,),
        {"trigger": trigger, "force": force, "follow_up": True},
        countdown=api.sync_lease_seconds() + 5,
    )
