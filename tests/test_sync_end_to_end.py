"""
End to end through real HTTP: Studio publishes (stand-in modulestore, real signal), the
receiver queues the task, the pipeline syncs to the reference backend on 127.0.0.1.
"""

from __future__ import annotations

import json

import pytest
from django.db import transaction

from demo.export_editor import ExportEditor, edit_sample_course
from tests.conftest import DEMO_COURSE_ID, SAMPLE_COURSE, SAMPLE_COURSE_ID, require_demo_course
from tests.support.openapi import validate_request
from virtu_sync_plugin import api
from virtu_sync_plugin.data import SyncStatus
from virtu_sync_plugin.models import CourseSyncState, SyncOperation, SyncRun

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.mysql]


def block(block_type: str, url_name: str, course_id: str = SAMPLE_COURSE_ID) -> str:
    return f"block-v1:{course_id.partition(':')[2]}+type@{block_type}+block@{url_name}"


def publish(studio, export_path, course_key=None):
    """Publish as Studio does: inside the request's transaction; tasks are queued on commit."""
    with transaction.atomic():
        return studio.publish_export(export_path, course_key=course_key)


def sent_operations(backend, since: int = 0) -> list[dict]:
    operations = []
    for request in backend.requests()[since:]:
        validate_request(request.method, request.path, request.headers, request.body)
        operations.extend(json.loads(request.body)["operations"])
    return operations


def assert_backend_equals_outline(backend, course_id):
    outline = api.build_outline(course_id)
    assert backend.tree(course_id) == outline.tree()
    return outline


def test_publish_syncs_the_sample_course_and_an_edited_republish_sends_only_the_changes(
    studio, backend, sync_switch_on, tmp_path
):
    publish(studio, SAMPLE_COURSE)
    outline = assert_backend_equals_outline(backend, SAMPLE_COURSE_ID)
    first = sent_operations(backend)
    assert len(first) == len(outline) and {op["operation"] for op in first} == {"create"}
    state = CourseSyncState.objects.get(course_key=SAMPLE_COURSE_ID)
    assert state.status == CourseSyncState.Status.IN_SYNC and state.entity_count == len(outline)

    editor = ExportEditor(SAMPLE_COURSE, tmp_path)
    edit_sample_course(editor)
    before = len(backend.requests())
    publish(studio, editor.path)

    assert_backend_equals_outline(backend, SAMPLE_COURSE_ID)
    changes = {(op["operation"], op["entity_id"]): op for op in sent_operations(backend, before)}
    assert set(changes) == {
        ("update", block("sequential", "numbers_intro")),
        ("update", block("sequential", "algebra_expressions")),  # moved to geometry, first
        ("update", block("sequential", "algebra_homework")),  # now first in algebra
        ("update", block("sequential", "algebra_staff")),  # now second in algebra
        ("update", block("sequential", "geometry_shapes")),  # now second in geometry
        ("update", block("sequential", "geometry_exam")),  # now third in geometry
        ("update", block("vertical", "hw_ordering")),
        ("update", block("vertical", "hw_fractions")),
        ("delete", block("vertical", "eq_reflection")),
        ("create", block("problem", "expr_new")),
    }
    assert changes[("update", block("sequential", "numbers_intro"))]["data"] == {"title": "Why Numbers Really Matter"}
    move = changes[("update", block("sequential", "algebra_expressions"))]
    # Under geometry it inherits geometry's later start.
    assert (move["parent_id"], move["position"], move["data"]) == (
        block("chapter", "geometry"),
        0,
        {"start": "2026-11-02T08:00:00Z"},
    )
    assert set(backend.effects().values()) == {1}


def test_republishing_an_unchanged_course_sends_nothing(studio, backend, sync_switch_on):
    publish(studio, SAMPLE_COURSE)
    requests = len(backend.requests())
    publish(studio, SAMPLE_COURSE)
    assert len(backend.requests()) == requests
    assert SyncRun.objects.first().status == SyncRun.Status.SUCCEEDED


def test_the_real_demo_course_reaches_the_backend_whole(studio, backend, sync_switch_on):
    publish(studio, require_demo_course())
    outline = assert_backend_equals_outline(backend, DEMO_COURSE_ID)
    # 29 problems (6 inside a library_content), 2 lti, 2 openassessment, drag-and-drop-v2,
    # edx_sga and staffgradedxblock.
    assert outline.counts() == {"course": 1, "topic": 6, "subtopic": 17, "unit": 58, "assessment": 36}
    sent = b"".join(request.body for request in backend.requests())
    assert b"codeboard_secret_1234" not in sent and b"lti_passports" not in sent


def test_course_deleted_in_studio_is_one_delete_and_the_snapshot_goes(studio, backend, sync_switch_on):
    course_key = publish(studio, SAMPLE_COURSE)
    before = len(backend.requests())
    with transaction.atomic():
        studio.delete_course(course_key.replace(branch="draft-branch"), user_id=-1)
    assert sent_operations(backend, before) == [
        {
            "operation_id": sent_operations(backend, before)[0]["operation_id"],
            "operation": "delete",
            "entity_type": "course",
            "entity_id": SAMPLE_COURSE_ID,
        }
    ]
    assert backend.tree(SAMPLE_COURSE_ID) == {}
    state = CourseSyncState.objects.get(course_key=SAMPLE_COURSE_ID)
    assert (state.status, state.snapshot, state.deletion_requested) == (CourseSyncState.Status.DELETED, "", False)


def test_switch_off_means_no_request_at_all(studio, backend, db):
    publish(studio, SAMPLE_COURSE)
    assert backend.requests() == []
    assert not SyncRun.objects.exists()


def test_dry_run_returns_the_operations_and_changes_nothing(studio, backend, sync_switch_on):
    studio.publish_export(SAMPLE_COURSE)  # outside a transaction... the task ran: now in sync
    preview = api.sync_course(SAMPLE_COURSE_ID, dry_run=True)
    assert preview.status is SyncStatus.DRY_RUN and preview.operations == ()
    forced = api.sync_course(SAMPLE_COURSE_ID, dry_run=True, force=True)
    assert forced.counts() == {"create": len(api.build_outline(SAMPLE_COURSE_ID)), "update": 0, "delete": 0}
    assert SyncRun.objects.count() == 1 and len(backend.requests()) == 1


def test_a_forced_sync_upserts_everything_again(studio, backend, sync_switch_on):
    publish(studio, SAMPLE_COURSE)
    backend.reset()
    result = api.sync_course(SAMPLE_COURSE_ID, force=True)
    assert result.status is SyncStatus.SYNCED
    assert_backend_equals_outline(backend, SAMPLE_COURSE_ID)


def test_a_course_missing_from_the_modulestore_is_reported_and_left_as_it_is(studio, backend, sync_switch_on):
    result = api.sync_course("course-v1:VirtuX+NOPE+2026")
    assert result.status is SyncStatus.COURSE_NOT_FOUND
    assert "not in the modulestore" in result.error
    assert backend.requests() == []
    assert SyncRun.objects.get().status == SyncRun.Status.FAILED


def test_operations_are_recorded_with_their_results(studio, backend, sync_switch_on):
    publish(studio, SAMPLE_COURSE)
    operations = SyncOperation.objects.all()
    assert {op.status for op in operations} == {SyncOperation.Status.APPLIED}
    assert {op.attempts for op in operations} == {1}
    assert len({op.batch_id for op in operations}) == 1
    run = SyncRun.objects.get()
    assert (run.trigger, run.creates, run.applied, run.failed) == ("publish", len(operations), len(operations), 0)
