"""Article readers: every supported format, and every kind of bad input, as a user meets them."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from index.build import EncodesText, build_index
from index.errors import InputError
from index.ingest.fetch import check_host
from index.ingest.readers import parse_bytes, read_sources
from index.models import ParsedArticle, ReadReport, SourceProblem
from index.text.passages import PassagePlan, make_passages

MAX_BYTES = 100_000

NEWS_TXT = """March 3, 2023
Port authority approves harbour expansion after two-year review
3 min read

RIVERTON — The port authority on Friday approved a plan to deepen the harbour and build a \
second container quay, ending a review that began in 2021.

The expansion will cost about 240 million dollars, according to a statement from the \
authority's chair, Helen Marsh.

"The harbour has to grow or the ships will go elsewhere," Marsh said.

Environmental groups said they would study the decision before deciding whether to appeal.

Leave a Reply

Your email address will not be published. Required fields are marked *

Comment

Name

Save my name, email, and website in this browser for the next time I comment.
"""

ARTICLE_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Council approves new cycle lanes | Riverside Herald</title>
<meta property="og:title" content="Council approves new cycle lanes">
<meta property="og:site_name" content="Riverside Herald">
<meta name="author" content="Ana Ruiz">
<meta property="article:published_time" content="2022-09-14T08:00:00Z">
</head>
<body>
<header><nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav>
</header>
<main><article>
<h1>Council approves new cycle lanes</h1>
<p>The city council voted on Wednesday to build twelve kilometres of protected cycle lanes
along the river, a project that has been debated for more than three years.</p>
<p>Councillor Maria Lopez said the lanes would connect the university campus with the central
station and make commuting safer for thousands of students.</p>
<p>Construction is expected to begin next spring and to cost about 4.5 million euros, paid in
part by a regional transport grant.</p>
<p>Opponents argued that the plan would remove parking spaces used by shop owners, and asked
for a study of its effect on local trade.</p>
</article></main>
<footer><p>Copyright 2022 Riverside Herald. All rights reserved.</p>
<a href="/privacy">Privacy policy</a></footer>
</body>
</html>
"""


def read(
    *sources: Path | str,
    max_bytes: int = MAX_BYTES,
    timeout: float = 5.0,
    allow_private: bool = True,
) -> ReadReport:
    return read_sources(
        [str(s) for s in sources],
        max_bytes=max_bytes,
        timeout=timeout,
        allow_private=allow_private,
    )


def only_article(report: ReadReport) -> ParsedArticle:
    assert report.problems == []
    assert len(report.articles) == 1
    return report.articles[0]


def passage_texts(parsed: ParsedArticle) -> list[str]:
    a = parsed.article
    return [p.text_of(a.text) for p in make_passages(a.id, a.text, parsed.excluded, PassagePlan())]


def excluded_texts(parsed: ParsedArticle) -> list[str]:
    return [parsed.article.text[s.start : s.end] for s in parsed.excluded]


# --- formats -----------------------------------------------------------------------------------


def test_plain_text_news_head_and_footer(tmp_path: Path) -> None:
    path = tmp_path / "harbour.txt"
    path.write_text(NEWS_TXT, encoding="utf-8")
    parsed = only_article(read(path))
    article = parsed.article
    assert article.title == "Port authority approves harbour expansion after two-year review"
    assert article.date == "2023-03-03"
    # The stored text is the file, whole: offsets must index what is on disk.
    assert article.text == NEWS_TXT
    assert article.id == "harbour.txt"

    excluded = excluded_texts(parsed)
    assert "March 3, 2023" in excluded
    assert "3 min read" in excluded
    assert any(e.startswith("Leave a Reply") and e.rstrip().endswith("comment.") for e in excluded)

    body = "\n".join(passage_texts(parsed))
    assert body.startswith("RIVERTON — The port authority")
    assert "Environmental groups said" in body
    for head_or_footer in ("March 3, 2023", "3 min read", "two-year review", "Leave a Reply"):
        assert head_or_footer not in body
    assert "email" not in body


