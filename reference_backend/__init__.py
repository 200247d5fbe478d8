"""A reference implementation of a Virtu course-sync v1 backend (``docs/openapi/course-sync-v1.yaml``).

It is not part of the plugin: the plugin's tests and demo push to it, and it shows how a conforming backend
behaves. Standard library only: ``http.server``, ``sqlite3`` and ``hmac``.

- ``entities``: the entity types, their fields and the values they accept; the fingerprint of a state.
- ``operations``: one strategy class per operation (create, update, delete).
- ``batches``: check a batch against the contract, apply it exactly once.
- ``store``: the SQLite tables.
- ``faults``: misbehaviour on demand, for tests.
- ``app``: the HTTP endpoints; ``server``: serving them, and a client of the admin endpoints.

In tests::

    with ReferenceBackend(token="t", secret="s") as backend:
        ...  # send batches to backend.url, then look at backend.tree(), backend.effects(), backend.requests()
"""

from .app import ReceivedRequest
from .faults import Fault, FaultMode
from .server import ReferenceBackend, ReferenceBackendClient

__all__ = ["Fault", "FaultMode", "ReceivedRequest", "ReferenceBackend", "ReferenceBackendClient"]
