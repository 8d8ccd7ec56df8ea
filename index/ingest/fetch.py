"""Fetch an article URL with size and time limits, refusing private addresses unless allowed.

A fetch may be conditional: given the validators (ETag, Last-Modified) of an earlier answer,
a server that has nothing new answers 304 and no body crosses the network.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from index.errors import InputError

_USER_AGENT = "articlebot/0.1 (+https://github.com/articlebot)"


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str
    body: bytes
    content_type: str
    charset: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False


# IPv6 forms that carry an IPv4 address a gateway will deliver to: NAT64 (RFC 6052) and 6to4.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IP = ipaddress.IPv4Address | ipaddress.IPv6Address


def _is_global(ip: _IP) -> bool:
    """Globally routable. Neither flag suffices alone: `is_global` holds for multicast
    (224.0.0.0/4, ff0e::/16), and shared address space (100.64.0.0/10) is not `is_private`."""
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        # A mapped or NAT64 address is the IPv4 address inside it, whatever the prefix says.
        if ip.ipv4_mapped is not None:
            return _is_global(ip.ipv4_mapped)
        if ip in _NAT64:
            return _is_global(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip.sixtofour is not None and not _is_global(ip.sixtofour):
            return False
    return _is_global(ip)


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


class PrivateAddressError(OSError):
    """A connection was about to be made to a private, loopback or link-local address."""

    def __init__(self, host: str) -> None:
        super().__init__(f"{host} is a private or local address")
        self.host = host


def _connect_public(
    address: tuple[str, int],
    timeout: float | None = None,
    source_address: tuple[str, int] | None = None,
) -> socket.socket:
    """Resolve once, check every address, then connect to one of the checked addresses.

    Checking a name and letting the connection resolve it again would let a name that
    changes its answer in between (DNS rebinding) reach an internal address.
    """
    host, port = address
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    if any(not _is_public(str(info[4][0])) for info in infos):
        raise PrivateAddressError(host)
    error: OSError | None = None
    for info in infos:
        try:
            return socket.create_connection((str(info[4][0]), port), timeout, source_address)
        except OSError as exc:
            error = exc
    raise error or OSError(f"cannot connect to {host}")


class _PublicHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _connect_public


class _PublicHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _connect_public


class _PublicHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_PublicHTTPConnection, req)


class _PublicHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_PublicHTTPSConnection, req)


class _GuardedRedirects(urllib.request.HTTPRedirectHandler):
    """Re-checks every redirect target, so a public URL cannot bounce to a private one."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        check_host(newurl, self.allow_private)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch_url(
    url: str,
    *,
    max_bytes: int,
    timeout: float,
    allow_private: bool,
    etag: str | None = None,
    last_modified: str | None = None,
) -> Fetched:
    """Download `url`; blocking, so callers on an event loop run it in a thread.

    `timeout` bounds each network wait and the whole download alike: a server dripping a byte
    at a time cannot hold the caller for longer. With `etag` or `last_modified` the request is
    conditional, and a 304 answer comes back as `not_modified` with an empty body.
    """
    check_host(url, allow_private)
    handlers: list[urllib.request.BaseHandler] = [_GuardedRedirects(allow_private)]
    # Through a proxy the proxy connects, so only the up-front checks apply.
    if not allow_private and not urllib.request.getproxies():
        handlers += [_PublicHTTPHandler(), _PublicHTTPSHandler()]
    opener = urllib.request.build_opener(*handlers)
    headers = {"User-Agent": _USER_AGENT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    request = urllib.request.Request(url, headers=headers)
    deadline = time.monotonic() + timeout
    try:
        with opener.open(request, timeout=timeout) as response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise InputError(f"{url}: too large ({int(declared)} bytes, limit {max_bytes})")
            body = _read_within(response, max_bytes, deadline, url, timeout)
            return Fetched(
                url=response.geturl(),
                body=body,
                content_type=response.headers.get_content_type(),
                charset=response.headers.get_content_charset(),
                etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
            )
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return Fetched(
                url=url,
                body=b"",
                content_type="",
                etag=exc.headers.get("ETag") or etag,
                last_modified=exc.headers.get("Last-Modified") or last_modified,
                not_modified=True,
            )
        raise InputError(f"{url}: the server answered {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, PrivateAddressError):
            raise InputError(f"{url}: refused, {exc.reason}") from None
        if isinstance(exc.reason, TimeoutError):
            raise InputError(f"{url}: no answer within {timeout:g} s") from None
        raise InputError(f"{url}: unreachable ({exc.reason})") from None
    except TimeoutError:
        raise InputError(f"{url}: no answer within {timeout:g} s") from None
    except OSError as exc:
        raise InputError(f"{url}: unreachable ({exc})") from None


def _read_within(
    response: http.client.HTTPResponse, max_bytes: int, deadline: float, url: str, timeout: float
) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = response.read1(65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise InputError(f"{url}: too large (over {max_bytes} bytes)")
        if time.monotonic() > deadline:
            raise InputError(f"{url}: no complete answer within {timeout:g} s")
        chunks.append(chunk)
