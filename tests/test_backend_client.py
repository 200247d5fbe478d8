"""The backend client against a real reference backend on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import uuid

import pytest

from reference_backend.faults import Fault
from tests.support.openapi import validate_request
from tests.support.outlines import COURSE_ID, make_outline, node
from virtu_sync_plugin.backend_client import (
    BackendClient,
    BatchTooLargeError,
    PermanentBackendError,
    TransientBackendError,
    UnreadableAnswerError,
    sign,
)
from virtu_sync_plugin.change_processor import BatchEnvelope
from virtu_sync_plugin.conf import get_sync_settings
from virtu_sync_plugin.core.diff import diff_outlines

OUTLINE = make_outline(node("topic", "algebra", node("subtopic", "equations", node("unit", "linear"))))


def batch_body(operations=None, batch_id=None):
    operations = diff_outlines(None, OUTLINE) if operations is None else operations
    envelope = BatchEnvelope(
        COURSE_ID, "https://studio.example.org", "2026-11-24T09:59:58Z", lambda: "2026-11-24T10:00:00Z"
    )
    return envelope.body(batch_id or str(uuid.uuid4()), [op.to_dict() for op in operations])


@pytest.fixture
def client(backend):
    return BackendClient(get_sync_settings())


def test_a_batch_is_sent_as_the_contract_says_and_applied(client, backend, settings):
    body = batch_body()
    response = client.send_batch(body)
    assert [result.status for result in response.results] == ["applied"] * 4
    assert [result.operation_id for result in response.results] == [op["operation_id"] for op in body["operations"]]
    (request,) = backend.requests()
    validate_request(request.method, request.path, request.headers, request.body)
    assert request.headers["authorization"] == f"Bearer {settings.VIRTU_SYNC_API_TOKEN}"
    assert request.headers["idempotency-key"] == body["batch_id"]
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert request.headers["user-agent"].startswith("virtu-sync-plugin/")
    timestamp = request.headers["x-virtu-signature"].split(",")[0][2:]
    assert request.headers["x-virtu-signature"] == sign(
        settings.VIRTU_SYNC_SIGNING_SECRET, request.body, timestamp=int(timestamp)
    )
    assert json.loads(request.body) == body
    assert set(backend.tree(COURSE_ID)) == set(OUTLINE.entities)


def test_a_resent_batch_id_is_answered_without_applying_again(client, backend):
    body = batch_body()
    first = client.send_batch(body)
    again = client.send_batch(body)
    assert again == first
    assert set(backend.effects().values()) == {1}


def test_transient_failures_are_retried_with_the_same_batch(client, backend):
    backend.set_faults(Fault.fail(503), Fault.fail(429, retry_after=0))
    body = batch_body()
    client.send_batch(body)
    requests = backend.requests()
    assert len(requests) == 3
    assert {request.headers["idempotency-key"] for request in requests} == {body["batch_id"]}
    assert {request.body for request in requests} == {requests[0].body}


def test_a_dropped_answer_after_apply_is_retried_and_takes_effect_once(client, backend):
    backend.set_faults(Fault.drop_after_apply())
    response = client.send_batch(batch_body())
    assert {result.status for result in response.results} == {"applied"}
    assert set(backend.effects().values()) == {1}


def test_retries_are_bounded_then_the_failure_is_transient(client, backend):
    backend.set_faults(Fault.fail(502, count=10))
    with pytest.raises(TransientBackendError, match="HTTP 502.*gave up after 3 attempts"):
        client.send_batch(batch_body())
    assert len(backend.requests()) == 3


def test_a_backend_that_hangs_costs_one_read_timeout_per_attempt(backend, settings):
    settings.VIRTU_SYNC_TIMEOUT = (0.5, 0.3)
    backend.set_faults(Fault.hang(5, count=3))
    with pytest.raises(TransientBackendError, match="ReadTimeout"):
        BackendClient(get_sync_settings()).send_batch(batch_body())


def test_a_backend_that_is_down_is_a_transient_failure(settings):
    settings.VIRTU_SYNC_BACKEND_URL = "http://127.0.0.1:9"  # discard port: nothing listens
    settings.VIRTU_SYNC_ALLOW_INSECURE_HTTP = True
    with pytest.raises(TransientBackendError, match="ConnectionError"):
        BackendClient(get_sync_settings()).send_batch(batch_body())


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (Fault.html(403), "HTTP 403"),
        (Fault.redirect("http://evil.example/course-sync/v1/batches"), "redirect to http://evil.example refused"),
        (Fault.fail(422), "HTTP 422"),
    ],
)
def test_refusals_are_permanent_errors_and_not_retried(client, backend, fault, message):
    backend.set_faults(fault)
    with pytest.raises(PermanentBackendError, match=message):
        client.send_batch(batch_body())
    assert len(backend.requests()) == 1
    assert backend.tree(COURSE_ID) == {}


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (Fault.html(200), "not a JSON object"),
        (Fault.invalid_json(), "not a JSON object"),
        (Fault.wrong_length(), "3 results for 4 operations"),
        (Fault.unknown_operation_ids(), "do not match the operations"),
    ],
)
def test_a_200_answer_that_breaks_the_contract_is_unreadable_and_not_retried(client, backend, fault, message):
    backend.set_faults(fault)
    with pytest.raises(UnreadableAnswerError, match=message):
        client.send_batch(batch_body())
    assert len(backend.requests()) == 1


def test_413_is_its_own_error(client, backend):
    backend.set_faults(Fault.fail(413))
    with pytest.raises(BatchTooLargeError):
        client.send_batch(batch_body())


def test_partial_failures_come_back_per_operation(client, backend):
    body = batch_body()
    refused = body["operations"][2]["operation_id"]
    backend.set_faults(Fault.fail_operations([refused]))
    response = client.send_batch(body)
    assert [(result.status, result.code) for result in response.results] == [
        ("applied", ""),
        ("applied", ""),
        ("failed", "refused"),
        ("failed", "parent_not_found"),
    ]


def test_plain_http_is_refused_unless_allowed(settings):
    settings.VIRTU_SYNC_BACKEND_URL = "http://virtu.example"
    settings.VIRTU_SYNC_ALLOW_INSECURE_HTTP = False
    with pytest.raises(Exception, match="plain http"):
        get_sync_settings()


def test_secrets_never_appear_in_errors_or_logs(client, backend, settings, caplog):
    caplog.set_level(logging.DEBUG)
    backend.set_faults(Fault.fail(503, count=5))
    with pytest.raises(TransientBackendError) as error:
        client.send_batch(batch_body())
    seen = str(error.value) + repr(error.value) + caplog.text + repr(get_sync_settings())
    assert settings.VIRTU_SYNC_API_TOKEN not in seen
    assert settings.VIRTU_SYNC_SIGNING_SECRET not in seen
