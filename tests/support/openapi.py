"""Check HTTP requests and responses against the course-sync v1 OpenAPI document.

The document (``docs/openapi/course-sync-v1.yaml``) is loaded once. Schemas are checked with
``jsonschema`` (Draft 2020-12), ``$ref`` resolved inside the document. Every check raises an
``AssertionError`` that lists each problem with where it is, e.g. ``operations[0].data.start``.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import yaml
from jsonschema import Draft202012Validator, ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

OPENAPI_PATH = Path(__file__).resolve().parents[2] / "docs" / "openapi" / "course-sync-v1.yaml"
_DOCUMENT_URI = "urn:virtu:course-sync-v1"
_BEARER = re.compile(r"Bearer \S+")


@functools.cache
def load_document() -> dict[str, Any]:
    """The OpenAPI document, parsed."""
    return yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))


@functools.cache
def _registry() -> Registry:
    resource = Resource.from_contents(load_document(), default_specification=DRAFT202012)
    return Registry().with_resource(_DOCUMENT_URI, resource)


def schema_errors(schema_name: str, instance: Any) -> list[str]:
    """Each way ``instance`` breaks ``#/components/schemas/<schema_name>``; empty when it is valid."""
    return _errors_at(f"/components/schemas/{schema_name}", instance)


def is_valid(schema_name: str, instance: Any) -> bool:
    """Whether ``instance`` is valid under ``#/components/schemas/<schema_name>`` (faster than ``schema_errors``)."""
    return _validator_for(f"/components/schemas/{schema_name}").is_valid(instance)


def assert_valid(schema_name: str, instance: Any) -> None:
    """Raise AssertionError unless ``instance`` is valid under ``#/components/schemas/<schema_name>``."""
    _raise_if(schema_errors(schema_name, instance), f"{schema_name} does not conform to {OPENAPI_PATH.name}")


def validate_request(method: str, url: str, headers: Mapping[str, str], body: bytes | str | None) -> None:
    """Check a request as sent: path, header parameters, bearer auth, Content-Type and JSON body.

    ``url`` is a full URL or a path; whatever precedes the documented path is the server's base path.
    """
    path_pointer, operation, path_segments = _find_operation(method, url)
    operation_pointer = f"{path_pointer}/{method.lower()}"
    headers = _lower_keys(headers)
    problems: list[str] = []
    for index, _ in enumerate(operation.get("parameters", [])):
        parameter_pointer, parameter = _follow_ref(f"{operation_pointer}/parameters/{index}")
        problems += _parameter_problems(parameter, parameter_pointer, headers, path_segments)
    if _requires_bearer(operation) and not _BEARER.fullmatch(headers.get("authorization", "")):
        problems.append("header Authorization: expected 'Bearer <token>'")
    if "requestBody" in operation:
        body_pointer, request_body = _follow_ref(f"{operation_pointer}/requestBody")
        problems += _content_problems(request_body, body_pointer, headers, body, "request body")
    _raise_if(problems, f"{method.upper()} {url} request does not conform to {OPENAPI_PATH.name}")


def validate_response(method: str, url: str, status: int, headers: Mapping[str, str], body: bytes | str | None) -> None:
    """Check a response: documented status, required headers, Content-Type and JSON body."""
    path_pointer, operation, _ = _find_operation(method, url)
    responses = operation["responses"]
    status_key = next((key for key in (str(status), f"{status // 100}XX", "default") if key in responses), None)
    if status_key is None:
        raise AssertionError(f"{method.upper()} {url}: status {status} is not documented in {OPENAPI_PATH.name}")
    response_pointer, response = _follow_ref(f"{path_pointer}/{method.lower()}/responses/{_escape(status_key)}")
    headers = _lower_keys(headers)
    problems: list[str] = []
    for name in response.get("headers", {}):
        header_pointer, header = _follow_ref(f"{response_pointer}/headers/{_escape(name)}")
        problems += _header_problems(name, header, header_pointer, headers)
    if "content" in response:
        problems += _content_problems(response, response_pointer, headers, body, "response body")
    _raise_if(problems, f"{method.upper()} {url} response {status} does not conform to {OPENAPI_PATH.name}")


def validate_http_response(response: Any) -> None:
    """Check a ``requests.Response`` with ``validate_response``, using the method and URL of its request."""
    validate_response(response.request.method, response.url, response.status_code, response.headers, response.content)


def _find_operation(method: str, url: str) -> tuple[str, dict[str, Any], dict[str, str]]:
    """The pointer to the matching path item, its operation for ``method``, and the raw path segments."""
    path = urlsplit(url).path
    for template, path_item in load_document()["paths"].items():
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        match = re.fullmatch(f"(?:/.*)?{pattern}", path)
        if match:
            if method.lower() not in path_item:
                raise AssertionError(f"{method.upper()} is not documented for {template}")
            return f"/paths/{_escape(template)}", path_item[method.lower()], match.groupdict()
    raise AssertionError(f"{path} matches no path of {OPENAPI_PATH.name}")


