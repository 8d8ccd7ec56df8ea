"""Locks that keep two builds (or two feed polls) from running at once, across processes: the
contract, and its local implementation, an exclusive non-blocking `flock` on a file in the
data directory (`.build.lock`, `.feeds.lock`); the PostgreSQL one (advisory locks) is
`index/store/pg/locks.py`.

Either way the lock goes with its holder: the kernel releases an flock when the process dies,
the server an advisory lock when its session ends, so a crashed build or poll never leaves a
lock behind that someone must delete by hand.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

BUILD = "build"
POLL = "feeds"


class Locks(Protocol):
    def exclusive(
        self, name: str, busy: Callable[[], Exception]
    ) -> AbstractContextManager[None]: ...


class FileLocks:
    """Lock `name` is the file `.<name>.lock` in the data directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, name: str) -> Path:
        return self.root / f".{name}.lock"

    def exclusive(self, name: str, busy: Callable[[], Exception]) -> AbstractContextManager[None]:
        return exclusive(self.path(name), busy)


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
