"""How the text path's time grows with hostile input: runs of spaces, quotes, brackets, dots.

For each input shape and n in SIZES, times the text work (`split_sentences` after the cleanup
pass) and the cleanup pass alone (`boilerplate_spans`), and prints each time and its ratio to
the previous size's time divided by the ratio of sizes: about 1 is linear, n2/n1 quadratic.
A shape whose time passes the budget is not tried at larger sizes (quadratic code would take
hours at 1 MB).

    .venv/bin/python -m bench.text_scaling                      # this tree
    PYTHONPATH=/path/to/old/tree python bench/text_scaling.py   # another version
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial

from index.ingest.cleanup import boilerplate_spans
from index.models import Span
from index.text.sentences import split_sentences

SIZES = (10_000, 20_000, 40_000, 100_000, 1_000_000)

SHAPES: dict[str, Callable[[int], str]] = {
    "x + spaces + y": lambda n: "x" + " " * n + "y",
    "# x + spaces + y": lambda n: "# x" + " " * n + "y",
    "spaces only": lambda n: " " * n,
    "dots + spaces + y": lambda n: "." * (n // 2) + " " * (n // 2) + "y",
    "word + spaced quotes": lambda n: "word" + ' "' * (n // 2),
    "open brackets": lambda n: "x" + "(" * n,
    "attribution chain": lambda n: "“Hi.”" + "\n– Al" * (n // 5),
    "comments + spaces + x": lambda n: "body.\n\nComments" + " " * n + "x",
    "updated + spaces + x": lambda n: "body.\n\nUpdated" + " " * n + "x",
    "boilerplate lines": lambda n: "Advertisement\nWord.\n" * (n // 20),
}


def _text_work(text: str) -> list[Span]:
    return split_sentences(text, boilerplate_spans(text))


def _time(work: Callable[[], object]) -> float:
    began = time.perf_counter()
    work()
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per call, at most")
    parser.add_argument("--shape", action="append", help="only these shapes (by name)")
    args = parser.parse_args()
    print(f"{'shape':24} {'n':>9} {'text s':>9} {'ratio':>6} {'cleanup s':>10} {'ratio':>6}")
    for name, make in SHAPES.items():
        if args.shape and name not in args.shape:
            continue
        previous: tuple[int, float, float] | None = None
        for n in SIZES:
            text = make(n)
            split = _time(partial(_text_work, text))
            cleanup = _time(partial(boilerplate_spans, text))
            ratios = ("", "")
            if previous is not None:
                growth = n / previous[0]
                ratios = (
                    f"{split / previous[1] / growth:.2f}",
                    f"{cleanup / max(previous[2], 1e-6) / growth:.2f}",
                )
            print(f"{name:24} {n:>9} {split:>9.3f} {ratios[0]:>6} {cleanup:>10.4f} {ratios[1]:>6}")
            previous = (n, split, cleanup)
            if split > args.budget or cleanup > args.budget:
                print(f"{name:24} {'':>9} over the {args.budget:.0f} s budget: no larger sizes")
                break


if __name__ == "__main__":
    main()
