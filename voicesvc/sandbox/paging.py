"""`page[number]` / `page[size]` handling and the list envelope's `meta`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from voicesvc.sandbox.errors import BAD_REQUEST, ApiError, error_object
from voicesvc.transcode.paging import MAX_PAGE_SIZE
from voicesvc.transcode.pointer import join

DEFAULT_PAGE_SIZE = 20


@dataclass(frozen=True)
class Page:
    """A requested page: 1-based number and size."""

    number: int = 1
    size: int = DEFAULT_PAGE_SIZE


def _page_value(query: Mapping[str, str], name: str, default: int, maximum: int | None) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1 or (maximum is not None and value > maximum):
        limit = f" and at most {maximum}" if maximum is not None else ""
        raise ApiError(
            422,
            [
                error_object(
                    BAD_REQUEST,
                    "Invalid value",
                    f"{name} must be an integer of at least 1{limit}.",
                    pointer=join(name),
                    parameter=name,
                )
            ],
        )
    return value


def parse_page(query: Mapping[str, str]) -> Page:
    """Read the page parameters from a query mapping; 422 for non-positive or oversized values."""
    return Page(
        number=_page_value(query, "page[number]", 1, None),
        size=_page_value(query, "page[size]", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
    )


def paginate(items: Sequence[dict[str, Any]], page: Page) -> dict[str, Any]:
    """The list envelope (`data` + `meta`) for one page of `items`; an empty list has one page."""
    total = len(items)
    start = (page.number - 1) * page.size
    return {
        "data": list(items[start : start + page.size]),
        "meta": {
            "page_number": page.number,
            "page_size": page.size,
            "total_pages": max(1, math.ceil(total / page.size)),
            "total_results": total,
        },
    }
