"""The entity types of course-sync v1: their fields, the values those accept, and their place in the tree.

Mirrors ``docs/openapi/course-sync-v1.yaml`` (``tests/test_reference_backend.py`` checks that the two agree).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

_KEY_PART = r"[^\s+/@]+"
COURSE_KEY = re.compile(rf"course-v1:{_KEY_PART}\+{_KEY_PART}\+{_KEY_PART}")
BLOCK_KEY = re.compile(rf"block-v1:{_KEY_PART}\+{_KEY_PART}\+{_KEY_PART}\+type@{_KEY_PART}\+block@{_KEY_PART}")
UTC_DATETIME = re.compile(
    r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z"
)


class InvalidBatch(ValueError):
    """A request body that breaks the contract's schema; the message says where and how."""


@dataclass(frozen=True)
class ValueRule:
    """What a value must be, with the words used to say so when it is not."""

    expected: str
    accepts: Callable[[Any], bool]

    def check(self, value: Any, where: str) -> None:
        """Raise InvalidBatch unless the rule accepts ``value``."""
        if not self.accepts(value):
            raise InvalidBatch(f"{where}: expected {self.expected}, got {value!r}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    # JSON Schema counts 1.0 as an integer; so does this backend, to agree with the document.
    return _is_number(value) and float(value).is_integer()


TEXT = ValueRule("a string", lambda value: isinstance(value, str))
OPTIONAL_TEXT = ValueRule("a string or null", lambda value: value is None or isinstance(value, str))
FLAG = ValueRule("a boolean", lambda value: isinstance(value, bool))
OPTIONAL_NUMBER = ValueRule("a number or null", lambda value: value is None or _is_number(value))
UTC_DATETIME_TEXT = ValueRule(
    "a UTC datetime 'YYYY-MM-DDTHH:MM:SSZ'",
    lambda value: isinstance(value, str) and UTC_DATETIME.fullmatch(value) is not None,
)
OPTIONAL_UTC_DATETIME = ValueRule(
    "a UTC datetime 'YYYY-MM-DDTHH:MM:SSZ' or null",
    lambda value: value is None or UTC_DATETIME_TEXT.accepts(value),
)
POSITION = ValueRule("an integer >= 0", lambda value: _is_integer(value) and value >= 0)
IDENTIFIER = ValueRule(
    "a string of 1 to 128 characters", lambda value: isinstance(value, str) and 1 <= len(value) <= 128
)
COURSE_ID = ValueRule(
    "a course key 'course-v1:ORG+NUMBER+RUN'",
    lambda value: isinstance(value, str) and COURSE_KEY.fullmatch(value) is not None,
)
BLOCK_ID = ValueRule(
    "a usage key 'block-v1:ORG+NUMBER+RUN+type@TYPE+block@ID'",
    lambda value: isinstance(value, str) and BLOCK_KEY.fullmatch(value) is not None,
)
NULL = ValueRule("null", lambda value: value is None)
JSON_OBJECT = ValueRule("an object", lambda value: isinstance(value, dict))

_GRADER_RULES = {
    "type": OPTIONAL_TEXT,
    "short_label": OPTIONAL_TEXT,
    "min_count": OPTIONAL_NUMBER,
    "drop_count": OPTIONAL_NUMBER,
    "weight": OPTIONAL_NUMBER,
}


def _is_grader(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and value.keys() == _GRADER_RULES.keys()
        and all(rule.accepts(value[name]) for name, rule in _GRADER_RULES.items())
    )


def _is_grading_policy(value: Any) -> bool:
    return value is None or (
        isinstance(value, dict)
        and value.keys() == {"graders", "cutoffs"}
        and isinstance(value["graders"], list)
        and all(_is_grader(grader) for grader in value["graders"])
        and isinstance(value["cutoffs"], dict)
        and all(_is_number(cutoff) for cutoff in value["cutoffs"].values())
    )


#: The keys of each kind of ``selection`` element, with the rules of their values.
_SELECTION_KINDS: Mapping[str, Mapping[str, ValueRule]] = {
    "random": {"count": ValueRule("an integer or null", lambda value: value is None or _is_integer(value))},
    "group": {"group_id": TEXT, "group_name": OPTIONAL_TEXT},
    "conditional": {},
}


def _is_selection_element(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    rules = _SELECTION_KINDS.get(value.get("kind")) if isinstance(value.get("kind"), str) else None
    return (
        rules is not None
        and value.keys() == {"kind", "container_id", *rules}
        and BLOCK_ID.accepts(value["container_id"])
        and all(rule.accepts(value[name]) for name, rule in rules.items())
    )


GRADING_POLICY = ValueRule(
    "null or {graders: [{type, short_label, min_count, drop_count, weight}], cutoffs: {grade: number}}",
    _is_grading_policy,
)
SELECTION = ValueRule(
    "a list of {kind: random|group|conditional, container_id, ...}",
    lambda value: isinstance(value, list) and all(_is_selection_element(element) for element in value),
)

COURSE = "course"
# In tree order: each type's parent type comes before it.
ENTITY_FIELDS: Mapping[str, Mapping[str, ValueRule]] = {
    COURSE: {
        "title": TEXT,
        "org": TEXT,
        "number": TEXT,
        "run": TEXT,
        "start": OPTIONAL_UTC_DATETIME,
        "end": OPTIONAL_UTC_DATETIME,
        "language": OPTIONAL_TEXT,
        "self_paced": FLAG,
        "description": OPTIONAL_TEXT,
        "grading_policy": GRADING_POLICY,
        "other_settings": JSON_OBJECT,
    },
    "topic": {
        "title": TEXT,
        "start": OPTIONAL_UTC_DATETIME,
        "visible_to_staff_only": FLAG,
        "hide_from_toc": FLAG,
    },
    "subtopic": {
        "title": TEXT,
        "start": OPTIONAL_UTC_DATETIME,
        "due": OPTIONAL_UTC_DATETIME,
        "graded": FLAG,
        "format": OPTIONAL_TEXT,
        "visible_to_staff_only": FLAG,
        "hide_from_toc": FLAG,
    },
    "unit": {"title": TEXT, "visible_to_staff_only": FLAG},
    "assessment": {
        "title": TEXT,
        "block_type": TEXT,
        "weight": OPTIONAL_NUMBER,
        "graded": FLAG,
        "points": OPTIONAL_NUMBER,
        "selection": SELECTION,
    },
}
ENTITY_TYPES = tuple(ENTITY_FIELDS)
#: The fields revision 2 added: a revision-1 client's create lacks them, and is accepted (the
#: additions are backward compatible). The entity is stored without them, as sent.
REVISION_2_FIELDS: Mapping[str, AbstractSet[str]] = {
    COURSE: frozenset({"description", "grading_policy", "other_settings"}),
    "assessment": frozenset({"points", "selection"}),
}
PARENT_TYPE: Mapping[str, str | None] = {
    COURSE: None,
    "topic": COURSE,
    "subtopic": "topic",
    "unit": "subtopic",
    "assessment": "unit",
}


def key_rule(entity_type: str | None) -> ValueRule:
    """The rule for the key of an entity of this type (``None``: the parent of a course, which has none)."""
    if entity_type is None:
        return NULL
    return COURSE_ID if entity_type == COURSE else BLOCK_ID


def fingerprint(fields: Mapping[str, Any]) -> str:
    """The contract's fingerprint of an entity's full field dict: SHA-256 of its canonical JSON."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def known_fields(entity_type: str, data: Any, where: str, *, complete: bool) -> dict[str, Any]:
    """
    Check an operation's ``data`` and return its fields of ``entity_type``, each with a valid value.

    Other fields are left out, unchecked: a backend ignores the data fields it does not know (a later
    revision may add some). When ``complete`` (a create), every field of revision 1 is required; those of
    revision 2 may be left out.
    """
    if not isinstance(data, dict):
        raise InvalidBatch(f"{where}: expected an object, got {data!r}")
    fields = ENTITY_FIELDS[entity_type]
    optional = REVISION_2_FIELDS.get(entity_type, frozenset())
    missing = [name for name in fields if name not in data and name not in optional]
    if complete and missing:
        raise InvalidBatch(
            f"{where}: a {entity_type} create needs every revision-1 field; missing: {', '.join(missing)}"
        )
    known = {name: value for name, value in data.items() if name in fields}
    for name, value in known.items():
        fields[name].check(value, f"{where}.{name}")
    return known


def check_keys(
    mapping: Mapping[str, Any], where: str, *, required: AbstractSet[str], allowed: AbstractSet[str] | None = None
) -> None:
    """Check that an object has every ``required`` key and, unless ``allowed`` is None, no key outside it."""
    missing = sorted(required - set(mapping))
    if missing:
        raise InvalidBatch(f"{where}: missing {', '.join(missing)}")
    unexpected = sorted(set(mapping) - allowed) if allowed is not None else []
    if unexpected:
        raise InvalidBatch(f"{where}: unexpected {', '.join(unexpected)}")
