"""Errors a user can cause or fix. Each message says what is wrong and what to do."""

from __future__ import annotations

from pathlib import Path


class ArticlebotError(Exception):
    """Base of every error whose message is fit to show a user as it is."""


class InputError(ArticlebotError):
    """An article source that cannot be read (bad file, bad URL, too large ...)."""


class IndexMissingError(ArticlebotError):
    def __init__(self, data_dir: Path) -> None:
        super().__init__(
            f"No index in {data_dir}. Run `articlebot index build --data-dir {data_dir}` first."
        )


def data_dir_of(path: Path) -> Path:
    """The data directory an index file belongs to: the nearest folder holding CURRENT."""
    for folder in path.parents:
        if (folder / "CURRENT").is_file():
            return folder
    return path.parent


class IndexCorruptError(ArticlebotError):
    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(
            f"The index file {path} is damaged ({detail}). "
            f"Rebuild it with `articlebot index build --data-dir {data_dir_of(path)}`."
        )
        self.path = path


class IndexMismatchError(ArticlebotError):
    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(
            f"The index file {path} does not match the settings: {detail}. "
            f"Rebuild it with `articlebot index build --data-dir {data_dir_of(path)}`, "
            "or set the model it was built with."
        )
        self.path = path


class IndexUpgradeError(ArticlebotError):
    """The live index is in the layout of an earlier release (one generation, no segments)."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(
            f"The index in {data_dir} was written by an earlier release. The worker upgrades "
            "it in place when it starts (`articlebot start` or `articlebot worker`), keeping "
            f"its vectors; or run `articlebot index build --data-dir {data_dir}`."
        )


class BuildBusyError(ArticlebotError):
    def __init__(self) -> None:
        super().__init__("An index build is already running; try again when it has finished.")


class UnknownAnswerError(ArticlebotError):
    def __init__(self) -> None:
        super().__init__("That answer has expired or is unknown; ask the question again.")


class PollBusyError(ArticlebotError):
    def __init__(self) -> None:
        super().__init__("A feed poll is already running; try again when it has finished.")


class DatabaseError(ArticlebotError):
    """The PostgreSQL database named by ARTICLEBOT_DATABASE_URL cannot be used."""


class SchemaBehindError(DatabaseError):
    def __init__(self, where: str, found: int, wanted: int) -> None:
        if found > wanted:
            message = (
                f"The database {where} has schema version {found}, newer than this articlebot "
                f"knows ({wanted}): upgrade articlebot."
            )
        else:
            message = (
                f"The database {where} has schema version {found}; this articlebot needs "
                f"{wanted}. Run `articlebot db upgrade`."
            )
        super().__init__(message)


class MilvusUnavailableError(ArticlebotError):
    def __init__(self, uri: str, reason: str) -> None:
        super().__init__(
            f"Milvus at {uri} cannot be used: {reason}. Check ARTICLEBOT_MILVUS_URI (a Milvus "
            "Lite .db file is opened by one process at a time: give several processes a "
            "server, e.g. `milvus-lite server`)."
        )
