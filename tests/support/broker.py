"""
A Celery broker in the test process, for tests about what is queued and when.

Tasks go to Celery's in-memory transport (``memory://``) instead of running eagerly;
:class:`QueuedTasks` reads them back with their ETA and runs them, in this process, as a
worker would when their time came. Time is simulated: a task with an ETA an hour away
runs as soon as the test says so.
"""

from __future__ import annotations

import queue
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tests.celery_app import app as celery_app


@dataclass(frozen=True)
class QueuedTask:
    """One task message waiting in the broker."""

    name: str
    args: tuple
    kwargs: dict[str, Any]
    eta: datetime | None

    def run(self) -> None:
        """Run the task here, as a worker does once its ETA has come."""
        celery_app.tasks[self.name].apply(self.args, self.kwargs, throw=True)


class QueuedTasks:
    """The tasks sent to the in-memory broker, taken out as they are read."""

    def __init__(self):
        #: Tasks with an ETA read from the broker by :meth:`run_due`, not run yet.
        self.held: list[QueuedTask] = []

    def take(self) -> list[QueuedTask]:
        """Every task waiting now, in the order sent; the broker is empty afterwards."""
        tasks, self.held = self.held, []
        with celery_app.connection_for_read() as connection:
            simple = connection.SimpleQueue(celery_app.conf.task_default_queue, no_ack=True)
            while True:
                try:
                    message = simple.get(block=False)
                except queue.Empty:
                    break
                args, kwargs, _ = message.payload
                eta = message.headers.get("eta")
                tasks.append(
                    QueuedTask(
                        message.headers["task"], tuple(args), kwargs, datetime.fromisoformat(eta) if eta else None
                    )
                )
            simple.close()
        return tasks

    def run_due(self) -> list[QueuedTask]:
        """Run the tasks with no ETA waiting now (not those they queue); keep the others. Return those run."""
        tasks = self.take()
        self.held = [task for task in tasks if task.eta is not None]
        due = [task for task in tasks if task.eta is None]
        for task in due:
            task.run()
        return due