def test_plain_text_with_windows_line_endings(tmp_path: Path) -> None:
    path = tmp_path / "harbour.txt"
    path.write_bytes(NEWS_TXT.replace("\n", "\r\n").encode("utf-8"))
    parsed = only_article(read(path))
    assert parsed.article.date == "2023-03-03"
    assert parsed.article.title.startswith("Port authority approves")
    assert parsed.article.text == NEWS_TXT.replace("\n", "\r\n")
    body = "\n".join(passage_texts(parsed))
    assert "Environmental groups said" in body
    for head_or_footer in ("3 min read", "Leave a Reply", "email"):
        assert head_or_footer not in body


def test_one_line_text_file_is_indexed(tmp_path: Path) -> None:
    (tmp_path / "budget_note.txt").write_text("The council approved the budget on Tuesday\n")
    parsed = only_article(read(tmp_path))
    assert parsed.article.title == "budget note"
    assert passage_texts(parsed) == ["The council approved the budget on Tuesday"]


def test_the_seed_article_reads_as_documented() -> None:
    seed = Path(__file__).resolve().parents[3] / "seeds" / "000_a635d8d7d57b0b11.txt"
    parsed = only_article(read(seed))
    assert parsed.article.date == "2024-07-21"
    assert parsed.article.title == (
        "The United States is attacking Iranian-backed militants along the Iraq-Syria border"
    )
    # The text is the file verbatim, garbling and all: real scraped news looks like this.
    assert parsed.article.text == seed.read_text(encoding="utf-8")
    passages = passage_texts(parsed)
    body = "\n".join(passages)
    assert "Targets were chosen because these facilities" in body
    assert "Leave a Reply" not in body and "2 min read" not in body
    for passage in passages:
        # Edges are words or punctuation attached to words: no bullet, no dash, no quotation
        # mark standing alone.
        assert passage[0] not in "•–" and passage[-1] not in "•–", passage
        assert not passage.startswith("“ ") and not passage.endswith(" “"), passage


def test_markdown_with_front_matter(tmp_path: Path) -> None:
    text = (
        "---\n"
        "title: Harbour reopens after storm\n"
        "date: 2023-04-05\n"
        "source: Coast Gazette\n"
        "url: https://example.org/harbour\n"
        "---\n"
        "The harbour reopened on Tuesday after a week of repairs.\n\n"
        "Fishermen said the new wall held during the spring tides.\n"
    )
    (tmp_path / "harbour.md").write_text(text, encoding="utf-8")
    parsed = only_article(read(tmp_path / "harbour.md"))
    a = parsed.article
    assert (a.title, a.date, a.source, a.url) == (
        "Harbour reopens after storm",
        "2023-04-05",
        "Coast Gazette",
        "https://example.org/harbour",
    )
    assert a.text == text
    assert passage_texts(parsed) == [
        "The harbour reopened on Tuesday after a week of repairs.\n\n"
        "Fishermen said the new wall held during the spring tides."
    ]


def test_markdown_front_matter_with_windows_line_endings(tmp_path: Path) -> None:
    text = "---\r\ntitle: Harbour reopens\r\ndate: 2023-04-05\r\n---\r\nThe harbour reopened.\r\n"
    (tmp_path / "crlf.md").write_bytes(text.encode())
    parsed = only_article(read(tmp_path / "crlf.md"))
    assert (parsed.article.title, parsed.article.date) == ("Harbour reopens", "2023-04-05")
    assert passage_texts(parsed) == ["The harbour reopened."]


def test_markdown_without_front_matter_takes_the_heading_as_title(tmp_path: Path) -> None:
    text = (
        "# Library extends opening hours\n\n"
        "The city library will open until 9 p.m. on weekdays from May.\n\n"
        "The change follows a petition signed by 2,000 residents.\n"
    )
    (tmp_path / "library.md").write_text(text, encoding="utf-8")
    parsed = only_article(read(tmp_path / "library.md"))
    assert parsed.article.title == "Library extends opening hours"
    assert parsed.article.date is None
    assert parsed.article.text == text
    body = "\n".join(passage_texts(parsed))
    assert "# Library" not in body
    assert body.startswith("The city library will open until 9 p.m.")


def test_markdown_with_bad_front_matter_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "bad.md").write_text("---\ntitle: [unclosed\n---\nBody text.\n", encoding="utf-8")
    report = read(tmp_path / "bad.md")
    assert report.articles == []
    assert len(report.problems) == 1
    assert "front matter" in report.problems[0].reason


