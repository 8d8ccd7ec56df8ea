"""Answers as JSON records, for `articlebot search --json` and `--batch` (one line each)."""

from __future__ import annotations

import json
from typing import Any

from index.models import ArticleRef, Hit, SearchResult


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def ref_json(ref: ArticleRef) -> dict[str, Any]:
    return {
        "article_id": ref.id,
        "title": ref.title,
        "url": ref.url,
        "date": ref.date,
        "source": ref.source,
    }


def hit_json(hit: Hit) -> dict[str, Any]:
    return {
        **ref_json(hit.article),
        # Opens the article at the quote (a URL text fragment) where the article is on the web.
        "link": hit.link,
        "char_start": hit.char_start,
        "char_end": hit.char_end,
        "quote_start": hit.quote_start,
        "quote_end": hit.quote_end,
        "text": hit.text,
        "quote": hit.quote,
        "score": _rounded(hit.score),
        "confidence": _rounded(hit.confidence),
        "also_in": [a.id for a in hit.also_in],
    }


def result_json(question_id: Any, result: SearchResult) -> dict[str, Any]:
    """`nearest` holds the closest headlines when nothing matched (empty otherwise)."""
    return {
        "id": question_id,
        "matched": result.matched,
        "confidence": _rounded(result.best_score),
        "results": [hit_json(h) for h in result.hits],
        "nearest": [ref_json(r) for r in result.nearest],
    }


def error_json(question_id: Any, error: str) -> dict[str, Any]:
    return {"id": question_id, "error": error}


def json_line(record: dict[str, Any]) -> str:
    """One line of JSON. A lone surrogate (possible in an echoed id) is written as its JSON
    escape, so the line always encodes and parses back to the same value."""
    text = json.dumps(record, ensure_ascii=False)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
