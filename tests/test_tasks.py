"""The Celery tasks, called as a worker calls them (in the same process, one after the other)."""

import pytest
from waffle.models import Switch

from tests.conftest import SAMPLE_COURSE, SAMPLE_COURSE_ID
from virtu_sync_plugin import tasks
from virtu_sync_plugin.models import SyncRun

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_task_queued_before_the_switch_went_off_does_nothing(studio, backend, sync_switch_on):
    studio.publish_export(SAMPLE_COURSE)  # synced: the switch is on
    assert SyncRun.objects.count() == 1
    Switch.objects.filter(name="virtu_sync.course_sync").update(active=False)
    Switch.objects.get(name="virtu_sync.course_sync").save()  # as the admin saves it (clears waffle's cache)
    requests = len(backend.requests())
    tasks.sync_course.apply(args=(SAMPLE_COURSE_ID,), kwargs={"trigger": "publish", "force": True})
    assert SyncRun.objects.count() == 1 and len(backend.requests()) == requests


def test_a_task_with_a_garbage_key_is_logged_and_dropped(db, caplog):
    tasks.sync_course.apply(args=("not-a-key",))
    assert "is not a course key" in caplog.text
