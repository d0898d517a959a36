"""app.core.jsonout: the API's JSON encoding (issue 16)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import orjson
import pytest

from app.core.jsonout import dumps


def test_instants_decimals_and_text_keys():
    body = {"at": dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC), "mbq": Decimal("388.500"), "ids": (1, 2)}
    assert orjson.loads(dumps(body)) == {"at": "2026-03-29T01:30:00Z", "mbq": 388.5, "ids": [1, 2]}


def test_keys_that_are_not_text_are_written_as_text():
    assert orjson.loads(dumps({"by_batch": {7: {"count": 1}}, "x": [{3: "a"}]})) == {
        "by_batch": {"7": {"count": 1}},
        "x": [{"3": "a"}],
    }


def test_a_value_that_cannot_be_encoded_is_an_error_not_a_retry():
    with pytest.raises(TypeError):
        dumps({"x": object()})
    with pytest.raises(TypeError):
        dumps({1: object()})
