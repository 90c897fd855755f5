"""AIP-158 page tokens over Telnyx's `page[number]`: the token is opaque to callers."""

from __future__ import annotations

import base64
import binascii
import json

MAX_PAGE_SIZE = 250


class PageTokenError(ValueError):
    """The page token was not issued by this service."""


def encode_page_token(page_number: int) -> str:
    """The opaque page token for a Telnyx page number."""
    raw = json.dumps({"p": page_number}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str) -> int:
    """The page number a token stands for; raises PageTokenError for anything else."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        page = json.loads(raw)["p"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise PageTokenError("page_token is not a token this service issued") from exc
    if not isinstance(page, int) or isinstance(page, bool) or page < 1:
        raise PageTokenError("page_token is not a token this service issued")
    return page
