"""Per-RPC facts shared between the interceptors and the translating handler."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass
class RpcRecord:
    """What one RPC did; filled in while it runs, read by the access log."""

    request_id: str
    peer: str = ""
    rpc: str = ""
    """The full method name, `/package.Service/Method`."""
    upstream_status: int | None = None
    """HTTP status of Telnyx's final answer, 0 when no answer came, None when no request was sent."""
    upstream_attempts: int = 0


current_rpc: ContextVar[RpcRecord | None] = ContextVar("voicesvc_current_rpc", default=None)
