"""
``virtu_sync_backfill``: many courses published in the stand-in Studio under different
keys, synced to the reference backend over HTTP.
"""

from __future__ import annotations

import gc
import io
import os
import selectors
import subprocess
import sys
import tracemalloc
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import coverage
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from olx_modulestore import pack_export
from opaque_keys.edx.keys import CourseKey
from xmodule.modulestore.django import SignalHandler

from reference_backend.faults import Fault
from tests.conftest import REPO_ROOT, SAMPLE_COURSE
from virtu_sync_plugin import api
from virtu_sync_plugin.models import CourseSyncState, SyncOperation, SyncRun, SyncScope

pytestmark = pytest.mark.django_db(transaction=True)

COURSES = (
    "course-v1:VirtuX+ALG+2026",
    "course-v1:VirtuX+GEO+2026",
    "course-v1:OtherU+HIST+2026",
    "course-v1:OtherU+ART+2026",
    "course-v1:ThirdU+BIO+2026",
    "course-v1:ThirdU+CHEM+2026",
)
MISSING = "course-v1:VirtuX+GONE+2026"


@pytest.fixture
def sample_tarball(tmp_path) -> Path:
    tarball = tmp_path / "sample.tar.gz"
    pack_export(SAMPLE_COURSE, tarball)
    return tarball


def publish_quietly(studio, tarball: Path, course_ids) -> None:
    """Courses that Studio has, published before the plugin syncs anything (no publish signal)."""
    with SignalHandler.course_published.for_state(is_enabled=False):
        for course_id in course_ids:
            studio.publish_export(tarball, course_key=CourseKey.from_string(course_id))


@pytest.fixture
def courses(studio, sample_tarball):
    publish_quietly(studio, sample_tarball, COURSES)
    return COURSES


def backfill(*arguments: str, stdout=None) -> tuple[str, str]:
    """Run the command; its output and error streams."""
    out, err = stdout or io.StringIO(), io.StringIO()
    call_command("virtu_sync_backfill", *arguments, stdout=out, stderr=err)
    return (out.getvalue() if stdout is None else ""), err.getvalue()


