"""Logging set-up that can never print the Discord token."""

from __future__ import annotations

import logging

REDACTED = "[redacted]"


class RedactingFormatter(logging.Formatter):
    """Replaces every secret in the finished line, whatever logger produced it.

    Redacting in a filter is not enough: a filter sees the record before the formatter renders
    its traceback, so a token held by an exception (a URL, a repr of the client) would print.
    Here the message, traceback and stack are already one string.
    """

    def __init__(self, fmt: str, secrets: list[str]) -> None:
        super().__init__(fmt)
        self._secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text


class _Handler(logging.StreamHandler):
    def handleError(self, record: logging.LogRecord) -> None:
        # The default report of a record that failed to format prints its raw message and
        # arguments, which the formatter never saw, so it names only where the call was.
        self.stream.write(
            f"--- Logging error: a record from {record.name} ({record.pathname}:"
            f"{record.lineno}) could not be formatted; its arguments are not shown\n"
        )


def setup_logging(level: str, secrets: list[str]) -> None:
    handler = _Handler()
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # These libraries narrate every model load and HTTP request at INFO.
    for noisy in (
        "sentence_transformers",
        "httpx",
        "urllib3",
        "transformers",
        "trafilatura",
        "faiss",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)
