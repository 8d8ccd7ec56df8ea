"""Reading `search --batch` input: every line stands alone, whatever its bytes."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.batch import MAX_LINE_BYTES, BatchError, BatchQuestion, IdFinder, read_batch


def test_questions_and_ids() -> None:
    stream = io.BytesIO(b'{"id": "a", "question": "Who?"}\n\n  \n{"question": "Why?"}')
    assert list(read_batch(stream)) == [
        BatchQuestion("a", "Who?", 1, {"id": "a", "question": "Who?"}),
        BatchQuestion(4, "Why?", 4, {"question": "Why?"}),
    ]


def test_a_line_over_the_limit_is_an_error_with_its_own_id_and_reading_goes_on() -> None:
    question = b'"question": "' + b"x" * (MAX_LINE_BYTES + 10) + b'"'
    stream = io.BytesIO(
        b'{"id": "before", ' + question + b"}\n"
        b"{" + question + b', "id": {"after": [1]}}\n'
        b"{" + question + b"}\n"
        b'{"id": 4, "question": "Who?"}\n'
    )
    limit = f"longer than {MAX_LINE_BYTES} bytes"
    assert list(read_batch(stream)) == [
        BatchError("before", f"line 1: {limit}"),
        BatchError({"after": [1]}, f"line 2: {limit}"),
        BatchError(3, f"line 3: {limit}"),
        BatchQuestion(4, "Who?", 4, {"id": 4, "question": "Who?"}),
    ]


def test_a_megabyte_question_line_is_read_whole() -> None:
    # 100,000 emoji written as JSON escapes: 1.2 MB, over the old 1,000,000-byte limit.
    escaped = "\\ud83e\\udd14" * 100_000
    line = f'{{"id": "think", "question": "{escaped}", "since": "2024-01-01"}}\n'.encode()
    assert len(line) > 1_200_000
    [item] = read_batch(io.BytesIO(line))
    assert isinstance(item, BatchQuestion)
    assert (item.id, item.question, item.record["since"]) == ("think", "🤔" * 100_000, "2024-01-01")


@pytest.mark.parametrize(
    ("line", "error"),
    [
        (b'{"id": "q1", "question": "Who', "invalid JSON ("),
        (b'{"id": "q2", "question": "\xff"}', "not UTF-8 text"),
        (b'{"id": "q3", "question": ' + b"[" * 50_000, "JSON nested too deeply"),
    ],
)
def test_a_broken_line_keeps_its_id(line: bytes, error: str) -> None:
    [item] = read_batch(io.BytesIO(line + b"\n"))
    assert isinstance(item, BatchError)
    assert item.id == json.loads(line[7:11]) and item.error.startswith(f"line 1: {error}")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=6), json_values, max_size=5), json_values, st.data())
def test_the_id_finder_agrees_with_json_in_any_pieces(
    record: dict[str, object], question_id: object, data: st.DataObject
) -> None:
    record["id"] = question_id
    line = json.dumps(record, ensure_ascii=data.draw(st.booleans())).encode()
    cuts = sorted(data.draw(st.lists(st.integers(0, len(line)), max_size=6)))
    finder = IdFinder()
    for start, end in zip([0, *cuts], [*cuts, len(line)], strict=True):
        finder.feed(line[start:end])
    assert finder.found and finder.id == json.loads(line)["id"]


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
