"""Reading untrusted files in a child process, bounded in time and memory.

Parsing is pure Python under the GIL: a hostile file that makes a parser spin or allocate (a
YAML alias bomb, a pathological regex) would stall every thread of the bot, so a worker thread
is no protection. The child process reads one file at a time under an address-space limit;
the parent waits on a pipe (without the GIL) for at most `seconds` per file, or per article of
a collection file, kills the child when it is late or gone, and starts a fresh one for the
next file.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import resource
import subprocess
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from types import TracebackType

from index.errors import InputError
from index.ingest.collections import Item
from index.ingest.readers import Job

log = logging.getLogger(__name__)

# The child is a fresh interpreter (`python -m index.ingest.isolation`), not a fork: safe
# whatever threads the parent runs (the bot's event loop, a build's), and unlike
# multiprocessing's "spawn" it does not re-run the parent's main script. One start costs about
# half a second (importing the readers), once per build or upload.


@dataclass(frozen=True, slots=True)
class ReadBounds:
    seconds: float
    """Longest wait for a file, or for the next article of a collection file."""
    memory_bytes: int
    """Address-space limit of the reading process (interpreter and libraries included)."""


_START_SECONDS = 60.0


class ReaderProcess:
    """One reusable child process that runs reading jobs; `run` is a `readers.Runner`."""

    def __init__(self, bounds: ReadBounds) -> None:
        self.bounds = bounds
        self._process: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None

    def __enter__(self) -> ReaderProcess:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._process is not None:
            # The child leaves when its end of the pipe closes.
            try:
                self._process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    def _kill(self) -> int | None:
        code = None
        if self._process is not None:
            self._process.kill()
            code = self._process.wait()
            self._process = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        return code

    def _connection(self) -> Connection:
        if self._conn is None:
            ours, theirs = multiprocessing.Pipe()
            fd = theirs.fileno()
            # The child imports what this process imports, from the same places.
            path = os.pathsep.join(p for p in sys.path if p)
            self._process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(fd), str(self.bounds.memory_bytes)],
                pass_fds=(fd,),
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": path},
            )
            theirs.close()
            self._conn = ours
            # Starting (importing the readers) is not part of any file's time.
            if not ours.poll(_START_SECONDS) or ours.recv() != ("ready", None):
                code = self._kill()
                raise InputError(f"the reading process did not start (exit code {code})")
        return self._conn

    def run(self, job: Job, origin: str) -> Iterator[Item]:
        """The items `job` yields in the child; `InputError` when it fails, runs out of time
        or memory, or kills the child (a fresh child then serves the next job)."""
        conn = self._connection()
        try:
            conn.send(job)
        except OSError:
            # The child left between jobs (killed from outside): a fresh one takes this job.
            self._kill()
            conn = self._connection()
            conn.send(job)
        finished = False
        try:
            while True:
                if not conn.poll(self.bounds.seconds):
                    self._kill()
                    raise InputError(
                        f"{origin}: reading took longer than {self.bounds.seconds:g} s; skipped"
                    )
                try:
                    kind, payload = conn.recv()
                except (EOFError, OSError):
                    code = self._kill()
                    raise InputError(
                        f"{origin}: the reader stopped while reading it (exit code {code})"
                    ) from None
                if kind == "item":
                    yield payload
                elif kind == "log":
                    name, level, message = payload
                    logging.getLogger(name).log(level, "%s", message)
                else:
                    finished = True
                    if kind == "refused":
                        raise InputError(payload)
                    if kind == "memory":
                        limit = self.bounds.memory_bytes // 2**20
                        raise InputError(f"{origin}: needs more than {limit} MB to read; skipped")
                    if kind == "crashed":
                        brief, trace = payload
                        log.error("unexpected error while reading %s:\n%s", origin, trace)
                        raise InputError(f"{origin}: unexpected error while reading ({brief})")
                    return
        finally:
            # A job abandoned half-way (its items not all taken) would leave its remaining
            # messages in the pipe for the next job; the child goes with them.
            if not finished and self._conn is not None:
                self._kill()


class _PipeHandler(logging.Handler):
    """Sends the child's log records to the parent, which logs them as its own."""

    def __init__(self, conn: Connection) -> None:
        super().__init__(logging.WARNING)
        self._conn = conn

    def emit(self, record: logging.LogRecord) -> None:
        self._conn.send(("log", (record.name, record.levelno, self.format(record))))


def serve(conn: Connection, memory_bytes: int) -> None:
    """The child's loop: run each job received, send its items, then how it ended."""
    root = logging.getLogger()
    root.setLevel(logging.WARNING)
    root.addHandler(_PipeHandler(conn))
    conn.send(("ready", None))
    try:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    except (ValueError, OSError) as exc:
        # Some platforms (macOS) refuse an address-space limit; the time bound still holds.
        root.warning("reading without a memory limit: %s", exc)
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        try:
            for item in job():
                conn.send(("item", item))
            conn.send(("done", None))
        except InputError as exc:
            conn.send(("refused", str(exc)))
        except MemoryError:
            conn.send(("memory", None))
        except Exception as exc:  # noqa: BLE001 -- sent, traceback and all, for the parent to log
            brief = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
            conn.send(("crashed", (brief, traceback.format_exc())))


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])), int(sys.argv[2]))
