"""
A worker process that kills itself (SIGKILL) at a chosen step of pruning a course's old
history, for the crash tests. Run as ``python -m tests.crash_prune_worker COURSE_ID STEP``
with ``DJANGO_SETTINGS_MODULE=tests.worker_settings``; batches of two rows.

Steps (the hooks wrap functions in this process only):

- ``fold``: the checkpoint is read and replayed, its complete form about to be stored;
- ``operations``: the checkpoint is folded, no row deleted yet;
- ``mid_operations``: one batch of operation-log rows deleted;
- ``mid_runs``: every old operation and one batch of runs deleted.
"""

import sys
from collections import Counter

import django

from tests.crash_worker import die

STEPS = ("fold", "operations", "mid_operations", "mid_runs")


def install_crash_hook(step: str) -> None:
    from django.db.models.query import QuerySet

    from virtu_sync_plugin import retention
    from virtu_sync_plugin.models import SyncRun

    retention.PRUNE_BATCH_ROWS = 2
    delete = QuerySet.delete
    deletes = Counter()

    def crashing_delete(queryset):
        deletes[queryset.model] += 1
        if (
            (step == "operations" and sum(deletes.values()) == 1)
            or (step == "mid_operations" and sum(deletes.values()) == 2)
            or (step == "mid_runs" and deletes[SyncRun] == 2)
        ):
            die()
        return delete(queryset)

    def crashing_snapshot_to_json(snapshot):
        die()

    QuerySet.delete = crashing_delete
    if step == "fold":
        retention.snapshot_to_json = crashing_snapshot_to_json


def main(course_id: str, step: str) -> None:
    django.setup()
    install_crash_hook(step)
    from virtu_sync_plugin import api

    api.prune_sync_history(course_id)
    sys.exit(f"the prune finished without reaching the step {step}")


if __name__ == "__main__":
    main(*sys.argv[1:])
