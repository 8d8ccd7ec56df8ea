"""`milvus-lite server` for the tests: Milvus Lite's own server, over gRPC on a free loopback
port, in a folder of its own, killed when the caller is done. A Milvus Lite `.db` file opens
in one process only; every test where several processes share a Milvus runs this instead.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from index.store.milvus.collection import forget_client

# Starting and stopping the server are each bounded by this many seconds.
STEP_SECONDS = 60


class NoMilvusServerError(RuntimeError):
    """The milvus-lite installed here has no server, or it would not start."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def lite_server_command() -> list[str]:
    """`milvus-lite server` of this environment's Python."""
    command = [sys.executable, "-c", "from milvus_lite.cmdline import main; main()"]
    try:
        found = subprocess.run(
            [*command, "--help"], capture_output=True, text=True, timeout=120, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise NoMilvusServerError("`milvus-lite --help` did not answer within 120 s") from exc
    if found.returncode != 0 or "server" not in found.stdout:
        raise NoMilvusServerError(
            "the milvus-lite package installed here has no `server` command "
            f"(pip install 'articlebot[milvus]'): {found.stderr.strip()[-300:]}"
        )
    return [*command, "server"]


@contextlib.contextmanager
def lite_server(folder: Path) -> Iterator[str]:
    """A running `milvus-lite server` keeping its data in `folder`; yields its URI."""
    command = lite_server_command()
    port = _free_port()
    place = ["--data-dir", str(folder / "data"), "--host", "127.0.0.1", "--port", str(port)]
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*command, *place],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        uri = f"http://127.0.0.1:{port}"
        try:
            _wait_listening(process, port, log_path)
            yield uri
        finally:
            forget_client(uri)
            process.kill()
            process.wait(timeout=STEP_SECONDS)


def _wait_listening(process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    deadline = time.monotonic() + STEP_SECONDS
    while True:
        if process.poll() is not None:
            raise NoMilvusServerError(f"milvus-lite server exited: {log_path.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise NoMilvusServerError(
                    f"milvus-lite server did not listen within {STEP_SECONDS} s"
                ) from None
            time.sleep(0.2)
