"""
The demo: Studio publishes the sample course, an author edits it and publishes again.

Every publish goes the way it goes in Open edX: the modulestore's ``COURSE_PUBLISHED``
signal → the plugin's receiver → after commit, the ``sync_course`` Celery task (a real
worker, in-process broker) → HTTP to a reference Virtu backend on 127.0.0.1. Nothing is
needed but this repository: SQLite in a scratch directory, the OLX stand-in modulestore.

It prints the operations each publish sent and ends with ``backend in sync: yes (<N>
entities)`` when the backend holds exactly the published outline (``no`` and the
differences otherwise; exit status 1).

    python demo/run_demo.py [--course EXPORT ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
SAMPLE_COURSE = REPO_ROOT / "demo" / "sample_course"
SWITCH = "virtu_sync.course_sync"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--course", action="append", default=[], type=Path, help="another OLX export to publish")
    args = parser.parse_args(argv)

    from reference_backend.server import ReferenceBackend

    with (
        tempfile.TemporaryDirectory(prefix="virtu-sync-demo-") as work_dir,
        ReferenceBackend(token="demo-token", secret="demo-signing-secret") as backend,
    ):
        os.environ.update(
            DJANGO_SETTINGS_MODULE="demo.settings", VIRTU_DEMO_DIR=work_dir, VIRTU_DEMO_BACKEND_URL=backend.url
        )
        import django

        django.setup()
        from celery.contrib.testing.worker import start_worker
        from django.core.management import call_command
        from edx_django_utils.plugins import connect_plugin_receivers

        connect_plugin_receivers("cms.djangoapp")  # as edx-platform's plugins app does in Studio

        from demo.celery_app import app

        call_command("migrate", verbosity=0)
        print("Virtu sync demo")
        print(f"  Studio database   {work_dir}/studio.sqlite3 (SQLite)")
        print(f"  Virtu backend     {backend.url} (reference backend)")
        with start_worker(app, pool="solo", perform_ping_check=False):
            return Demo(backend, Path(work_dir)).run(args.course)


class Demo:
    """The story, step by step."""

    def __init__(self, backend, work_dir: Path):
        from xmodule.modulestore.django import modulestore

        self.backend = backend
        self.work_dir = work_dir
        self.studio = modulestore()
        self.course_ids: list[str] = []

    def run(self, other_courses: list[Path]) -> int:
        from waffle.models import Switch

        from demo.export_editor import ExportEditor, edit_sample_course

        Switch.objects.update_or_create(name=SWITCH, defaults={"active": True})
        print(f"\n1. The operator turns on the {SWITCH} switch (Django admin > Waffle > Switches).")

        print("\n2. Studio publishes the sample course.")
        self.publish(SAMPLE_COURSE)

        editor = ExportEditor(SAMPLE_COURSE, self.work_dir)
        edit_sample_course(editor)
        print(
            "\n3. The author renames a subsection, moves one to another section, reorders two units,\n"
            "   deletes a unit and adds a problem, then publishes again: only the changes are sent."
        )
        self.publish(editor.path)

        print("\n4. Studio publishes again without a change: nothing is sent.")
        self.publish(editor.path)

        for number, export in enumerate(other_courses, start=5):
            print(f"\n{number}. Studio publishes {export}.")
            self.publish(export)
        return self.report()

    def publish(self, export: Path) -> str:
        """Publish like Studio (inside the request's transaction), wait for the sync, show what was sent."""
        from django.db import transaction

        from virtu_sync_plugin.models import SyncRun

        seen = len(self.backend.requests())
        runs = SyncRun.objects.exclude(finished_at=None).count()
        with transaction.atomic():
            course_key = self.studio.publish_export(export)
        course_id = str(course_key)
        if course_id not in self.course_ids:
            self.course_ids.append(course_id)
        self.wait_for_sync(runs)
        operations = [
            operation
            for request in self.backend.requests()[seen:]
            for operation in json.loads(request.body)["operations"]
        ]
        requests = len(self.backend.requests()) - seen
        print(f"   {course_id}: {len(operations)} operations sent in {requests} request(s)")
        for operation in operations:
            print("     " + describe(operation))
        return course_id

    @staticmethod
    def wait_for_sync(finished_runs_before: int, timeout: float = 60) -> None:
        """Wait for the worker to finish the sync run this publish started."""
        from virtu_sync_plugin.models import SyncRun

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if SyncRun.objects.exclude(finished_at=None).count() > finished_runs_before:
                return
            time.sleep(0.05)
        raise SystemExit(f"the sync did not finish within {timeout:.0f}s")

    def report(self) -> int:
        from virtu_sync_plugin import api

        entities = 0
        differences = []
        for course_id in self.course_ids:
            expected = api.build_outline(course_id).tree()
            actual = self.backend.tree(course_id)
            entities += len(actual)
            differences += [f"missing on the backend: {entity_id}" for entity_id in expected.keys() - actual.keys()]
            differences += [f"extra on the backend: {entity_id}" for entity_id in actual.keys() - expected.keys()]
            differences += [
                f"differs: {entity_id}: backend {actual[entity_id]} != edX {expected[entity_id]}"
                for entity_id in expected.keys() & actual.keys()
                if expected[entity_id] != actual[entity_id]
            ]
        print()
        if differences:
            print("backend in sync: no")
            for difference in differences:
                print("  " + difference)
            return 1
        print(f"backend in sync: yes ({entities} entities)")
        return 0


def describe(operation: dict) -> str:
    """One line for an operation: what, which entity, and its title or changed fields."""
    entity = operation["entity_id"].rpartition("type@")[2].replace("+block@", ":") or operation["entity_id"]
    if "+type@" not in operation["entity_id"]:
        entity = operation["entity_id"]
    details = []
    if operation["operation"] == "create":
        details.append(repr(operation["data"]["title"]))
    elif operation["operation"] == "update":
        details += [f"{name}={value!r}" for name, value in operation["data"].items()]
        if "parent_id" in operation:
            details.append("moved under " + operation["parent_id"].rpartition("type@")[2].replace("+block@", ":"))
        if "position" in operation:
            details.append(f"position={operation['position']}")
    return f"{operation['operation']:<7} {operation['entity_type']:<10} {entity:<40} {' '.join(details)}".rstrip()


if __name__ == "__main__":
    sys.exit(main())
