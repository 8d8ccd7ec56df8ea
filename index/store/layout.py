"""Where index generations live in the data directory, and how a new one is swapped in.

    data/
      CURRENT              name of the live generation, replaced atomically
      gen-<time>-<rand>/   one complete index: store, vectors, lexical, manifest
      .build-<rand>/       a build in progress (removed at the next build if a crash left it)
      .build.lock          held while a build runs

A build writes a whole generation aside, renames it into place, then replaces CURRENT. A crash
at any point leaves CURRENT naming the previous, complete generation. With PostgreSQL the
pointer is a row of the database instead of the file, and the build lock an advisory lock
(`index/store/backend.py` gives the data directory both); the folders stay here.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from contextlib import AbstractContextManager
from pathlib import Path

from index.errors import BuildBusyError, IndexCorruptError, IndexMissingError
from index.store.locks import BUILD, FileLocks, Locks
from index.store.pointer import CURRENT_NAME, FilePointer, IndexPointer, fsync_dir

STORE_NAME = "articles.sqlite"
VECTORS_NAME = "vectors.faiss"
LEXICAL_NAME = "lexical"


class DataDir:
    def __init__(
        self, root: Path, pointer: IndexPointer | None = None, locks: Locks | None = None
    ) -> None:
        self.root = root
        self.pointer = pointer or FilePointer(root)
        self.locks = locks or FileLocks(root)

    def current(self) -> Path:
        """The live generation folder; an error naming what to run when there is none."""
        name = self.pointer.read()
        if name is None:
            raise IndexMissingError(self.root)
        folder = self.root / name
        if not name or "/" in name or not folder.is_dir():
            raise IndexCorruptError(
                self.root / CURRENT_NAME, f"it names a missing index folder {name!r}"
            )
        return folder

    def current_or_none(self) -> Path | None:
        try:
            return self.current()
        except (IndexMissingError, IndexCorruptError):
            return None

    def build_lock(self) -> AbstractContextManager[None]:
        """One build at a time per data directory, across processes."""
        return self.locks.exclusive(BUILD, BuildBusyError)

    def new_build_folder(self) -> Path:
        for stale in self.root.glob(".build-*"):
            shutil.rmtree(stale, ignore_errors=True)
        folder = self.root / f".build-{secrets.token_hex(4)}"
        folder.mkdir(parents=True)
        return folder

    def publish(self, build: Path) -> Path:
        """Make a finished build the live generation; keep the one before it for readers."""
        fsync_tree(build)
        name = f"gen-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
        final = self.root / name
        build.rename(final)
        previous = self.current_or_none()
        fsync_dir(self.root)
        self.pointer.write(name)
        keep = {final.name} | ({previous.name} if previous else set())
        for old in self.root.glob("gen-*"):
            if old.name not in keep:
                shutil.rmtree(old, ignore_errors=True)
        return final


def fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as fh:
                os.fsync(fh.fileno())
    for sub in [folder, *(p for p in folder.rglob("*") if p.is_dir())]:
        fsync_dir(sub)
