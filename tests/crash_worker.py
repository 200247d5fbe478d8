"""
A sync worker process that kills itself (SIGKILL) at a chosen point of a sync, for the
crash tests. Run as ``python -m tests.crash_worker COURSE_ID CRASH_POINT`` with
``DJANGO_SETTINGS_MODULE=tests.worker_settings``.

Crash points (the hooks wrap plugin functions in this process only):

- ``before_send``: the operations are recorded, the first batch is about to go out;
- ``after_apply``: the backend applied the first batch; its answer is never recorded;
- ``snapshot_write``: inside the transaction that records the first batch's results and
  writes the snapshot;
- ``second_batch``: the first batch is settled, the second is about to go out;
- ``slow_read``: the outline read never ends (the test kills the worker during it).
"""

import os
import signal
import sys
import time

import django


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def install_crash_hook(point: str) -> None:
    from xmodule.modulestore.mixed import MixedModuleStore

    from virtu_sync_plugin import backend_client, sync

    if point == "slow_read":
        MixedModuleStore.get_course = lambda *args, **kwargs: time.sleep(3600)

    send_batch = backend_client.BackendClient.send_batch
    snapshot_to_json = sync.snapshot_to_json
    calls = {"send": 0}

    def crashing_send(self, body):
        calls["send"] += 1
        if point == "before_send" or (point == "second_batch" and calls["send"] == 2):
            die()
        response = send_batch(self, body)
        if point == "after_apply":
            die()
        return response

    def crashing_snapshot_to_json(snapshot):
        die()
        return snapshot_to_json(snapshot)

    backend_client.BackendClient.send_batch = crashing_send
    if point == "snapshot_write":
        sync.snapshot_to_json = crashing_snapshot_to_json


def main(course_id: str, point: str) -> None:
    django.setup()
    install_crash_hook(point)
    from virtu_sync_plugin import api

    api.sync_course(course_id)
    sys.exit(f"the sync finished without reaching the crash point {point}")


if __name__ == "__main__":
    main(*sys.argv[1:])
