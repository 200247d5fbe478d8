"""
The receivers, connected the way edx-platform connects plugins, fired through the
stand-in signals and the real openedx-events signals.
"""

from __future__ import annotations

import logging

import pytest
from django.db import transaction
from opaque_keys.edx.keys import CourseKey
from openedx_events.content_authoring.data import CourseData
from openedx_events.content_authoring.signals import COURSE_IMPORT_COMPLETED, COURSE_RERUN_COMPLETED
from xmodule.modulestore.django import COURSE_DELETED, COURSE_PUBLISHED, SignalHandler
from xmodule.modulestore.mixed import MixedModuleStore

from tests.conftest import SAMPLE_COURSE, SAMPLE_COURSE_ID
from virtu_sync_plugin.models import CourseSyncState, SyncRun

pytestmark = pytest.mark.django_db(transaction=True)


def receivers_of(signal):
    live = signal._live_receivers(MixedModuleStore)  # noqa: SLF001
    if isinstance(live, tuple):  # Django 5.0 and later: (sync receivers, async receivers)
        live = live[0]
    return {receiver.__name__ for receiver in live}


def test_the_plugin_framework_connects_our_receivers():
    assert "handle_course_published" in receivers_of(COURSE_PUBLISHED)
    assert "handle_course_deleted" in receivers_of(COURSE_DELETED)


def test_the_sync_is_queued_only_when_studio_commits(studio, backend, sync_switch_on):
    with transaction.atomic():
        studio.publish_export(SAMPLE_COURSE)
        assert backend.requests() == [] and not SyncRun.objects.exists()
    assert SyncRun.objects.get().trigger == "publish"
    assert backend.requests()


def test_a_rolled_back_publish_queues_nothing(studio, backend, sync_switch_on):
    with pytest.raises(RuntimeError), transaction.atomic():
        studio.publish_export(SAMPLE_COURSE)
        raise RuntimeError("Studio's request failed after the publish")
    assert backend.requests() == []


@pytest.mark.parametrize(
    ("signal", "trigger"), [(COURSE_IMPORT_COMPLETED, "import"), (COURSE_RERUN_COMPLETED, "rerun")]
)
def test_imports_and_reruns_queue_a_sync(studio, backend, sync_switch_on, signal, trigger):
    studio.publish_export(SAMPLE_COURSE)
    backend.reset()
    with transaction.atomic():
        signal.send_event(course=CourseData(course_key=CourseKey.from_string(SAMPLE_COURSE_ID)))
    run = SyncRun.objects.first()
    assert run.trigger == trigger
    assert backend.requests() == []  # nothing changed since the publish
    assert CourseSyncState.objects.get().status == CourseSyncState.Status.IN_SYNC


@pytest.mark.parametrize(
    "bad_key",
    ["not a key", "ccx-v1:VirtuX+MATH101+2026+ccx@3", "VirtuX/MATH101/2026", None, 42],
)
def test_bad_keys_are_logged_and_never_raise_into_studio(sync_switch_on, caplog, bad_key):
    caplog.set_level(logging.ERROR)
    with transaction.atomic():
        responses = SignalHandler(MixedModuleStore).course_published.send(sender=MixedModuleStore, course_key=bad_key)
    assert all(response is None for _, response in responses)
    assert "Virtu sync: ignoring the publish signal" in caplog.text
    assert not CourseSyncState.objects.exists()


def test_a_broken_broker_is_logged_loudly_after_commit(studio, sync_switch_on, caplog, settings, monkeypatch):
    from virtu_sync_plugin import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(tasks.sync_course, "delay", broker_down)
    with transaction.atomic():
        studio.publish_export(SAMPLE_COURSE)
    assert "is the Celery broker up?" in caplog.text and "it is NOT synced" in caplog.text


def test_the_receiver_adds_no_database_work_to_the_publish_when_the_switch_is_off(
    studio, django_assert_max_num_queries
):
    with django_assert_max_num_queries(2):  # reading the switch (and the scope)
        studio.publish_export(SAMPLE_COURSE)
