"""Peak memory of `articlebot index build` on a generated `.jsonl` of a given size.

    python -m bench.collection_memory --megabytes 5 50

Each size runs in its own process (peak RSS is per process). The hash embedder of the unit
tests stands in for the model, which would take most of an hour on 50 MB here; it is the
reading, splitting and storing whose memory this measures (the model adds its own ~0.5 GB,
independent of the file). Articles are long-worded so that a file of tens of megabytes splits
in seconds.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def write_jsonl(path: Path, megabytes: float) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as fh:
        while fh.tell() < megabytes * 1_000_000:
            words = [f"{count:06d}{j:04d}" + "abcdefghijklmnopqrstuvwxyz" * 3 for j in range(400)]
            text = " ".join(
                " ".join(words[k : k + 10]).capitalize() + "." for k in range(0, 400, 10)
            )
            record = {"id": f"story-{count}", "title": f"Story {count}", "text": text}
            fh.write(json.dumps(record) + "\n")
            count += 1
    return count


def build_once(path: Path, data_dir: Path) -> None:
    """In this process: `articlebot index build PATH` with the hash embedder."""
    import index.encode.slot
    from bot.cli import main
    from tests.unit.conftest import HashEmbedder

    index.encode.slot.Embedder = lambda model, device="cpu": HashEmbedder()  # type: ignore[assignment,misc]
    started = time.perf_counter()
    code = main(["index", "build", str(path), "--data-dir", str(data_dir)])
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"exit {code}; {time.perf_counter() - started:.1f} s; "
        f"peak RSS {own:.0f} MB (reading process {child:.0f} MB)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--megabytes", type=float, nargs="+", default=[5, 50])
    parser.add_argument("--build", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        build_once(args.build, args.build.parent / "data")
        return 0
    for megabytes in args.megabytes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "news.jsonl"
            count = write_jsonl(path, megabytes)
            size = path.stat().st_size / 1e6
            print(f"{size:.1f} MB, {count} articles: ", end="", flush=True)
            subprocess.run(
                [sys.executable, "-m", "bench.collection_memory", "--build", str(path)],
                check=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
