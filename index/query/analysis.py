"""A question analysed once, at the start of a search, into everything the ranking steps read:
its topic and time window, its terms and their weights, its vector."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import numpy as np

from index.query.timewords import read_time_words
from index.query.when import Window
from index.store.lexical import QueryTerms, query_terms


class WeighsTerms(Protocol):
    def term_weights(self, terms: QueryTerms) -> dict[str, float]: ...


class EncodesQueries(Protocol):
    name: str
    dimension: int

    def encode(self, texts: Sequence[str], batch_size: int = ...) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class AnalysedQuestion:
    # The question as cleaned for every reader (see `clean_question`), as results report it.
    text: str
    # The question without its time words ("this week"): what is matched.
    topic: str
    # The period the time words name, whose passages are preferred; None without time words.
    window: Window | None
    # The topic's terms, for BM25 and for the confidence's word overlap.
    terms: QueryTerms
    # Each term weighted by how much it can add to a BM25 score in this index: quote choice.
    quote_weights: Mapping[str, float]
    # The topic encoded by the model the index was built with.
    vector: np.ndarray


def analyse(
    text: str,
    now: datetime,
    lexical: WeighsTerms,
    encoder: EncodesQueries,
    vector: np.ndarray | None = None,
) -> AnalysedQuestion:
    """`text` (already cleaned) with time words read against `now`; `vector` is its topic
    as encoded before (a watch's), encoded here when None."""
    words = read_time_words(text, now)
    terms = query_terms(words.topic)
    return AnalysedQuestion(
        text=text,
        topic=words.topic,
        window=words.window,
        terms=terms,
        quote_weights=lexical.term_weights(terms),
        vector=encoder.encode([words.topic])[0] if vector is None else vector,
    )
