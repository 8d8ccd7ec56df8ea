"""The URL guard: only globally routable addresses pass, at the check and at the connection."""

from __future__ import annotations

import pytest

from index.errors import InputError
from index.ingest.fetch import PrivateAddressError, _connect_public, check_host

REFUSED = {
    "loopback": "127.0.0.1",
    "loopback, elsewhere in 127/8": "127.8.9.10",
    "private 10/8": "10.1.2.3",
    "private 172.16/12": "172.20.0.5",
    "private 192.168/16": "192.168.1.1",
    "link-local 169.254/16 (cloud metadata)": "169.254.169.254",
    "shared address space (CGNAT) 100.64/10": "100.64.0.1",
    "shared address space, its top": "100.127.255.254",
    "unspecified 0.0.0.0": "0.0.0.0",
    "this network 0/8": "0.1.2.3",
    "multicast 224/4": "224.0.0.251",
    "reserved 240/4": "240.0.0.1",
    "broadcast": "255.255.255.255",
    "benchmarking 198.18/15": "198.18.0.1",
    "documentation 192.0.2/24": "192.0.2.10",
    "IETF protocol assignments 192.0.0/24": "192.0.0.1",
    "IPv6 loopback ::1": "::1",
    "IPv6 unspecified ::": "::",
    "IPv6 unique local fc00::/7": "fd12:3456:789a::1",
    "IPv6 unique local, fc half": "fc00::1",
    "IPv6 link-local fe80::/10": "fe80::1",
    "IPv6 multicast ff00::/8": "ff02::1",
    "IPv6 documentation 2001:db8::/32": "2001:db8::1",
    "IPv4-mapped private": "::ffff:10.0.0.1",
    "IPv4-mapped loopback": "::ffff:127.0.0.1",
    "IPv4-mapped shared address space": "::ffff:100.64.0.1",
    "NAT64 of a private address": "64:ff9b::a00:1",
    "NAT64 of loopback": "64:ff9b::7f00:1",
    "6to4 of a private address": "2002:c0a8:101::1",
    "6to4 of loopback": "2002:7f00:1::1",
    "Teredo": "2001:0:4136:e378:8000:63bf:3fff:fdd2",
}

ALLOWED = {
    "public IPv4": "93.184.215.14",
    "public IPv6": "2606:4700:4700::1111",
    "IPv4-mapped public": "::ffff:93.184.215.14",
    "NAT64 of a public address": "64:ff9b::5db8:d70e",
    "6to4 of a public address": "2002:5db8:d70e::1",
}


def _url(address: str) -> str:
    return f"http://[{address}]/a" if ":" in address else f"http://{address}/a"


@pytest.mark.parametrize("address", REFUSED.values(), ids=REFUSED.keys())
def test_refused_at_the_check(address: str) -> None:
    with pytest.raises(InputError, match="refused"):
        check_host(_url(address), allow_private=False)


@pytest.mark.parametrize("address", REFUSED.values(), ids=REFUSED.keys())
def test_refused_at_the_pinned_connection(address: str) -> None:
    # The connection resolves once and checks before connecting: nothing is dialled here.
    with pytest.raises(PrivateAddressError):
        _connect_public((address, 80), timeout=1)


@pytest.mark.parametrize("address", ALLOWED.values(), ids=ALLOWED.keys())
def test_globally_routable_addresses_pass_the_check(address: str) -> None:
    check_host(_url(address), allow_private=False)


@pytest.mark.parametrize("address", REFUSED.values(), ids=REFUSED.keys())
def test_allow_private_lets_every_range_through(address: str) -> None:
    check_host(_url(address), allow_private=True)
