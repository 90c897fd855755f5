"""`voicesvc.jsontext.loads`: orjson's reading where it accepts the text, the standard library's elsewhere."""

from __future__ import annotations

import json
import math
import sys

import pytest

from voicesvc import jsontext


@pytest.mark.parametrize(
    "text",
    [
        b'{"data": {"id": "e1", "payload": {"n": -17, "x": 0.25, "l": [1, null, {}]}}}',
        b'{"s": "\\u00e9\\ud83d\\ude00\\n"}',
        b'{"big": 18446744073709551615, "small": -9223372036854775808, "tiny": 1e-400, "huge": 1e308}',
        b'{"a": 1, "a": 2}',
        b'  [true, false, "x"]  ',
        '{"text": "déjà"}'.encode(),
    ],
)
def test_the_same_value_as_the_standard_library(text: bytes) -> None:
    assert jsontext.loads(text) == json.loads(text)


@pytest.mark.parametrize(
    "text",
    [
        b'{"a": NaN}',
        b'{"a": 1e400}',
        b'{"a": "\\ud800"}',
        b'\xef\xbb\xbf{"a": 1}',
        '{"a": 1}'.encode("utf-16"),
    ],
    ids=["nan", "infinite", "unpaired-surrogate", "bom", "utf-16"],
)
def test_what_orjson_refuses_gets_the_standard_librarys_reading(text: bytes) -> None:
    got, expected = jsontext.loads(text), json.loads(text)
    assert repr(got) == repr(expected)  # NaN is not equal to itself: compare the spellings


def test_the_fallback_decides_and_its_errors_propagate() -> None:
    def refuse(_: bytes) -> object:
        raise ValueError("refused by the fallback")

    with pytest.raises(ValueError, match="refused by the fallback"):
        jsontext.loads(b'{"a": NaN}', refuse)
    assert jsontext.loads(b'{"a": 1}', refuse) == {"a": 1}  # orjson accepted it: the fallback never ran
    with pytest.raises(json.JSONDecodeError):
        jsontext.loads(b'{"a": ')


def test_an_integer_beyond_64_bits_is_its_nearest_double() -> None:
    value = jsontext.loads(b'{"n": ' + b"9" * 30 + b"}")["n"]
    assert isinstance(value, float)
    assert math.isfinite(value)
    assert value == float("9" * 30)


def test_an_integer_just_beyond_the_largest_double_is_the_fallbacks_to_judge() -> None:
    beyond = str(int(sys.float_info.max) + 1)
    assert jsontext.loads(beyond.encode()) == int(beyond)  # the standard library's exact reading
    assert jsontext.loads(beyond) == int(beyond)

    def refuse(_: object) -> object:
        raise ValueError("beyond a double")

    with pytest.raises(ValueError, match="beyond a double"):
        jsontext.loads(b'{"n": ' + beyond.encode() + b"}", refuse)
