"""HTTP/1.1 message framing (RFC 9112) shared by the REST client's connection pool and the HTTP port's
server: header field lines, Content-Length and chunked bodies.

Both sides read messages from peers they do not control, so every rule here refuses rather than guesses:
a line that is not a field, a length that is not one number, a chunk that does not end where it says.
"""

from __future__ import annotations

import re

from multidict import CIMultiDict

__all__ = [
    "ChunkedBody",
    "FramingError",
    "TooLarge",
    "content_length",
    "first_malformed",
    "is_number",
    "parse_fields",
]

# One header field line: a token, a colon, and a value without CR, LF or NUL, its surrounding blanks not
# kept. Possessive, so that no run of blanks is scanned more than once: linear in the head's length.
_FIELD_LINE = re.compile(
    r"^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*+((?:[^\r\n\x00 \t]++|[ \t]++(?=[^\r\n\x00 \t]))*+)[ \t]*+\r?$",
    re.MULTILINE,
)
_HEX_DIGITS = b"0123456789abcdefABCDEF"
_MAX_LENGTH_DIGITS = 18
_MAX_SIZE_DIGITS = 15
"""Hex digits of a chunk size at most (a larger chunk is beyond any body accepted)."""


class FramingError(ValueError):
    """A message that cannot be read as HTTP/1.1; the text says what is wrong."""


class TooLarge(FramingError):
    """A body larger than the reader accepts."""


def is_number(text: str) -> bool:
    """Whether `text` is ASCII digits only (`str.isdigit` takes other scripts' digits too)."""
    return text.isascii() and text.isdigit()


def first_malformed(field_lines: str) -> str:
    """The first line of `field_lines` that is not a header field (for the error message)."""
    for line in field_lines.split("\n"):
        if not _FIELD_LINE.fullmatch(line):
            return line.rstrip("\r")
    return ""


def parse_fields(field_lines: str) -> CIMultiDict[str]:
    """The header fields of a head's lines after its first (latin-1 text, lines ending in CRLF or LF).

    Every line must be one field, or the head is refused: a line the pattern does not take is missing from
    the matches.
    """
    pairs = _FIELD_LINE.findall(field_lines) if field_lines else []
    if len(pairs) != (field_lines.count("\n") + 1 if field_lines else 0):
        raise FramingError(f"malformed header line: {first_malformed(field_lines)[:80]!r}")
    return CIMultiDict(pairs)


def content_length(fields: CIMultiDict[str]) -> int | None:
    """The body length the fields declare, or None without Content-Length.

    Repeated (as a list or as several fields), the values must all agree.
    """
    lengths = fields.getall("Content-Length", None)
    if lengths is None:
        return None
    value = lengths[0]
    if len(lengths) != 1 or not is_number(value):
        values = {part.strip() for value in lengths for part in value.split(",")}
        if len(values) != 1 or not is_number(value := values.pop()):
            raise FramingError(f"invalid Content-Length: {', '.join(lengths)[:80]!r}")
    if (
        len(value.lstrip("0")) > _MAX_LENGTH_DIGITS
    ):  # no body is that large (`int` refuses thousands of digits)
        raise TooLarge(f"Content-Length {value[:40]}… is beyond any body accepted")
    return int(value)


class ChunkedBody:
    """A chunked body read as its bytes arrive: at most `max_body` bytes of data, and at most
    `max_line` bytes for a chunk's size line or for the trailer section (whose fields are ignored)."""

    __slots__ = ("body", "max_body", "max_line")

    def __init__(self, max_body: int, max_line: int) -> None:
        self.body = bytearray()
        self.max_body = max_body
        self.max_line = max_line

    def feed(self, buffer: bytearray) -> bool:
        """Move whole chunks from `buffer` into `body`; True once the last chunk and trailers are in (what
        follows them stays in `buffer`)."""
        body = self.body
        while True:
            end = buffer.find(b"\r\n")
            if end < 0:
                if len(buffer) > self.max_line:
                    raise FramingError("chunk size line too long")
                return False
            line = bytes(buffer[:end])
            # chunk-size [BWS ";" chunk-ext]: hex digits first; no CR, LF or NUL anywhere in the line.
            size_text = line.split(b";", 1)[0].rstrip(b" \t")
            if (
                not size_text
                or size_text.strip(_HEX_DIGITS)
                or b"\n" in line
                or b"\r" in line
                or b"\x00" in line
            ):
                raise FramingError(f"invalid chunk size: {size_text[:40]!r}")
            if len(size_text.lstrip(b"0")) > _MAX_SIZE_DIGITS:
                raise TooLarge(f"body larger than {self.max_body} bytes")
            size = int(size_text, 16)
            if size > self.max_body - len(body):
                raise TooLarge(f"body larger than {self.max_body} bytes")
            if size == 0:
                # The last chunk, then trailer fields (each a valid field line, ignored) up to an empty line.
                if buffer[end + 2 : end + 4] == b"\r\n":
                    del buffer[: end + 4]
                    return True
                trailers_end = buffer.find(b"\r\n\r\n", end)
                if trailers_end < 0:
                    if len(buffer) > self.max_line:
                        raise FramingError(f"trailers larger than {self.max_line // 1024} KiB")
                    return False
                trailers = bytes(buffer[end + 2 : trailers_end])
                if trailers.count(b"\n") != trailers.count(b"\r\n"):
                    raise FramingError("a trailer line does not end in CRLF")
                parse_fields(trailers.decode("latin-1"))
                del buffer[: trailers_end + 4]
                return True
            start = end + 2
            if len(buffer) < start + size + 2:
                return False
            if buffer[start + size : start + size + 2] != b"\r\n":
                raise FramingError("chunk not followed by CRLF")
            body += buffer[start : start + size]
            del buffer[: start + size + 2]
