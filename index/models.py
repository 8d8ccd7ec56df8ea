"""Typed records that flow through the engine (see DESIGN.md, "Engine contracts")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from pathlib import Path

SHARED_COLLECTION = "shared"


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open character range `[start, end)` into an article's stored text."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            raise ValueError(f"bad span [{self.start}, {self.end})")

    def __len__(self) -> int:
        return self.end - self.start

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True, slots=True)
class Article:
    """One article. Every offset in the engine indexes `text` exactly as stored here."""

    id: str
    title: str
    text: str
    date: str | None = None
    source: str | None = None
    url: str | None = None
    collection: str = SHARED_COLLECTION


@dataclass(frozen=True, slots=True)
class ParsedArticle:
    """An article as a reader produced it, with the spans that are metadata, not body.

    `excluded` holds spans (the date and title lines of a plain-text file, a "2 min read"
    line, ...) that passages must not include; the text itself is never rewritten.
    `also_in` lists the other outlets that published the same story (syndicated copies).
    """

    article: Article
    excluded: tuple[Span, ...] = ()
    origin: str = ""
    also_in: tuple[ArticleRef, ...] = ()


@dataclass(frozen=True, slots=True)
class Passage:
    """A window of consecutive sentences of one article."""

    article_id: str
    char_start: int
    char_end: int
    sentences: tuple[Span, ...]

    def text_of(self, article_text: str) -> str:
        return article_text[self.char_start : self.char_end]


@dataclass(frozen=True, slots=True)
class ArticleRef:
    """What a hit says about its article: enough to cite it."""

    id: str
    title: str
    date: str | None
    source: str | None
    url: str | None
    collection: str


@dataclass(frozen=True, slots=True)
class Hit:
    """One answer: a passage of an article, with the quote inside it that best answers.

    `sentences` are the passage's sentences as the index stored them (the quote is one of
    them), in the article's offsets like every other span here: a face shows context by whole
    sentences without splitting the text again.
    """

    article: ArticleRef
    char_start: int
    char_end: int
    text: str
    quote_start: int
    quote_end: int
    score: float
    sentences: tuple[Span, ...]
    dense_score: float | None = None
    lexical_score: float | None = None
    also_in: tuple[ArticleRef, ...] = ()
    # How sure the searcher is that this passage answers (the measure `min_score` applies to).
    confidence: float | None = None
    # The article's URL opening at the quote (a text fragment) for http(s) articles.
    link: str | None = None

    @property
    def quote(self) -> str:
        return self.excerpt(Span(self.quote_start, self.quote_end))

    def excerpt(self, span: Span) -> str:
        """The text of `span` (article offsets, within this passage)."""
        return self.text[span.start - self.char_start : span.end - self.char_start]


@dataclass(frozen=True, slots=True)
class SearchResult:
    """The answer to one question.

    `matched` is False when nothing in the collection answers well enough; `hits` is then
    empty and `nearest` holds the closest articles, so a face can say "no match" honestly.
    """

    question: str
    hits: tuple[Hit, ...]
    matched: bool
    nearest: tuple[ArticleRef, ...] = ()
    best_score: float = 0.0


@dataclass(frozen=True, slots=True)
class JudgedPassage:
    """An article's best passage for a question, judged as `/ask` judges a hit: what a watch
    posts when `confidence` reaches the no-match threshold."""

    article_id: str
    span: Span
    confidence: float
    fused: float
    dense: float
    lexical: float


@dataclass(frozen=True, slots=True)
class SourceProblem:
    """An input that was skipped, and why, in words a user can act on."""

    origin: str
    reason: str


@dataclass(slots=True)
class ReadReport:
    """Everything read from the sources of one build."""

    articles: list[ParsedArticle] = field(default_factory=list)
    problems: list[SourceProblem] = field(default_factory=list)


Progress = Callable[[str, int, int], None]
"""Called as progress(stage, done, total) while a build runs."""


@dataclass(slots=True)
class BuildReport:
    articles: int = 0
    passages: int = 0
    embedded: int = 0
    reused: int = 0
    added_articles: int = 0
    changed_articles: int = 0
    removed_articles: int = 0
    up_to_date: bool = False
    seconds: float = 0.0
    generation: Path | None = None
    problems: list[SourceProblem] = field(default_factory=list)


@dataclass(slots=True)
class MergeReport:
    """One merge of index segments: how many were merged into one (0: none was due), the
    passages of the merged segment, the deleted ones left out, whether the IVF centres were
    trained again, and why."""

    merged: int = 0
    passages: int = 0
    dropped: int = 0
    retrained: bool = False
    reason: str = "nothing to merge"
    generation: Path | None = None
    seconds: float = 0.0


class Mode(Enum):
    """Which side of retrieval answers: both fused (the default), or one alone (for eval)."""

    HYBRID = "hybrid"
    DENSE = "dense"
    LEXICAL = "lexical"


class Sort(Enum):
    RELEVANCE = "relevance"
    NEWEST = "newest"


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Limits a question's retrieval to a window and outlets; applied inside retrieval, before
    top-k. Datetimes are timezone-aware. `as_of` is "now" for time words in the question
    ("yesterday", "this week") and nothing published after it is returned."""

    since: datetime | None = None
    until: datetime | None = None
    outlets: tuple[str, ...] = ()
    sort: Sort = Sort.RELEVANCE
    as_of: datetime | None = None


