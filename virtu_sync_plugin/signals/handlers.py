"""
Receivers of Studio's course signals.

They queue a sync after the publish commits, and nothing else.

The platform sends the modulestore signals with ``send_robust``, which hides a
receiver's exception, so these receivers never raise and log their own failures.
"""

import logging
from functools import partial

from virtu_sync_plugin import api

log = logging.getLogger(__name__)


def handle_course_published(sender, course_key, **kwargs):  # pylint: disable=unused-argument
    """``COURSE_PUBLISHED``: sync the course once Studio's transaction commits."""
    _queue(partial(api.queue_course_sync, trigger=api.TRIGGER_PUBLISH), course_key, api.TRIGGER_PUBLISH)


def handle_course_deleted(sender, course_key, **kwargs):  # pylint: disable=unused-argument
    """``COURSE_DELETED``: delete the course on the backend (the key may carry a branch)."""
    _queue(api.queue_course_deletion, course_key, api.TRIGGER_DELETE)


def handle_course_import_completed(signal, sender, course, **kwargs):  # pylint: disable=unused-argument
    """openedx-events ``COURSE_IMPORT_COMPLETED``: an import replaced the content wholesale."""
    _queue(partial(api.queue_course_sync, trigger=api.TRIGGER_IMPORT), course.course_key, api.TRIGGER_IMPORT)


def handle_course_rerun_completed(signal, sender, course, **kwargs):  # pylint: disable=unused-argument
    """openedx-events ``COURSE_RERUN_COMPLETED``: a new course was created from another."""
    _queue(partial(api.queue_course_sync, trigger=api.TRIGGER_RERUN), course.course_key, api.TRIGGER_RERUN)


def _queue(queue, course_key, trigger):
    try:
        key = api.parse_course_key(course_key)
        if api.is_sync_enabled(key):
            queue(key)
    except api.LibraryKeyError:  # Studio signals content libraries too: not ours, nothing to say
        return
    except api.InvalidCourseKeyError as error:
        log.error("Virtu sync: ignoring the %s signal: %s", trigger, error)
    except Exception:  # pylint: disable=broad-except
        log.exception("Virtu sync: could not queue the %s of %s; it is NOT synced", trigger, course_key)
