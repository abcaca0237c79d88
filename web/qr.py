"""Entry codes drawn as QR codes, on the server, as inline SVG: no script on the page."""

from __future__ import annotations

import segno
from markupsafe import Markup


def qr_svg(text: str, *, scale: int = 5) -> Markup:
    """An inline ``<svg>`` of ``text`` (error correction M: readable with a scratch)."""
    code = segno.make_qr(text, error="m")
    svg = code.svg_inline(scale=scale, title="Entry code", svgclass="qr", lineclass=None)
    # segno escapes the title and emits nothing else from the input: safe to embed.
    return Markup(svg)
