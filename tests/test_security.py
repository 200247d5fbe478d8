"""
Security: secrets stay secret, only the contract's fields leave edX, requests are
authenticated and cannot be replayed, and nothing is sent over plain HTTP by accident.

Real pipeline, real database, the reference backend on 127.0.0.1, the Django admin
through the test client and the management commands through ``call_command``.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import pkgutil
import time
import traceback
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command, load_command_class
from django.core.management.base import CommandError
from django.db import transaction
from django.urls import reverse
from opaque_keys.edx.keys import CourseKey

import reference_backend.app
import virtu_sync_plugin.management.commands as command_package
from demo.export_editor import ExportEditor
from reference_backend.faults import Fault
from reference_backend.server import ReferenceBackend
from tests.conftest import DEMO_COURSE_ID, SAMPLE_COURSE, SAMPLE_COURSE_ID, require_demo_course
from tests.support.openapi import validate_request
from virtu_sync_plugin import api
from virtu_sync_plugin.backend_client import BackendClient, BackendError
from virtu_sync_plugin.conf import get_sync_settings
from virtu_sync_plugin.data import SyncStatus
from virtu_sync_plugin.models import CourseSyncState, SyncOperation, SyncRun, SyncScope

pytestmark = pytest.mark.django_db(transaction=True)

#: Values distinctive enough that any trace of them in the output is a leak.
TOKEN = "tok-7f3a9c1e-LEAK-CANARY-token-2f9e"
SECRET = "sig-b81d44a0-LEAK-CANARY-secret-c3d1"
COMMANDS = sorted(name for _, name, _ in pkgutil.iter_modules(command_package.__path__) if not name.startswith("_"))


@pytest.fixture
def secret_backend(settings):
    """A reference backend, and the plugin's settings pointing at it, with distinctive secrets."""
    settings.VIRTU_SYNC_API_TOKEN = TOKEN
    settings.VIRTU_SYNC_SIGNING_SECRET = SECRET
    with ReferenceBackend(token=TOKEN, secret=SECRET) as server:
        settings.VIRTU_SYNC_BACKEND_URL = server.url
        settings.VIRTU_SYNC_ALLOW_INSECURE_HTTP = True
        yield server


def publish(studio, path, course_key=None):
    with transaction.atomic():
        return studio.publish_export(path, course_key=course_key)


@contextlib.contextmanager
def overridden(settings, name, value):
    """One setting changed for a while (restored, or removed again, afterwards)."""
    missing = object()
    previous = getattr(settings, name, missing)
    setattr(settings, name, value)
    try:
        yield
    finally:
        if previous is missing:
            delattr(settings, name)
        else:
            setattr(settings, name, previous)


def run_command(name, *args):
    """``call_command`` as an operator runs it: what it printed, and its error if it failed."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(name, *args, stdout=out, stderr=err)
        failure = ""
    except CommandError as error:
        failure = f"CommandError: {error}"
    return out.getvalue() + err.getvalue() + failure


def command_help(name):
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer), pytest.raises(SystemExit) as done:
        call_command(name, "--help")
    assert done.value.code == 0
    return buffer.getvalue()


def database_text():
    """Every row of the plugin's tables, and the admin's change log, as text."""
    models = [*apps.get_app_config("virtu_sync_plugin").get_models(), LogEntry]
    return "\n".join(repr(row) for model in models for row in model.objects.values())


def admin_pages(client):
    """Every admin page of the plugin's models: changelists, change and history pages of every row."""
    pages = [client.get(reverse("admin:index")), client.get(reverse("admin:app_list", args=["virtu_sync_plugin"]))]
    for model in admin.site._registry:  # noqa: SLF001
        if model._meta.app_label != "virtu_sync_plugin":
            continue
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        pages.append(client.get(reverse(f"{prefix}_changelist")))
        for pk in model.objects.values_list("pk", flat=True):
            pages.append(client.get(reverse(f"{prefix}_change", args=[pk])))
            pages.append(client.get(reverse(f"{prefix}_history", args=[pk])))
    for page in pages:
        assert page.status_code == 200, page.request["PATH_INFO"]
    return "\n".join(page.content.decode() for page in pages)


def exception_text(error: BaseException) -> str:
    return "".join(traceback.format_exception(error)) + repr(error) + repr(getattr(error, "args", ()))


