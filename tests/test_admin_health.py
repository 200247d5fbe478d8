"""
The admin's course list shows how long each course has been out of sync and its next
automatic retry, with filters; the list pages run the same queries however big the tables
(no per-row query, no snapshot read, no scan for filter choices).
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.test_admin import VIEW_PERMISSIONS, course_rows, staff_user
from virtu_sync_plugin import admin as sync_admin
from virtu_sync_plugin.models import CourseSyncState, SyncOperation, SyncRun

pytestmark = pytest.mark.django_db

COURSES = "admin:virtu_sync_plugin_coursesyncstate_changelist"
RUNS = "admin:virtu_sync_plugin_syncrun_changelist"
OPERATIONS = "admin:virtu_sync_plugin_syncoperation_changelist"


@pytest.fixture
def viewer(client):
    client.force_login(staff_user("viewer", *VIEW_PERMISSIONS))


def course(key: str, **fields) -> CourseSyncState:
    return CourseSyncState.objects.create(course_key=key, **fields)


def history(course_key: str, runs: int, operations_per_run: int) -> None:
    """Rows as the pipeline writes them, with a big snapshot on the course."""
    for _ in range(runs):
        run = SyncRun.objects.create(course_key=course_key, trigger="publish", started_at=timezone.now())
        SyncOperation.objects.bulk_create(
            SyncOperation(
                run=run,
                course_key=course_key,
                sequence=sequence,
                operation_id=str(uuid.uuid4()),
                operation="update",
                entity_type="unit",
                entity_id=f"block-v1:{course_key[10:]}+type@vertical+block@u{sequence}",
                payload={"operation": "update"},
                status="applied",
            )
            for sequence in range(operations_per_run)
        )


def test_the_course_list_shows_out_of_sync_since_and_the_next_retry_and_filters_by_them(client, viewer):
    now = timezone.now()
    course("course-v1:A+Fine+1", status="in_sync")
    course("course-v1:A+Behind+1", status="failed", out_of_sync_since=now - timedelta(hours=3))
    course(
        "course-v1:A+LongBehind+1",
        status="failed",
        out_of_sync_since=now - timedelta(days=9),
        next_retry_at=now + timedelta(minutes=8),
        retry_attempts=12,
    )

    page = client.get(reverse(COURSES))
    html = page.content.decode()
    assert "out of sync since" in html.lower() and "next retry" in html.lower()
    row = html[html.index("course-v1:A+LongBehind+1") :]
    row = row[: row.index("</tr>")]
    assert "1\xa0week, 2\xa0days ago" in row and "in 7\xa0minutes" in row and "(attempt 13)" in row, row
    row = html[html.index("course-v1:A+Behind+1") :]
    assert "3\xa0hours ago" in row[: row.index("</tr>")]

    def listed(**filters):
        return course_rows(client.get(reverse(COURSES), filters))

    assert listed(out_of_sync="any") == {"course-v1:A+Behind+1", "course-v1:A+LongBehind+1"}
    assert listed(out_of_sync="1d") == listed(out_of_sync="7d") == {"course-v1:A+LongBehind+1"}
    assert listed(out_of_sync="1h") == {"course-v1:A+Behind+1", "course-v1:A+LongBehind+1"}
    assert listed(retry="scheduled") == {"course-v1:A+LongBehind+1"}
    assert listed(retry="none") == {"course-v1:A+Fine+1", "course-v1:A+Behind+1"}


def test_the_org_filter_offers_every_org_once(client, viewer):
    for key in (
        "course-v1:Virtu+A+1",
        "course-v1:Virtu+B+2",
        "course-v1:VirtuX+A+1",
        "course-v1:Virtu-X+C+1",
        "course-v1:OtherU+A+1",
        "course-v1:zeta+A+1",
    ):
        course(key)

    html = client.get(reverse(COURSES)).content.decode()

    assert re.findall(r'href="\?org=([^"&]+)"', html) == ["OtherU", "Virtu", "Virtu-X", "VirtuX", "zeta"]
    assert course_rows(client.get(reverse(COURSES), {"org": "Virtu"})) == {
        "course-v1:Virtu+A+1",
        "course-v1:Virtu+B+2",
    }


def page_queries(client, name: str, **filters) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse(name), filters).status_code == 200
    return [query["sql"] for query in queries.captured_queries]


@pytest.mark.parametrize(
    "name, filters",
    [
        (COURSES, {}),
        (COURSES, {"status": "failed"}),
        (COURSES, {"out_of_sync": "1d", "retry": "scheduled"}),
        (RUNS, {}),
        (RUNS, {"status": "succeeded", "trigger": "publish"}),
        (RUNS, {"course_key": "course-v1:Big+C0+1"}),
        (OPERATIONS, {}),
        (OPERATIONS, {"operation": "update", "entity_type": "unit", "status": "applied"}),
        (OPERATIONS, {"course_key": "course-v1:Big+C0+1"}),
    ],
)
def test_the_list_pages_run_the_same_queries_whatever_the_tables_hold(client, viewer, name, filters):
    behind = {
        "status": "failed",
        "out_of_sync_since": timezone.now() - timedelta(days=2),
        "next_retry_at": timezone.now() + timedelta(minutes=5),
    }
    course("course-v1:Big+C0+1", snapshot="x" * 100_000, **behind)
    history("course-v1:Big+C0+1", runs=1, operations_per_run=2)
    page_queries(client, name, **filters)  # caches warm (the switch, the scope)
    few = page_queries(client, name, **filters)
    for number in range(1, 40):
        course(f"course-v1:Big+C{number}+1", snapshot="x" * 100_000, **behind)
        history(f"course-v1:Big+C{number}+1", runs=3, operations_per_run=5)

    many = page_queries(client, name, **filters)

    assert len(many) == len(few), "no query per row"
    listed = " ".join(many).upper()
    assert "LENGTH(" not in listed and "DISTINCT" not in listed, "no snapshot read, no scan for filter choices"
    assert not any('"virtu_sync_plugin_coursesyncstate"."snapshot"' in sql for sql in many), "no snapshot read"


def test_big_lists_count_their_rows_up_to_a_cap(client, viewer, monkeypatch):
    monkeypatch.setattr(sync_admin, "COUNTED_ROWS", 5)
    history("course-v1:A+B+1", runs=8, operations_per_run=1)

    runs = client.get(reverse(RUNS)).content.decode()
    assert "5 sync runs" in runs
    assert client.get(reverse(OPERATIONS), {"p": "1"}).status_code == 200
