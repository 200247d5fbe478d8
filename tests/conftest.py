"""Shared fixtures: Studio (the modulestore stand-in), a reference backend on 127.0.0.1, the switch."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from tests.celery_app import app as celery_app  # the app shared_task binds to
from tests.support.contract_samples import SAMPLE_FIELDS

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_COURSE = REPO_ROOT / "demo" / "sample_course"
SAMPLE_COURSE_ID = "course-v1:VirtuX+MATH101+2026"
#: The Open edX demo course, beside the checkout (never copied into the repo).
DEMO_COURSE = REPO_ROOT.parent / "shared" / "olx" / "openedx-demo-course"
DEMO_COURSE_ID = "course-v1:OpenedX+DemoX+DemoCourse"

hypothesis_settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
hypothesis_settings.register_profile("thorough", parent=hypothesis_settings.get_profile("default"), max_examples=1000)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session", autouse=True)
def plugin_receivers():
    """Our receivers connected to Studio's signals the way edx-platform connects plugins."""
    from edx_django_utils.plugins import connect_plugin_receivers

    connect_plugin_receivers("cms.djangoapp")


def require_demo_course() -> Path:
    """The demo course export; a test that needs it fails when ``../shared/olx`` is not beside the checkout."""
    if not (DEMO_COURSE / "course.xml").exists():
        pytest.fail(f"the demo course is not at {DEMO_COURSE} (../shared/olx beside the checkout)")
    return DEMO_COURSE


@pytest.fixture
def studio(settings, tmp_path):
    """The stand-in modulestore, empty, reading its courses from a fresh directory."""
    from xmodule.modulestore.django import clear_existing_modulestores, modulestore

    settings.MODULESTORE = {
        "default": {
            "ENGINE": "xmodule.modulestore.mixed.MixedModuleStore",
            "OPTIONS": {"olx_root": str(tmp_path / "modulestore")},
        }
    }
    clear_existing_modulestores()
    yield modulestore()
    clear_existing_modulestores()


@pytest.fixture
def backend(settings):
    """
    A reference backend on 127.0.0.1 that the plugin's settings point at. Every request
    the plugin sent it is checked when the test ends: against the OpenAPI document, and
    for the :func:`data_field_problems` that the document lets pass.
    """
    from reference_backend.server import ReferenceBackend
    from tests.support.openapi import validate_request

    with ReferenceBackend(token=settings.VIRTU_SYNC_API_TOKEN, secret=settings.VIRTU_SYNC_SIGNING_SECRET) as server:
        settings.VIRTU_SYNC_BACKEND_URL = server.url
        settings.VIRTU_SYNC_ALLOW_INSECURE_HTTP = True
        yield server
        for request in server.requests():
            if request.headers.get("user-agent", "").startswith("virtu-sync-plugin/"):
                validate_request(request.method, request.path, request.headers, request.body)
                problems = data_field_problems(json.loads(request.body).get("operations", []) if request.body else [])
                assert not problems, problems


def data_field_problems(operations: list[dict]) -> list[str]:
    """
    The operations (in their wire form) whose ``data`` has a field the contract does not define (a
    misnamed field, which a backend ignores), or that create without every field (the
    plugin is a revision-2 client), with what is wrong.
    """
    problems = []
    for operation in operations:
        defined = set(SAMPLE_FIELDS[operation["entity_type"]])
        data = set(operation.get("data", {}))
        where = f"{operation['operation']} of {operation['entity_id']}"
        if undefined := data - defined:
            problems.append(f"{where} has {', '.join(sorted(undefined))}, not defined for a {operation['entity_type']}")
        if operation["operation"] == "create" and (missing := defined - data):
            problems.append(f"{where} lacks {', '.join(sorted(missing))}")
    return problems


BROKER_DOWN = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def use_broker(broker_url: str | None) -> None:
    """Send tasks to ``broker_url``, as on a deployment, or (``None``) run them here, eagerly, as the tests do."""
    celery_app.conf.update(task_always_eager=broker_url is None, broker_url=broker_url or "memory://")
    celery_app._pool = None  # noqa: SLF001
    celery_app.amqp._producer_pool = None  # noqa: SLF001


@pytest.fixture
def non_eager():
    """:func:`use_broker` for a test: an in-memory broker, or (``BROKER_DOWN``) one that is not there."""
    yield use_broker
    use_broker(None)


@pytest.fixture
def sync_switch_on(db):
    """The ``virtu_sync.course_sync`` switch turned on, as an operator does in the admin."""
    from waffle.models import Switch

    return Switch.objects.create(name="virtu_sync.course_sync", active=True)


@pytest.fixture(autouse=True)
def fresh_caches():
    """Caches emptied after each test, as the database is (waffle and config models cache in both)."""
    yield
    from django.core.cache import cache
    from edx_django_utils.cache import RequestCache

    cache.clear()
    RequestCache.clear_all_namespaces()


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    """Retries of transient backend failures in milliseconds rather than seconds."""
    from virtu_sync_plugin import backend_client

    monkeypatch.setattr(
        backend_client,
        "DEFAULT_RETRY_POLICY",
        backend_client.RetryPolicy(max_attempts=3, max_seconds=5.0, base_delay=0.01, max_delay=0.05),
    )
