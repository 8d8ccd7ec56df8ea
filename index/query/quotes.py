"""Pick the quote inside a passage: the sentence that best answers the question.

A sentence scores the share of the question's BM25-weighted terms it contains. Scoring
sentences with the embedding model as well was measured (`articlebot eval`, quote@1 0.692
against 0.691 with terms alone) and tripled query time, so terms alone decide. With the
learned ranker, a sentence holding the kind of thing the question asks for (a date for
"when", a number for "how many") gets a bonus the training script chose.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from index.models import Span
from index.query.features import AnswerType, holds_type
from index.query.passage_text import PassageText
from index.store.lexical import term_overlap


def best_sentence(
    sentences: Sequence[Span],
    texts: Sequence[str],
    question_terms: Mapping[str, float],
    already_quoted: Collection[Span] = (),
    kind: AnswerType = AnswerType.OTHER,
    type_bonus: float = 0.0,
) -> Span:
    """The highest-scoring sentence, ties to the earlier one.

    Sentences another hit already quotes are passed over while any other is left, so two
    neighbouring windows of one article never show the same quote twice.
    """
    fresh = [i for i, s in enumerate(sentences) if s not in already_quoted]
    pool = fresh or list(range(len(sentences)))

    def score(i: int) -> float:
        found = term_overlap(question_terms, texts[i])
        return found + type_bonus if type_bonus and holds_type(texts[i], kind) else found

    best = max(pool, key=lambda i: (score(i), -i))
    return sentences[best]


def pick_quotes(
    hits: Sequence[PassageText],
    question_terms: Mapping[str, float],
    kind: AnswerType = AnswerType.OTHER,
    type_bonus: float = 0.0,
) -> list[Span]:
    """The quote of each hit, in order; a later hit of the same article quotes another
    sentence than the earlier ones while it has one."""
    quoted: dict[int, set[Span]] = {}
    quotes: list[Span] = []
    for hit in hits:
        taken = quoted.setdefault(hit.article, set())
        quote = best_sentence(
            hit.sentences,
            [hit.excerpt(s) for s in hit.sentences],
            question_terms,
            taken,
            kind,
            type_bonus,
        )
        taken.add(quote)
        quotes.append(quote)
    return quotes
