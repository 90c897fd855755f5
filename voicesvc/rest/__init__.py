"""REST layer: the pooled Telnyx HTTP client, its retry policy, and REST-error → gRPC-status mapping."""

from voicesvc.rest.client import ResponseHook, RestResponse, TelnyxClient
from voicesvc.rest.errors import (
    CALL_STATE_ERROR_CODES,
    TELNYX_ERROR_DOMAIN,
    invalid_argument_status,
    pointer_to_field_path,
    status_for_http,
    to_grpc_status,
)
from voicesvc.rest.exceptions import (
    RestError,
    TelnyxAPIError,
    UpstreamDeadlineExceeded,
    UpstreamProtocolError,
    UpstreamUnavailable,
)
from voicesvc.rest.request import RestRequest
from voicesvc.rest.retry import RetryMode, RetryPolicy, parse_retry_after, retry_mode_for

__all__ = [
    "CALL_STATE_ERROR_CODES",
    "TELNYX_ERROR_DOMAIN",
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
    "invalid_argument_status",
    "parse_retry_after",
    "pointer_to_field_path",
    "retry_mode_for",
    "status_for_http",
    "to_grpc_status",
]
