"""The worker child of `articlebot start`: restarted when it dies, stopped on request."""

from __future__ import annotations

import sys
import threading

from bot.supervisor import WorkerChild


def test_a_worker_that_dies_is_restarted_and_a_stop_ends_the_running_one() -> None:
    child = WorkerChild([sys.executable, "-c", "import time; time.sleep(60)"])
    dying = WorkerChild([sys.executable, "-c", "raise SystemExit(3)"])
    child.start()
    dying.start()
    restarted = threading.Event()
    for _ in range(100):
        if dying.restarts >= 1:
            restarted.set()
            break
        restarted.wait(0.1)
    for _ in range(100):
        if child.alive():
            break
        threading.Event().wait(0.05)
    was_alive = child.alive()

    dying.stop()
    child.stop()

    assert restarted.is_set()
    assert was_alive
    assert not child.alive() and not dying.alive()
