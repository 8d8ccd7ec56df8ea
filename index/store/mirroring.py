"""Publishing a state with a search index outside the data directory kept in step (Milvus,
`index/store/milvus/mirror.py`): the one place builds and merges publish through."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from index.store.layout import DataDir
from index.store.segments import IndexState


class PendingMirror(Protocol):
    """What a mirror does once the state is published."""

    def finish(self, published: Path) -> None: ...


class MirrorsIndex(Protocol):
    def holds(self, root: Path, state_folder: Path) -> bool:
        """Whether the mirror holds exactly the state in `state_folder`."""
        ...

    def prepare(
        self, root: Path, previous: Path | None, state: IndexState, dimension: int
    ) -> PendingMirror:
        """Before `state` replaces the state in `previous`: the mirror holds its rows."""
        ...


def publish_state(
    layout: DataDir,
    build: Path,
    state: IndexState,
    previous: Path | None,
    dimension: int,
    mirror: MirrorsIndex | None,
) -> Path:
    """Publish the state written in `build`; a mirror gets its new rows before and drops
    the rows it no longer holds after."""
    pending = mirror.prepare(layout.root, previous, state, dimension) if mirror else None
    published = layout.publish(build)
    if pending is not None:
        pending.finish(published)
    return published
