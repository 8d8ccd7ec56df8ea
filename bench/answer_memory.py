"""Memory of an answering process per million passages: the RSS of a process holding what
`articlebot run` holds (`AnsweringEngine`) after its first question, on synthetic indexes of
several sizes, and the slope between them.

    python -m bench.answer_memory [--sizes 100000,300000,1000000]

Each index is `bench.update_bench.build_base`'s (random unit vectors of the model's 384
dimensions, twelve-word passages for BM25, IVF lists from the settings' `approximate_from`
on), built in this process; the answering process is a fresh child that loads the engine,
answers one question and reports its resident set (VmRSS) and its peak (VmHWM). The child's
query encoder is the same at every size, so the slope between sizes is what the index costs;
the intercept is the process, the model and the libraries.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.update_bench import build_base
from config import load_settings

QUESTION = "When did the harbour wall reopen after the flood?"


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def answer_once() -> None:
    """The child: the answering process's engine, one question, its memory as JSON."""
    from index.engine import AnsweringEngine

    engine = AnsweringEngine(load_settings())
    began = time.perf_counter()
    result = engine.ask(QUESTION, 3)
    print(
        json.dumps(
            {
                "rss": _status_mb("VmRSS"),
                "peak": _status_mb("VmHWM"),
                "hits": len(result.hits),
                "first_answer_s": time.perf_counter() - began,
            }
        )
    )


def measure(size: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="answer-memory-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        began = time.perf_counter()
        settings = load_settings()
        build_base(data_dir, size, settings.approximate_from, settings.model)
        built = time.perf_counter() - began
        env = {k: v for k, v in os.environ.items() if not k.startswith("ARTICLEBOT_")}
        env |= {"ARTICLEBOT_DATA_DIR": str(data_dir), "ARTICLEBOT_LOG_LEVEL": "WARNING"}
        done = subprocess.run(
            [sys.executable, "-m", "bench.answer_memory", "--child"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"the answering process failed at {size:,}:\n{done.stderr[-2000:]}")
        return json.loads(done.stdout.splitlines()[-1]) | {"built_s": built}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,300000,1000000")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        answer_once()
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = {}
    for size in sizes:
        rows[size] = measure(size)
        r = rows[size]
        print(
            f"{size:>9,} passages: RSS after the first question {r['rss']:.0f} MB "
            f"(peak {r['peak']:.0f} MB; {r['hits']:.0f} hits; built in {r['built_s']:.0f} s)",
            flush=True,
        )
    if len(sizes) > 1:
        low, high = min(sizes), max(sizes)
        for field in ("rss", "peak"):
            slope = (rows[high][field] - rows[low][field]) / (high - low) * 1_000_000
            print(f"{field} per million passages ({low:,} to {high:,}): {slope:.0f} MB")


if __name__ == "__main__":
    main()
