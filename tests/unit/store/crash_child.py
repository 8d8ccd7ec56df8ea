"""Run by test_crash: an update or a merge that kills itself (SIGKILL) at its Nth fsync.

Usage: python -m tests.unit.store.crash_child DATA_DIR update|merge N
N = 0 runs to the end and prints how many fsyncs it made.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from index.build import build_index
from index.merge import MergePolicy, merge_segments
from tests.unit.conftest import HashEmbedder
from tests.unit.store.test_segments import PLAN, article

AFTER = [article(n) for n in range(3, 9)] + [article(0, version=1)]


def main() -> None:
    data_dir, action, limit = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    real_fsync = os.fsync
    calls = 0

    def fsync(fd: int) -> None:
        nonlocal calls
        calls += 1
        if calls == limit:
            os.kill(os.getpid(), signal.SIGKILL)
        real_fsync(fd)

    os.fsync = fsync
    if action == "update":
        build_index(data_dir, AFTER, HashEmbedder(), PLAN)
    else:
        merge_segments(data_dir, policy=MergePolicy(factor=2, floor=10_000))
    print(calls)


if __name__ == "__main__":
    main()
