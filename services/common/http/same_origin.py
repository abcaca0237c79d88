"""Whether a browser says a request comes from a page of our own origin (by
``Sec-Fetch-Site`` and ``Origin``, which pages cannot forge): the rule the services apply
to cookie-signed writes, and the web shop to every form it accepts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit


def from_our_origin(headers: Mapping[str, str], allowed_origins: Sequence[str] = ()) -> bool:
    """Our own origin (the ``Host`` asked) or one of ``allowed_origins``; a same-site
    sibling is another origin. A request with neither header is no browser's, or a
    browser older than both: it passes (the web shop then goes by its token alone)."""
    site = headers.get("sec-fetch-site")
    if site in ("same-origin", "none"):  # "none": the user's own doing (typed, bookmarked)
        return True
    origin = headers.get("origin")
    if origin is not None:
        origin = origin.strip().rstrip("/").lower()
        if origin in allowed_origins:
            return True
        # A browser without Sec-Fetch-Site: its Origin against the host it asked.
        host = headers.get("host", "").lower()
        return origin != "null" and site is None and bool(host) and urlsplit(origin).netloc == host
    # Cross-site or same-site by Sec-Fetch-Site, without an Origin to allow it by.
    return site is None