def test_html_page_via_trafilatura(tmp_path: Path) -> None:
    (tmp_path / "lanes.html").write_text(ARTICLE_HTML, encoding="utf-8")
    parsed = only_article(read(tmp_path / "lanes.html"))
    a = parsed.article
    assert a.title == "Council approves new cycle lanes"
    assert a.date == "2022-09-14T08:00:00+00:00"
    assert a.source == "Riverside Herald"
    assert "Councillor Maria Lopez said the lanes" in a.text
    # Navigation and footer are page furniture, not article text.
    assert "Privacy policy" not in a.text
    assert "Sport" not in a.text
    body = "\n".join(passage_texts(parsed))
    assert body.startswith("The city council voted on Wednesday")
    assert "local trade." in body


def test_json_object_and_list(tmp_path: Path) -> None:
    one = {
        "id": "obj-1",
        "title": "Bridge closes",
        "date": "March 3, 2020",
        "source": "Daily Post",
        "url": "https://example.org/bridge",
        "text": "  The old bridge closed on Monday.\nRepairs will take a year.  ",
    }
    (tmp_path / "one.json").write_text(json.dumps(one), encoding="utf-8")
    many = [
        {"id": "L1", "title": "First", "text": "First text here."},
        {"title": "Second", "text": "Second text here."},
    ]
    (tmp_path / "many.json").write_text(json.dumps(many), encoding="utf-8")

    single = only_article(read(tmp_path / "one.json")).article
    assert single.id == "obj-1"
    assert single.text == one["text"]
    assert single.date == "2020-03-03"
    assert (single.title, single.source, single.url) == (
        "Bridge closes",
        "Daily Post",
        "https://example.org/bridge",
    )

    report = read(tmp_path / "many.json")
    assert report.problems == []
    assert [(p.article.id, p.article.title) for p in report.articles] == [
        ("L1", "First"),
        ("many.json#1", "Second"),
    ]


def test_jsonl_keeps_id_and_text_verbatim(tmp_path: Path) -> None:
    records = [
        {"id": "squad-42", "title": "Spacing", "text": "Exact  text\twith  odd spacing.\n\n"},
        {"id": 7, "title": "Numbered", "text": "Numeric ids become strings."},
    ]
    path = tmp_path / "articles.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    report = read(path)
    assert report.problems == []
    assert [(p.article.id, p.article.text) for p in report.articles] == [
        ("squad-42", "Exact  text\twith  odd spacing.\n\n"),
        ("7", "Numeric ids become strings."),
    ]


def test_folder_is_read_recursively(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "top.txt").write_text("Top story\n\nThe top story is here. It is short.\n")
    (tmp_path / "a" / "b" / "deep.md").write_text("# Deep story\n\nThe deep story is here.\n")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "secret.txt").write_text("Hidden\n\nNot an article.\n")
    report = read(tmp_path)
    assert report.problems == []
    assert sorted(p.article.id for p in report.articles) == ["a/b/deep.md", "top.txt"]
    assert {p.article.title for p in report.articles} == {"Top story", "Deep story"}


def test_unsupported_suffix_is_reported(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("Good story\n\nA good story. It reads well.\n")
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.4 not an article")
    report = read(tmp_path)
    assert [p.article.id for p in report.articles] == ["good.txt"]
    assert report.problems == [
        SourceProblem(str(tmp_path / "report.pdf"), "unsupported file type .pdf, skipped")
    ]
    with pytest.raises(InputError, match=r"unsupported file type \.docx"):
        parse_bytes(b"text", "upload.docx", "upload.docx", "upload.docx")


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file, not text"),
        ("empty.txt", b"", "empty file"),
        ("blank.md", b"  \n\n\t\n", "empty file"),
        ("latin1.txt", "Café au lait\n".encode("latin-1"), "not UTF-8 text"),
        ("bad.json", b'{"id": 1, "text": ', "invalid JSON"),
        ("notext.json", b'{"id": 1, "title": "No body"}', 'no "text" field'),
    ],
)
def test_bad_file_is_a_problem_and_the_rest_is_read(
    tmp_path: Path, name: str, data: bytes, reason: str
) -> None:
    (tmp_path / name).write_bytes(data)
    (tmp_path / "good.txt").write_text("Good story\n\nA good story. It reads well.\n")
    report = read(tmp_path)
    assert [p.article.id for p in report.articles] == ["good.txt"]
    assert len(report.problems) == 1
    problem = report.problems[0]
    assert problem.origin == str(tmp_path / name)
    assert problem.reason.startswith(reason)


