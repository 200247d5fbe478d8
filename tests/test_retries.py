"""
Self-healing: a course left out of sync is retried on its own, with no publish and no person.

Tasks go to a real (in-memory) Celery broker and are run from there as a worker would,
their ETAs read from the messages; time is simulated by running a retry when the test
says its time has come. The pipeline, database and backend are real.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from opaque_keys.edx.locator import CourseLocator

from reference_backend.faults import Fault
from tests.celery_app import app as celery_app
from tests.conftest import SAMPLE_COURSE, SAMPLE_COURSE_ID
from tests.support.broker import QueuedTasks
from virtu_sync_plugin import api
from virtu_sync_plugin.conf import DEFAULTS
from virtu_sync_plugin.data import SyncStatus
from virtu_sync_plugin.models import CourseSyncState, SyncRun
from virtu_sync_plugin.retries import retry_delay

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.mysql]

RETRY = "virtu_sync_plugin.tasks.retry_course_sync"
SYNC = "virtu_sync_plugin.tasks.sync_course"
COURSES = [CourseLocator("VirtuX", f"HEAL{number}", "2026") for number in range(3)]
#: The backend down: every batch request answered 503, for as long as the test wants.
DOWN = Fault.fail(503, count=1_000_000)


@pytest.fixture
def broker():
    """Tasks sent to an in-memory broker rather than run eagerly, as on a real deployment."""
    celery_app.conf.update(task_always_eager=False, broker_url="memory://")
    celery_app._pool = None  # noqa: SLF001
    celery_app.amqp._producer_pool = None  # noqa: SLF001
    queued = QueuedTasks()
    queued.take()  # nothing left by an earlier test
    yield queued
    queued.take()
    celery_app.conf.update(task_always_eager=True)


def publish(studio, course_key=None):
    """An author's publish in Studio: the sync task is queued when the request's transaction commits."""
    with transaction.atomic():
        studio.publish_export(SAMPLE_COURSE, course_key=course_key)


def in_sync(backend, course_key) -> bool:
    return backend.tree(str(course_key)) == api.build_outline(course_key).tree()


def states():
    return {state.course_key: state for state in CourseSyncState.objects.all()}


def test_a_backend_down_for_longer_than_a_pass_heals_every_course_with_no_publish_and_no_person(
    broker, studio, backend, sync_switch_on
):
    backend.set_faults(DOWN)
    for course_key in COURSES:
        publish(studio, course_key)
    published = broker.run_due()
    assert [task.name for task in published] == [SYNC] * 3

    first_retries = broker.take()
    assert sorted(task.args[0] for task in first_retries) == sorted(map(str, COURSES))
    assert {task.name for task in first_retries} == {RETRY}
    for state in states().values():
        assert state.status == CourseSyncState.Status.FAILED
        assert state.out_of_sync_since is not None and state.retry_attempts == 1
        delay = (state.next_retry_at - state.last_attempt_at).total_seconds()
        assert 45 <= delay <= 60.5, "the first retry about a minute later"
    assert {task.eta for task in first_retries} == {state.next_retry_at for state in states().values()}
    fell_out = {key: state.out_of_sync_since for key, state in states().items()}

    for task in first_retries:  # a minute later: still down; each retry fails and schedules the next
        task.run()
    second_retries = broker.take()
    assert len(second_retries) == 3 and {task.name for task in second_retries} == {RETRY}
    for state in states().values():
        assert state.retry_attempts == 2
        assert 90 <= (state.next_retry_at - state.last_attempt_at).total_seconds() <= 120.5, "the wait doubled"
    assert {key: state.out_of_sync_since for key, state in states().items()} == fell_out, "set the first time only"
    assert not any(in_sync(backend, key) for key in COURSES)

    backend.set_faults()  # the backend is back
    for task in second_retries:
        task.run()

    assert all(in_sync(backend, key) for key in COURSES)
    assert broker.take() == [], "nothing more scheduled once in sync"
    for state in states().values():
        assert state.status == CourseSyncState.Status.IN_SYNC
        assert (state.out_of_sync_since, state.next_retry_at, state.retry_attempts) == (None, None, 0)
    for course_key in COURSES:
        triggers = list(SyncRun.objects.filter(course_key=course_key).order_by("started_at").values_list("trigger"))
        assert triggers == [("publish",), ("retry",), ("retry",)]
    assert max(backend.effects().values()) == 1


def test_a_burst_of_failing_publishes_schedules_exactly_one_retry_and_a_success_makes_it_do_nothing(
    broker, studio, backend, sync_switch_on
):
    backend.set_faults(DOWN)
    for _ in range(10):
        publish(studio)
        broker.run_due()  # each publish's sync runs and fails
    # A publish's sync may find the retry scheduled by the one before: still one retry.
    retries = [task for task in broker.take() if task.name == RETRY]
    assert len(retries) == 1
    state = CourseSyncState.objects.get()
    assert state.next_retry_at == retries[0].eta and state.retry_attempts == 1
    assert SyncRun.objects.filter(status=SyncRun.Status.FAILED).count() == 10

    backend.set_faults()
    publish(studio)  # an author publishes again: this sync succeeds
    broker.run_due()
    state = CourseSyncState.objects.get()
    assert (state.status, state.next_retry_at, state.out_of_sync_since) == (CourseSyncState.Status.IN_SYNC, None, None)
    runs = SyncRun.objects.count()

    retries[0].run()  # its time comes: the course is in sync, the retry does nothing
    assert SyncRun.objects.count() == runs
    assert broker.take() == [], "no retry after a success"


def test_a_stale_retry_does_nothing_when_a_newer_one_replaced_it(broker, studio, backend, sync_switch_on):
    backend.set_faults(DOWN)
    publish(studio)
    broker.run_due()
    [stale] = broker.take()
    backend.set_faults()
    publish(studio)
    broker.run_due()  # in sync: the retry cleared
    backend.set_faults(DOWN)
    assert api.sync_course(SAMPLE_COURSE_ID, force=True).status is SyncStatus.FAILED  # out of sync again
    [current] = broker.take()
    assert current.args[1] != stale.args[1]
    runs = SyncRun.objects.count()
    stale.run()
    assert SyncRun.objects.count() == runs, "the old message ran nothing"
    assert CourseSyncState.objects.get().next_retry_at == current.eta
    current.run()
    assert SyncRun.objects.count() == runs + 1


def test_no_retry_past_retry_for_and_the_last_one_at_its_end(broker, studio, backend, sync_switch_on, settings, caplog):
    settings.VIRTU_SYNC_RETRY_FOR = 3600
    backend.set_faults(DOWN)
    publish(studio)
    broker.run_due()
    [retry] = broker.take()

    # Nearly an hour later: the next wait would end past VIRTU_SYNC_RETRY_FOR; the last retry runs at its end.
    fell_out = timezone.now() - timedelta(seconds=3600 - 10)
    CourseSyncState.objects.update(out_of_sync_since=fell_out)
    retry.run()
    [last] = broker.take()
    assert last.eta == fell_out + timedelta(seconds=3600)

    CourseSyncState.objects.update(out_of_sync_since=timezone.now() - timedelta(seconds=3601))
    last.run()
    assert broker.take() == [], "no retry past VIRTU_SYNC_RETRY_FOR"
    state = CourseSyncState.objects.get()
    assert state.status == CourseSyncState.Status.FAILED and state.next_retry_at is None, "stays failed, visible"
    assert "no more automatic retries (VIRTU_SYNC_RETRY_FOR)" in caplog.text

    publish(studio)  # a failing publish past the limit schedules none either
    broker.run_due()
    assert broker.take() == []


def test_no_retry_when_retry_for_is_zero(broker, studio, backend, sync_switch_on, settings):
    settings.VIRTU_SYNC_RETRY_FOR = 0
    backend.set_faults(DOWN)
    publish(studio)
    broker.run_due()
    assert broker.take() == []


def test_no_retry_when_tasks_run_eagerly(studio, backend, sync_switch_on):
    assert celery_app.conf.task_always_eager
    backend.set_faults(DOWN)
    publish(studio)  # the sync runs at once, in this process, and fails
    state = CourseSyncState.objects.get()
    assert state.status == CourseSyncState.Status.FAILED and state.out_of_sync_since is not None
    assert (state.next_retry_at, state.retry_attempts) == (None, 0)
    assert SyncRun.objects.count() == 1


def test_a_deletion_the_backend_could_not_take_is_retried_until_it_is(broker, studio, backend, sync_switch_on):
    publish(studio)
    broker.run_due()
    assert in_sync(backend, SAMPLE_COURSE_ID)
    backend.set_faults(DOWN)
    with transaction.atomic():
        studio.delete_course(api.parse_course_key(SAMPLE_COURSE_ID), user_id=-1)
    assert [task.name for task in broker.run_due()] == ["virtu_sync_plugin.tasks.delete_course"]
    [retry] = broker.take()
    state = CourseSyncState.objects.get()
    assert state.deletion_requested and state.out_of_sync_since is not None

    backend.set_faults()
    retry.run()
    state = CourseSyncState.objects.get()
    assert (state.status, state.deletion_requested) == (CourseSyncState.Status.DELETED, False)
    assert backend.tree(SAMPLE_COURSE_ID) == {}
    assert broker.take() == []


def test_a_retry_whose_course_is_no_longer_synced_is_dropped(broker, studio, backend, sync_switch_on):
    backend.set_faults(DOWN)
    publish(studio)
    broker.run_due()
    [retry] = broker.take()
    sync_switch_on.active = False
    sync_switch_on.save()
    runs = SyncRun.objects.count()
    retry.run()
    assert SyncRun.objects.count() == runs
    assert CourseSyncState.objects.get().next_retry_at is None
    assert broker.take() == []


def test_a_retry_task_with_a_bad_time_is_ignored(broker, studio, backend, sync_switch_on, caplog):
    backend.set_faults(DOWN)
    publish(studio)
    broker.run_due()
    [retry] = broker.take()
    celery_app.tasks[RETRY].apply((SAMPLE_COURSE_ID, "soon"), throw=True)
    assert "a retry task with a bad time 'soon'" in caplog.text
    assert CourseSyncState.objects.get().next_retry_at == retry.eta, "the real retry still stands"


def test_the_real_schedule_starts_at_a_minute_doubles_and_stays_under_half_an_hour():
    first, longest = DEFAULTS["VIRTU_SYNC_RETRY_DELAYS"]
    assert (first, longest, DEFAULTS["VIRTU_SYNC_RETRY_FOR"]) == (60, 1800, 7 * 24 * 3600)
    expected = [60, 120, 240, 480, 960, 1800, 1800, 1800]
    for attempt, full in enumerate(expected):
        delays = [retry_delay(attempt, first, longest) for _ in range(200)]
        assert all(0.75 * full <= delay <= full for delay in delays), (attempt, min(delays), max(delays))
        assert max(delays) - min(delays) > 0.1 * full, "jittered"
    assert retry_delay(10_000, first, longest) <= 1800
    # A week of retries: about 6 in the first half hour, then two an hour.
    waited, attempts = 0.0, 0
    while waited < DEFAULTS["VIRTU_SYNC_RETRY_FOR"]:
        waited += retry_delay(attempts, first, longest)
        attempts += 1
    assert 330 < attempts < 460


def test_a_course_in_sync_never_gets_a_retry(broker, studio, backend, sync_switch_on):
    publish(studio)
    broker.run_due()
    assert api.sync_course(SAMPLE_COURSE_ID).status is SyncStatus.UNCHANGED
    assert broker.take() == []
    state = CourseSyncState.objects.get()
    assert (state.out_of_sync_since, state.next_retry_at, state.retry_attempts) == (None, None, 0)


def test_a_retry_whose_message_was_lost_is_replaced_by_the_next_failing_pass(broker, studio, backend, sync_switch_on):
    backend.set_faults(DOWN)
    publish(studio)
    broker.run_due()
    broker.take()  # the broker restarted without it: the retry never runs
    assert api.sync_course(SAMPLE_COURSE_ID).status is SyncStatus.FAILED
    assert broker.take() == [], "while its time is recent, it may still come"

    CourseSyncState.objects.update(next_retry_at=timezone.now() - timedelta(hours=1, seconds=1))
    assert api.sync_course(SAMPLE_COURSE_ID).status is SyncStatus.FAILED
    [retry] = broker.take()
    assert CourseSyncState.objects.get().next_retry_at == retry.eta > timezone.now()
