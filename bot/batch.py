"""The question file of `articlebot search --batch`: JSON lines `{"id", "question"}`.

Every line stands alone: a line that is not UTF-8, not JSON, not an object, too long or
without a string `question` becomes an error record for that line, and reading goes on.
An error record carries the line's own `id` whenever the line has one, even when the line
cannot be parsed, so that ids never shift; only a line without an id gets its line number.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

# A line is parsed whole up to this size: far above any real question (the searcher keeps
# ARTICLEBOT_MAX_QUESTION_CHARS of it; 100,000 emoji written as JSON escapes are 1.2 MB).
# It bounds the memory one line without a newline can take; a longer line is streamed
# through in pieces only to find its id.
MAX_LINE_BYTES = 16 * 1024 * 1024
_PIECE_BYTES = 1024 * 1024
# An id is a short name or a number; a longer "id" value is not looked for past a line's limit.
_MAX_ID_BYTES = 64 * 1024


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
            finder = IdFinder()
            finder.feed(line)
            while (rest := stream.readline(_PIECE_BYTES)) and not rest.endswith(b"\n"):
                finder.feed(rest)
            finder.feed(rest)
            question_id = finder.id if finder.found else number
            yield BatchError(question_id, f"line {number}: longer than {MAX_LINE_BYTES} bytes")
        elif line.strip():
            yield parse_line(line, number)


def parse_line(line: bytes, number: int) -> BatchQuestion | BatchError:
    try:
        record = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        return BatchError(_id_of(line, number), f"line {number}: not UTF-8 text")
    except json.JSONDecodeError as exc:
        return BatchError(_id_of(line, number), f"line {number}: invalid JSON ({exc.msg})")
    except RecursionError:
        return BatchError(_id_of(line, number), f"line {number}: JSON nested too deeply")
    except ValueError as exc:  # an integer of thousands of digits
        return BatchError(_id_of(line, number), f"line {number}: {exc}")
    if not isinstance(record, dict):
        return BatchError(number, f'line {number}: expected an object {{"id", "question"}}')
    question_id = record.get("id", number)
    question = record.get("question")
    if not isinstance(question, str):
        return BatchError(question_id, f'line {number}: "question" must be a string')
    return BatchQuestion(question_id, question, number, record)


def _id_of(line: bytes, number: int) -> Any:
    finder = IdFinder()
    finder.feed(line)
    return finder.id if finder.found else number


_SIGNIFICANT_RE = re.compile(rb'["\\{}\[\],:]')


class IdFinder:
    """The top-level `"id"` member of a JSON object given in pieces, without holding it.

    Only structure is tracked (strings, nesting, keys at the top level), so an id is found in
    a line too long to parse or broken after the id; `found` is False when there is none or
    its value is not valid JSON on its own.
    """

    def __init__(self) -> None:
        self.found = False
        self.id: Any = None
        self._depth = 0
        self._in_string = False
        self._escaped = False
        self._expect_key = False
        self._key: bytearray | None = None
        self._last_key = b""
        self._value: bytearray | None = None
        self._done = False

    def feed(self, piece: bytes) -> None:
        if self._done:
            return
        pos = 0
        if self._escaped:
            self._escaped = False
            pos = 1
        # Where the open key or id value resumes in this piece.
        key_from = value_from = 0
        while (m := _SIGNIFICANT_RE.search(piece, pos)) is not None:
            at, char = m.start(), piece[m.start() : m.start() + 1]
            pos = at + 1
            if self._in_string:
                if char == b"\\":
                    if pos >= len(piece):
                        self._escaped = True
                    pos += 1
                elif char == b'"':
                    self._in_string = False
                    if self._key is not None:
                        self._last_key = bytes(self._key + piece[key_from:at])
                        self._key = None
                continue
            if self._value is not None and self._depth == 1 and char in b",}":
                self._finish(self._value + piece[value_from:at])
                return
            if char == b'"':
                self._in_string = True
                if self._depth == 1 and self._expect_key:
                    self._expect_key = False
                    self._key, key_from = bytearray(), pos
            elif char in b"{[":
                self._depth += 1
                self._expect_key = self._depth == 1 and char == b"{"
            elif char in b"}]":
                self._depth -= 1
            elif char == b"," and self._depth == 1:
                self._expect_key = True
            elif char == b":" and self._depth == 1 and self._last_key == b"id":
                self._value, value_from = bytearray(), pos
        if self._key is not None:
            self._key += piece[key_from:]
            if len(self._key) > 2:
                self._key = bytearray(b"-")  # not "id": keep no more of it
        if self._value is not None:
            self._value += piece[value_from:]
            if len(self._value) > _MAX_ID_BYTES:
                self._done = True

    def _finish(self, value: bytes | bytearray) -> None:
        self._done = True
        try:
            self.id = json.loads(value)
        except ValueError:
            return
        self.found = True
