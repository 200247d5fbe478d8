"""One sync per course at a time; publishes during a sync collapse into one more pass."""

from __future__ import annotations

import subprocess
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from opaque_keys.edx.keys import CourseKey

from tests.conftest import SAMPLE_COURSE, SAMPLE_COURSE_ID
from virtu_sync_plugin import api, course_lease
from virtu_sync_plugin.data import SyncStatus
from virtu_sync_plugin.models import CourseSyncState, SyncRun

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.mysql]
KEY = CourseKey.from_string(SAMPLE_COURSE_ID)


def in_thread(function, results, index):
    try:
        results[index] = function()
    finally:
        connection.close()


def test_syncs_of_one_course_never_overlap_and_requests_during_one_collapse_into_one_more_pass(studio, backend):
    studio.publish_export(SAMPLE_COURSE)  # switch off: nothing synced yet
    backend.set_faults(latency=0.3)
    results = [None] * 8
    first = threading.Thread(target=in_thread, args=(lambda: api.sync_course(SAMPLE_COURSE_ID), results, 0))
    first.start()
    deadline = time.monotonic() + 10
    while not SyncRun.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    others = [
        threading.Thread(target=in_thread, args=(lambda: api.sync_course(SAMPLE_COURSE_ID), results, index))
        for index in range(1, 8)
    ]
    for thread in others:
        thread.start()
    for thread in [first, *others]:
        thread.join(timeout=60)

    assert results[0].status is SyncStatus.UNCHANGED  # its last pass: the follow-up found nothing new
    assert [result.status for result in results[1:]] == [SyncStatus.QUEUED] * 7
    runs = list(SyncRun.objects.order_by("started_at"))
    assert len(runs) == 2, "exactly one follow-up pass for all the requests that came in during the sync"
    assert runs[0].finished_at <= runs[1].started_at
    state = CourseSyncState.objects.get()
    assert (state.lock_owner, state.sync_requests, state.handled_requests) == ("", 8, 8)
    assert backend.tree(SAMPLE_COURSE_ID) == api.build_outline(SAMPLE_COURSE_ID).tree()


def test_a_lease_held_elsewhere_blocks_until_it_expires(db):
    course_lease.request_sync(KEY, trigger="manual")
    assert course_lease.acquire(KEY, "other-host:123:abc")
    assert not course_lease.acquire(KEY, course_lease.new_owner())
    CourseSyncState.objects.update(lock_expires_at=timezone.now() - timedelta(seconds=1))
    owner = course_lease.new_owner()
    assert course_lease.acquire(KEY, owner)
    with pytest.raises(course_lease.LeaseLostError):
        course_lease.renew(KEY, "other-host:123:abc")
    course_lease.renew(KEY, owner)


def test_a_holder_that_died_on_this_host_is_taken_over_at_once(db):
    dead = subprocess.Popen(["true"])
    dead.wait()
    course_lease.request_sync(KEY, trigger="manual")
    dead_owner = course_lease.new_owner().split(":")[0] + f":{dead.pid}:feedface"
    assert course_lease.acquire(KEY, dead_owner)
    assert course_lease.acquire(KEY, course_lease.new_owner())


def test_a_request_that_arrives_during_a_pass_keeps_the_lease_for_one_more(db):
    owner = course_lease.new_owner()
    course_lease.request_sync(KEY, trigger="publish")
    assert course_lease.acquire(KEY, owner)
    request = course_lease.start_pass(KEY, owner)
    course_lease.request_sync(KEY, trigger="publish", force=True)
    assert not course_lease.finish_pass(KEY, owner, request)
    follow_up = course_lease.start_pass(KEY, owner)
    assert follow_up.force and not api.has_pending_sync(SAMPLE_COURSE_ID)
    assert course_lease.finish_pass(KEY, owner, follow_up)
    assert CourseSyncState.objects.get().force_requested is False


def slow_reads(monkeypatch, seconds):
    """Studio's modulestore, its course reads taking ``seconds`` (a big course on a loaded MongoDB)."""
    from xmodule.modulestore.mixed import MixedModuleStore

    get_course = MixedModuleStore.get_course

    def slow_get_course(self, *args, **kwargs):
        time.sleep(seconds)
        return get_course(self, *args, **kwargs)

    monkeypatch.setattr(MixedModuleStore, "get_course", slow_get_course)


def wait_until(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_modulestore_read_slower_than_the_lease_keeps_the_lease(studio, backend, settings, monkeypatch):
    settings.VIRTU_SYNC_LEASE_SECONDS = 1.5
    studio.publish_export(SAMPLE_COURSE)  # switch off: nothing synced yet
    slow_reads(monkeypatch, 4)  # the outline read lasts more than twice the lease
    results = [None]
    first = threading.Thread(target=in_thread, args=(lambda: api.sync_course(SAMPLE_COURSE_ID), results, 0))
    first.start()
    wait_until(SyncRun.objects.exists, 10, "the first pass to start")
    holder = CourseSyncState.objects.get().lock_owner
    time.sleep(2.5)  # the lease it took at the start has run out by now: only renewals keep it

    assert CourseSyncState.objects.get().lock_expires_at > timezone.now()
    assert api.sync_course(SAMPLE_COURSE_ID).status is SyncStatus.QUEUED, "a second pass started"
    assert CourseSyncState.objects.get().lock_owner == holder
    first.join(timeout=60)

    runs = list(SyncRun.objects.order_by("started_at"))
    assert len(runs) == 2, "the queued request ran as one more pass of the holder"
    assert runs[0].finished_at <= runs[1].started_at
    assert results[0].status is SyncStatus.UNCHANGED
    assert backend.tree(SAMPLE_COURSE_ID) == api.build_outline(SAMPLE_COURSE_ID).tree()
    assert max(backend.effects().values()) == 1


def test_a_worker_killed_during_a_slow_read_is_still_taken_over(studio, backend, settings):
    import os
    import signal

    from tests.support.workers import start_worker, worker_environment

    lease = 2.0
    settings.VIRTU_SYNC_LEASE_SECONDS = lease
    studio.publish_export(SAMPLE_COURSE)
    environment = worker_environment(settings, VIRTU_TEST_LEASE_SECONDS=str(lease))
    worker = start_worker("tests.crash_worker", SAMPLE_COURSE_ID, "slow_read", environment=environment)
    try:
        wait_until(SyncRun.objects.exists, 60, "the worker's pass to start")
        time.sleep(lease * 2)  # the worker is still reading, well past the lease it took
        assert worker.poll() is None
        assert api.sync_course(SAMPLE_COURSE_ID).status is SyncStatus.QUEUED, "a second pass started"
        assert SyncRun.objects.count() == 1
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)

    # As if it had run on another host (where its death cannot be seen): only the lease's end frees the course.
    state = CourseSyncState.objects.get()
    CourseSyncState.objects.update(lock_owner="other-host" + state.lock_owner[state.lock_owner.index(":") :])
    assert api.sync_course(SAMPLE_COURSE_ID).status is SyncStatus.QUEUED
    assert state.lock_expires_at <= timezone.now() + timedelta(seconds=lease), "renewed only while it lived"
    wait_until(lambda: timezone.now() > state.lock_expires_at, lease + 5, "the dead worker's lease to run out")

    result = api.sync_course(SAMPLE_COURSE_ID)
    assert result.status is SyncStatus.SYNCED, result.error
    assert backend.tree(SAMPLE_COURSE_ID) == api.build_outline(SAMPLE_COURSE_ID).tree()
    assert CourseSyncState.objects.get().lock_owner == ""