# Secrets never leak ----------------------------------------------------------------------------


def test_the_token_and_the_secret_appear_nowhere_an_operator_or_a_log_reader_sees(
    studio,
    secret_backend,
    sync_switch_on,
    settings,
    caplog,
    capsys,
    client,
    tmp_path,
    django_capture_on_commit_callbacks,
):
    caplog.set_level(logging.DEBUG)
    backend = secret_backend
    seen: list[str] = []
    editor = ExportEditor(SAMPLE_COURSE, tmp_path)

    def edit_and_publish(title):
        editor.rename("chapter", "algebra", title)
        publish(studio, editor.path)

    publish(studio, SAMPLE_COURSE)
    publish(studio, SAMPLE_COURSE, course_key=CourseKey.from_string("course-v1:Other+MATH101+2026"))
    faults = [
        Fault.fail(503, count=3),  # retried, then given up
        Fault.fail(429, retry_after=0),
        Fault.html(200),
        Fault.html(502, count=3),
        Fault.fail(401),
        Fault.fail(403),
        Fault.fail(413),
        Fault.redirect(backend.url + "/course-sync/v1/batches"),
        Fault.redirect("http://virtu.example/", status=301),
        Fault.invalid_json(),
        Fault.wrong_length(),
        Fault.unknown_operation_ids(),
        Fault.drop_after_apply(count=3),
    ]
    for number, fault in enumerate(faults):
        backend.set_faults(fault)
        edit_and_publish(f"Algebra {number}")
    settings.VIRTU_SYNC_TIMEOUT = (0.5, 0.2)  # a backend that hangs: a read timeout per attempt
    backend.set_faults(Fault.hang(2, count=3))
    edit_and_publish("Algebra, hung")
    settings.VIRTU_SYNC_TIMEOUT = (1.0, 5.0)
    pending = list(SyncOperation.objects.filter(status="pending").values_list("operation_id", flat=True))
    backend.set_faults(Fault.fail_operations(pending[:1] or ["none"]))
    edit_and_publish("Algebra, partly refused")

    # Misconfigurations: the wrong token, the wrong secret, no secret, TLS to a plain-HTTP port, nobody listening.
    good_url = settings.VIRTU_SYNC_BACKEND_URL
    for name, value in [
        ("VIRTU_SYNC_API_TOKEN", TOKEN + "-rotated"),
        ("VIRTU_SYNC_SIGNING_SECRET", SECRET + "-rotated"),
        ("VIRTU_SYNC_SIGNING_SECRET", ""),
        ("VIRTU_SYNC_BACKEND_URL", good_url.replace("http://", "https://")),
        ("VIRTU_SYNC_BACKEND_URL", "http://127.0.0.1:9"),
        ("VIRTU_SYNC_BACKEND_URL", "http://virtu:url-password@127.0.0.1:9"),
        ("VIRTU_SYNC_BATCH_SIZE", 0),  # invalid: the settings error must not quote the secrets
    ]:
        with overridden(settings, name, value):
            edit_and_publish(f"Algebra with {name} wrong")
    for name, value in [("VIRTU_SYNC_BATCH_SIZE", 0), ("VIRTU_SYNC_BACKEND_URL", "ftp://virtu:url-password@x")]:
        with overridden(settings, name, value), pytest.raises(ImproperlyConfigured) as raised:
            get_sync_settings()
        seen.append(exception_text(raised.value))

    # Errors raised by the client itself, as a caller would print them.
    client_errors = [Fault.fail(401), Fault.fail(503, count=3), Fault.html(200), Fault.redirect("https://x.example/")]
    for fault in client_errors:
        backend.set_faults(fault)
        with pytest.raises(BackendError) as raised:
            BackendClient(get_sync_settings()).send_batch(
                {
                    "schema_version": 1,
                    "batch_id": "b",
                    "course_id": SAMPLE_COURSE_ID,
                    "sent_at": "x",
                    "source": {},
                    "operations": [],
                }
            )
        seen.append(exception_text(raised.value))
    seen.append(repr(get_sync_settings()) + str(get_sync_settings()))

    # Healed, then deleted in Studio, then published again.
    backend.set_faults()
    assert api.sync_course(SAMPLE_COURSE_ID).status in (SyncStatus.SYNCED, SyncStatus.UNCHANGED)
    with transaction.atomic():
        studio.delete_course(CourseKey.from_string("course-v1:Other+MATH101+2026"), user_id=-1)

    # The admin: every page of every model, and the actions.
    superuser = User.objects.create_superuser("root", "root@example.com", "password")
    client.force_login(superuser)
    SyncScope.objects.create(enabled=False, changed_by=superuser)
    changelist = reverse("admin:virtu_sync_plugin_coursesyncstate_changelist")
    states = list(CourseSyncState.objects.values_list("pk", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        for action in ("sync_now", "full_resync", "dry_run"):
            page = client.post(changelist, {"action": action, "_selected_action": states, "index": 0})
            assert page.status_code in (200, 302)
            seen.append(page.content.decode())
    seen.append(admin_pages(client))

    # Every management command: its help, and real runs (one with a failure).
    for name in COMMANDS:
        seen.append(command_help(name))
    backend.set_faults(Fault.fail(401))
    seen.append(run_command("virtu_sync_backfill", "--all", "--force"))
    seen.append(run_command("virtu_sync_backfill", "--all", "--dry-run", "-v", "2"))
    seen.append(run_command("virtu_sync_backfill", "--course", "not a key", "--course", SAMPLE_COURSE_ID))
    seen.append(run_command("virtu_sync_verify", "--all", "-v", "2"))
    backend.reset()
    seen.append(run_command("virtu_sync_verify", "--all", "--repair", "-v", "2"))
    seen.append(run_command("virtu_sync_verify", "--course", SAMPLE_COURSE_ID))
    seen.append(run_command("virtu_sync_preview", str(SAMPLE_COURSE), str(editor.path), "--json"))
    seen.append(run_command("virtu_sync_preview", str(SAMPLE_COURSE), str(editor.path)))
    seen.append(run_command("virtu_sync_preview", str(tmp_path / "nothing"), str(editor.path)))
    assert set(COMMANDS) >= {"virtu_sync_backfill", "virtu_sync_preview", "virtu_sync_verify"}

    captured = capsys.readouterr()
    haystack = "\n".join([*seen, caplog.text, captured.out, captured.err, database_text()])

    # The scenario did what it meant to: failures of every kind were recorded and shown...
    for expected in [
        "HTTP 401",
        "does not match the body",
        "expected the header X-Virtu-Signature",
        "SSLError",
        "ConnectionError",
        "ReadTimeout",
        "redirect to http://127.0.0.1",
        "not a JSON object",
        "do not match the operations",
        "HTTP 413",
        "gave up after 3 attempts",
        "VIRTU_SYNC_BATCH_SIZE",
        "Virtu sync dry run",
        "Backfill summary",
        "no drift",
        "Traceback",
        "ImproperlyConfigured",
    ]:
        assert expected in haystack, expected
    # ... while the backend did receive the token and signatures made with the secret.
    received = backend.requests()
    assert received and all(request.headers["authorization"] == f"Bearer {TOKEN}" for request in received)
    # Not a trace of either, nor of a password in the URL.
    for canary in (TOKEN, SECRET, "LEAK-CANARY", "url-password"):
        assert canary not in haystack, f"{canary!r} leaked: ...{haystack[max(0, haystack.find(canary) - 300) :][:600]}"


def test_a_password_in_the_backend_url_is_never_shown(studio, secret_backend, sync_switch_on, settings, caplog):
    caplog.set_level(logging.DEBUG)
    settings.VIRTU_SYNC_BACKEND_URL = secret_backend.url.replace("http://", "http://virtu:url-password-77@")
    publish(studio, SAMPLE_COURSE)

    run = SyncRun.objects.get()
    assert run.status == SyncRun.Status.FAILED and "HTTP 401" in run.error
    assert "url-password-77" not in caplog.text + database_text()


# Only the contract's fields leave edX ---------------------------------------------------------

CONTRACT_FIELDS = {
    "course": {
        "title",
        "org",
        "number",
        "run",
        "start",
        "end",
        "language",
        "self_paced",
        "description",
        "grading_policy",
        "other_settings",
    },
    "topic": {"title", "start", "visible_to_staff_only", "hide_from_toc"},
    "subtopic": {"title", "start", "due", "graded", "format", "visible_to_staff_only", "hide_from_toc"},
    "unit": {"title", "visible_to_staff_only"},
    "assessment": {"title", "block_type", "weight", "graded", "points", "selection"},
}
ENVELOPE_KEYS = {"schema_version", "batch_id", "course_id", "sent_at", "source", "operations"}
OPERATION_KEYS = {
    "create": {"operation_id", "operation", "entity_type", "entity_id", "parent_id", "position", "data"},
    "update": {"operation_id", "operation", "entity_type", "entity_id", "parent_id", "position", "data"},
    "delete": {"operation_id", "operation", "entity_type", "entity_id"},
}

#: What a course holds that must never leave edX: credentials, answers, content, settings.
PRIVATE = {
    "lti_passports": "lti_passports",
    "passport secret": "PASSPORT-SECRET-c0ffee",
    "lti client key": "LTI-CLIENT-KEY-88",
    "lti client secret": "LTI-CLIENT-SECRET-88",
    "lti public key": "LTI13-PUBKEY-99",
    "lti launch url": "tool.example",
    "problem answer": "ANSWER-TEXT-ORANGE-31",
    "numerical answer": "314159.27",
    "markdown answer": "ANSWER-MARKDOWN-31",
    "solution": "SOLUTION-TEXT-31",
    "html content": "HTML-CONTENT-SECRET-12",
    "html script": "HTML-API-KEY-12",
    "ora prompt": "ORA-PROMPT-SECRET-4",
    "dnd answer": "DND-ZONE-ANSWER-5",
    "proctoring rules": "PROCTOR-RULES-SECRET-6",
    "xqa key": "XQA-KEY-SECRET-55",
    "course setting": "invitation_only",
    "group access": "group_access",
}
PRIVATE_KEY = "course-v1:Private+P1+R"


def private_export(root: Path) -> Path:
    """A course holding LTI credentials, answers, solutions, HTML, ORA and DnD data, and course settings."""
    policy = {
        "course/R": {
            "lti_passports": ["vendor:vendor_key:PASSPORT-SECRET-c0ffee"],
            "xqa_key": "XQA-KEY-SECRET-55",
            "invitation_only": True,
        }
    }
    files = {
        "course.xml": '<course url_name="R" org="Private" course="P1"/>',
        "course/R.xml": (
            '<course display_name="Private course" start="2026-09-01T00:00:00Z" '
            'advanced_modules="[&quot;lti_consumer&quot;]" catalog_visibility="none">'
            '<chapter url_name="ch"/></course>'
        ),
        "policies/R/policy.json": json.dumps(policy),
        "chapter/ch.xml": '<chapter display_name="Chapter"><sequential url_name="seq"/></chapter>',
        "sequential/seq.xml": (
            '<sequential display_name="Exam" graded="true" format="Exam" is_proctored_enabled="true" '
            'exam_review_rules="PROCTOR-RULES-SECRET-6" due="2026-12-01T00:00:00Z"><vertical url_name="unit"/>'
            "</sequential>"
        ),
        "vertical/unit.xml": (
            '<vertical display_name="Unit" group_access="{&quot;50&quot;: [1]}">'
            '<lti_consumer url_name="tool" display_name="External tool" lti_version="lti_1p1" lti_id="vendor" '
            'launch_url="https://tool.example/launch" lti_1p1_client_key="LTI-CLIENT-KEY-88" '
            'lti_1p1_client_secret="LTI-CLIENT-SECRET-88" lti_1p3_tool_public_key="LTI13-PUBKEY-99" '
            'has_score="true" weight="3"/>'
            '<problem url_name="choice"/>'
            '<html url_name="notes" display_name="Notes"><p>HTML-CONTENT-SECRET-12</p>'
            '<script>var apiKey = "HTML-API-KEY-12";</script></html>'
            '<openassessment url_name="essay" display_name="Essay" submission_due="2026-12-01T00:00:00Z">'
            "<prompts><prompt><description>ORA-PROMPT-SECRET-4</description></prompt></prompts></openassessment>"
            '<drag-and-drop-v2 url_name="dnd" display_name="Sort" xblock-family="xblock.v1" '
            'data="{&quot;zones&quot;: [{&quot;title&quot;: &quot;DND-ZONE-ANSWER-5&quot;}]}"/>'
            "</vertical>"
        ),
        "problem/choice.xml": (
            '<problem display_name="Pick one" weight="2" max_attempts="3" '
            'markdown="(x) ANSWER-MARKDOWN-31&#10;( ) wrong">'
            '<multiplechoiceresponse><choicegroup><choice correct="true">ANSWER-TEXT-ORANGE-31</choice>'
            '<choice correct="false">Banana</choice></choicegroup></multiplechoiceresponse>'
            '<numericalresponse answer="314159.27"><formulaequationinput/></numericalresponse>'
            "<solution><p>SOLUTION-TEXT-31</p></solution></problem>"
        ),
    }
    for relpath, text in files.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def assert_only_contract_fields(requests_received):
    """Every request body: the envelope, and each operation's keys and data keys, exactly as the contract says."""
    operations = []
    for request in requests_received:
        validate_request(request.method, request.path, request.headers, request.body)
        body = json.loads(request.body)
        assert set(body) == ENVELOPE_KEYS and set(body["source"]) == {"studio", "published_at"}
        for operation in body["operations"]:
            kind, entity_type = operation["operation"], operation["entity_type"]
            assert set(operation) <= OPERATION_KEYS[kind], operation
            if kind == "create":
                assert set(operation) == OPERATION_KEYS[kind] and set(operation["data"]) == CONTRACT_FIELDS[entity_type]
            elif kind == "update":
                assert operation["data"].keys() <= CONTRACT_FIELDS[entity_type]
            operations.append(operation)
    return operations


def test_only_the_contract_s_fields_of_a_course_with_credentials_answers_and_content_leave_edx(
    studio, backend, sync_switch_on, tmp_path
):
    export = private_export(tmp_path / "private")
    publish(studio, export)
    export_text = "".join(path.read_text() for path in export.rglob("*") if path.is_file())
    assert all(value in export_text for value in PRIVATE.values())  # the course does hold them

    # An edit (updates: only what changed), then the deletion.
    (export / "chapter" / "ch.xml").write_text(
        '<chapter display_name="Chapter, renamed" start="2026-10-01T00:00:00Z"><sequential url_name="seq"/></chapter>'
    )
    publish(studio, export)
    with transaction.atomic():
        studio.delete_course(CourseKey.from_string(PRIVATE_KEY), user_id=-1)

    operations = assert_only_contract_fields(backend.requests())
    kinds = {operation["operation"] for operation in operations}
    assert kinds == {"create", "update", "delete"}
    assessments = {op["data"]["block_type"] for op in operations if op.get("data", {}).get("block_type")}
    assert assessments == {"lti_consumer", "problem", "openassessment", "drag-and-drop-v2"}
    sent = b"".join(request.body + repr(request.headers).encode() for request in backend.requests())
    for what, value in PRIVATE.items():
        assert value.encode() not in sent, f"the {what} left edX"


DEMO_PRIVATE = [
    b"codeboard_secret_1234",
    b"codeboard_key_1",
    b"869e9639af7de74929b13ae17ad22e4efb60d9d112143e287589289102e1de00",
    b"lti_passports",
    b"launch_url",
    b"codeboard.io",
    b"openjupyter-demox",
    b"Epiglottis",
    b"Jellyfish",
    b"Puffer fish",
    b"expandHintFunction",
    b"OpenedXDemoLibrary",
    b"user_partitions",
    b"teams_configuration",
    b"correct",
]


def test_only_the_contract_s_fields_of_the_demo_course_leave_edx(studio, backend, sync_switch_on):
    demo = require_demo_course()
    publish(studio, demo)

    operations = assert_only_contract_fields(backend.requests())
    assert len(operations) == len(api.build_outline(DEMO_COURSE_ID)) > 100
    sent = b"".join(request.body for request in backend.requests())
    titles = " ".join(str(op["data"]["title"]) for op in operations).encode()
    demo_text = b"".join(path.read_bytes() for path in demo.rglob("*") if path.suffix in (".xml", ".json", ".html"))
    for value in DEMO_PRIVATE:
        assert value in demo_text and value not in titles  # there to leak, and no title of its own
        assert value not in sent, f"{value!r} left edX"


# Authentication, signatures, replays ---------------------------------------------------------------


def replay(backend, request, body=None):
    """Send a captured request again, byte for byte (or with another body), as an attacker on the path could."""
    headers = {name: value for name, value in request.headers.items() if name not in ("content-length", "host")}
    with requests.Session() as session:
        session.trust_env = False  # never through a proxy from the environment
        return session.post(
            backend.url + request.path, data=request.body if body is None else body, headers=headers, timeout=5
        )


def test_a_captured_request_replayed_is_not_applied_again_tampered_is_refused_late_is_refused(
    studio, secret_backend, sync_switch_on, monkeypatch
):
    backend = secret_backend
    publish(studio, SAMPLE_COURSE)
    (captured,) = backend.requests()
    effects = backend.effects()

    again = replay(backend, captured)  # within the tolerance: the batch's stored results, nothing applied again
    assert again.status_code == 200 and backend.effects() == effects

    tampered = captured.body.replace(b"Foundations of Mathematics", b"Owned by an attacker!!!!!!")
    refused = replay(backend, captured, body=tampered)
    assert (refused.status_code, refused.json()["code"]) == (401, "bad_signature")

    real_time = time.time
    monkeypatch.setattr(reference_backend.app, "time", SimpleNamespace(time=lambda: real_time() + 301))
    late = replay(backend, captured)  # the same bytes five minutes later
    assert (late.status_code, late.json()["code"]) == (401, "signature_expired")
    assert backend.tree(SAMPLE_COURSE_ID)[SAMPLE_COURSE_ID]["data"]["title"] == "Foundations of Mathematics"


@pytest.mark.parametrize(
    ("setting", "value", "code"),
    [
        ("VIRTU_SYNC_API_TOKEN", "another-token", "HTTP 401: expected the header 'Authorization: Bearer <token>'"),
        ("VIRTU_SYNC_SIGNING_SECRET", "another-secret", "HTTP 401: X-Virtu-Signature does not match the body"),
        ("VIRTU_SYNC_SIGNING_SECRET", "", "HTTP 401: expected the header X-Virtu-Signature"),
    ],
)
def test_the_plugin_with_the_wrong_credentials_is_refused_and_the_operator_told(
    studio, secret_backend, sync_switch_on, settings, setting, value, code
):
    setattr(settings, setting, value)
    publish(studio, SAMPLE_COURSE)

    run = SyncRun.objects.get()
    assert run.status == SyncRun.Status.FAILED and run.error == f"backend refused a batch: {code}"
    assert CourseSyncState.objects.get().last_error == run.error
    assert secret_backend.tree() == {} and len(secret_backend.requests()) == 1  # refused, not retried


def test_plain_http_is_refused_unless_allowed_and_nothing_is_sent(studio, backend, sync_switch_on, settings):
    settings.VIRTU_SYNC_ALLOW_INSECURE_HTTP = False  # the reference backend is plain http
    publish(studio, SAMPLE_COURSE)

    run = SyncRun.objects.get()
    assert run.status == SyncRun.Status.FAILED and "VIRTU_SYNC_BACKEND_URL uses plain http" in run.error
    assert backend.requests() == []


def test_a_redirect_to_plain_http_is_never_followed(studio, secret_backend, sync_switch_on, caplog):
    backend = secret_backend
    # To the backend itself, over plain HTTP: were it followed, the backend would see a second request.
    backend.set_faults(Fault.redirect(backend.url + "/course-sync/v1/batches", status=308))
    caplog.set_level(logging.DEBUG)
    publish(studio, SAMPLE_COURSE)

    assert len(backend.requests()) == 1 and backend.tree() == {}
    port = backend.url.rsplit(":", 1)[1]
    message = f"HTTP 308: redirect to http://127.0.0.1:{port} refused"
    assert SyncRun.objects.get().error == f"backend refused a batch: {message}"
    assert {op.detail for op in SyncOperation.objects.all()} == {message}
    assert TOKEN not in caplog.text


# The commands need no secret on the command line ---------------------------------------------------


@pytest.mark.parametrize("name", COMMANDS)
def test_no_command_takes_a_secret_on_the_command_line(name):
    parser = load_command_class("virtu_sync_plugin", name).create_parser("manage.py", name)
    options = {option for action in parser._actions for option in action.option_strings}  # noqa: SLF001
    destinations = {action.dest for action in parser._actions}  # noqa: SLF001
    for word in ("token", "secret", "password", "passwd", "credential", "auth", "bearer", "signing", "url"):
        assert not any(word in option.lower() for option in options | destinations), (name, word, options)
    assert "--help" in options
