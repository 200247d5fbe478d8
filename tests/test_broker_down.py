"""
A publish or a deletion whose task cannot be queued (the Celery broker is down) is not lost.

It is recorded in the database after Studio's commit, and ``virtu_sync_reconcile``, the
admin and the heartbeat check see the course as out of sync until a pass syncs it. Real
parts: a broker that is not there, the stand-in Studio, the reference backend over HTTP.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.urls import reverse
from opaque_keys.edx.keys import CourseKey

from tests.conftest import BROKER_DOWN, SAMPLE_COURSE, SAMPLE_COURSE_ID
from tests.test_admin import VIEW_PERMISSIONS, course_rows, staff_user
from tests.test_monitoring import run_check
from tests.test_reconcile_command import reconcile, summary
from virtu_sync_plugin import api
from virtu_sync_plugin.data import SyncStatus
from virtu_sync_plugin.models import CourseSyncState, SyncRun

pytestmark = pytest.mark.django_db(transaction=True)

COURSE_KEY = CourseKey.from_string(SAMPLE_COURSE_ID)


def not_queued(trigger: str) -> str:
    return (
        f"Virtu sync: could not queue the {trigger} of {SAMPLE_COURSE_ID} (is the Celery broker up?); it is NOT synced"
    )


def errors(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]


def behind_in_the_admin(client) -> set[str]:
    """The courses the admin's course list shows as out of sync."""
    page = client.get(reverse("admin:virtu_sync_plugin_coursesyncstate_changelist"), {"out_of_sync": "any"})
    assert page.status_code == 200
    return course_rows(page)


@pytest.fixture
def viewer(client):
    client.force_login(staff_user("viewer", *VIEW_PERMISSIONS))
    return client


def test_a_publish_that_cannot_be_queued_is_recorded_and_reconciled(
    studio, backend, sync_switch_on, non_eager, caplog, viewer, settings
):
    non_eager(BROKER_DOWN)
    with transaction.atomic():
        studio.publish_export(SAMPLE_COURSE)  # Studio's request ends normally

    assert errors(caplog) == [not_queued("publish")]
    assert backend.requests() == []
    state = CourseSyncState.objects.get()
    assert state.status == CourseSyncState.Status.PENDING and state.out_of_sync_since is not None
    [behind] = api.courses_out_of_sync()
    assert (behind.course_id, behind.waiting_for) == (SAMPLE_COURSE_ID, ("requested sync",))
    assert behind_in_the_admin(viewer) == {SAMPLE_COURSE_ID}
    settings.VIRTU_SYNC_HEARTBEAT_OUT_OF_SYNC_SECONDS = 600
    assert run_check() == ("virtu_sync", True, "OK"), "out of sync for less than the threshold"
    CourseSyncState.objects.update(out_of_sync_since=state.out_of_sync_since - timedelta(seconds=601))  # later on
    name, is_ok, message = run_check()
    assert (name, is_ok) == ("virtu_sync", False) and SAMPLE_COURSE_ID in message
    assert f"{SAMPLE_COURSE_ID}: waiting for: requested sync; out of sync since" in reconcile("--dry-run")
    assert backend.requests() == []

    non_eager(None)  # the broker is back
    output = reconcile()

    assert summary(output)["courses synced"] == "1"
    assert backend.tree(SAMPLE_COURSE_ID) == api.build_outline(SAMPLE_COURSE_ID).tree()
    assert SyncRun.objects.get().trigger == "reconcile"
    state = CourseSyncState.objects.get()
    assert (state.status, state.out_of_sync_since) == (CourseSyncState.Status.IN_SYNC, None)
    assert list(api.courses_out_of_sync()) == []
    assert behind_in_the_admin(viewer) == set()
    assert run_check() == ("virtu_sync", True, "OK")


def test_a_deletion_that_cannot_be_queued_is_reconciled_as_a_deletion(
    studio, backend, sync_switch_on, non_eager, caplog, viewer
):
    studio.publish_export(SAMPLE_COURSE)  # synced by its publish (the broker is up)
    assert backend.tree(SAMPLE_COURSE_ID)
    non_eager(BROKER_DOWN)
    with transaction.atomic():
        studio.delete_course(COURSE_KEY, user_id=-1)

    assert errors(caplog) == [not_queued("delete")]
    state = CourseSyncState.objects.get()
    assert state.deletion_requested and state.out_of_sync_since is not None
    assert [course.waiting_for for course in api.courses_out_of_sync()] == [("deletion",)]
    assert behind_in_the_admin(viewer) == {SAMPLE_COURSE_ID}
    assert f"{SAMPLE_COURSE_ID}: waiting for: deletion; out of sync since" in reconcile("--dry-run")

    non_eager(None)
    output = reconcile()

    assert summary(output)["courses deleted"] == "1"
    assert backend.tree(SAMPLE_COURSE_ID) == {}
    run = SyncRun.objects.get(trigger="reconcile")
    assert (run.creates, run.updates, run.deletes) == (0, 0, 1)
    assert CourseSyncState.objects.get().status == CourseSyncState.Status.DELETED
    assert list(api.courses_out_of_sync()) == []
    assert behind_in_the_admin(viewer) == set()


def test_the_next_sync_runs_the_request_that_could_not_be_queued_as_it_was_asked_for(
    studio, backend, sync_switch_on, non_eager
):
    studio.publish_export(SAMPLE_COURSE)
    non_eager(BROKER_DOWN)
    api.queue_course_sync(SAMPLE_COURSE_ID, force=True, trigger=api.TRIGGER_ADMIN)  # Full resync, in the admin
    non_eager(None)

    assert api.sync_course(SAMPLE_COURSE_ID).status is SyncStatus.SYNCED
    assert SyncRun.objects.first().forced, "the full resync asked for is the one run"
    assert list(api.courses_out_of_sync()) == []


def test_recording_a_request_when_the_database_fails_too_is_logged_and_never_raises(
    studio, backend, sync_switch_on, non_eager, caplog
):
    non_eager(BROKER_DOWN)
    table = CourseSyncState._meta.db_table  # noqa: SLF001
    with connection.schema_editor() as editor:  # the state table cannot be written: the database is in trouble
        editor.alter_db_table(CourseSyncState, table, f"{table}_away")
    try:
        with transaction.atomic():
            studio.publish_export(SAMPLE_COURSE)
    finally:
        with connection.schema_editor() as editor:
            editor.alter_db_table(CourseSyncState, f"{table}_away", table)

    assert errors(caplog) == [
        not_queued("publish"),
        f"Virtu sync: could not record that {SAMPLE_COURSE_ID} needs its publish either; "
        "nothing will bring it over by itself",
    ]
    assert not CourseSyncState.objects.exists()
    assert backend.requests() == []
