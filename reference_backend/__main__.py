"""Run the reference backend as its own process.

    python -m reference_backend --host 127.0.0.1 --port 8765 --db PATH --token T [--secret S]

Prints ``listening on <url>`` once it accepts requests (with ``--port 0``, the URL has the port chosen).
Its data lives in the SQLite file ``--db``, so a restart keeps it. Stops on SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from types import FrameType

from .app import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_OPERATIONS, ReferenceApp
from .server import ReferenceHTTPServer
from .store import Store


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until stopped."""
    parser = argparse.ArgumentParser(prog="python -m reference_backend", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on, 0 for any (default: %(default)s)")
    parser.add_argument("--db", required=True, help="SQLite database file (created when missing)")
    parser.add_argument("--token", required=True, help="the bearer token clients must send")
    parser.add_argument("--secret", help="the signing secret; when given, X-Virtu-Signature is required")
    parser.add_argument("--max-operations", type=int, default=DEFAULT_MAX_OPERATIONS, help="(default: %(default)s)")
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES, help="(default: %(default)s)")
    arguments = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    store = Store(arguments.db)
    app = ReferenceApp(
        store,
        token=arguments.token,
        secret=arguments.secret,
        max_operations=arguments.max_operations,
        max_body_bytes=arguments.max_body_bytes,
    )
    server = ReferenceHTTPServer((arguments.host, arguments.port), app)
    signal.signal(signal.SIGTERM, _exit)
    host, port = server.server_address[:2]
    print(f"listening on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        app.stopping.set()
        server.server_close()
        store.close()


def _exit(signal_number: int, frame: FrameType | None) -> None:
    sys.exit(0)


if __name__ == "__main__":
    main()
