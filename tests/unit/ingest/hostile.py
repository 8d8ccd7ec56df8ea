"""Hostile article files, one of each class seen to break the readers, with the reason a
reader must report for it and how many articles it still gives.

Shared by the reader tests, the build-from-a-hostile-folder test and `bench/fuzz_readers.py`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Hostile:
    name: str
    data: bytes
    reason: str | None
    """Part of the reason reported for the file (or one of its lines); None: nothing to report."""
    articles: int = 0
    """How many articles are read from it all the same."""


def alias_bomb(levels: int = 9, width: int = 9) -> bytes:
    """YAML front matter of a few hundred bytes whose title expands to width**levels items."""
    lines = ["---", "a0: &a0 [" + ",".join(["lol"] * width) + "]"]
    for level in range(1, levels):
        refs = ",".join([f"*a{level - 1}"] * width)
        lines.append(f"a{level}: &a{level} [{refs}]")
    lines.append("title: [" + ",".join([f"*a{levels - 1}"] * width) + "]")
    lines.append("---")
    lines.append("The body of an article nobody will read.")
    return ("\n".join(lines) + "\n").encode()


BODY = "The council met on Tuesday and voted to repair the harbour wall before winter."

HOSTILE = [
    Hostile("nested.json", b'{"text": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", "nested too"),
    Hostile(
        "nested_line.jsonl",
        b'{"text": "' + BODY.encode() + b'"}\n' + b"[" * 50_000 + b"]" * 50_000 + b"\n",
        "line 2: invalid JSON (nested too deeply)",
        1,
    ),
    Hostile(
        "digits.json",
        b'{"text": "' + BODY.encode() + b'", "id": ' + b"7" * 5000 + b"}",
        "more than 4300 digits",
    ),
    Hostile("digits.md", b"---\nid: " + b"7" * 5000 + b"\n---\n" + BODY.encode(), None, 1),
    Hostile(
        "bad_date.md", b"---\ndate: 2024-13-45\ntitle: Harbour\n---\n" + BODY.encode(), None, 1
    ),
    Hostile("bomb.md", alias_bomb(), "aliases"),
    Hostile(
        "huge_front_matter.md",
        b"---\n" + b"k: v\n" * 20_000 + b"---\n" + BODY.encode(),
        "front matter too large",
    ),
    Hostile("deep_front_matter.md", b"---\nt: " + b"[" * 5000 + b"\n---\n" + BODY.encode(), "YAML"),
    Hostile("spaces.md", b"# Harbour" + b" " * 100_000 + b"x\n\n" + BODY.encode(), None, 1),
    Hostile(
        "surrogates.json",
        b'{"id": "lone\\ud800", "title": "T\\udfff", "text": "' + BODY.encode() + b' \\udc80"}',
        None,
        1,
    ),
    Hostile("latin1.txt", "Café au lait\n\n".encode("latin-1") + BODY.encode(), "not UTF-8"),
    Hostile("binary.txt", b"\x00\x01\x02" * 100, "binary"),
    Hostile("empty.md", b"   \n\n", "empty"),
    Hostile("deep.html", b"<div>" * 50_000 + BODY.encode() + b"</div>" * 50_000, "no article text"),
    Hostile("not_a_list.json", b"[1, 2, 3]", "item 3: expected a JSON object"),
    Hostile("truncated.json", b'{"text": "The council', "invalid JSON"),
]
