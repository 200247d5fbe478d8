"""
The HTTP client of the Virtu backend (``course-sync-v1``).

The only module that uses ``requests``.

It signs and sends one batch, retries what the contract calls transient (connection
errors, timeouts, 408, 429 with ``Retry-After``, 5xx) with exponential backoff and
jitter, bounded in attempts and time, and turns every other outcome into either a
checked :class:`BatchResponse` or a :class:`BackendError`. The API token and the
signing secret never appear in an error or a log line.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from . import __version__
from .conf import SyncSettings

log = logging.getLogger(__name__)

BATCHES_PATH = "/course-sync/v1/batches"
STATE_PATH = "/course-sync/v1/courses/{course_id}/state"
#: The error code of a 404 from the state endpoint for a course the backend does not hold.
COURSE_NOT_FOUND_CODE = "course_not_found"
USER_AGENT = f"virtu-sync-plugin/{__version__}"
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_DETAIL_CHARS = 2000
_UNUSABLE_ANSWER = "an answer requests could not take (a redirect to an invalid URL?), refused"


class BackendError(Exception):
    """The backend did not accept a batch; ``status`` is the HTTP status, if any."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


class TransientBackendError(BackendError):
    """A failure that may pass (backend down, slow or overloaded); retries were used up."""


class PermanentBackendError(BackendError):
    """A refusal that would repeat (4xx, redirect, malformed answer): not retried."""


class UnreadableAnswerError(BackendError):
    """
    HTTP 200 with an answer that breaks the contract: the batch's outcome is unknown.

    The backend may have applied the batch. Not retried now; the batch stays unacknowledged and
    is resent with the same ids, which a conforming backend answers from its stored
    results without applying again.
    """


class BatchTooLargeError(PermanentBackendError):
    """413: the batch is too large; the same operations may go in smaller batches."""


class StateEndpointUnavailableError(PermanentBackendError):
    """The backend does not offer the optional state endpoint (reconciliation is not possible)."""


@dataclass(frozen=True, slots=True)
class OperationResult:
    """The backend's result for one operation."""

    operation_id: str
    status: str
    code: str
    detail: str


@dataclass(frozen=True, slots=True)
class BatchResponse:
    """A checked 200 answer to a batch: one result per operation, in order."""

    batch_id: str
    results: tuple[OperationResult, ...]


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep retrying transient failures of one request."""

    max_attempts: int = 5
    max_seconds: float = 60.0
    base_delay: float = 0.5
    max_delay: float = 20.0

    def delay(self, attempt: int) -> float:
        """Full-jitter exponential backoff before retry number ``attempt`` (1-based)."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


DEFAULT_RETRY_POLICY = RetryPolicy()

_sessions: dict[int, requests.Session] = {}


def shared_session() -> requests.Session:
    """One ``requests.Session`` per process (connection reuse; a forked worker gets its own)."""
    pid = os.getpid()
    session = _sessions.get(pid)
    if session is None:
        session = _sessions[pid] = requests.Session()
        # Only what the settings say: no ~/.netrc credentials in place of the token, no proxies from the environment.
        session.trust_env = False
    return session


