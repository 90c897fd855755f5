"""JSON pointers: escaping, parsing, building, and the field paths and parameter names they render as."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf.message import Message

from voicesvc.transcode import pointer
from voicesvc.v1 import call_control_pb2 as cc_pb2


@pytest.mark.parametrize(("token", "escaped"), [("a", "a"), ("a/b", "a~1b"), ("m~n", "m~0n"), ("~1", "~01")])
def test_escape_and_unescape_are_inverse(token: str, escaped: str) -> None:
    assert pointer.escape(token) == escaped
    assert pointer.unescape(escaped) == token


@pytest.mark.parametrize(
    ("text", "tokens"),
    [("/to/0", ["to", "0"]), ("/", []), ("", []), ("to", ["to"]), ("/a~1b/c~0d", ["a/b", "c~d"])],
)
def test_tokens(text: str, tokens: list[str]) -> None:
    assert pointer.tokens(text) == tokens


def test_join_and_extend_escape_keys() -> None:
    assert pointer.join() == ""
    assert pointer.join("filter", "occurred_at", "gte") == "/filter/occurred_at/gte"
    assert pointer.join("to", 0) == "/to/0"
    assert pointer.extend("/sip_headers", "a/b") == "/sip_headers/a~1b"
    assert pointer.tokens(pointer.join("x/y", "~")) == ["x/y", "~"]


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("/to/0", "to[0]"),
        ("/to", "to"),
        (
            "/answering_machine_detection_config/total_analysis_time_millis",
            "answering_machine_detection_config.total_analysis_time_millis",
        ),
        ("/custom_headers/1/name", "custom_headers[1].name"),
        ("/0/name", "[0].name"),
        ("/client_state", "client_state"),
        ("/sip_headers/X-Foo", "sip_headers.`X-Foo`"),
        ("/a~1b", "`a/b`"),
        ("/", ""),
    ],
)
def test_field_path(text: str, field: str) -> None:
    assert pointer.field_path(text) == field


@pytest.mark.parametrize(
    ("message", "exclude", "text", "field"),
    [
        (cc_pb2.BridgeCallRequest, ("call_control_id",), "/call_control_id", "other_call_control_id"),
        (cc_pb2.DialCallRequest, (), "/custom_headers/0/name", "custom_headers[0].name"),
        (
            cc_pb2.DialCallRequest,
            (),
            "/webhook_retries_policies/a~1b/retries_ms/1",
            "webhook_retries_policies[a/b].retries_ms[1]",
        ),
        (cc_pb2.DialCallRequest, (), "/no_such_field/x", "no_such_field.x"),
    ],
)
def test_proto_field_path(message: type[Message], exclude: tuple[str, ...], text: str, field: str) -> None:
    descriptor: Any = message.DESCRIPTOR
    assert pointer.proto_field_path(descriptor, text, exclude) == field


def test_query_parameter_and_dotted() -> None:
    assert pointer.query_parameter("/filter/occurred_at/gte") == "filter[occurred_at][gte]"
    assert pointer.query_parameter("/page") == "page"
    assert pointer.query_parameter("/") == ""
    assert pointer.dotted("/assistant/tools/0") == "assistant.tools.0"
    assert pointer.dotted("/") == ""
