"""
Compare what the Virtu backend holds with the published courses, and repair the drift.

    python manage.py cms virtu_sync_verify --all
    python manage.py cms virtu_sync_verify --course KEY [--course KEY ...] --repair

Needs the contract's optional state endpoint on the backend. Reports, per course, the
entities missing from the backend, the extra ones, and those whose fields, parent or
position differ. ``--repair`` sends what fixes them through the normal pipeline, then
verifies again. Exit status 1 when drift remains or a course could not be checked.
"""

from collections import Counter

from django.core.management.base import BaseCommand, CommandError

from virtu_sync_plugin import api
from virtu_sync_plugin.data import CourseDrift, SyncStatus

#: Drifted entities listed per course unless -v 2 asks for all of them.
LISTED_ENTITIES = 20


class Command(BaseCommand):
    help = "Compare the Virtu backend's state of courses with their published outline; --repair fixes the drift."

    def add_arguments(self, parser):
        parser.add_argument("--course", action="append", default=[], metavar="KEY", help="this course (repeatable)")
        parser.add_argument("--all", action="store_true", help="every course in the modulestore that is synced")
        parser.add_argument("--repair", action="store_true", help="send the operations that fix the drift")

    def handle(self, *args, **options):
        if bool(options["course"]) == options["all"]:
            raise CommandError("Say which courses: --course KEY (repeatable) or --all.")
        if not api.is_sync_switch_on():
            raise CommandError(
                "The virtu_sync.course_sync switch is off: no request goes to the backend, nothing was verified."
            )
        self.verbosity = options["verbosity"]
        tally = Counter()
        courses = options["course"] or (str(key) for key in api.course_keys())
        for course in courses:
            outcome = self._verify(course, repair=options["repair"], listed_by_default=not options["all"])
            tally[outcome] += 1
        self.stdout.write(
            "Courses: "
            + ", ".join(f"{tally[outcome]} {outcome}" for outcome in ("in sync", "drifting", "repaired"))
            + f", {tally['failed']} could not be checked, {tally['skipped']} skipped (not synced)"
        )
        if tally["drifting"] or tally["failed"]:
            raise CommandError(f"{tally['drifting']} course(s) drifting, {tally['failed']} not checked.")

    def _verify(self, course, *, repair, listed_by_default):
        """Verify (and repair) one course; returns what it counts as."""
        try:
            key = api.parse_course_key(course)
        except api.InvalidCourseKeyError as error:
            return self._failed(course, str(error))
        if not api.is_sync_enabled(key):
            if listed_by_default:
                self.stdout.write(f"{course}: skipped (out of the sync scope)")
            return "skipped"
        drift = self._drift(course, key)
        if drift is None:
            return "failed"
        self._report(drift)
        if not drift.has_drift:
            return "in sync"
        if not repair:
            return "drifting"
        result = api.repair_course(key, trigger=api.TRIGGER_MANUAL)
        if result.status is SyncStatus.QUEUED:
            return self._failed(course, "another worker is syncing the course; repair it again once that sync is over")
        if result.status not in (SyncStatus.SYNCED, SyncStatus.UNCHANGED):
            return self._failed(course, f"repair {result.status.value}: {result.error}")
        after = self._drift(course, key)
        if after is None:
            return "failed"
        if after.has_drift:
            self.stdout.write(f"{course}: still drifting after the repair:")
            self._report(after)
            return "drifting"
        counts = result.counts()
        self.stdout.write(
            f"{course}: repaired ({counts['create']} create, {counts['update']} update, {counts['delete']} delete sent)"
        )
        return "repaired"

    def _drift(self, course, key) -> CourseDrift | None:
        try:
            drift = api.verify_course(key)
        except api.StateEndpointUnavailableError as error:
            raise CommandError(
                f"Cannot verify: {error}. Verifying needs the contract's optional endpoint "
                "GET /course-sync/v1/courses/{course_id}/state; without it, a full resync "
                "(virtu_sync_backfill --force) sends every course again instead."
            ) from None
        except api.BackendError as error:
            self._failed(course, f"backend: {error}")
            return None
        if drift is None:
            self._failed(course, "not in the modulestore (deleted, or never published)")
        return drift

    def _report(self, drift: CourseDrift):
        if not drift.has_drift:
            self.stdout.write(f"{drift.course_id}: no drift ({drift.edx_entities} entities)")
            return
        counts = drift.counts()
        self.stdout.write(
            f"{drift.course_id}: {len(drift.drift)} of {drift.edx_entities} entities drifted "
            f"({counts['missing']} missing, {counts['extra']} extra, {counts['differing']} differing; "
            f"the backend holds {drift.backend_entities})"
        )
        listed = drift.drift if self.verbosity >= 2 else drift.drift[:LISTED_ENTITIES]
        for entity in listed:
            what = f" ({', '.join(entity.differences)})" if entity.differences else ""
            self.stdout.write(f"  {entity.kind.value:<9}  {entity.entity_type:<10}  {entity.entity_id}{what}")
        if len(listed) < len(drift.drift):
            self.stdout.write(f"  ... and {len(drift.drift) - len(listed)} more (-v 2 lists them all)")

    def _failed(self, course, reason):
        self.stderr.write(f"{course}: FAILED: {reason}")
        return "failed"
