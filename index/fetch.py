"""Fetch an article URL with size and time limits, refusing private addresses unless allowed."""

from __future__ import annotations

import ipaddress
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

from index.errors import InputError

_USER_AGENT = "articlebot/0.1 (+https://github.com/articlebot)"


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str
    body: bytes
    content_type: str
    charset: str | None = None


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def check_host(url: str, allow_private: bool) -> None:
    """Refuse a URL whose host resolves to a private, loopback or link-local address."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise InputError(f"{url}: only http and https links can be added")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise InputError(f"{url}: cannot resolve {parts.hostname} ({exc.strerror})") from None
    for info in infos:
        if not _is_public(str(info[4][0])):
            raise InputError(f"{url}: refused, {parts.hostname} is a private or local address")


class _GuardedRedirects(urllib.request.HTTPRedirectHandler):
    """Re-checks every redirect target, so a public URL cannot bounce to a private one."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        check_host(newurl, self.allow_private)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch_url(url: str, *, max_bytes: int, timeout: float, allow_private: bool) -> Fetched:
    """Download `url`; blocking, so callers on an event loop run it in a thread."""
    check_host(url, allow_private)
    opener = urllib.request.build_opener(_GuardedRedirects(allow_private))
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    try:
        with opener.open(request, timeout=timeout) as response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise InputError(f"{url}: too large ({int(declared)} bytes, limit {max_bytes})")
            body = response.read(max_bytes + 1)
            if len(body) > max_bytes:
                raise InputError(f"{url}: too large (over {max_bytes} bytes)")
            return Fetched(
                url=response.geturl(),
                body=body,
                content_type=response.headers.get_content_type(),
                charset=response.headers.get_content_charset(),
            )
    except urllib.error.HTTPError as exc:
        raise InputError(f"{url}: the server answered {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise InputError(f"{url}: unreachable ({exc.reason})") from None
    except TimeoutError:
        raise InputError(f"{url}: no answer within {timeout:g} s") from None
    except OSError as exc:
        raise InputError(f"{url}: unreachable ({exc})") from None
