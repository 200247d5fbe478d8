"""
``virtu_sync_verify``: drift injected into the reference backend (rows edited and deleted
in its SQLite, an extra subtree sent as a signed batch) is found, and ``--repair`` fixes it
through the normal pipeline.
"""

from __future__ import annotations

import dataclasses
import functools
import http.server
import io
import json
import threading
import uuid

import pytest
import requests
from django.core.management import CommandError, call_command
from opaque_keys.edx.keys import CourseKey
from xmodule.modulestore.django import SignalHandler

from reference_backend.entities import fingerprint as backend_fingerprint
from tests.conftest import SAMPLE_COURSE, SAMPLE_COURSE_ID
from tests.support.openapi import validate_request
from virtu_sync_plugin import api
from virtu_sync_plugin.backend_client import sign
from virtu_sync_plugin.data import DriftKind, EntityDrift
from virtu_sync_plugin.models import SyncScope
from virtu_sync_plugin.verify import fingerprint

pytestmark = pytest.mark.django_db(transaction=True)

OTHER_COURSE_ID = "course-v1:OtherU+MATH101+2026"


def block(block_type: str, url_name: str, course_id: str = SAMPLE_COURSE_ID) -> str:
    return f"block-v1:{course_id.partition(':')[2]}+type@{block_type}+block@{url_name}"


