"""
What the commands that sync many courses share: progress, tallies, summary and exit code.

Used by ``virtu_sync_backfill`` and ``virtu_sync_reconcile``: a bar redrawn in place on a
terminal (a plain line per course otherwise), a line per failure, a summary table at the
end (also when interrupted with Ctrl-C, exit status 130).
"""

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.core.management.base import CommandError
from edx_django_utils.cache import RequestCache

from virtu_sync_plugin.data import OperationType, SyncResult, SyncStatus

from ._operation_table import operation_table

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


@dataclass(frozen=True)
class Outcome:
    """What happened to one course, in words, and what to print below it."""

    text: str
    failed: bool = False
    details: str = ""


class CourseTally:
    """Counts what happened to each course and the operations sent; prints the summary."""

    def __init__(self, command, *, title: str, dry_run: bool, verbosity: int = 1):
        self.command = command
        self.title = title
        self.dry_run = dry_run
        self.verbosity = verbosity
        self.courses = Counter()
        self.operations = Counter()
        self.started = time.monotonic()

    def tally(self, result: SyncResult) -> Outcome:
        """The outcome of a sync (failed unless it synced, changed nothing, was queued or deleted)."""
        self._count_operations(result)
        outcome = OUTCOMES.get(result.status)
        if outcome is None:
            problems = (
                f"{result.failed} operation(s) failed, {result.deferred} deferred, {result.unsent} not sent "
                "(the operation log in the admin says why)"
            )
            return self.failed(f"{result.status.value}: {result.error or problems}")
        self.courses[outcome] += 1
        return Outcome(f"{outcome} ({_counts_text(result)})" if result.operations else outcome)

    def preview(self, result: SyncResult) -> Outcome:
        """The outcome of a dry run: what it would send (every operation with -v 2)."""
        if result.status is not SyncStatus.DRY_RUN:
            return self.failed(result.error or result.status.value)
        self._count_operations(result)
        self.courses["synced" if result.operations else "unchanged"] += 1
        details = operation_table(result.operations) if result.operations and self.verbosity >= 2 else ""
        return Outcome(f"would send {_counts_text(result)}", details=details)

    def _count_operations(self, result: SyncResult):
        self.operations.update(result.counts())
        self.operations["applied"] += result.applied
        self.operations["failed"] += result.failed + result.deferred

    def failed(self, reason) -> Outcome:
        """Count a failed course."""
        self.courses["failed"] += 1
        return Outcome(f"FAILED: {reason}", failed=True)

    def skipped(self, reason) -> Outcome:
        """Count a course left alone."""
        self.courses["skipped"] += 1
        return Outcome(f"skipped ({reason})")

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
        title = f"{self.title} (dry run: nothing was sent)" if self.dry_run else self.title
        lines = [title, "-" * len(title), *(f"{label.ljust(width)}  {value:>8}" for label, value in rows)]
        self.command.stdout.write("\n".join(lines))


def run_courses(command, courses: Sequence, run_one: Callable[[object], Outcome], tally: CourseTally, *, every_course):
    """
    Run ``run_one`` on each course with progress shown, then print the summary.

    Ctrl-C prints the summary so far and raises a ``CommandError`` with exit status 130.
    """
    progress = Progress(command, total=len(courses), every_course=every_course)
    try:
        for done, course in enumerate(courses, 1):
            # Each course is a unit of work, like a request: the switch and the scope are read afresh.
            RequestCache.clear_all_namespaces()
            progress.start(done, course)
            progress.report(done, course, run_one(course))
    except KeyboardInterrupt:
        progress.clear()
        command.stderr.write(f"Interrupted at course {progress.current} of {len(courses)}.")
        tally.print_summary()
        raise CommandError("interrupted; running the command again carries on", returncode=INTERRUPTED) from None
    progress.clear()
    tally.print_summary()
    RequestCache.clear_all_namespaces()


def _counts_text(result: SyncResult) -> str:
    counts = result.counts()
    return ", ".join(f"{counts[kind.value]} {kind.value}" for kind in OperationType)


class Progress:
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

    def report(self, done, course, outcome: Outcome):
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
