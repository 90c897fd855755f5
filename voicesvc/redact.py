r"""Keeping secrets (the Telnyx API key, caller tokens, NATS credentials) out of every text a caller or a log
receives, in whatever encoding the text carries them.

One `Scrubber` replaces, with `[redacted]`:

- the secret as written, and with any of its characters written as a JSON or Python escape (`\u004b`, also
  with the backslash doubled, as a JSON log line renders an escape it was given) or percent-encoded
  (`%4B`, `%4b`), in any mix;
- the secret base64-encoded, standard or url-safe, with or without padding, at any of the three byte
  alignments it can have inside a longer encoded text: the whole base64 run holding it is replaced, so no
  bits of the key remain next to the marker.

`scrub_json` scrubs every string (and key) of decoded JSON, so escapes a JSON parser already resolved are
covered too. `SECRETS` is the process's scrubber: the REST client registers its API key there, the log
configuration its secrets, and the status builder and the log renderer both scrub with it.
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Iterable
from typing import Any

__all__ = ["MIN_SECRET_LENGTH", "REDACTED", "SECRETS", "Scrubber"]

REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 8
"""Shorter secrets are not registered: scrubbing them would blank ordinary words (the configuration refuses
keys and tokens that short anyway)."""
_MIN_ENCODED_CORE = 8
"""Shortest base64 text searched for: shorter runs of an encoded secret match ordinary base64 by chance."""
_BASE64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_")
_URL_SAFE = str.maketrans("+/", "-_")


def _hex_class(digit: str) -> str:
    """A regex class matching one hex digit in either case."""
    return f"[{digit.lower()}{digit.upper()}]" if digit.isalpha() else digit


def _char_pattern(char: str) -> str:
    r"""Regex for one character of a secret: as itself, as a `\uXXXX` escape (backslash single or doubled),
    backslash-escaped where JSON escapes it, or percent-encoded (its UTF-8 bytes, hex in either case)."""
    forms = [re.escape(char)]
    code = ord(char)
    if code <= 0xFFFF:
        forms.append(r"\\{1,2}u" + "".join(_hex_class(h) for h in f"{code:04x}"))
    if char in '"\\/':
        # JSON escapes a quote or a backslash (and may escape a solidus); a rendered log line escapes again.
        forms.append(r"\\{1,3}" + re.escape(char))
    percent = "".join("%" + "".join(_hex_class(h) for h in f"{byte:02x}") for byte in char.encode("utf-8"))
    forms.append(percent)
    return "(?:" + "|".join(forms) + ")"


def _base64_cores(secret: str) -> set[str]:
    """Texts that appear in any base64 encoding of bytes containing `secret`, whatever its alignment.

    Encoding starts a new 4-character group every 3 bytes: at each of the three alignments, the secret's
    bytes from the first group boundary on, cut to whole groups, always encode to the same characters.
    """
    raw = secret.encode("utf-8")
    cores: set[str] = set()
    for skip in range(3):
        part = raw[skip:]
        part = part[: len(part) // 3 * 3]
        core = base64.b64encode(part).decode("ascii")
        if len(core) >= _MIN_ENCODED_CORE:
            cores.add(core)
            cores.add(core.translate(_URL_SAFE))
    return cores


class Scrubber:
    """Replaces known secrets, in any of their encodings, by `[redacted]`; secrets can be added any time.

    Safe to use from several threads (standard-library logging may render in any thread).
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()
        self._pattern: re.Pattern[str] | None = None
        self._literal: re.Pattern[str] | None = None
        self._cores: tuple[str, ...] = ()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        """Scrub `secret` from now on (one shorter than `MIN_SECRET_LENGTH` is ignored)."""
        if not secret or len(secret) < MIN_SECRET_LENGTH or secret in self._secrets:
            return
        with self._lock:
            # Longest first, so a secret containing another is replaced whole.
            secrets = tuple(sorted({*self._secrets, secret}, key=len, reverse=True))
            alternatives = ("".join(_char_pattern(c) for c in s) for s in secrets)
            cores: set[str] = set()
            for s in secrets:
                cores |= _base64_cores(s)
            # The same alternatives where no character can be escaped: what `_pattern` matches in a text
            # without a backslash or a percent sign, found much faster.
            self._literal = re.compile("|".join(re.escape(s) for s in secrets))
            self._pattern = re.compile("|".join(alternatives))
            self._cores = tuple(sorted(cores, key=len, reverse=True))
            self._secrets = secrets

    def __contains__(self, secret: object) -> bool:
        return secret in self._secrets

    def scrub(self, text: str) -> str:
        """`text` with every known secret, in every encoding above, replaced."""
        # `add` assigns `_secrets` last: read first, every secret in it is in the patterns read after it.
        secrets = self._secrets
        pattern, literal, cores = self._pattern, self._literal, self._cores
        if pattern is None:
            return text
        if literal is not None and "\\" not in text and "%" not in text:
            # Every escaped form of a character starts with one of those two: only plain forms can be here,
            # and a substring search finds them much sooner than the regular expression (a line without a
            # secret, the usual one, is left as it is).
            for secret in secrets:
                if secret in text:
                    text = literal.sub(REDACTED, text)
                    break
        else:
            text = pattern.sub(REDACTED, text)
        for core in cores:
            if core in text:
                text = _replace_base64_runs(text, core)
        return text

    def scrub_json(self, value: Any) -> Any:
        """Decoded JSON with every string and object key scrubbed (other values unchanged)."""
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, dict):
            return {self.scrub(str(k)): self.scrub_json(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.scrub_json(item) for item in value]
        return value


def _replace_base64_runs(text: str, core: str) -> str:
    """`text` with each base64 run (padding included) that contains `core` replaced by the marker."""
    start = text.find(core)
    while start >= 0:
        left = start
        while left > 0 and text[left - 1] in _BASE64_CHARS:
            left -= 1
        right = start + len(core)
        while right < len(text) and text[right] in _BASE64_CHARS:
            right += 1
        while right < len(text) and text[right] == "=":
            right += 1
        text = text[:left] + REDACTED + text[right:]
        start = text.find(core, left + len(REDACTED))
    return text


SECRETS = Scrubber()
"""The process's scrubber: every secret voicesvc holds is added here, and every status and log line it
produces is scrubbed with it."""
