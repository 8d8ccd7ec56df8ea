"""Property tests: whatever bytes a file holds, every reader gives articles that are safe to
store, or refuses the file with an `InputError`; no other exception escapes.

Bounded to a few seconds; `make fuzz` (bench/fuzz_readers.py) runs thousands of files.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.errors import InputError
from index.ingest.fetch import Fetched
from index.ingest.readers import SUPPORTED_SUFFIXES, parse_bytes, parse_fetched
from index.models import ParsedArticle
from tests.unit.ingest.hostile import BODY, alias_bomb

# Pieces that have broken readers, or are parsed specially, spliced at random.
FRAGMENTS = [
    "---\n",
    "---\r\n",
    "title: ",
    "date: 2024-13-45\n",
    "id: " + "9" * 4400 + "\n",
    "a: &a [x, x]\nb: [*a, *a]\n",
    "<<: *a\n",
    "# ",
    " " * 3000,
    "\t#  #",
    "[" * 2000,
    "{" * 2000,
    '{"text": "',
    '"}\n',
    '"id": ',
    "\\ud800",
    "\\udfff",
    "\ufeff",
    "\r\n",
    "\n\n",
    "<html><body><article><p>",
    "</p></article></body></html>",
    "<div>" * 300,
    "<script>",
    "&amp;&#xD800;&#0;",
    "June 28, 2021\n",
    "3 min read\n",
    "Leave a Reply\n",
    "By Ana Ruiz | Staff\n",
    BODY,
]

texts = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=40)), max_size=25).map(
    "".join
)
encoded = st.builds(
    lambda text, how: text.encode("utf-8", "surrogatepass") if how else text.encode("utf-16"),
    texts,
    st.booleans(),
)
raw = st.binary(max_size=600)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
records = st.fixed_dictionaries(
    {"text": st.one_of(st.just(BODY), texts)},
    optional={"id": json_values, "title": json_values, "date": json_values, "url": json_values},
)
json_files = st.one_of(
    records.map(json.dumps),
    st.lists(records, max_size=4).map(json.dumps),
    st.lists(st.one_of(records.map(json.dumps), texts), max_size=6).map("\n".join),
).map(lambda s: s.encode("utf-8", "surrogatepass"))
hostile_bytes = st.one_of(encoded, raw, json_files, st.just(alias_bomb()))


def check_storable(parsed: ParsedArticle) -> None:
    a = parsed.article
    for value in (a.id, a.title, a.text, a.date, a.source, a.url, parsed.origin):
        if value is not None:
            value.encode("utf-8")  # SQLite and UTF-8 output refuse lone surrogates
    assert a.text.strip()
    for span in parsed.excluded:
        assert 0 <= span.start <= span.end <= len(a.text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=hostile_bytes, suffix=st.sampled_from(SUPPORTED_SUFFIXES))
def test_any_bytes_give_storable_articles_or_a_refusal(data: bytes, suffix: str) -> None:
    name = f"fuzz{suffix}"
    try:
        articles, problems = parse_bytes(data, name, name, name, max_article_bytes=10_000)
    except InputError as exc:
        assert str(exc).startswith(f"{name}: ")
        return
    for parsed in articles:
        check_storable(parsed)
    for problem in problems:
        assert problem.origin.startswith(name) and problem.reason


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=hostile_bytes,
    content_type=st.sampled_from(["text/html", "text/plain", "text/markdown"]),
    charset=st.sampled_from([None, "utf-8", "windows-1252", "no-such-charset"]),
)
def test_any_fetched_page_gives_a_storable_article_or_a_refusal(
    data: bytes, content_type: str, charset: str | None
) -> None:
    url = "https://example.org/a"
    try:
        parsed = parse_fetched(Fetched(url, data, content_type, charset), url, "shared")
    except InputError as exc:
        assert str(exc).startswith(f"{url}: ")
        return
    check_storable(parsed)
