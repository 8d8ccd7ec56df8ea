"""Article dates for people: relative and absolute, "3 days ago · 2024-07-21"."""

from __future__ import annotations

from datetime import UTC, datetime


def date_label(iso: str | None, now: datetime | None = None) -> str | None:
    """The stored ISO date as "<how long ago> · <day>"; the stored text when it is not ISO
    8601 (an index built before dates were normalised); None without a date."""
    if not iso or not iso.strip():
        return None
    try:
        moment = datetime.fromisoformat(iso.strip())
    except ValueError:
        return iso.strip()
    timed = "T" in iso
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    clock = now or datetime.now(UTC)
    return f"{_ago(aware, clock, timed)} · {moment:%Y-%m-%d}"


def _ago(moment: datetime, now: datetime, timed: bool) -> str:
    if timed:
        seconds = (now - moment).total_seconds()
        if 0 <= seconds < 3600:
            return "just now" if seconds < 120 else f"{int(seconds // 60)} minutes ago"
        if 0 <= seconds < 86_400:
            hours = int(seconds // 3600)
            return f"{hours} hour{'s' if hours > 1 else ''} ago"
    days = (now.astimezone(UTC).date() - moment.astimezone(UTC).date()).days
    if days < 0:
        return "upcoming"
    if days == 0:
        return "today"
    if days == 1:
        return "yesterday"
    if days < 14:
        return f"{days} days ago"
    count, unit = (days // 7, "week") if days < 60 else (days // 30, "month")
    if days >= 365:
        count, unit = days // 365, "year"
    return f"{count} {unit}{'s' if count > 1 else ''} ago"
