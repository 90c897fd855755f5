"""Telnyx-style error envelopes and the exception that carries them out of a handler."""

from __future__ import annotations

from typing import Any

_DOCS = "https://developers.telnyx.com/docs/overview/errors/"

# Telnyx error codes the sandbox answers with.
MISSING_PARAMETER = "10004"
NOT_FOUND = "10005"
UNEXPECTED = "10007"
AUTH_FAILED = "10009"
TOO_MANY_REQUESTS = "10011"
BAD_REQUEST = "10015"
CALL_ENDED = "90018"
INVALID_CALL_STATE = "90034"


def error_object(
    code: str,
    title: str,
    detail: str,
    pointer: str | None = None,
    parameter: str | None = None,
) -> dict[str, Any]:
    """One entry of the `errors` array, shaped as Telnyx sends it."""
    err: dict[str, Any] = {"code": code, "title": title, "detail": detail}
    source: dict[str, str] = {}
    if pointer is not None:
        source["pointer"] = pointer
    if parameter is not None:
        source["parameter"] = parameter
    if source:
        err["source"] = source
    err["meta"] = {"url": _DOCS + code}
    return err


class ApiError(Exception):
    """Raised by handlers; the app turns it into `{"errors": [...]}` with `status`."""

    def __init__(self, status: int, errors: list[dict[str, Any]], headers: dict[str, str] | None = None):
        super().__init__(f"{status}: {errors[0].get('title') if errors else ''}")
        self.status = status
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON body of the error response."""
        return {"errors": self.errors}


def unauthorized() -> ApiError:
    """401 for a missing or wrong bearer key."""
    return ApiError(
        401,
        [
            error_object(
                AUTH_FAILED,
                "Authentication failed",
                "The required authentication headers were either invalid or not included in the request.",
            )
        ],
    )


def not_found(what: str = "resource", pointer: str | None = None) -> ApiError:
    """404 for an unknown id or URL."""
    return ApiError(
        404,
        [
            error_object(
                NOT_FOUND,
                "Resource not found",
                f"The requested {what} could not be found.",
                pointer=pointer,
            )
        ],
    )


def call_ended() -> ApiError:
    """422 for a command sent to a call leg that is no longer alive."""
    return ApiError(
        422,
        [
            error_object(
                CALL_ENDED,
                "Call has already ended",
                "This call is no longer active and can't receive commands.",
            )
        ],
    )


def invalid_state(detail: str) -> ApiError:
    """422 for a command the call's current state does not allow (other than having ended)."""
    title = "Call is not in a state to accept this command"
    return ApiError(422, [error_object(INVALID_CALL_STATE, title, detail)])


def too_many_requests(retry_after: int) -> ApiError:
    """429 with Retry-After, as the fault injector sends it."""
    return ApiError(
        429,
        [
            error_object(
                TOO_MANY_REQUESTS,
                "Too many requests",
                "You have exceeded the maximum number of allowed requests.",
            )
        ],
        headers={"Retry-After": str(retry_after)},
    )


def injected_error(status: int) -> ApiError:
    """An error response produced by fault injection."""
    if status == 429:
        return too_many_requests(1)
    return ApiError(status, [error_object(UNEXPECTED, "Unexpected error", "An unexpected error occured.")])
