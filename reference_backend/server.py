"""Serve the reference backend over HTTP, and talk to its admin endpoints.

``ReferenceBackend`` runs one in a background thread of this process (for tests);
``ReferenceBackendClient`` reaches one anywhere, e.g. started with ``python -m reference_backend``.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlencode

from .app import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_OPERATIONS, ReceivedRequest, ReferenceApp
from .faults import Fault
from .store import Store
from .web import Request

logger = logging.getLogger(__name__)
# How much of a too-large body is read (and thrown away) so the client gets the 413 rather than a broken pipe.
_MAX_DISCARDED_BYTES = 64 * 1024 * 1024


class ReferenceHTTPServer(ThreadingHTTPServer):
    """A threaded HTTP server (one daemon thread per connection) for a ``ReferenceApp``."""

    def __init__(self, address: tuple[str, int], app: ReferenceApp) -> None:
        self.app = app
        super().__init__(address, _RequestHandler)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm each reply would wait for an ACK.
    disable_nagle_algorithm = True
    server: ReferenceHTTPServer

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        headers = {name.lower(): value for name, value in self.headers.items()}
        reply = self.server.app.handle(Request(self.command, self.path, headers, self._read_body()))
        if reply.drop_connection:
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(reply.body)

    def _read_body(self) -> bytes | None:
        """The request body, or None when it is larger than the app accepts (then the connection is closed)."""
        if "Transfer-Encoding" in self.headers:
            # Chunked bodies are not supported: the body is left unread, so the connection cannot be reused.
            self.close_connection = True
            return b""
        length = int(self.headers.get("Content-Length") or 0)
        if length <= self.server.app.max_body_bytes:
            return self.rfile.read(length)
        self.close_connection = True
        while 0 < length <= _MAX_DISCARDED_BYTES:
            chunk = self.rfile.read(min(length, 65536))
            if not chunk:
                break
            length -= len(chunk)
        return None

    def log_message(self, format: str, *args: Any) -> None:
        logger.info("%s %s", self.address_string(), format % args)


class ReferenceBackendClient:
    """The admin endpoints of a reference backend at ``url``, authenticated with ``token``."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        # Never through a proxy from the environment: the backend is local.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def tree(self, course_id: str | None = None) -> dict[str, dict[str, Any]]:
        """Every stored entity (of one course, when given): entity_id -> {entity_type, parent_id, position, data}."""
        query = f"?{urlencode({'course_id': course_id})}" if course_id is not None else ""
        return self._call("GET", f"/_reference/tree{query}")

    def effects(self) -> dict[str, int]:
        """How many times each operation_id took effect."""
        return self._call("GET", "/_reference/effects")

    def requests(self) -> list[ReceivedRequest]:
        """The contract requests received (batches and state), oldest first, with their exact body bytes."""
        return [ReceivedRequest.from_json(received) for received in self._call("GET", "/_reference/requests")]

    def set_faults(self, *faults: Fault, latency: float = 0.0) -> None:
        """Replace the fault plan: ``faults`` for the next batch requests, in order, and ``latency`` seconds."""
        self._call("POST", "/_reference/faults", {"faults": [fault.to_json() for fault in faults], "latency": latency})

    def reset(self) -> None:
        """Forget all data, batches, effects, received requests and faults."""
        self._call("POST", "/_reference/reset", {})

    def _call(self, method: str, path: str, payload: Any = None) -> Any:
        request = urllib.request.Request(
            self.url + path,
            method=method,
            data=None if payload is None else json.dumps(payload).encode("utf-8"),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with self._opener.open(request, timeout=10) as response:
            return json.load(response)


class ReferenceBackend(ReferenceBackendClient):
    """A reference backend serving on ``host`` (an ephemeral port by default) from a background thread.

    Starts at once; use it as a context manager, or call ``stop()``. ``db_path`` defaults to an in-memory
    database; give a file to keep the data across instances.
    """

    def __init__(
        self,
        *,
        token: str = "test-token",
        secret: str | None = None,
        db_path: str | Path = ":memory:",
        max_operations: int = DEFAULT_MAX_OPERATIONS,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._store = Store(db_path)
        self._app = ReferenceApp(
            self._store, token=token, secret=secret, max_operations=max_operations, max_body_bytes=max_body_bytes
        )
        self._server = ReferenceHTTPServer((host, port), self._app)
        # A short poll interval, because stop() waits for the serving loop to notice it.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, name="reference-backend", daemon=True
        )
        self._thread.start()
        super().__init__(f"http://{host}:{self._server.server_address[1]}", token)

    def stop(self) -> None:
        """Stop serving (waking up hung requests) and close the database."""
        self._app.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
