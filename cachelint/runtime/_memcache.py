"""memcached through pymemcache: a bounded ``gets``/``cas`` loop.

A present key is replaced with ``cas`` (fails if anyone wrote since our
``gets``); an absent key is created with ``add`` (fails if anyone created it
first).  A lost race re-reads and tries again after a short jittered backoff,
at most :data:`MAX_ATTEMPTS` times, then :class:`VersionConflictError`.

pymemcache's ``noreply`` defaults to True for storage commands, which makes
them return True whatever happened, so every call here passes
``noreply=False`` and trusts only the server's reply.  Works with ``Client``,
``HashClient``, ``PooledClient`` and ``RetryingClient``.  The client's serde
must store ``bytes`` unchanged (the default one and ``pickle_serde`` do).

TTLs are whole seconds rounded up; beyond 30 days memcached reads an expiry as
an absolute Unix time, so those are converted.
"""

from __future__ import annotations

import random
import time
from typing import Any

from ._encoding import Record, Write, decode_record, ttl_seconds
from ._errors import VersionConflictError

MAX_ATTEMPTS = 64
_BACKOFF_BASE = 0.0002  # seconds; doubles per lost round, capped
_BACKOFF_CAP = 0.01
_RELATIVE_EXPIRY_LIMIT = 30 * 24 * 3600


def expire_seconds(ttl: float | None) -> int:
    """memcached's ``exptime`` for a TTL: 0 means "never"."""
    if ttl is None:
        return 0
    seconds = ttl_seconds(ttl)
    if seconds > _RELATIVE_EXPIRY_LIMIT:
        return int(time.time()) + seconds
    return seconds


def _backoff(attempt: int) -> None:
    time.sleep(random.uniform(0, min(_BACKOFF_CAP, _BACKOFF_BASE * 2**attempt)))


def write(client: Any, key: Any, op: Write) -> bool:
    """Compare-and-set ``op`` at ``key``; True when it was stored."""
    record, expire = op.record(), expire_seconds(op.ttl)
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            _backoff(attempt)
        reply = client.gets(key)
        if not isinstance(reply, tuple):  # HashClient(ignore_exc=True) with no live server
            raise ConnectionError(f"memcached gets({key!r}) got no reply from any server")
        current, cas_token = reply
        if cas_token is None:
            if client.add(key, record, expire=expire, noreply=False):
                return True
            continue  # created under us: read it
        stored = decode_record(current)
        if stored is not None and stored.version > op.version:
            return False
        if client.cas(key, record, cas_token, expire=expire, noreply=False):
            return True
        # False: changed since gets; None: deleted since gets. Either way, re-read.
    raise VersionConflictError(key, MAX_ATTEMPTS)


def read(client: Any, key: Any) -> Record | None:
    """The record stored at ``key`` (None: absent or unversioned)."""
    return decode_record(client.get(key))
