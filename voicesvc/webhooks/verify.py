"""Ed25519 verification of incoming webhooks over the exact raw body.

Two header schemes are accepted:

* Telnyx: `telnyx-signature-ed25519` (base64 signature) and `telnyx-timestamp` (unix seconds); the signed
  message is `"{timestamp}|"` followed by the raw body.
* Standard Webhooks: `webhook-id`, `webhook-timestamp` and `webhook-signature` (space-separated
  `v1a,<base64 signature>` entries, any valid one suffices); the signed message is `"{id}.{timestamp}."`
  followed by the raw body.

When a request carries the Telnyx signature header, the Telnyx scheme is used. Several public keys may be
trusted at once (key rotation): a signature made by any of them is accepted.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import Any

from multidict import CIMultiDict, CIMultiDictProxy
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from voicesvc import jsontext
from voicesvc.events import relayable

__all__ = ["RejectReason", "WebhookRejected", "WebhookVerifier", "load_public_key", "parse_json_object"]

TELNYX_SIGNATURE = "telnyx-signature-ed25519"
TELNYX_TIMESTAMP = "telnyx-timestamp"
STANDARD_ID = "webhook-id"
STANDARD_TIMESTAMP = "webhook-timestamp"
STANDARD_SIGNATURE = "webhook-signature"
STANDARD_VERSION = "v1a"

# More signature entries than this are ignored, so a request cannot buy unbounded verification work.
MAX_SIGNATURE_ENTRIES = 8
_MAX_TIMESTAMP_DIGITS = 12


class RejectReason(StrEnum):
    """Machine-readable reasons for refusing a webhook."""

    MISSING_HEADERS = "missing_headers"
    BAD_SIGNATURE = "bad_signature"
    STALE_TIMESTAMP = "stale_timestamp"
    FUTURE_TIMESTAMP = "future_timestamp"
    BAD_TIMESTAMP = "bad_timestamp"
    UNSUPPORTED_SIGNATURE_VERSION = "unsupported_signature_version"
    BODY_TOO_LARGE = "body_too_large"
    EVENT_TOO_LARGE = "event_too_large"
    MALFORMED_JSON = "malformed_json"
    INVALID_EVENT = "invalid_event"
    LOG_UNAVAILABLE = "log_unavailable"


HTTP_STATUS: dict[RejectReason, int] = {
    RejectReason.MISSING_HEADERS: 401,
    RejectReason.BAD_SIGNATURE: 401,
    RejectReason.STALE_TIMESTAMP: 401,
    RejectReason.FUTURE_TIMESTAMP: 401,
    RejectReason.BAD_TIMESTAMP: 401,
    RejectReason.UNSUPPORTED_SIGNATURE_VERSION: 401,
    RejectReason.BODY_TOO_LARGE: 413,
    RejectReason.EVENT_TOO_LARGE: 413,
    RejectReason.MALFORMED_JSON: 400,
    RejectReason.INVALID_EVENT: 400,
    RejectReason.LOG_UNAVAILABLE: 503,
}


class WebhookRejected(Exception):
    """A webhook that must not be relayed, with the HTTP status and reason to answer."""

    def __init__(self, reason: str, http_status: int, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.http_status = http_status
        self.message = message

    @classmethod
    def of(cls, reason: RejectReason, message: str) -> WebhookRejected:
        """A rejection with the standard HTTP status of `reason`."""
        return cls(reason.value, HTTP_STATUS[reason], message)


def load_public_key(key: bytes | str) -> VerifyKey:
    """An Ed25519 verify key from 32 raw bytes or its base64 text (as Telnyx's portal shows it)."""
    if isinstance(key, bytes) and len(key) == 32:
        raw = key
    else:
        text = key.decode("ascii") if isinstance(key, bytes) else key
        try:
            raw = base64.b64decode(text.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("public key is neither 32 raw bytes nor base64") from None
        if len(raw) != 32:
            raise ValueError("an Ed25519 public key has 32 bytes")
    return VerifyKey(raw)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_checking_numbers(raw_body: bytes) -> Any:
    return json.loads(
        raw_body,
        parse_constant=_reject_constant,
        parse_float=relayable.parse_float,
        parse_int=relayable.parse_int,
    )


def parse_json_object(raw_body: bytes) -> dict[str, Any]:
    """The body as a JSON object that can be relayed unchanged; anything else raises `WebhookRejected`
    (`malformed_json`): invalid JSON, NaN or infinite numbers, numbers beyond a double, unpaired
    surrogates, nesting deeper than `relayable.MAX_DEPTH`."""
    try:
        # Every number orjson accepts fits a double; what it refuses gets the standard library's reading,
        # whose hooks name the number that does not fit.
        parsed = jsontext.loads(raw_body, _parse_checking_numbers)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise WebhookRejected.of(RejectReason.MALFORMED_JSON, "body is not valid JSON") from None
    except ValueError as exc:  # NaN, Infinity, a number beyond a double, Python's limit on integer digits
        raise WebhookRejected.of(RejectReason.MALFORMED_JSON, f"body cannot be relayed: {exc}") from None
    if not isinstance(parsed, dict):
        raise WebhookRejected.of(RejectReason.MALFORMED_JSON, "body is not a JSON object")
    problem = relayable.problem_in(raw_body, parsed, numbers_checked=True)
    if problem:
        raise WebhookRejected.of(RejectReason.MALFORMED_JSON, f"body cannot be relayed: {problem}")
    return parsed


def _lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        lowered.setdefault(name.lower(), value.strip())
    return lowered


def _decode_signature(text: str) -> bytes | None:
    try:
        signature = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return signature if len(signature) == 64 else None


class WebhookVerifier:
    """Checks webhook signatures and timestamps against a set of trusted Ed25519 public keys.

    `tolerance_s` bounds how far a timestamp may lie in the past (`stale_timestamp`) or the future
    (`future_timestamp`). With `max_body_bytes` set, larger bodies are refused (`body_too_large`).
    """

    def __init__(
        self,
        public_keys: Iterable[bytes | str],
        tolerance_s: float = 300,
        clock: Callable[[], float] = time.time,
        *,
        max_body_bytes: int | None = None,
    ) -> None:
        self._keys = [load_public_key(k) for k in public_keys]
        if not self._keys:
            raise ValueError("at least one public key is required")
        if tolerance_s <= 0:
            raise ValueError("tolerance_s must be positive")
        self._tolerance = tolerance_s
        self._clock = clock
        self._max_body = max_body_bytes

    def verify(self, headers: Mapping[str, str], raw_body: bytes) -> None:
        """Return if the request is authentic and fresh; raise `WebhookRejected` otherwise.

        Header names are matched case-insensitively. The cheap checks (size, headers, timestamp) run
        before any signature is verified.
        """
        if self._max_body is not None and len(raw_body) > self._max_body:
            raise WebhookRejected.of(RejectReason.BODY_TOO_LARGE, f"body exceeds {self._max_body} bytes")
        if isinstance(headers, CIMultiDictProxy | CIMultiDict):
            # aiohttp's request headers, already case-insensitive: no lowered copy for the usual Telnyx case.
            signature = headers.get(TELNYX_SIGNATURE)
            if signature is not None:
                self._verify_telnyx(signature.strip(), headers.get(TELNYX_TIMESTAMP, "").strip(), raw_body)
                return
        lowered = _lower_headers(headers)
        if TELNYX_SIGNATURE in lowered or not any(k.startswith("webhook-") for k in lowered):
            self._verify_telnyx(
                lowered.get(TELNYX_SIGNATURE, ""), lowered.get(TELNYX_TIMESTAMP, ""), raw_body
            )
        else:
            self._verify_standard(lowered, raw_body)

    def verify_and_parse(self, headers: Mapping[str, str], raw_body: bytes) -> dict[str, Any]:
        """`verify`, then parse the body as a JSON object (`malformed_json` otherwise)."""
        self.verify(headers, raw_body)
        return parse_json_object(raw_body)

    def _verify_telnyx(self, signature_text: str, timestamp: str, raw_body: bytes) -> None:
        missing = [
            name
            for name, value in ((TELNYX_SIGNATURE, signature_text), (TELNYX_TIMESTAMP, timestamp))
            if not value
        ]
        if missing:
            raise WebhookRejected.of(RejectReason.MISSING_HEADERS, "missing header(s): " + ", ".join(missing))
        self._check_timestamp(timestamp)
        signature = _decode_signature(signature_text)
        if signature is None or not self._any_key_verifies(f"{timestamp}|".encode() + raw_body, [signature]):
            raise WebhookRejected.of(RejectReason.BAD_SIGNATURE, "signature does not match the body")

    def _verify_standard(self, headers: dict[str, str], raw_body: bytes) -> None:
        names = (STANDARD_ID, STANDARD_TIMESTAMP, STANDARD_SIGNATURE)
        missing = [name for name in names if not headers.get(name)]
        if missing:
            raise WebhookRejected.of(RejectReason.MISSING_HEADERS, "missing header(s): " + ", ".join(missing))
        msg_id, timestamp = headers[STANDARD_ID], headers[STANDARD_TIMESTAMP]
        self._check_timestamp(timestamp)
        encoded = []
        for entry in headers[STANDARD_SIGNATURE].split():
            version, _, value = entry.partition(",")
            if version == STANDARD_VERSION:
                encoded.append(value)
        if not encoded:
            raise WebhookRejected.of(
                RejectReason.UNSUPPORTED_SIGNATURE_VERSION,
                f"no {STANDARD_VERSION} (Ed25519) signature present",
            )
        signatures = [s for s in map(_decode_signature, encoded[:MAX_SIGNATURE_ENTRIES]) if s is not None]
        if not self._any_key_verifies(f"{msg_id}.{timestamp}.".encode() + raw_body, signatures):
            raise WebhookRejected.of(RejectReason.BAD_SIGNATURE, "no signature matches the body")

    def _check_timestamp(self, timestamp: str) -> None:
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= _MAX_TIMESTAMP_DIGITS):
            raise WebhookRejected.of(RejectReason.BAD_TIMESTAMP, "timestamp is not unix seconds")
        age = self._clock() - int(timestamp)
        if age > self._tolerance:
            raise WebhookRejected.of(RejectReason.STALE_TIMESTAMP, "timestamp is too old")
        if -age > self._tolerance:
            raise WebhookRejected.of(RejectReason.FUTURE_TIMESTAMP, "timestamp is too far in the future")

    def _any_key_verifies(self, message: bytes, signatures: list[bytes]) -> bool:
        for signature in signatures:
            for key in self._keys:
                try:
                    key.verify(message, signature)
                except (BadSignatureError, ValueError, TypeError):
                    continue
                return True
        return False
