"""
Show what a sync would send when a course goes from one export to another.

    python manage.py cms virtu_sync_preview OLD NEW [--json] [--course-key KEY]

OLD and NEW are course exports (directories or ``.tar.gz`` files), both read under NEW's
course key unless ``--course-key`` names another. Reads the two exports with edx-platform's
own reader (``XMLModuleStore``), as Studio's import does: no course from Studio's modulestore,
no database, no backend.
"""

from django.core.management.base import BaseCommand, CommandError

from virtu_sync_plugin import api
from virtu_sync_plugin.data import OperationType

from ._operation_table import operation_json_lines, operation_table


class Command(BaseCommand):
    help = "Print the operations a sync would send when a course goes from export OLD to export NEW."

    def add_arguments(self, parser):
        parser.add_argument("old", metavar="OLD", help="the course export before (a directory or a .tar.gz)")
        parser.add_argument("new", metavar="NEW", help="the course export after (a directory or a .tar.gz)")
        parser.add_argument(
            "--json", action="store_true", help="print the operations as they go on the wire, one JSON object a line"
        )
        parser.add_argument("--course-key", metavar="KEY", help="read both exports as this course (default: NEW's)")

    def handle(self, *args, **options):
        try:
            operations = api.preview_export_change(options["old"], options["new"], course_key=options["course_key"])
        except (api.UnreadableExportError, api.InvalidCourseKeyError) as error:
            raise CommandError(str(error)) from None
        if options["json"]:
            if operations:
                self.stdout.write(operation_json_lines(operations))
            return
        if not operations:
            self.stdout.write("No operations: a sync would send nothing.")
            return
        self.stdout.write(operation_table(operations))
        counts = {kind: sum(1 for op in operations if op.operation is kind) for kind in OperationType}
        self.stdout.write("\n" + ", ".join(f"{count} {kind.value}" for kind, count in counts.items()))
