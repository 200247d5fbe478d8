"""
The Django admin, through the test client: read-only pages for staff, and the sync
actions, which need the ``run_sync`` permission and reach the reference backend over HTTP.
"""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from edx_django_utils.cache import RequestCache
from opaque_keys.edx.keys import CourseKey
from xmodule.modulestore.django import SignalHandler

from demo.export_editor import ExportEditor
from reference_backend.faults import Fault
from tests.conftest import SAMPLE_COURSE, SAMPLE_COURSE_ID
from virtu_sync_plugin import api
from virtu_sync_plugin.models import CourseSyncState, SyncOperation, SyncRun, SyncScope

pytestmark = pytest.mark.django_db(transaction=True)

OTHER_COURSE_ID = "course-v1:OtherU+MATH101+2026"
CHANGELIST = "admin:virtu_sync_plugin_coursesyncstate_changelist"
VIEW_PERMISSIONS = ("view_coursesyncstate", "view_syncrun", "view_syncoperation")


def staff_user(username: str, *codenames: str, is_staff: bool = True) -> User:
    user = User.objects.create_user(username, password="password", is_staff=is_staff)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="virtu_sync_plugin", codename__in=codenames)
    )
    return user


@pytest.fixture
def operator(client) -> User:
    user = staff_user("operator", *VIEW_PERMISSIONS, "run_sync")
    client.force_login(user)
    return user


@pytest.fixture
def synced_courses(studio, backend, sync_switch_on):
    """The sample course published under two orgs and synced to the backend."""
    studio.publish_export(SAMPLE_COURSE)
    studio.publish_export(SAMPLE_COURSE, course_key=CourseKey.from_string(OTHER_COURSE_ID))
    assert set(CourseSyncState.objects.values_list("status", flat=True)) == {CourseSyncState.Status.IN_SYNC}
    return CourseSyncState.objects.get(course_key=SAMPLE_COURSE_ID), CourseSyncState.objects.get(
        course_key=OTHER_COURSE_ID
    )


def run_action(client, action: str, *states: CourseSyncState):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [state.pk for state in states], "index": 0, "select_across": 0},
    )


def admin_log(state: CourseSyncState) -> list[str]:
    entries = LogEntry.objects.filter(object_id=str(state.pk), action_flag=CHANGE).order_by("action_time")
    return [entry.get_change_message() for entry in entries]


def course_rows(response) -> set[str]:
    """The course keys listed on a changelist page."""
    return set(re.findall(r"course-v1:[\w.-]+\+[\w.-]+\+[\w.-]+", response.content.decode()))


# Pages ------------------------------------------------------------------------------------------


def test_the_course_list_shows_each_course_s_state_and_never_the_snapshot(client, operator, synced_courses):
    state, _ = synced_courses
    page = client.get(reverse(CHANGELIST))

    assert page.status_code == 200
    html = page.content.decode()
    assert course_rows(page) == {SAMPLE_COURSE_ID, OTHER_COURSE_ID}
    assert "In sync" in html and str(state.entity_count) in html
    assert "virtu-sync-snapshot" not in html  # the stored snapshot's format marker
    runs = reverse("admin:virtu_sync_plugin_syncrun_changelist")
    operations = reverse("admin:virtu_sync_plugin_syncoperation_changelist")
    assert f'href="{runs}?course_key=course-v1%3AVirtuX%2BMATH101%2B2026"' in html
    assert f'href="{operations}?course_key=course-v1%3AVirtuX%2BMATH101%2B2026"' in html


def test_the_course_list_filters_by_status_and_org_and_searches_by_key(client, operator, synced_courses):
    CourseSyncState.objects.filter(course_key=OTHER_COURSE_ID).update(status=CourseSyncState.Status.FAILED)
    changelist = reverse(CHANGELIST)

    assert course_rows(client.get(changelist, {"status": "failed"})) == {OTHER_COURSE_ID}
    assert course_rows(client.get(changelist, {"status": "in_sync"})) == {SAMPLE_COURSE_ID}
    by_org = client.get(changelist, {"org": "OtherU"})
    assert course_rows(by_org) == {OTHER_COURSE_ID}
    assert "?org=VirtuX" in by_org.content.decode()  # both orgs are offered
    assert course_rows(client.get(changelist, {"q": "VirtuX"})) == {SAMPLE_COURSE_ID}


def test_a_course_out_of_scope_is_shown_disabled(client, operator, synced_courses):
    SyncScope.objects.create(enabled=True, excluded_course_keys=OTHER_COURSE_ID)

    html = client.get(reverse(CHANGELIST)).content.decode()

    assert html.count("Disabled (In sync)") == 1
    row = html[html.index(OTHER_COURSE_ID) :]
    assert row.index("Disabled (In sync)") < row.index("</tr>")


