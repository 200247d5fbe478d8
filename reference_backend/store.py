"""SQLite storage of the reference backend: one table per entity type, plus ``batches`` and ``effects``.

Each entity table's parent is a foreign key into the parent type's table with ``ON DELETE CASCADE``, so
deleting an entity deletes its whole subtree and no entity can hang under a missing parent.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .entities import ENTITY_TYPES, PARENT_TYPE


@dataclass(frozen=True)
class StoredEntity:
    """An entity as the backend holds it; ``data`` is its full field dict as last applied."""

    entity_type: str
    entity_id: str
    parent_id: str | None
    position: int | None
    data: dict[str, Any]


@dataclass(frozen=True)
class StoredBatch:
    """The response given to a batch, kept to answer its retries, and a digest of what it asked."""

    request_digest: str
    response: dict[str, Any]


def _entity_table(entity_type: str) -> str:
    parent_type = PARENT_TYPE[entity_type]
    if parent_type is None:
        parent_columns = "parent_id TEXT, position INTEGER"
        parent_key = ""
    else:
        parent_columns = "parent_id TEXT NOT NULL, position INTEGER NOT NULL"
        parent_key = (
            f", FOREIGN KEY (course_id, parent_id) REFERENCES {parent_type} (course_id, entity_id) ON DELETE CASCADE"
        )
    return (
        f"CREATE TABLE IF NOT EXISTS {entity_type} (course_id TEXT NOT NULL, entity_id TEXT NOT NULL, "
        f"{parent_columns}, data TEXT NOT NULL, PRIMARY KEY (course_id, entity_id){parent_key});\n"
        f"CREATE INDEX IF NOT EXISTS {entity_type}_by_parent ON {entity_type} (course_id, parent_id);\n"
    )


_SCHEMA = "".join(_entity_table(entity_type) for entity_type in ENTITY_TYPES) + (
    "CREATE TABLE IF NOT EXISTS batches "
    "(batch_id TEXT PRIMARY KEY, request_digest TEXT NOT NULL, response TEXT NOT NULL);\n"
    "CREATE TABLE IF NOT EXISTS effects (operation_id TEXT PRIMARY KEY, count INTEGER NOT NULL);\n"
)
_ALL_ENTITIES = " UNION ALL ".join(
    f"SELECT {depth} AS depth, '{entity_type}', course_id, entity_id, parent_id, position, data FROM {entity_type}"
    for depth, entity_type in enumerate(ENTITY_TYPES)
)
_TREE_ORDER = " ORDER BY depth, course_id, parent_id, position, entity_id"


class Store:
    """The backend's data in one SQLite database (a file, or ``":memory:"``), safe to share between threads.

    One connection, one lock: a batch holds the lock for its whole transaction, so batches never interleave.
    """

    def __init__(self, db_path: str | Path) -> None:
        self._connection = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None, timeout=30)
        self._lock = threading.RLock()
        with self._lock:
            self._connection.execute("PRAGMA foreign_keys = ON")
            self._connection.executescript(_SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the block as one transaction: committed when it ends, rolled back when it raises."""
        with self._lock:
            # IMMEDIATE takes the write lock at once, also against another process using the same file.
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")

    def find(self, course_id: str, entity_id: str) -> StoredEntity | None:
        """The entity with this id in this course, whatever its type."""
        with self._lock:
            row = self._connection.execute(
                f"SELECT * FROM ({_ALL_ENTITIES}) WHERE course_id = ? AND entity_id = ?", (course_id, entity_id)
            ).fetchone()
        return None if row is None else _entity(row)

    def save(self, course_id: str, entity: StoredEntity) -> None:
        """Insert the entity, or overwrite its parent, position and data."""
        with self._lock:
            # An upsert, not INSERT OR REPLACE: a replace deletes the row first, and the cascade its subtree.
            self._connection.execute(
                f"INSERT INTO {entity.entity_type} (course_id, entity_id, parent_id, position, data) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (course_id, entity_id) DO UPDATE SET "
                "parent_id = excluded.parent_id, position = excluded.position, data = excluded.data",
                (course_id, entity.entity_id, entity.parent_id, entity.position, json.dumps(entity.data)),
            )

    def delete(self, course_id: str, entity_type: str, entity_id: str) -> None:
        """Delete the entity and, through the foreign keys, its whole subtree."""
        with self._lock:
            self._connection.execute(
                f"DELETE FROM {entity_type} WHERE course_id = ? AND entity_id = ?", (course_id, entity_id)
            )

    def entities(self, course_id: str | None = None) -> list[StoredEntity]:
        """Every stored entity, of one course or of all, parents before children."""
        query = f"SELECT * FROM ({_ALL_ENTITIES})"
        parameters: tuple[str, ...] = ()
        if course_id is not None:
            query += " WHERE course_id = ?"
            parameters = (course_id,)
        with self._lock:
            rows = self._connection.execute(query + _TREE_ORDER, parameters).fetchall()
        return [_entity(row) for row in rows]

    def stored_batch(self, batch_id: str) -> StoredBatch | None:
        """What was answered to the batch with this id, if it was applied."""
        with self._lock:
            row = self._connection.execute(
                "SELECT request_digest, response FROM batches WHERE batch_id = ?", (batch_id,)
            ).fetchone()
        return None if row is None else StoredBatch(row[0], json.loads(row[1]))

    def save_batch(self, batch_id: str, batch: StoredBatch) -> None:
        """Keep the response to a batch, to answer its retries with."""
        with self._lock:
            self._connection.execute(
                "INSERT INTO batches (batch_id, request_digest, response) VALUES (?, ?, ?)",
                (batch_id, batch.request_digest, json.dumps(batch.response)),
            )

    def count_effect(self, operation_id: str) -> None:
        """Note that the operation took effect once more."""
        with self._lock:
            self._connection.execute(
                "INSERT INTO effects (operation_id, count) VALUES (?, 1) "
                "ON CONFLICT (operation_id) DO UPDATE SET count = count + 1",
                (operation_id,),
            )

    def effects(self) -> dict[str, int]:
        """How many times each operation took effect."""
        with self._lock:
            return dict(self._connection.execute("SELECT operation_id, count FROM effects").fetchall())

    def reset(self) -> None:
        """Forget everything: entities, batches and effects."""
        with self.transaction():
            for table in (*reversed(ENTITY_TYPES), "batches", "effects"):
                self._connection.execute(f"DELETE FROM {table}")

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._connection.close()


def _entity(row: tuple[Any, ...]) -> StoredEntity:
    _, entity_type, _, entity_id, parent_id, position, data = row
    return StoredEntity(entity_type, entity_id, parent_id, position, json.loads(data))
