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