def failing_backfill(*arguments: str) -> tuple[str, str, CommandError]:
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("virtu_sync_backfill", *arguments, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue(), failure.value


def summary(output: str) -> dict[str, str]:
    """The summary table: label -> value."""
    table = output[output.index("Backfill summary") :].splitlines()[2:]
    return {line.rsplit(None, 1)[0].strip(): line.rsplit(None, 1)[1] for line in table}


def synced_courses(backend) -> set[str]:
    return {entity_id for entity_id, entity in backend.tree().items() if entity["entity_type"] == "course"}


def assert_in_sync(backend, course_ids) -> None:
    for course_id in course_ids:
        assert backend.tree(course_id) == api.build_outline(course_id).tree()


def test_the_selections_combine_as_a_union_minus_the_exclusions(courses, backend, sync_switch_on, tmp_path):
    keys = tmp_path / "keys.txt"
    keys.write_text(
        "# courses asked for by the art department\n\ncourse-v1:OtherU+ART+2026  # again below\n"
        "   course-v1:OtherU+ART+2026\ncourse-v1:VirtuX+ALG+2026\n"
    )

    output, errors = backfill(
        "--org", "VirtuX", "--course", "course-v1:ThirdU+BIO+2026", "--from-file", str(keys),
        "--exclude", "course-v1:VirtuX+GEO+2026",
    )  # fmt: skip

    expected = {"course-v1:VirtuX+ALG+2026", "course-v1:ThirdU+BIO+2026", "course-v1:OtherU+ART+2026"}
    assert synced_courses(backend) == expected
    assert_in_sync(backend, expected)
    assert errors == ""
    entities = len(api.build_outline(COURSES[0]))
    assert summary(output) == {
        "courses synced": "3",
        "courses unchanged": "0",
        "courses queued": "0",
        "courses failed": "0",
        "courses skipped": "0",
        "operations sent: create": str(3 * entities),
        "operations sent: update": "0",
        "operations sent: delete": "0",
        "operations applied": str(3 * entities),
        "operations failed": "0",
        "time (seconds)": summary(output)["time (seconds)"],
    }
    assert {run.trigger for run in SyncRun.objects.all()} == {api.TRIGGER_BACKFILL}


def test_all_syncs_every_course_and_running_it_again_sends_nothing(courses, backend, sync_switch_on):
    output, _ = backfill("--all")
    assert summary(output)["courses synced"] == str(len(COURSES))
    assert_in_sync(backend, COURSES)
    requests = len(backend.requests())

    again, _ = backfill("--all")

    assert (summary(again)["courses synced"], summary(again)["courses unchanged"]) == ("0", str(len(COURSES)))
    assert len(backend.requests()) == requests
    last = [str(key) for key in api.course_keys()][-1]  # in the modulestore's order
    assert f"[{len(COURSES)}/{len(COURSES)}] {last}: unchanged" in again  # plain progress lines


def test_bad_keys_a_missing_course_and_a_refused_course_are_counted_and_the_rest_carry_on(
    courses, backend, sync_switch_on, tmp_path
):
    keys = tmp_path / "keys.txt"
    keys.write_text(f"{COURSES[0]}\nMATH101\nlibrary-v1:VirtuX+Lib\n{MISSING}\n{COURSES[1]}\n{COURSES[2]}\n")
    backend.set_faults(Fault.fail(422))  # the first batch, COURSES[0]'s, is refused

    output, errors, failure = failing_backfill("--from-file", str(keys))

    assert failure.returncode == 1 and "4 course(s) failed" in str(failure)
    assert synced_courses(backend) == {COURSES[1], COURSES[2]}
    failed = [line.partition(": FAILED: ")[0] for line in errors.splitlines()]
    assert failed == [f"[1/6] {COURSES[0]}", "[2/6] MATH101", "[3/6] library-v1:VirtuX+Lib", f"[4/6] {MISSING}"]
    assert f"[1/6] {COURSES[0]}: FAILED: failed: backend refused a batch: HTTP 422: fault injection" in errors
    assert "not in the modulestore" in errors and "not a Studio course key" in errors
    assert (summary(output)["courses synced"], summary(output)["courses failed"]) == ("2", "4")
    assert CourseSyncState.objects.get(course_key=COURSES[0]).status == CourseSyncState.Status.FAILED


def test_operations_the_backend_refuses_one_by_one_are_counted_in_the_failure(courses, backend, sync_switch_on):
    backend.set_faults(Fault.fail(503, count=3))  # every attempt: the operations stay recorded, unacknowledged
    failing_backfill("--course", COURSES[0])
    refused = SyncOperation.objects.filter(course_key=COURSES[0], entity_type="assessment").first()
    backend.set_faults(Fault.fail_operations([refused.operation_id]))  # when it is sent again

    _, errors, _ = failing_backfill("--course", COURSES[0])

    assert f"{COURSES[0]}: FAILED: partial: 1 operation(s) failed, 0 deferred, 0 not sent" in errors
    assert_in_sync(backend, [COURSES[0]])  # the same entity, planned again in that run, went through


def test_dry_run_prints_the_operations_and_sends_and_changes_nothing(courses, backend, sync_switch_on):
    backfill("--course", COURSES[0])
    backend.reset()
    runs, states = SyncRun.objects.count(), list(CourseSyncState.objects.values())

    output, _ = backfill("--org", "VirtuX", "--dry-run", "--verbosity", "2")

    entities = len(api.build_outline(COURSES[1]))
    assert f"{COURSES[0]}: would send 0 create, 0 update, 0 delete" in output
    assert f"{COURSES[1]}: would send {entities} create, 0 update, 0 delete" in output
    assert "block-v1:VirtuX+GEO+2026+type@chapter+block@algebra" in output  # -v 2: every operation
    assert "block-v1:VirtuX+ALG+2026+type@chapter" not in output
    assert "Backfill summary (dry run: nothing was sent)" in output
    assert (summary(output)["courses to sync"], summary(output)["courses unchanged"]) == ("1", "1")
    assert backend.requests() == []
    assert SyncRun.objects.count() == runs and list(CourseSyncState.objects.values()) == states


def test_a_dry_run_without_verbosity_prints_only_the_counts(courses, backend, sync_switch_on):
    output, _ = backfill("--course", COURSES[0], "--dry-run", "--force")
    assert f"{COURSES[0]}: would send" in output and "block-v1:" not in output
    assert backend.requests() == []


def test_with_the_switch_off_nothing_is_synced_and_the_operator_is_told(courses, backend, db):
    output, _, failure = failing_backfill("--all")

    assert "switch is off" in str(failure) and "--dry-run" in str(failure)
    assert summary(output)["courses skipped"] == str(len(COURSES))
    assert backend.requests() == [] and not SyncRun.objects.exists()

    dry, _ = backfill("--all", "--dry-run")  # still allowed: it sends nothing
    assert summary(dry)["courses to sync"] == str(len(COURSES)) and backend.requests() == []


def test_courses_out_of_scope_are_skipped_and_counted(courses, backend, sync_switch_on):
    SyncScope.objects.create(enabled=True, orgs="VirtuX\nOtherU", excluded_course_keys=COURSES[3])

    output, _ = backfill("--all")

    assert synced_courses(backend) == set(COURSES[:3])
    assert (summary(output)["courses synced"], summary(output)["courses skipped"]) == ("3", "3")
    assert f"{COURSES[4]}: skipped (out of the sync scope)" in output
    dry, _ = backfill("--all", "--dry-run")
    assert summary(dry)["courses skipped"] == "3"


def test_turning_the_switch_off_during_a_backfill_stops_the_syncs(courses, backend, sync_switch_on):
    class SwitchOffAfterTheFirstCourse(io.StringIO):
        def write(self, text):
            if text.startswith("[1/"):
                sync_switch_on.active = False
                sync_switch_on.save()  # by an operator, in the admin of another process
            return super().write(text)

    out = SwitchOffAfterTheFirstCourse()
    with pytest.raises(CommandError, match="switch was turned off"):
        call_command("virtu_sync_backfill", "--all", stdout=out, stderr=io.StringIO())

    first, second = [str(key) for key in api.course_keys()][:2]
    assert synced_courses(backend) == {first}
    assert summary(out.getvalue())["courses skipped"] == str(len(COURSES) - 1)
    assert f"{second}: skipped (the switch was turned off)" in out.getvalue()


def test_force_sends_every_entity_again_as_upserts(courses, backend, sync_switch_on):
    backfill("--course", COURSES[0])
    backend.reset()  # a backend restored from an empty backup: the snapshot does not know

    assert summary(backfill("--course", COURSES[0])[0])["courses unchanged"] == "1"
    output, _ = backfill("--course", COURSES[0], "--force")

    assert summary(output)["operations sent: create"] == str(len(api.build_outline(COURSES[0])))
    assert_in_sync(backend, [COURSES[0]])
    assert SyncRun.objects.filter(forced=True, trigger=api.TRIGGER_BACKFILL).count() == 1


def test_queue_dispatches_one_task_per_course(courses, backend, sync_switch_on):
    output, _ = backfill("--org", "OtherU", "--queue", "--delay", "0.01")

    assert summary(output)["courses queued"] == "2"
    assert_in_sync(backend, COURSES[2:4])  # the tasks ran (eagerly, in the tests)
    assert [run.trigger for run in SyncRun.objects.all()] == [api.TRIGGER_BACKFILL] * 2


def test_a_course_another_worker_is_syncing_counts_as_queued(courses, backend, sync_switch_on):
    CourseSyncState.objects.create(
        course_key=COURSES[0], lock_owner="another-host:1234:abc", lock_expires_at=timezone.now() + timedelta(minutes=1)
    )

    output, errors = backfill("--course", COURSES[0], "--course", COURSES[1])

    assert (summary(output)["courses queued"], summary(output)["courses synced"]) == ("1", "1")
    assert errors == "" and synced_courses(backend) == {COURSES[1]}


def test_an_interrupted_backfill_prints_its_summary_and_a_rerun_carries_on(courses, backend, sync_switch_on):
    class CtrlCAfterTwoCourses(io.StringIO):
        def write(self, text):
            super().write(text)
            if text.startswith("[2/"):
                raise KeyboardInterrupt

    out, err = CtrlCAfterTwoCourses(), io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("virtu_sync_backfill", "--all", stdout=out, stderr=err)

    assert failure.value.returncode == 130
    assert "Interrupted at course 2 of 6" in err.getvalue()
    assert summary(out.getvalue())["courses synced"] == "2"
    reported = [line.split()[1].rstrip(":") for line in out.getvalue().splitlines() if line.startswith("[")]
    assert len(reported) == 2 and synced_courses(backend) == set(reported)
    output, _ = backfill("--all")
    assert (summary(output)["courses unchanged"], summary(output)["courses synced"]) == ("2", "4")
    assert_in_sync(backend, COURSES)


def test_on_a_terminal_progress_is_a_bar(courses, backend, sync_switch_on):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    out = Terminal()
    call_command("virtu_sync_backfill", "--all", stdout=out, stderr=io.StringIO())

    text = out.getvalue()
    last = [str(key) for key in api.course_keys()][-1]
    assert f"\r\033[K[{'#' * 25}.....] 6/6 {last}" in text
    assert "[1/6] " not in text  # no line per course
    assert summary(text)["courses synced"] == "6"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((), "Say which courses"),
        (("--all", "--dry-run", "--queue"), "without --queue"),
        (("--all", "--delay", "2"), "goes with --queue"),
        (("--all", "--exclude", "GEO"), "--exclude: 'GEO' is not a course key"),
        (("--from-file", "/nonexistent/keys.txt"), "cannot read /nonexistent/keys.txt"),
    ],
)
def test_wrong_options_are_refused_before_anything_is_done(courses, backend, sync_switch_on, arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("virtu_sync_backfill", *arguments, stdout=io.StringIO())
    assert backend.requests() == []


# Memory -----------------------------------------------------------------------------------------


@pytest.fixture
def backend_process(settings, tmp_path):
    """A reference backend in its own process, so that what it keeps is not this process's memory."""
    process = subprocess.Popen(
        [sys.executable, "-m", "reference_backend", "--port", "0", "--db", str(tmp_path / "backend.sqlite3"),
         "--token", settings.VIRTU_SYNC_API_TOKEN, "--secret", settings.VIRTU_SYNC_SIGNING_SECRET],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )  # fmt: skip
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            assert selector.select(timeout=10), "python -m reference_backend did not start"
        settings.VIRTU_SYNC_BACKEND_URL = process.stdout.readline().removeprefix("listening on ").strip()
        settings.VIRTU_SYNC_ALLOW_INSECURE_HTTP = True
        yield settings.VIRTU_SYNC_BACKEND_URL
    finally:
        process.terminate()
        process.wait(timeout=10)


class MemoryAtEachCourse(io.TextIOBase):
    """
    The command's output, which notes the traced memory at the end of each half as the
    course's progress line comes. Garbage is collected at each line, so that the peaks
    compare what is kept alive, not when the cyclic collector happened to run.
    """

    def __init__(self, total: int):
        self.total = total
        self.halves: list[tuple[int, int]] = []  # (current, peak) at the end of each half

    def write(self, text: str) -> int:
        if text.startswith("["):
            gc.collect()
        if text.startswith((f"[{self.total // 2}/", f"[{self.total}/")):
            self.halves.append(tracemalloc.get_traced_memory())
            tracemalloc.reset_peak()
        return len(text)


@contextmanager
def coverage_paused():
    """
    Measure the plugin, not the coverage tool (``make test`` runs with ``--cov``).

    Coverage keeps a tracer for every thread it has seen until it stops, and each pass
    of a sync has a lease keeper thread of its own: with coverage on, memory would grow
    by one tracer per course.
    """
    current = coverage.Coverage.current()
    if current is None:
        yield
        return
    current.stop()
    try:
        yield
    finally:
        current.start()


def test_memory_stays_flat_over_hundreds_of_courses(studio, backend_process, sync_switch_on, sample_tarball):
    total = 200
    course_ids = [f"course-v1:Org{number % 7}+C{number}+2026" for number in range(total + 1)]
    publish_quietly(studio, sample_tarball, course_ids)
    backfill("--course", course_ids[-1])  # warm-up: imports, connections, the stand-in's parsed exports
    keys = Path(studio.export_root).parent / "keys.txt"
    keys.write_text("\n".join(course_ids[:total]))

    memory = MemoryAtEachCourse(total)
    gc.freeze()  # what exists now is never garbage: keeps the collections at each course quick
    with coverage_paused():
        tracemalloc.start()
        try:
            call_command("virtu_sync_backfill", "--from-file", str(keys), stdout=memory, stderr=io.StringIO())
        finally:
            tracemalloc.stop()
            gc.unfreeze()

    (middle, first_peak), (end, second_peak) = memory.halves
    assert CourseSyncState.objects.filter(status=CourseSyncState.Status.IN_SYNC).count() == total + 1
    assert second_peak < first_peak * 1.1, (first_peak, second_peak)
    assert end - middle < 100 * 1024, (middle, end)
