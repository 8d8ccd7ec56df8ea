"""Reading `search --batch` input: every line stands alone, whatever its bytes."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.batch import MAX_LINE_BYTES, BatchError, BatchQuestion, read_batch


def test_questions_and_ids() -> None:
    stream = io.BytesIO(b'{"id": "a", "question": "Who?"}\n\n  \n{"question": "Why?"}')
    assert list(read_batch(stream)) == [
        BatchQuestion("a", "Who?", 1, {"id": "a", "question": "Who?"}),
        BatchQuestion(4, "Why?", 4, {"question": "Why?"}),
    ]


def test_a_line_over_the_limit_is_an_error_and_reading_goes_on() -> None:
    long_line = b'{"question": "' + b"x" * (MAX_LINE_BYTES * 2) + b'"}\n'
    stream = io.BytesIO(long_line + b'{"id": 2, "question": "Who?"}\n')
    assert list(read_batch(stream)) == [
        BatchError(1, f"line 1: longer than {MAX_LINE_BYTES} bytes"),
        BatchQuestion(2, "Who?", 2, {"id": 2, "question": "Who?"}),
    ]


def test_a_huge_integer_is_an_error() -> None:
    [item] = read_batch(io.BytesIO(b'{"id": ' + b"9" * 5000 + b', "question": "Who?"}\n'))
    assert isinstance(item, BatchError) and item.error.startswith("line 1: Exceeds the limit")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=200).filter(lambda b: b"\n" not in b), max_size=20))
def test_any_bytes_give_one_item_per_non_blank_line(lines: list[bytes]) -> None:
    items = list(read_batch(io.BytesIO(b"\n".join(lines))))
    assert len(items) == sum(1 for line in lines if line.strip())
    for item in items:
        assert isinstance(item, BatchQuestion | BatchError)
        if isinstance(item, BatchQuestion):
            assert isinstance(item.question, str)
