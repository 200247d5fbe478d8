"""Course keys as the plugin accepts them: Studio courses (``course-v1``), plain."""

from __future__ import annotations

from opaque_keys import InvalidKeyError
from opaque_keys.edx.keys import CourseKey
from opaque_keys.edx.locator import CourseLocator, LibraryLocator, LibraryLocatorV2


class InvalidCourseKeyError(ValueError):
    """A value that is not the key of a Studio course the plugin can sync."""


class LibraryKeyError(InvalidCourseKeyError):
    """The key of a content library: Studio signals libraries like courses; they are not synced, quietly."""


def parse_course_key(value: str | CourseKey) -> CourseLocator:
    """
    The plain ``course-v1`` key for ``value``, without branch or version.

    Raises ``LibraryKeyError`` for the key of a content library (v1 or v2), and
    ``InvalidCourseKeyError`` for a malformed key, a CCX or a deprecated
    ``Org/Number/Run`` key, or anything that is not a key.
    """
    try:
        key = value if isinstance(value, CourseKey) else CourseKey.from_string(str(value))
        if type(key) is CourseLocator and not key.deprecated and key.org:
            return key.for_branch(None).version_agnostic()
    except InvalidKeyError:
        if isinstance(value, LibraryLocatorV2) or str(value).startswith(f"{LibraryLocatorV2.CANONICAL_NAMESPACE}:"):
            raise LibraryKeyError(
                f"{value!s} is a content library, not a Studio course key; libraries are not synced"
            ) from None
        raise InvalidCourseKeyError(f"{value!r} is not a course key") from None
    if isinstance(key, LibraryLocator):
        raise LibraryKeyError(f"{value!s} is a content library, not a Studio course key; libraries are not synced")
    raise InvalidCourseKeyError(
        f"{value!s} is not a Studio course key (course-v1:ORG+NUMBER+RUN); libraries, CCX and "
        "deprecated keys are not synced"
    )
