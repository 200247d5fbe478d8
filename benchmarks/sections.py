"""
The measurements of ``make bench``, one function per section. Each runs in a process of
its own (see ``benchmarks/run.py``), with Django set up on a fresh SQLite database, and
returns rows for the results table.

A row is a dict: ``section``, ``name``, the measured ``min``/``median`` (seconds unless
``unit`` says otherwise), an optional ``baseline`` measured in the same run with its
``ratio`` (baseline / measured: how many times better), an optional ``target`` with
``met``, and ``details``.
"""

from __future__ import annotations

import gc
import json
import math
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import harness, storage
from .courses import SyntheticCourse

SIZES = (1_000, 10_000, 50_000)
ASSESSMENT_TYPES = frozenset({"problem", "openassessment", "drag-and-drop-v2"})


def row(section: str, name: str, timing: harness.Timing | None = None, **fields: Any) -> dict[str, Any]:
    """A table row; ``timing`` gives ``min`` and ``median``."""
    result = {"section": section, "name": name, "unit": "s"}
    if timing is not None:
        result.update(min=timing.min, median=timing.median, max=timing.max, repeats=len(timing.samples))
    result.update(fields)
    return result


def _courses(quick: bool) -> dict[int, SyntheticCourse]:
    return {size: SyntheticCourse.generate(size, seed=size) for size in SIZES if not (quick and size > 10_000)}


def _serve(course: SyntheticCourse) -> None:
    """Publish ``course`` in the stand-in modulestore (replacing the course of the same key)."""
    from xmodule.modulestore.django import modulestore

    modulestore().add_course(course.build())


def _unserve(course: SyntheticCourse) -> None:
    """Stop serving ``course`` (a worker holds one course at a time, not every course it synced)."""
    from xmodule.modulestore.django import modulestore

    modulestore().remove_course(course.course_key)


def _read_outline(course: SyntheticCourse):
    from virtu_sync_plugin import api

    return api.build_outline(str(course.course_key))


# 1. build_outline ---------------------------------------------------------------------------


def outline(work_dir: Path, quick: bool) -> list[dict[str, Any]]:
    """``api.build_outline``: the published course read from the modulestore and turned into an outline."""
    harness.setup_django(work_dir)
    rows = []
    for size, course in _courses(quick).items():
        _serve(course)
        outline = _read_outline(course)
        timing = harness.timed(lambda course=course: _read_outline(course), 3 if size >= 50_000 else 7)
        rows.append(
            row(
                "build_outline",
                f"{size:,} blocks",
                timing,
                details={
                    "blocks": course.block_count(),
                    "entities": len(outline),
                    "sections": len(course.sections()),
                    "blocks_per_second": course.block_count() / timing.median,
                },
            )
        )
    return rows


# 2. diff ------------------------------------------------------------------------------------


def nested(outline) -> dict[str, Any]:
    """The outline as the nested dicts a user would hand to DeepDiff: each node's fields, position and children."""
    nodes = {
        entity_id: {"type": entity.entity_type.name, "position": entity.position, "fields": entity.data, "children": {}}
        for entity_id, entity in outline.entities.items()
    }
    for entity_id, entity in outline.entities.items():
        if entity.parent_id is not None:
            nodes[entity.parent_id]["children"][entity_id] = nodes[entity_id]
    return nodes[outline.course_id]


def flat(outline) -> dict[str, tuple[str | None, int | None, dict[str, Any]]]:
    """The outline as the flat dict a Python engineer would write first: entity id -> (parent, position, fields)."""
    return {
        entity_id: (entity.parent_id, entity.position, entity.data) for entity_id, entity in outline.entities.items()
    }


def flat_diff(old: dict[str, tuple], new: dict[str, tuple]) -> tuple[list[str], list[str], list[str]]:
    """Two flat dicts compared key by key: the ids created, changed (parent, position or a field) and deleted."""
    created = [entity_id for entity_id in new if entity_id not in old]
    changed = [entity_id for entity_id, entry in new.items() if entity_id in old and old[entity_id] != entry]
    deleted = [entity_id for entity_id in old if entity_id not in new]
    return created, changed, deleted


