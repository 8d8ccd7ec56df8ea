"""Every constant of the ranking, in one place, each with the reason for its value.

Imported by `config.settings` for the defaults operators can override, so it imports nothing
beyond the standard library: loading settings must not load the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ConfidenceWeights:
    """How the confidence that a passage answers mixes its three measures (they sum to 1,
    so the confidence stays in [0, 1] like each measure).

    Half cosine similarity, half the share of the question's informative words found: over
    the whole passage, and within its best single sentence. Measured on the split-half check
    (`articlebot eval --no-match`), this separates questions about articles not in the index
    from answerable ones better than the ranking score, either side alone, or score margins.
    The sentence part is there because an answer is stated in one sentence: a passage that
    holds the question's words only scattered over several is more often about something else.
    """

    dense: float = 0.5
    passage: float = 0.25
    sentence: float = 0.25


@dataclass(frozen=True, slots=True)
class SearchTuning:
    # Lexical share of the fused ranking score (0 = dense only, 1 = lexical only). Both sides
    # are in [0, 1]; the even mix beats either side alone (`articlebot eval --compare`).
    lexical_weight: float = 0.5
    # Below this confidence a question is declined as "no match". 0.44 declines 90% of
    # questions about articles not in the index on the split-half check
    # (`articlebot eval --no-match`).
    min_score: float = 0.44
    # Rows each side (dense, lexical) brings to the pool that is fused and ranked: five times
    # the most hits a face asks for (10), so a passage found by one side only can still make
    # the top. Not tuned.
    candidates: int = 50
    # Longer questions are cut: the model reads about 256 word pieces anyway, and a 100k
    # character paste would otherwise cost BM25 and the confidence check for nothing.
    max_question_chars: int = 300
    # Added to the ranking score of a passage from the period a question's time words name
    # ("this week"): a preference, not a filter. Measured with bench/dated_bench.py.
    time_boost: float = 0.1
    # Taken from the ranking score of a passage enough members of a server voted down (see
    # `RankingHints`): a close alternative overtakes it, yet it is still found when nothing
    # else matches.
    demotion_penalty: float = 0.3
    # Added to the ranking score of passages of the articles a conversation's earlier answer
    # quoted: enough to win a near tie, not to beat a clearly better match elsewhere.
    preference_bonus: float = 0.05
    confidence: ConfidenceWeights = field(default_factory=ConfidenceWeights)
    # A window sharing more than this share of the shorter one's characters with a better
    # ranked window of the same article is left out. Neighbouring windows share only their
    # edge sentence, so they stay: each brings new sentences, and the answer is often in the
    # part the better-ranked one lacks.
    max_shared: float = 0.5
    # "learned": the top candidates are reordered, and the confidence judged, by the models
    # `python -m bench.train_ranker` fits (`index/query/learned.py`); "fused": the fused score
    # orders and the confidence above judges, as before the learned ranker.
    ranker: str = "learned"


RANKERS = ("learned", "fused")
