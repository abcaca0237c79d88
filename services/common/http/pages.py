"""A list answered a page at a time: ``limit`` and ``offset`` in the query, and a
``Link: <...>; rel="next"`` header while there is more (RFC 8288). A client that asks
without them gets the first page, which holds everything for all but the largest lists."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Response

MAX_PAGE = 200
# Beyond any list; keeps the number within what every database can bind.
MAX_OFFSET = 1_000_000_000


class Page:
    def __init__(
        self,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ) -> None:
        self.limit = limit
        self.offset = offset

    def rows_to_read(self) -> int:
        """One more than the page: whether it is there says if there is a next page."""
        return self.limit + 1

    def link_next(self, response: Response, path: str, rows: int) -> None:
        if rows > self.limit:
            response.headers["Link"] = (
                f'<{path}?limit={self.limit}&offset={self.offset + self.limit}>; rel="next"'
            )


PageDep = Annotated[Page, Depends()]
