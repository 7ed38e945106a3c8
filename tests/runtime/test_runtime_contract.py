"""The runtime contract, on every synchronous backend (real servers)."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from cachelint.runtime import JsonCodec, get_versioned, invalidate, set_if_newer
from tests.runtime.backends import Case

VERSION_PAIRS = [
    (0, 1),
    (9, 10),  # lengths differ: "10" > "9" although "1" < "9"
    (99, 100),
    (2**53, 2**53 + 1),  # first integer a double cannot hold
    (2**62, 2**62 + 1),
    (2**63 - 1, 2**63),
    (2**64, 2**64 + 1),
    (10**30, 10**30 + 1),
    (10**80, 10**80 + 1),  # header longer than the 64 bytes the script reads first
]


def test_round_trip_keeps_bytes_and_str(case: Case, key: str) -> None:
    assert set_if_newer(case.cache, key, b"\x00\xff:bin:", version=1)
    assert get_versioned(case.cache, key) == (b"\x00\xff:bin:", 1)
    assert set_if_newer(case.cache, key, "héllo: wörld", version=2)
    value, version = get_versioned(case.cache, key) or (None, None)
    assert (value, version) == ("héllo: wörld", 2) and type(value) is str
    assert set_if_newer(case.cache, key, "", version=3)
    assert get_versioned(case.cache, key) == ("", 3)


def test_miss_is_none(case: Case, key: str) -> None:
    assert get_versioned(case.cache, key) is None


def test_older_loses_equal_and_newer_win(case: Case, key: str) -> None:
    assert set_if_newer(case.cache, key, "v7", version=7)
    assert not set_if_newer(case.cache, key, "v6", version=6)
    assert get_versioned(case.cache, key) == ("v7", 7)
    assert set_if_newer(case.cache, key, "v7 again", version=7)
    assert get_versioned(case.cache, key) == ("v7 again", 7)
    assert set_if_newer(case.cache, key, "v8", version=8)
    assert get_versioned(case.cache, key) == ("v8", 8)


@pytest.mark.parametrize(("low", "high"), VERSION_PAIRS)
def test_large_versions_order_exactly(case: Case, key: str, low: int, high: int) -> None:
    assert set_if_newer(case.cache, key, "high", version=high)
    assert not set_if_newer(case.cache, key, "low", version=low)
    assert get_versioned(case.cache, key) == ("high", high)
    assert set_if_newer(case.cache, key, "high again", version=high)
    assert not invalidate(case.cache, key, version=low)
    assert invalidate(case.cache, key, version=high)
    assert not set_if_newer(case.cache, key, "low", version=low)


def test_tombstone_reads_as_miss_and_blocks_older_writes(case: Case, key: str) -> None:
    assert set_if_newer(case.cache, key, "v7", version=7)
    assert invalidate(case.cache, key, version=9)
    assert get_versioned(case.cache, key) is None
    assert not set_if_newer(case.cache, key, "v7", version=7)
    assert not set_if_newer(case.cache, key, "v8", version=8)
    assert get_versioned(case.cache, key) is None
    assert set_if_newer(case.cache, key, "v9", version=9)  # equal replaces the tombstone
    assert get_versioned(case.cache, key) == ("v9", 9)


def test_invalidate_reports_whether_the_tombstone_landed(case: Case, key: str) -> None:
    assert invalidate(case.cache, key, version=3)  # absent key: tombstone written
    assert get_versioned(case.cache, key) is None
    assert set_if_newer(case.cache, key, "v5", version=5)
    assert not invalidate(case.cache, key, version=4)
    assert get_versioned(case.cache, key) == ("v5", 5)
    assert invalidate(case.cache, key, version=5)
    assert invalidate(case.cache, key, version=6)
    assert not set_if_newer(case.cache, key, "v5", version=5)
    assert set_if_newer(case.cache, key, "v6", version=6)


def test_codec_round_trip(case: Case, key: str) -> None:
    codec = JsonCodec()
    value = {"name": "Ada", "tags": ["x", "y"], "n": 1.5}
    assert set_if_newer(case.cache, key, value, version=1, codec=codec)
    assert get_versioned(case.cache, key, codec=codec) == (value, 1)
    with pytest.raises(TypeError, match="codec"):
        get_versioned(case.cache, key)


@pytest.mark.parametrize("value", [{"a": 1}, 42, 1.5, None, ["x"], bytearray(b"x")])
def test_values_other_than_bytes_and_str_need_a_codec(case: Case, key: str, value: object) -> None:
    with pytest.raises(TypeError, match="codec"):
        set_if_newer(case.cache, key, value, version=1)
    assert get_versioned(case.cache, key) is None


@pytest.mark.parametrize(
    ("version", "error"),
    [
        (True, TypeError),
        (False, TypeError),
        (1.0, TypeError),
        ("5", TypeError),
        (b"5", TypeError),
        (None, TypeError),
        (Decimal(5), TypeError),
        (-1, ValueError),
        # beyond Python's int-to-text limit: a clear error, not a crash in the backend
        pytest.param(10**5000, ValueError, id="10**5000"),
    ],
)
def test_bad_versions_are_refused(
    case: Case, key: str, version: object, error: type[Exception]
) -> None:
    with pytest.raises(error, match="version"):
        set_if_newer(case.cache, key, "v", version=version)  # type: ignore[arg-type]
    with pytest.raises(error, match="version"):
        invalidate(case.cache, key, version=version)  # type: ignore[arg-type]
    assert get_versioned(case.cache, key) is None


@pytest.mark.parametrize(
    ("ttl", "error"),
    [(0, ValueError), (-1, ValueError), (float("nan"), ValueError),
     (float("inf"), ValueError), ("10", TypeError), (True, TypeError)],
)
def test_bad_ttls_are_refused(case: Case, key: str, ttl: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="ttl"):
        set_if_newer(case.cache, key, "v", version=1, ttl=ttl)  # type: ignore[arg-type]
    with pytest.raises(error, match="ttl"):
        invalidate(case.cache, key, version=1, ttl=ttl)  # type: ignore[arg-type]
    assert get_versioned(case.cache, key) is None


def test_ttl_is_set_on_values_and_tombstones(case: Case, key: str) -> None:
    assert set_if_newer(case.cache, key, "v", version=1, ttl=1.5)
    remaining = case.remaining_ttl(key)  # memcached: 2 s, or 1 s once its clock ticked
    assert remaining is not None and 0.9 <= remaining <= 2.0
    assert set_if_newer(case.cache, key, "v", version=2)  # no TTL: none is kept
    assert case.remaining_ttl(key) is None
    assert invalidate(case.cache, key, version=3, ttl=30)
    remaining = case.remaining_ttl(key)
    assert remaining is not None and 28 <= remaining <= 30


def test_values_expire(case: Case, key: str) -> None:
    # 0.3 s: Redis PX 300, memcached rounds up to 1 s (never to 0, "no expiry").
    assert set_if_newer(case.cache, key, "short", version=1, ttl=0.3)
    assert invalidate(case.cache, key + ":t", version=1, ttl=0.3)
    time.sleep(0.3 + case.ttl_resolution + 0.2)
    assert get_versioned(case.cache, key) is None
    assert set_if_newer(case.cache, key + ":t", "older than the expired tombstone", version=0)


def test_foreign_values_read_as_miss_and_are_replaced(case: Case, key: str) -> None:
    case.put_foreign(key, b"written by other code")
    assert get_versioned(case.cache, key) is None
    assert set_if_newer(case.cache, key, "versioned", version=0)
    assert get_versioned(case.cache, key) == ("versioned", 0)
    case.put_foreign(key, b"CL1:s:007::leading zeros are not canonical")
    assert get_versioned(case.cache, key) is None
    assert set_if_newer(case.cache, key, "v1", version=1)
