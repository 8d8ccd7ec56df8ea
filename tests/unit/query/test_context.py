from index.models import ArticleRef
from index.query.context import MAX_PARAGRAPH_CHARS, quote_context

REF = ArticleRef("a", "Title", None, None, "https://example.org/a", "shared")


def test_the_paragraph_holding_the_quote() -> None:
    text = "Head line\n\nFirst one. The quote here. Last one.\n\nNext paragraph."
    start = text.index("The quote")
    context = quote_context(REF, text, start, start + len("The quote here."))
    assert context.paragraph == "First one. The quote here. Last one."
    assert context.quote == "The quote here."
    assert (context.before, context.after) == ("First one. ", " Last one.")


def test_a_huge_paragraph_is_cut_to_sentences_around_the_quote() -> None:
    filler = " ".join(f"Sentence number {n} says little." for n in range(200))
    text = f"{filler} The quote is here. {filler}"
    start = text.index("The quote")
    context = quote_context(REF, text, start, start + len("The quote is here."))
    assert context.quote == "The quote is here."
    assert len(context.paragraph) <= MAX_PARAGRAPH_CHARS
    assert context.before.startswith("Sentence") and context.after.endswith("little.")
    assert abs(len(context.before) - len(context.after)) < 100
