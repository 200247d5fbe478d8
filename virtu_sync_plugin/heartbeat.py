"""
An extended check for the platform's heartbeat: no course out of sync for too long.

Add it to the platform's ``HEARTBEAT_EXTENDED_CHECKS``; ``/heartbeat?extended`` then
answers 503, naming the courses, when a course has been out of sync for longer than
``VIRTU_SYNC_HEARTBEAT_OUT_OF_SYNC_SECONDS``.
"""

from virtu_sync_plugin import api

CHECK_NAME = "virtu_sync"
#: Courses named in the message at most; the count covers them all.
NAMED_COURSES = 10


def check_courses_in_sync():
    """
    The heartbeat check: ``(name, is_ok, message)``, as the platform's heartbeat expects.

    OK when the sync switch is off (no course is synced) or no course has been out of
    sync for longer than the threshold.
    """
    if not api.is_sync_switch_on():
        return CHECK_NAME, True, "OK (the virtu_sync.course_sync switch is off)"
    threshold = api.out_of_sync_alert_seconds()
    late = list(api.courses_out_of_sync(for_longer_than=threshold))
    if not late:
        return CHECK_NAME, True, "OK"
    named = ", ".join(
        f"{course.course_id} (since {course.out_of_sync_since:%Y-%m-%d %H:%M} UTC)" for course in late[:NAMED_COURSES]
    )
    more = f" and {len(late) - NAMED_COURSES} more" if len(late) > NAMED_COURSES else ""
    return CHECK_NAME, False, f"{len(late)} course(s) out of sync for more than {threshold:g} seconds: {named}{more}"
