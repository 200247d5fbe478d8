"""
A minimal, fast HTTP sink for the batch endpoint: it answers every operation of every
batch ``applied`` and stores nothing. It measures the plugin's side of delivery without
the reference backend's own work (checks, SQLite writes).

    python -m benchmarks.http_sink [--port 0]

Prints ``listening on <url>`` once it accepts requests. HTTP/1.1 with keep-alive, one
asyncio loop; it checks nothing (no token, no signature).
"""

from __future__ import annotations

import argparse
import asyncio
import json

_OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            length = 0
            for line in header_lines:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            body = await reader.readexactly(length) if length else b""
            if request_line.startswith("POST ") and body:
                batch = json.loads(body)
                answer = json.dumps(
                    {
                        "batch_id": batch["batch_id"],
                        "results": [
                            {"operation_id": operation["operation_id"], "status": "applied"}
                            for operation in batch["operations"]
                        ],
                    },
                    separators=(",", ":"),
                ).encode()
                writer.write(_OK % len(answer) + answer)
            else:
                writer.write(_NOT_FOUND)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _main(host: str, port: int) -> None:
    server = await asyncio.start_server(_serve, host, port)
    bound = server.sockets[0].getsockname()
    print(f"listening on http://{bound[0]}:{bound[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.http_sink", description=__doc__.splitlines()[1])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    arguments = parser.parse_args(argv)
    try:
        asyncio.run(_main(arguments.host, arguments.port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
