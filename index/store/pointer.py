"""The pointer to the live index state: the name of the state folder that questions are
answered from. The contract, and its local implementation, the `CURRENT` file of the data
directory (replaced atomically); the PostgreSQL one is `index/store/pg/pointer.py`.

Publishing a state is writing its name here, after the state is whole on disk; a reader
follows whatever name it reads, so it sees the state before or the state after.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Protocol

CURRENT_NAME = "CURRENT"


class IndexPointer(Protocol):
    def read(self) -> str | None: ...
    def write(self, name: str) -> None: ...


class FilePointer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / CURRENT_NAME

    def read(self) -> str | None:
        try:
            return self.path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None

    def write(self, name: str) -> None:
        tmp = self.root / f".{CURRENT_NAME}.{secrets.token_hex(4)}"
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(name + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(self.path)
        fsync_dir(self.root)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
