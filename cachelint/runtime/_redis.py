"""Redis: one server-side Lua script per write, one round trip.

The script reads the current version from the stored header and compares it
with the new one as canonical decimal strings: the longer is larger; equal
lengths compare 15 digits at a time, and a 15-digit chunk is exact in a
double.  So versions of any size order exactly, although Lua numbers are
doubles that lose precision past 2**53.  A version with a leading zero is not
canonical: such a value counts as unversioned.  The script then ``SET``s the
record, with ``PX`` when a TTL is given (``ARGV[3]``, passed only then).  It
reads only the first 64 bytes (``GETRANGE``) unless the header is longer, so
large values are not copied into Lua.

Calls go out as ``EVALSHA``; on ``NOSCRIPT`` (script cache flushed, failover,
new node) the same call is repeated as ``EVAL``, which also caches the script.
The script touches one key, so it is valid on Redis Cluster.  Reads are a plain
``GET`` whose reply is never decoded, so clients created with
``decode_responses=True`` work too.  redis-py is imported only when a Redis
client is used.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ._encoding import Record, Write, decode_record, ttl_milliseconds

SCRIPT = """
local head = redis.call('GETRANGE', KEYS[1], 0, 63)
local current = string.match(head, '^CL1:[bsct]:(%d+):')
if not current and #head == 64 and string.sub(head, 1, 4) == 'CL1:' then
  current = string.match(redis.call('GET', KEYS[1]), '^CL1:[bsct]:(%d+):')
end
if current and (#current == 1 or string.byte(current) ~= 48) then
  local new = ARGV[1]
  if #current > #new then return 0 end
  if #current == #new and current ~= new then
    for i = 1, #new, 15 do
      local a = tonumber(string.sub(current, i, i + 14))
      local b = tonumber(string.sub(new, i, i + 14))
      if a ~= b then
        if a > b then return 0 end
        break
      end
    end
  end
end
if ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[2])
end
return 1
"""
SCRIPT_SHA1 = hashlib.sha1(SCRIPT.encode("ascii")).hexdigest()


def _noscript_error() -> type[Exception]:
    from redis.exceptions import NoScriptError

    return NoScriptError


def _never_decode() -> dict[str, Any]:
    from redis.client import NEVER_DECODE

    return {NEVER_DECODE: []}


def _call(client: Any, command: str, script: str, key: Any, op: Write) -> Any:
    """EVALSHA/EVAL with KEYS = [key], ARGV = [version, record] (+ [ttl ms])."""
    if op.ttl is None:
        return client.execute_command(command, script, 1, key, op.version_text, op.record())
    px = b"%d" % ttl_milliseconds(op.ttl)
    return client.execute_command(command, script, 1, key, op.version_text, op.record(), px)


def write(client: Any, key: Any, op: Write) -> bool:
    """Compare-and-set ``op`` at ``key``; True when it was stored."""
    try:
        result = _call(client, "EVALSHA", SCRIPT_SHA1, key, op)
    except _noscript_error():  # evaluated only once an exception is in flight
        result = _call(client, "EVAL", SCRIPT, key, op)
    return int(result) == 1


def read(client: Any, key: Any) -> Record | None:
    """The record stored at ``key`` (None: absent or unversioned)."""
    return decode_record(client.execute_command("GET", key, **_never_decode()))


async def awrite(client: Any, key: Any, op: Write) -> bool:
    """:func:`write` for ``redis.asyncio`` clients."""
    try:
        result = await _call(client, "EVALSHA", SCRIPT_SHA1, key, op)
    except _noscript_error():
        result = await _call(client, "EVAL", SCRIPT, key, op)
    return int(result) == 1


async def aread(client: Any, key: Any) -> Record | None:
    """:func:`read` for ``redis.asyncio`` clients."""
    return decode_record(await client.execute_command("GET", key, **_never_decode()))
