"""
Failures on the way to the backend: nothing lost, nothing applied twice, nothing cascades.

Real pipeline, real database, real reference backend on 127.0.0.1 with its fault mode.
"""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from demo.export_editor import ExportEditor
from reference_backend.faults import Fault
from reference_backend.server import ReferenceBackend
from tests.conftest import SAMPLE_COURSE, SAMPLE_COURSE_ID
from virtu_sync_plugin import api
from virtu_sync_plugin.backend_client import sign
from virtu_sync_plugin.data import SyncStatus
from virtu_sync_plugin.models import CourseSyncState, SyncOperation, SyncRun

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.mysql]


def block(block_type, url_name):
    return f"block-v1:VirtuX+MATH101+2026+type@{block_type}+block@{url_name}"


def batch_ids(backend):
    return [request.headers["idempotency-key"] for request in backend.requests() if request.method == "POST"]


def assert_in_sync(backend):
    assert backend.tree(SAMPLE_COURSE_ID) == api.build_outline(SAMPLE_COURSE_ID).tree()
    assert max(backend.effects().values()) == 1, "an operation took effect twice"


def send_directly(backend, settings, operations):
    """Change the backend behind the plugin's back (a restore, a hand edit): drift."""
    body = json.dumps(
        {
            "schema_version": 1,
            "batch_id": str(uuid.uuid4()),
            "course_id": SAMPLE_COURSE_ID,
            "sent_at": "2026-11-25T00:00:00Z",
            "source": {"studio": "https://studio.virtu.test", "published_at": "2026-11-25T00:00:00Z"},
            "operations": [{"operation_id": str(uuid.uuid4()), **operation} for operation in operations],
        }
    ).encode()
    headers = {
        "Authorization": f"Bearer {settings.VIRTU_SYNC_API_TOKEN}",
        "Content-Type": "application/json; charset=utf-8",
        "Idempotency-Key": json.loads(body)["batch_id"],
        "X-Virtu-Signature": sign(settings.VIRTU_SYNC_SIGNING_SECRET, body),
    }
    response = requests.post(f"{backend.url}/course-sync/v1/batches", data=body, headers=headers, timeout=5)
    assert {result["status"] for result in response.json()["results"]} == {"applied"}


@pytest.fixture
def published(studio, backend, sync_switch_on):
    """The sample course in Studio (the publish's own sync is the test's business)."""
    studio.publish_export(SAMPLE_COURSE)
    return studio


def test_a_backend_down_leaves_the_batch_recorded_and_the_next_sync_resends_it_unchanged(published, backend):
    backend.reset()
    CourseSyncState.objects.all().delete()
    backend.set_faults(Fault.fail(503, count=3))
    result = api.sync_course(SAMPLE_COURSE_ID)
    assert result.status is SyncStatus.FAILED and "backend unreachable" in result.error
    state = CourseSyncState.objects.get()
    assert (state.status, state.snapshot) == (CourseSyncState.Status.FAILED, "")
    pending = list(SyncOperation.objects.filter(status=SyncOperation.Status.PENDING).order_by("sequence"))
    assert len(pending) == len(api.build_outline(SAMPLE_COURSE_ID))

    again = api.sync_course(SAMPLE_COURSE_ID)
    assert again.status is SyncStatus.UNCHANGED and again.resent_batches == 1
    assert set(batch_ids(backend)) == {pending[0].batch_id}
    sent = json.loads(backend.requests()[-1].body)["operations"]
    assert [op["operation_id"] for op in sent] == [op.operation_id for op in pending]
    assert_in_sync(backend)
    assert CourseSyncState.objects.get().status == CourseSyncState.Status.IN_SYNC


def test_an_answer_lost_after_the_backend_applied_the_batch_takes_effect_once(published, backend):
    backend.reset()
    CourseSyncState.objects.all().delete()
    backend.set_faults(Fault.drop_after_apply(count=3))
    assert api.sync_course(SAMPLE_COURSE_ID).status is SyncStatus.FAILED
    assert backend.tree(SAMPLE_COURSE_ID)  # applied, but the plugin never heard

    assert api.sync_course(SAMPLE_COURSE_ID).resent_batches == 1
    assert len(set(batch_ids(backend))) == 1
    assert_in_sync(backend)


@pytest.mark.parametrize("fault", [Fault.html(200), Fault.wrong_length(), Fault.invalid_json()])
def test_an_unreadable_answer_leaves_the_batch_unacknowledged_and_the_next_sync_resends_it(published, backend, fault):
    backend.reset()
    CourseSyncState.objects.all().delete()
    backend.set_faults(fault)
    result = api.sync_course(SAMPLE_COURSE_ID)
    assert result.status is SyncStatus.FAILED and "could not be read" in result.error
    assert len(backend.requests()) == 1  # not retried now
    assert SyncOperation.objects.filter(status=SyncOperation.Status.PENDING).count() == len(result.operations)

    assert api.sync_course(SAMPLE_COURSE_ID).resent_batches == 1
    assert len(set(batch_ids(backend))) == 1
    assert_in_sync(backend)


