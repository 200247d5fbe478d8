"""
Benchmarks of the plugin's tables over months: the admin's list pages on big tables, and
the row counts of the operation log and the runs over 1,000 publishes with retention.
"""

from __future__ import annotations

import json
import random
import statistics
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from . import harness
from .courses import SyntheticCourse

#: The big tables of the admin benchmark, and the small ones its pages are compared with.
BIG = {"courses": 10_000, "runs": 100_000, "operations": 1_000_000}
SMALL = {"courses": 200, "runs": 100, "operations": 1_000}
#: The course whose runs and operations the per-course pages list: the same rows in both.
FOCUS_RUNS, OPERATIONS_PER_RUN = 100, 10
#: Most a list page may take against the same page on the small tables.
ADMIN_TARGET_RATIO = 3.0


def _key(number: int) -> str:
    """Courses of 1,000 per org: the small tables' 200 are all of one org, as full a page as the big ones'."""
    return f"course-v1:Org{number // 1000}+C{number:05d}+2026"


def _add_courses(first: int, last: int) -> None:
    from virtu_sync_plugin.models import CourseSyncState

    now = datetime.now(UTC)
    snapshot = json.dumps({"rows": ["x" * 60] * 80})  # about 5 kB, as a small course's snapshot
    CourseSyncState.objects.bulk_create(
        (
            CourseSyncState(
                course_key=_key(number),
                status="failed" if number % 2 else "in_sync",
                snapshot=snapshot,
                entity_count=80,
                last_synced_at=now,
                out_of_sync_since=now - timedelta(days=2) if number % 2 else None,
                next_retry_at=now + timedelta(minutes=10) if number % 2 else None,
            )
            for number in range(first, last)
        ),
        batch_size=2000,
    )