def test_too_large_file(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text("Big story\n\n" + "Words go on. " * 100)
    report = read(tmp_path / "big.txt", max_bytes=500)
    assert report.articles == []
    assert len(report.problems) == 1
    assert report.problems[0].reason.startswith("too large (")
    assert "limit 500" in report.problems[0].reason


def test_bad_jsonl_line_leaves_the_other_lines(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text(
        '{"id": "a", "text": "First article text."}\n'
        "{this is not json\n"
        "\n"
        '{"id": "c", "title": "no text"}\n'
        '{"id": "d", "text": "Fourth article text."}\n',
        encoding="utf-8",
    )
    report = read(path)
    assert [p.article.id for p in report.articles] == ["a", "d"]
    assert [(p.origin, p.reason.split(" (")[0]) for p in report.problems] == [
        (f"{path} line 2", "invalid JSON"),
        (f"{path} line 4", 'no "text" field, or it is empty'),
    ]


def test_missing_path_is_a_problem(tmp_path: Path) -> None:
    report = read(tmp_path / "nowhere")
    assert report.problems == [SourceProblem(str(tmp_path / "nowhere"), "no such file or folder")]


def test_bad_inputs_do_not_stop_a_build(tmp_path: Path, hash_embedder: EncodesText) -> None:
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "good.txt").write_text("Good story\n\nA good story. It reads well.\n")
    (sources / "binary.txt").write_bytes(b"\x00\x01\x02\x03")
    (sources / "empty.md").write_bytes(b"")
    report = read(sources)
    build = build_index(
        tmp_path / "data",
        report.articles,
        hash_embedder,
        PassagePlan(),
        problems=report.problems,
    )
    assert build.articles == 1
    assert build.passages >= 1
    assert sorted(Path(p.origin).name for p in build.problems) == ["binary.txt", "empty.md"]


# --- URLs --------------------------------------------------------------------------------------


class _Pages(BaseHTTPRequestHandler):
    pages: ClassVar[dict[str, tuple[str, bytes]]] = {}

    def do_GET(self) -> None:
        page = self.pages.get(self.path)
        if page is None:
            self.send_error(404, "Not Found")
            return
        content_type, body = page
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        # Keep the test output free of access-log lines.
        pass


@pytest.fixture
def web_server() -> Iterator[str]:
    """A local site on 127.0.0.1 serving a few article pages; yields its base URL."""
    handler = type(
        "Pages",
        (_Pages,),
        {
            "pages": {
                "/lanes.html": ("text/html; charset=utf-8", ARTICLE_HTML.encode()),
                "/harbour.txt": ("text/plain; charset=utf-8", NEWS_TXT.encode()),
                "/storm.md": (
                    "text/markdown",
                    b"---\ntitle: Storm passes\ndate: 2024-01-02\n---\n"
                    b"The storm passed overnight. Nobody was hurt.\n",
                ),
                "/report.pdf": ("application/pdf", b"%PDF-1.4 a report, not an article"),
                "/latin1.txt": (
                    "text/plain; charset=iso-8859-1",
                    "Café reopens\n\nThe café on the quay reopened. Crème brûlée is back.\n".encode(
                        "latin-1"
                    ),
                ),
                "/mislabelled.txt": (
                    # A common misconfiguration: UTF-8 bytes served as ISO-8859-1.
                    "text/plain; charset=iso-8859-1",
                    "Café reopens\n\nThe café on the quay reopened. It is busy.\n".encode(),
                ),
            }
        },
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # A short poll interval: shutdown() waits for it, at every test's teardown.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_url_is_fetched_when_private_addresses_are_allowed(web_server: str) -> None:
    url = f"{web_server}/lanes.html"
    parsed = only_article(read(url, allow_private=True))
    assert parsed.article.id == url
    assert parsed.article.url == url
    assert parsed.article.title == "Council approves new cycle lanes"
    assert "Councillor Maria Lopez" in parsed.article.text


def test_plain_text_url_gets_its_head_recognised(web_server: str) -> None:
    parsed = only_article(read(f"{web_server}/harbour.txt", allow_private=True))
    assert parsed.article.date == "2023-03-03"
    assert parsed.article.title.startswith("Port authority approves")
    assert parsed.article.text == NEWS_TXT


def test_markdown_url_gets_its_front_matter_read(web_server: str) -> None:
    parsed = only_article(read(f"{web_server}/storm.md", allow_private=True))
    assert parsed.article.title == "Storm passes"
    assert parsed.article.date == "2024-01-02"
    assert parsed.article.url == f"{web_server}/storm.md"
    assert passage_texts(parsed) == ["The storm passed overnight. Nobody was hurt."]


def test_declared_charset_of_a_page(web_server: str) -> None:
    latin = only_article(read(f"{web_server}/latin1.txt")).article
    assert latin.title == "Café reopens"
    assert "Crème brûlée is back." in latin.text
    # UTF-8 wins when the bytes are UTF-8, whatever the header claims.
    utf8 = only_article(read(f"{web_server}/mislabelled.txt")).article
    assert utf8.title == "Café reopens"


def test_url_problems(web_server: str) -> None:
    report = read(f"{web_server}/missing.html", f"{web_server}/report.pdf", allow_private=True)
    assert report.articles == []
    reasons = [p.reason for p in report.problems]
    assert reasons[0].startswith("the server answered 404")
    assert reasons[1] == "not an article page (application/pdf)"


def test_loopback_url_refused_unless_private_allowed(web_server: str) -> None:
    url = f"{web_server}/lanes.html"
    report = read(url, allow_private=False)
    assert report.articles == []
    assert report.problems == [
        SourceProblem(url, "refused, 127.0.0.1 is a private or local address")
    ]


def test_too_large_page(web_server: str) -> None:
    report = read(f"{web_server}/lanes.html", max_bytes=200, allow_private=True)
    assert report.articles == []
    assert report.problems[0].reason.startswith("too large (")


def test_unreachable_url(tmp_path: Path) -> None:
    # A port that was just free and is closed again: the connection is refused at once.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/article.html"
    (tmp_path / "good.txt").write_text("Good story\n\nA good story. It reads well.\n")
    report = read(url, tmp_path, allow_private=True)
    assert [p.article.id for p in report.articles] == ["good.txt"]
    assert len(report.problems) == 1
    assert report.problems[0].origin == url
    assert report.problems[0].reason.startswith("unreachable (")


def test_only_http_links_are_fetched() -> None:
    with pytest.raises(InputError, match="only http and https"):
        check_host("ftp://example.org/article.txt", allow_private=True)


def _resolver(monkeypatch: pytest.MonkeyPatch, answers: list[str]) -> list[tuple[str, object]]:
    """Make every name resolve to the next of `answers` (the last one repeats), the way a
    hostile DNS server that changes its answer between lookups would."""
    asked: list[tuple[str, object]] = []
    real = socket.getaddrinfo

    def lookup(host: str, port: object, *args: object, **kwargs: object) -> object:
        if host == "127.0.0.1":
            return real(host, port, *args, **kwargs)  # type: ignore[arg-type]
        asked.append((host, port))
        address = answers[min(len(asked), len(answers)) - 1]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    return asked


def test_a_name_that_turns_private_after_the_check_is_refused(
    web_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = web_server.rsplit(":", 1)[1]
    # Public when checked, loopback when connecting: DNS rebinding.
    asked = _resolver(monkeypatch, ["93.184.216.34", "127.0.0.1"])
    url = f"http://news.example:{port}/lanes.html"
    report = read(url, allow_private=False)
    assert report.articles == []
    assert report.problems == [
        SourceProblem(url, "refused, news.example is a private or local address")
    ]
    assert len(asked) == 2


def test_the_connection_goes_to_the_address_that_was_checked(
    web_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = web_server.rsplit(":", 1)[1]
    _resolver(monkeypatch, ["127.0.0.1"])
    # Loopback stands in for a public address here: nothing else is reachable in tests.
    monkeypatch.setattr("index.ingest.fetch._is_public", lambda address: address == "127.0.0.1")
    url = f"http://news.example:{port}/lanes.html"
    parsed = only_article(read(url, allow_private=False))
    assert parsed.article.title == "Council approves new cycle lanes"
