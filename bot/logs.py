"""Logging set-up that can never print the Discord token."""

from __future__ import annotations

import logging


class RedactSecrets(logging.Filter):
    """Replaces any secret that reaches a log record, whatever logger produced it."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            message = record.getMessage()
            redacted = message
            for secret in self._secrets:
                redacted = redacted.replace(secret, "[redacted]")
            if redacted != message:
                record.msg, record.args = redacted, None
            if record.exc_text:
                for secret in self._secrets:
                    record.exc_text = record.exc_text.replace(secret, "[redacted]")
        return True


def setup_logging(level: str, secrets: list[str]) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
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
        "bm25s",
        "faiss",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)
