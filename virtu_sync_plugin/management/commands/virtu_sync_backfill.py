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
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from edx_django_utils.cache import RequestCache

from virtu_sync_plugin import api
from virtu_sync_plugin.data import OperationType, SyncResult, SyncStatus

from ._operation_table import operation_table

log = logging.getLogger(__name__)

#: What a sync's status counts as in the summary.
OUTCOMES = {
    SyncStatus.SYNCED: "synced",
    SyncStatus.UNCHANGED: "unchanged",
    SyncStatus.QUEUED: "queued",
    SyncStatus.DELETED: "deleted",
}
SUMMARY_OUTCOMES = ("synced", "unchanged", "queued", "failed", "skipped")
BAR_WIDTH = 30
INTERRUPTED = 130


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
        progress = _Progress(self, total=len(selection), every_course=options["dry_run"])
        try:
            for done, course in enumerate(selection, 1):
                # Each course is a unit of work, like a request: the switch and the scope are read afresh.
                RequestCache.clear_all_namespaces()
                progress.start(done, course)
                progress.report(done, course, backfill.run(course))
                if options["queue"] and options["delay"] and done < len(selection):
                    time.sleep(options["delay"])
        except KeyboardInterrupt:
            progress.clear()
            self.stderr.write(f"Interrupted at course {progress.current} of {len(selection)}.")
            backfill.print_summary()
            raise CommandError("interrupted; running the command again carries on", returncode=INTERRUPTED) from None
        progress.clear()
        backfill.print_summary()
        RequestCache.clear_all_namespaces()
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


@dataclass(frozen=True)
class _Outcome:
    """What happened to one course, in words, and what to print below it."""

    text: str
    failed: bool = False
    details: str = ""


class _Backfill:
    """Syncs (or previews) courses one by one and tallies what happened; keeps no course."""

    def __init__(self, command, options):
        self.command = command
        self.options = options
        self.dry_run = options["dry_run"]
        self.courses = Counter()
        self.operations = Counter()
        self.started = time.monotonic()

    def run(self, course) -> _Outcome:
        try:
            key = api.parse_course_key(course)
        except api.InvalidCourseKeyError as error:
            return self._failed(str(error))
        skip_reason = self._skip_reason(key)
        if skip_reason:
            self.courses["skipped"] += 1
            return _Outcome(f"skipped ({skip_reason})")
        try:
            if self.options["queue"]:
                api.queue_course_sync(key, force=self.options["force"], trigger=api.TRIGGER_BACKFILL)
                self.courses["queued"] += 1
                return _Outcome("queued")
            if self.dry_run:
                return self._preview(api.sync_course(key, dry_run=True, force=self.options["force"]))
            return self._tally(api.sync_course(key, force=self.options["force"], trigger=api.TRIGGER_BACKFILL))
        except Exception as error:  # one course's failure never stops the others
            log.exception("Virtu sync backfill of %s failed", course)
            return self._failed(f"{type(error).__name__}: {error}")

    def _skip_reason(self, key):
        if self.dry_run:
            return None if api.is_in_sync_scope(key) else "out of the sync scope"
        if api.is_sync_enabled(key):
            return None
        return "out of the sync scope" if api.is_sync_switch_on() else "the switch was turned off"

    def _tally(self, result: SyncResult) -> _Outcome:
        self._count_operations(result)
        outcome = OUTCOMES.get(result.status)
        if outcome is None:
            problems = (
                f"{result.failed} operation(s) failed, {result.deferred} deferred, {result.unsent} not sent "
                "(the operation log in the admin says why)"
            )
            return self._failed(f"{result.status.value}: {result.error or problems}")
        self.courses[outcome] += 1
        return _Outcome(f"{outcome} ({_counts_text(result)})" if result.operations else outcome)

    def _preview(self, result: SyncResult) -> _Outcome:
        if result.status is not SyncStatus.DRY_RUN:
            return self._failed(result.error or result.status.value)
        self._count_operations(result)
        self.courses["synced" if result.operations else "unchanged"] += 1
        details = operation_table(result.operations) if result.operations and self.options["verbosity"] >= 2 else ""
        return _Outcome(f"would send {_counts_text(result)}", details=details)

    def _count_operations(self, result: SyncResult):
        self.operations.update(result.counts())
        self.operations["applied"] += result.applied
        self.operations["failed"] += result.failed + result.deferred

    def _failed(self, reason) -> _Outcome:
        self.courses["failed"] += 1
        return _Outcome(f"FAILED: {reason}", failed=True)

    def print_summary(self):
        rows = [
            (f"courses {'to sync' if self.dry_run and outcome == 'synced' else outcome}", self.courses[outcome])
            for outcome in SUMMARY_OUTCOMES
        ]
        rows.extend(
            (f"courses {outcome}", count) for outcome, count in self.courses.items() if outcome not in SUMMARY_OUTCOMES
        )
        sent = "to send" if self.dry_run else "sent"
        rows.extend((f"operations {sent}: {kind.value}", self.operations[kind.value]) for kind in OperationType)
        if not self.dry_run:
            rows.extend((f"operations {result}", self.operations[result]) for result in ("applied", "failed"))
        rows.append(("time (seconds)", f"{time.monotonic() - self.started:.1f}"))
        width = max(len(label) for label, _ in rows)
        title = "Backfill summary (dry run: nothing was sent)" if self.dry_run else "Backfill summary"
        lines = [title, "-" * len(title), *(f"{label.ljust(width)}  {value:>8}" for label, value in rows)]
        self.command.stdout.write("\n".join(lines))


def _counts_text(result: SyncResult) -> str:
    counts = result.counts()
    return ", ".join(f"{counts[kind.value]} {kind.value}" for kind in OperationType)


class _Progress:
    """
    Progress: a bar redrawn in place on a terminal, a plain line per course otherwise.

    On a terminal, failures still get a line each, and every course does when ``every_course``.
    """

    def __init__(self, command, *, total, every_course):
        self.command = command
        self.total = total
        self.every_course = every_course
        self.on_terminal = command.stdout.isatty()
        self.current = 0
        self.drawn = False

    def start(self, done, course):
        self.current = done
        if self.on_terminal:
            filled = BAR_WIDTH * (done - 1) // max(self.total, 1)
            bar = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{self.total} {course}"
            self.command.stdout.write(f"\r\033[K{bar}", ending="")
            self.command.stdout.flush()
            self.drawn = True

    def report(self, done, course, outcome: _Outcome):
        line = f"[{done}/{self.total}] {course}: {outcome.text}"
        if outcome.failed:
            self.clear()
            self.command.stderr.write(line)
        elif self.every_course or not self.on_terminal:
            self.clear()
            self.command.stdout.write(line)
        if outcome.details:
            self.clear()
            self.command.stdout.write(outcome.details)

    def clear(self):
        """Take the bar off its line, so that what follows starts on a clean line."""
        if self.drawn:
            self.command.stdout.write("\r\033[K", ending="")
            self.drawn = False