@dataclass(frozen=True, slots=True)
class FeedInfo:
    """A followed feed as admins see it in `/feeds list` and `articlebot feeds list`.
    Times are ISO 8601 strings in UTC."""

    id: int
    collection: str
    url: str
    title: str | None
    channel_id: int | None
    items: int
    last_poll: str | None
    next_poll: str | None
    last_error: str | None
    from_summary: int = 0
    """How many of `items` hold the feed's summary because their page could not be read."""


@dataclass(frozen=True, slots=True)
class FeedPollResult:
    """One feed's poll: the articles it added (for posting headlines), or why it failed."""

    feed: FeedInfo
    added: tuple[ArticleRef, ...] = ()
    not_modified: bool = False
    error: str | None = None


@dataclass(slots=True)
class PollReport:
    """One poll of every due feed; `build` is None when nothing new was indexed."""

    feeds: list[FeedPollResult] = field(default_factory=list)
    pruned: int = 0
    build: BuildReport | None = None


# ---------------------------------------------------------------- conversation and feedback


def passage_id(article_id: str, char_start: int, char_end: int) -> str:
    """A passage's name that survives rebuilds: the article and the span it covers."""
    return f"{article_id}#{char_start}-{char_end}"


@dataclass(frozen=True, slots=True)
class ShownHit:
    """One hit as an answer showed it, kept with the answer for later buttons."""

    passage_id: str
    article_id: str
    title: str
    url: str | None
    quote: str
    quote_start: int
    quote_end: int


@dataclass(frozen=True, slots=True)
class AnswerRecord:
    """An answer that was sent: enough to page it, show its context and take votes on it,
    after a restart too. `scope` is where votes on it count (a server); `asker` is an opaque
    member id given by the face; `pages[i]` holds the hits page i showed."""

    id: str
    scope: str
    question: str
    collections: tuple[str, ...] | None
    k: int
    asker: str
    private: bool
    created_at: float
    matched: bool
    pages: tuple[tuple[ShownHit, ...], ...]
    # The question's window, outlets and order: More pages within the same options.
    filters: SearchFilters | None = None


@dataclass(frozen=True, slots=True)
class AnswerPage:
    """Page `page` (0-based) of an answer; `last` is True when no further page exists."""

    answer: AnswerRecord
    page: int
    result: SearchResult
    last: bool


@dataclass(frozen=True, slots=True)
class QuoteContext:
    """The paragraph around a quote. Offsets index the article's stored text."""

    article: ArticleRef
    paragraph: str
    paragraph_start: int
    quote_start: int
    quote_end: int

    @property
    def before(self) -> str:
        return self.paragraph[: self.quote_start - self.paragraph_start]

    @property
    def quote(self) -> str:
        return self.paragraph[
            self.quote_start - self.paragraph_start : self.quote_end - self.paragraph_start
        ]

    @property
    def after(self) -> str:
        return self.paragraph[self.quote_end - self.paragraph_start :]


@dataclass(frozen=True, slots=True)
class VoteOutcome:
    passage_id: str
    value: int
    previous: int | None
    downvoters: int
    demoted: bool


@dataclass(frozen=True, slots=True)
class PassageFeedback:
    passage_id: str
    article_id: str
    title: str
    quote: str
    down: int
    up: int
    demoted: bool


@dataclass(frozen=True, slots=True)
class NoMatchQuestion:
    question: str
    asked_at: float


@dataclass(frozen=True, slots=True)
class FeedbackReport:
    """What a server's members said: the most down-voted passages (demoted once `threshold`
    distinct members voted them down) and the latest questions that got "no match"."""

    scope: str
    threshold: int
    passages: tuple[PassageFeedback, ...]
    no_match: tuple[NoMatchQuestion, ...]


@dataclass(frozen=True, slots=True)
class PreviousTurn:
    """The earlier question of a conversation, and the articles its answer quoted."""

    question: str
    article_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FollowupResult:
    """A follow-up's answer; `searched` is what was searched (the question, or the question
    with the earlier question's terms) and `with_context` says which."""

    result: SearchResult
    searched: str
    with_context: bool
