"""The audit trail's canonical texts are byte-for-byte what json.dumps made before (issue 16 built the
encoders once instead of per call): every HMAC and seal already stored must verify unchanged."""

from __future__ import annotations

import datetime as dt
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from app.audit import chain, coverage

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
_json = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _row(values: dict) -> dict:
    return {
        "id": values["id"],
        "occurred_at": values["at"],
        "entity_type": values["text"],
        "entity_id": values["text"][:5] or None,
        "action": "STATUS_CHANGE",
        "actor_user_id": values["id"] % 7 or None,
        "actor_name": values["text"] + " ü",
        "actor_roles": "Production",
        "before": values["before"],
        "after": values["after"],
        "reason": values["text"] or None,
        "trace_id": None,
        "client_ip": "127.0.0.1",
        "signature_id": None,
        "prev_hash": "a" * 64,
    }


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {
            "id": st.integers(min_value=1, max_value=2**62),
            "at": st.datetimes(
                min_value=dt.datetime(2000, 1, 1),
                max_value=dt.datetime(2100, 1, 1),
                timezones=st.just(dt.UTC),
            ),
            "text": st.text(max_size=30),
            "before": st.one_of(st.none(), st.dictionaries(st.text(max_size=8), _json, max_size=6)),
            "after": st.dictionaries(st.text(max_size=8), _json, max_size=6),
        }
    )
)
def test_row_canonical_text_and_hmac_unchanged(values):
    row = _row(values)
    fields = [row[f] for f in chain.FIELDS]
    fields[1] = chain._iso(fields[1])
    fields[8], fields[9] = chain._normalise(fields[8]), chain._normalise(fields[9])
    before = json.dumps(
        [chain.HMAC_ALG, *fields], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()
    assert chain.canonical(row) == before
    payload = {"a": values["after"], "t": values["text"]}
    signed = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert (
        chain.sign(b"k" * 32, payload) == chain.hmac.new(b"k" * 32, signed, chain.hashlib.sha256).hexdigest()
    )


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=10), _json, min_size=1, max_size=8))
def test_seal_content_hash_unchanged(values):
    row_json = json.dumps(values)
    columns = sorted(values)
    parsed = json.loads(row_json, parse_float=str)
    body = json.dumps({c: parsed.get(c) for c in columns}, sort_keys=True, separators=(",", ":"))
    assert coverage.content_hash(row_json, columns) == chain.hashlib.sha256(body.encode()).hexdigest()
