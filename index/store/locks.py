"""The one file lock: an exclusive, non-blocking `flock` on a file in the data directory,
held across processes for as long as the `with` block runs.

The kernel releases an flock when its holder dies, so a crashed build or poll never leaves a
lock behind that someone must delete by hand.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Callable, Iterator
from pathlib import Path


@contextlib.contextmanager
def exclusive(path: Path, busy: Callable[[], Exception]) -> Iterator[None]:
    """Hold `path`'s lock, or raise `busy()` at once when another holder has it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise busy() from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
