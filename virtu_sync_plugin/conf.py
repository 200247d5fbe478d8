"""
The plugin's settings: their defaults, typed access and checks.

This is the one module that reads the ``VIRTU_SYNC_*`` settings, and it reads them
at call time only: a plugin's modules are imported before the platform's settings
are final, so a value read at import time would always be the default.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

__all__ = [
    "DEFAULTS",
    "MAX_BATCH_SIZE",
    "MAX_RETRY_DELAY",
    "SyncSettings",
    "get_sync_settings",
    "lease_seconds",
    "settings_problems",
]

# The contract caps a batch at this many operations.
MAX_BATCH_SIZE = 1000

DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {
        "VIRTU_SYNC_BACKEND_URL": "",
        "VIRTU_SYNC_API_TOKEN": "",
        "VIRTU_SYNC_SIGNING_SECRET": "",
        "VIRTU_SYNC_BATCH_SIZE": 200,
        "VIRTU_SYNC_TIMEOUT": (5.0, 30.0),
        "VIRTU_SYNC_ALLOW_INSECURE_HTTP": False,
        "VIRTU_SYNC_LOG_RETENTION_DAYS": 30,
        # Component types that record a learner's score, i.e. the blocks the platform's
        # grading reads: the contract's "assessment" entities.
        "VIRTU_SYNC_ASSESSMENT_BLOCK_TYPES": (
            "problem",  # CAPA problems, the core graded component
            "openassessment",  # Open Response Assessment (peer, self and staff grading)
            "drag-and-drop-v2",  # Drag and Drop XBlock, scored per correct placement
            "lti_consumer",  # LTI consumer XBlock, scored when its tool sends grades back
            "lti",  # legacy LTI component, still present in older courses
            "staffgradedxblock",  # Staff Graded Points: a score entered by course staff
            "edx_sga",  # Staff Graded Assignment: a file upload graded by staff
        ),
        "VIRTU_SYNC_RETRY_FOR": 7 * 24 * 3600,
        # Under the one hour visibility timeout of a Redis broker: an ETA task is never redelivered.
        "VIRTU_SYNC_RETRY_DELAYS": (60, 1800),
        "VIRTU_SYNC_LEASE_SECONDS": 120,
        "VIRTU_SYNC_HEARTBEAT_OUT_OF_SYNC_SECONDS": 3600,
    }
)

#: The broker redelivers an ETA task still unacknowledged after its visibility timeout
#: (Redis: one hour by default), so no retry waits longer than this.
MAX_RETRY_DELAY = 3600


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncSettings:
    """
    The plugin's settings, checked and typed.

    An empty ``backend_url`` means that sync is not configured: nothing can be sent.
    """

    backend_url: str
    api_token: str = field(repr=False)
    signing_secret: str = field(repr=False)
    batch_size: int
    connect_timeout: float
    read_timeout: float
    allow_insecure_http: bool
    assessment_block_types: frozenset[str]
    #: Automatic retries of a course out of sync stop this many seconds after it fell out of sync.
    retry_for: float = DEFAULTS["VIRTU_SYNC_RETRY_FOR"]
    #: Wait before the first automatic retry, in seconds; it doubles up to ``retry_max_delay``.
    retry_first_delay: float = DEFAULTS["VIRTU_SYNC_RETRY_DELAYS"][0]
    retry_max_delay: float = DEFAULTS["VIRTU_SYNC_RETRY_DELAYS"][1]
    #: A sync renews its course's lease more often than this (seconds); a dead worker's lease runs out after it.
    lease_seconds: float = DEFAULTS["VIRTU_SYNC_LEASE_SECONDS"]
    #: The extended heartbeat check fails for a course out of sync for longer (seconds).
    heartbeat_out_of_sync_seconds: float = DEFAULTS["VIRTU_SYNC_HEARTBEAT_OUT_OF_SYNC_SECONDS"]
    log_retention_days: int = DEFAULTS["VIRTU_SYNC_LOG_RETENTION_DAYS"]


def get_sync_settings() -> SyncSettings:
    """
    Read the ``VIRTU_SYNC_*`` settings from Django's settings, falling back to ``DEFAULTS``.

    Raises:
        ImproperlyConfigured: if ``settings_problems`` finds any problem; the message
            lists them all.
    """
    problems = settings_problems(django_settings)
    if problems:
        raise ImproperlyConfigured("Virtu sync settings: " + " ".join(problems))
    value = _reader(django_settings)
    connect_timeout, read_timeout = _timeout_pair(value("VIRTU_SYNC_TIMEOUT"))
    return SyncSettings(
        backend_url=value("VIRTU_SYNC_BACKEND_URL"),
        api_token=value("VIRTU_SYNC_API_TOKEN"),
        signing_secret=value("VIRTU_SYNC_SIGNING_SECRET"),
        batch_size=value("VIRTU_SYNC_BATCH_SIZE"),
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        allow_insecure_http=value("VIRTU_SYNC_ALLOW_INSECURE_HTTP"),
        assessment_block_types=frozenset(value("VIRTU_SYNC_ASSESSMENT_BLOCK_TYPES")),
        retry_for=float(value("VIRTU_SYNC_RETRY_FOR")),
        retry_first_delay=float(value("VIRTU_SYNC_RETRY_DELAYS")[0]),
        retry_max_delay=float(value("VIRTU_SYNC_RETRY_DELAYS")[1]),
        lease_seconds=float(value("VIRTU_SYNC_LEASE_SECONDS")),
        heartbeat_out_of_sync_seconds=float(value("VIRTU_SYNC_HEARTBEAT_OUT_OF_SYNC_SECONDS")),
        log_retention_days=value("VIRTU_SYNC_LOG_RETENTION_DAYS"),
    )


def lease_seconds() -> float:
    """``VIRTU_SYNC_LEASE_SECONDS``, or its default when it is not a positive number (reported by the checks)."""
    value = getattr(django_settings, "VIRTU_SYNC_LEASE_SECONDS", DEFAULTS["VIRTU_SYNC_LEASE_SECONDS"])
    return float(value) if _is_positive_number(value) else float(DEFAULTS["VIRTU_SYNC_LEASE_SECONDS"])


def settings_problems(settings: Any) -> list[str]:
    """
    List what is wrong with the ``VIRTU_SYNC_*`` values of ``settings``, for an operator to read.

    Unset names count as their defaults. Messages never quote the API token or the
    signing secret. An empty backend URL is no problem: it means sync is not configured.

    Args:
        settings: Django's settings, or any object with the settings as attributes
            (such as a settings module).

    Returns:
        One sentence per problem; empty if the settings are usable.
    """
    value = _reader(settings)
    problems = _url_problems(value("VIRTU_SYNC_BACKEND_URL"), value("VIRTU_SYNC_ALLOW_INSECURE_HTTP"))
    for name in ("VIRTU_SYNC_API_TOKEN", "VIRTU_SYNC_SIGNING_SECRET"):
        if not isinstance(value(name), str):
            problems.append(f"{name} must be a string.")
    if value("VIRTU_SYNC_BACKEND_URL") and value("VIRTU_SYNC_API_TOKEN") == "":
        problems.append("VIRTU_SYNC_API_TOKEN is empty although VIRTU_SYNC_BACKEND_URL is set.")
    if not isinstance(value("VIRTU_SYNC_ALLOW_INSECURE_HTTP"), bool):
        problems.append("VIRTU_SYNC_ALLOW_INSECURE_HTTP must be True or False.")
    batch_size = value("VIRTU_SYNC_BATCH_SIZE")
    if not _is_int(batch_size) or not 1 <= batch_size <= MAX_BATCH_SIZE:
        problems.append(f"VIRTU_SYNC_BATCH_SIZE must be a whole number from 1 to {MAX_BATCH_SIZE}, not {batch_size!r}.")
    if _timeout_pair(value("VIRTU_SYNC_TIMEOUT")) is None:
        problems.append(
            "VIRTU_SYNC_TIMEOUT must be a positive number of seconds, or a pair of them "
            f"(connect, read), not {value('VIRTU_SYNC_TIMEOUT')!r}."
        )
    block_types = value("VIRTU_SYNC_ASSESSMENT_BLOCK_TYPES")
    if not isinstance(block_types, list | tuple | set | frozenset) or not all(
        isinstance(block_type, str) and block_type for block_type in block_types
    ):
        problems.append(
            "VIRTU_SYNC_ASSESSMENT_BLOCK_TYPES must be a list of block type names "
            f"such as ['problem'], not {block_types!r}."
        )
    retention = value("VIRTU_SYNC_LOG_RETENTION_DAYS")
    if not _is_int(retention) or retention < 1:
        problems.append(f"VIRTU_SYNC_LOG_RETENTION_DAYS must be a whole number of days, 1 or more, not {retention!r}.")
    problems.extend(_durations_problems(value))
    return problems


def _durations_problems(value: Callable[[str], Any]) -> list[str]:
    problems = []
    retry_for = value("VIRTU_SYNC_RETRY_FOR")
    if not (_is_positive_number(retry_for) or retry_for == 0) or isinstance(retry_for, bool):
        problems.append(
            f"VIRTU_SYNC_RETRY_FOR must be a number of seconds >= 0 (0: no automatic retry), not {retry_for!r}."
        )
    delays = value("VIRTU_SYNC_RETRY_DELAYS")
    if not (
        isinstance(delays, list | tuple)
        and len(delays) == 2
        and all(map(_is_positive_number, delays))
        and delays[0] <= delays[1] <= MAX_RETRY_DELAY
    ):
        problems.append(
            "VIRTU_SYNC_RETRY_DELAYS must be a pair of seconds (first retry, longest wait), the second "
            f"at least the first and at most {MAX_RETRY_DELAY} (the broker's visibility timeout), not {delays!r}."
        )
    for name in ("VIRTU_SYNC_LEASE_SECONDS", "VIRTU_SYNC_HEARTBEAT_OUT_OF_SYNC_SECONDS"):
        if not _is_positive_number(value(name)):
            problems.append(f"{name} must be a positive number of seconds, not {value(name)!r}.")
    return problems


def _reader(settings: Any) -> Callable[[str], Any]:
    """Return a function that reads one setting from ``settings``, with its default."""
    return lambda name: getattr(settings, name, DEFAULTS[name])


def _url_problems(url: Any, allow_insecure_http: Any) -> list[str]:
    # The URL itself is never quoted: it may carry credentials (https://user:password@host).
    if not isinstance(url, str):
        return ["VIRTU_SYNC_BACKEND_URL must be a string."]
    if not url:
        return []
    try:
        parts = urlsplit(url)
        has_host = bool(parts.hostname) and parts.port != 0  # .port raises ValueError unless 0-65535
    except ValueError:
        has_host = False
    if not has_host or parts.scheme not in ("http", "https"):
        return ["VIRTU_SYNC_BACKEND_URL must be an http(s) URL with a host, such as https://virtu.example.com."]
    if parts.scheme == "http" and allow_insecure_http is not True:
        message = (
            "VIRTU_SYNC_BACKEND_URL uses plain http: use https, or set "
            "VIRTU_SYNC_ALLOW_INSECURE_HTTP = True (local development only)."
        )
        return [message]
    return []


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_positive_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < math.inf


def _timeout_pair(timeout: Any) -> tuple[float, float] | None:
    """Return ``timeout`` as (connect, read) seconds, or None if it is not a valid timeout."""
    if _is_positive_number(timeout):
        return float(timeout), float(timeout)
    # YAML configuration turns a pair into a list, so lists count as well as tuples.
    if isinstance(timeout, list | tuple) and len(timeout) == 2 and all(map(_is_positive_number, timeout)):
        return float(timeout[0]), float(timeout[1])
    return None