def test_a_change_undone_while_its_answer_was_unreadable_is_still_undone_on_the_backend(
    published, backend, tmp_path, studio
):
    editor = ExportEditor(SAMPLE_COURSE, tmp_path)
    editor.set_attribute("sequential", "numbers_intro", "graded", "true")
    backend.set_faults(Fault.wrong_length())  # applied, but the answer is garbled
    studio.publish_export(editor.path)
    editor.set_attribute("sequential", "numbers_intro", "graded", "false")
    studio.publish_export(editor.path)  # back to what the snapshot still says
    assert_in_sync(backend)
    assert backend.tree(SAMPLE_COURSE_ID)[block("sequential", "numbers_intro")]["data"]["graded"] is False


def test_a_batch_too_large_is_split_and_resent(published, settings, studio):
    with ReferenceBackend(
        token=settings.VIRTU_SYNC_API_TOKEN, secret=settings.VIRTU_SYNC_SIGNING_SECRET, max_operations=7
    ) as small_backend:
        settings.VIRTU_SYNC_BACKEND_URL = small_backend.url
        settings.VIRTU_SYNC_ALLOW_INSECURE_HTTP = True
        result = api.sync_course(SAMPLE_COURSE_ID, force=True)
        assert result.status is SyncStatus.SYNCED
        first_request = json.loads(small_backend.requests()[0].body)
        assert len(first_request["operations"]) == len(result.operations) > 7
        assert small_backend.tree(SAMPLE_COURSE_ID) == api.build_outline(SAMPLE_COURSE_ID).tree()
    operations = SyncOperation.objects.filter(run=SyncRun.objects.first())
    sizes = {}
    for operation in operations:
        sizes[operation.batch_id] = sizes.get(operation.batch_id, 0) + 1
    assert max(sizes.values()) <= 7 and first_request["batch_id"] not in sizes
    assert {operation.status for operation in operations} == {"applied"}


def test_a_parent_missing_on_the_backend_fails_its_child_defers_the_rest_and_heals_next_time(
    published, backend, settings, tmp_path, studio
):
    send_directly(
        backend, settings, [{"operation": "delete", "entity_type": "topic", "entity_id": block("chapter", "geometry")}]
    )
    editor = ExportEditor(SAMPLE_COURSE, tmp_path)
    editor.add_child(
        "chapter",
        "geometry",
        '<sequential url_name="new_seq" display_name="New"><vertical url_name="new_unit" display_name="U">'
        '<problem url_name="new_problem" display_name="P"/></vertical></sequential>',
    )
    editor.rename("chapter", "numbers", "Numbers, renamed")
    studio.publish_export(editor.path)

    run = SyncRun.objects.first()
    by_entity = {op.entity_id: op for op in SyncOperation.objects.filter(run=run)}
    assert by_entity[block("sequential", "new_seq")].result_code == "parent_not_found"
    assert by_entity[block("vertical", "new_unit")].status in ("failed", "deferred")
    assert by_entity[block("chapter", "numbers")].status == "applied"  # unrelated: went ahead
    assert run.status == SyncRun.Status.PARTIAL
    assert CourseSyncState.objects.get().status == CourseSyncState.Status.FAILED

    result = api.sync_course(SAMPLE_COURSE_ID)  # the snapshot forgot geometry: it is re-created
    assert result.status is SyncStatus.SYNCED
    assert_in_sync(backend)


def test_an_update_of_an_entity_the_backend_lost_recreates_it_next_time(published, backend, settings, tmp_path, studio):
    send_directly(
        backend,
        settings,
        [{"operation": "delete", "entity_type": "subtopic", "entity_id": block("sequential", "numbers_intro")}],
    )
    editor = ExportEditor(SAMPLE_COURSE, tmp_path)
    editor.rename("sequential", "numbers_intro", "Renamed")
    studio.publish_export(editor.path)
    update = SyncOperation.objects.get(run=SyncRun.objects.first(), entity_id=block("sequential", "numbers_intro"))
    assert (update.status, update.result_code) == ("failed", "not_found")

    assert api.sync_course(SAMPLE_COURSE_ID).counts()["create"] >= 3  # the subtopic and what hangs off it
    assert_in_sync(backend)


