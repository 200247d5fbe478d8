"""
Health where operators look: monitoring custom attributes of each pass, and the extended
heartbeat check.

The attributes are read through edx-django-utils' own extension point (a telemetry backend
named in ``OPENEDX_TELEMETRY``, as New Relic's or Datadog's is); the heartbeat check is
called as the platform's ``runchecks`` calls the functions of ``HEARTBEAT_EXTENDED_CHECKS``.
"""

from __future__ import annotations

from datetime import timedelta
from importlib import import_module

import pytest
from django.utils import timezone

from reference_backend.faults import Fault
from tests.conftest import SAMPLE_COURSE, SAMPLE_COURSE_ID
from tests.support.telemetry import RecordingBackend
from virtu_sync_plugin import api
from virtu_sync_plugin.data import SyncStatus
from virtu_sync_plugin.models import CourseSyncState, SyncRun
from virtu_sync_plugin.monitoring import ATTRIBUTES, PREFIX

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def recorded(settings):
    """The custom attributes set, as the operator's monitoring receives them."""
    settings.OPENEDX_TELEMETRY = ["tests.support.telemetry.RecordingBackend"]
    RecordingBackend.attributes.clear()
    yield RecordingBackend.attributes
    RecordingBackend.attributes.clear()


def ours(recorded) -> dict[str, object]:
    return {name: value for name, value in recorded if name.startswith(PREFIX)}


def test_a_pass_sets_its_attributes_with_fixed_names_and_enum_like_values(recorded, studio, backend):
    studio.publish_export(SAMPLE_COURSE)
    result = api.sync_course(SAMPLE_COURSE_ID, trigger=api.TRIGGER_BACKFILL)

    attributes = ours(recorded)
    assert set(attributes) == {PREFIX + name for name in ATTRIBUTES}
    run = SyncRun.objects.get()
    assert attributes == {
        "virtu_sync.course_key": SAMPLE_COURSE_ID,
        "virtu_sync.trigger": "backfill",
        "virtu_sync.status": "synced",
        "virtu_sync.forced": False,
        "virtu_sync.operations_planned": len(result.operations),
        "virtu_sync.operations_sent": len(result.operations),
        "virtu_sync.operations_applied": len(result.operations),
        "virtu_sync.operations_failed": 0,
        "virtu_sync.resent_batches": 0,
        "virtu_sync.duration_ms": run.duration_ms,
    }
    assert len(result.operations) > 10


def test_a_failed_pass_reports_what_it_sent_and_what_failed(recorded, studio, backend):
    studio.publish_export(SAMPLE_COURSE)
    backend.set_faults(Fault.fail(503, count=100))
    result = api.sync_course(SAMPLE_COURSE_ID)
    assert result.status is SyncStatus.FAILED
    attributes = ours(recorded)
    assert attributes["virtu_sync.status"] == "failed"
    assert attributes["virtu_sync.trigger"] == "manual"
    assert attributes["virtu_sync.operations_applied"] == 0
    assert attributes["virtu_sync.operations_sent"] == min(200, len(result.operations)), "its first batch went out"

    recorded.clear()
    backend.set_faults()
    assert api.sync_course(SAMPLE_COURSE_ID).status is SyncStatus.UNCHANGED  # the batches resent, nothing new
    attributes = ours(recorded)
    assert attributes["virtu_sync.status"] == "unchanged"
    assert attributes["virtu_sync.resent_batches"] >= 1
    assert attributes["virtu_sync.operations_applied"] == len(result.operations)


def test_values_are_plain_and_from_a_fixed_set(recorded, studio, backend):
    studio.publish_export(SAMPLE_COURSE)
    api.sync_course(SAMPLE_COURSE_ID)
    api.sync_course(SAMPLE_COURSE_ID, force=True)
    statuses = {value for name, value in recorded if name == "virtu_sync.status"}
    assert statuses <= {status.value for status in SyncStatus}
    triggers = {value for name, value in recorded if name == "virtu_sync.trigger"}
    assert triggers <= set(SyncRun.Trigger.values)
    assert all(isinstance(value, str | int | bool) for name, value in recorded if name.startswith(PREFIX))


# The extended heartbeat check ---------------------------------------------------------------------


def run_check(path="virtu_sync_plugin.heartbeat.check_courses_in_sync"):
    """Call a check the way openedx/core/djangoapps/heartbeat/runchecks.py does."""
    module, _, attr = path.rpartition(".")
    check_name, is_ok, message = getattr(import_module(module), attr)()
    return check_name, is_ok, message


def test_the_heartbeat_check_is_ok_while_every_course_is_in_sync(studio, backend, sync_switch_on):
    studio.publish_export(SAMPLE_COURSE)  # synced by its publish
    assert run_check() == ("virtu_sync", True, "OK")


def test_the_heartbeat_check_fails_for_a_course_out_of_sync_longer_than_the_threshold(
    studio, backend, sync_switch_on, settings
):
    settings.VIRTU_SYNC_HEARTBEAT_OUT_OF_SYNC_SECONDS = 600
    backend.set_faults(Fault.fail(503, count=100))
    studio.publish_export(SAMPLE_COURSE)
    assert run_check() == ("virtu_sync", True, "OK"), "out of sync for less than the threshold"

    since = timezone.now() - timedelta(seconds=601)
    CourseSyncState.objects.update(out_of_sync_since=since)
    name, is_ok, message = run_check()
    assert (name, is_ok) == ("virtu_sync", False)
    assert message == (
        f"1 course(s) out of sync for more than 600 seconds: {SAMPLE_COURSE_ID} (since {since:%Y-%m-%d %H:%M} UTC)"
    )

    backend.set_faults()
    api.sync_course(SAMPLE_COURSE_ID)
    assert run_check() == ("virtu_sync", True, "OK")


def test_the_heartbeat_check_is_ok_with_the_switch_off(studio, backend, db):
    backend.set_faults(Fault.fail(503, count=100))
    studio.publish_export(SAMPLE_COURSE)
    api.sync_course(SAMPLE_COURSE_ID)
    CourseSyncState.objects.update(out_of_sync_since=timezone.now() - timedelta(days=30))
    assert run_check() == ("virtu_sync", True, "OK (the virtu_sync.course_sync switch is off)")