def scenarios(course: SyntheticCourse) -> list[tuple[str, SyntheticCourse, str]]:
    """The changes measured: (name, changed course, what changed)."""
    rename, rename_what = course.renamed(random.Random(1))
    share, share_what = course.with_changed_share(random.Random(2), 0.01)
    reorder, reorder_what = course.reordered()
    moved, moved_what = course.subsection_moved()
    return [
        ("no change", course, "the same outline"),
        ("one rename", rename, rename_what),
        ("1 % changed", share, share_what),
        ("reorder in largest section", reorder, reorder_what),
        ("subsection moved", moved, moved_what),
    ]


def diff(work_dir: Path, quick: bool) -> list[dict[str, Any]]:
    """
    ``api.diff_outlines`` per change and size, against two baselines on the same outlines:
    a flat dict compared key by key (the row's baseline) and DeepDiff on nested dicts (in
    the details). Each baseline's conversion of the outlines is left out of its timing.
    """
    harness.setup_django(work_dir)
    from deepdiff import DeepDiff

    from virtu_sync_plugin import api

    rows = []
    for size, course in _courses(quick).items():
        _serve(course)
        old = _read_outline(course)
        old_nested = nested(old)
        old_flat = flat(old)
        for name, changed, what in scenarios(course):
            _serve(changed)
            new = _read_outline(changed)
            operations = api.diff_outlines(old, new)
            timing = harness.timed(lambda old=old, new=new: api.diff_outlines(old, new), 5 if size >= 50_000 else 9)
            new_nested = nested(new)
            found = []  # what DeepDiff found (the last repeat's result)
            deep_timing = harness.timed(
                lambda old_nested=old_nested, new_nested=new_nested, found=found: found.append(
                    DeepDiff(old_nested, new_nested)
                ),
                2 if size >= 50_000 else 3,
            )
            deep = found[-1]
            new_flat = flat(new)
            flat_timing = harness.timed(
                lambda old_flat=old_flat, new_flat=new_flat: flat_diff(old_flat, new_flat), 5 if size >= 50_000 else 9
            )
            entities = max(len(old), len(new))
            rows.append(
                row(
                    "diff",
                    f"{size:,} blocks: {name}",
                    timing,
                    baseline=flat_timing.median,
                    baseline_min=flat_timing.min,
                    ratio=flat_timing.median / timing.median,
                    target="≥ 10× DeepDiff, ≥ 200,000 entities/s",
                    met=deep_timing.median / timing.median >= 10 and entities / timing.median >= 200_000,
                    details={
                        "what": what,
                        "entities": entities,
                        "operations": len(operations),
                        "entities_per_second": entities / timing.median,
                        "flat_dict_changes": sum(map(len, flat_diff(old_flat, new_flat))),
                        "deepdiff_median": deep_timing.median,
                        "deepdiff_min": deep_timing.min,
                        "deepdiff_ratio": deep_timing.median / timing.median,
                        "deepdiff_changes": sum(len(changes) for changes in deep.values()),
                    },
                )
            )
        _serve(course)
    return rows


# 3. snapshot --------------------------------------------------------------------------------


def snapshot(work_dir: Path, quick: bool) -> list[dict[str, Any]]:
    """The stored snapshot: bytes per entity, serialisation both ways, and its database write and read."""
    harness.setup_django(work_dir)
    from django.db import transaction

    from virtu_sync_plugin.core.snapshot import snapshot_from_json, snapshot_to_json
    from virtu_sync_plugin.models import CourseSyncState

    rows = []
    for size, course in _courses(quick).items():
        _serve(course)
        outline = _read_outline(course)
        text = snapshot_to_json(outline)
        size_bytes = len(text.encode("utf-8"))
        key = course.course_key
        CourseSyncState.objects.create(course_key=key)
        repeats = 5 if size >= 50_000 else 9
        count = len(outline)
        to_json = harness.timed(lambda outline=outline: snapshot_to_json(outline), repeats)
        from_json = harness.timed(lambda text=text: snapshot_from_json(text), repeats)

        def write(key=key, text=text, count=count):
            with transaction.atomic():
                CourseSyncState.objects.filter(course_key=key).update(snapshot=text, entity_count=count)

        write_timing = harness.timed(write, repeats)
        read_timing = harness.timed(
            lambda key=key: CourseSyncState.objects.filter(course_key=key).values_list("snapshot", flat=True).get(),
            repeats,
        )
        per_entity = size_bytes / len(outline)
        rows.append(
            row(
                "snapshot",
                f"{size:,} blocks: bytes per entity",
                unit="B",
                min=per_entity,
                median=per_entity,
                target="≤ 150 B/entity",
                met=per_entity <= 150,
                details={"entities": len(outline), "bytes": size_bytes},
            )
        )
        load = harness.Timing([r + f for r, f in zip(read_timing.samples, from_json.samples)])
        save = harness.Timing([t + w for t, w in zip(to_json.samples, write_timing.samples)])
        rows.append(row("snapshot", f"{size:,} blocks: load (DB read + snapshot_from_json)", load,
                        details={"db_read": read_timing.median, "snapshot_from_json": from_json.median}))  # fmt: skip
        rows.append(row("snapshot", f"{size:,} blocks: save (snapshot_to_json + DB write, committed)", save,
                        details={"snapshot_to_json": to_json.median, "db_write": write_timing.median}))  # fmt: skip
    return rows


