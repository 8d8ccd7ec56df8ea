"""The question file of `articlebot search --batch`: JSON lines `{"id", "question"}`.

Every line stands alone: a line that is not UTF-8, not JSON, not an object, too long or
without a string `question` becomes an error record for that line, and reading goes on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

# Far above any question (the searcher keeps max_question_chars of it); bounds the memory a
# single line without a newline can take.
MAX_LINE_BYTES = 1_000_000


@dataclass(frozen=True, slots=True)
class BatchQuestion:
    id: Any
    question: str
    line: int
    # The whole line: it may also carry the question's own filters (as_of, since, ...).
    record: dict[str, Any]


@dataclass(frozen=True, slots=True)
class BatchError:
    id: Any
    error: str


def read_batch(stream: IO[bytes]) -> Iterator[BatchQuestion | BatchError]:
    """One item per non-blank line, as the line is read (so stdin can stream)."""
    number = 0
    while line := stream.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while (rest := stream.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                pass
            yield BatchError(number, f"line {number}: longer than {MAX_LINE_BYTES} bytes")
        elif line.strip():
            yield parse_line(line, number)


def parse_line(line: bytes, number: int) -> BatchQuestion | BatchError:
    try:
        record = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        return BatchError(number, f"line {number}: not UTF-8 text")
    except json.JSONDecodeError as exc:
        return BatchError(number, f"line {number}: invalid JSON ({exc.msg})")
    except RecursionError:
        return BatchError(number, f"line {number}: JSON nested too deeply")
    except ValueError as exc:  # an integer of thousands of digits
        return BatchError(number, f"line {number}: {exc}")
    if not isinstance(record, dict):
        return BatchError(number, f'line {number}: expected an object {{"id", "question"}}')
    question_id = record.get("id", number)
    question = record.get("question")
    if not isinstance(question, str):
        return BatchError(question_id, f'line {number}: "question" must be a string')
    return BatchQuestion(question_id, question, number, record)
