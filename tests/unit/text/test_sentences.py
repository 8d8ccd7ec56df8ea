"""Sentence splitting: news conventions, and invariants over arbitrary text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from index.models import Span
from index.text.sentences import _mask_open_brackets, split_sentences

NEWS = """Senate passes infrastructure bill

WASHINGTON — Sen. John Smith said the U.S. economy grew 2.5 percent last year. \
He spoke at 3 p.m. on Tuesday.
Mr. Jones disagreed. "This is wrong," he said. "We will fight it."
Key points:
- The bill costs $1.2 billion.
- It passed 51-49
* A third item
1. Numbered item one
2) Numbered item two

## A heading
The vote was held at 10 a.m. Friday. Dr. Who was absent.
this line is hard
wrapped prose that continues here.
"""


def sentences_of(text: str, excluded: tuple[Span, ...] = ()) -> list[str]:
    return [text[s.start : s.end] for s in split_sentences(text, excluded)]


def test_news_text() -> None:
    assert sentences_of(NEWS) == [
        "Senate passes infrastructure bill",
        "WASHINGTON — Sen. John Smith said the U.S. economy grew 2.5 percent last year.",
        "He spoke at 3 p.m. on Tuesday.",
        "Mr. Jones disagreed.",
        '"This is wrong," he said.',
        '"We will fight it."',
        "Key points:",
        "The bill costs $1.2 billion.",
        "It passed 51-49",
        "A third item",
        "1. Numbered item one",
        "2) Numbered item two",
        "## A heading",
        "The vote was held at 10 a.m. Friday.",
        "Dr. Who was absent.",
        "this line is hard\nwrapped prose that continues here.",
    ]


def test_excluded_spans_are_skipped() -> None:
    text = "Headline here\nFirst sentence. Second sentence.\nLeave a Reply\nComment text."
    footer = text.index("Leave a Reply")
    excluded = (Span(0, len("Headline here")), Span(footer, len(text)))
    assert sentences_of(text, excluded) == ["First sentence.", "Second sentence."]


def test_sentence_partly_inside_an_excluded_span_is_kept() -> None:
    # Only spans wholly inside an exclusion are dropped; a cleanup span never eats prose.
    text = "One sentence here. Another one follows."
    assert sentences_of(text, (Span(0, 5),)) == ["One sentence here.", "Another one follows."]


def test_empty_and_blank_text() -> None:
    assert split_sentences("") == []
    assert split_sentences(" \n\n\t ") == []


# Texts made of the pieces that trouble segmenters: abbreviations, decimals, quotes, bullets,
# blank lines, stray whitespace and non-ASCII letters.
_pieces = st.sampled_from(
    [
        "•",
        "  • ",
        "– ",
        "– McNaldy",
        "«",
        "U.S.",
        "Sen.",
        "Mr.",
        "p.m.",
        "2.5",
        "$1.2",
        '"',
        "“",
        "”",
        "'",
        "- ",
        "* ",
        "1. ",
        "#",
        ".",
        "?",
        "!",
        "...",
        "…",
        ",",
        " ",
        "  ",
        "\t",
        "\n",
        "\n\n",
        "\r\n",
        "word",
        "Word",
        "café",
        "Ελλάδα",
        "—",
    ]
)
_texts = st.one_of(
    st.lists(_pieces, max_size=60).map("".join),
    st.text(max_size=300),
)


@st.composite
def _text_and_exclusions(draw: st.DrawFn) -> tuple[str, tuple[Span, ...]]:
    text = draw(_texts)
    bounds = st.integers(min_value=0, max_value=len(text))
    pairs = draw(st.lists(st.tuples(bounds, bounds), max_size=3))
    return text, tuple(Span(min(a, b), max(a, b)) for a, b in pairs)


@settings(max_examples=300, deadline=None)
@given(_text_and_exclusions())
def test_spans_are_ordered_in_bounds_trimmed_and_respect_exclusions(
    case: tuple[str, tuple[Span, ...]],
) -> None:
    text, excluded = case
    spans = split_sentences(text, excluded)
    previous_end = 0
    for span in spans:
        assert 0 <= span.start < span.end <= len(text)
        assert span.start >= previous_end, "spans overlap or are out of order"
        previous_end = span.end
        piece = text[span.start : span.end]
        assert piece == piece.strip()
        assert piece
        assert not any(x.start <= span.start and span.end <= x.end for x in excluded)


@settings(max_examples=200, deadline=None)
@given(_texts)
def test_every_word_is_in_some_sentence(text: str) -> None:
    # Nothing a reader would miss is lost: every letter and digit lies inside a sentence span
    # (only bullets, stray quotation marks and lone punctuation may fall between them).
    spans = split_sentences(text)
    covered = [False] * len(text)
    for span in spans:
        covered[span.start : span.end] = [True] * len(span)
    missing = [c for c, inside in zip(text, covered, strict=True) if not inside and c.isalnum()]
    assert missing == []


_EDGE_GLYPHS = "•·▪●◦‣∙*-–—"
_QUOTE_MARKS = "\"'“”‘’«»„‟‹›"


@settings(max_examples=300, deadline=None)
@given(_texts)
def test_no_sentence_starts_with_a_bullet_or_has_a_stray_quote_at_an_edge(text: str) -> None:
    for span in split_sentences(text):
        piece = text[span.start : span.end]
        assert any(c.isalnum() for c in piece), f"no words in {piece!r}"
        assert not (piece[0] in _EDGE_GLYPHS and piece[1:2].isspace()), piece
        if len(piece) > 1:
            assert not (piece[0] in _QUOTE_MARKS and piece[1].isspace()), piece
            assert not (piece[-1] in _QUOTE_MARKS and piece[-2].isspace()), piece


SCRAPED = """  • “Targets were chosen because of the attacks,” he said.
  • “In particular, two sites were hit. .SS) used these facilities. “

“We will act. Activities. “

– McNaldy

  • Biden said in February he wanted to warn them."""


def test_scraped_news_reads_as_sentences() -> None:
    assert sentences_of(SCRAPED) == [
        "“Targets were chosen because of the attacks,” he said.",
        "“In particular, two sites were hit. .SS) used these facilities.",
        "“We will act.",
        "Activities. “\n\n– McNaldy",
        "Biden said in February he wanted to warn them.",
    ]


def test_an_attribution_after_excluded_text_stays_apart() -> None:
    text = "“We spoke.” Leave a Reply\n\n– McNaldy"
    footer = text.index("Leave")
    excluded = (Span(footer, footer + len("Leave a Reply")),)
    assert sentences_of(text, excluded) == ["“We spoke.”", "McNaldy"]


def test_unclosed_brackets_are_blanked_for_the_segmenter_only() -> None:
    # syntok searches ahead from every unclosed bracket (quadratic in a run of them); the
    # segmenter sees them blanked, one for one, while the spans still index the real text.
    text = "He left (at noon). " + "[x," * 3000 + " Then [she] came."
    spans = split_sentences(text)
    assert text[spans[0].start : spans[0].end].startswith("He left (at noon).")
    assert text[spans[-1].start : spans[-1].end].endswith("Then [she] came.")
    assert text[spans[-1].end - len("[she] came.") :].startswith("[she]")
    masked = _mask_open_brackets(text)
    assert len(masked) == len(text)
    assert "(at noon)" in masked and "[she]" in masked
    assert "[" not in masked.replace("[she]", "")
