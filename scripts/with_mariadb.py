"""
Run a command against a throwaway MariaDB server: a fresh data directory in a temporary
folder, listening on 127.0.0.1 on a free port, removed afterwards.

    python scripts/with_mariadb.py -- pytest -m mysql --ds=tests.mysql_settings

The command gets ``VIRTU_TEST_MYSQL_PORT`` in its environment (user ``root``, no
password). Needs Debian's ``mariadb-server`` (``mariadbd``, ``mariadb-install-db``).
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main(command: list[str]) -> int:
    server_binary = shutil.which("mariadbd") or shutil.which("mariadbd", path="/usr/sbin")
    install_db = shutil.which("mariadb-install-db")
    if not server_binary or not install_db:
        sys.exit("MariaDB is not installed: apt-get install mariadb-server")
    with tempfile.TemporaryDirectory(prefix="virtu-mariadb-") as work:
        data = os.path.join(work, "data")
        subprocess.run(
            [
                install_db,
                f"--datadir={data}",
                "--user=root",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port = free_port()
        server = subprocess.Popen(
            [
                server_binary,
                "--no-defaults",
                f"--datadir={data}",
                "--user=root",
                f"--port={port}",
                "--bind-address=127.0.0.1",
                f"--socket={work}/mysqld.sock",
                f"--pid-file={work}/mysqld.pid",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=64M",
                "--innodb-flush-log-at-trx-commit=2",
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(work, "server.log"), "w"),
        )
        try:
            deadline = time.monotonic() + 60
            while not _accepts(port):
                if server.poll() is not None or time.monotonic() > deadline:
                    sys.exit("MariaDB did not start:\n" + open(os.path.join(work, "server.log")).read()[-3000:])
                time.sleep(0.2)
            return subprocess.call(command, env={**os.environ, "VIRTU_TEST_MYSQL_PORT": str(port)})
        finally:
            server.terminate()
            server.wait(timeout=60)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


if __name__ == "__main__":
    arguments = sys.argv[1:]
    sys.exit(main(arguments[1:] if arguments[:1] == ["--"] else arguments))
