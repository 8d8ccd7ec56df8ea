"""The token never reaches the log output: not in messages, arguments, tracebacks or stacks."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot.logs import REDACTED, setup_logging

TOKEN = "MTIzNDU2Nzg5.secret-token.AbCdEf"


class TokenHolder:
    def __init__(self, token: str) -> None:
        self.token = token

    def connect(self) -> None:
        url = f"https://discord.com/api?token={self.token}"
        raise ConnectionError(f"cannot reach {url}")


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    """What the handler `setup_logging` installs writes, logged through `articlebot.test`."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    setup_logging("DEBUG", [TOKEN, ""])
    buffer = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    try:
        yield buffer
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


log = logging.getLogger("articlebot.test")


def test_token_in_message_and_arguments(
    output: io.StringIO,
) -> None:
    log.info("token is %s", TOKEN)
    log.warning(f"inline {TOKEN}")
    err = output.getvalue()
    assert TOKEN not in err
    assert err.count(REDACTED) == 2


def test_token_in_an_exception_and_its_traceback(
    output: io.StringIO,
) -> None:
    holder = TokenHolder(TOKEN)
    try:
        holder.connect()
    except ConnectionError:
        log.exception("login failed")
    err = output.getvalue()
    assert "Traceback (most recent call last)" in err
    assert "ConnectionError: cannot reach https://discord.com/api?token=[redacted]" in err
    assert TOKEN not in err


def test_token_in_a_chained_exception_and_stack_info(
    output: io.StringIO,
) -> None:
    try:
        try:
            raise ValueError(TOKEN)
        except ValueError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError:
        log.error("failed", exc_info=True, stack_info=True)
    err = output.getvalue()
    assert "ValueError: [redacted]" in err and "Stack (most recent call last)" in err
    assert TOKEN not in err


def test_token_in_a_record_that_fails_to_format(output: io.StringIO) -> None:
    # Straight to the installed handler: pytest's own capture handler would raise instead.
    [handler] = [
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.StreamHandler) and h.stream is output
    ]
    handler.handle(
        log.makeRecord(log.name, logging.INFO, "caller.py", 7, "count %d", (TOKEN,), None)
    )
    err = output.getvalue()
    assert "could not be formatted" in err and "caller.py:7" in err
    assert TOKEN not in err