class BackendClient:
    """Sends batches to the backend configured in :class:`SyncSettings`."""

    def __init__(
        self,
        settings: SyncSettings,
        *,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        if not settings.backend_url:
            raise PermanentBackendError("VIRTU_SYNC_BACKEND_URL is not set: nothing can be sent")
        if urlsplit(settings.backend_url).scheme != "https" and not settings.allow_insecure_http:
            raise PermanentBackendError("the backend URL is not https and VIRTU_SYNC_ALLOW_INSECURE_HTTP is off")
        self.settings = settings
        self.session = session or shared_session()
        self.retry = retry or DEFAULT_RETRY_POLICY
        self.sleep = sleep
        self.clock = clock
        self.base_url = settings.backend_url.rstrip("/")

    def send_batch(self, body: Mapping[str, Any]) -> BatchResponse:
        """
        POST one batch and return its checked results, retrying transient failures.

        Raises:
            TransientBackendError: the backend stayed unreachable, slow or overloaded.
            BatchTooLargeError: 413.
            PermanentBackendError: any other refusal (nothing was applied).
            UnreadableAnswerError: a 200 answer that breaks the contract (outcome unknown).
        """
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        batch_id = body["batch_id"]
        response = self._post_with_retries(raw, batch_id)
        return _parse_batch_response(response, batch_id, [op["operation_id"] for op in body["operations"]])

    def fetch_state(self, course_id: str) -> dict[str, Any] | None:
        """
        The backend's state document for a course, or ``None`` when it does not know the course.

        The contract's optional reconciliation endpoint. Only a 404 whose error body has
        the code ``course_not_found`` means an unknown course; any other 404 (a web
        server's page, a framework's ``not_found``) means that the route does not exist,
        so drift is never guessed from a missing endpoint.

        Raises:
            StateEndpointUnavailableError: the backend does not offer the endpoint.
            PermanentBackendError: any other refusal, or an answer that is not a state document.
            TransientBackendError: the backend is unreachable.
        """
        url = self.base_url + STATE_PATH.format(course_id=quote(course_id, safe=""))
        try:
            response = self.session.get(
                url, headers=self._headers(b"", None), timeout=self._timeout(), allow_redirects=False
            )
        except requests.RequestException as error:
            raise TransientBackendError(f"state request failed: {_describe(error)}") from None
        except ValueError:  # requests parses a redirect's Location even when it does not follow it
            raise PermanentBackendError(f"state request failed: {_UNUSABLE_ANSWER}") from None
        status = response.status_code
        if status == 404 and _error_code(response) == COURSE_NOT_FOUND_CODE:
            return None
        if status in (404, 405, 501):
            raise StateEndpointUnavailableError(
                f"the backend does not offer the state endpoint (HTTP {status} for GET {STATE_PATH})", status=status
            )
        if status != 200:
            raise _error_for(response)
        document = _json_or_none(response)
        if not isinstance(document, dict) or not isinstance(document.get("entities"), dict):
            raise PermanentBackendError("the state endpoint answered something not a state document", status=200)
        return document

    def _post_with_retries(self, raw: bytes, batch_id: str) -> requests.Response:
        started = self.clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.session.post(
                    self.base_url + BATCHES_PATH,
                    data=raw,
                    headers=self._headers(raw, batch_id),
                    timeout=self._timeout(),
                    allow_redirects=False,
                )
            except requests.RequestException as error:
                failure: BackendError = TransientBackendError(f"request failed: {_describe(error)}")
                wait = None
            except ValueError:  # requests parses a redirect's Location even when it does not follow it
                failure, wait = PermanentBackendError(f"request failed: {_UNUSABLE_ANSWER}"), None
            else:
                if response.status_code == 200:
                    return response
                failure = _error_for(response)
                wait = _retry_after(response)
            if not isinstance(failure, TransientBackendError):
                raise failure
            delay = self.retry.delay(attempt) if wait is None else wait
            elapsed = self.clock() - started
            if attempt >= self.retry.max_attempts or elapsed + delay > self.retry.max_seconds:
                raise TransientBackendError(f"{failure} (gave up after {attempt} attempts)", status=failure.status)
            log.warning("Virtu backend: batch %s attempt %d: %s; retrying in %.1fs", batch_id, attempt, failure, delay)
            self.sleep(delay)

    def _headers(self, raw: bytes, batch_id: str | None) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self.settings.api_token}",
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
        }
        if batch_id is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
            headers["Idempotency-Key"] = batch_id
        if self.settings.signing_secret:
            headers["X-Virtu-Signature"] = sign(self.settings.signing_secret, raw)
        return headers

    def _timeout(self) -> tuple[float, float]:
        return (self.settings.connect_timeout, self.settings.read_timeout)


def sign(secret: str, raw_body: bytes, *, timestamp: int | None = None) -> str:
    """The ``X-Virtu-Signature`` value: ``t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``."""
    stamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode("utf-8"), f"{stamp}.".encode() + raw_body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def _error_for(response: requests.Response) -> BackendError:
    status = response.status_code
    detail = _detail(response)
    if 300 <= status < 400:
        try:
            target = urlsplit(response.headers.get("Location", ""))
            where = f"{target.scheme}://{target.netloc}" if target.netloc else "elsewhere"
        except ValueError:  # not a URL (e.g. "http://[::1")
            where = "elsewhere"
        return PermanentBackendError(f"HTTP {status}: redirect to {where} refused", status=status)
    if status == 413:
        return BatchTooLargeError(f"HTTP 413: batch too large: {detail}", status=status)
    if status in TRANSIENT_STATUSES or status >= 500:
        return TransientBackendError(f"HTTP {status}: {detail}", status=status)
    return PermanentBackendError(f"HTTP {status}: {detail}", status=status)


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value or response.status_code not in (429, 503):
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _parse_batch_response(response: requests.Response, batch_id: str, operation_ids: list[str]) -> BatchResponse:
    document = _json_or_none(response)
    if not isinstance(document, dict):
        raise UnreadableAnswerError(f"HTTP 200 but not a JSON object: {_detail(response)}", status=200)
    results = document.get("results")
    if document.get("batch_id") != batch_id or not isinstance(results, list):
        raise UnreadableAnswerError("HTTP 200 but the answer is not the results of this batch", status=200)
    if len(results) != len(operation_ids):
        raise UnreadableAnswerError(
            f"HTTP 200 with {len(results)} results for {len(operation_ids)} operations", status=200
        )
    parsed = []
    for expected_id, result in zip(operation_ids, results):
        if not isinstance(result, dict) or result.get("operation_id") != expected_id:
            raise UnreadableAnswerError("HTTP 200 but the results do not match the operations in order", status=200)
        if result.get("status") not in ("applied", "failed"):
            raise UnreadableAnswerError(
                f"HTTP 200 with an unknown result status {result.get('status')!r:.40}", status=200
            )
        parsed.append(
            OperationResult(expected_id, result["status"], _text(result.get("code")), _text(result.get("detail")))
        )
    return BatchResponse(batch_id, tuple(parsed))


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
        return None


def _error_code(response: requests.Response) -> str | None:
    """The ``code`` of a contract error body, if the response has one."""
    document = _json_or_none(response)
    return document.get("code") if isinstance(document, dict) else None


def _detail(response: requests.Response) -> str:
    document = _json_or_none(response)
    if isinstance(document, dict) and document.get("detail"):
        return _text(document["detail"])
    return _text(response.text)


def _text(value: Any) -> str:
    text = "" if value is None else str(value)
    return text[:MAX_DETAIL_CHARS]


def _describe(error: requests.RequestException) -> str:
    """The kind of a transport error, without URLs or headers that could carry secrets."""
    return type(error).__name__
