"""One spelling per article URL, so the same story reached by different links is seen once.

Tracking parameters (campaign tags, click ids), the fragment and default ports are dropped and
the host is lower-cased; a page's own `<link rel="canonical">` wins over the link that led to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

# Parameters that say who sent the reader, never which article it is.
_TRACKING_PREFIXES = ("utm_", "mtm_", "pk_", "ga_")
_TRACKING_NAMES = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "ref_src",
        "cmpid",
        "ncid",
        "sr_share",
        "at_medium",
        "at_campaign",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str) -> str:
    """`url` without tracking parameters, fragment or default port, host in lower case."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    if parts.username:
        # Credentials in a link are kept: they change what the server answers.
        auth = parts.username + (f":{parts.password}" if parts.password else "")
        netloc = f"{auth}@{netloc}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith(_TRACKING_PREFIXES) and k.lower() not in _TRACKING_NAMES
    ]
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, urlencode(query, doseq=True), ""))


@dataclass(frozen=True, slots=True)
class HeadLink:
    rel: frozenset[str]
    type: str
    href: str
    title: str


class _LinkParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[HeadLink] = []
        self.in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # Links in the body are not the page's own metadata.
        self.in_body = self.in_body or tag == "body"
        if tag != "link" or self.in_body:
            return
        values = {k.lower(): (v or "") for k, v in attrs}
        href = values.get("href", "").strip()
        if href:
            self.links.append(
                HeadLink(
                    rel=frozenset(values.get("rel", "").lower().split()),
                    type=values.get("type", "").split(";")[0].strip().lower(),
                    href=href,
                    title=values.get("title", "").strip(),
                )
            )


def head_links(html: str, base_url: str) -> list[HeadLink]:
    """The page's `<link>` elements, hrefs made absolute against `base_url`."""
    parser = _LinkParser()
    # The head is at the top; a huge page's body is not worth parsing for it.
    parser.feed(html[:200_000])
    return [
        HeadLink(link.rel, link.type, urljoin(base_url, link.href), link.title)
        for link in parser.links
    ]


def page_canonical(html: str, fetched_url: str) -> str:
    """The canonical spelling of a fetched page: its `rel=canonical` link when it names an
    http(s) URL, else the URL it was fetched from."""
    for link in head_links(html, fetched_url):
        if "canonical" in link.rel and urlsplit(link.href).scheme in ("http", "https"):
            return canonical_url(link.href)
    return canonical_url(fetched_url)
