"""REST layer: the pooled Telnyx HTTP client, its retry policy, its exceptions and Telnyx's error envelope.

Nothing here knows gRPC; `voicesvc.server.status` turns these exceptions into statuses.
"""

from voicesvc.rest.client import ResponseHook, RestResponse, TelnyxClient
from voicesvc.rest.exceptions import (
    RestError,
    TelnyxAPIError,
    UpstreamDeadlineExceeded,
    UpstreamProtocolError,
    UpstreamUnavailable,
)
from voicesvc.rest.limits import ConnectionLimits
from voicesvc.rest.request import RestRequest
from voicesvc.rest.retry import RetryMode, RetryPolicy, parse_retry_after, retry_mode_for

__all__ = [
    "ConnectionLimits",
    "ResponseHook",
    "RestError",
    "RestRequest",
    "RestResponse",
    "RetryMode",
    "RetryPolicy",
    "TelnyxAPIError",
    "TelnyxClient",
    "UpstreamDeadlineExceeded",
    "UpstreamProtocolError",
    "UpstreamUnavailable",
    "parse_retry_after",
    "retry_mode_for",
]