# 4. end to end ------------------------------------------------------------------------------


class _ReadTimer:
    """Times the modulestore read (``sync.read_outline``) inside each sync."""

    def __init__(self):
        from virtu_sync_plugin import sync

        self.sync = sync
        self.original = sync.read_outline
        self.last = 0.0

    def __enter__(self):
        def timed_read(course_key):
            started = time.perf_counter()
            try:
                return self.original(course_key)
            finally:
                self.last = time.perf_counter() - started

        self.sync.read_outline = timed_read
        return self

    def __exit__(self, *exc):
        self.sync.read_outline = self.original


def _switch_on() -> None:
    from waffle.models import Switch

    Switch.objects.update_or_create(name="virtu_sync.course_sync", defaults={"active": True})


def _sync(course: SyntheticCourse, reads: _ReadTimer, *, force: bool = False):
    """One ``api.sync_course`` (as the publish task runs it): result, seconds, read seconds, traffic."""
    from virtu_sync_plugin import api
    from virtu_sync_plugin.data import SyncStatus

    gc.collect()
    with harness.counted_traffic() as traffic:
        started = time.perf_counter()
        result = api.sync_course(str(course.course_key), force=force, trigger=api.TRIGGER_PUBLISH)
        elapsed = time.perf_counter() - started
    if result.status not in (SyncStatus.SYNCED, SyncStatus.UNCHANGED):
        raise RuntimeError(f"sync of {course.course_key}: {result.status}: {result.error}")
    return result, elapsed, reads.last, traffic


def end_to_end(work_dir: Path, quick: bool) -> list[dict[str, Any]]:
    """
    A re-publish synced through HTTP to the reference backend (its own process): requests,
    bytes and time per change, against dumping the whole course (``force=True``: every
    entity sent as an upsert).
    """
    harness.setup_django(work_dir)
    _switch_on()
    rows = []
    with harness.reference_backend(work_dir / "backend.sqlite3") as backend, _ReadTimer() as reads:
        harness.use_backend(backend.url)
        for size, course in _courses(quick).items():
            repeats = 2 if size >= 50_000 else 5
            _serve(course)
            _sync(course, reads)  # the first sync: the backend has the course
            dumps = [_sync(course, reads, force=True) for _ in range(2 if size >= 50_000 else 3)]
            dump_time = statistics.median(elapsed for _, elapsed, _, _ in dumps)
            dump_traffic = dumps[0][3]
            dump_operations = len(dumps[0][0].operations)
            rows.append(
                row(
                    "end to end",
                    f"{size:,} blocks: full dump (baseline)",
                    harness.Timing([elapsed for _, elapsed, _, _ in dumps]),
                    details={
                        "operations": dump_operations,
                        "requests": dump_traffic.requests,
                        "bytes": dump_traffic.bytes,
                        "bytes_sent": dump_traffic.sent,
                    },
                )
            )
            for name, changed, what in scenarios(course):
                samples = []
                for _ in range(repeats):
                    _serve(changed)
                    samples.append(_sync(course, reads))
                    if changed is not course:
                        _serve(course)
                        _sync(course, reads)  # back to the base, unmeasured
                result, _, _, traffic = samples[0]
                timing = harness.Timing([elapsed for _, elapsed, _, _ in samples])
                without_read = harness.Timing([elapsed - read for _, elapsed, read, _ in samples])
                details = {
                    "what": what,
                    "operations": len(result.operations),
                    "requests": traffic.requests,
                    "bytes": traffic.bytes,
                    "bytes_sent": traffic.sent,
                    "modulestore_read": statistics.median(read for _, _, read, _ in samples),
                    "without_read_min": without_read.min,
                    "without_read_median": without_read.median,
                    "without_read_max": without_read.max,
                    "requests_baseline": dump_traffic.requests,
                    "bytes_baseline": dump_traffic.bytes,
                    "bytes_ratio": dump_traffic.bytes / traffic.bytes if traffic.bytes else math.inf,
                }
                target = met = None
                if size == 10_000 and name == "no change":
                    target = "no request; sync minus read ≤ 50 ms"
                    met = traffic.requests == 0 and without_read.median <= 0.050
                elif size == 10_000 and name == "one rename":
                    target = "1 operation in 1 request; ≥ 1,000× fewer bytes"
                    met = len(result.operations) == 1 and traffic.requests == 1 and details["bytes_ratio"] >= 1000
                rows.append(
                    row(
                        "end to end",
                        f"{size:,} blocks: {name}",
                        timing,
                        baseline=dump_time,
                        ratio=dump_time / timing.median,
                        target=target,
                        met=met,
                        details=details,
                    )
                )
    return rows


