"""What a question must be before it is searched, shared by `/ask`, mentions and follow-ups:
one length limit, one per-member cooldown, one default number of passages."""

from __future__ import annotations

from bot.discord_app.cooldown import Cooldown
from config.settings import Settings
from index.errors import InputError

# Discord shows at most this many passages in one answer: five full fields fit its limits.
MAX_RESULTS = 5


class QuestionGate:
    def __init__(self, settings: Settings) -> None:
        self.max_chars = settings.max_question_chars
        # A mention's answer shows as many passages as `/ask` does by default.
        self.default_results = min(settings.top_k, MAX_RESULTS)
        self._cooldown = Cooldown(settings.ask_cooldown_seconds)

    def admit(self, question: str, user_id: int) -> str:
        """The question to search for, after the length limit and the member's cooldown."""
        question = " ".join(question.split())
        if not question:
            raise InputError("Ask a question, e.g. “who ordered the strikes?”")
        if len(question) > self.max_chars:
            raise InputError(
                f"Questions are limited to {self.max_chars} characters; please shorten it."
            )
        self._cooldown.take(user_id)
        return question
