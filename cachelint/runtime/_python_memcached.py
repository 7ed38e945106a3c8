"""memcached through python-memcached (``memcache.Client``) and pylibmc.

The same bounded ``gets``/``cas`` loop as for pymemcache (see ``_memcache``):
``add`` for an absent key, ``cas`` for a present one, re-read on a lost race,
:class:`VersionConflictError` after :data:`_memcache.MAX_ATTEMPTS`.

python-memcached keeps the token of a ``gets`` only when the client was built
with ``cache_cas=True`` (in ``client.cas_ids``, per thread: the client is a
``threading.local``), and its ``cas`` quietly becomes a blind ``set`` when it
holds no token for the key; so clients without ``cache_cas`` are refused.
Presence is decided by the token, not the value (a stored ``None`` or an
unpicklable foreign value reads as ``None`` too).  The caller's own token for
the key, if any, is put back afterwards so ``cas_ids`` does not grow.  Our
record is ``bytes``, which python-memcached stores with flags 0, unpickled and
uncompressed, and returns unchanged.  Its storage calls return 0 rather than
raise when no server answers: a failed ``add`` is therefore checked against
a dead server, which raises :class:`ConnectionError`.

pylibmc needs the ``cas`` behavior (``behaviors={"cas": True}``) for ``gets``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._encoding import Record, Write, decode_record
from ._errors import VersionConflictError
from ._memcache import MAX_ATTEMPTS, _backoff, expire_seconds

_MISSING = object()

# gets(client, key) -> (present, value, token); add/cas(client, key, record, token, expire) -> ok
Gets = Callable[[Any, Any], tuple[bool, Any, Any]]
Store = Callable[[Any, Any, bytes, Any, int], bool]


def cas_loop(client: Any, key: Any, op: Write, gets: Gets, add: Store, cas: Store) -> bool:
    """Compare-and-set ``op`` at ``key`` with a client's ``gets``/``add``/``cas``."""
    record, expire = op.record(), expire_seconds(op.ttl)
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            _backoff(attempt)
        present, current, token = gets(client, key)
        if not present:
            if add(client, key, record, None, expire):
                return True
            continue  # created under us: read it
        stored = decode_record(current)
        if stored is not None and stored.version > op.version:
            return False
        if cas(client, key, record, token, expire):
            return True
    raise VersionConflictError(key, MAX_ATTEMPTS)


# -- python-memcached ---------------------------------------------------------------------------


def _encoded(client: Any, key: Any) -> Any:
    """``key`` as ``Client._get``/``_set`` encode it (bytes, or ``(hash, bytes)``)."""
    encoder = getattr(client, "key_encoder", None)
    return client._encode_key(encoder(key) if encoder is not None else key)


def _token_key(client: Any, key: Any) -> Any:
    """The key ``client.cas_ids`` uses."""
    made = _encoded(client, key)
    return made[1] if isinstance(made, tuple) else made


def _pm_gets(client: Any, key: Any) -> tuple[bool, Any, Any]:
    token_key = _token_key(client, key)
    client.cas_ids.pop(token_key, None)
    value = client.gets(key)
    return token_key in client.cas_ids, value, None


def _pm_add(client: Any, key: Any, record: bytes, _token: Any, expire: int) -> bool:
    if client.add(key, record, time=expire):
        return True
    server, _ = client._get_server(_encoded(client, key))
    if server is None:
        raise ConnectionError(f"memcached add({key!r}): no live server (python-memcached)")
    return False


def _pm_cas(client: Any, key: Any, record: bytes, _token: Any, expire: int) -> bool:
    return bool(client.cas(key, record, time=expire))


def pm_write(client: Any, key: Any, op: Write) -> bool:
    """Compare-and-set ``op`` at ``key`` on a python-memcached ``Client(cache_cas=True)``."""
    if not getattr(client, "cache_cas", False):
        raise TypeError(
            "this python-memcached Client was built without cache_cas=True, so its gets() "
            "keeps no cas token and cas() silently falls back to a blind set: build it as "
            "memcache.Client(servers, cache_cas=True) (with Flask-Caching, pass such a client "
            "as CACHE_MEMCACHED_SERVERS)"
        )
    limit = client.server_max_value_length
    if limit and len(op.record()) > limit:
        raise ValueError(
            f"the stored value would exceed python-memcached's "
            f"server_max_value_length ({limit} bytes)"
        )
    token_key = _token_key(client, key)
    saved = client.cas_ids.get(token_key, _MISSING)
    try:
        return cas_loop(client, key, op, _pm_gets, _pm_add, _pm_cas)
    finally:
        if saved is _MISSING:
            client.cas_ids.pop(token_key, None)
        else:
            client.cas_ids[token_key] = saved


def pm_read(client: Any, key: Any) -> Record | None:
    """The record stored at ``key`` (None: absent or unversioned)."""
    return decode_record(client.get(key))


# -- pylibmc ------------------------------------------------------------------------------------


def _lm_gets(client: Any, key: Any) -> tuple[bool, Any, Any]:
    value, token = client.gets(key)
    return token is not None, value, token


def _lm_add(client: Any, key: Any, record: bytes, _token: Any, expire: int) -> bool:
    return bool(client.add(key, record, time=expire))


def _lm_cas(client: Any, key: Any, record: bytes, token: Any, expire: int) -> bool:
    return bool(client.cas(key, record, token, time=expire))


def lm_write(client: Any, key: Any, op: Write) -> bool:
    """Compare-and-set ``op`` at ``key`` on a ``pylibmc.Client`` with the cas behavior."""
    if not client.behaviors.get("cas"):
        raise TypeError(
            "this pylibmc Client has the cas behavior off, so it cannot gets()/cas(): build it "
            "as pylibmc.Client(servers, behaviors={'cas': True}) (with Flask-Caching, pass "
            "such a client as CACHE_MEMCACHED_SERVERS, or use SASLMemcachedCache with "
            "CACHE_OPTIONS={'behaviors': {'cas': True}})"
        )
    return cas_loop(client, key, op, _lm_gets, _lm_add, _lm_cas)


def lm_read(client: Any, key: Any) -> Record | None:
    """The record stored at ``key`` (None: absent or unversioned)."""
    return decode_record(client.get(key))


def pool_write(pool: Any, key: Any, op: Write) -> bool:
    """:func:`lm_write` on a client reserved from a pylibmc ``ClientPool``/``ThreadMappedPool``."""
    with pool.reserve() as client:
        return lm_write(client, key, op)


def pool_read(pool: Any, key: Any) -> Record | None:
    """:func:`lm_read` on a client reserved from a pylibmc pool."""
    with pool.reserve() as client:
        return lm_read(client, key)
