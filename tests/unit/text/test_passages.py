"""Passages: windows of sentences; offsets exact, budget kept, nothing lost, overlap as planned."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from index.models import Passage, Span
from index.text.passages import PassagePlan, approximate_tokens, make_passages
from index.text.sentences import split_sentences

_words = st.sampled_from(
    ["the", "council", "voted", "U.S.", "Sen.", "2.5", "percent", "résumé", "on", "Tuesday"]
)
# A rare very long "word" that no window can split: the budget may be exceeded only by it.
_long_word = st.integers(min_value=20, max_value=80).map(lambda n: "x" * n + "-" + "y" * n)


@st.composite
def _sentence(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.one_of(_words, _long_word), min_size=1, max_size=40))
    return " ".join(words) + draw(st.sampled_from([".", "?", "!", "", '."']))


@st.composite
def _article(draw: st.DrawFn) -> tuple[str, tuple[Span, ...], PassagePlan]:
    sentences = draw(st.lists(_sentence(), min_size=0, max_size=10))
    separators = draw(
        st.lists(st.sampled_from([" ", "  ", "\n", "\n\n", "\n\n\n"]), min_size=len(sentences))
    )
    text = draw(st.sampled_from(["", "  ", "\n"]))
    for sentence, sep in zip(sentences, separators, strict=False):
        text += sentence + sep
    bounds = st.integers(min_value=0, max_value=len(text))
    pairs = draw(st.lists(st.tuples(bounds, bounds), max_size=2))
    excluded = tuple(Span(min(a, b), max(a, b)) for a, b in pairs)
    plan = PassagePlan(
        max_sentences=draw(st.integers(min_value=1, max_value=5)),
        max_tokens=draw(st.integers(min_value=16, max_value=96)),
        overlap=draw(st.integers(min_value=0, max_value=2)),
    )
    return text, excluded, plan


def _passages(case: tuple[str, tuple[Span, ...], PassagePlan]) -> list[Passage]:
    text, excluded, plan = case
    return make_passages("a", text, excluded, plan, approximate_tokens)


def _units(passages: list[Passage]) -> list[Span]:
    """The sentence (or sentence piece) sequence the windows were cut from, in order."""
    units: list[Span] = []
    for p in passages:
        for s in p.sentences:
            if s not in units:
                units.append(s)
    return units


@settings(max_examples=100, deadline=None)
@given(_article())
def test_offsets_index_the_text_and_sentences_lie_inside(
    case: tuple[str, tuple[Span, ...], PassagePlan],
) -> None:
    text = case[0]
    for p in _passages(case):
        assert p.article_id == "a"
        assert text[p.char_start : p.char_end] == p.text_of(text)
        assert p.sentences, "a passage without sentences"
        assert p.char_start == p.sentences[0].start
        assert p.char_end == p.sentences[-1].end
        for before, after in zip(p.sentences, p.sentences[1:], strict=False):
            assert before.end <= after.start
        for s in p.sentences:
            assert p.char_start <= s.start < s.end <= p.char_end
            assert text[s.start : s.end] == text[s.start : s.end].strip()


@settings(max_examples=100, deadline=None)
@given(_article())
def test_token_budget_is_kept_except_by_a_single_unsplittable_word(
    case: tuple[str, tuple[Span, ...], PassagePlan],
) -> None:
    text, _, plan = case
    for p in _passages(case):
        assert len(p.sentences) <= plan.max_sentences
        tokens = sum(approximate_tokens(text[s.start : s.end]) for s in p.sentences)
        if tokens > plan.max_tokens:
            assert len(p.sentences) == 1
            assert re.fullmatch(r"\S+", text[p.char_start : p.char_end])


@settings(max_examples=100, deadline=None)
@given(_article())
def test_every_sentence_outside_exclusions_is_covered(
    case: tuple[str, tuple[Span, ...], PassagePlan],
) -> None:
    text, excluded, _ = case
    passages = _passages(case)
    covered = [False] * len(text)
    for p in passages:
        for s in p.sentences:
            covered[s.start : s.end] = [True] * len(s)
    for sentence in split_sentences(text, excluded):
        # Cutting a long sentence drops only the spaces between its pieces.
        lost = [
            c
            for c, inside in zip(
                text[sentence.start : sentence.end],
                covered[sentence.start : sentence.end],
                strict=True,
            )
            if not inside and not c.isspace()
        ]
        assert lost == [], text[sentence.start : sentence.end]


@settings(max_examples=100, deadline=None)
@given(_article())
def test_consecutive_windows_overlap_as_planned(
    case: tuple[str, tuple[Span, ...], PassagePlan],
) -> None:
    plan = case[2]
    passages = _passages(case)
    units = _units(passages)
    position = {span: i for i, span in enumerate(units)}
    previous_start = previous_end = None
    for p in passages:
        first = position[p.sentences[0]]
        # Windows are runs of consecutive units.
        assert [position[s] for s in p.sentences] == list(range(first, first + len(p.sentences)))
        if previous_start is not None and previous_end is not None:
            assert first == max(previous_start + 1, previous_end - plan.overlap)
        previous_start, previous_end = first, first + len(p.sentences)
    if passages:
        assert previous_end == len(units), "the last window reaches the last sentence"


def test_a_known_article() -> None:
    text = (
        "The harbour reopened on Tuesday. Fishermen said the wall held. "
        "The port expects more ships. Repairs cost two million."
    )
    passages = make_passages("h", text, (), PassagePlan(max_sentences=2, max_tokens=128))
    assert [p.text_of(text) for p in passages] == [
        "The harbour reopened on Tuesday. Fishermen said the wall held.",
        "Fishermen said the wall held. The port expects more ships.",
        "The port expects more ships. Repairs cost two million.",
    ]


def test_a_long_sentence_is_cut_at_word_boundaries() -> None:
    text = " ".join(f"word{i}" for i in range(100)) + "."
    passages = make_passages("long", text, (), PassagePlan(max_sentences=3, max_tokens=20))
    assert len(passages) > 1
    rebuilt = " ".join(text[s.start : s.end] for p in passages for s in p.sentences[-1:])
    assert rebuilt.split()[-1] == "word99."
    for p in passages:
        assert sum(approximate_tokens(text[s.start : s.end]) for s in p.sentences) <= 20


def test_boilerplate_between_sentences_stays_out_of_passages() -> None:
    text = (
        "The city library will open until 9 p.m. on weekdays from May.\n\n"
        "Share this article\n\n"
        "The change follows a petition signed by 2,000 residents.\n"
    )
    share = text.index("Share this article")
    excluded = (Span(share, share + len("Share this article")),)
    passages = make_passages("lib", text, excluded, PassagePlan())
    assert passages
    assert all("Share this article" not in p.text_of(text) for p in passages)
