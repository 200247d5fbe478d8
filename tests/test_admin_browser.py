"""
The admin as operators use it, in a real browser: Debian's chromium driven by Playwright,
the pages served by Django's live server, the syncs reaching the reference backend.

Run by ``make test-browser`` (marker ``browser``, deselected from ``make test``). The
browser is the system's chromium (``CHROMIUM`` names another binary): Playwright's own
browser downloads are never used.
"""

from __future__ import annotations

import os
import shutil
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.utils import timezone
from opaque_keys.edx.keys import CourseKey
from xmodule.modulestore.django import SignalHandler

from demo.export_editor import ExportEditor
from tests.conftest import SAMPLE_COURSE, SAMPLE_COURSE_ID
from virtu_sync_plugin import api
from virtu_sync_plugin.models import CourseSyncState, SyncOperation, SyncRun

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OTHER_COURSE_ID = "course-v1:OtherU+MATH101+2026"
VIEW_PERMISSIONS = ("view_coursesyncstate", "view_syncrun", "view_syncoperation")


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.fail("no chromium: apt-get install chromium (Debian), or set CHROMIUM to the browser's path")
    return path


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread, where Django then
    # refuses database calls; the test's own ones are synchronous (as Playwright's docs say).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        arguments = ["--no-sandbox"] if os.geteuid() == 0 else []  # chromium refuses root without it
        launched = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=arguments)
        yield launched
        launched.close()


def user(username: str, *codenames: str) -> User:
    account = User.objects.create_user(username, password="a long password 123", is_staff=True)
    account.user_permissions.set(
        Permission.objects.filter(content_type__app_label="virtu_sync_plugin", codename__in=codenames)
    )
    return account


def logged_in(browser, live_server, username: str):
    """A browser tab logged in through the admin's login form."""
    page = browser.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{live_server.url}/admin/login/?next=/admin/virtu_sync_plugin/coursesyncstate/")
    page.fill("#id_username", username)
    page.fill("#id_password", "a long password 123")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/virtu_sync_plugin/coursesyncstate/")
    return page


@pytest.fixture
def synced_courses(studio, backend, sync_switch_on):
    studio.publish_export(SAMPLE_COURSE)
    studio.publish_export(SAMPLE_COURSE, course_key=CourseKey.from_string(OTHER_COURSE_ID))
    assert set(CourseSyncState.objects.values_list("status", flat=True)) == {CourseSyncState.Status.IN_SYNC}


def listed_courses(page) -> list[str]:
    return page.locator("#result_list tbody th a").all_inner_texts()


def select_and_run(page, course_id: str, action_label: str) -> None:
    row = page.locator("#result_list tbody tr", has_text=course_id)
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", label=action_label)
    page.click("button[name=index]")


def test_the_course_list_shows_out_of_sync_since_and_filters_by_it(browser, live_server, synced_courses):
    CourseSyncState.objects.filter(course_key=OTHER_COURSE_ID).update(
        status=CourseSyncState.Status.FAILED,
        out_of_sync_since=timezone.now() - timedelta(days=3),
        next_retry_at=timezone.now() + timedelta(minutes=20),
        retry_attempts=4,
    )
    user("viewer", *VIEW_PERMISSIONS)
    page = logged_in(browser, live_server, "viewer")

    assert sorted(listed_courses(page)) == sorted([SAMPLE_COURSE_ID, OTHER_COURSE_ID])
    headers = page.locator("#result_list thead th").all_inner_texts()
    assert "OUT OF SYNC SINCE" in [header.strip().upper() for header in headers]
    behind = page.locator("#result_list tbody tr", has_text=OTHER_COURSE_ID)
    assert "3 days ago" in behind.locator("td.field-out_of_sync").inner_text().replace("\xa0", " ")
    retry = behind.locator("td.field-next_retry").inner_text().replace("\xa0", " ")
    assert retry.startswith("in 19 minutes") and "(attempt 5)" in retry
    fine = page.locator("#result_list tbody tr", has_text=SAMPLE_COURSE_ID)
    assert fine.locator("td.field-out_of_sync").inner_text().strip() == "-"

    page.click("#changelist-filter a:text-is('over a day')")
    page.wait_for_url("**out_of_sync=1d**")
    assert listed_courses(page) == [OTHER_COURSE_ID]
    page.click("#changelist-filter a:text-is('none')")  # automatic retry: none
    assert listed_courses(page) == []
    page.goto(f"{live_server.url}/admin/virtu_sync_plugin/coursesyncstate/")
    page.click("#changelist-filter a:text-is('VirtuX')")
    page.wait_for_url("**org=VirtuX**")
    assert listed_courses(page) == [SAMPLE_COURSE_ID]
    page.click("#changelist-filter a:text-is('Failed')")
    assert listed_courses(page) == []