def _parameter_problems(
    parameter: dict[str, Any], pointer: str, headers: Mapping[str, str], path_segments: Mapping[str, str]
) -> list[str]:
    if parameter["in"] == "header":
        return _header_problems(parameter["name"], parameter, pointer, headers)
    if parameter["in"] == "path":
        raw = path_segments[parameter["name"]]
        value = unquote(raw)
        if quote(value, safe="") != raw:
            return [
                f"path {parameter['name']}: {raw!r} is not percent-encoded as one segment ({quote(value, safe='')!r})"
            ]
        return [f"path {parameter['name']}: {problem}" for problem in _errors_at(f"{pointer}/schema", value)]
    raise AssertionError(f"parameters in {parameter['in']} are not supported by {__name__}")


def _header_problems(name: str, header: dict[str, Any], pointer: str, headers: Mapping[str, str]) -> list[str]:
    value = headers.get(name.lower())
    if value is None:
        return [f"header {name}: missing"] if header.get("required") else []
    return [f"header {name}: {problem}" for problem in _errors_at(f"{pointer}/schema", value)]


def _content_problems(
    holder: dict[str, Any], pointer: str, headers: Mapping[str, str], body: bytes | str | None, what: str
) -> list[str]:
    """Problems with a request body or response body against the ``content`` map of ``holder``."""
    media_type, _, parameters = headers.get("content-type", "").partition(";")
    media_type = media_type.strip().lower()
    if media_type not in holder["content"]:
        return [f"Content-Type {media_type or '(none)'!r} is not one of {sorted(holder['content'])}"]
    charset = dict(_media_type_parameters(parameters)).get("charset", "utf-8")
    if charset.lower() != "utf-8":
        return [f"Content-Type charset {charset!r}: expected utf-8"]
    raw = body.encode("utf-8") if isinstance(body, str) else (body or b"")
    try:
        document = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except ValueError as error:
        return [f"{what} is not UTF-8 JSON: {error}"]
    schema_pointer = f"{pointer}/content/{_escape(media_type)}/schema"
    return [f"{what}: {problem}" for problem in _errors_at(schema_pointer, document)]


def _media_type_parameters(parameters: str) -> Iterator[tuple[str, str]]:
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip():
            yield name.strip().lower(), value.strip().strip('"')


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _requires_bearer(operation: dict[str, Any]) -> bool:
    requirements = operation.get("security", load_document().get("security", []))
    return any("bearerAuth" in requirement for requirement in requirements)


def _follow_ref(pointer: str) -> tuple[str, dict[str, Any]]:
    """The object at ``pointer``, following OpenAPI ``$ref``s; also returns where it really lives."""
    node = _resolve_pointer(pointer)
    while "$ref" in node:
        pointer = node["$ref"].removeprefix("#")
        node = _resolve_pointer(pointer)
    return pointer, node


def _resolve_pointer(pointer: str) -> Any:
    node: Any = load_document()
    for segment in pointer.split("/")[1:]:
        key = segment.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def _errors_at(schema_pointer: str, instance: Any) -> list[str]:
    validator = _validator_for(schema_pointer)
    return [message for error in validator.iter_errors(instance) for message in _describe(error, ())]


@functools.cache
def _validator_for(schema_pointer: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"{_DOCUMENT_URI}#{quote(schema_pointer, safe='/~')}"}, registry=_registry())


def _describe(error: ValidationError, prefix: tuple[str | int, ...]) -> list[str]:
    """Readable messages for one error, descending into ``oneOf``/``anyOf`` to say what is really wrong.

    For a ``oneOf`` with an OpenAPI ``discriminator``, the instance is checked against the one schema
    its discriminating property selects, as OpenAPI tools do, instead of listing every alternative.
    """
    path = (*prefix, *error.relative_path)
    discriminator = error.schema.get("discriminator") if isinstance(error.schema, dict) else None
    if error.validator == "oneOf" and discriminator and isinstance(error.instance, dict):
        property_name, mapping = discriminator["propertyName"], discriminator["mapping"]
        value = error.instance.get(property_name)
        if not isinstance(value, str) or value not in mapping:
            return [_at((*path, property_name), f"{value!r} is not one of {sorted(mapping)}")]
        selected = _validator_for(mapping[value].removeprefix("#"))
        return [message for sub_error in selected.iter_errors(error.instance) for message in _describe(sub_error, path)]
    if error.validator in ("oneOf", "anyOf") and error.context:
        alternatives = [message for sub_error in error.context for message in _describe(sub_error, path)]
        return [_at(path, "none of these alternatives holds: " + " | ".join(alternatives))]
    return [_at(path, error.message)]


def _at(path: Iterable[str | int], message: str) -> str:
    """``message`` prefixed with where it applies, e.g. ``operations[0].data: ...``; bare at the top level."""
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".")
    return f"{where}: {message}" if where else message


def _lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _raise_if(problems: list[str], heading: str) -> None:
    if problems:
        raise AssertionError(heading + ":\n" + "\n".join(f"  - {problem}" for problem in problems))
