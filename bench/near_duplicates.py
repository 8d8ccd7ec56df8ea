"""Where to put the near-duplicate threshold: MinHash similarity of syndicated variants of a
story against distinct stories on the same topic.

Stories are 8-sentence stretches of the SQuAD articles (../shared/eval/squad); two stretches of
the same Wikipedia article are distinct stories sharing a topic and its vocabulary, the hard
negatives. Each story gets the edits syndication makes: a byline and footer added, the first or
last paragraph dropped, a few words changed, a new headline sentence. Prints the similarity
range of each kind; `index/text/minhash.py` takes a threshold between them.

    python -m bench.near_duplicates [ARTICLES.jsonl]
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from index.text.minhash import NEAR_DUPLICATE, signature, similarity
from index.text.sentences import split_sentences

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "eval" / "squad" / "articles.jsonl"


def stories(path: Path, per_story: int = 8) -> list[tuple[str, str]]:
    """(topic, text) stretches of `per_story` sentences."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        text = record["text"]
        sentences = [text[s.start : s.end] for s in split_sentences(text)]
        for i in range(0, len(sentences) - per_story + 1, per_story):
            story = " ".join(sentences[i : i + per_story])
            # News stories run to paragraphs; a stretch of headings or a table is not one.
            if len(story.split()) >= 80:
                out.append((record["id"], story))
    return out


def _byline(text: str, rng: random.Random) -> str:
    return f"By Staff Reporter, Reuters. {text} Reporting by Ann Lee; editing by Tom Kay."


def _drop_edge(text: str, rng: random.Random) -> str:
    sentences = text.split(". ")
    keep = sentences[1:] if rng.random() < 0.5 else sentences[:-1]
    return ". ".join(keep)


def _word_edits(text: str, rng: random.Random) -> str:
    words = text.split()
    for i in rng.sample(range(len(words)), max(1, len(words) // 30)):
        words[i] = rng.choice(["said", "reported", "the", "new", "local"])
    return " ".join(words)


def _headline(text: str, rng: random.Random) -> str:
    return f"Breaking news update from our correspondents today. {text}"


def _all_edits(text: str, rng: random.Random) -> str:
    return _byline(_word_edits(_drop_edge(text, rng), rng), rng)


VARIANTS: dict[str, Callable[[str, random.Random], str]] = {
    "byline+footer": _byline,
    "edge paragraph dropped": _drop_edge,
    "3% words changed": _word_edits,
    "headline sentence": _headline,
    "all of these": _all_edits,
}


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else DEFAULT
    rng = random.Random(7)
    items = stories(path)
    signatures = np.stack([signature(text) for _, text in items])
    print(f"{len(items)} stories from {path}")
    for name, edit in VARIANTS.items():
        scores = [
            float(similarity(signature(edit(text, rng)), signatures[i : i + 1])[0])
            for i, (_, text) in enumerate(items)
        ]
        print(
            f"  copy, {name:24s} min {min(scores):.3f}  p1 {np.quantile(scores, 0.01):.3f}  "
            f"median {np.median(scores):.3f}"
        )
    same_topic: list[float] = []
    other_topic: list[float] = []
    for i, (topic, _) in enumerate(items):
        row = similarity(signatures[i], signatures)
        for j in range(i + 1, len(items)):
            (same_topic if items[j][0] == topic else other_topic).append(float(row[j]))
    for name, values in (("same topic", same_topic), ("other topic", other_topic)):
        print(
            f"  distinct, {name:20s} max {max(values):.3f}  "
            f"p99.9 {np.quantile(values, 0.999):.3f}  ({len(values)} pairs)"
        )
    print(f"threshold in index/text/minhash.py: {NEAR_DUPLICATE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
