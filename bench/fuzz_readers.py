"""Mutation fuzzing of the readers: thousands of generated hostile files, read as a build reads
them (in the bounded child process), with counts that must hold.

    python -m bench.fuzz_readers [--files 3000] [--seed 1]

Each file starts from a good article or a known hostile one (tests/unit/ingest/hostile.py),
then gets random mutations: byte flips, splices of other files, fragments that have broken
readers before, repetition, truncation. Printed: files, articles read, problems reported,
unexpected exceptions (must be 0: an unexpected error, a timeout or a dead reader), the
slowest file and the reading process's peak memory.
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import resource
import sys
import time
from collections import Counter

from index.errors import InputError
from index.ingest.isolation import ReadBounds, ReaderProcess
from index.ingest.readers import SUPPORTED_SUFFIXES, iter_bytes, split_items
from tests.unit.ingest.hostile import BODY, HOSTILE, alias_bomb

GOOD = [
    f"June 28, 2021\nHarbour wall repaired\n2 min read\n\n{BODY}\n\nLeave a Reply\n".encode(),
    f"---\ntitle: Harbour\ndate: 2021-06-28\n---\n# Harbour\n\n{BODY}\n".encode(),
    f"<html><head><title>Harbour</title></head><body><article><h1>Harbour</h1><p>{BODY}</p>"
    "</article></body></html>".encode(),
    json.dumps({"id": "h", "title": "Harbour", "date": "2021-06-28", "text": BODY}).encode(),
    "\n".join(json.dumps({"id": str(i), "text": BODY}) for i in range(5)).encode(),
]
FRAGMENTS = [
    b"---\n",
    b"\n---\n",
    b"a: &a [x,x,x]\n",
    b"*a",
    b"[" * 3000,
    b"{" * 3000,
    b"9" * 4400,
    b" " * 50_000,
    b"\t" * 5000 + b"#",
    b"\\ud800",
    b"\xed\xa0\x80",
    b"\xff\xfe",
    b"\x00",
    b"\r\n" * 100,
    b"<div>" * 5000,
    b"date: 2024-02-30\n",
    b'"id": [[[[[[[]]]]]]]',
    b"# " + b"x " * 5000,
    b"Leave a Reply\n",
    alias_bomb(),
]
SEEDS = GOOD + [h.data for h in HOSTILE]


def mutate(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        choice = rng.random()
        at = rng.randint(0, len(out))
        if choice < 0.3:
            out[at:at] = rng.choice(FRAGMENTS)
        elif choice < 0.5 and out:
            for _ in range(rng.randint(1, 20)):
                out[rng.randrange(len(out))] = rng.randrange(256)
        elif choice < 0.65:
            other = rng.choice(SEEDS)
            start = rng.randint(0, len(other))
            out[at:at] = other[start : start + rng.randint(1, 2000)]
        elif choice < 0.8 and out:
            piece = bytes(out[at : at + rng.randint(1, 200)])
            out[at:at] = piece * rng.randint(2, 200)
        else:
            del out[at:]
    return bytes(out[:3_000_000])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=20.0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    counts: Counter[str] = Counter()
    unexpected: list[str] = []
    slowest = (0.0, "")
    started = time.perf_counter()
    with ReaderProcess(ReadBounds(args.timeout, 1024 * 2**20)) as reader:
        for n in range(args.files):
            suffix = rng.choice(SUPPORTED_SUFFIXES)
            name = f"fuzz{n}{suffix}"
            data = mutate(rng, rng.choice(SEEDS))
            job = functools.partial(iter_bytes, data, name, name, name, "shared", 1_000_000)
            begun = time.perf_counter()
            try:
                articles, problems = split_items(reader.run(job, name))
                counts["articles"] += len(articles)
                counts["problems"] += len(problems)
            except InputError as exc:
                message = str(exc)
                if any(
                    m in message
                    for m in ("unexpected error", "reader stopped", "took longer", "needs more")
                ):
                    unexpected.append(message)
                else:
                    counts["problems"] += 1
            spent = time.perf_counter() - begun
            slowest = max(slowest, (spent, f"{name} ({len(data)} bytes)"))
            counts["files"] += 1
    child_rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"files:                 {counts['files']}")
    print(f"articles read:         {counts['articles']}")
    print(f"problems reported:     {counts['problems']}")
    print(f"unexpected exceptions: {len(unexpected)}")
    print(f"slowest file:          {slowest[0]:.3f} s, {slowest[1]}")
    print(f"reader peak RSS:       {child_rss_mb:.0f} MB")
    print(f"total:                 {time.perf_counter() - started:.1f} s")
    for message in unexpected[:20]:
        print(f"  ! {message}")
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