def _add_history(course_key: str, runs: int, operations_per_run: int, started: datetime) -> None:
    """Runs of one course with their operations, inserted as the pipeline's ``_insert_operations`` does."""
    from django.db import connection

    from virtu_sync_plugin.models import SyncRun

    created = SyncRun.objects.bulk_create(
        (
            SyncRun(
                course_key=course_key,
                trigger="publish",
                status="succeeded",
                started_at=started + timedelta(minutes=number),
                finished_at=started + timedelta(minutes=number, seconds=2),
                duration_ms=2000,
                updates=operations_per_run,
                applied=operations_per_run,
            )
            for number in range(runs)
        ),
        batch_size=2000,
    )
    stamp = started.strftime("%Y-%m-%d %H:%M:%S.%f")
    block = f"block-v1:{course_key.removeprefix('course-v1:')}+type@vertical+block@"
    rows = [
        (stamp, stamp, run.pk, course_key, run.pk % 997, sequence, str(uuid.uuid4()), "update", "unit",
         f"{block}u{sequence}", '{"operation":"update"}', "applied", 1, 200, "", "", stamp)
        for run in created
        for sequence in range(operations_per_run)
    ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO virtu_sync_plugin_syncoperation (created, modified, run_id, course_key, batch_id, sequence,"
            " operation_id, operation, entity_type, entity_id, payload, status, attempts, response_status,"
            " result_code, detail, acknowledged_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
            " %s, %s, %s)",
            rows,
        )


def _fill(sizes: dict[str, int], have: dict[str, int]) -> None:
    """
    Grow the tables to ``sizes`` from ``have`` (nothing: the focus course's history first).

    The focus course has the same runs and operations at every size.
    """
    import math

    from django.db import transaction

    started = datetime.now(UTC) - timedelta(days=20)
    with transaction.atomic():
        _add_courses(have.get("courses", 0), sizes["courses"])
        if not have:
            _add_history(_key(0), FOCUS_RUNS, OPERATIONS_PER_RUN, started)
            have = {"runs": FOCUS_RUNS, "operations": FOCUS_RUNS * OPERATIONS_PER_RUN}
        runs = sizes["runs"] - have["runs"]
        if runs <= 0:
            return
        operations_per_run = round((sizes["operations"] - have["operations"]) / runs)
        per_course = math.ceil(runs / (sizes["courses"] - 1))
        number = 1
        while runs > 0:
            _add_history(_key(number), min(per_course, runs), operations_per_run, started)
            runs -= per_course
            number += 1


def _pages() -> list[tuple[str, str, dict[str, str]]]:
    from virtu_sync_plugin.models import SyncRun

    focus_run = SyncRun.objects.filter(course_key=_key(0)).order_by("pk").values_list("pk", flat=True)[50]
    return [
        ("courses", "coursesyncstate", {}),
        ("courses failed", "coursesyncstate", {"status": "failed"}),
        ("courses out of sync > 1 day, retry scheduled", "coursesyncstate",
         {"out_of_sync": "1d", "retry": "scheduled"}),
        ("courses of one org", "coursesyncstate", {"org": "Org0"}),
        ("runs", "syncrun", {}),
        ("runs succeeded, published", "syncrun", {"status": "succeeded", "trigger": "publish"}),
        ("runs of one course", "syncrun", {"course_key": _key(0)}),
        ("operations", "syncoperation", {}),
        ("operations applied updates of units", "syncoperation", {"status": "applied", "operation": "update",
                                                                  "entity_type": "unit"}),
        ("operations of one course", "syncoperation", {"course_key": _key(0)}),
        ("operations of one run", "syncoperation", {"run__id__exact": str(focus_run)}),
    ]  # fmt: skip


def _time_pages(client) -> dict[str, harness.Timing]:
    from django.urls import reverse

    timings = {}
    for name, model, query in _pages():
        url = reverse(f"admin:virtu_sync_plugin_{model}_changelist")

        def get(url=url, query=query):
            response = client.get(url, query)
            if response.status_code != 200:
                raise RuntimeError(f"{url} {query}: HTTP {response.status_code}")

        get()  # warm: templates, caches
        timings[name] = harness.timed(get, 9)
    return timings


def _last_ids() -> dict[type, int]:
    from virtu_sync_plugin.models import CourseSyncState, SyncOperation, SyncRun

    return {model: model.objects.order_by("-pk").values_list("pk", flat=True).first() for model in
            (CourseSyncState, SyncOperation, SyncRun)}  # fmt: skip


def _shrink_to(last_ids: dict[type, int]) -> None:
    """Delete the rows added after ``last_ids`` (operations first: they belong to runs)."""
    for model, last in last_ids.items():
        model.objects.filter(pk__gt=last)._raw_delete(model.objects.db)


def _table_sizes() -> dict[str, int]:
    from virtu_sync_plugin.models import CourseSyncState, SyncOperation, SyncRun

    return {
        "courses": CourseSyncState.objects.count(),
        "runs": SyncRun.objects.count(),
        "operations": SyncOperation.objects.count(),
    }


def admin_pages(work_dir: Path, quick: bool) -> list[dict[str, Any]]:
    """Each admin list page with 1,000,000 logged operations and 100,000 runs, against 1,000 and 100."""
    from .sections import row

    harness.setup_django(work_dir)
    from django.contrib.auth.models import User
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    client = Client()
    client.force_login(User.objects.create_superuser("bench", password="bench"))
    big = {name: count // 10 for name, count in BIG.items()} if quick else BIG
    _fill(SMALL, {})
    small_sizes, last_small_rows = _table_sizes(), _last_ids()
    small_before = _time_pages(client)
    _fill(big, small_sizes)
    big_sizes = _table_sizes()
    large = _time_pages(client)
    _shrink_to(last_small_rows)  # the small tables again: the machine's load may have changed meanwhile
    small_after = _time_pages(client)
    small = {name: min(small_before[name], small_after[name], key=lambda timing: timing.min) for name in large}
    rows = []
    for name, timing in large.items():
        slower = timing.min / small[name].min  # the least disturbed by other work on the machine
        rows.append(
            row(
                "admin pages",
                name,
                timing,
                baseline=small[name].min,
                ratio=1 / slower,
                target=f"at most {ADMIN_TARGET_RATIO:g}× the time with the small tables",
                met=slower <= ADMIN_TARGET_RATIO,
                details={"slower": slower, "big_tables": big_sizes, "small_tables": small_sizes},
            )
        )
    return rows


#: Publishes of one course in the retention benchmark, an hour apart (simulated).
PUBLISHES = 1000
RETENTION_DAYS = 1


def retention(work_dir: Path, quick: bool) -> list[dict[str, Any]]:
    """
    The operation log's and the runs' row counts over 1,000 publishes of one course, each a
    change, an hour apart (the clock moved by aging the rows), pruned by the sync task with
    ``VIRTU_SYNC_LOG_RETENTION_DAYS = 1``.
    """
    from .sections import _serve, _switch_on, row

    harness.setup_django(work_dir)
    from django.conf import settings
    from django.db.models import F

    from virtu_sync_plugin import tasks
    from virtu_sync_plugin.models import SyncOperation, SyncRun

    settings.VIRTU_SYNC_LOG_RETENTION_DAYS = RETENTION_DAYS
    _switch_on()
    publishes = PUBLISHES // 4 if quick else PUBLISHES
    course = SyntheticCourse.generate(300, seed=7, org="RetentionX")
    rng = random.Random(3)
    counts: list[tuple[int, int, int]] = []
    seconds = []
    with harness.reference_backend(work_dir / "backend.sqlite3") as backend:
        harness.use_backend(backend.url)
        for number in range(1, publishes + 1):
            hour = timedelta(hours=1)
            SyncRun.objects.update(started_at=F("started_at") - hour)
            SyncOperation.objects.update(created=F("created") - hour)
            course = course.renamed(rng)[0]
            _serve(course)
            key = str(course.course_key)
            seconds.append(harness.timed(lambda key=key: tasks.sync_course(key, trigger="publish"), 1).samples[0])
            counts.append((number, SyncRun.objects.count(), SyncOperation.objects.count()))
    steady = [entry for entry in counts if entry[0] > 24 * RETENTION_DAYS + 1]
    checkpoints = {
        number: (runs, operations) for number, runs, operations in counts if number in (100, 250, 500, publishes)
    }
    unpruned_operations = course.entity_count() + publishes - 1
    rows = [
        row(
            "retention",
            f"{publishes:,} publishes: {kind} rows",
            unit="rows",
            min=min(entry[index] for entry in steady),
            median=statistics.median(entry[index] for entry in steady),
            max=max(entry[index] for entry in steady),
            baseline=baseline,
            baseline_unit="rows",
            ratio=baseline / max(entry[index] for entry in steady),
            target="flat: the same after 100 and after 1,000 publishes",
            met=max(entry[index] for entry in steady) == max(entry[index] for entry in steady if entry[0] <= 100),
            details={"after": {str(number): values[index - 1] for number, values in checkpoints.items()},
                     "kept_without_pruning": baseline},
        )
        for kind, index, baseline in (("run", 1, publishes), ("operation-log", 2, unpruned_operations))
    ]  # fmt: skip
    rows.append(
        row(
            "retention",
            "one publish's task (sync and prune)",
            harness.Timing(seconds[24 * RETENTION_DAYS + 1 :]),
            details={"publishes": publishes},
        )
    )
    return rows
