"""
Delete old operation-log rows and sync run records now (the syncs also do it, course by course).

    python manage.py cms virtu_sync_prune [--older-than DAYS] [--dry-run]

``--older-than`` defaults to ``VIRTU_SYNC_LOG_RETENTION_DAYS``; ``--older-than 0`` deletes
everything that may go. An operation the backend has not acknowledged, a row the stored
snapshot still needs, and each course's latest run are never deleted; a course whose sync
is running is left for the next prune. ``--dry-run`` counts what would go and deletes nothing.
A bad ``--older-than`` is an error (exit status 2) and deletes nothing.
"""

import argparse

from django.core.management.base import BaseCommand

from virtu_sync_plugin import api


def days(text):
    """A whole number of days, 0 or more (argparse type)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0 or not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"must be a whole number of days, 0 or more, not {text!r}")
    return value


class Command(BaseCommand):
    help = "Delete operation-log rows and sync runs older than the retention period (never unacknowledged ones)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=days,
            metavar="DAYS",
            help="delete rows older than this many days (default: VIRTU_SYNC_LOG_RETENTION_DAYS; 0: all that may go)",
        )
        parser.add_argument("--dry-run", action="store_true", help="count what would be deleted; delete nothing")

    def handle(self, *args, **options):
        older_than, dry_run = options["older_than"], options["dry_run"]
        operations = runs = pruned = 0
        skipped = []
        for key in api.courses_with_old_sync_history(older_than_days=older_than):
            result = api.prune_sync_history(key, older_than_days=older_than, dry_run=dry_run)
            if result.skipped:
                skipped.append(result)
                self.stderr.write(f"{result.course_id}: left as it is: {result.skipped}")
                continue
            if result.operations or result.runs:
                pruned += 1
                if options["verbosity"] > 1:
                    self.stdout.write(f"{result.course_id}: {result.operations} operations, {result.runs} runs")
            operations += result.operations
            runs += result.runs
        verb = "Would delete" if dry_run else "Deleted"
        self.stdout.write(
            f"{verb} {operations} operation-log rows and {runs} sync runs of {pruned} course(s)"
            + (f"; {len(skipped)} course(s) left as they are." if skipped else ".")
        )
