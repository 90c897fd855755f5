"""Finding 7: whatever an upstream echoes of the API key — in clear, as JSON unicode escapes, base64 (standard
or url-safe, padded or not, at any byte alignment) or percent-encoded — never reaches the caller's status
(message or details) nor any log line."""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import grpc
import pytest
import structlog
from aiohttp import web
from google.protobuf import json_format
from grpc_status import rpc_status

from tests.support.logs import captured_logs
from tests.support.stack import start_stack
from voicesvc.server.logging import configure_logging
from voicesvc.v1 import call_control_pb2 as cc_pb2
from voicesvc.v1 import call_control_pb2_grpc as cc_grpc

KEY = "KEY_scrub_0123456789abcdefGHIJ+/xyz"
"""An API key with the characters base64 and percent-encoding treat specially."""


@dataclass
class Upstream:
    """A tiny Telnyx stand-in answering every request with `body` and `status`."""

    url: str = ""
    body: bytes = b""
    status: int = 422
    content_type: str = "application/json"
    seen: list[str] = field(default_factory=list)


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    state = Upstream()

    async def answer(request: web.Request) -> web.Response:
        state.seen.append(request.headers.get("Authorization", ""))
        return web.Response(body=state.body, status=state.status, content_type=state.content_type)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.url = f"http://127.0.0.1:{runner.addresses[0][1]}/v2"
    yield state
    await runner.cleanup()


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    with captured_logs(logging.DEBUG, [KEY]) as buffer:  # as `voicesvc serve` does
        yield buffer


def _b64(raw: bytes, *, url_safe: bool, padded: bool) -> str:
    text = (base64.urlsafe_b64encode if url_safe else base64.b64encode)(raw).decode("ascii")
    return text if padded else text.rstrip("=")


def _json_escaped(text: str) -> str:
    r"""Every character of `text` as a `\uXXXX` escape, as a JSON encoder with ASCII output may write it."""
    return "".join(f"\\u{ord(c):04x}" for c in text)


def _percent(text: str, *, upper: bool) -> str:
    return "".join(("%%%02X" if upper else "%%%02x") % b for b in text.encode())


ECHOES: dict[str, str] = {
    "clear": KEY,
    "json_escape_first_char": "\\u004b" + KEY[1:],
    "json_escape_every_char": _json_escaped(KEY),
    "json_escape_upper_hex": _json_escaped(KEY).upper().replace("\\U", "\\u"),
    "percent_upper": _percent(KEY, upper=True),
    "percent_lower": _percent(KEY, upper=False),
    "percent_partly": KEY[:4] + _percent(KEY[4:12], upper=True) + KEY[12:],
}
for _skip in range(3):
    for _url_safe in (False, True):
        for _padded in (False, True):
            # `_skip` bytes before the key set its alignment inside the encoded text.
            _raw = b"Bearer "[:_skip] + KEY.encode() + b"!"
            ECHOES[f"base64_align{_skip}_{'url' if _url_safe else 'std'}_{'pad' if _padded else 'nopad'}"] = (
                _b64(_raw, url_safe=_url_safe, padded=_padded)
            )


def _leaks(text: str, echo: str) -> list[str]:
    """Pieces of the key, or of its encoded echo, that `text` still holds."""
    found = [KEY] if KEY in text else []
    # Any 8 characters in a row of the echo (enough to be more than chance) count as a leak.
    found += [echo[i : i + 8] for i in range(len(echo) - 7) if echo[i : i + 8] in text]
    return found


def _status_texts(error: grpc.aio.AioRpcError) -> str:
    status = rpc_status.from_call(error)
    assert status is not None
    texts = [status.message]
    for detail in status.details:
        texts.append(json_format.MessageToJson(detail))
        texts.append(detail.value.decode("utf-8", "replace"))
    return "\n".join(texts)


@pytest.mark.parametrize("shape", ["telnyx_errors", "plain_text"])
@pytest.mark.parametrize("name", list(ECHOES))
async def test_an_echoed_api_key_never_reaches_the_caller_or_the_log(
    upstream: Upstream, logs: io.StringIO, name: str, shape: str
) -> None:
    echo = ECHOES[name]
    if shape == "telnyx_errors":
        upstream.body = (
            '{"errors":[{"code":"10015","title":"Bad request","detail":"your key ' + echo + ' is wrong",'
            '"source":{"pointer":"/call_control_id"},"meta":{"echo":"' + echo + '"}}]}'
        ).encode()
    else:
        upstream.content_type = "text/plain"
        upstream.body = f"proxy says: {echo} was refused".encode()

    async with start_stack(telnyx__base_url=upstream.url, telnyx__api_key=KEY) as stack:
        stub = cc_grpc.CallControlStub(stack.channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GetCallStatus(cc_pb2.GetCallStatusRequest(call_control_id="v3:leg"), timeout=5)

    assert upstream.seen == [f"Bearer {KEY}"]  # the upstream did receive the key, and echoed it
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    texts = _status_texts(caught.value) + "\n" + (caught.value.details() or "")
    assert _leaks(texts, echo) == []
    assert "[redacted]" in texts
    log_text = logs.getvalue()
    assert "telnyx_request" in log_text  # the debug line describing the failed attempt was written
    assert _leaks(log_text, echo) == []
    assert _leaks(log_text, echo.replace("\\", "\\\\")) == []


def test_a_secret_with_json_special_characters_never_reaches_a_log_line(logs: io.StringIO) -> None:
    token = 'tok"en\\with/specials'
    configure_logging(logging.DEBUG, stream=logs, secrets=[token])
    log = structlog.get_logger("voicesvc.test")
    log.warning("echo", clear=token, nested={"again": token}, escaped=token.encode("unicode_escape").decode())
    logging.getLogger("voicesvc.stdlib").warning("stdlib %s", token)
    text = logs.getvalue()
    assert text.count("[redacted]") == 4
    assert "tok" not in text
