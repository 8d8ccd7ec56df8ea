"""A small follow-up question set built from a SQuAD-style dataset (`../shared/eval/squad`).

    python -m bench.followup_set [--dataset DIR] [--out followups.jsonl]

How a pair is made, deterministically:
- **dependent** pairs: in each paragraph, a question that names the article's subject (its
  title, without a parenthesis or the part after a comma, e.g. "Fresno" for "Fresno,
  California"; for a person's two-word name also the surname, e.g. "Tesla") becomes the
  follow-up, with that name (and a "the" before it) replaced by "it". The first other question
  about the same paragraph is the earlier question. "What did the Normans conquer?" after
  "Where is Normandy?" becomes "What did it conquer?".
- **new-topic** pairs: the same earlier question followed by the original, unchanged question
  of the next article in the list (its subject named), which must be answered on its own terms.

Each line: {kind, article_id, previous_id, previous, question_id, question, original}.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

from index.engine import Dataset, load_dataset
from index.evaluate import Question

DEFAULT_DATASET = Path(__file__).resolve().parents[2] / "shared" / "eval" / "squad"
# At most this many dependent pairs per article, so no article dominates the set.
PER_ARTICLE = 12


@dataclass(frozen=True, slots=True)
class FollowupPair:
    kind: str
    """dependent or new"""
    article_id: str
    previous_id: str
    previous: str
    question_id: str
    question: str
    original: str


def subject_names(title: str) -> list[str]:
    """The ways a question may name the article's subject, longest first."""
    base = re.split(r"[,(]", title)[0].strip()
    names = [base]
    words = base.split()
    if len(words) == 2 and all(w[:1].isupper() for w in words) and len(words[1]) >= 4:
        names.append(words[1])
    return names


def pronominalised(question: str, names: list[str]) -> str | None:
    """`question` with its subject replaced by "it", or None when it does not name it."""
    for name in names:
        pattern = re.compile(rf"\b(?:the\s+)?{re.escape(name)}(?:'s)?\b", re.IGNORECASE)
        if pattern.search(question):
            return pattern.sub("it", question, count=1)
    return None


def build_pairs(dataset: Dataset, paragraphs: dict[str, int]) -> list[FollowupPair]:
    titles = {p.article.id: p.article.title for p in dataset.articles}
    order = [p.article.id for p in dataset.articles]
    by_paragraph: dict[tuple[str, int], list[Question]] = defaultdict(list)
    for q in dataset.questions:
        by_paragraph[(q.article_id, paragraphs[q.id])].append(q)
    pairs: list[FollowupPair] = []
    named: dict[str, list[Question]] = defaultdict(list)
    for (article, _), questions in sorted(by_paragraph.items(), key=lambda kv: kv[0]):
        names = subject_names(titles[article])
        for q in questions:
            followup = pronominalised(q.text, names)
            if followup is None or len(named[article]) >= PER_ARTICLE:
                continue
            previous = next((o for o in questions if o.id != q.id), None)
            if previous is None:
                continue
            named[article].append(q)
            pairs.append(
                FollowupPair(
                    "dependent", article, previous.id, previous.text, q.id, followup, q.text
                )
            )
            break
    dependent = list(pairs)
    for number, pair in enumerate(dependent):
        following = order[(order.index(pair.article_id) + 1) % len(order)]
        if not named[following]:
            continue
        other = named[following][number % len(named[following])]
        pairs.append(
            FollowupPair(
                "new",
                other.article_id,
                pair.previous_id,
                pair.previous,
                other.id,
                other.text,
                other.text,
            )
        )
    return pairs


def paragraph_of(folder: Path) -> dict[str, int]:
    with (folder / "questions_meta.jsonl").open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return {str(m["id"]): int(m["paragraph_index"]) for m in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--out", type=Path, default=Path("followups.jsonl"))
    args = parser.parse_args()
    pairs = build_pairs(load_dataset(args.dataset), paragraph_of(args.dataset))
    with args.out.open("w", encoding="utf-8") as fh:
        for pair in pairs:
            fh.write(json.dumps(asdict(pair), ensure_ascii=False) + "\n")
    kinds: defaultdict[str, int] = defaultdict(int)
    for pair in pairs:
        kinds[pair.kind] += 1
    print(f"{len(pairs)} pairs ({dict(kinds)}) written to {args.out}")


if __name__ == "__main__":
    main()
