"""
Every log line the how-tos tell operators to alert on is real: each condition is produced
for real, and a record comes from the logger the docs name, at the level they name, with
the message they quote.

The how-tos write an alert as: ``LEVEL`` lines of ``logger`` ("message"), where
``<name>`` in the message stands for a value and ``...`` for any text.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from reference_backend.faults import Fault
from tests.conftest import BROKER_DOWN, REPO_ROOT, SAMPLE_COURSE, SAMPLE_COURSE_ID
from virtu_sync_plugin import api
from virtu_sync_plugin.models import CourseSyncState

pytestmark = pytest.mark.django_db(transaction=True)

HOW_TOS = REPO_ROOT / "docs" / "how-tos"
ALERT = re.compile(r'``(DEBUG|INFO|WARNING|ERROR|CRITICAL)`` lines of ``([\w.]+)`` \("([^"]+)"\)')
DOWN = Fault.fail(503, count=1_000_000)


def documented_alerts() -> list[tuple[str, str, str, str]]:
    """(level, logger, message, file) of every alert in the how-tos, whitespace made single spaces."""
    alerts = []
    for path in sorted(HOW_TOS.glob("*.rst")):
        text = " ".join(path.read_text(encoding="utf-8").split())
        alerts.extend((*match.groups(), path.name) for match in ALERT.finditer(text))
    return alerts


def message_pattern(message: str) -> re.Pattern:
    parts = re.split(r"(<[a-z ]+>|\.\.\.)", message)
    return re.compile(
        "".join(".*" if part == "..." else ".+?" if part.startswith("<") else re.escape(part) for part in parts),
        re.DOTALL,
    )


def a_pass_fails(studio, backend, non_eager):
    backend.set_faults(DOWN)
    studio.publish_export(SAMPLE_COURSE)  # switch off: not synced at publish
    api.sync_course(SAMPLE_COURSE_ID)


def a_publish_cannot_be_queued(studio, backend, non_eager):
    from waffle.models import Switch

    Switch.objects.create(name="virtu_sync.course_sync", active=True)
    non_eager(BROKER_DOWN)
    with transaction.atomic():
        studio.publish_export(SAMPLE_COURSE)


def a_retry_cannot_be_scheduled(studio, backend, non_eager):
    non_eager(BROKER_DOWN)
    a_pass_fails(studio, backend, non_eager)
    assert CourseSyncState.objects.get().next_retry_at is None, "not scheduled, and not left looking scheduled"


def retries_run_out(studio, backend, non_eager):
    non_eager("memory://")
    a_pass_fails(studio, backend, non_eager)  # a retry is scheduled
    week_ago = timezone.now() - timedelta(days=7, seconds=1)
    CourseSyncState.objects.update(out_of_sync_since=week_ago, next_retry_at=None)  # the last retry ran, a week on
    api.sync_course(SAMPLE_COURSE_ID)


#: How to produce, for real, what each documented (level, logger) alert is about.
CONDITIONS = {
    ("WARNING", "virtu_sync_plugin.sync"): a_pass_fails,
    ("WARNING", "virtu_sync_plugin.backend_client"): a_pass_fails,
    ("ERROR", "virtu_sync_plugin.api"): a_publish_cannot_be_queued,
    ("ERROR", "virtu_sync_plugin.retries"): a_retry_cannot_be_scheduled,
    ("WARNING", "virtu_sync_plugin.retries"): retries_run_out,
}


def test_the_how_tos_name_the_alerts_and_no_logger_that_never_logs_them():
    alerts = documented_alerts()
    assert {(level, logger) for level, logger, _, _ in alerts} == set(CONDITIONS)
    assert not any("signals.handlers" in logger for _, logger, _, _ in alerts)


@pytest.mark.parametrize(
    ("level", "logger", "message", "document"),
    documented_alerts(),
    ids=[f"{level}-{logger}" for level, logger, _, _ in documented_alerts()],
)
def test_each_documented_alert_is_logged_as_documented(
    level, logger, message, document, studio, backend, non_eager, caplog
):
    condition = CONDITIONS.get((level, logger))
    assert condition is not None, f"{document} documents {level} of {logger}: add the condition that logs it here"
    caplog.set_level(logging.INFO)

    condition(studio, backend, non_eager)

    pattern = message_pattern(message)
    records = [record for record in caplog.records if record.name == logger and record.levelname == level]
    assert records, f"no {level} record from {logger}; got {[(r.name, r.levelname) for r in caplog.records]}"
    assert any(pattern.fullmatch(record.getMessage()) for record in records), (
        message,
        [record.getMessage() for record in records],
    )