def verify(*arguments: str) -> str:
    out = io.StringIO()
    call_command("virtu_sync_verify", *arguments, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def failing_verify(*arguments: str) -> tuple[str, str, CommandError]:
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("virtu_sync_verify", *arguments, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue(), failure.value


def send_batch(backend, settings, operations: list[dict]) -> None:
    """A batch as another Studio sends it to the same backend: signed, conforming, applied."""
    batch_id = str(uuid.uuid4())
    body = {
        "schema_version": 1,
        "batch_id": batch_id,
        "course_id": SAMPLE_COURSE_ID,
        "sent_at": "2026-11-25T10:00:00Z",
        "source": {"studio": "https://studio.elsewhere.test", "published_at": "2026-11-25T10:00:00Z"},
        "operations": operations,
    }
    raw = json.dumps(body).encode("utf-8")
    url = f"{backend.url}/course-sync/v1/batches"
    headers = {
        "Authorization": f"Bearer {settings.VIRTU_SYNC_API_TOKEN}",
        "Content-Type": "application/json; charset=utf-8",
        "Idempotency-Key": batch_id,
        "User-Agent": "virtu-sync-plugin/0.0.0-another-studio",
        "X-Virtu-Signature": sign(settings.VIRTU_SYNC_SIGNING_SECRET, raw),
    }
    validate_request("POST", url, headers, raw)
    response = requests.post(url, data=raw, headers=headers, timeout=5)
    assert [result["status"] for result in response.json()["results"]] == ["applied"] * len(operations)


@pytest.fixture
def synced_course(studio, backend, sync_switch_on):
    studio.publish_export(SAMPLE_COURSE)
    assert backend.tree(SAMPLE_COURSE_ID) == api.build_outline(SAMPLE_COURSE_ID).tree()
    return SAMPLE_COURSE_ID


@pytest.fixture
def drifted_course(backend, settings, synced_course):
    """Drift of every kind: a row edited and a row moved by hand, a unit deleted, a stray subtree added."""
    store = backend._store
    renamed = store.find(synced_course, block("chapter", "geometry"))
    store.save(synced_course, dataclasses.replace(renamed, data={**renamed.data, "title": "Geometry (edited by hand)"}))
    moved = store.find(synced_course, block("sequential", "numbers_intro"))
    store.save(synced_course, dataclasses.replace(moved, parent_id=block("chapter", "geometry"), position=7))
    store.delete(synced_course, "unit", block("vertical", "hw_fractions"))  # and, by cascade, its problems
    stray_topic, stray_subtopic = block("chapter", "stray"), block("sequential", "stray_lesson")
    send_batch(
        backend,
        settings,
        [
            {"operation_id": str(uuid.uuid4()), "operation": "create", "entity_type": "topic", "entity_id": stray_topic,
             "parent_id": synced_course, "position": 3,
             "data": {"title": "Stray", "start": None, "visible_to_staff_only": False, "hide_from_toc": False}},
            {"operation_id": str(uuid.uuid4()), "operation": "create", "entity_type": "subtopic",
             "entity_id": stray_subtopic, "parent_id": stray_topic, "position": 0,
             "data": {"title": "Stray lesson", "start": None, "due": None, "graded": False, "format": None,
                      "visible_to_staff_only": False, "hide_from_toc": False}},
        ],
    )  # fmt: skip
    return synced_course


def hw_fractions_subtree() -> set[str]:
    tree = api.build_outline(SAMPLE_COURSE_ID).tree()
    unit = block("vertical", "hw_fractions")
    return {unit} | {entity_id for entity_id, entity in tree.items() if entity["parent_id"] == unit}


def test_a_course_in_sync_has_no_drift(synced_course):
    output = verify("--course", synced_course)
    entities = len(api.build_outline(synced_course))
    assert f"{synced_course}: no drift ({entities} entities)" in output
    assert "Courses: 1 in sync, 0 drifting, 0 repaired" in output


def test_verify_reports_each_kind_of_drift_and_changes_nothing(backend, drifted_course):
    tree_before, requests_before = backend.tree(drifted_course), len(backend.requests())

    output, _, failure = failing_verify("--course", drifted_course, "-v", "2")

    missing = hw_fractions_subtree()
    drift = api.verify_course(drifted_course)
    assert set(drift.drift) == {
        *(EntityDrift(DriftKind.MISSING, entity_id, type_of(entity_id)) for entity_id in missing),
        EntityDrift(DriftKind.EXTRA, block("chapter", "stray"), "topic"),
        EntityDrift(DriftKind.EXTRA, block("sequential", "stray_lesson"), "subtopic"),
        EntityDrift(DriftKind.DIFFERING, block("chapter", "geometry"), "topic", ("fields",)),
        EntityDrift(DriftKind.DIFFERING, block("sequential", "numbers_intro"), "subtopic", ("parent", "position")),
    }
    assert f"({len(missing)} missing, 2 extra, 2 differing;" in output
    assert f"  differing  subtopic    {block('sequential', 'numbers_intro')} (parent, position)" in output
    assert f"  extra      topic       {block('chapter', 'stray')}" in output
    assert "1 course(s) drifting" in str(failure) and failure.returncode == 1
    assert backend.tree(drifted_course) == tree_before
    assert {request.method for request in backend.requests()[requests_before:]} == {"GET"}


def type_of(entity_id: str) -> str:
    return api.build_outline(SAMPLE_COURSE_ID).entities[entity_id].entity_type.name


def test_repair_sends_the_fixes_through_the_pipeline_and_then_there_is_no_drift(backend, drifted_course):
    requests_before = len(backend.requests())

    output = verify("--course", drifted_course, "--repair")

    assert backend.tree(drifted_course) == api.build_outline(drifted_course).tree()
    sent = [
        (operation["operation"], operation["entity_id"])
        for request in backend.requests()[requests_before:]
        if request.method == "POST"
        for operation in json.loads(request.body)["operations"]
    ]
    expected_creates = hw_fractions_subtree() | {block("chapter", "geometry"), block("sequential", "numbers_intro")}
    assert sorted(sent) == sorted(
        [("create", entity_id) for entity_id in expected_creates] + [("delete", block("chapter", "stray"))]
    )
    assert f"{drifted_course}: repaired ({len(expected_creates)} create, 0 update, 1 delete sent)" in output
    assert "Courses: 0 in sync, 0 drifting, 1 repaired" in output
    assert f"{drifted_course}: no drift" in verify("--course", drifted_course)
    assert api.sync_course(drifted_course).status.value == "unchanged"  # the snapshot is right again


def test_a_course_the_backend_never_received_is_wholly_missing_and_repaired(studio, backend, sync_switch_on):
    with SignalHandler.course_published.for_state(is_enabled=False):
        studio.publish_export(SAMPLE_COURSE)
    entities = len(api.build_outline(SAMPLE_COURSE_ID))

    output, _, _ = failing_verify("--course", SAMPLE_COURSE_ID)
    assert f"{entities} of {entities} entities drifted ({entities} missing, 0 extra, 0 differing" in output
    assert f"... and {entities - 20} more (-v 2 lists them all)" in output

    verify("--course", SAMPLE_COURSE_ID, "--repair")
    assert backend.tree(SAMPLE_COURSE_ID) == api.build_outline(SAMPLE_COURSE_ID).tree()


def test_all_verifies_the_synced_courses_and_skips_the_others(studio, backend, synced_course):
    studio.publish_export(SAMPLE_COURSE, course_key=CourseKey.from_string(OTHER_COURSE_ID))
    backend._store.delete(OTHER_COURSE_ID, "topic", block("chapter", "algebra", OTHER_COURSE_ID))
    SyncScope.objects.create(enabled=True, orgs="OtherU")

    output = verify("--all", "--repair")

    assert "Courses: 0 in sync, 0 drifting, 1 repaired, 0 could not be checked, 1 skipped (not synced)" in output
    assert SAMPLE_COURSE_ID not in output  # out of scope: not even listed
    assert backend.tree(OTHER_COURSE_ID) == api.build_outline(OTHER_COURSE_ID).tree()


class _NotFound(http.server.BaseHTTPRequestHandler):
    """A web server that is no Virtu backend: an HTML 404 page for everything."""

    def do_GET(self):
        body = b"<html><body><h1>404 Not Found</h1></body></html>"
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def plain_web_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotFound)
    thread = threading.Thread(target=functools.partial(server.serve_forever, poll_interval=0.05), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("where", ["a route the backend does not have", "a web server that is no backend"])
def test_a_backend_without_the_state_endpoint_is_told_clearly(
    settings, synced_course, plain_web_server, backend, where
):
    if where == "a route the backend does not have":
        settings.VIRTU_SYNC_BACKEND_URL = f"{backend.url}/legacy"  # answers 404 {"code": "not_found"}
    else:
        settings.VIRTU_SYNC_BACKEND_URL = plain_web_server

    for repair in ((), ("--repair",)):
        _, _, failure = failing_verify("--course", synced_course, *repair)
        assert "Cannot verify: the backend does not offer the state endpoint (HTTP 404" in str(failure)
        assert failure.returncode == 1
    with pytest.raises(api.StateEndpointUnavailableError):
        api.repair_course(synced_course)


def test_a_course_missing_from_the_modulestore_or_malformed_cannot_be_checked(synced_course):
    output, errors, failure = failing_verify(
        "--course", "course-v1:VirtuX+GONE+2026", "--course", "MATH", "--course", synced_course
    )

    assert "course-v1:VirtuX+GONE+2026: FAILED: not in the modulestore" in errors
    assert "MATH: FAILED: 'MATH' is not a course key" in errors
    assert f"{synced_course}: no drift" in output
    assert "2 not checked" in str(failure)


def test_with_the_switch_off_nothing_is_asked_of_the_backend(backend, studio, db):
    studio.publish_export(SAMPLE_COURSE)

    _, _, failure = failing_verify("--all")

    assert "switch is off" in str(failure)
    assert backend.requests() == []


def test_the_fingerprint_is_the_backend_s(synced_course):
    for entity in api.build_outline(synced_course).entities.values():
        assert fingerprint(entity.data) == backend_fingerprint(entity.data)


@pytest.mark.parametrize("arguments", [(), ("--all", "--course", SAMPLE_COURSE_ID)])
def test_the_courses_must_be_named_one_way(arguments, db):
    with pytest.raises(CommandError, match="Say which courses"):
        call_command("virtu_sync_verify", *arguments)
