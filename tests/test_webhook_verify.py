"""Webhook signature verification: both header schemes, every rejection reason, key rotation."""

from __future__ import annotations

import base64
import json
import sys

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from voicesvc.events import relayable
from voicesvc.webhooks.sign import Signer, generate_private_key, public_key_of
from voicesvc.webhooks.verify import RejectReason, WebhookRejected, WebhookVerifier, parse_json_object

NOW = 1_700_000_000
BODY = b'{"data": {"id": "0ccc7b54-4df3-4bca-a65a-3da1ecc777f0", "event_type": "call.answered"}, "meta": {}}'


@pytest.fixture
def signer() -> Signer:
    return Signer.generate()


@pytest.fixture
def verifier(signer: Signer) -> WebhookVerifier:
    return WebhookVerifier([signer.public_key_b64], clock=lambda: NOW)


def rejection(verifier: WebhookVerifier, headers: dict[str, str], body: bytes = BODY) -> WebhookRejected:
    with pytest.raises(WebhookRejected) as caught:
        verifier.verify(headers, body)
    return caught.value


def test_telnyx_signature_is_accepted(signer: Signer, verifier: WebhookVerifier) -> None:
    verifier.verify(signer.sign_telnyx(BODY, NOW), BODY)


def test_standard_webhooks_signature_is_accepted(signer: Signer, verifier: WebhookVerifier) -> None:
    verifier.verify(signer.sign_standard(BODY, "msg_1", NOW), BODY)


def test_header_names_are_case_insensitive(signer: Signer, verifier: WebhookVerifier) -> None:
    shouted = {name.upper(): value for name, value in signer.sign_telnyx(BODY, NOW).items()}
    verifier.verify(shouted, BODY)
    verifier.verify(CIMultiDict({"Webhook-Id": "m", **signer.sign_standard(BODY, "m", NOW)}), BODY)


def test_request_headers_as_aiohttp_holds_them_verify_like_any_mapping(
    signer: Signer, verifier: WebhookVerifier
) -> None:
    signed = signer.sign_telnyx(BODY, NOW)
    padded = CIMultiDictProxy(CIMultiDict({name.title(): f" {value} " for name, value in signed.items()}))
    verifier.verify(padded, BODY)
    # Refusals are the same as for a plain mapping's.
    for headers in (
        {**signed, "telnyx-signature-ed25519": ""},
        {"telnyx-signature-ed25519": signed["telnyx-signature-ed25519"]},
        {**signed, "telnyx-timestamp": str(NOW - 301)},
        {**signed, "telnyx-signature-ed25519": base64.b64encode(bytes(64)).decode()},
    ):
        expected = rejection(verifier, headers)
        got = rejection(verifier, CIMultiDictProxy(CIMultiDict(headers)))  # type: ignore[arg-type]
        assert (got.reason, got.message) == (expected.reason, expected.message)


def test_timestamps_within_tolerance_are_accepted(signer: Signer, verifier: WebhookVerifier) -> None:
    verifier.verify(signer.sign_telnyx(BODY, NOW - 299), BODY)
    verifier.verify(signer.sign_standard(BODY, "m", NOW + 299), BODY)


def test_verify_and_parse_returns_the_object(signer: Signer, verifier: WebhookVerifier) -> None:
    parsed = verifier.verify_and_parse(signer.sign_telnyx(BODY, NOW), BODY)
    assert parsed["data"]["event_type"] == "call.answered"


TELNYX_HEADERS = ["telnyx-signature-ed25519", "telnyx-timestamp"]


@pytest.mark.parametrize("drop", [TELNYX_HEADERS, TELNYX_HEADERS[:1], TELNYX_HEADERS[1:]])
def test_missing_telnyx_headers(signer: Signer, verifier: WebhookVerifier, drop: list[str]) -> None:
    headers = {k: v for k, v in signer.sign_telnyx(BODY, NOW).items() if k not in drop}
    caught = rejection(verifier, headers)
    assert (caught.reason, caught.http_status) == ("missing_headers", 401)
    assert all(name in caught.message for name in drop)