# 5. delivery throughput ---------------------------------------------------------------------


def _phase_timer() -> tuple[dict[str, float], Callable[[], None]]:
    """Times the phases of a sync: the modulestore read, the delivery (record, send, settle) and HTTP."""
    from virtu_sync_plugin import backend_client, sync

    spent = {"read": 0.0, "delivery": 0.0, "http": 0.0}
    originals = {
        (sync, "read_outline"): sync.read_outline,
        (sync._Pass, "_deliver"): sync._Pass._deliver,
        (backend_client.BackendClient, "send_batch"): backend_client.BackendClient.send_batch,
    }

    def timing(function, phase):
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[phase] += time.perf_counter() - started

        return timed

    sync.read_outline = timing(sync.read_outline, "read")
    sync._Pass._deliver = timing(sync._Pass._deliver, "delivery")
    backend_client.BackendClient.send_batch = timing(backend_client.BackendClient.send_batch, "http")

    def restore():
        for (owner, name), original in originals.items():
            setattr(owner, name, original)

    return spent, restore


def throughput(work_dir: Path, quick: bool) -> list[dict[str, Any]]:
    """The first sync of a 50k-block course, to the reference backend and to a minimal HTTP sink (own processes)."""
    harness.setup_django(work_dir)
    from django.conf import settings

    from reference_backend import ReferenceBackendClient
    from virtu_sync_plugin import api
    from virtu_sync_plugin.conf import DEFAULTS

    _switch_on()
    size = 10_000 if quick else 50_000
    repeats = 2 if quick else 3
    rows = []
    default_batch_size = DEFAULTS["VIRTU_SYNC_BATCH_SIZE"]
    peers = {  # label: (start the peer, VIRTU_SYNC_BATCH_SIZE)
        "reference backend": (
            lambda: harness.reference_backend(work_dir / "throughput-backend.sqlite3"),
            default_batch_size,
        ),
        "minimal HTTP sink": (harness.http_sink, default_batch_size),
        "reference backend, batches of 500": (
            lambda: harness.reference_backend(work_dir / "throughput-backend-500.sqlite3"),
            500,
        ),
    }
    for number, (label, (start, batch_size)) in enumerate(peers.items()):
        samples = []
        settings.VIRTU_SYNC_BATCH_SIZE = batch_size
        with start() as peer:
            harness.use_backend(peer.url)
            for repeat in range(repeats):
                if "reference" in label:  # each repeat against an empty backend
                    ReferenceBackendClient(peer.url, harness.TOKEN).reset()
                course = SyntheticCourse.generate(size, seed=1000 + repeat, number=f"T{number}R{repeat}")
                _serve(course)
                gc.collect()
                spent, restore = _phase_timer()
                try:
                    started = time.perf_counter()
                    result = api.sync_course(str(course.course_key), trigger=api.TRIGGER_BACKFILL)
                    elapsed = time.perf_counter() - started
                finally:
                    restore()
                if result.applied != len(result.operations):
                    raise RuntimeError(f"first sync to the {label}: {result.status} {result.error}")
                samples.append((len(result.operations), elapsed, dict(spent)))
                _unserve(course)
        operations = samples[0][0]
        delivery = harness.Timing([spent["delivery"] for _, _, spent in samples])
        whole = harness.Timing([elapsed for _, elapsed, _ in samples])
        http = statistics.median(spent["http"] for _, _, spent in samples)
        rows.append(
            row(
                "throughput",
                f"first sync of {size:,} blocks to the {label}: delivery",
                unit="op/s",
                min=operations / delivery.max,
                median=operations / delivery.median,
                target="≥ 5,000 op/s" if label == "reference backend" else None,
                met=operations / delivery.median >= 5000 if label == "reference backend" else None,
                details={
                    "batch_size": batch_size,
                    "operations": operations,
                    "delivery_seconds": delivery.median,
                    "whole_sync_seconds": whole.median,
                    "whole_sync_operations_per_second": operations / whole.median,
                    "modulestore_read_seconds": statistics.median(spent["read"] for _, _, spent in samples),
                    "waiting_for_http_seconds": http,
                    "plugin_side_delivery_seconds": delivery.median - http,
                },
            )
        )
    return rows