def test_the_course_page_shows_the_snapshot_s_size_not_its_content(client, operator, synced_courses):
    state, _ = synced_courses
    page = client.get(reverse("admin:virtu_sync_plugin_coursesyncstate_change", args=[state.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    stored = CourseSyncState.objects.get(pk=state.pk).snapshot
    assert f"{len(stored)} characters, {state.entity_count} entities" in html
    assert "virtu-sync-snapshot" not in html
    assert 'name="_save"' not in html  # read-only: nothing to save


def test_runs_and_operations_of_one_course_are_listed_from_its_links(client, operator, synced_courses):
    runs = client.get(reverse("admin:virtu_sync_plugin_syncrun_changelist"), {"course_key": OTHER_COURSE_ID})
    operations = client.get(
        reverse("admin:virtu_sync_plugin_syncoperation_changelist"), {"course_key": OTHER_COURSE_ID}
    )

    assert runs.status_code == operations.status_code == 200
    assert course_rows(runs) == course_rows(operations) == {OTHER_COURSE_ID}
    entity_count = CourseSyncState.objects.get(course_key=OTHER_COURSE_ID).entity_count
    assert f"{entity_count} sync operations" in operations.content.decode()  # the result count
    run = SyncRun.objects.get(course_key=OTHER_COURSE_ID)
    assert client.get(reverse("admin:virtu_sync_plugin_syncrun_change", args=[run.pk])).status_code == 200


def test_the_operation_log_filters_and_searches(client, operator, synced_courses):
    changelist = reverse("admin:virtu_sync_plugin_syncoperation_changelist")
    operation = SyncOperation.objects.filter(course_key=SAMPLE_COURSE_ID, entity_type="topic").first()

    for filters in ({"operation": "create"}, {"entity_type": "topic"}, {"status": "applied"}):
        assert client.get(changelist, filters).status_code == 200
    topics = client.get(changelist, {"entity_type": "topic", "course_key": SAMPLE_COURSE_ID}).content.decode()
    assert operation.entity_id in topics and "type@vertical" not in topics
    by_entity = client.get(changelist, {"q": operation.entity_id}).content.decode()
    assert by_entity.count(operation.entity_id) >= 1 and "type@vertical" not in by_entity
    by_batch = client.get(changelist, {"q": operation.batch_id})
    assert course_rows(by_batch) == {SAMPLE_COURSE_ID}
    assert course_rows(client.get(changelist, {"q": "OtherU"})) == {OTHER_COURSE_ID}


def test_an_operation_page_shows_the_payload_and_the_backend_s_answer(
    client, operator, studio, backend, synced_courses, tmp_path
):
    editor = ExportEditor(SAMPLE_COURSE, tmp_path)
    editor.rename("chapter", "algebra", "Algebra, refused")
    backend.set_faults(Fault.fail(422))
    studio.publish_export(editor.path)
    refused = SyncOperation.objects.get(status=SyncOperation.Status.FAILED)

    html = client.get(reverse("admin:virtu_sync_plugin_syncoperation_change", args=[refused.pk])).content.decode()

    assert "Algebra, refused" in html and refused.entity_id in html  # the payload as sent
    assert (refused.response_status, refused.result_code) == (422, "refused")
    assert '<div class="readonly">422</div>' in html and '<div class="readonly">refused</div>' in html
    assert "fault injection: status 422" in html  # the backend's detail
    listed = client.get(reverse("admin:virtu_sync_plugin_syncoperation_changelist"), {"status": "failed"})
    assert refused.entity_id in listed.content.decode()


def test_the_pipeline_s_rows_cannot_be_added_changed_or_deleted(client, operator, synced_courses):
    state, _ = synced_courses
    operation = SyncOperation.objects.first()
    for model, pk in (
        ("coursesyncstate", state.pk),
        ("syncrun", SyncRun.objects.first().pk),
        ("syncoperation", operation.pk),
    ):
        assert client.get(reverse(f"admin:virtu_sync_plugin_{model}_add")).status_code == 403
        assert client.post(reverse(f"admin:virtu_sync_plugin_{model}_change", args=[pk]), {}).status_code == 403
        assert (
            client.post(reverse(f"admin:virtu_sync_plugin_{model}_delete", args=[pk]), {"post": "yes"}).status_code
            == 403
        )
    run_action(client, "delete_selected", state)  # not an action here: "No action selected"
    assert CourseSyncState.objects.filter(pk=state.pk).exists()


# Actions ----------------------------------------------------------------------------------------


def test_sync_now_queues_a_sync_that_reaches_the_backend(
    client, operator, studio, backend, synced_courses, tmp_path, django_capture_on_commit_callbacks
):
    state, other = synced_courses
    editor = ExportEditor(SAMPLE_COURSE, tmp_path)
    editor.rename("chapter", "algebra", "Algebra, published while the signal was lost")
    with SignalHandler.course_published.for_state(is_enabled=False):
        studio.publish_export(editor.path)
    before = len(backend.requests())

    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(client, "sync_now", state, other)

    assert response.status_code == 302
    sent = [op for request in backend.requests()[before:] for op in json.loads(request.body)["operations"]]
    assert [(op["operation"], op["data"]) for op in sent] == [
        ("update", {"title": "Algebra, published while the signal was lost"})
    ]
    assert backend.tree(SAMPLE_COURSE_ID) == api.build_outline(SAMPLE_COURSE_ID).tree()
    assert SyncRun.objects.filter(trigger=api.TRIGGER_ADMIN).count() == 2  # the other course: unchanged
    assert admin_log(state) == admin_log(other) == ["Virtu sync queued"]


def test_full_resync_sends_every_entity_again(
    client, operator, backend, synced_courses, django_capture_on_commit_callbacks
):
    state, _ = synced_courses
    backend.reset()  # a backend restored from an empty backup

    with django_capture_on_commit_callbacks(execute=True):
        run_action(client, "full_resync", state)

    assert backend.tree(SAMPLE_COURSE_ID) == api.build_outline(SAMPLE_COURSE_ID).tree()
    run = SyncRun.objects.filter(trigger=api.TRIGGER_ADMIN).get()
    assert run.forced and run.creates == state.entity_count
    assert admin_log(state) == ["Virtu full resync queued"]


def test_dry_run_lists_the_operations_per_course_and_sends_nothing(
    client, operator, studio, backend, synced_courses, tmp_path
):
    state, other = synced_courses
    editor = ExportEditor(SAMPLE_COURSE, tmp_path)
    editor.rename("chapter", "algebra", "Algebra, not yet sent")
    editor.delete("vertical", "eq_reflection")
    with SignalHandler.course_published.for_state(is_enabled=False):
        studio.publish_export(editor.path)
    requests_before, runs_before = len(backend.requests()), SyncRun.objects.count()

    page = run_action(client, "dry_run", state, other)

    assert page.status_code == 200
    html = page.content.decode()
    assert "0 create, 1 update, 1 delete" in html and "0 create, 0 update, 0 delete" in html
    assert "block-v1:VirtuX+MATH101+2026+type@chapter+block@algebra" in html
    assert "block-v1:VirtuX+MATH101+2026+type@vertical+block@eq_reflection" in html
    assert len(backend.requests()) == requests_before and SyncRun.objects.count() == runs_before
    assert admin_log(state) == ["Virtu sync dry run: dry_run, 2 operations"]
    assert admin_log(other) == ["Virtu sync dry run: dry_run, 0 operations"]


def test_staff_without_the_permission_are_not_offered_the_actions_and_cannot_post_them(
    client, backend, synced_courses, django_capture_on_commit_callbacks
):
    state, _ = synced_courses
    client.force_login(staff_user("viewer", *VIEW_PERMISSIONS))
    before = len(backend.requests())

    page = client.get(reverse(CHANGELIST))
    with django_capture_on_commit_callbacks(execute=True):
        for action in ("sync_now", "full_resync", "dry_run"):
            assert run_action(client, action, state).status_code == 200  # the list again, "No action selected"

    assert page.status_code == 200 and 'value="sync_now"' not in page.content.decode()
    assert len(backend.requests()) == before
    assert not SyncRun.objects.filter(trigger=api.TRIGGER_ADMIN).exists()
    assert admin_log(state) == []


def test_the_actions_are_offered_to_staff_with_the_permission(client, operator, synced_courses):
    html = client.get(reverse(CHANGELIST)).content.decode()
    assert all(f'value="{action}"' in html for action in ("sync_now", "full_resync", "dry_run"))


def test_non_staff_are_sent_to_the_login_page_even_with_the_permissions(client, backend, synced_courses):
    state, _ = synced_courses
    client.force_login(staff_user("learner", *VIEW_PERMISSIONS, "run_sync", is_staff=False))
    before = len(backend.requests())

    assert client.get(reverse(CHANGELIST)).status_code == 302
    response = run_action(client, "sync_now", state)

    assert response.status_code == 302 and "/login/" in response["Location"]
    assert len(backend.requests()) == before and admin_log(state) == []


def test_an_action_without_the_csrf_token_is_refused(backend, operator, synced_courses):
    state, _ = synced_courses
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(operator)
    before = len(backend.requests())

    assert run_action(strict, "full_resync", state).status_code == 403
    assert len(backend.requests()) == before and admin_log(state) == []


def test_with_the_switch_off_an_action_makes_no_request_at_all(
    client, operator, backend, synced_courses, sync_switch_on, django_capture_on_commit_callbacks
):
    state, other = synced_courses
    sync_switch_on.active = False
    sync_switch_on.save()  # as in the admin (a queryset update would leave waffle's cache stale)
    RequestCache.clear_all_namespaces()  # as each request in the platform starts
    backend.reset()

    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(client, "full_resync", state, other)

    assert backend.requests() == []
    assert not SyncRun.objects.filter(trigger=api.TRIGGER_ADMIN).exists()
    messages = [str(message) for message in response.wsgi_request._messages]
    assert messages == [f"Not queued, not synced (switch off or out of scope): {OTHER_COURSE_ID}, {SAMPLE_COURSE_ID}."]
    assert admin_log(state) == ["Virtu full resync not queued: the course is not synced (switch off or out of scope)"]
