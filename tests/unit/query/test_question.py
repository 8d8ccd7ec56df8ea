"""Cleaning a question: what the encoder, BM25 and SQLite receive from any string."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from index.query.question import clean_question

# Every code point, lone surrogates and controls included (hypothesis leaves out Cs by default).
any_text = st.text(st.characters(exclude_categories=()), max_size=400)


def test_lone_surrogates_become_replacement_characters() -> None:
    assert clean_question("Kirby\ud800 said\udfff", 300) == "Kirby\ufffd said\ufffd"


def test_a_split_surrogate_pair_is_joined() -> None:
    assert clean_question("rocket \ud83d\ude80", 300) == "rocket \U0001f680"


def test_controls_and_nul_become_spaces() -> None:
    assert clean_question("\x00who\x1b[1m said\x7f it\x85\t", 300) == "who [1m said  it"


def test_cut_to_the_limit_after_trimming() -> None:
    assert clean_question("   " + "word " * 50_000, 12) == "word word wo"


def test_right_to_left_and_emoji_are_kept() -> None:
    question = "מי אמר את זה? 👩‍🔬"
    assert clean_question(question, 300) == question


@settings(max_examples=300, deadline=None)
@given(any_text, st.integers(min_value=1, max_value=500))
def test_result_is_encodable_bounded_and_free_of_controls(raw: str, limit: int) -> None:
    cleaned = clean_question(raw, limit)
    cleaned.encode("utf-8")
    assert len(cleaned) <= limit
    assert cleaned == cleaned.strip()
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in cleaned)
