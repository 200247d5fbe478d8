"""
Bad input at every door: signals, task arguments, a course that vanished or cannot be read,
odd course content, a backend that misbehaves, and bad settings.

Each case ends with a clear error where an operator sees it (``SyncRun.error``,
``CourseSyncState.last_error``, ``SyncOperation.detail``, the log or the command's
output), nothing lost, and the rest carrying on. Real pipeline, real database, the
reference backend on 127.0.0.1; bad keys already covered for ``COURSE_PUBLISHED`` in
``test_receivers.py`` and client-level faults in ``test_backend_client.py`` are not repeated.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from ccx_keys.locator import CCXLocator
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import transaction
from opaque_keys.edx.keys import CourseKey
from opaque_keys.edx.locator import LibraryLocator
from openedx_events.content_authoring.data import CourseData
from openedx_events.content_authoring.signals import COURSE_IMPORT_COMPLETED, COURSE_RERUN_COMPLETED
from xmodule.modulestore.django import COURSE_DELETED, SignalHandler
from xmodule.modulestore.mixed import MixedModuleStore

from reference_backend.faults import Fault
from tests.conftest import SAMPLE_COURSE, SAMPLE_COURSE_ID
from tests.support.openapi import validate_request
from virtu_sync_plugin import api, tasks
from virtu_sync_plugin.data import SyncStatus
from virtu_sync_plugin.models import CourseSyncState, SyncOperation, SyncRun

pytestmark = pytest.mark.django_db(transaction=True)

SAMPLE_KEY = CourseKey.from_string(SAMPLE_COURSE_ID)
#: Entities of the sample course: 1 course, 3 topics, 8 subtopics, 13 units, 15 assessments (the
#: experiment's orphan vertical holds a problem that no group sees: no assessment).
SAMPLE_ENTITIES = 40


def warnings_logged(caplog) -> str:
    return "\n".join(record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING)


def assert_in_sync(backend, course_id=SAMPLE_COURSE_ID):
    assert backend.tree(course_id) == api.build_outline(course_id).tree()
    assert max(backend.effects().values()) == 1, "an operation took effect twice"
    assert CourseSyncState.objects.get(course_key=course_id).status == CourseSyncState.Status.IN_SYNC


def assert_sample_syncs_after(studio, backend):
    """The rest carries on: a good publish afterwards is synced whole."""
    with transaction.atomic():
        studio.publish_export(SAMPLE_COURSE)
    assert_in_sync(backend)


# Signals and task arguments ---------------------------------------------------------------------

BAD_KEYS = [
    "not a key",
    "ccx-v1:VirtuX+MATH101+2026+ccx@3",
    "VirtuX/MATH101/2026",
    "course-v1:VirtuX+MATH101",
    "course-v1:VirtuX+MATH101+2026\x00",
    "",
    "x" * 10_000,
    None,
    42,
    b"course-v1:VirtuX+MATH101+2026",
    ["course-v1:VirtuX+MATH101+2026"],
    {"course_key": "course-v1:VirtuX+MATH101+2026"},
]


@pytest.mark.parametrize("bad_key", BAD_KEYS, ids=repr)
def test_course_deleted_with_a_bad_key_is_logged_never_raises_and_deletes_nothing(
    studio, backend, sync_switch_on, caplog, bad_key
):
    with transaction.atomic():
        studio.publish_export(SAMPLE_COURSE)
    requests_before = len(backend.requests())
    caplog.set_level(logging.ERROR)

    with transaction.atomic():
        responses = SignalHandler(MixedModuleStore).course_deleted.send(sender=MixedModuleStore, course_key=bad_key)

    assert all(response is None for _, response in responses)
    assert "Virtu sync: ignoring the delete signal" in caplog.text
    assert len(backend.requests()) == requests_before
    assert backend.tree(SAMPLE_COURSE_ID)  # the synced course is still there
    assert list(CourseSyncState.objects.values_list("status", flat=True)) == [CourseSyncState.Status.IN_SYNC]


@pytest.mark.parametrize(
    "bad_key",
    [
        None,
        "not a key",
        "course-v1:VirtuX+MATH101",
        42,
        CCXLocator.from_string("ccx-v1:VirtuX+MATH101+2026+ccx@3"),
        CourseKey.from_string("VirtuX/MATH101/2026"),
    ],
    ids=repr,
)
@pytest.mark.parametrize(
    ("signal", "trigger"), [(COURSE_IMPORT_COMPLETED, "import"), (COURSE_RERUN_COMPLETED, "rerun")]
)
@pytest.mark.parametrize("debug", [False, True], ids=["send_robust", "DEBUG-send"])
def test_openedx_events_with_a_bad_course_key_are_logged_and_never_raise(
    studio, backend, sync_switch_on, settings, caplog, signal, trigger, bad_key, debug
):
    # CourseData does not validate its key, so anything reaches the receivers; with DEBUG on,
    # openedx-events sends with ``send`` and a receiver's exception would reach Studio.
    settings.DEBUG = debug
    caplog.set_level(logging.ERROR)

    with transaction.atomic():
        responses = signal.send_event(course=CourseData(course_key=bad_key))

    ours = [response for receiver, response in responses if receiver.__module__.startswith("virtu_sync_plugin")]
    assert ours == [None]
    assert f"Virtu sync: ignoring the {trigger} signal" in caplog.text
    assert not CourseSyncState.objects.exists() and backend.requests() == []
    assert_sample_syncs_after(studio, backend)


@pytest.mark.parametrize("task", [tasks.sync_course, tasks.delete_course], ids=["sync_course", "delete_course"])
@pytest.mark.parametrize("bad_key", BAD_KEYS, ids=repr)
def test_the_tasks_called_with_a_bad_course_key_log_it_and_record_nothing(
    studio, backend, sync_switch_on, caplog, task, bad_key
):
    caplog.set_level(logging.ERROR)

    task.delay(bad_key)  # eager, as a worker would run it

    assert "Virtu sync: " in caplog.text and "course key" in caplog.text
    assert not CourseSyncState.objects.exists() and not SyncRun.objects.exists()
    assert backend.requests() == []
    assert_sample_syncs_after(studio, backend)


#: Studio signals content libraries like courses (contract revision 2): ignored quietly.
LIBRARY_KEYS = ["library-v1:VirtuX+Lib", "lib:VirtuX:lib1", LibraryLocator("VirtuX", "Lib")]


@pytest.mark.parametrize("library_key", LIBRARY_KEYS, ids=repr)
def test_library_keys_are_ignored_quietly_by_receivers_and_tasks(studio, backend, sync_switch_on, caplog, library_key):
    caplog.set_level(logging.INFO)
    with transaction.atomic():
        SignalHandler(MixedModuleStore).course_published.send(sender=MixedModuleStore, course_key=library_key)
        SignalHandler(MixedModuleStore).course_deleted.send(sender=MixedModuleStore, course_key=library_key)
        for signal in (COURSE_IMPORT_COMPLETED, COURSE_RERUN_COMPLETED):
            signal.send_event(course=CourseData(course_key=library_key))
    tasks.sync_course.delay(str(library_key))
    tasks.delete_course.delay(str(library_key))

    assert not [r for r in caplog.records if r.name.startswith("virtu_sync") and r.levelno > logging.INFO]
    assert not CourseSyncState.objects.exists() and not SyncRun.objects.exists()
    assert backend.requests() == []
    assert_sample_syncs_after(studio, backend)


@pytest.mark.parametrize("bad_trigger", [None, 42, "", "x" * 100, "publish; DROP TABLE", ["publish"]], ids=repr)
def test_a_task_with_an_unknown_trigger_still_syncs_recorded_as_manual_and_says_so(
    studio, backend, sync_switch_on, caplog, bad_trigger
):
    studio.publish_export(SAMPLE_COURSE)  # outside a transaction: synced at once
    backend.reset()
    CourseSyncState.objects.all().delete()
    SyncRun.objects.all().delete()
    caplog.set_level(logging.WARNING)

    tasks.sync_course.delay(SAMPLE_COURSE_ID, bad_trigger)

    assert "unknown trigger" in caplog.text
    run = SyncRun.objects.get()
    assert (run.trigger, run.status) == (api.TRIGGER_MANUAL, SyncRun.Status.SUCCEEDED)
    assert CourseSyncState.objects.get().requested_trigger == api.TRIGGER_MANUAL
    assert_in_sync(backend)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((), {}, "missing 1 required positional argument"),
        ((SAMPLE_COURSE_ID,), {"course": SAMPLE_COURSE_ID}, "unexpected keyword argument"),
        ((SAMPLE_COURSE_ID, "publish", False, False, "extra"), {}, "positional arguments but 6 were given"),
    ],
)
def test_a_task_with_the_wrong_arguments_is_refused_before_anything_runs(
    studio, backend, sync_switch_on, args, kwargs, message
):
    with pytest.raises(TypeError, match=message):
        tasks.sync_course.delay(*args, **kwargs)
    assert not CourseSyncState.objects.exists() and backend.requests() == []


# A course that vanished or cannot be read ---------------------------------------------------------


def test_a_course_deleted_between_publish_and_task_is_reported_and_the_backend_is_untouched(
    studio, backend, sync_switch_on, caplog, tmp_path
):
    with transaction.atomic():
        studio.publish_export(SAMPLE_COURSE)
    synced_tree = backend.tree(SAMPLE_COURSE_ID)
    requests_before = len(backend.requests())
    caplog.set_level(logging.WARNING)

    # A second publish whose task runs (on commit) after the course was removed, without the
    # deletion signal (Studio's delete and its signal come later, or never).
    with transaction.atomic():
        studio.publish_export(SAMPLE_COURSE)
        with COURSE_DELETED.for_state(is_enabled=False):
            studio.delete_course(SAMPLE_KEY, user_id=-1)

    run = SyncRun.objects.first()
    assert (run.trigger, run.status) == ("publish", SyncRun.Status.FAILED)
    assert "not in the modulestore" in run.error
    state = CourseSyncState.objects.get()
    assert state.status == CourseSyncState.Status.FAILED and state.last_error == run.error
    assert "not in the modulestore" in warnings_logged(caplog)
    assert len(backend.requests()) == requests_before and backend.tree(SAMPLE_COURSE_ID) == synced_tree
    assert json.loads(state.snapshot)  # the snapshot of what the backend holds is kept


def test_a_course_never_synced_and_deleted_before_its_task_sends_nothing(studio, backend, sync_switch_on):
    with transaction.atomic():
        studio.publish_export(SAMPLE_COURSE)
        with COURSE_DELETED.for_state(is_enabled=False):
            studio.delete_course(SAMPLE_KEY, user_id=-1)

    assert SyncRun.objects.get().status == SyncRun.Status.FAILED
    assert CourseSyncState.objects.get().last_error.startswith("the course is not in the modulestore")
    assert backend.requests() == [] and not SyncOperation.objects.exists()


class ModulestoreDown(Exception):
    """What a modulestore read may raise when its database is unreachable."""


def test_a_modulestore_that_raises_fails_the_run_sends_nothing_and_the_next_publish_heals(
    studio, backend, sync_switch_on, caplog, monkeypatch
):
    def unreachable(*args, **kwargs):
        raise ModulestoreDown("connection to the content database refused")

    monkeypatch.setattr(studio, "get_course", unreachable)
    caplog.set_level(logging.WARNING)
    with transaction.atomic():
        studio.publish_export(SAMPLE_COURSE)

    run = SyncRun.objects.get()
    assert run.status == SyncRun.Status.FAILED
    assert run.error == "ModulestoreDown: connection to the content database refused"
    state = CourseSyncState.objects.get()
    assert (state.status, state.last_error, state.snapshot) == (CourseSyncState.Status.FAILED, run.error, "")
    assert "Virtu sync of course-v1:VirtuX+MATH101+2026 failed" in caplog.text  # with the traceback
    assert backend.requests() == [] and not SyncOperation.objects.exists()
    assert state.lock_owner == ""  # the lease was given back

    monkeypatch.undo()
    assert_sample_syncs_after(studio, backend)
    assert CourseSyncState.objects.get().last_error == ""


def test_a_corrupted_stored_export_reads_as_no_course_and_the_next_publish_heals(studio, backend, sync_switch_on):
    with transaction.atomic():
        studio.publish_export(SAMPLE_COURSE)
    synced_tree = backend.tree(SAMPLE_COURSE_ID)
    requests_before = len(backend.requests())
    (stored,) = studio.export_paths(SAMPLE_KEY)
    stored.write_bytes(b"\x1f\x8b not really gzip")  # the disk under Studio went bad

    result = api.sync_course(SAMPLE_COURSE_ID)

    assert result.status is SyncStatus.COURSE_NOT_FOUND and "not in the modulestore" in result.error
    assert len(backend.requests()) == requests_before and backend.tree(SAMPLE_COURSE_ID) == synced_tree
    assert_sample_syncs_after(studio, backend)


# Odd content, end to end through HTTP ----------------------------------------------------------------

ODD_KEY = "course-v1:Odd+C1+R"
LONG_TITLE = "Ωmega-λ " * 1250  # 10,000 characters, multi-byte in UTF-8
EMOJI_TITLE = "Abacus 🧮 family 👩\u200d👩\u200d👧 flag 🇪🇺 e\u0301 (NFD) \u202eRTL\u202c مرحبا"
TRICKY_TITLE = '</script><b>"quotes"</b> \\ back\\slash {"json": true} \' OR 1=1 --'


def odd_block(block_type, url_name):
    return f"block-v1:Odd+C1+R+type@{block_type}+block@{url_name}"


def write_files(root: Path, files: dict[str, str]) -> Path:
    for relpath, text in files.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def odd_export(root: Path) -> Path:
    """A course with duplicate and dangling references, huge, control, emoji and tricky titles, null dates."""
    quoted = LONG_TITLE.replace("&", "&amp;")
    policy = {
        # JSON can carry what XML cannot: NUL, bell, escape and C1 controls.
        "chapter/ch2": {"display_name": "Bell\u0007 NUL\u0000 ESC\u001b[31m C1\u0085 tab\t end"},
        "sequential/seq2": {"due": None},
    }
    return write_files(
        root,
        {
            "course.xml": '<course url_name="R" org="Odd" course="C1"/>',
            # No start anywhere (the default start), no end (null).
            "course/R.xml": (
                f'<course display_name="{EMOJI_TITLE}">'
                '<chapter url_name="ch1"/><chapter url_name="ch2"/><chapter url_name="ch_missing"/></course>'
            ),
            "policies/R/policy.json": json.dumps(policy),
            "chapter/ch1.xml": f'<chapter display_name="{quoted}"><sequential url_name="seq1"/></chapter>',
            # seq1 again, under another parent: counted once, where it first appears.
            "chapter/ch2.xml": '<chapter><sequential url_name="seq2"/><sequential url_name="seq1"/></chapter>',
            "sequential/seq1.xml": (
                f'<sequential display_name="{EMOJI_TITLE}" due="2026-10-01T23:59:00+02:00">'
                '<vertical url_name="v1"/><vertical url_name="v_missing"/></sequential>'
            ),
            "sequential/seq2.xml": (
                '<sequential display_name="Dates: none" start="not a date" due="2026-13-45T99:99:99Z">'
                '<vertical url_name="v2"/><vertical url_name="v1"/></sequential>'
            ),
            "vertical/v1.xml": (
                '<vertical display_name="&lt;/script&gt;&lt;b&gt;&quot;quotes&quot;&lt;/b&gt; \\ back\\slash '
                '{&quot;json&quot;: true} \' OR 1=1 --"><problem url_name="p1"/><problem url_name="p1"/></vertical>'
            ),
            "vertical/v2.xml": '<vertical display_name="   "><problem url_name="p2"/></vertical>',
            "problem/p1.xml": '<problem display_name="Weight NaN" weight="NaN"><p>2+2</p></problem>',
            "problem/p2.xml": '<problem display_name="Tab&#9;and&#10;newline" weight="1e308"/>',
        },
    )


def test_odd_content_reaches_the_backend_exactly_and_is_reported(studio, backend, sync_switch_on, tmp_path):
    with transaction.atomic():
        studio.publish_export(odd_export(tmp_path / "odd"))

    run = SyncRun.objects.get()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    outline = api.build_outline(ODD_KEY)
    assert backend.tree(ODD_KEY) == outline.tree()
    stored = {entity_id: entity["data"] for entity_id, entity in backend.tree(ODD_KEY).items()}

    assert stored[ODD_KEY]["title"] == EMOJI_TITLE  # no normalization, no escaping
    assert (stored[ODD_KEY]["start"], stored[ODD_KEY]["end"]) == ("2030-01-01T00:00:00Z", None)
    assert stored[odd_block("chapter", "ch1")]["title"] == LONG_TITLE and len(LONG_TITLE) == 10_000
    assert stored[odd_block("chapter", "ch2")]["title"] == "Bell  NUL  ESC [31m C1  tab  end"
    assert stored[odd_block("sequential", "seq1")] == {
        "title": EMOJI_TITLE,
        "start": "2030-01-01T00:00:00Z",
        "due": "2026-10-01T21:59:00Z",  # to UTC
        "graded": False,
        "format": None,
        "visible_to_staff_only": False,
        "hide_from_toc": False,
    }
    assert (stored[odd_block("sequential", "seq2")]["start"], stored[odd_block("sequential", "seq2")]["due"]) == (
        "2030-01-01T00:00:00Z",
        None,
    )
    assert stored[odd_block("vertical", "v1")]["title"] == TRICKY_TITLE
    assert stored[odd_block("vertical", "v2")]["title"] == "v2"
    assert stored[odd_block("problem", "p1")]["weight"] is None  # NaN is no JSON number
    assert stored[odd_block("problem", "p2")] == {
        "title": "Tab and newline",
        "block_type": "problem",
        "weight": 1e308,
        "graded": False,
        "points": 1e308,  # its weight: set, so the platform grades out of it
        "selection": [],
    }
    # Duplicates counted once where they first appear; positions over the kept siblings.
    seq1 = backend.tree(ODD_KEY)[odd_block("sequential", "seq1")]
    assert (seq1["parent_id"], seq1["position"]) == (odd_block("chapter", "ch1"), 0)
    assert backend.tree(ODD_KEY)[odd_block("vertical", "v2")]["position"] == 0
    assert odd_block("vertical", "v_missing") not in stored and odd_block("chapter", "ch_missing") not in stored

    reported = {(error["code"], error["block_id"]) for error in run.content_errors}
    assert reported >= {
        ("missing_child", odd_block("chapter", "ch_missing")),
        ("missing_child", odd_block("vertical", "v_missing")),
        ("duplicate_child", odd_block("sequential", "seq1")),
        ("duplicate_child", odd_block("vertical", "v1")),
        ("duplicate_child", odd_block("problem", "p1")),
        ("control_characters", odd_block("chapter", "ch2")),
        ("control_characters", odd_block("problem", "p2")),
        ("missing_display_name", odd_block("vertical", "v2")),
        ("bad_value", odd_block("problem", "p1")),
    }

    # The exact bytes: valid against the document, UTF-8 as is, every value as stored.
    (request,) = backend.requests()
    validate_request(request.method, request.path, request.headers, request.body)
    assert EMOJI_TITLE.encode("utf-8") in request.body and LONG_TITLE.encode("utf-8") in request.body
    sent = {op["entity_id"]: op["data"] for op in json.loads(request.body)["operations"]}
    assert sent == stored

    # Odd content is stable: publishing it again sends nothing.
    with transaction.atomic():
        studio.publish_export(tmp_path / "odd")
    assert len(backend.requests()) == 1 and SyncRun.objects.first().status == SyncRun.Status.SUCCEEDED


# A backend that misbehaves, seen through the pipeline -------------------------------------------------


@pytest.fixture
def published(studio, backend, sync_switch_on):
    """The sample course in Studio; the backend and the sync state then emptied, for the test to sync."""
    studio.publish_export(SAMPLE_COURSE)
    backend.reset()
    CourseSyncState.objects.all().delete()
    SyncRun.objects.all().delete()  # and the operation log with it
    return studio


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (Fault.html(403), "HTTP 403: <!DOCTYPE html>"),
        (Fault.fail(401), "HTTP 401: fault injection: status 401"),
        (Fault.fail(404), "HTTP 404: fault injection: status 404"),
        (Fault.fail(422), "HTTP 422: fault injection: status 422"),
        (
            Fault.redirect("http://virtu.example/course-sync/v1/batches"),
            "HTTP 307: redirect to http://virtu.example refused",
        ),
    ],
    ids=["html-403", "401", "404", "422", "redirect"],
)
def test_a_refused_batch_is_shown_to_the_operator_and_the_next_sync_heals(published, backend, caplog, fault, message):
    backend.set_faults(fault)
    caplog.set_level(logging.WARNING)

    result = api.sync_course(SAMPLE_COURSE_ID)

    assert result.status is SyncStatus.FAILED and result.failed == len(result.operations) == SAMPLE_ENTITIES
    assert len(backend.requests()) == 1  # not retried
    operations = SyncOperation.objects.all()
    assert {(op.status, op.result_code) for op in operations} == {("failed", "refused")}
    assert all(op.detail.startswith(message) for op in operations)
    run, state = SyncRun.objects.get(), CourseSyncState.objects.get()
    assert run.error.startswith(f"backend refused a batch: {message}") and state.last_error == run.error
    assert (state.status, state.failed_operations) == (CourseSyncState.Status.FAILED, SAMPLE_ENTITIES)
    assert f"backend refused a batch: {message}" in warnings_logged(caplog)

    assert api.sync_course(SAMPLE_COURSE_ID).status is SyncStatus.SYNCED
    assert_in_sync(backend)
    assert CourseSyncState.objects.get().last_error == ""


@pytest.mark.parametrize(
    ("fault", "message", "applied"),
    [
        (Fault.html(200), "HTTP 200 but not a JSON object: <!DOCTYPE html>", False),
        (Fault.invalid_json(), "HTTP 200 but not a JSON object: {", True),
        (Fault.wrong_length(), f"HTTP 200 with {SAMPLE_ENTITIES - 1} results for {SAMPLE_ENTITIES} operations", True),
        (Fault.unknown_operation_ids(), "HTTP 200 but the results do not match the operations in order", True),
    ],
    ids=["html-200", "invalid-json", "wrong-length", "unknown-ids"],
)
def test_an_unreadable_answer_is_shown_and_the_batch_is_resent_unchanged_next_time(
    published, backend, caplog, fault, message, applied
):
    backend.set_faults(fault)
    caplog.set_level(logging.WARNING)

    result = api.sync_course(SAMPLE_COURSE_ID)

    assert result.status is SyncStatus.FAILED and len(backend.requests()) == 1  # not retried now
    assert bool(backend.tree(SAMPLE_COURSE_ID)) is applied  # the backend may well have applied it
    assert set(SyncOperation.objects.values_list("status", flat=True)) == {"pending"}  # outcome unknown
    run, state = SyncRun.objects.get(), CourseSyncState.objects.get()
    assert run.error.startswith(f"the backend's answer could not be read ({message}")
    assert run.error.endswith("; the batch will be resent with the same ids") and state.last_error == run.error
    assert state.status == CourseSyncState.Status.FAILED
    assert message in warnings_logged(caplog)
    (first,) = backend.requests()

    healed = api.sync_course(SAMPLE_COURSE_ID)

    assert (healed.status, healed.resent_batches) == (SyncStatus.UNCHANGED, 1)
    resent = backend.requests()[1]
    assert resent.headers["idempotency-key"] == first.headers["idempotency-key"]
    assert json.loads(resent.body)["operations"] == json.loads(first.body)["operations"]
    assert_in_sync(backend)
    assert CourseSyncState.objects.get().last_error == ""


def test_200_with_some_failures_shows_each_one_and_the_next_sync_heals(published, backend):
    backend.set_faults(Fault.fail(503, count=3))
    assert api.sync_course(SAMPLE_COURSE_ID).status is SyncStatus.FAILED  # recorded, not acknowledged
    pending = list(SyncOperation.objects.order_by("sequence"))
    refused = [pending[5].operation_id, pending[-1].operation_id]
    backend.set_faults(Fault.fail_operations(refused))

    result = api.sync_course(SAMPLE_COURSE_ID)  # the pending batch is resent first

    assert result.status is SyncStatus.PARTIAL
    failed = {op.operation_id: op for op in SyncOperation.objects.filter(status="failed")}
    assert {(failed[op_id].result_code, failed[op_id].response_status) for op_id in refused} == {("refused", 200)}
    # What hangs off the refused create went in the same batch: the backend failed it too.
    assert {op.result_code for op_id, op in failed.items() if op_id not in refused} == {"parent_not_found"}
    assert all(op.detail for op in failed.values())
    # The same pass creates them again; what hangs below them waits for the next sync (deferred).
    assert SyncOperation.objects.filter(status="deferred").exists()
    run = SyncRun.objects.first()
    assert (run.status, run.failed) == (SyncRun.Status.PARTIAL, len(failed))
    assert run.error == ""  # answered per operation: the operation log says why, the batch was not refused
    assert CourseSyncState.objects.get().failed_operations == len(failed)

    assert api.sync_course(SAMPLE_COURSE_ID).status is SyncStatus.SYNCED
    assert_in_sync(backend)


def test_413_splits_the_batch_and_sends_the_halves(published, backend):
    backend.set_faults(Fault.fail(413))

    result = api.sync_course(SAMPLE_COURSE_ID)

    assert result.status is SyncStatus.SYNCED
    sizes = [len(json.loads(request.body)["operations"]) for request in backend.requests()]
    assert sizes == [SAMPLE_ENTITIES, SAMPLE_ENTITIES // 2, SAMPLE_ENTITIES - SAMPLE_ENTITIES // 2]
    assert len({request.headers["idempotency-key"] for request in backend.requests()}) == 3
    assert_in_sync(backend)


def test_a_backend_that_refuses_every_size_fails_single_operations_clearly(published, backend):
    backend.set_faults(Fault.fail(413, count=1000))

    result = api.sync_course(SAMPLE_COURSE_ID)

    # Halved down to single operations; children of a failed create are held back, not sent.
    assert result.status is SyncStatus.FAILED
    assert {op.result_code for op in SyncOperation.objects.filter(status="failed")} == {"batch_too_large"}
    assert "HTTP 413: batch too large" in SyncOperation.objects.filter(status="failed").first().detail
    assert len(json.loads(backend.requests()[-1].body)["operations"]) == 1
    assert SyncRun.objects.get().error.startswith("backend refused a batch: HTTP 413: batch too large")
    backend.set_faults()
    assert api.sync_course(SAMPLE_COURSE_ID).status is SyncStatus.SYNCED
    assert_in_sync(backend)


def test_a_tls_error_is_a_clear_transient_failure_and_the_next_sync_heals(published, backend, settings, caplog):
    plain_url = settings.VIRTU_SYNC_BACKEND_URL
    settings.VIRTU_SYNC_BACKEND_URL = plain_url.replace("http://", "https://")  # TLS to a plain-HTTP server
    caplog.set_level(logging.DEBUG)

    result = api.sync_course(SAMPLE_COURSE_ID)

    assert result.status is SyncStatus.FAILED
    assert result.error == "backend unreachable: request failed: SSLError (gave up after 3 attempts)"
    state = CourseSyncState.objects.get()
    assert state.last_error == result.error and SyncRun.objects.get().error == result.error
    assert set(SyncOperation.objects.values_list("status", flat=True)) == {"pending"}  # kept for the resend
    seen = result.error + caplog.text
    assert settings.VIRTU_SYNC_API_TOKEN not in seen and settings.VIRTU_SYNC_SIGNING_SECRET not in seen

    settings.VIRTU_SYNC_BACKEND_URL = plain_url
    healed = api.sync_course(SAMPLE_COURSE_ID)
    assert healed.status is SyncStatus.UNCHANGED and healed.resent_batches == 1
    assert_in_sync(backend)


def test_a_backend_that_is_not_listening_is_a_transient_failure_then_heals(published, backend, settings):
    url = settings.VIRTU_SYNC_BACKEND_URL
    settings.VIRTU_SYNC_BACKEND_URL = "http://127.0.0.1:9"  # discard: nothing listens
    result = api.sync_course(SAMPLE_COURSE_ID)
    assert result.error == "backend unreachable: request failed: ConnectionError (gave up after 3 attempts)"
    settings.VIRTU_SYNC_BACKEND_URL = url
    assert api.sync_course(SAMPLE_COURSE_ID).resent_batches == 1
    assert_in_sync(backend)


# Settings, at start-up --------------------------------------------------------------------------

BAD_SETTINGS = [
    ({"VIRTU_SYNC_BACKEND_URL": "ftp://virtu.example"}, "VIRTU_SYNC_BACKEND_URL must be an http(s) URL with a host"),
    ({"VIRTU_SYNC_BACKEND_URL": "https://"}, "VIRTU_SYNC_BACKEND_URL must be an http(s) URL with a host"),
    ({"VIRTU_SYNC_BACKEND_URL": "https://virtu.example:99999"}, "must be an http(s) URL with a host"),
    ({"VIRTU_SYNC_BACKEND_URL": ["https://virtu.example"]}, "VIRTU_SYNC_BACKEND_URL must be a string"),
    (
        {"VIRTU_SYNC_BACKEND_URL": "http://virtu.example", "VIRTU_SYNC_ALLOW_INSECURE_HTTP": False},
        "VIRTU_SYNC_BACKEND_URL uses plain http",
    ),
    ({"VIRTU_SYNC_ALLOW_INSECURE_HTTP": "yes"}, "VIRTU_SYNC_ALLOW_INSECURE_HTTP must be True or False"),
    ({"VIRTU_SYNC_API_TOKEN": ""}, "VIRTU_SYNC_API_TOKEN is empty although VIRTU_SYNC_BACKEND_URL is set"),
    ({"VIRTU_SYNC_API_TOKEN": None}, "VIRTU_SYNC_API_TOKEN must be a string"),
    ({"VIRTU_SYNC_SIGNING_SECRET": 12345}, "VIRTU_SYNC_SIGNING_SECRET must be a string"),
    ({"VIRTU_SYNC_BATCH_SIZE": 0}, "VIRTU_SYNC_BATCH_SIZE must be a whole number from 1 to 1000"),
    ({"VIRTU_SYNC_BATCH_SIZE": "200"}, "VIRTU_SYNC_BATCH_SIZE must be a whole number"),
    ({"VIRTU_SYNC_BATCH_SIZE": 1001}, "VIRTU_SYNC_BATCH_SIZE must be a whole number"),
    ({"VIRTU_SYNC_TIMEOUT": "slow"}, "VIRTU_SYNC_TIMEOUT must be a positive number of seconds"),
    ({"VIRTU_SYNC_TIMEOUT": (5, 0)}, "VIRTU_SYNC_TIMEOUT must be a positive number"),
    ({"VIRTU_SYNC_TIMEOUT": float("inf")}, "VIRTU_SYNC_TIMEOUT must be a positive number"),
    ({"VIRTU_SYNC_ASSESSMENT_BLOCK_TYPES": "problem"}, "VIRTU_SYNC_ASSESSMENT_BLOCK_TYPES must be a list"),
    ({"VIRTU_SYNC_ASSESSMENT_BLOCK_TYPES": ["problem", ""]}, "VIRTU_SYNC_ASSESSMENT_BLOCK_TYPES must be a list"),
]


def test_the_check_command_passes_with_good_settings(settings):
    call_command("check")
    assert [message for message in run_checks() if message.id.startswith("virtu_sync")] == []


@pytest.mark.parametrize(("overrides", "message"), BAD_SETTINGS)
def test_bad_settings_fail_the_system_check_at_start_up_with_the_reason(settings, overrides, message):
    for name, value in overrides.items():
        setattr(settings, name, value)

    with pytest.raises(SystemCheckError) as raised:
        call_command("check")

    text = str(raised.value)
    assert "virtu_sync.E001" in text and message in text
    assert "See the Configuration section of the virtu-sync-plugin README." in text
    assert "test-api-token" not in text and "test-signing-secret" not in text and "12345" not in text


def test_a_url_with_credentials_is_never_quoted_by_the_check(settings):
    settings.VIRTU_SYNC_BACKEND_URL = "ftp://admin:hunter2-password@virtu.example"
    with pytest.raises(SystemCheckError) as raised:
        call_command("check")
    assert "hunter2-password" not in str(raised.value)


@pytest.mark.parametrize(("overrides", "message"), BAD_SETTINGS[:1] + BAD_SETTINGS[9:10] + BAD_SETTINGS[15:16])
def test_bad_settings_that_slip_past_start_up_fail_each_sync_clearly_not_with_a_crash(
    studio, backend, sync_switch_on, settings, caplog, overrides, message
):
    for name, value in overrides.items():
        setattr(settings, name, value)
    caplog.set_level(logging.WARNING)

    with transaction.atomic():
        studio.publish_export(SAMPLE_COURSE)  # Studio's publish goes through

    run = SyncRun.objects.get()
    assert run.status == SyncRun.Status.FAILED and message in run.error
    assert CourseSyncState.objects.get().last_error == run.error
    assert message in warnings_logged(caplog)
    assert backend.requests() == []
