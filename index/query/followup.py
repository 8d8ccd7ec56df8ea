"""Follow-up questions: when to search one with the earlier question's context, and how.

A follow-up such as "When did that happen?" names its subject only by a pronoun; alone it
matches poorly or not at all. Such a question is searched with the earlier question's
informative words added, preferring the articles the earlier answer quoted. A reply that
brings its own subject ("Who runs the harbour?") is answered on its own terms.

The rule, measured with `bench/followup_eval.py` on SQuAD pairs: use the context when the
follow-up holds a pronoun-like word (`ANAPHORS`) and its own best match is below the
`followup_confidence` setting (calibrated on half of the articles, reported on the other).
"""

from __future__ import annotations

import re

from index.store.lexical import informativeness, tokenize

ANAPHORS = frozenset(
    [
        "it",
        "its",
        "it's",
        "itself",
        "that",
        "this",
        "these",
        "those",
        "they",
        "them",
        "their",
        "theirs",
        "he",
        "him",
        "his",
        "she",
        "her",
        "hers",
        "there",
        "then",
        "such",
    ]
)
# How many of the earlier question's words are carried into the follow-up's search.
CARRIED_TERMS = 6

_WORD_RE = re.compile(r"[\w'’]+", re.UNICODE)


def has_anaphor(question: str) -> bool:
    return any(w.replace("’", "'") in ANAPHORS for w in _WORD_RE.findall(question.lower()))


def needs_context(question: str, own_confidence: float, threshold: float) -> bool:
    return has_anaphor(question) and own_confidence < threshold


def carried_terms(previous: str, question: str) -> list[str]:
    """The earlier question's most informative words that the follow-up lacks, in their
    original order."""
    own = set(tokenize(question))
    weights = informativeness(previous)
    words: list[str] = []
    for word in _WORD_RE.findall(previous):
        stems = tokenize(word)
        if not stems or stems[0] in own or word in words:
            continue
        if weights.get(stems[0], 0.0) > 0:
            words.append(word)
    ranked = sorted(words, key=lambda w: -weights[tokenize(w)[0]])[:CARRIED_TERMS]
    return [w for w in words if w in ranked]


def expand(question: str, previous: str) -> str:
    terms = carried_terms(previous, question)
    return f"{question} {' '.join(terms)}" if terms else question