# 6. backfill --------------------------------------------------------------------------------


class _GeneratedCourses:
    """
    500 courses for the stand-in modulestore, each built when read (as Studio reads a course
    from MongoDB): only the course being synced is in memory.
    """

    def __init__(self, count: int, seed: int, smallest: int, largest: int):
        from olx_modulestore import OlxModuleStore
        from opaque_keys.edx.locator import CourseLocator

        rng = random.Random(seed)
        self.seed = seed
        self.sizes = [round(math.exp(rng.uniform(math.log(smallest), math.log(largest)))) for _ in range(count)]
        self.keys = {CourseLocator("BenchX", f"C{index:04d}", "2026"): index for index in range(count)}
        self.building = 0.0
        generated = self

        class Store(OlxModuleStore):
            def get_course(self, course_key, depth=0, **kwargs):
                index = generated.keys.get(course_key.for_branch(None))
                if index is None:
                    return None
                if course_key.for_branch(None) not in self._added:
                    started = time.perf_counter()
                    self._added.clear()
                    self.add_course(generated.course(index).build())
                    generated.building += time.perf_counter() - started
                return super().get_course(course_key, depth, **kwargs)

            def get_course_summaries(self, **kwargs):
                from olx_modulestore import OlxCourseSummary

                return [OlxCourseSummary(key) for key in generated.keys]

        self.store = Store()

    def course(self, index: int) -> SyntheticCourse:
        """Course ``index`` (the same every time)."""
        return SyntheticCourse.generate(self.sizes[index], seed=self.seed + index, number=f"C{index:04d}")


def backfill(work_dir: Path, quick: bool) -> list[dict[str, Any]]:
    """``virtu_sync_backfill --all`` over 500 courses: courses per minute and peak RSS growth."""
    harness.setup_django(work_dir)
    from django.core.management import call_command
    from xmodule.modulestore import django as modulestore_module

    from virtu_sync_plugin import api

    _switch_on()
    count = 100 if quick else 500
    generated = _GeneratedCourses(count, seed=7, smallest=100, largest=2_000)
    modulestore_module._MIXED_MODULESTORE = generated.store  # modulestore() serves them
    command = Path(api.__file__).parent / "management" / "commands" / "virtu_sync_backfill.py"
    with harness.reference_backend(work_dir / "backfill-backend.sqlite3") as backend:
        harness.use_backend(backend.url)
        warm_up = SyntheticCourse.generate(300, seed=3, number="WARMUP")
        generated.store.add_course(warm_up.build())
        generated.keys[warm_up.course_key] = -1
        api.sync_course(str(warm_up.course_key))  # imports, connections, caches: before the baseline
        del generated.keys[warm_up.course_key]
        generated.store._added.clear()
        gc.collect()
        baseline = harness.rss_bytes()
        with harness.PeakRss() as peak, open("/dev/null", "w") as quiet:
            started = time.perf_counter()
            if command.exists():
                how = "call_command('virtu_sync_backfill', '--all')"
                call_command("virtu_sync_backfill", "--all", stdout=quiet, stderr=quiet)
            else:
                how = "api.sync_course(key, trigger=TRIGGER_BACKFILL), one course at a time"
                for key in list(generated.keys):
                    api.sync_course(str(key), trigger=api.TRIGGER_BACKFILL)
            elapsed = time.perf_counter() - started
        gc.collect()
        retained = harness.rss_bytes() - baseline
    from virtu_sync_plugin.models import CourseSyncState, SyncOperation

    in_sync = CourseSyncState.objects.filter(status=CourseSyncState.Status.IN_SYNC).count()
    operations = SyncOperation.objects.filter(run__trigger="backfill").count()
    growth = peak.peak - baseline
    return [
        row(
            "backfill",
            f"{count} courses (100-2,000 blocks each): throughput",
            unit="courses/min",
            min=count / elapsed * 60,
            median=count / elapsed * 60,
            details={
                "how": how,
                "seconds": elapsed,
                "courses_in_sync": in_sync,
                "operations": operations,
                "operations_per_second": operations / elapsed,
                "blocks": sum(generated.sizes),
                "building_synthetic_courses_seconds": generated.building,
            },
        ),
        row(
            "backfill",
            f"{count} courses: peak RSS growth",
            unit="MB",
            min=growth / 2**20,
            median=growth / 2**20,
            target="< 50 MB",
            met=growth < 50 * 2**20,
            details={"baseline_rss_mb": baseline / 2**20, "retained_growth_mb": retained / 2**20},
        ),
    ]


