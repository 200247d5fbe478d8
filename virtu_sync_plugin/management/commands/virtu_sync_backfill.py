"""
Bring existing courses over to the Virtu backend, or check what that would send.

    python manage.py cms virtu_sync_backfill --all
    python manage.py cms virtu_sync_backfill --org VirtuX --course course-v1:A+B+C --from-file keys.txt --exclude KEY
    python manage.py cms virtu_sync_backfill --all --dry-run -v 2
    python manage.py cms virtu_sync_backfill --all --queue --delay 0.5

The selections combine as a union, minus the exclusions. Courses are synced one at a
time (only one is in memory at once), here or, with ``--queue``, on the Celery workers.
A course the backend already has as published is a no-op, so the command can be
interrupted (Ctrl-C prints the summary so far) and run again. Exit status 1 when any
course failed.
"""

import logging
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from virtu_sync_plugin import api

from ._course_batch import CourseTally, Outcome, run_courses

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Sync existing courses with the Virtu backend (or, with --dry-run, show what that would send)."

    def add_arguments(self, parser):
        selection = parser.add_argument_group("which courses (combined as a union)")
        selection.add_argument("--all", action="store_true", help="every course in the modulestore")
        selection.add_argument(
            "--org", action="append", default=[], metavar="ORG", help="every course of this org (repeatable)"
        )
        selection.add_argument("--course", action="append", default=[], metavar="KEY", help="this course (repeatable)")
        selection.add_argument(
            "--from-file",
            metavar="PATH",
            help="the courses listed in this file, one key a line (blank lines and # comments ignored)",
        )
        selection.add_argument(
            "--exclude", action="append", default=[], metavar="KEY", help="never this course (repeatable)"
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="print the operations each course's sync would send (all of them with -v 2); send and change nothing",
        )
        parser.add_argument("--force", action="store_true", help="ignore the snapshots: send everything as upserts")
        parser.add_argument(
            "--queue", action="store_true", help="queue one Celery task per course instead of syncing here"
        )
        parser.add_argument(
            "--delay", type=float, default=0.0, metavar="SECONDS", help="with --queue: wait this long between courses"
        )

    def handle(self, *args, **options):
        _check_options(options)
        excluded = {_parsed_or_fail(key, "--exclude") for key in options["exclude"]}
        selection = [key for key in _selection(options) if key not in excluded]
        backfill = _Backfill(self, options)
        if not options["dry_run"] and not api.is_sync_switch_on():
            backfill.courses["skipped"] = len(selection)
            backfill.print_summary()
            raise CommandError(
                "The virtu_sync.course_sync switch is off: nothing was synced. Turn it on in the Django admin "
                "(Waffle > Switches), or see what a sync would send with --dry-run."
            )
        run_courses(self, selection, backfill.run, backfill, every_course=options["dry_run"])
        if not options["dry_run"] and not api.is_sync_switch_on():
            raise CommandError(
                "The virtu_sync.course_sync switch was turned off during the backfill: the courses after that "
                "were skipped. Run the command again once it is on; the courses synced are no-ops then."
            )
        if backfill.courses["failed"]:
            raise CommandError(f"{backfill.courses['failed']} course(s) failed; see the messages above.")


def _check_options(options):
    if not (options["all"] or options["org"] or options["course"] or options["from_file"]):
        raise CommandError("Say which courses: --all, --org ORG, --course KEY or --from-file PATH.")
    if options["dry_run"] and options["queue"]:
        raise CommandError("--dry-run sends nothing and queues nothing: use it without --queue.")
    if options["delay"] < 0 or (options["delay"] and not options["queue"]):
        raise CommandError("--delay takes a number of seconds >= 0 and goes with --queue.")


def _parsed_or_fail(key, option):
    try:
        return str(api.parse_course_key(key))
    except api.InvalidCourseKeyError as error:
        raise CommandError(f"{option}: {error}") from None


def _selection(options):
    """The selected course keys, each once, in the order given; a malformed key is kept as written."""
    keys = [*options["course"], *_keys_in_file(options["from_file"])]
    if options["all"] or options["org"]:
        orgs = set(options["org"])
        keys.extend(str(key) for key in api.course_keys() if options["all"] or key.org in orgs)
    return list(dict.fromkeys(_normalized(key) for key in keys))


def _keys_in_file(path):
    if path is None:
        return []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"--from-file: cannot read {path}: {error}") from None
    return [line.partition("#")[0].strip() for line in text.splitlines() if line.partition("#")[0].strip()]


def _normalized(key):
    try:
        return str(api.parse_course_key(key))
    except api.InvalidCourseKeyError:
        return key


class _Backfill(CourseTally):
    """Syncs (or previews) courses one by one and tallies what happened; keeps no course."""

    def __init__(self, command, options):
        title = "Backfill summary"
        super().__init__(command, title=title, dry_run=options["dry_run"], verbosity=options["verbosity"])
        self.options = options
        self.queued_before = False

    def run(self, course) -> Outcome:
        try:
            key = api.parse_course_key(course)
        except api.InvalidCourseKeyError as error:
            return self.failed(str(error))
        skip_reason = self._skip_reason(key)
        if skip_reason:
            return self.skipped(skip_reason)
        try:
            if self.options["queue"]:
                if self.options["delay"] and self.queued_before:
                    time.sleep(self.options["delay"])
                self.queued_before = True
                api.queue_course_sync(key, force=self.options["force"], trigger=api.TRIGGER_BACKFILL)
                self.courses["queued"] += 1
                return Outcome("queued")
            if self.dry_run:
                return self.preview(api.sync_course(key, dry_run=True, force=self.options["force"]))
            return self.tally(api.sync_course(key, force=self.options["force"], trigger=api.TRIGGER_BACKFILL))
        except Exception as error:  # one course's failure never stops the others
            log.exception("Virtu sync backfill of %s failed", course)
            return self.failed(f"{type(error).__name__}: {error}")

    def _skip_reason(self, key):
        if self.dry_run:
            return None if api.is_in_sync_scope(key) else "out of the sync scope"
        if api.is_sync_enabled(key):
            return None
        return "out of the sync scope" if api.is_sync_switch_on() else "the switch was turned off"
