"""The manifest of an index generation: what built it, and checksums of every file in it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from index.errors import IndexCorruptError, IndexMismatchError

MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class Manifest:
    model: str
    dimension: int
    passages: int
    articles: int
    built_at: str
    source_digest: str
    passage_plan: dict[str, Any]
    versions: dict[str, str]
    files: dict[str, str] = field(default_factory=dict)
    collections: dict[str, int] = field(default_factory=dict)
    # The ONNX query model kept with this generation (`index.encode.onnx.QueryModelRecord`);
    # empty for an index built before there was one.
    query_model: dict[str, Any] = field(default_factory=dict)
    format: int = FORMAT_VERSION


def file_digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def checksum_folder(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): file_digest(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MANIFEST_NAME
    }


def write_manifest(folder: Path, manifest: Manifest) -> None:
    path = folder / MANIFEST_NAME
    path.write_text(json.dumps(asdict(manifest), indent=2, sort_keys=True), encoding="utf-8")


def read_manifest(folder: Path) -> Manifest:
    path = folder / MANIFEST_NAME
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        manifest = Manifest(**raw)
    except FileNotFoundError:
        raise IndexCorruptError(path, "the manifest is missing") from None
    except (OSError, ValueError, TypeError) as exc:
        raise IndexCorruptError(path, f"the manifest is unreadable: {exc}") from None
    if manifest.format != FORMAT_VERSION:
        raise IndexMismatchError(
            path, f"index format {manifest.format}, this articlebot reads {FORMAT_VERSION}"
        )
    return manifest


def verify_files(folder: Path, manifest: Manifest) -> None:
    """Every file the manifest lists is present, whole and unchanged."""
    for name, expected in manifest.files.items():
        path = folder / name
        if not path.is_file():
            raise IndexCorruptError(path, "the file is missing")
        if file_digest(path) != expected:
            raise IndexCorruptError(path, "its checksum does not match the manifest")
