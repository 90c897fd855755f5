"""Signing of webhook bodies with an Ed25519 key, in both header schemes `WebhookVerifier` accepts.

Used by the sandbox to sign the webhooks it sends, and by tests.
"""

from __future__ import annotations

import base64
import binascii
import time

from nacl.signing import SigningKey

from voicesvc.webhooks.verify import (
    STANDARD_ID,
    STANDARD_SIGNATURE,
    STANDARD_TIMESTAMP,
    STANDARD_VERSION,
    TELNYX_SIGNATURE,
    TELNYX_TIMESTAMP,
)

__all__ = ["Signer", "generate_private_key", "public_key_of"]


def _signing_key(private_key: bytes | str | SigningKey) -> SigningKey:
    if isinstance(private_key, SigningKey):
        return private_key
    if isinstance(private_key, bytes) and len(private_key) == 32:
        return SigningKey(private_key)
    text = private_key.decode("ascii") if isinstance(private_key, bytes) else private_key
    try:
        seed = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("private key is neither a 32-byte seed nor its base64 text") from None
    if len(seed) != 32:
        raise ValueError("an Ed25519 private key (seed) has 32 bytes")
    return SigningKey(seed)


def generate_private_key() -> str:
    """A fresh Ed25519 private key: its 32-byte seed, base64 encoded."""
    return base64.b64encode(bytes(SigningKey.generate())).decode("ascii")


def public_key_of(private_key: bytes | str) -> str:
    """The base64 public key that verifies signatures of `private_key` (seed bytes or base64)."""
    return Signer(private_key).public_key_b64


class Signer:
    """Signs raw webhook bodies; `private_key` is a 32-byte seed, its base64 text, or a `SigningKey`."""

    def __init__(self, private_key: bytes | str | SigningKey) -> None:
        self._key = _signing_key(private_key)

    @classmethod
    def generate(cls) -> Signer:
        """A signer with a fresh random key."""
        return cls(SigningKey.generate())

    @property
    def private_key_b64(self) -> str:
        """The private key (seed) in base64, accepted back by the constructor."""
        return base64.b64encode(bytes(self._key)).decode("ascii")

    @property
    def public_key(self) -> bytes:
        """The raw 32-byte public key."""
        return bytes(self._key.verify_key)

    @property
    def public_key_b64(self) -> str:
        """The public key in base64, the form Telnyx shows and `WebhookVerifier` accepts."""
        return base64.b64encode(self.public_key).decode("ascii")

    def signature(self, message: bytes) -> str:
        """Base64 Ed25519 signature of `message`."""
        return base64.b64encode(self._key.sign(message).signature).decode("ascii")

    def sign_telnyx(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """Telnyx headers for `body`: signature over `"{timestamp}|" + body`; timestamp defaults to now."""
        ts = int(time.time()) if timestamp is None else int(timestamp)
        return {
            TELNYX_SIGNATURE: self.signature(f"{ts}|".encode() + body),
            TELNYX_TIMESTAMP: str(ts),
        }

    def sign_standard(self, body: bytes, msg_id: str, timestamp: int | None = None) -> dict[str, str]:
        """Standard Webhooks headers for `body`: `v1a` signature over `"{msg_id}.{timestamp}." + body`."""
        ts = int(time.time()) if timestamp is None else int(timestamp)
        return {
            STANDARD_ID: msg_id,
            STANDARD_TIMESTAMP: str(ts),
            STANDARD_SIGNATURE: f"{STANDARD_VERSION},{self.signature(f'{msg_id}.{ts}.'.encode() + body)}",
        }
