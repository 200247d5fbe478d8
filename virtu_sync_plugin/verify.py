"""
Drift between a published course and what the backend holds of it, and its repair.

The backend's state document (the contract's optional ``GET .../courses/{course_id}/state``)
lists each entity it holds with its type, parent, position and fingerprint (SHA-256 of the
canonical JSON of its fields). Comparing it with the published outline is pure
(:func:`compare_with_backend`); so is :func:`snapshot_of_backend`, which turns the state
into the snapshot a repair stores, so that the normal pipeline's diff sends exactly the
fixes: entities that match are kept, missing and differing ones are left out (their
``create`` is an upsert), and extra ones are kept with their backend parent (they are
deleted).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from opaque_keys.edx.locator import CourseLocator

from . import course_lease
from .backend_client import BackendClient
from .conf import get_sync_settings
from .core.outline import ENTITY_TYPES, CourseOutline, Entity
from .core.placeholders import resolve_placeholders
from .core.snapshot import snapshot_to_json
from .data import CourseDrift, DriftKind, EntityDrift, SyncResult, SyncStatus
from .models import CourseSyncState
from .sync import load_snapshot, read_outline, sync_course

BackendEntities = Mapping[str, Mapping[str, Any]]

NOT_IN_MODULESTORE = "the course is not in the modulestore (deleted, or never published); nothing was repaired"


def fingerprint(fields: Mapping[str, Any]) -> str:
    """The contract's fingerprint of an entity's full field dict: SHA-256 of its canonical JSON."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def differences(entity: Entity, held: Mapping[str, Any]) -> tuple[str, ...]:
    """What differs between an outline entity and the backend's state of it (empty: nothing)."""
    checks = (
        ("entity_type", held.get("entity_type") == entity.entity_type.name),
        ("fields", held.get("fingerprint") == fingerprint(entity.data)),
        ("parent", held.get("parent_id") == entity.parent_id),
        ("position", held.get("position") == entity.position),
    )
    return tuple(name for name, same in checks if not same)


def compare_with_backend(outline: CourseOutline, backend_entities: BackendEntities) -> CourseDrift:
    """
    The drift between the published outline and the entities of the backend's state document.

    What the backend holds of blocks that do not load (the outline's placeholders) is no
    drift: it is left as it is until they load again.
    """
    resolution = resolve_placeholders(_held(outline.course_id, backend_entities), outline)
    entities, kept = resolution.outline.entities, resolution.kept
    drift = []
    for entity_id, entity in entities.items():
        if entity_id in kept:
            continue
        held = backend_entities.get(entity_id)
        if held is None:
            drift.append(EntityDrift(DriftKind.MISSING, entity_id, entity.entity_type.name))
        elif found := differences(entity, held):
            drift.append(EntityDrift(DriftKind.DIFFERING, entity_id, entity.entity_type.name, found))
    drift.extend(
        EntityDrift(DriftKind.EXTRA, entity_id, str(held.get("entity_type")))
        for entity_id, held in backend_entities.items()
        if entity_id not in entities
    )
    return CourseDrift(outline.course_id, len(entities), len(backend_entities), tuple(drift))


def _held(course_id: str, backend_entities: BackendEntities) -> CourseOutline:
    """The backend's entities as a snapshot: types and places, fields unknown (``None``)."""
    entities = {}
    for entity_id, held in backend_entities.items():
        entity_type = ENTITY_TYPES.get(str(held.get("entity_type")))
        if entity_type is not None:
            values = (None,) * len(entity_type.fields)
            entities[entity_id] = Entity(entity_type, entity_id, held.get("parent_id"), held.get("position"), values)
    return CourseOutline(course_id, entities)


def snapshot_of_backend(
    outline: CourseOutline, backend_entities: BackendEntities, acknowledged: CourseOutline | None = None
) -> CourseOutline:
    """
    The snapshot that makes a diff against ``outline`` repair the backend.

    Matching entities are kept as the outline has them; missing and differing ones are
    left out, so they are sent as creates (upserts, with every field, parent and
    position); extra ones are kept with their backend parent and empty fields, so the
    top-most of each extra subtree is deleted, unless they are what the backend holds of
    blocks that do not load: those stay, so the diff leaves them alone (with the fields of
    ``acknowledged``, the stored snapshot, when the backend's fingerprint matches them, so
    that nothing is sent again for them once they load). An extra entity of a type this plugin does not know
    cannot be deleted through the pipeline and is left out.
    """
    held = _held(outline.course_id, backend_entities)
    resolution = resolve_placeholders(held, outline)
    entities = {}
    for entity_id, entity in held.entities.items():
        read = resolution.outline.entities.get(entity_id)
        if entity_id in resolution.kept or read is None:
            known = acknowledged.entities.get(entity_id) if acknowledged is not None else None
            if (
                known is not None
                and known.entity_type == entity.entity_type
                and not differences(
                    dataclasses.replace(known, parent_id=entity.parent_id, position=entity.position),
                    backend_entities[entity_id],
                )
            ):
                entity = dataclasses.replace(entity, values=known.values)
            entities[entity_id] = entity
        elif not differences(read, backend_entities[entity_id]):
            entities[entity_id] = read
    return CourseOutline(outline.course_id, entities)


def fetch_backend_entities(course_key: CourseLocator) -> BackendEntities:
    """
    The entities the backend holds of the course (none when it does not know the course).

    Raises:
        StateEndpointUnavailableError: the backend does not offer the state endpoint.
        BackendError: the backend is not configured, unreachable, or refused the request.
    """
    document = BackendClient(get_sync_settings()).fetch_state(str(course_key))
    return {} if document is None else document["entities"]


def verify_course(course_key: CourseLocator) -> CourseDrift | None:
    """The course's drift, or ``None`` when the modulestore has no such course."""
    outline = read_outline(course_key)
    if outline is None:
        return None
    return compare_with_backend(outline, fetch_backend_entities(course_key))


def repair_course(course_key: CourseLocator, *, trigger: str) -> SyncResult:
    """
    Store what the backend really holds as the course's snapshot, then sync the course.

    The snapshot is replaced while holding the course's lease; when another worker holds
    it, nothing changes and the result is ``QUEUED``.
    """
    outline = read_outline(course_key)
    if outline is None:
        return SyncResult(str(course_key), SyncStatus.COURSE_NOT_FOUND, error=NOT_IN_MODULESTORE)
    course_lease.course_state(course_key)
    owner = course_lease.new_owner()
    if not course_lease.acquire(course_key, owner):
        return SyncResult(str(course_key), SyncStatus.QUEUED)
    try:
        stored = CourseSyncState.objects.filter(course_key=course_key).values_list("snapshot", flat=True).first()
        acknowledged = load_snapshot(course_key, stored or "")[0]
        snapshot = snapshot_of_backend(outline, fetch_backend_entities(course_key), acknowledged)
        CourseSyncState.objects.filter(course_key=course_key, lock_owner=owner).update(
            snapshot=snapshot_to_json(snapshot), entity_count=len(snapshot)
        )
    finally:
        course_lease.release(course_key, owner)
    return sync_course(course_key, trigger=trigger)