def test_a_publish_while_the_backend_is_down_is_not_lost(published, backend, tmp_path, studio):
    backend.set_faults(Fault.fail(500, count=3))
    editor = ExportEditor(SAMPLE_COURSE, tmp_path)
    editor.rename("chapter", "algebra", "Algebra, renamed")
    studio.publish_export(editor.path)
    assert CourseSyncState.objects.get().status == CourseSyncState.Status.FAILED

    editor.rename("chapter", "geometry", "Geometry, renamed")
    studio.publish_export(editor.path)  # backend back: the pending rename goes first, then this one
    assert_in_sync(backend)
    assert CourseSyncState.objects.get().status == CourseSyncState.Status.IN_SYNC


def test_an_unreadable_snapshot_is_reported_and_everything_is_upserted(published, backend):
    CourseSyncState.objects.update(snapshot='{"format": "something else"}')
    result = api.sync_course(SAMPLE_COURSE_ID)
    assert result.status is SyncStatus.SYNCED
    assert "stored snapshot unreadable" in SyncRun.objects.first().error
    assert_in_sync(backend)


def test_invalid_settings_are_a_clear_failure_not_a_crash(published, settings):
    settings.VIRTU_SYNC_BACKEND_URL = "ftp://virtu.example"
    result = api.sync_course(SAMPLE_COURSE_ID)
    assert result.status is SyncStatus.FAILED
    assert "VIRTU_SYNC_BACKEND_URL must be an http(s) URL" in result.error
    assert CourseSyncState.objects.get().last_error == result.error


def test_a_deletion_the_backend_could_not_take_is_visible_and_sent_on_retry(published, backend):
    course_key = CourseSyncState.objects.get().course_key
    backend.set_faults(Fault.fail(503, count=3))
    published.delete_course(course_key, user_id=-1)
    state = CourseSyncState.objects.get()
    assert (state.status, state.deletion_requested) == (CourseSyncState.Status.FAILED, True)
    assert backend.tree(SAMPLE_COURSE_ID)

    assert api.delete_course(SAMPLE_COURSE_ID).status is SyncStatus.DELETED
    assert backend.tree(SAMPLE_COURSE_ID) == {}
    assert CourseSyncState.objects.get().status == CourseSyncState.Status.DELETED


def test_a_course_back_in_studio_before_its_deletion_was_sent_is_kept(published, backend):
    course_key = CourseSyncState.objects.get().course_key
    backend.set_faults(Fault.fail(503, count=3))
    published.delete_course(course_key, user_id=-1)
    published.publish_export(SAMPLE_COURSE)  # re-created under the same key
    assert_in_sync(backend)
    assert CourseSyncState.objects.get().deletion_requested is False


def test_a_full_resync_abandons_batches_whose_outcome_is_unknown(published, backend):
    backend.reset()
    CourseSyncState.objects.all().delete()
    backend.set_faults(Fault.invalid_json(count=10))  # a backend that garbles every answer
    api.sync_course(SAMPLE_COURSE_ID)
    assert api.sync_course(SAMPLE_COURSE_ID).status is SyncStatus.FAILED  # resent, still garbled
    backend.set_faults()
    result = api.sync_course(SAMPLE_COURSE_ID, force=True)
    assert result.status is SyncStatus.SYNCED and result.resent_batches == 0
    assert SyncOperation.objects.filter(detail__startswith="abandoned").exists()
    assert_in_sync(backend)


def test_a_refusal_of_a_resent_batch_proves_nothing_and_the_batch_stays_recorded(published, backend):
    backend.reset()
    CourseSyncState.objects.all().delete()
    backend.set_faults(Fault.drop_after_apply(count=3))
    api.sync_course(SAMPLE_COURSE_ID)  # applied by the backend, never answered
    backend.set_faults(Fault.fail(422))
    result = api.sync_course(SAMPLE_COURSE_ID)
    assert result.status is SyncStatus.FAILED and "may already have applied" in result.error
    assert SyncOperation.objects.filter(status=SyncOperation.Status.FAILED).count() == 0
    assert api.sync_course(SAMPLE_COURSE_ID).resent_batches == 1  # answered from the stored results
    assert_in_sync(backend)


def test_a_full_resync_deletes_what_abandoned_operations_may_have_created(published, backend, tmp_path, studio):
    editor = ExportEditor(SAMPLE_COURSE, tmp_path)
    editor.add_child("chapter", "numbers", '<sequential url_name="extra" display_name="Extra"/>')
    backend.set_faults(Fault.drop_after_apply(count=3))
    studio.publish_export(editor.path)  # the backend created "extra"; the plugin never heard
    assert block("sequential", "extra") in backend.tree(SAMPLE_COURSE_ID)
    backend.set_faults(Fault.invalid_json(count=10))  # every answer garbled: the create stays unacknowledged
    studio.publish_export(SAMPLE_COURSE)  # "extra" is gone in Studio
    backend.set_faults()
    assert api.sync_course(SAMPLE_COURSE_ID, force=True).status is SyncStatus.SYNCED
    assert_in_sync(backend)
