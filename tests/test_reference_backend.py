"""The reference backend, over real HTTP on 127.0.0.1: contract semantics, security, limits, faults, and its CLI.

Every request a test means to be conforming is checked against the OpenAPI document before it is sent, and
every response the document covers is checked after.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import selectors
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from reference_backend import Fault, ReferenceBackend, ReferenceBackendClient
from reference_backend.batches import parse_batch
from reference_backend.entities import BLOCK_KEY, COURSE_KEY, ENTITY_FIELDS, UTC_DATETIME, InvalidBatch
from tests.support import openapi
from tests.support.contract_samples import REVISION_2_FIELDS, SAMPLE_FIELDS

TOKEN = "test-token"
SECRET = "signing-secret"
COURSE_ID = "course-v1:VirtuX+MATH101+2026"
OTHER_COURSE_ID = "course-v1:VirtuX+PHYS101+2026"
BATCHES_PATH = "/course-sync/v1/batches"
USER_AGENT = "virtu-sync-plugin/0.0.0-test"


def block_id(block_type: str, name: str, course_id: str = COURSE_ID) -> str:
    return f"block-v1:{course_id.removeprefix('course-v1:')}+type@{block_type}+block@{name}"


TOPIC = block_id("chapter", "algebra")
OTHER_TOPIC = block_id("chapter", "geometry")
SUBTOPIC = block_id("sequential", "equations")
UNIT = block_id("vertical", "linear")
ASSESSMENT = block_id("problem", "quiz")


def create(entity_type: str, entity_id: str, parent_id: str | None, position: int | None, **fields: Any) -> dict:
    return {
        "operation_id": str(uuid.uuid4()),
        "operation": "create",
        "entity_type": entity_type,
        "entity_id": entity_id,
        "parent_id": parent_id,
        "position": position,
        "data": {**SAMPLE_FIELDS[entity_type], **fields},
    }


def update(entity_type: str, entity_id: str, data: dict[str, Any], **moves: Any) -> dict:
    operation = {"operation_id": str(uuid.uuid4()), "operation": "update", "entity_type": entity_type}
    return {**operation, "entity_id": entity_id, **moves, "data": data}


def delete(entity_type: str, entity_id: str) -> dict:
    return {
        "operation_id": str(uuid.uuid4()),
        "operation": "delete",
        "entity_type": entity_type,
        "entity_id": entity_id,
    }


def create_course(course_id: str = COURSE_ID) -> dict:
    return create("course", course_id, None, None)


def whole_course() -> list[dict]:
    """Creates of a course with one entity of each type, parents first."""
    return [
        create_course(),
        create("topic", TOPIC, COURSE_ID, 0),
        create("subtopic", SUBTOPIC, TOPIC, 0),
        create("unit", UNIT, SUBTOPIC, 0),
        create("assessment", ASSESSMENT, UNIT, 0),
    ]


def batch(*operations: dict, course_id: str = COURSE_ID) -> dict:
    return {
        "schema_version": 1,
        "batch_id": str(uuid.uuid4()),
        "course_id": course_id,
        "sent_at": "2026-11-24T10:00:00Z",
        "source": {"studio": "https://studio.example.org", "published_at": "2026-11-24T09:59:58Z"},
        "operations": list(operations),
    }


def encode(body: dict) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def sign(body: bytes, secret: str = SECRET, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def statuses(response: requests.Response) -> list[tuple[str, str | None]]:
    return [(result["status"], result.get("code")) for result in response.json()["results"]]


class Studio:
    """Sends requests to a backend as the plugin would, checking them and the responses against the document."""

    def __init__(self, backend: ReferenceBackendClient, session: requests.Session, secret: str | None = SECRET) -> None:
        self.backend = backend
        self.session = session
        self.secret = secret

    def post_batch(
        self,
        body: dict | bytes,
        *,
        headers: dict[str, str | None] | None = None,
        timeout: float = 5.0,
        conforming: bool = True,
    ) -> requests.Response:
        """POST a batch (signed when there is a secret); ``headers`` override the usual ones (None removes one).

        When ``conforming``, the request must conform to the document, and so must the response.
        """
        raw = body if isinstance(body, bytes) else encode(body)
        usual = {
            "Authorization": f"Bearer {TOKEN}",
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "Idempotency-Key": None if isinstance(body, bytes) else body["batch_id"],
            "X-Virtu-Signature": sign(raw, self.secret) if self.secret else None,
        }
        merged = {name: value for name, value in {**usual, **(headers or {})}.items() if value is not None}
        request = requests.Request("POST", self.backend.url + BATCHES_PATH, headers=merged, data=raw).prepare()
        if conforming:
            openapi.validate_request(request.method, request.url, request.headers, request.body)
        response = self.session.send(request, timeout=timeout, allow_redirects=False)
        if conforming:
            openapi.validate_http_response(response)
        return response

    def get_state(self, course_segment: str, *, token: str = TOKEN) -> requests.Response:
        """GET the state of a course, ``course_segment`` being the path segment exactly as sent."""
        url = f"{self.backend.url}/course-sync/v1/courses/{course_segment}/state"
        response = self.session.get(
            url, headers={"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT}, timeout=5
        )
        openapi.validate_http_response(response)
        return response


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False  # never through a proxy from the environment
        yield session


@pytest.fixture
def backend() -> Iterator[ReferenceBackend]:
    with ReferenceBackend(token=TOKEN, secret=SECRET) as backend:
        yield backend


@pytest.fixture
def studio(backend: ReferenceBackend, session: requests.Session) -> Studio:
    return Studio(backend, session)


# --- operations ---------------------------------------------------------------------------------------------


def test_creates_build_the_tree(studio: Studio, backend: ReferenceBackend) -> None:
    operations = whole_course()

    response = studio.post_batch(batch(*operations))

    assert response.status_code == 200
    assert response.json()["results"] == [
        {"operation_id": op["operation_id"], "status": "applied"} for op in operations
    ]
    assert backend.tree() == {
        op["entity_id"]: {
            "entity_type": op["entity_type"],
            "parent_id": op["parent_id"],
            "position": op["position"],
            "data": op["data"],
        }
        for op in operations
    }


def test_create_of_an_existing_entity_overwrites_it_and_keeps_its_subtree(
    studio: Studio, backend: ReferenceBackend
) -> None:
    studio.post_batch(batch(*whole_course(), create("topic", OTHER_TOPIC, COURSE_ID, 1)))

    response = studio.post_batch(batch(create("subtopic", SUBTOPIC, OTHER_TOPIC, 4, title="Moved", graded=False)))

    assert statuses(response) == [("applied", None)]
    tree = backend.tree()
    assert tree[SUBTOPIC] == {
        "entity_type": "subtopic",
        "parent_id": OTHER_TOPIC,
        "position": 4,
        "data": {**SAMPLE_FIELDS["subtopic"], "title": "Moved", "graded": False},
    }
    assert tree[UNIT]["parent_id"] == SUBTOPIC
    assert ASSESSMENT in tree


def test_create_under_a_missing_parent_fails_alone(studio: Studio, backend: ReferenceBackend) -> None:
    orphan = create("unit", UNIT, SUBTOPIC, 0)

    response = studio.post_batch(batch(create_course(), orphan, create("topic", TOPIC, COURSE_ID, 0)))

    assert statuses(response) == [("applied", None), ("failed", "parent_not_found"), ("applied", None)]
    assert SUBTOPIC in response.json()["results"][1]["detail"]
    assert sorted(backend.tree()) == sorted([COURSE_ID, TOPIC])


def test_create_under_a_parent_of_the_wrong_type_fails(studio: Studio, backend: ReferenceBackend) -> None:
    studio.post_batch(batch(create_course(), create("topic", TOPIC, COURSE_ID, 0)))

    response = studio.post_batch(batch(create("unit", UNIT, TOPIC, 0)))

    assert statuses(response) == [("failed", "parent_type_mismatch")]
    assert response.json()["results"][0]["detail"] == f"{TOPIC} is a topic; a unit's parent is a subtopic"
    assert UNIT not in backend.tree()


def test_create_under_a_parent_of_another_course_fails(studio: Studio) -> None:
    other_topic = block_id("chapter", "optics", OTHER_COURSE_ID)
    studio.post_batch(
        batch(
            create_course(OTHER_COURSE_ID), create("topic", other_topic, OTHER_COURSE_ID, 0), course_id=OTHER_COURSE_ID
        )
    )
    studio.post_batch(batch(create_course()))

    response = studio.post_batch(batch(create("subtopic", SUBTOPIC, other_topic, 0)))

    assert statuses(response) == [("failed", "parent_not_found")]


def test_an_id_stored_as_another_type_is_refused(studio: Studio, backend: ReferenceBackend) -> None:
    studio.post_batch(batch(*whole_course()))

    response = studio.post_batch(
        batch(create("unit", TOPIC, SUBTOPIC, 1), update("unit", TOPIC, {"title": "x"}), delete("unit", TOPIC))
    )

    assert statuses(response) == [("failed", "entity_type_mismatch")] * 3
    assert backend.tree()[TOPIC]["entity_type"] == "topic"


def test_course_operations_must_be_on_the_batch_course(studio: Studio, backend: ReferenceBackend) -> None:
    response = studio.post_batch(batch(create_course(OTHER_COURSE_ID), delete("course", OTHER_COURSE_ID)))

    assert statuses(response) == [("failed", "course_id_mismatch")] * 2
    assert backend.tree() == {}


def test_update_changes_only_the_given_fields(studio: Studio, backend: ReferenceBackend) -> None:
    studio.post_batch(batch(*whole_course()))

    response = studio.post_batch(batch(update("subtopic", SUBTOPIC, {"title": "Renamed", "due": None})))

    assert statuses(response) == [("applied", None)]
    assert backend.tree()[SUBTOPIC] == {
        "entity_type": "subtopic",
        "parent_id": TOPIC,
        "position": 0,
        "data": {**SAMPLE_FIELDS["subtopic"], "title": "Renamed", "due": None},
    }


def test_update_of_a_missing_entity_fails_with_not_found(studio: Studio, backend: ReferenceBackend) -> None:
    studio.post_batch(batch(create_course()))

    response = studio.post_batch(
        batch(update("topic", TOPIC, {"title": "x"}), update("course", COURSE_ID, {"title": "New"}))
    )

    assert statuses(response) == [("failed", "not_found"), ("applied", None)]
    assert backend.tree()[COURSE_ID]["data"]["title"] == "New"


def test_a_move_keeps_the_subtree(studio: Studio, backend: ReferenceBackend) -> None:
    studio.post_batch(batch(*whole_course(), create("topic", OTHER_TOPIC, COURSE_ID, 1)))

    response = studio.post_batch(batch(update("subtopic", SUBTOPIC, {}, parent_id=OTHER_TOPIC, position=0)))

    assert statuses(response) == [("applied", None)]
    tree = backend.tree()
    assert (tree[SUBTOPIC]["parent_id"], tree[SUBTOPIC]["position"]) == (OTHER_TOPIC, 0)
    assert tree[SUBTOPIC]["data"] == SAMPLE_FIELDS["subtopic"]
    assert tree[UNIT]["parent_id"] == SUBTOPIC and ASSESSMENT in tree


def test_a_move_under_a_missing_parent_fails_and_changes_nothing(studio: Studio, backend: ReferenceBackend) -> None:
    studio.post_batch(batch(*whole_course()))
    before = backend.tree()

    response = studio.post_batch(
        batch(update("unit", UNIT, {"title": "x"}, parent_id=block_id("sequential", "gone"), position=0))
    )

    assert statuses(response) == [("failed", "parent_not_found")]
    assert backend.tree() == before


def test_a_reposition_changes_only_the_position(studio: Studio, backend: ReferenceBackend) -> None:
    studio.post_batch(batch(*whole_course()))

    studio.post_batch(batch(update("assessment", ASSESSMENT, {}, position=3)))

    assert backend.tree()[ASSESSMENT] == {
        "entity_type": "assessment",
        "parent_id": UNIT,
        "position": 3,
        "data": SAMPLE_FIELDS["assessment"],
    }


def test_delete_removes_the_whole_subtree_and_nothing_else(studio: Studio, backend: ReferenceBackend) -> None:
    studio.post_batch(batch(*whole_course(), create("topic", OTHER_TOPIC, COURSE_ID, 1)))

    response = studio.post_batch(batch(delete("topic", TOPIC)))

    assert statuses(response) == [("applied", None)]
    assert sorted(backend.tree()) == sorted([COURSE_ID, OTHER_TOPIC])


def test_delete_of_a_missing_entity_is_applied(studio: Studio) -> None:
    response = studio.post_batch(batch(delete("unit", UNIT), delete("course", COURSE_ID)))

    assert statuses(response) == [("applied", None), ("applied", None)]


def test_delete_of_the_course_removes_it_all(studio: Studio, backend: ReferenceBackend) -> None:
    studio.post_batch(batch(*whole_course()))

    studio.post_batch(batch(delete("course", COURSE_ID)))

    assert backend.tree() == {}
    assert studio.get_state(quote(COURSE_ID, safe="")).status_code == 404


def test_operations_apply_in_the_order_given(studio: Studio, backend: ReferenceBackend) -> None:
    rename = update("topic", TOPIC, {"title": "Second"})

    response = studio.post_batch(
        batch(
            rename,
            create_course(),
            create("topic", TOPIC, COURSE_ID, 0, title="First"),
            update("topic", TOPIC, {"title": "Third"}),
        )
    )

    assert statuses(response) == [("failed", "not_found"), ("applied", None), ("applied", None), ("applied", None)]
    assert backend.tree()[TOPIC]["data"]["title"] == "Third"


def test_the_tree_can_be_read_for_one_course(studio: Studio, backend: ReferenceBackend) -> None:
    studio.post_batch(batch(create_course()))
    studio.post_batch(batch(create_course(OTHER_COURSE_ID), course_id=OTHER_COURSE_ID))

    assert list(backend.tree(OTHER_COURSE_ID)) == [OTHER_COURSE_ID]
    assert sorted(backend.tree()) == sorted([COURSE_ID, OTHER_COURSE_ID])


def test_a_revision_1_client_s_creates_are_accepted_and_stored_without_the_revision_2_fields(
    studio: Studio, backend: ReferenceBackend
) -> None:
    operations = whole_course()
    for operation in operations:
        for name in REVISION_2_FIELDS.get(operation["entity_type"], ()):
            del operation["data"][name]
    assert "description" not in operations[0]["data"] and "selection" not in operations[-1]["data"]

    response = studio.post_batch(batch(*operations))

    assert statuses(response) == [("applied", None)] * len(operations)
    tree = backend.tree()
    assert {entity_id: tree[entity_id]["data"] for entity_id in tree} == {
        op["entity_id"]: op["data"] for op in operations
    }
    studio.post_batch(batch(update("course", COURSE_ID, {"description": "Set by a revision-2 client."})))
    assert backend.tree()[COURSE_ID]["data"]["description"] == "Set by a revision-2 client."


def fingerprints(studio: Studio) -> dict[str, str]:
    entities = studio.get_state(quote(COURSE_ID, safe="")).json()["entities"]
    return {entity_id: entity["fingerprint"] for entity_id, entity in entities.items()}


def test_a_data_field_the_backend_does_not_know_is_ignored(studio: Studio, backend: ReferenceBackend) -> None:
    operations = whole_course()
    operations[1]["data"]["colour"] = "red"  # the topic
    operations[3]["data"]["graded"] = True  # the unit: a field of another entity type

    created = studio.post_batch(batch(*operations))
    updated = studio.post_batch(
        batch(update("subtopic", SUBTOPIC, {"title": "Renamed", "added_later": {"any": ["value"]}}))
    )

    assert statuses(created) == [("applied", None)] * 5 and statuses(updated) == [("applied", None)]
    tree = backend.tree()
    assert tree[TOPIC]["data"] == SAMPLE_FIELDS["topic"]
    assert tree[UNIT]["data"] == SAMPLE_FIELDS["unit"]
    assert tree[SUBTOPIC]["data"] == {**SAMPLE_FIELDS["subtopic"], "title": "Renamed"}
    assert fingerprints(studio) == {
        COURSE_ID: expected_fingerprint(SAMPLE_FIELDS["course"]),
        TOPIC: expected_fingerprint(SAMPLE_FIELDS["topic"]),
        SUBTOPIC: expected_fingerprint({**SAMPLE_FIELDS["subtopic"], "title": "Renamed"}),
        UNIT: expected_fingerprint(SAMPLE_FIELDS["unit"]),
        ASSESSMENT: expected_fingerprint(SAMPLE_FIELDS["assessment"]),
    }


def test_an_update_of_only_unknown_fields_is_applied_and_changes_nothing(
    studio: Studio, backend: ReferenceBackend
) -> None:
    studio.post_batch(batch(*whole_course()))
    tree, state = backend.tree(), fingerprints(studio)

    response = studio.post_batch(
        batch(update("topic", TOPIC, {"colour": "red"}), update("topic", OTHER_TOPIC, {"colour": "red"}))
    )

    assert statuses(response) == [("applied", None), ("failed", "not_found")]
    assert (backend.tree(), fingerprints(studio)) == (tree, state)


def test_a_known_field_beside_an_unknown_one_is_still_checked(studio: Studio, backend: ReferenceBackend) -> None:
    studio.post_batch(batch(*whole_course()))

    response = studio.post_batch(batch(update("unit", UNIT, {"colour": "red", "title": 1})), conforming=False)

    assert (response.status_code, response.json()["code"]) == (422, "invalid_batch")
    assert response.json()["detail"] == "operations[0].data.title: expected a string, got 1"
    assert backend.tree()[UNIT]["data"] == SAMPLE_FIELDS["unit"]


# --- idempotency --------------------------------------------------------------------------------------------


def test_a_repeated_batch_id_returns_the_stored_results_without_applying_again(
    studio: Studio, backend: ReferenceBackend
) -> None:
    first_batch = batch(*whole_course())
    first = studio.post_batch(first_batch)
    studio.post_batch(batch(update("topic", TOPIC, {"title": "Changed since"}), delete("unit", UNIT)))

    # A retry: the same batch and operations, sent (and so signed) again later.
    replay = studio.post_batch({**first_batch, "sent_at": "2026-11-24T10:05:00Z"})

    assert replay.status_code == 200
    assert replay.json() == first.json()
    assert backend.tree()[TOPIC]["data"]["title"] == "Changed since"
    assert UNIT not in backend.tree()
    assert all(count == 1 for count in backend.effects().values())
    assert set(backend.effects()) >= {op["operation_id"] for op in first_batch["operations"]}


def test_a_batch_id_reused_for_other_operations_is_refused(studio: Studio, backend: ReferenceBackend) -> None:
    first = batch(create_course())
    studio.post_batch(first)

    response = studio.post_batch({**first, "operations": [update("course", COURSE_ID, {"title": "Other"})]})

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"
    assert backend.tree()[COURSE_ID]["data"]["title"] == SAMPLE_FIELDS["course"]["title"]


def test_a_refused_batch_is_not_remembered(studio: Studio, backend: ReferenceBackend) -> None:
    body = batch(create_course())
    broken = {**body, "operations": [{**body["operations"][0], "data": {**SAMPLE_FIELDS["course"], "self_paced": 0}}]}
    assert studio.post_batch(broken, conforming=False).status_code == 422

    response = studio.post_batch(body)

    assert statuses(response) == [("applied", None)]
    assert COURSE_ID in backend.tree()


def test_concurrent_retries_of_one_batch_take_effect_once(backend: ReferenceBackend) -> None:
    body = batch(*whole_course())
    responses: list[requests.Response] = []

    def send() -> None:
        with requests.Session() as session:
            session.trust_env = False
            responses.append(Studio(backend, session).post_batch(body))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert len(responses) == 8
    assert len({response.content for response in responses}) == 1
    assert backend.effects() == {op["operation_id"]: 1 for op in body["operations"]}


def test_concurrent_batches_all_apply(backend: ReferenceBackend, session: requests.Session) -> None:
    Studio(backend, session).post_batch(batch(create_course()))
    topics = [block_id("chapter", f"topic{index}") for index in range(10)]
    responses: list[requests.Response] = []

    def send(topic: str, position: int) -> None:
        with requests.Session() as own_session:
            own_session.trust_env = False
            responses.append(
                Studio(backend, own_session).post_batch(batch(create("topic", topic, COURSE_ID, position)))
            )

    threads = [threading.Thread(target=send, args=(topic, index)) for index, topic in enumerate(topics)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert sorted(response.status_code for response in responses) == [200] * 10
    assert set(backend.tree()) == {COURSE_ID, *topics}


# --- authentication and signatures ----------------------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", f"Token {TOKEN}", TOKEN])
def test_a_batch_without_the_right_token_is_refused(
    studio: Studio, backend: ReferenceBackend, authorization: str | None
) -> None:
    response = studio.post_batch(batch(create_course()), headers={"Authorization": authorization}, conforming=False)

    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    openapi.validate_http_response(response)
    assert backend.tree() == {}


def test_the_state_and_admin_endpoints_need_the_token(
    studio: Studio, backend: ReferenceBackend, session: requests.Session
) -> None:
    assert studio.get_state(quote(COURSE_ID, safe=""), token="wrong").status_code == 401
    for method, path in [
        ("GET", "/_reference/tree"),
        ("GET", "/_reference/requests"),
        ("POST", "/_reference/reset"),
        ("POST", "/_reference/faults"),
    ]:
        assert session.request(method, backend.url + path, json={}).status_code == 401, path


@pytest.mark.parametrize(
    ("signature", "code"),
    [
        (None, "missing_signature"),
        ("v1=00,t=1", "malformed_signature"),
        ("t=1795514400, v1=" + "0" * 64, "malformed_signature"),
        (lambda body: sign(body, "another-secret"), "bad_signature"),
        (lambda body: sign(body + b" "), "bad_signature"),
        (lambda body: sign(body, timestamp=int(time.time()) - 301), "signature_expired"),
        (lambda body: sign(body, timestamp=int(time.time()) + 301), "signature_expired"),
    ],
    ids=["missing", "malformed", "space", "other-secret", "other-body", "too-old", "too-far-ahead"],
)
def test_a_bad_signature_is_refused(studio: Studio, backend: ReferenceBackend, signature: Any, code: str) -> None:
    body = batch(create_course())
    header = signature(encode(body)) if callable(signature) else signature

    response = studio.post_batch(body, headers={"X-Virtu-Signature": header}, conforming=False)

    assert (response.status_code, response.json()["code"]) == (401, code)
    openapi.validate_http_response(response)
    assert backend.tree() == {}


def test_a_signature_within_the_tolerance_is_accepted(studio: Studio) -> None:
    body = batch(create_course())

    response = studio.post_batch(
        body, headers={"X-Virtu-Signature": sign(encode(body), timestamp=int(time.time()) - 290)}
    )

    assert statuses(response) == [("applied", None)]


def test_without_a_secret_no_signature_is_needed(session: requests.Session) -> None:
    with ReferenceBackend(token=TOKEN) as unsigned_backend:
        response = Studio(unsigned_backend, session, secret=None).post_batch(batch(create_course()))

    assert statuses(response) == [("applied", None)]


# --- limits and malformed requests ----------------------------------------------------------------------------


def test_more_operations_than_the_limit_is_refused(session: requests.Session) -> None:
    with ReferenceBackend(token=TOKEN, secret=SECRET, max_operations=3) as small_backend:
        studio = Studio(small_backend, session)
        refused = studio.post_batch(batch(*whole_course()[:4]))
        accepted = studio.post_batch(batch(*whole_course()[:3]))
        tree = small_backend.tree()

    assert (refused.status_code, refused.json()["code"]) == (413, "too_many_operations")
    assert accepted.status_code == 200
    assert sorted(tree) == sorted([COURSE_ID, TOPIC, SUBTOPIC])


def test_a_body_larger_than_the_limit_is_refused(session: requests.Session) -> None:
    with ReferenceBackend(token=TOKEN, secret=SECRET, max_body_bytes=4096) as small_backend:
        studio = Studio(small_backend, session)
        large = studio.post_batch(batch(create_course(), create("topic", TOPIC, COURSE_ID, 0, title="x" * 5000)))
        small = studio.post_batch(batch(create_course()))
        tree = small_backend.tree()

    assert (large.status_code, large.json()["code"]) == (413, "payload_too_large")
    assert small.status_code == 200
    assert list(tree) == [COURSE_ID]


@pytest.mark.parametrize(
    "raw",
    [b'{"schema_version": 1,', b"\xff\xfe{}", b'{"schema_version": NaN}', b""],
    ids=["truncated", "not-utf-8", "nan", "empty"],
)
def test_a_body_that_is_not_json_is_a_400(studio: Studio, raw: bytes) -> None:
    response = studio.post_batch(raw, headers={"Idempotency-Key": "k"}, conforming=False)

    assert (response.status_code, response.json()["code"]) == (400, "invalid_json")
    openapi.validate_http_response(response)


@pytest.mark.parametrize(
    ("change", "expected_detail"),
    [
        (lambda body: body["operations"][0].update(colour="red"), "operations[0]: unexpected colour"),
        (
            lambda body: body["operations"][0]["data"].pop("run"),
            "operations[0].data: a course create needs every revision-1 field; missing: run",
        ),
        (
            lambda body: body["operations"][0]["data"].update(start="2026-09-01"),
            "operations[0].data.start: expected a UTC datetime",
        ),
        (lambda body: body["operations"][0].update(parent_id=COURSE_ID), "operations[0].parent_id: expected null"),
        (lambda body: body.update(schema_version=2), "schema_version: expected 1, got 2"),
        (lambda body: body["operations"].append(body["operations"][0]), "operations: operation_id used more than once"),
        (lambda body: body.update(operations=[]), "operations: expected a non-empty array"),
    ],
    ids=[
        "extra-operation-key",
        "missing-field",
        "bad-date",
        "course-with-parent",
        "schema-version",
        "duplicate-operation-id",
        "no-operations",
    ],
)
def test_a_body_that_breaks_the_schema_is_a_422_saying_where(
    studio: Studio, backend: ReferenceBackend, change: Any, expected_detail: str
) -> None:
    body = batch(create_course())
    change(body)

    response = studio.post_batch(body, conforming=False)

    assert (response.status_code, response.json()["code"]) == (422, "invalid_batch")
    assert expected_detail in response.json()["detail"]
    openapi.validate_http_response(response)
    assert backend.tree() == {}


@pytest.mark.parametrize("idempotency_key", [None, "another-id"])
def test_the_idempotency_key_must_be_the_batch_id(
    studio: Studio, backend: ReferenceBackend, idempotency_key: str | None
) -> None:
    response = studio.post_batch(batch(create_course()), headers={"Idempotency-Key": idempotency_key}, conforming=False)

    assert (response.status_code, response.json()["code"]) == (400, "bad_idempotency_key")
    openapi.validate_http_response(response)
    assert backend.tree() == {}


def test_an_unknown_path_is_a_404(backend: ReferenceBackend, session: requests.Session) -> None:
    response = session.get(backend.url + "/course-sync/v2/batches", headers={"Authorization": f"Bearer {TOKEN}"})

    assert (response.status_code, response.json()["code"]) == (404, "not_found")


# --- state ----------------------------------------------------------------------------------------------------


def expected_fingerprint(fields: dict[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_the_state_has_each_entity_with_the_fingerprint_of_its_fields_as_last_applied(studio: Studio) -> None:
    studio.post_batch(batch(*whole_course()))
    studio.post_batch(batch(update("topic", TOPIC, {"title": "Álgebra ✓"}), update("unit", UNIT, {}, position=2)))

    response = studio.get_state(quote(COURSE_ID, safe=""))

    assert response.status_code == 200
    topic_fields = {**SAMPLE_FIELDS["topic"], "title": "Álgebra ✓"}
    assert response.json() == {
        "course_id": COURSE_ID,
        "entities": {
            COURSE_ID: {
                "entity_type": "course",
                "parent_id": None,
                "position": None,
                "fingerprint": expected_fingerprint(SAMPLE_FIELDS["course"]),
            },
            TOPIC: {
                "entity_type": "topic",
                "parent_id": COURSE_ID,
                "position": 0,
                "fingerprint": expected_fingerprint(topic_fields),
            },
            SUBTOPIC: {
                "entity_type": "subtopic",
                "parent_id": TOPIC,
                "position": 0,
                "fingerprint": expected_fingerprint(SAMPLE_FIELDS["subtopic"]),
            },
            UNIT: {
                "entity_type": "unit",
                "parent_id": SUBTOPIC,
                "position": 2,
                "fingerprint": expected_fingerprint(SAMPLE_FIELDS["unit"]),
            },
            ASSESSMENT: {
                "entity_type": "assessment",
                "parent_id": UNIT,
                "position": 0,
                "fingerprint": expected_fingerprint(SAMPLE_FIELDS["assessment"]),
            },
        },
    }
    # Not ASCII-escaped: an ensure_ascii=True fingerprint would differ.
    escaped = hashlib.sha256(json.dumps(topic_fields, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert response.json()["entities"][TOPIC]["fingerprint"] != escaped


def test_the_fingerprint_keeps_the_json_form_of_numbers(studio: Studio) -> None:
    studio.post_batch(batch(*whole_course()))
    studio.post_batch(batch(update("assessment", ASSESSMENT, {"weight": 2})))

    entities = studio.get_state(quote(COURSE_ID, safe="")).json()["entities"]

    assert entities[ASSESSMENT]["fingerprint"] == expected_fingerprint({**SAMPLE_FIELDS["assessment"], "weight": 2})
    assert entities[ASSESSMENT]["fingerprint"] != expected_fingerprint({**SAMPLE_FIELDS["assessment"], "weight": 2.0})


@pytest.mark.parametrize(
    ("segment", "status"),
    [
        ("course-v1%3AVirtuX%2BMATH101%2B2026", 200),  # as documented: quote(course_id, safe="")
        ("course-v1:VirtuX+MATH101+2026", 200),  # ":" and "+" are legal in a path; "+" is a plus, not a space
        ("course-v1%3aVirtuX%2bMATH101%2b2026", 200),  # lower-case hex digits decode alike
        ("course-v1%3AvirtuX%2BMATH101%2B2026", 404),  # course keys are case-sensitive
        ("course-v1:VirtuX%20MATH101%202026", 404),  # a space is not a plus
    ],
)
def test_the_state_url_percent_decodes_the_course_id(studio: Studio, segment: str, status: int) -> None:
    studio.post_batch(batch(create_course()))

    response = studio.get_state(segment)

    assert response.status_code == status
    if status == 200:
        assert response.json()["course_id"] == COURSE_ID


def test_the_state_of_an_unknown_course_is_a_404(studio: Studio) -> None:
    response = studio.get_state(quote(OTHER_COURSE_ID, safe=""))

    assert (response.status_code, response.json()["code"]) == (404, "course_not_found")


# --- faults ---------------------------------------------------------------------------------------------------


def test_fail_answers_the_status_for_the_next_requests_without_applying(
    studio: Studio, backend: ReferenceBackend
) -> None:
    body = batch(create_course())
    backend.set_faults(Fault.fail(503, count=2), Fault.fail(429, retry_after=7), Fault.fail(413))

    answers = [studio.post_batch(body) for _ in range(5)]

    assert [answer.status_code for answer in answers] == [503, 503, 429, 413, 200]
    assert answers[2].headers["Retry-After"] == "7"
    assert "Retry-After" not in answers[0].headers
    assert backend.effects() == {body["operations"][0]["operation_id"]: 1}


def test_latency_delays_each_contract_request(studio: Studio, backend: ReferenceBackend) -> None:
    backend.set_faults(latency=0.3)

    started = time.monotonic()
    studio.post_batch(batch(create_course()))
    studio.get_state(quote(COURSE_ID, safe=""))
    elapsed = time.monotonic() - started

    assert 0.6 <= elapsed < 3
    started = time.monotonic()
    backend.tree()
    assert time.monotonic() - started < 0.3


def test_hang_outlasts_the_client_timeout_and_applies_nothing(studio: Studio, backend: ReferenceBackend) -> None:
    body = batch(create_course())
    backend.set_faults(Fault.hang(30))

    with pytest.raises(requests.Timeout):
        studio.post_batch(body, timeout=0.3)
    assert backend.tree() == {}

    assert statuses(studio.post_batch(body)) == [("applied", None)]


def test_drop_after_apply_applies_then_closes_the_connection(studio: Studio, backend: ReferenceBackend) -> None:
    body = batch(*whole_course())
    backend.set_faults(Fault.drop_after_apply())

    with pytest.raises(requests.ConnectionError):
        studio.post_batch(body)
    assert len(backend.tree()) == 5

    retry = studio.post_batch(body)
    assert statuses(retry) == [("applied", None)] * 5
    assert backend.effects() == {op["operation_id"]: 1 for op in body["operations"]}


def test_html_answers_a_page_the_document_does_not_allow(studio: Studio, backend: ReferenceBackend) -> None:
    backend.set_faults(Fault.html(), Fault.html(status=502))

    page = studio.post_batch(batch(create_course()), conforming=False)
    gateway_page = studio.post_batch(batch(create_course()), conforming=False)

    assert (page.status_code, page.headers["Content-Type"]) == (200, "text/html; charset=utf-8")
    assert page.text.startswith("<!DOCTYPE html>")
    assert gateway_page.status_code == 502
    with pytest.raises(AssertionError, match="Content-Type 'text/html' is not one of"):
        openapi.validate_http_response(page)
    assert backend.tree() == {}


def test_invalid_json_applies_then_answers_a_truncated_body(studio: Studio, backend: ReferenceBackend) -> None:
    body = batch(create_course())
    backend.set_faults(Fault.invalid_json())

    response = studio.post_batch(body, conforming=False)

    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()
    with pytest.raises(AssertionError, match="response body is not UTF-8 JSON"):
        openapi.validate_http_response(response)
    assert COURSE_ID in backend.tree()
    assert studio.post_batch(body).json()["results"][0]["status"] == "applied"


def test_wrong_length_applies_then_leaves_out_the_last_result(studio: Studio, backend: ReferenceBackend) -> None:
    body = batch(*whole_course())
    backend.set_faults(Fault.wrong_length())

    response = studio.post_batch(body)

    assert [result["operation_id"] for result in response.json()["results"]] == [
        op["operation_id"] for op in body["operations"][:-1]
    ]
    assert len(backend.tree()) == 5


def test_unknown_operation_ids_applies_then_answers_other_ids(studio: Studio, backend: ReferenceBackend) -> None:
    body = batch(*whole_course())
    backend.set_faults(Fault.unknown_operation_ids())

    response = studio.post_batch(body)

    answered = {result["operation_id"] for result in response.json()["results"]}
    assert len(answered) == 5 and not answered & {op["operation_id"] for op in body["operations"]}
    assert len(backend.tree()) == 5


def test_fail_operations_refuses_only_those_and_remembers_it(studio: Studio, backend: ReferenceBackend) -> None:
    operations = whole_course()
    body = batch(*operations)
    backend.set_faults(Fault.fail_operations([operations[4]["operation_id"]]))

    response = studio.post_batch(body)
    replay = studio.post_batch(body)

    assert statuses(response) == [("applied", None)] * 4 + [("failed", "refused")]
    assert replay.json() == response.json()
    assert ASSESSMENT not in backend.tree()
    assert operations[4]["operation_id"] not in backend.effects()


def test_redirect_answers_a_location_without_applying(studio: Studio, backend: ReferenceBackend) -> None:
    backend.set_faults(Fault.redirect("http://127.0.0.1:9/elsewhere", status=308))

    response = studio.post_batch(batch(create_course()), conforming=False)

    assert (response.status_code, response.headers["Location"]) == (308, "http://127.0.0.1:9/elsewhere")
    with pytest.raises(AssertionError, match="status 308 is not documented"):
        openapi.validate_http_response(response)
    assert backend.tree() == {}


def test_faults_are_set_over_http_and_unauthenticated_requests_do_not_use_them(
    studio: Studio, backend: ReferenceBackend, session: requests.Session
) -> None:
    answer = session.post(
        backend.url + "/_reference/faults",
        json={"faults": [{"mode": "status", "status": 500, "count": 2}], "latency": 0},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert answer.json() == {"faults": [{"mode": "status", "count": 2, "status": 500}], "latency": 0.0}

    assert (
        studio.post_batch(batch(create_course()), headers={"Authorization": None}, conforming=False).status_code == 401
    )
    assert [studio.post_batch(batch(create_course())).status_code for _ in range(3)] == [500, 500, 200]


@pytest.mark.parametrize(
    "plan",
    [
        {"faults": [{"mode": "explode"}]},
        {"faults": [{"mode": "status"}]},
        {"faults": [{"mode": "hang", "seconds": -1}]},
        {"faults": [{"mode": "status", "status": 503, "count": 0}]},
        {"faults": [{"mode": "fail_operations", "operation_ids": "op"}]},
        {"faults": [], "latency": "slow"},
        {"fault": []},
    ],
)
def test_a_wrong_fault_plan_is_a_400(backend: ReferenceBackend, session: requests.Session, plan: dict) -> None:
    response = session.post(backend.url + "/_reference/faults", json=plan, headers={"Authorization": f"Bearer {TOKEN}"})

    assert (response.status_code, response.json()["code"]) == (400, "invalid_faults")


def test_reset_forgets_everything(studio: Studio, backend: ReferenceBackend) -> None:
    body = batch(create_course())
    studio.post_batch(body)
    backend.set_faults(Fault.fail(503))

    backend.reset()

    assert (backend.tree(), backend.effects(), backend.requests()) == ({}, {}, [])
    assert statuses(studio.post_batch(body)) == [("applied", None)]


def test_requests_keeps_the_exact_bytes_and_headers_received(studio: Studio, backend: ReferenceBackend) -> None:
    raw = encode(batch(create_course(), create("topic", TOPIC, COURSE_ID, 0, title="Ünïcode"))).replace(b", ", b",  ")

    studio.post_batch(raw, headers={"Idempotency-Key": json.loads(raw)["batch_id"]})
    studio.get_state(quote(COURSE_ID, safe=""))

    received = backend.requests()
    assert [(request.method, request.path) for request in received] == [
        ("POST", BATCHES_PATH),
        ("GET", "/course-sync/v1/courses/course-v1%3AVirtuX%2BMATH101%2B2026/state"),
    ]
    assert received[0].body == raw
    assert received[0].headers["idempotency-key"] == json.loads(raw)["batch_id"]
    assert received[0].headers["user-agent"] == USER_AGENT
    openapi.validate_request(received[0].method, received[0].path, received[0].headers, received[0].body)


# --- the backend's own checks agree with the OpenAPI document ------------------------------------------------


def test_the_backend_field_lists_and_patterns_are_the_documents() -> None:
    schemas = openapi.load_document()["components"]["schemas"]
    for entity_type, fields in ENTITY_FIELDS.items():
        assert list(schemas[f"{entity_type.capitalize()}Fields"]["properties"]) == list(fields), entity_type
    assert schemas["UtcDateTime"]["pattern"] == f"^{UTC_DATETIME.pattern}$"
    assert schemas["NullableUtcDateTime"]["pattern"] == f"^{UTC_DATETIME.pattern}$"
    assert schemas["CourseKey"]["pattern"] == f"^{COURSE_KEY.pattern}$"
    assert schemas["BlockKey"]["pattern"] == f"^{BLOCK_KEY.pattern}$"


ODD_KEYS = [COURSE_ID, UNIT, "block-v1:VirtuX+MATH101+2026", UNIT.replace("+type@", "+branch@draft+type@"), 7, None]
ODD_VALUES_BY_BATCH_KEY: dict[str, list[Any]] = {
    "schema_version": [1.0, True, 2, "1", None],
    "batch_id": ["b" * 128, "b" * 129, "", 5, None],
    "course_id": ODD_KEYS,
    "sent_at": ["2026-09-01", "2026-13-01T00:00:00Z", "", None],
    "source": [
        {"studio": "studio.example.org", "published_at": "2026-11-24T09:59:58Z"},
        {"studio": "http://studio.local", "published_at": "2026-11-24T09:59:58Z", "lms": "x"},
        {"studio": "http://studio.local"},
        None,
    ],
    "operations": [[], {}, None],
    "extra": [1],
}
ODD_VALUES_BY_OPERATION_KEY: dict[str, list[Any]] = {
    "operation_id": ["x" * 128, "x" * 129, "", 7, None],
    "operation": ["create", "update", "delete", "upsert", None],
    "entity_type": ["course", "topic", "unit", "chapter", None],
    "entity_id": ODD_KEYS,
    "parent_id": [*ODD_KEYS, TOPIC],
    "position": [None, 0, -1, 1.0, 2.5, "1", True],
    "data": [None, [], {}, "x"],
    "extra": [1],
}
ODD_FIELD_VALUES = [None, True, 1, 2.5, "", "2026-09-01", "2026-09-01T00:00:00Z"]
ALL_FIELD_NAMES = sorted({name for fields in ENTITY_FIELDS.values() for name in fields} | {"colour"})


def well_formed_operations() -> Iterator[dict[str, Any]]:
    """One well-formed operation of each shape: every create, update (fields, re-position, move) and delete."""
    for entity_type, fields in SAMPLE_FIELDS.items():
        entity_id = COURSE_ID if entity_type == "course" else block_id("chapter", "x")
        parent_id = None if entity_type == "course" else COURSE_ID if entity_type == "topic" else TOPIC
        yield create(entity_type, entity_id, parent_id, None if entity_type == "course" else 0)
        yield update(entity_type, entity_id, dict(list(fields.items())[-2:]))
        yield delete(entity_type, entity_id)
        if entity_type != "course":
            yield update(entity_type, entity_id, {}, position=2)
            yield update(entity_type, entity_id, {}, parent_id=parent_id, position=0)


def with_one_change(operation: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The operation with one key, or one field of its data, removed, added or given an odd value."""
    for key, values in ODD_VALUES_BY_OPERATION_KEY.items():
        if key in operation:
            yield {name: value for name, value in operation.items() if name != key}
        for value in values:
            yield {**operation, key: value}
    if not operation.get("data"):
        return
    data, own_fields = operation["data"], SAMPLE_FIELDS[operation["entity_type"]]
    for field_name in ALL_FIELD_NAMES:
        if field_name in data:
            yield {**operation, "data": {name: value for name, value in data.items() if name != field_name}}
        for value in ODD_FIELD_VALUES if field_name in own_fields else [None]:
            yield {**operation, "data": {**data, field_name: value}}