# 7. receiver --------------------------------------------------------------------------------


def receiver(work_dir: Path, quick: bool) -> list[dict[str, Any]]:
    """
    What the plugin's receiver adds to a publish: ``course_published`` sent as the
    modulestore sends it, inside the publish's transaction, with the receivers connected as
    in Studio and the switch on, against the same publish with no receivers. The
    transaction's commit runs the receiver's ``on_commit`` (queuing the Celery task on an
    in-memory broker; no worker).
    """
    harness.setup_django(work_dir)
    from celery import Celery
    from django.db import transaction
    from edx_django_utils.cache import RequestCache
    from edx_django_utils.plugins import connect_plugin_receivers
    from opaque_keys.edx.locator import CourseLocator
    from xmodule.modulestore.django import SignalHandler
    from xmodule.modulestore.mixed import MixedModuleStore

    app = Celery("virtu_sync_bench")
    app.config_from_object("django.conf:settings")
    app.set_default()
    _switch_on()
    handler = SignalHandler(MixedModuleStore)
    key = CourseLocator("BenchX", "RECV", "2026")
    repeats = 500 if quick else 3000

    in_transaction: list[float] = []

    def publish():
        RequestCache.clear_all_namespaces()  # a publish is one request in Studio
        with transaction.atomic():
            started = time.perf_counter()
            handler.send("course_published", course_key=key)
            in_transaction.append(time.perf_counter() - started)

    def samples() -> list[float]:
        result = []
        in_transaction.clear()
        for _ in range(repeats):
            started = time.perf_counter()
            publish()
            result.append(time.perf_counter() - started)
        return result

    publish()
    without = samples()
    send_without = statistics.median(in_transaction)
    connect_plugin_receivers("cms.djangoapp")
    from django.core.cache import cache

    cache.clear()
    RequestCache.clear_all_namespaces()
    started = time.perf_counter()
    publish()
    cold = time.perf_counter() - started
    with_receiver = samples()
    send_with = statistics.median(in_transaction)
    with app.connection_for_write() as connection:
        queued = connection.default_channel.queue_declare(queue="celery", passive=True).message_count
    added = [w - statistics.median(without) for w in with_receiver]
    median_added = statistics.median(with_receiver) - statistics.median(without)
    return [
        row(
            "receiver",
            "time added to a publish (switch on, course in scope)",
            min=min(added),
            median=median_added,
            max=max(added),
            baseline=statistics.median(without),
            target="< 1 ms median",
            met=median_added < 0.001,
            details={
                "publishes": repeats,
                "with_receiver_median": statistics.median(with_receiver),
                "with_receiver_p99": sorted(with_receiver)[int(0.99 * len(with_receiver))],
                "with_receiver_worst": max(with_receiver),
                "without_receiver_median": statistics.median(without),
                "first_publish_cold_caches": cold,
                "in_transaction_added_median": send_with - send_without,
                "on_commit_added_median": median_added - (send_with - send_without),
                "tasks_queued": queued,
            },
        )
    ]


SECTIONS: dict[str, Callable[[Path, bool], list[dict[str, Any]]]] = {
    "outline": outline,
    "diff": diff,
    "snapshot": snapshot,
    "end_to_end": end_to_end,
    "throughput": throughput,
    "backfill": backfill,
    "receiver": receiver,
    "admin_pages": storage.admin_pages,
    "retention": storage.retention,
}


def dump(rows: list[dict[str, Any]], path: Path) -> None:
    path.write_text(json.dumps(rows, indent=1, default=str))
