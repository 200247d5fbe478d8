"""The OpenAPI document of the course-sync v1 contract: valid OpenAPI 3.1, and precise about what it accepts."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from tests.conftest import data_field_problems
from tests.support import openapi
from tests.support.contract_samples import REVISION_2_FIELDS, SAMPLE_FIELDS

COURSE_ID = "course-v1:VirtuX+MATH101+2026"
TOPIC_ID = "block-v1:VirtuX+MATH101+2026+type@chapter+block@algebra"
SUBTOPIC_ID = "block-v1:VirtuX+MATH101+2026+type@sequential+block@equations"
UNIT_ID = "block-v1:VirtuX+MATH101+2026+type@vertical+block@linear"
ASSESSMENT_ID = "block-v1:VirtuX+MATH101+2026+type@problem+block@quiz"
ENTITY_IDS = {
    "course": COURSE_ID,
    "topic": TOPIC_ID,
    "subtopic": SUBTOPIC_ID,
    "unit": UNIT_ID,
    "assessment": ASSESSMENT_ID,
}
PARENT_IDS = {"course": None, "topic": COURSE_ID, "subtopic": TOPIC_ID, "unit": SUBTOPIC_ID, "assessment": UNIT_ID}
ENTITY_TYPES = list(SAMPLE_FIELDS)
SCHEMA_NAMES = {
    "course": "Course",
    "topic": "Topic",
    "subtopic": "Subtopic",
    "unit": "Unit",
    "assessment": "Assessment",
}


def create(entity_type: str) -> dict[str, Any]:
    position = None if entity_type == "course" else 0
    return {
        "operation_id": f"create-{entity_type}",
        "operation": "create",
        "entity_type": entity_type,
        "entity_id": ENTITY_IDS[entity_type],
        "parent_id": PARENT_IDS[entity_type],
        "position": position,
        "data": dict(SAMPLE_FIELDS[entity_type]),
    }


def update(entity_type: str, data: dict[str, Any], **moves: Any) -> dict[str, Any]:
    operation_id = f"update-{entity_type}"
    base = {"operation_id": operation_id, "operation": "update", "entity_type": entity_type}
    return {**base, "entity_id": ENTITY_IDS[entity_type], **moves, "data": data}


def delete(entity_type: str) -> dict[str, Any]:
    base = {"operation_id": f"delete-{entity_type}", "operation": "delete", "entity_type": entity_type}
    return {**base, "entity_id": ENTITY_IDS[entity_type]}


def batch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "batch_id": "3f1c7c9e-0b5e-4c3a-9a59-5c1f0c2d7e11",
        "course_id": COURSE_ID,
        "sent_at": "2026-11-24T10:00:00Z",
        "source": {"studio": "https://studio.example.org", "published_at": "2026-11-24T09:59:58Z"},
        "operations": list(operations),
    }


DELETE = object()


def revision_1_create(entity_type: str) -> dict[str, Any]:
    operation = create(entity_type)
    for name in REVISION_2_FIELDS.get(entity_type, ()):
        del operation["data"][name]
    return operation


def with_change(document: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    """A copy of ``document`` with the value at ``path`` replaced (``DELETE`` removes the key)."""
    changed = copy.deepcopy(document)
    target = changed
    for key in path[:-1]:
        target = target[key]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return changed


def test_document_is_valid_openapi_3_1() -> None:
    document = openapi.load_document()

    validate(document)

    assert document["openapi"].startswith("3.1.")


def test_the_openapi_validator_would_catch_a_broken_document() -> None:
    broken = copy.deepcopy(openapi.load_document())
    broken["components"]["parameters"]["IdempotencyKey"]["in"] = "body"

    with pytest.raises(OpenAPIValidationError):
        validate(broken)


def test_each_discriminator_maps_to_the_schema_with_that_value() -> None:
    schemas = openapi.load_document()["components"]["schemas"]
    for operation_name, operation_ref in schemas["Operation"]["discriminator"]["mapping"].items():
        operation_schema = schemas[operation_ref.rsplit("/", 1)[1]]
        mapping = operation_schema["discriminator"]["mapping"]
        assert sorted(mapping) == sorted(ENTITY_TYPES)
        for entity_type, ref in mapping.items():
            properties = schemas[ref.rsplit("/", 1)[1]]["properties"]
            assert properties["operation"] == {"const": operation_name}, ref
            assert properties["entity_type"] == {"const": entity_type}, ref


@pytest.mark.parametrize("entity_type", ENTITY_TYPES)
def test_a_create_requires_every_field_of_its_entity_type_but_those_of_revision_2(entity_type: str) -> None:
    schemas = openapi.load_document()["components"]["schemas"]
    name = SCHEMA_NAMES[entity_type]

    required = schemas[f"{name}Create"]["properties"]["data"]["required"]

    assert sorted(schemas[f"{name}Fields"]["properties"]) == sorted(SAMPLE_FIELDS[entity_type])
    revision_1 = [field for field in SAMPLE_FIELDS[entity_type] if field not in REVISION_2_FIELDS.get(entity_type, ())]
    assert sorted(required) == sorted(revision_1)


def test_the_contract_example_is_valid() -> None:
    example = batch(
        {
            "operation_id": "9b2e",
            "operation": "create",
            "entity_type": "topic",
            "entity_id": TOPIC_ID,
            "parent_id": COURSE_ID,
            "position": 0,
            "data": {"title": "Algebra", "start": "2026-09-01T00:00:00Z", "visible_to_staff_only": False},
        }
    )
    # The contract's example leaves out hide_from_toc, which every topic create must carry.
    assert openapi.schema_errors("Batch", example) == ["operations[0].data: 'hide_from_toc' is a required property"]
    example["operations"][0]["data"]["hide_from_toc"] = False
    assert openapi.schema_errors("Batch", example) == []


VALID_BATCHES = {
    "a create of each entity type": batch(*(create(entity_type) for entity_type in ENTITY_TYPES)),
    "a delete of each entity type": batch(*(delete(entity_type) for entity_type in ENTITY_TYPES)),
    "a revision-1 client's creates, without the revision-2 fields": batch(
        *(revision_1_create(entity_type) for entity_type in ENTITY_TYPES)
    ),
    "an update of one field of each entity type": batch(
        *(update(entity_type, {"title": "Renamed"}) for entity_type in ENTITY_TYPES)
    ),
    "an update of every field": batch(
        *(update(entity_type, SAMPLE_FIELDS[entity_type]) for entity_type in ENTITY_TYPES)
    ),
    "a move: parent and position, no field": batch(update("unit", {}, parent_id=SUBTOPIC_ID, position=3)),
    "a re-position": batch(update("assessment", {}, position=2)),
    "a move with a changed field": batch(update("subtopic", {"due": None}, parent_id=TOPIC_ID, position=0)),
    "null datetimes and weight": batch(
        update("course", {"start": None, "end": None, "language": None}),
        update("assessment", {"weight": None}),
        update("subtopic", {"format": None}),
    ),
    "an integer weight and an empty title": batch(update("assessment", {"weight": 2, "title": ""})),
    "non-ASCII text": batch(update("topic", {"title": "Álgebra: ecuaciones ✓"})),
    "data fields the document does not define, which a backend ignores": batch(
        with_change(create("topic"), ("data", "colour"), "red"),
        update("unit", {"graded": True}),
        update("course", {"added_by_a_later_revision": {"any": ["value"]}}),
    ),
    "a course key with dots, dashes and colons": with_change(
        batch(delete("course")), ("course_id",), "course-v1:Virtu.X+MATH-101+2026:T1"
    ),
}


@pytest.mark.parametrize("body", VALID_BATCHES.values(), ids=VALID_BATCHES.keys())
def test_valid_batches_are_accepted(body: dict[str, Any]) -> None:
    assert openapi.schema_errors("Batch", body) == []


INVALID_BATCHES = {
    "an extra key in an operation": (
        batch(with_change(create("topic"), ("colour",), "red")),
        "operations[0]: Additional properties are not allowed ('colour' was unexpected)",
    ),
    "a known field with a bad value beside an unknown one": (
        batch(update("unit", {"graded": True, "title": 1})),
        "operations[0].data.title: 1 is not of type 'string'",
    ),
    "a create missing a field": (
        batch(with_change(create("subtopic"), ("data", "format"), DELETE)),
        "operations[0].data: 'format' is a required property",
    ),
    "a date without time": (
        batch(update("subtopic", {"due": "2026-10-01"})),
        "operations[0].data.due: '2026-10-01' does not match",
    ),
    "a datetime with an offset": (
        batch(update("topic", {"start": "2026-09-01T00:00:00+00:00"})),
        "operations[0].data.start:",
    ),
    "a datetime with fractions of a second": (
        batch(update("course", {"end": "2026-09-01T00:00:00.000Z"})),
        "operations[0].data.end:",
    ),
    "a datetime with month 13": (batch(update("course", {"start": "2026-13-01T00:00:00Z"})), "data.start:"),
    "a bad sent_at": (with_change(batch(delete("unit")), ("sent_at",), "2026-11-24 10:00:00"), "sent_at:"),
    "a course create with a parent": (
        batch(with_change(create("course"), ("parent_id",), COURSE_ID)),
        "operations[0].parent_id: 'course-v1:VirtuX+MATH101+2026' is not of type 'null'",
    ),
    "a course create with a position": (
        batch(with_change(create("course"), ("position",), 0)),
        "operations[0].position: 0 is not of type 'null'",
    ),
    "a course moved": (
        batch(update("course", {"title": "Maths"}, parent_id=COURSE_ID, position=0)),
        "operations[0]: Additional properties are not allowed ('parent_id', 'position' were unexpected)",
    ),
    "a topic create without a parent": (
        batch(with_change(create("topic"), ("parent_id",), None)),
        "operations[0].parent_id: None is not of type 'string'",
    ),
    "a topic under a block": (batch(with_change(create("topic"), ("parent_id",), UNIT_ID)), "operations[0].parent_id"),
    "a move without position": (
        batch(update("unit", {}, parent_id=SUBTOPIC_ID)),
        "operations[0]: 'position' is a dependency of 'parent_id'",
    ),
    "an update that changes nothing": (batch(update("unit", {})), "operations[0]: none of these alternatives holds"),
    "an update without data": (
        batch(with_change(update("unit", {}, position=1), ("data",), DELETE)),
        "operations[0]: 'data' is a required property",
    ),
    "a delete with data": (
        batch({**delete("topic"), "data": {}}),
        "operations[0]: Additional properties are not allowed ('data' was unexpected)",
    ),
    "a delete with a parent": (batch({**delete("unit"), "parent_id": SUBTOPIC_ID}), "('parent_id' was unexpected)"),
    "an unknown operation": (
        batch({**delete("unit"), "operation": "upsert"}),
        "operations[0].operation: 'upsert' is not one of ['create', 'delete', 'update']",
    ),
    "an unknown entity type": (batch({**delete("unit"), "entity_type": "chapter"}), "operations[0].entity_type:"),
    "a block key with a branch": (
        batch({**delete("unit"), "entity_id": UNIT_ID.replace("+type@", "+branch@published-branch+type@")}),
        "operations[0].entity_id:",
    ),
    "a course key as a block id": (batch({**delete("unit"), "entity_id": COURSE_ID}), "operations[0].entity_id:"),
    "a negative position": (batch(update("unit", {}, position=-1)), "operations[0].position: -1 is less than"),
    "a position as text": (batch(update("unit", {}, position="1")), "operations[0].position: '1' is not of type"),
    "a boolean as text": (batch(update("course", {"self_paced": "false"})), "operations[0].data.self_paced:"),
    "a weight as text": (batch(update("assessment", {"weight": "1"})), "operations[0].data.weight:"),
    "data that is not an object": (batch(update("unit", None, position=1)), "operations[0].data: None is not of type"),
    "no operations": (batch(), "operations: [] should be non-empty"),
    "schema version 2": (with_change(batch(delete("unit")), ("schema_version",), 2), "schema_version: 1 was expected"),
    "an extra top-level key": (
        with_change(batch(delete("unit")), ("priority",), 1),
        "Additional properties are not allowed ('priority' was unexpected)",
    ),
    "a missing source": (with_change(batch(delete("unit")), ("source",), DELETE), "'source' is a required property"),
    "an extra key in source": (
        with_change(batch(delete("unit")), ("source", "lms"), "https://lms.example.org"),
        "source: Additional properties are not allowed",
    ),
    "a studio that is not a URL": (
        with_change(batch(delete("unit")), ("source", "studio"), "studio.example.org"),
        "source.studio:",
    ),
    "an empty batch_id": (with_change(batch(delete("unit")), ("batch_id",), ""), "batch_id: '' should be non-empty"),
}


@pytest.mark.parametrize(("body", "expected"), INVALID_BATCHES.values(), ids=INVALID_BATCHES.keys())
def test_invalid_batches_are_rejected_with_a_readable_reason(body: dict[str, Any], expected: str) -> None:
    errors = openapi.schema_errors("Batch", body)

    assert errors
    assert any(expected in error for error in errors), errors


def test_assert_valid_names_the_schema_and_each_problem() -> None:
    body = batch(update("unit", {"visible_to_staff_only": "no", "title": 1}))

    with pytest.raises(AssertionError) as raised:
        openapi.assert_valid("Batch", body)

    assert str(raised.value).splitlines() == [
        "Batch does not conform to course-sync-v1.yaml:",
        "  - operations[0].data.title: 1 is not of type 'string'",
        "  - operations[0].data.visible_to_staff_only: 'no' is not of type 'boolean'",
    ]


def test_response_schemas() -> None:
    results = {"batch_id": "b", "results": [{"operation_id": "o", "status": "failed", "code": "not_found"}]}
    assert openapi.schema_errors("BatchResult", results) == []
    assert openapi.schema_errors("BatchResult", with_change(results, ("results", 0, "status"), "skipped"))
    assert openapi.schema_errors("BatchResult", with_change(results, ("results",), []))
    assert openapi.schema_errors("Error", {"code": "unauthorized", "detail": "no token"}) == []
    assert openapi.schema_errors("Error", {"error": "unauthorized"})
    entity = {"entity_type": "topic", "parent_id": COURSE_ID, "position": 0, "fingerprint": "ab" * 32}
    state = {"course_id": COURSE_ID, "entities": {TOPIC_ID: entity}}
    assert openapi.schema_errors("CourseState", state) == []
    assert openapi.schema_errors("CourseState", with_change(state, ("entities", TOPIC_ID, "fingerprint"), "AB" * 32))
    assert openapi.schema_errors("CourseState", with_change(state, ("entities", TOPIC_ID, "data"), {}))


BATCHES_URL = "https://virtu.example.org/api/course-sync/v1/batches"
GOOD_HEADERS = {
    "Authorization": "Bearer s3cret",
    "Idempotency-Key": "3f1c7c9e-0b5e-4c3a-9a59-5c1f0c2d7e11",
    "X-Virtu-Signature": "t=1795514400,v1=" + "0123456789abcdef" * 4,
    "Content-Type": "application/json; charset=utf-8",
    "User-Agent": "virtu-sync-plugin/1.0.0",
}
GOOD_BODY = json.dumps(batch(delete("unit")))


def test_validate_request_accepts_a_conforming_batch_request_under_a_base_path() -> None:
    openapi.validate_request("POST", BATCHES_URL, GOOD_HEADERS, GOOD_BODY.encode("utf-8"))


@pytest.mark.parametrize(
    ("header", "value", "expected"),
    [
        ("Authorization", None, "header Authorization: expected 'Bearer <token>'"),
        ("Authorization", "Token s3cret", "header Authorization: expected 'Bearer <token>'"),
        ("Idempotency-Key", None, "header Idempotency-Key: missing"),
        ("X-Virtu-Signature", "v1=abc,t=1", "header X-Virtu-Signature: 'v1=abc,t=1' does not match"),
        ("User-Agent", "python-requests/2.32", "header User-Agent:"),
        ("Content-Type", "text/plain", "Content-Type 'text/plain' is not one of ['application/json']"),
        ("Content-Type", "application/json; charset=latin-1", "Content-Type charset 'latin-1': expected utf-8"),
    ],
)
def test_validate_request_refuses_bad_headers(header: str, value: str | None, expected: str) -> None:
    headers = {name: text for name, text in GOOD_HEADERS.items() if name != header}
    if value is not None:
        headers[header] = value

    with pytest.raises(
        AssertionError, match=f"(?s)POST {re.escape(BATCHES_URL)} request does not conform.*{re.escape(expected)}"
    ):
        openapi.validate_request("POST", BATCHES_URL, headers, GOOD_BODY)


def test_validate_request_refuses_a_body_that_is_not_json_or_breaks_the_schema() -> None:
    with pytest.raises(AssertionError, match="request body is not UTF-8 JSON"):
        openapi.validate_request("POST", BATCHES_URL, GOOD_HEADERS, GOOD_BODY[:-1])
    with_parent = GOOD_BODY.replace('"operation": "delete"', '"parent_id": null, "operation": "delete"')
    expected = "request body: operations[0]: Additional properties are not allowed ('parent_id' was unexpected)"
    with pytest.raises(AssertionError, match=re.escape(expected)):
        openapi.validate_request("POST", BATCHES_URL, GOOD_HEADERS, with_parent)


def test_validate_request_checks_the_course_id_path_segment_is_percent_encoded() -> None:
    headers = {"Authorization": "Bearer s3cret", "User-Agent": "virtu-sync-plugin/1.0.0"}
    encoded = "https://virtu.example.org/course-sync/v1/courses/course-v1%3AVirtuX%2BMATH101%2B2026/state"
    openapi.validate_request("GET", encoded, headers, None)

    with pytest.raises(AssertionError, match="is not percent-encoded as one segment"):
        openapi.validate_request("GET", encoded.replace("%2B", "+"), headers, None)
    with pytest.raises(AssertionError, match="path course_id: 'not-a-course' does not match"):
        openapi.validate_request(
            "GET", encoded.replace("course-v1%3AVirtuX%2BMATH101%2B2026", "not-a-course"), headers, None
        )


def test_validate_request_refuses_an_undocumented_path_or_method() -> None:
    with pytest.raises(AssertionError, match="matches no path"):
        openapi.validate_request("POST", "https://virtu.example.org/course-sync/v2/batches", GOOD_HEADERS, GOOD_BODY)
    with pytest.raises(AssertionError, match="GET is not documented for /course-sync/v1/batches"):
        openapi.validate_request("GET", BATCHES_URL, GOOD_HEADERS, None)


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        (create("topic"), []),
        (update("unit", {"title": "Renamed"}, position=1), []),
        (delete("unit"), []),
        (
            update("unit", {"title": "Renamed", "visible_to_staff": True}),
            [f"update of {UNIT_ID} has visible_to_staff, not defined for a unit"],
        ),
        (update("unit", {"graded": True}), [f"update of {UNIT_ID} has graded, not defined for a unit"]),
        (
            with_change(create("topic"), ("data", "colour"), "red"),
            [f"create of {TOPIC_ID} has colour, not defined for a topic"],
        ),
        (
            revision_1_create("course"),
            [f"create of {COURSE_ID} lacks description, grading_policy, other_settings"],
        ),
    ],
    ids=["create", "update", "delete", "misnamed-field", "field-of-another-type", "made-up-field", "incomplete-create"],
)
def test_data_field_problems_finds_what_the_backend_fixture_refuses(
    operation: dict[str, Any], expected: list[str]
) -> None:
    body = batch(create("course"), operation)

    assert data_field_problems(body["operations"]) == expected
    assert openapi.schema_errors("Batch", body) == []  # the document lets each of them pass


JSON_HEADERS = {"Content-Type": "application/json"}


def test_validate_response() -> None:
    openapi.validate_response(
        "POST",
        BATCHES_URL,
        200,
        JSON_HEADERS,
        b'{"batch_id": "b", "results": [{"operation_id": "o", "status": "applied"}]}',
    )
    openapi.validate_response("POST", BATCHES_URL, 503, JSON_HEADERS, b'{"code": "down", "detail": "maintenance"}')
    openapi.validate_response(
        "POST", BATCHES_URL, 429, {**JSON_HEADERS, "Retry-After": "3"}, b'{"code": "slow", "detail": "down"}'
    )

    with pytest.raises(AssertionError, match="status 418 is not documented"):
        openapi.validate_response("POST", BATCHES_URL, 418, JSON_HEADERS, b"{}")
    with pytest.raises(AssertionError, match="header Retry-After: missing"):
        openapi.validate_response("POST", BATCHES_URL, 429, JSON_HEADERS, b'{"code": "slow", "detail": "down"}')
    with pytest.raises(AssertionError, match="Content-Type 'text/html' is not one of"):
        openapi.validate_response("POST", BATCHES_URL, 502, {"Content-Type": "text/html"}, b"<html></html>")
    with pytest.raises(AssertionError, match=r"response body: results\[0\]: 'status' is a required property"):
        openapi.validate_response(
            "POST", BATCHES_URL, 200, JSON_HEADERS, b'{"batch_id": "b", "results": [{"operation_id": "o"}]}'
        )