def with_one_batch_change(body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The batch with one top-level key removed, added or given an odd value."""
    for key, values in ODD_VALUES_BY_BATCH_KEY.items():
        if key in body:
            yield {name: value for name, value in body.items() if name != key}
        for value in values:
            yield {**body, key: value}


def test_the_backend_refuses_exactly_the_batches_the_document_refuses() -> None:
    cases = [
        *(batch(changed) for operation in well_formed_operations() for changed in with_one_change(operation)),
        *with_one_batch_change(batch(*whole_course())),
    ]
    disagreements = []
    for body in cases:
        document_accepts = openapi.is_valid("Batch", body)
        try:
            parse_batch(body, max_operations=10)
        except InvalidBatch as error:
            if document_accepts:
                disagreements.append(f"only the backend refuses {body}: {error}")
        else:
            if not document_accepts:
                disagreements.append(f"only the document refuses {body}")

    assert len(cases) > 1000
    assert disagreements == []


REVISION_2_VALUES: dict[str, list[Any]] = {
    "description": ["<p>Text</p>", "", None, 3],
    "other_settings": [{}, {"examination_level": "MSCE", "nested": [1, {"a": None}]}, [], None],
    "grading_policy": [
        None,
        {"graders": [], "cutoffs": {}},
        {
            "graders": [{"type": "HW", "short_label": None, "min_count": 2, "drop_count": 0, "weight": 1}],
            "cutoffs": {"A": 0.9},
        },
        {"graders": [{"type": "HW"}], "cutoffs": {}},
        {"graders": [], "cutoffs": {"A": "0.9"}},
        {"graders": []},
        {"graders": [], "cutoffs": {}, "extra": 1},
    ],
    "points": [0, 1.5, None, "1", True],
    "selection": [
        [],
        [{"kind": "random", "container_id": UNIT, "count": 2}],
        [{"kind": "random", "container_id": UNIT, "count": -1}, {"kind": "conditional", "container_id": UNIT}],
        [{"kind": "random", "container_id": UNIT, "count": None}],
        [{"kind": "random", "container_id": UNIT, "count": 1.5}],
        [{"kind": "random", "container_id": UNIT}],
        [{"kind": "group", "container_id": UNIT, "group_id": "0", "group_name": None}],
        [{"kind": "group", "container_id": UNIT, "group_id": 0, "group_name": "A"}],
        [{"kind": "group", "container_id": COURSE_ID, "group_id": "0", "group_name": "A"}],
        [{"kind": "conditional", "container_id": UNIT, "count": 1}],
        [{"kind": "lottery", "container_id": UNIT}],
        [None],
        None,
    ],
}


def test_the_backend_and_the_document_agree_on_the_revision_2_values() -> None:
    cases = []
    for entity_type in ("course", "assessment"):
        operation = next(op for op in well_formed_operations() if op["entity_type"] == entity_type)
        for name, values in REVISION_2_VALUES.items():
            if name in operation["data"]:
                cases.extend(batch({**operation, "data": {**operation["data"], name: value}}) for value in values)
    accepted = []
    for body in cases:
        document_accepts = openapi.is_valid("Batch", body)
        try:
            parse_batch(body, max_operations=10)
            backend_accepts = True
        except InvalidBatch:
            backend_accepts = False
        assert backend_accepts == document_accepts, body
        accepted.append(backend_accepts)
    assert len(cases) == 33 and accepted.count(True) == 16


# --- the command line -----------------------------------------------------------------------------------------


def start_cli(*arguments: str) -> tuple[subprocess.Popen[str], str]:
    """Start ``python -m reference_backend`` and return the process and the URL it prints (waiting 10 s at most)."""
    repository = Path(__file__).resolve().parents[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "reference_backend", "--port", "0", *arguments],
        cwd=repository,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(repository)},
    )
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout=10):
            process.kill()
            raise AssertionError("python -m reference_backend printed nothing within 10 s")
    line = process.stdout.readline()
    assert line.startswith("listening on http://127.0.0.1:"), line
    return process, line.removeprefix("listening on ").strip()


def stop_cli(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()


def test_the_command_line_serves_and_keeps_its_data_across_a_restart(tmp_path: Path, session: requests.Session) -> None:
    database = str(tmp_path / "backend.sqlite3")
    body = batch(*whole_course())
    process, url = start_cli("--db", database, "--token", TOKEN, "--secret", SECRET)
    try:
        first = Studio(ReferenceBackendClient(url, TOKEN), session).post_batch(body)
    finally:
        stop_cli(process)
    assert statuses(first) == [("applied", None)] * 5

    process, url = start_cli("--db", database, "--token", TOKEN, "--secret", SECRET)
    try:
        restarted = ReferenceBackendClient(url, TOKEN)
        tree = restarted.tree()
        replay = Studio(restarted, session).post_batch(body)
        effects = restarted.effects()
        unsigned = Studio(restarted, session, secret=None).post_batch(
            batch(delete("course", COURSE_ID)), conforming=False
        )
    finally:
        stop_cli(process)

    assert set(tree) == {op["entity_id"] for op in body["operations"]}
    assert replay.json() == first.json()
    assert effects == {op["operation_id"]: 1 for op in body["operations"]}
    assert unsigned.status_code == 401
