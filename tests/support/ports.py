"""Free ports for the servers the tests start."""

from __future__ import annotations

import port_for

_handed_out: set[int] = set()


def free_port() -> int:
    """A port nobody listens on, and not one already handed to a server not yet started."""
    port = port_for.select_random(exclude_ports=_handed_out)
    _handed_out.add(port)
    return port
