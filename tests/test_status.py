"""Every gRPC status the service builds: REST failures with rich details, local validation, size budgets."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from voicesvc.rest import (
    RestError,
    TelnyxAPIError,
    UpstreamDeadlineExceeded,
    UpstreamProtocolError,
    UpstreamUnavailable,
)
from voicesvc.server.status import (
    CALL_STATE_ERROR_CODES,
    invalid_argument_status,
    rest_error_status,
    status_for_http,
)

DETAIL_TYPES = {
    "ErrorInfo": error_details_pb2.ErrorInfo,
    "BadRequest": error_details_pb2.BadRequest,
    "RetryInfo": error_details_pb2.RetryInfo,
    "DebugInfo": error_details_pb2.DebugInfo,
}


def unpack(status: grpc.Status) -> tuple[status_pb2.Status, dict[str, list[Any]]]:
    """Decode the grpc-status-details-bin trailer into the Status proto and its details by type name."""
    metadata = dict(status.trailing_metadata)
    proto = status_pb2.Status.FromString(metadata["grpc-status-details-bin"])
    by_type: dict[str, list[Any]] = {}
    for packed in proto.details:
        name = packed.TypeName().rsplit(".", 1)[-1]
        message = DETAIL_TYPES[name]()
        assert packed.Unpack(message)
        by_type.setdefault(name, []).append(message)
    return proto, by_type


# --- HTTP status → gRPC code -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("http", "errors", "expected"),
    [
        (400, [{"code": "10015", "title": "Invalid value"}], grpc.StatusCode.INVALID_ARGUMENT),
        (422, [{"code": "10015", "title": "Invalid value"}], grpc.StatusCode.INVALID_ARGUMENT),
        (422, [{"code": "90018", "title": "Call has already ended"}], grpc.StatusCode.FAILED_PRECONDITION),
        (400, [{"code": "90034", "title": "Not in a state"}], grpc.StatusCode.FAILED_PRECONDITION),
        (422, [{"code": 90034}], grpc.StatusCode.FAILED_PRECONDITION),
        (422, [{"code": "10015"}, {"code": "90018"}], grpc.StatusCode.FAILED_PRECONDITION),
        (401, [], grpc.StatusCode.UNAUTHENTICATED),
        (403, [], grpc.StatusCode.PERMISSION_DENIED),
        (404, [], grpc.StatusCode.NOT_FOUND),
        (404, [{"code": "90018"}], grpc.StatusCode.NOT_FOUND),
        (409, [], grpc.StatusCode.ABORTED),
        (429, [], grpc.StatusCode.RESOURCE_EXHAUSTED),
        (402, [], grpc.StatusCode.FAILED_PRECONDITION),
        (408, [], grpc.StatusCode.FAILED_PRECONDITION),
        (410, [], grpc.StatusCode.FAILED_PRECONDITION),
        (500, [], grpc.StatusCode.UNAVAILABLE),
        (502, [], grpc.StatusCode.UNAVAILABLE),
        (503, [], grpc.StatusCode.UNAVAILABLE),
        (504, [], grpc.StatusCode.UNAVAILABLE),
        (302, [], grpc.StatusCode.UNKNOWN),
    ],
)
def test_status_for_http(http: int, errors: list[dict[str, Any]], expected: grpc.StatusCode) -> None:
    assert status_for_http(http, errors) is expected
    assert rest_error_status(TelnyxAPIError(http, errors or [{"title": "x"}])).code is expected


def test_call_state_codes_are_the_documented_ones() -> None:
    assert frozenset({"90018", "90034"}) == CALL_STATE_ERROR_CODES


@pytest.mark.parametrize(
    ("exc", "expected", "reason"),
    [
        (UpstreamUnavailable("connection refused"), grpc.StatusCode.UNAVAILABLE, "UPSTREAM_UNAVAILABLE"),
        (
            UpstreamDeadlineExceeded("deadline expired"),
            grpc.StatusCode.DEADLINE_EXCEEDED,
            "UPSTREAM_DEADLINE_EXCEEDED",
        ),
        (UpstreamProtocolError(200, "body is not JSON"), grpc.StatusCode.UNKNOWN, "UPSTREAM_PROTOCOL_ERROR"),
    ],
)
def test_transport_failures(exc: RestError, expected: grpc.StatusCode, reason: str) -> None:
    status = rest_error_status(exc)
    assert status.code is expected
    assert status.details == str(exc)
    proto, details = unpack(status)
    assert proto.code == expected.value[0]
    [info] = details["ErrorInfo"]
    assert info.reason == reason
    assert info.domain == "api.telnyx.com"
    assert info.metadata["cause"] == exc.reason  # type: ignore[attr-defined]
    assert "DebugInfo" not in details


# --- rich details of a Telnyx error ------------------------------------------------------------------------


def test_validation_error_details() -> None:
    errors = [
        {
            "code": "10015",
            "title": "Invalid value for to",
            "detail": "The 'to' number must be E.164",
            "source": {"pointer": "/to/0"},
            "meta": {"url": "https://developers.telnyx.com/docs/overview/errors/10015"},
        },
        {
            "code": "10016",
            "title": "Out of range",
            "source": {"pointer": "/answering_machine_detection_config/total_analysis_time_millis"},
        },
        {"title": "Something without a code", "source": {"parameter": "page[size]"}},
    ]
    status = rest_error_status(TelnyxAPIError(422, errors))

    assert status.code is grpc.StatusCode.INVALID_ARGUMENT
    assert (
        status.details == "Telnyx 422: Invalid value for to (The 'to' number must be E.164) (+2 more errors)"
    )
    proto, details = unpack(status)
    assert proto.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert proto.message == status.details
    assert set(details) == {"ErrorInfo", "BadRequest"}
    first, second, third = details["ErrorInfo"]
    assert (first.reason, first.domain) == ("10015", "api.telnyx.com")
    assert dict(first.metadata) == {
        "title": "Invalid value for to",
        "detail": "The 'to' number must be E.164",
        "http_status": "422",
        "pointer": "/to/0",
    }
    assert second.reason == "10016"
    assert dict(second.metadata) == {
        "title": "Out of range",
        "http_status": "422",
        "pointer": "/answering_machine_detection_config/total_analysis_time_millis",
    }
    assert third.reason == "HTTP_422"
    assert third.metadata["parameter"] == "page[size]"
    assert "pointer" not in third.metadata
    [bad_request] = details["BadRequest"]
    assert [(v.field, v.description) for v in bad_request.field_violations] == [
        ("to[0]", "The 'to' number must be E.164"),
        ("answering_machine_detection_config.total_analysis_time_millis", "Out of range"),
    ]


def test_retry_info_from_retry_after() -> None:
    status = rest_error_status(TelnyxAPIError(429, [{"code": "10011", "title": "Too many requests"}], 2.5))
    assert status.code is grpc.StatusCode.RESOURCE_EXHAUSTED
    _, details = unpack(status)
    [retry] = details["RetryInfo"]
    assert retry.retry_delay.ToMilliseconds() == 2500
    assert "BadRequest" not in details
    assert "DebugInfo" not in details


@pytest.mark.parametrize("seconds", [1e12, 1e19, 1e300])
def test_retry_info_of_an_absurd_retry_after_is_the_longest_duration(seconds: float) -> None:
    _, details = unpack(rest_error_status(TelnyxAPIError(429, [{"code": "10011"}], seconds)))
    assert details["RetryInfo"][0].retry_delay.seconds == 315_576_000_000


def _trailer_bytes(status: grpc.Status) -> int:
    """What the status costs in metadata on the wire: the details trailer travels base64-encoded."""
    details = dict(status.trailing_metadata)["grpc-status-details-bin"]
    return (len(details) + 2) // 3 * 4 + len(status.details.encode())


@pytest.mark.parametrize(("count", "length"), [(1, 10_000), (3, 4000), (25, 1000), (500, 300)])
def test_details_stay_within_the_metadata_limit_however_long_the_errors(count: int, length: int) -> None:
    errors = [
        {"code": "10015", "title": "T" * length, "detail": "D" * length, "source": {"pointer": f"/to/{i}"}}
        for i in range(count)
    ]
    status = rest_error_status(TelnyxAPIError(422, errors))
    assert status.code is grpc.StatusCode.INVALID_ARGUMENT
    assert _trailer_bytes(status) < 8192  # gRPC clients refuse metadata past 8 KiB (soft) and 16 KiB (hard)
    _, details = unpack(status)
    first = details["ErrorInfo"][0]
    assert first.reason == "10015"
    assert first.metadata["detail"].startswith("DDD")
    assert len(first.metadata["detail"]) <= 500


def test_the_fields_named_survive_the_budget_before_further_errors() -> None:
    errors = [
        {
            "code": "10015",
            "title": "Invalid value",
            "source": {"pointer": f"/to/{i}"},
            "detail": f"The destination number +1555010{i:04d} is not a valid E.164 phone number.",
        }
        for i in range(25)
    ]
    _, details = unpack(rest_error_status(TelnyxAPIError(422, errors, 2.0)))
    assert len(details["BadRequest"][0].field_violations) == 25
    assert details["RetryInfo"]
    assert details["ErrorInfo"][0].reason == "10015"


def test_local_violations_stay_within_the_metadata_limit() -> None:
    violations = [(f"field_{i}", "is required " * 20) for i in range(2000)]
    status = invalid_argument_status(violations, "invalid request: " + "; ".join(f for f, _ in violations))
    assert _trailer_bytes(status) < 8192
    _, details = unpack(status)
    kept = details["BadRequest"][0].field_violations
    assert 0 < len(kept) < 2000
    assert kept[0].field == "field_0"


def test_no_retry_info_without_retry_after() -> None:
    _, details = unpack(rest_error_status(TelnyxAPIError(503, [{"title": "Service Unavailable"}])))
    assert "RetryInfo" not in details
    assert details["ErrorInfo"][0].reason == "HTTP_503"


def test_message_with_title_only() -> None:
    exc = TelnyxAPIError(404, [{"code": "10005", "title": "Resource not found"}])
    assert str(exc) == "Telnyx 404: Resource not found"
    assert rest_error_status(exc).details == "Telnyx 404: Resource not found"
    assert repr(exc) == "TelnyxAPIError(status=404, codes=['10005'], retry_after=None)"


def test_local_invalid_argument_status() -> None:
    status = invalid_argument_status(
        [("call_control_id", "must not be empty"), ("to", "is required")], "2 invalid fields"
    )
    assert status.code is grpc.StatusCode.INVALID_ARGUMENT
    assert status.details == "2 invalid fields"
    proto, details = unpack(status)
    assert proto.message == "2 invalid fields"
    assert set(details) == {"BadRequest"}
    assert [(v.field, v.description) for v in details["BadRequest"][0].field_violations] == [
        ("call_control_id", "must not be empty"),
        ("to", "is required"),
    ]
