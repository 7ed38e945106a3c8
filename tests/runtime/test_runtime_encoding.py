"""The one-string storage format and argument checks, without any server."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cachelint.runtime import JsonCodec, set_if_newer
from cachelint.runtime._encoding import (
    KIND_BYTES,
    KIND_CODEC,
    KIND_STR,
    KIND_TOMBSTONE,
    Write,
    decode_record,
    ttl_milliseconds,
    ttl_seconds,
    version_text,
)

kinds = st.sampled_from([KIND_BYTES, KIND_STR, KIND_CODEC, KIND_TOMBSTONE])


@given(
    kind=kinds,
    version=st.integers(min_value=0, max_value=2**256),
    payload=st.binary(max_size=200),
    expires=st.none() | st.integers(min_value=0, max_value=2**63),
)
def test_records_round_trip(kind: bytes, version: int, payload: bytes, expires: int | None) -> None:
    op = Write(version, version_text(version), kind, payload, None)
    record = decode_record(op.record(expires))
    assert record is not None
    assert (record.kind, record.version, record.expires_ms, record.payload) == (
        kind, version, expires, payload)


def test_documented_examples() -> None:
    assert Write(42, b"42", KIND_STR, b"hello", None).record() == b"CL1:s:42::hello"
    assert Write(43, b"43", KIND_TOMBSTONE, b"", None).record() == b"CL1:t:43::"
    hit = decode_record(b"CL1:s:42::a:b:c")
    assert hit is not None and hit.payload == b"a:b:c" and not hit.is_tombstone


@pytest.mark.parametrize(
    "raw",
    [None, 42, "CL1:s:1::text, not bytes", b"", b"CL1", b"CL1:s:1:", b"CL2:s:1::x",
     b"CL1:x:1::x", b"CL1:s:-1::x", b"CL1:s:+1::x", b"CL1:s:01::x", b"CL1:s:::x",
     b"CL1:s:1:soon:x", b"CL1:s:1:01:x", b"CL1:s:\xd9\xa1::arabic digit", b"pickled junk"],
)
def test_foreign_or_malformed_values_are_unversioned(raw: Any) -> None:
    assert decode_record(raw) is None


def test_ttl_rounding() -> None:
    assert ttl_milliseconds(0.3) == 300
    assert ttl_milliseconds(0.0001) == 1
    assert ttl_milliseconds(1.0005) == 1001
    assert ttl_seconds(0.3) == 1
    assert ttl_seconds(2.0) == 2
    assert ttl_seconds(2.000001) == 3


def test_json_codec_is_compact_utf8() -> None:
    codec = JsonCodec()
    assert codec.dumps({"a": [1, "é"]}) == '{"a":[1,"é"]}'.encode()
    assert codec.loads(codec.dumps({"a": [1, "é"]})) == {"a": [1, "é"]}


def test_codec_must_return_bytes() -> None:
    class TextCodec:
        def dumps(self, obj: object) -> Any:
            return str(obj)

        def loads(self, data: bytes) -> object:
            return data

    with pytest.raises(TypeError, match="must return bytes"):
        set_if_newer({}, "k", 1, version=1, codec=TextCodec())


def test_str_with_lone_surrogates_round_trips() -> None:
    from cachelint.runtime import get_versioned

    store: dict[str, bytes] = {}
    assert set_if_newer(store, "k", "\udcff", version=1)
    assert get_versioned(store, "k") == ("\udcff", 1)
