"""
What the benchmarks share: Django set up as in ``demo/run_demo.py``, the backends as their
own processes, timing, traffic counting and memory sampling.
"""

from __future__ import annotations

import gc
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-token"
SECRET = "bench-signing-secret"


def setup_django(work_dir: Path) -> None:
    """Django on ``benchmarks/settings.py`` with a fresh SQLite database in ``work_dir``, migrated."""
    os.environ.update(DJANGO_SETTINGS_MODULE="benchmarks.settings", VIRTU_BENCH_DIR=str(work_dir))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def use_backend(url: str) -> None:
    """Point the plugin at the backend at ``url``."""
    from django.conf import settings

    settings.VIRTU_SYNC_BACKEND_URL = url


@dataclass
class Peer:
    """A backend running as its own process."""

    process: subprocess.Popen
    url: str

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_peer(module: str, *arguments: str) -> Peer:
    """``python -m <module> <arguments>``, once it prints ``listening on <url>``."""
    process = subprocess.Popen(
        [sys.executable, "-m", module, *arguments],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = process.stdout.readline().strip()
    if not line.startswith("listening on "):
        process.kill()
        raise RuntimeError(f"{module} did not start: {line!r}")
    return Peer(process, line.removeprefix("listening on "))


@contextmanager
def reference_backend(db_path: Path) -> Iterator[Peer]:
    """The reference backend as its own process (``python -m reference_backend``), on a SQLite file."""
    peer = start_peer(
        "reference_backend",
        "--port",
        "0",
        "--db",
        str(db_path),
        "--token",
        TOKEN,
        "--secret",
        SECRET,
        "--max-operations",
        "1000",
    )
    try:
        yield peer
    finally:
        peer.stop()


@contextmanager
def http_sink() -> Iterator[Peer]:
    """The minimal HTTP sink (``python -m benchmarks.http_sink``) as its own process."""
    peer = start_peer("benchmarks.http_sink")
    try:
        yield peer
    finally:
        peer.stop()


@dataclass
class Timing:
    """Seconds of each repeat."""

    samples: list[float] = field(default_factory=list)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def max(self) -> float:
        return max(self.samples)


def timed(function: Callable[[], object], repeats: int, *, setup: Callable[[], object] | None = None) -> Timing:
    """Run ``function`` ``repeats`` times (``setup`` before each, untimed), with the GC collected between runs."""
    timing = Timing()
    for _ in range(repeats):
        if setup is not None:
            setup()
        gc.collect()
        started = time.perf_counter()
        function()
        timing.samples.append(time.perf_counter() - started)
    return timing


@dataclass
class Traffic:
    """HTTP requests made by this process, and their bytes (request line, headers and body; both ways)."""

    requests: int = 0
    sent: int = 0
    received: int = 0

    @property
    def bytes(self) -> int:
        return self.sent + self.received


@contextmanager
def counted_traffic() -> Iterator[Traffic]:
    """Count what the plugin's HTTP session sends and receives inside the block."""
    from virtu_sync_plugin.backend_client import shared_session

    session = shared_session()
    traffic = Traffic()
    original_send = session.send

    def send(request, **kwargs):
        response = original_send(request, **kwargs)
        traffic.requests += 1
        line = f"{request.method} {request.path_url} HTTP/1.1\r\n"
        headers = "".join(f"{name}: {value}\r\n" for name, value in request.headers.items())
        traffic.sent += len(line) + len(headers) + 2 + len(request.body or b"")
        response_headers = "".join(f"{name}: {value}\r\n" for name, value in response.headers.items())
        traffic.received += 17 + len(response_headers) + 2 + len(response.content)
        return response

    session.send = send
    try:
        yield traffic
    finally:
        del session.send


def rss_bytes() -> int:
    """This process's resident set size now."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRss:
    """Samples this process's RSS every ``interval`` seconds in a thread; ``peak`` is the highest seen."""

    def __init__(self, interval: float = 0.005):
        self.interval = interval
        self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, rss_bytes())

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())
