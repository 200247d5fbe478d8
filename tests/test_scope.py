"""
Which courses are synced: the ``virtu_sync.course_sync`` switch and the ``SyncScope``
rows, seen through ``api.is_sync_enabled`` (and ``api.is_in_sync_scope``, the scope alone).
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from edx_django_utils.cache import RequestCache

from virtu_sync_plugin import api
from virtu_sync_plugin.models import SyncScope

pytestmark = pytest.mark.django_db

MATH = "course-v1:VirtuX+MATH101+2026"
PHYSICS = "course-v1:VirtuX+PHYS101+2026"
HISTORY = "course-v1:OtherU+HIST101+2026"
ART = "course-v1:ThirdU+ART101+2026"
ALL = (MATH, PHYSICS, HISTORY, ART)


def synced() -> set[str]:
    return {course for course in ALL if api.is_sync_enabled(course)}


def test_with_nothing_configured_every_course_is_synced(sync_switch_on):
    assert synced() == set(ALL)


def test_orgs_limit_sync_to_their_courses(sync_switch_on):
    SyncScope.objects.create(enabled=True, orgs="VirtuX\n  OtherU  \n")
    assert synced() == {MATH, PHYSICS, HISTORY}


def test_courses_limit_sync_to_themselves_and_add_to_the_orgs(sync_switch_on):
    SyncScope.objects.create(enabled=True, course_keys=f"{ART}\n")
    assert synced() == {ART}
    SyncScope.objects.create(enabled=True, orgs="OtherU", course_keys=ART)
    assert synced() == {HISTORY, ART}


def test_exclusions_win_over_orgs_courses_and_an_empty_scope(sync_switch_on):
    SyncScope.objects.create(enabled=True, orgs="VirtuX", course_keys=f"{MATH}\n{ART}", excluded_course_keys=MATH)
    assert synced() == {PHYSICS, ART}
    SyncScope.objects.create(enabled=True, excluded_course_keys=f"{HISTORY}\n{ART}")
    assert synced() == {MATH, PHYSICS}


def test_a_disabled_newest_row_means_every_course(sync_switch_on):
    SyncScope.objects.create(enabled=True, orgs="ThirdU")
    SyncScope.objects.create(enabled=False, orgs="ThirdU", excluded_course_keys=MATH)
    assert synced() == set(ALL)


def test_with_the_switch_off_no_course_is_synced_whatever_the_scope(db):
    SyncScope.objects.create(enabled=True, orgs="VirtuX", course_keys=ART)
    assert synced() == set()
    assert not api.is_sync_switch_on()
    assert {course for course in ALL if api.is_in_sync_scope(course)} == {MATH, PHYSICS, ART}


def test_turning_the_switch_off_takes_effect_at_the_next_request(sync_switch_on, django_capture_on_commit_callbacks):
    assert synced() == set(ALL)
    with django_capture_on_commit_callbacks(execute=True):  # waffle empties its cache once the change commits
        sync_switch_on.active = False
        sync_switch_on.save()
    RequestCache.clear_all_namespaces()  # as each request in the platform starts
    assert synced() == set()


def test_a_change_takes_effect_as_soon_as_it_is_saved(sync_switch_on):
    assert synced() == set(ALL)  # and the scope is now cached
    SyncScope.objects.create(enabled=True, orgs="OtherU")
    assert synced() == {HISTORY}
    SyncScope.objects.create(enabled=True, orgs="OtherU", excluded_course_keys=HISTORY)
    assert synced() == set()


def test_a_change_made_in_the_admin_is_audited_and_applies_at_once(client, sync_switch_on):
    operator = User.objects.create_superuser("operator", password="password")
    client.force_login(operator)
    assert synced() == set(ALL)

    response = client.post(
        reverse("admin:virtu_sync_plugin_syncscope_add"),
        {"enabled": "on", "orgs": "VirtuX", "course_keys": "", "excluded_course_keys": PHYSICS},
    )

    assert response.status_code == 302
    assert synced() == {MATH}
    row = SyncScope.objects.get()
    assert (row.changed_by, row.orgs, row.excluded_course_keys) == (operator, "VirtuX", PHYSICS)
    listing = client.get(reverse("admin:virtu_sync_plugin_syncscope_changelist")).content.decode()
    assert "operator" in listing and PHYSICS in listing


def test_the_admin_refuses_a_scope_with_a_malformed_course_key(client, sync_switch_on):
    client.force_login(User.objects.create_superuser("operator", password="password"))

    response = client.post(
        reverse("admin:virtu_sync_plugin_syncscope_add"),
        {"enabled": "on", "orgs": "", "course_keys": "MATH101", "excluded_course_keys": ""},
    )

    assert response.status_code == 200 and "is not a course key" in response.content.decode()
    assert not SyncScope.objects.exists()
    assert synced() == set(ALL)
