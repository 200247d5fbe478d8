"""
``virtu_sync_reconcile`` as operators use it: after an outage, from cron, with bad input.

Courses published in the stand-in Studio, synced to the reference backend over HTTP, some
left behind by the backend's faults.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from edx_django_utils.cache import RequestCache
from opaque_keys.edx.keys import CourseKey
from xmodule.modulestore.django import SignalHandler

from reference_backend.faults import Fault
from tests.conftest import REPO_ROOT, SAMPLE_COURSE
from virtu_sync_plugin import api
from virtu_sync_plugin.data import SyncStatus
from virtu_sync_plugin.models import CourseSyncState, SyncOperation, SyncRun

pytestmark = pytest.mark.django_db(transaction=True)

HEALTHY = "course-v1:VirtuX+OK+2026"
FAILED = "course-v1:VirtuX+FAILED+2026"
UNACKNOWLEDGED = "course-v1:VirtuX+UNACK+2026"
DELETED = "course-v1:VirtuX+GONE+2026"
BEHIND = (FAILED, UNACKNOWLEDGED, DELETED)


@pytest.fixture
def outage(studio, backend, sync_switch_on):
    """Four courses: one in sync, and three the backend fell behind on, each in its own way."""
    with SignalHandler.course_published.for_state(is_enabled=False):
        for course_id in (HEALTHY, FAILED, UNACKNOWLEDGED, DELETED):
            studio.publish_export(SAMPLE_COURSE, course_key=CourseKey.from_string(course_id))
    for course_id in (HEALTHY, DELETED):
        assert api.sync_course(course_id).status is SyncStatus.SYNCED
    backend.set_faults(Fault.fail(503, count=100))
    assert api.sync_course(FAILED).status is SyncStatus.FAILED
    backend.set_faults(Fault.drop_after_apply(count=100))  # applied, never answered
    assert api.sync_course(UNACKNOWLEDGED).status is SyncStatus.FAILED
    backend.set_faults(Fault.fail(503, count=100))
    studio.delete_course(CourseKey.from_string(DELETED), user_id=-1)  # its deletion fails
    assert CourseSyncState.objects.get(course_key=DELETED).deletion_requested
    backend.set_faults()  # the backend is back
    return backend


def reconcile(*arguments: str) -> str:
    out = io.StringIO()
    call_command("virtu_sync_reconcile", *arguments, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def failing_reconcile(*arguments: str) -> tuple[str, str, CommandError]:
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("virtu_sync_reconcile", *arguments, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue(), failure.value


def summary(output: str) -> dict[str, str]:
    table = output[output.index("Reconcile summary") :].splitlines()[2:]
    return {line.rsplit(None, 1)[0].strip(): line.rsplit(None, 1)[1] for line in table}


def test_a_dry_run_lists_the_courses_behind_and_what_each_waits_for_and_sends_nothing(outage):
    requests = len(outage.requests())

    output = reconcile("--dry-run")

    assert len(outage.requests()) == requests
    lines = {line.split(": ", 1)[0].split("] ", 1)[1]: line for line in output.splitlines() if line.startswith("[")}
    assert set(lines) == set(BEHIND), "the course in sync is not listed"
    assert "failed pass" in lines[FAILED]
    assert "waiting for: unacknowledged operations, failed pass" in lines[UNACKNOWLEDGED]
    assert "waiting for: deletion" in lines[DELETED] and "failed pass" not in lines[DELETED]
    assert all("out of sync since" in line and "no automatic retry scheduled" in line for line in lines.values())
    assert "Reconcile summary (dry run: nothing was sent)" in output
    assert summary(output)["courses to sync"] == "3"
    assert CourseSyncState.objects.filter(status=CourseSyncState.Status.FAILED).count() == 3


def test_reconcile_brings_every_course_in_sync_and_a_second_run_sends_nothing(outage):
    output = reconcile()

    # Their unacknowledged batches resent, nothing new to send: "unchanged", as in the backfill.
    assert int(summary(output)["courses synced"]) + int(summary(output)["courses unchanged"]) == 2
    assert summary(output)["courses deleted"] == "1"
    assert summary(output)["courses failed"] == "0"
    for course_id in (HEALTHY, FAILED, UNACKNOWLEDGED):
        assert outage.tree(course_id) == api.build_outline(course_id).tree()
    assert outage.tree(DELETED) == {}
    assert max(outage.effects().values()) == 1
    assert not SyncOperation.objects.filter(status=SyncOperation.Status.PENDING).exists()
    assert list(api.courses_out_of_sync()) == []
    assert set(SyncRun.objects.filter(trigger="reconcile").values_list("course_key", flat=True)) == {
        CourseKey.from_string(course_id) for course_id in BEHIND
    }
    requests = len(outage.requests())

    again = reconcile()

    assert len(outage.requests()) == requests, "a second run on a healthy backend sends no request"
    assert "Every course is in sync with the Virtu backend." in again
    assert summary(again)["courses synced"] == summary(again)["courses unchanged"] == "0"


def test_a_course_still_out_of_sync_afterwards_is_exit_status_1(outage):
    outage.set_faults(Fault.fail(503, count=1000))  # down again

    out, err, failure = failing_reconcile()

    assert failure.returncode == 1
    assert "3 course(s) still out of sync" in str(failure)
    assert summary(out)["courses failed"] == "3"
    assert f"{FAILED}: FAILED: failed: backend unreachable" in err


def test_only_the_courses_asked_for(outage):
    output = reconcile("--course", FAILED, "--course", HEALTHY)
    assert f"[1/1] {FAILED}: " in output
    assert SyncRun.objects.filter(trigger="reconcile").count() == 1
    assert {course.course_id for course in api.courses_out_of_sync()} == {UNACKNOWLEDGED, DELETED}


def test_with_the_switch_off_nothing_is_synced_and_the_operator_is_told(outage, sync_switch_on):
    sync_switch_on.active = False
    sync_switch_on.save()  # in the admin: this process forgets what it read before, as a new one would
    RequestCache.clear_all_namespaces()
    requests = len(outage.requests())
    out, _, failure = failing_reconcile()
    assert "switch is off: 3 course(s) out of sync were left as they are" in str(failure)
    assert summary(out)["courses skipped"] == "3"
    assert len(outage.requests()) == requests


def run_command(*arguments: str) -> subprocess.CompletedProcess:
    """The command run as an operator runs it: ``manage.py`` in a shell, on the test's database."""
    return subprocess.run(
        [sys.executable, "manage.py", "virtu_sync_reconcile", *arguments],
        cwd=REPO_ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.worker_settings",
            "VIRTU_TEST_DATABASE": connection.settings_dict["NAME"],
            "VIRTU_TEST_OLX_ROOT": str(REPO_ROOT / "nonexistent"),
            "VIRTU_TEST_BACKEND_URL": "http://127.0.0.1:9",
            "VIRTU_TEST_BROKER_URL": "memory://",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("--course", "GEO"), "--course: 'GEO' is not a course key"),
        (("--course",), "argument --course: expected one argument"),
        (("--dry-run=yes",), "argument --dry-run: ignored explicit argument 'yes'"),
        (("--older-than", "3"), "unrecognized arguments: --older-than 3"),
    ],
)
def test_bad_input_is_a_clear_error_exit_status_2_and_nothing_is_done(outage, arguments, message):
    requests = len(outage.requests())
    process = run_command(*arguments)
    assert process.returncode == 2, process.stderr
    assert message in process.stderr
    assert "Traceback" not in process.stderr
    assert len(outage.requests()) == requests
    assert CourseSyncState.objects.filter(status=CourseSyncState.Status.FAILED).count() == 3
    assert not SyncRun.objects.filter(trigger="reconcile").exists()