def test_a_course_s_runs_and_operations_are_one_click_away(browser, live_server, synced_courses):
    user("viewer", *VIEW_PERMISSIONS)
    page = logged_in(browser, live_server, "viewer")

    page.locator("#result_list tbody tr", has_text=OTHER_COURSE_ID).locator("a:text-is('runs')").click()
    page.wait_for_url("**/syncrun/?course_key=**")
    runs = page.locator("#result_list tbody tr")
    assert runs.count() == SyncRun.objects.filter(course_key=OTHER_COURSE_ID).count() == 1
    assert "Succeeded" in runs.first.inner_text()

    runs.first.locator("a:text-is('operations')").click()
    page.wait_for_url("**/syncoperation/?run__id__exact=**")
    operations = SyncOperation.objects.filter(course_key=OTHER_COURSE_ID)
    assert page.locator("#result_list tbody tr").count() == min(100, operations.count())
    assert page.locator("#result_list tbody tr", has_text="type@chapter+block@algebra").count() == 1

    page.locator("#result_list tbody tr", has_text="type@chapter+block@algebra").locator("th a").click()
    assert page.locator("pre").inner_text().count('"operation": "create"') == 1
    assert "Applied" in page.locator(".field-status").inner_text()


def test_sync_now_full_resync_and_dry_run_from_the_course_list(
    browser, live_server, studio, backend, synced_courses, tmp_path
):
    user("operator", *VIEW_PERMISSIONS, "run_sync")
    editor = ExportEditor(SAMPLE_COURSE, tmp_path)
    editor.rename("chapter", "algebra", "Algebra, published while the signal was lost")
    with SignalHandler.course_published.for_state(is_enabled=False):
        studio.publish_export(editor.path)
    page = logged_in(browser, live_server, "operator")

    select_and_run(page, SAMPLE_COURSE_ID, "Dry run (show what a sync would send)")
    page.wait_for_selector("text=0 create, 1 update, 0 delete")
    assert "type@chapter+block@algebra" in page.content()
    assert backend.tree(SAMPLE_COURSE_ID) != api.build_outline(SAMPLE_COURSE_ID).tree(), "a dry run sends nothing"

    page.goto(f"{live_server.url}/admin/virtu_sync_plugin/coursesyncstate/")
    select_and_run(page, SAMPLE_COURSE_ID, "Sync now")
    assert "Virtu sync queued for 1 course(s)." in page.locator("ul.messagelist").inner_text()
    assert backend.tree(SAMPLE_COURSE_ID) == api.build_outline(SAMPLE_COURSE_ID).tree()

    backend.reset()  # a backend restored from an empty backup
    select_and_run(page, OTHER_COURSE_ID, "Full resync (everything sent again)")
    assert "Virtu full resync queued for 1 course(s)." in page.locator("ul.messagelist").inner_text()
    assert backend.tree(OTHER_COURSE_ID) == api.build_outline(OTHER_COURSE_ID).tree()
    assert SyncRun.objects.filter(course_key=OTHER_COURSE_ID, trigger=api.TRIGGER_ADMIN, forced=True).count() == 1


def test_staff_without_the_permission_see_no_sync_action(browser, live_server, backend, synced_courses):
    user("viewer", *VIEW_PERMISSIONS)
    before = len(backend.requests())
    page = logged_in(browser, live_server, "viewer")

    offered = page.locator("select[name=action] option").all_inner_texts()
    assert not {"Sync now", "Full resync (everything sent again)"} & set(offered)
    assert not any(text.startswith("Dry run") for text in offered)
    assert len(backend.requests()) == before
    assert not SyncRun.objects.filter(trigger=api.TRIGGER_ADMIN).exists()
