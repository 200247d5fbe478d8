"""
Sync every course the backend is behind on: for cron, a Kubernetes CronJob, or after an outage.

    python manage.py cms virtu_sync_reconcile
    python manage.py cms virtu_sync_reconcile --dry-run
    python manage.py cms virtu_sync_reconcile --course course-v1:A+B+C

A course is behind when its last pass failed or partly failed, it has operations recorded
but not acknowledged, its deletion has not been taken by the backend, or its sync or
deletion could not be queued (the Celery broker was down). Each gets one pass here (a
course in sync is not touched, so a run on a healthy backend sends nothing).
Exit status 1 when a course is still out of sync afterwards, 2 on bad input, 130 when
interrupted (Ctrl-C prints the summary so far).
"""

import logging

from django.core.management.base import BaseCommand, CommandError

from virtu_sync_plugin import api
from virtu_sync_plugin.data import OutOfSyncCourse, SyncStatus

from ._course_batch import CourseTally, Outcome, run_courses

log = logging.getLogger(__name__)

BAD_INPUT = 2


class Command(BaseCommand):
    help = (
        "Sync every course the Virtu backend is behind on (failed or partial last sync, unacknowledged "
        "operations, deletion pending, sync or deletion not queued); with --dry-run, list them and what each "
        "waits for."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--course",
            action="append",
            default=[],
            metavar="KEY",
            help="only this course, if it is out of sync (repeatable; default: every course)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="list the courses and what each waits for; send nothing"
        )

    def handle(self, *args, **options):
        only = {_parsed_or_fail(key) for key in options["course"]}
        dry_run = options["dry_run"]
        courses = {
            course.course_id: course for course in api.courses_out_of_sync() if not only or course.course_id in only
        }
        reconcile = _Reconcile(self, courses, dry_run=dry_run)
        if not dry_run and not api.is_sync_switch_on():
            reconcile.courses["skipped"] = len(courses)
            reconcile.print_summary()
            raise CommandError(
                f"The virtu_sync.course_sync switch is off: {len(courses)} course(s) out of sync were left as they "
                "are. Turn it on in the Django admin (Waffle > Switches)."
            )
        if not courses:
            self.stdout.write("Every course is in sync with the Virtu backend.")
        run_courses(self, list(courses), reconcile.run, reconcile, every_course=dry_run)
        if dry_run:
            return
        still = [
            course.course_id
            for course in api.courses_out_of_sync()
            if course.course_id in reconcile.tried and api.is_sync_enabled(course.course_id)
        ]
        if still:
            raise CommandError(
                f"{len(still)} course(s) still out of sync: {', '.join(still[:10])}{' ...' if len(still) > 10 else ''}"
                "; see the messages above and the course sync states in the admin."
            )


def _parsed_or_fail(key):
    try:
        return str(api.parse_course_key(key))
    except api.InvalidCourseKeyError as error:
        raise CommandError(f"--course: {error}", returncode=BAD_INPUT) from None


class _Reconcile(CourseTally):
    """One pass for each course out of sync (or, in a dry run, what it waits for)."""

    def __init__(self, command, courses: dict[str, OutOfSyncCourse], *, dry_run):
        super().__init__(command, title="Reconcile summary", dry_run=dry_run)
        self.out_of_sync = courses
        #: Courses given a pass here (not queued with another worker, not skipped).
        self.tried: set[str] = set()

    def run(self, course_id: str) -> Outcome:
        course = self.out_of_sync[course_id]
        if not api.is_sync_enabled(course.course_id):
            reason = "out of the sync scope" if api.is_sync_switch_on() else "the switch is off"
            return self.skipped(reason)
        if self.dry_run:
            self.courses["synced"] += 1
            return Outcome(_waiting_text(course))
        try:
            result = api.sync_course(course.course_id, trigger=api.TRIGGER_RECONCILE)
        except Exception as error:  # one course's failure never stops the others
            log.exception("Virtu sync reconcile of %s failed", course.course_id)
            self.tried.add(course.course_id)
            return self.failed(f"{type(error).__name__}: {error}")
        if result.status is not SyncStatus.QUEUED:
            self.tried.add(course.course_id)
        return self.tally(result)


def _waiting_text(course: OutOfSyncCourse) -> str:
    parts = [f"waiting for: {', '.join(course.waiting_for)}"]
    if course.out_of_sync_since is not None:
        parts.append(f"out of sync since {course.out_of_sync_since:%Y-%m-%d %H:%M} UTC")
    parts.append(
        f"next automatic retry {course.next_retry_at:%Y-%m-%d %H:%M} UTC"
        if course.next_retry_at is not None
        else "no automatic retry scheduled"
    )
    if course.last_error:
        parts.append(f"last error: {course.last_error[:200]}")
    return "; ".join(parts)