@pytest.mark.parametrize("drop", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_standard_headers(signer: Signer, verifier: WebhookVerifier, drop: str) -> None:
    headers = {k: v for k, v in signer.sign_standard(BODY, "m", NOW).items() if k != drop}
    caught = rejection(verifier, headers)
    assert (caught.reason, caught.http_status) == ("missing_headers", 401)
    assert drop in caught.message


def test_empty_header_counts_as_missing(signer: Signer, verifier: WebhookVerifier) -> None:
    headers = {**signer.sign_telnyx(BODY, NOW), "telnyx-timestamp": ""}
    assert rejection(verifier, headers).reason == "missing_headers"


def test_tampered_body_is_a_bad_signature(signer: Signer, verifier: WebhookVerifier) -> None:
    for headers in (signer.sign_telnyx(BODY, NOW), signer.sign_standard(BODY, "m", NOW)):
        caught = rejection(verifier, headers, BODY.replace(b"answered", b"hangup"))
        assert (caught.reason, caught.http_status) == ("bad_signature", 401)


def test_reserialised_json_fails_verification(signer: Signer, verifier: WebhookVerifier) -> None:
    # Same JSON value, different bytes: only the exact body as sent verifies.
    reserialised = json.dumps(json.loads(BODY), separators=(",", ":")).encode()
    assert json.loads(reserialised) == json.loads(BODY)
    assert reserialised != BODY
    assert rejection(verifier, signer.sign_telnyx(BODY, NOW), reserialised).reason == "bad_signature"
    assert rejection(verifier, signer.sign_standard(BODY, "m", NOW), reserialised).reason == "bad_signature"


def test_signed_timestamp_and_id_cannot_be_swapped(signer: Signer, verifier: WebhookVerifier) -> None:
    headers = {**signer.sign_telnyx(BODY, NOW), "telnyx-timestamp": str(NOW - 1)}
    assert rejection(verifier, headers).reason == "bad_signature"
    headers = {**signer.sign_standard(BODY, "m1", NOW), "webhook-id": "m2"}
    assert rejection(verifier, headers).reason == "bad_signature"


@pytest.mark.parametrize("signature", ["not base64!", base64.b64encode(b"short").decode(), ""])
def test_malformed_signatures(signer: Signer, verifier: WebhookVerifier, signature: str) -> None:
    headers = {**signer.sign_telnyx(BODY, NOW), "telnyx-signature-ed25519": signature}
    expected = "missing_headers" if not signature else "bad_signature"
    assert rejection(verifier, headers).reason == expected


def test_unknown_key_is_a_bad_signature(verifier: WebhookVerifier) -> None:
    stranger = Signer.generate()
    assert rejection(verifier, stranger.sign_telnyx(BODY, NOW)).reason == "bad_signature"
    assert rejection(verifier, stranger.sign_standard(BODY, "m", NOW)).reason == "bad_signature"


def test_stale_timestamp(signer: Signer, verifier: WebhookVerifier) -> None:
    for headers in (signer.sign_telnyx(BODY, NOW - 301), signer.sign_standard(BODY, "m", NOW - 301)):
        caught = rejection(verifier, headers)
        assert (caught.reason, caught.http_status) == ("stale_timestamp", 401)


def test_future_timestamp(signer: Signer, verifier: WebhookVerifier) -> None:
    for headers in (signer.sign_telnyx(BODY, NOW + 301), signer.sign_standard(BODY, "m", NOW + 301)):
        caught = rejection(verifier, headers)
        assert (caught.reason, caught.http_status) == ("future_timestamp", 401)


def test_tolerance_is_configurable(signer: Signer) -> None:
    strict = WebhookVerifier([signer.public_key], tolerance_s=10, clock=lambda: NOW)
    assert rejection(strict, signer.sign_telnyx(BODY, NOW - 11)).reason == "stale_timestamp"
    strict.verify(signer.sign_telnyx(BODY, NOW - 9), BODY)


# Not unix seconds: words, fractions, signs, exponents, absurd lengths, non-ASCII digits.
BAD_TIMESTAMPS = ["soon", "1700000000.5", "-1700000000", "1e9", "9" * 40, "\uff11\uff17"]


@pytest.mark.parametrize("timestamp", BAD_TIMESTAMPS)
def test_unparseable_timestamp(signer: Signer, verifier: WebhookVerifier, timestamp: str) -> None:
    headers = {**signer.sign_telnyx(BODY, NOW), "telnyx-timestamp": timestamp}
    caught = rejection(verifier, headers)
    assert (caught.reason, caught.http_status) == ("bad_timestamp", 401)
    headers = {**signer.sign_standard(BODY, "m", NOW), "webhook-timestamp": timestamp}
    assert rejection(verifier, headers).reason == "bad_timestamp"


def test_only_symmetric_signatures_are_unsupported(signer: Signer, verifier: WebhookVerifier) -> None:
    headers = {**signer.sign_standard(BODY, "m", NOW), "webhook-signature": "v1,c2VjcmV0IGhtYWM="}
    caught = rejection(verifier, headers)
    assert (caught.reason, caught.http_status) == ("unsupported_signature_version", 401)


def test_any_valid_standard_signature_entry_suffices(signer: Signer, verifier: WebhookVerifier) -> None:
    good = signer.sign_standard(BODY, "m", NOW)
    other = Signer.generate().sign_standard(BODY, "m", NOW)["webhook-signature"]
    combined = f"v1,c2VjcmV0 {other} v1a,bm9wZQ== {good['webhook-signature']}"
    verifier.verify({**good, "webhook-signature": combined}, BODY)
    only_foreign = {**good, "webhook-signature": f"v1,c2VjcmV0 {other}"}
    assert rejection(verifier, only_foreign).reason == "bad_signature"


def test_key_rotation_accepts_every_configured_key() -> None:
    old, new, retired = Signer.generate(), Signer.generate(), Signer.generate()
    # Keys may be given as base64 text or as raw bytes.
    verifier = WebhookVerifier([old.public_key_b64, new.public_key], clock=lambda: NOW)
    verifier.verify(old.sign_telnyx(BODY, NOW), BODY)
    verifier.verify(new.sign_telnyx(BODY, NOW), BODY)
    verifier.verify(new.sign_standard(BODY, "m", NOW), BODY)
    assert rejection(verifier, retired.sign_telnyx(BODY, NOW)).reason == "bad_signature"


def test_body_size_limit() -> None:
    signer = Signer.generate()
    verifier = WebhookVerifier([signer.public_key_b64], clock=lambda: NOW, max_body_bytes=len(BODY))
    verifier.verify(signer.sign_telnyx(BODY, NOW), BODY)
    bigger = BODY + b" "
    caught = rejection(verifier, signer.sign_telnyx(bigger, NOW), bigger)
    assert (caught.reason, caught.http_status) == ("body_too_large", 413)


@pytest.mark.parametrize("raw", [b"{", b"[1, 2]", b'"text"', b'{"a": NaN}', b"\xff\xfe\x00", b""])
def test_malformed_json(raw: bytes) -> None:
    with pytest.raises(WebhookRejected) as caught:
        parse_json_object(raw)
    assert (caught.value.reason, caught.value.http_status) == ("malformed_json", 400)


def test_malformed_json_is_reported_after_verification(signer: Signer, verifier: WebhookVerifier) -> None:
    raw = b"not json"
    with pytest.raises(WebhookRejected) as caught:
        verifier.verify_and_parse(signer.sign_telnyx(raw, NOW), raw)
    assert caught.value.reason == RejectReason.MALFORMED_JSON
    with pytest.raises(WebhookRejected) as caught:
        verifier.verify_and_parse(Signer.generate().sign_telnyx(raw, NOW), raw)
    assert caught.value.reason == RejectReason.BAD_SIGNATURE


def test_invalid_key_configuration() -> None:
    with pytest.raises(ValueError):
        WebhookVerifier([])
    with pytest.raises(ValueError):
        WebhookVerifier(["not a key"])
    with pytest.raises(ValueError):
        WebhookVerifier([base64.b64encode(b"x" * 31).decode()])


def test_signer_keys_round_trip() -> None:
    private = generate_private_key()
    signer = Signer(private)
    assert signer.private_key_b64 == private
    assert public_key_of(private) == signer.public_key_b64
    assert Signer(base64.b64decode(private)).public_key == signer.public_key
    with pytest.raises(ValueError):
        Signer("short")
    verifier = WebhookVerifier([public_key_of(private)])
    verifier.verify(signer.sign_telnyx(BODY), BODY)  # default timestamp: now
    verifier.verify(signer.sign_standard(BODY, "m"), BODY)


def nested(levels: int) -> bytes:
    """A JSON object whose arrays bring the nesting to `levels` (the object itself is the first)."""
    return b'{"x": ' + b"[" * (levels - 1) + b"]" * (levels - 1) + b"}"


def test_nesting_up_to_the_limit_is_relayable_and_one_level_more_is_not() -> None:
    assert parse_json_object(nested(relayable.MAX_DEPTH)) == json.loads(nested(relayable.MAX_DEPTH))
    with pytest.raises(WebhookRejected) as caught:
        parse_json_object(nested(relayable.MAX_DEPTH + 1))
    assert caught.value.message == (
        f"body cannot be relayed: objects and arrays are nested deeper than {relayable.MAX_DEPTH} levels"
    )


_DOUBLE_MAX = int(sys.float_info.max)
_JUST_BEYOND = [str(_DOUBLE_MAX + 1).encode(), str(_DOUBLE_MAX + 2**970 - 1).encode()]
"""Integers a parser reading them as doubles would round down to the largest one."""


@pytest.mark.parametrize(
    "number",
    [b"1e400", b"-1e400", b"9" * 400, b"-" + b"9" * 400, b"1.5e309", *_JUST_BEYOND, b"-" + _JUST_BEYOND[0]],
    ids=lambda n: n[:12].decode() + (f"...({len(n)})" if len(n) > 12 else ""),
)
def test_a_number_beyond_a_double_is_refused_with_its_reason(number: bytes) -> None:
    with pytest.raises(WebhookRejected) as caught:
        parse_json_object(b'{"data": {"amount": ' + number + b"}}")
    assert (caught.value.reason, caught.value.message) == (
        "malformed_json",
        "body cannot be relayed: a number is beyond the range of a double",
    )


def test_numbers_within_a_double_keep_their_values() -> None:
    raw = b'{"a": 1e308, "b": -17, "c": 0.25, "d": ' + b"9" * 300 + b', "e": 1E5, "f": 18446744073709551615}'
    parsed = parse_json_object(raw)
    # Up to 64 bits an integer stays exact; a longer one is its nearest double, the value a Struct holds.
    assert parsed == {"a": 1e308, "b": -17, "c": 0.25, "d": float("9" * 300), "e": 1e5, "f": 2**64 - 1}
    assert isinstance(parsed["f"], int)


def test_the_largest_double_spelled_as_an_integer_is_accepted() -> None:
    assert parse_json_object(b'{"n": ' + str(_DOUBLE_MAX).encode() + b"}") == {"n": _DOUBLE_MAX}
