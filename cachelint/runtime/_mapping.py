"""In-process stores: ``MutableMapping`` objects and Django's ``LocMemCache``.

Plain mappings are guarded by one of a fixed set of striped locks chosen by
the mapping's ``id`` (bounded memory, no weak references needed: ``dict``
cannot be weakly referenced).  The lock only excludes other
``cachelint.runtime`` calls in this process; code that writes the mapping
directly bypasses it.  A mapping has no expiry of its own, so a TTL is kept in
the record's ``expires`` field (wall-clock milliseconds) and an expired entry
reads as absent and is dropped on access.

``LocMemCache`` is driven under its own ``_lock`` through the same helpers its
public methods use (``_has_expired``, ``_set``, ``_delete``), so its expiry,
culling and LRU order behave as usual.  Like every LocMemCache entry, ours is
kept pickled: the pickle holds only our ``bytes`` record.
"""

from __future__ import annotations

import pickle
import threading
import time
from collections.abc import MutableMapping
from typing import Any

from ._encoding import Record, Write, decode_record, ttl_milliseconds

_STRIPES = tuple(threading.Lock() for _ in range(64))


def lock_for(mapping: object) -> threading.Lock:
    """The lock that guards ``mapping`` (objects are 16-byte aligned, hence the shift)."""
    return _STRIPES[(id(mapping) >> 4) % len(_STRIPES)]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _live(mapping: MutableMapping[Any, Any], key: Any) -> Record | None:
    """The unexpired record at ``key``; the caller holds the mapping's lock."""
    record = decode_record(mapping.get(key))
    if record is not None and record.expires_ms is not None and record.expires_ms <= _now_ms():
        del mapping[key]
        return None
    return record


def mapping_read(mapping: MutableMapping[Any, Any], key: Any) -> Record | None:
    """The record at ``key`` in a plain mapping."""
    with lock_for(mapping):
        return _live(mapping, key)


def mapping_write(mapping: MutableMapping[Any, Any], key: Any, op: Write) -> bool:
    """Compare-and-set ``op`` at ``key`` in a plain mapping."""
    with lock_for(mapping):
        current = _live(mapping, key)
        if current is not None and current.version > op.version:
            return False
        expires = None if op.ttl is None else _now_ms() + ttl_milliseconds(op.ttl)
        mapping[key] = op.record(expires)
        return True


def _locmem_live(cache: Any, key: str) -> Record | None:
    """The unexpired record at a made key; the caller holds ``cache._lock``."""
    if cache._has_expired(key):  # also true for a missing key
        cache._delete(key)
        return None
    return decode_record(pickle.loads(cache._cache[key]))


def locmem_read(cache: Any, key: Any) -> Record | None:
    """The record at ``key`` in Django's ``LocMemCache``."""
    made = cache.make_and_validate_key(key)
    with cache._lock:
        return _locmem_live(cache, made)


def locmem_write(cache: Any, key: Any, op: Write) -> bool:
    """Compare-and-set ``op`` at ``key`` in Django's ``LocMemCache``."""
    made = cache.make_and_validate_key(key)
    data = pickle.dumps(op.record(), cache.pickle_protocol)
    with cache._lock:
        current = _locmem_live(cache, made)
        if current is not None and current.version > op.version:
            return False
        cache._set(made, data, op.ttl)  # timeout None: no expiry
        return True
