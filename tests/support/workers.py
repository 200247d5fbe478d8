"""Worker processes of the crash tests: Django processes that share the test's database, store and backend."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from django.db import connection

from tests.conftest import REPO_ROOT


def worker_environment(settings, **extra: str) -> dict[str, str]:
    """The environment of a worker (``tests.worker_settings``) on this test's database, store and backend."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.worker_settings",
        "PYTHONPATH": str(REPO_ROOT),
        "VIRTU_TEST_DATABASE": connection.settings_dict["NAME"],
        "VIRTU_TEST_OLX_ROOT": settings.MODULESTORE["default"]["OPTIONS"]["olx_root"],
        "VIRTU_TEST_BACKEND_URL": settings.VIRTU_SYNC_BACKEND_URL,
        "VIRTU_TEST_BROKER_URL": "memory://",
        **extra,
    }


def start_worker(module: str, *args: str, environment: dict[str, str]) -> subprocess.Popen:
    """Start ``python -m module args`` from the repository root."""
    return subprocess.Popen([sys.executable, "-m", module, *args], cwd=REPO_ROOT, env=environment)


def run_until_killed(module: str, *args: str, environment: dict[str, str]) -> None:
    """Run ``python -m module args``, which must end killed by SIGKILL at its crash point."""
    worker = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert worker.returncode == -signal.SIGKILL, worker.stderr[-3000:]
