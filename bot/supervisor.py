"""`articlebot start`: one command for everything. The worker runs as a child process
(restarted with backoff when it dies); the Discord bot, or the terminal chat without a token,
runs in the foreground. SIGINT/SIGTERM stop the foreground face, then the worker.

On a first run the worker builds the index over the shared sources before anything else; the
face starts once that index is published.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType

from config.settings import Settings
from index.engine import StateStores, has_index

log = logging.getLogger(__name__)

# A worker that dies is restarted after FIRST_BACKOFF seconds, doubled after each quick death
# up to MAX_BACKOFF; one that ran STABLE_SECONDS counts as healthy again.
FIRST_BACKOFF = 1.0
MAX_BACKOFF = 60.0
STABLE_SECONDS = 60.0
# How long a stopping worker gets to finish or hand back its job before it is killed.
STOP_GRACE = 30.0


class WorkerChild:
    """The worker process, kept running until `stop()`."""

    def __init__(self, command: list[str]) -> None:
        self.command = command
        self._stopping = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._keep_running, name="worker-child", daemon=True)
        self.restarts = 0

    def start(self) -> None:
        self._thread.start()

    def alive(self) -> bool:
        with self._lock:
            return self._process is not None and self._process.poll() is None

    def _keep_running(self) -> None:
        backoff = FIRST_BACKOFF
        while not self._stopping.is_set():
            with self._lock:
                if self._stopping.is_set():
                    return
                # Its own process group: a Ctrl-C in the terminal reaches the supervisor,
                # which stops the worker itself, in order.
                self._process = subprocess.Popen(self.command, start_new_session=True)
                process = self._process
            started = time.monotonic()
            code = process.wait()
            if self._stopping.is_set():
                return
            if time.monotonic() - started >= STABLE_SECONDS:
                backoff = FIRST_BACKOFF
            log.warning("the worker exited with %s; restarting it in %.0f s", code, backoff)
            self.restarts += 1
            if self._stopping.wait(backoff):
                return
            backoff = min(backoff * 2, MAX_BACKOFF)

    def stop(self) -> None:
        with self._lock:
            self._stopping.set()
            process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                log.warning("the worker did not stop within %.0f s; killing it", STOP_GRACE)
                process.kill()
                process.wait()
        self._thread.join(STOP_GRACE)


def worker_command(settings: Settings) -> list[str]:
    return [
        sys.executable,
        "-m",
        "bot.cli",
        "worker",
        "--data-dir",
        str(settings.data_dir),
        "--model",
        settings.model,
    ]


def start(settings: Settings, face: Callable[[], int]) -> int:
    """Run the worker beside `face` (the bot or the chat) until the face returns."""
    worker = WorkerChild(worker_command(settings))
    stopped = threading.Event()

    def interrupt(signum: int, frame: FrameType | None) -> None:
        stopped.set()
        raise KeyboardInterrupt

    # Until the face installs its own (the bot does), a signal stops the wait below.
    previous = signal.signal(signal.SIGTERM, interrupt)
    worker.start()
    try:
        if not _wait_for_index(settings, stopped):
            return 0
        signal.signal(signal.SIGTERM, previous)
        if not sys.stdin.isatty():
            # The chat reads until end of input; SIGTERM must still end it.
            signal.signal(signal.SIGTERM, interrupt)
        return face()
    except KeyboardInterrupt:
        return 130 if not stopped.is_set() else 0
    finally:
        worker.stop()


def _wait_for_index(settings: Settings, stopped: threading.Event) -> bool:
    stores = StateStores.open(settings)
    try:
        if has_index(stores):
            return True
        print("First run: the worker is building the index (seeds/ and your sources)…", flush=True)
        while not has_index(stores):
            if stopped.wait(0.5):
                return False
        return True
    finally:
        stores.close()
