"""Who the client is, behind proxies: the rightmost ``X-Forwarded-For`` hop that is not
one of ``TRUSTED_PROXIES``.

Each proxy appends the address it was connected from, so reading the header from the
right, past our own proxies, the first other address is the one the last of them saw:
the client. Whatever stands left of it the client may have written itself. A peer that
is not a trusted proxy is the client, whatever header it sends. The app does this itself
(uvicorn's proxy handling is off in ``ticketing serve``), so every way of running it
(uvicorn, the embedded gateway, tests in-process) counts the same client.

A throttle counts an IPv6 client by its /64: one subscriber's prefix, which its holder
may fill with as many addresses as it likes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.requests import Request
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

IPV6_PREFIX = 64


def resolve_forwarded_client(app: Starlette, trusted_proxies: Sequence[str]) -> None:
    """The app sees (``request.client``, the scheme) what its trusted proxies forwarded:
    uvicorn's middleware, given the setting rather than uvicorn's own default. Added
    last, so it runs first."""
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(trusted_proxies))


def address_key(host: str) -> str:
    """The key a per-address limit counts ``host`` under: an IPv4 address as it is (an
    IPv4-mapped IPv6 one too), an IPv6 address by its /64 network."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False))
    return str(address)


def client_address(request: Request) -> str:
    """The client's address as a per-address limit counts it."""
    return address_key(request.client.host) if request.client else "unknown"
