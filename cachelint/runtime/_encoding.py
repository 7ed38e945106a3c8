"""Argument checks, codecs and the one-string storage format.

Every key managed by :mod:`cachelint.runtime` holds one byte string::

    CL1:<kind>:<version>:<expires>:<payload>

``CL1``
    Format marker and format version.
``kind``
    One ASCII letter: ``b`` payload is the stored ``bytes``; ``s`` payload is
    the stored ``str`` in UTF-8; ``c`` payload is the output of a codec's
    ``dumps``; ``t`` tombstone left by ``invalidate`` (empty payload).
``version``
    The version as canonical ASCII decimal: digits only, no sign, no leading
    zeros (``0`` for zero).  Canonical form makes "longer is larger, same length
    compares byte by byte" exact, which is how the Redis script compares
    versions of any size without Lua's doubles.
``expires``
    Empty, or (plain mappings only, which have no expiry of their own) the
    Unix time in integer milliseconds from which the entry reads as absent.
``payload``
    The value's bytes, up to the end of the string (it may contain ``:``).

Examples: ``CL1:s:42::hello``, ``CL1:t:43::``.  A value that does not parse as
this format (written by other code) is *unversioned*: it reads as a miss and
any versioned write replaces it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, runtime_checkable

MARKER = b"CL1"
KIND_BYTES = b"b"
KIND_STR = b"s"
KIND_CODEC = b"c"
KIND_TOMBSTONE = b"t"
_KINDS = frozenset((KIND_BYTES, KIND_STR, KIND_CODEC, KIND_TOMBSTONE))


@runtime_checkable
class Codec(Protocol):
    """Turns values that are neither ``bytes`` nor ``str`` into bytes and back."""

    def dumps(self, obj: Any) -> bytes:
        """Serialise ``obj``."""
        ...

    def loads(self, data: bytes) -> Any:
        """Deserialise what :meth:`dumps` produced."""
        ...


class JsonCodec:
    """A ready :class:`Codec`: compact UTF-8 JSON (dicts, lists, numbers, ...)."""

    def dumps(self, obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    def loads(self, data: bytes) -> Any:
        return json.loads(data)

    def __repr__(self) -> str:
        return "JsonCodec()"


def check_version(version: object) -> int:
    """Validate a version: a non-negative ``int`` (``bool``, floats, strings refused)."""
    if isinstance(version, bool) or not isinstance(version, int):
        raise TypeError(
            "version must be a non-negative int (a row version, sequence number or LSN), "
            f"not {type(version).__name__}: {version!r}"
        )
    if version < 0:
        raise ValueError(f"version must be a non-negative int, got {version}")
    return int(version)


def version_text(version: int) -> bytes:
    """Canonical decimal form of a checked version."""
    try:
        return b"%d" % version
    except ValueError:  # past sys.get_int_max_str_digits() (4300 by default)
        raise ValueError(
            f"version has {version.bit_length()} bits: too large to write as decimal text"
        ) from None


def check_ttl(ttl: object) -> float | None:
    """Validate a TTL in seconds: ``None`` (no expiry) or a positive finite number."""
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)):
        raise TypeError(f"ttl must be a number of seconds or None, not {type(ttl).__name__}")
    if not math.isfinite(ttl) or ttl <= 0:
        raise ValueError(f"ttl must be a positive, finite number of seconds or None, got {ttl!r}")
    return float(ttl)


def ttl_milliseconds(ttl: float) -> int:
    """Whole milliseconds, rounded up (never 0)."""
    return max(1, math.ceil(round(ttl * 1000, 6)))


def ttl_seconds(ttl: float) -> int:
    """Whole seconds, rounded up (never 0, which would mean "no expiry")."""
    return max(1, math.ceil(round(ttl, 6)))


def encode_value(value: object, codec: Codec | None) -> tuple[bytes, bytes]:
    """Return ``(kind, payload)`` for a value: native for bytes/str, else the codec."""
    if codec is not None:
        data = codec.dumps(value)
        if not isinstance(data, bytes):
            raise TypeError(f"codec.dumps() must return bytes, got {type(data).__name__}")
        return KIND_CODEC, data
    if isinstance(value, bytes):
        return KIND_BYTES, bytes(value)
    if isinstance(value, str):
        return KIND_STR, value.encode("utf-8", "surrogatepass")
    raise TypeError(
        f"cannot store a {type(value).__name__} without a codec: only bytes and str are stored "
        "natively (no pickle by default); pass codec=JsonCodec() or any object with "
        "dumps(obj) -> bytes and loads(bytes) -> obj"
    )


class Write(NamedTuple):
    """One validated write: what every backend's compare-and-set receives."""

    version: int
    version_text: bytes
    kind: bytes
    payload: bytes
    ttl: float | None

    def record(self, expires_ms: int | None = None) -> bytes:
        """The stored string (see the module docstring)."""
        expires = b"" if expires_ms is None else b"%d" % expires_ms
        header = b"%s:%s:%s:%s:" % (MARKER, self.kind, self.version_text, expires)
        return header + self.payload


@dataclass(frozen=True)
class Record:
    """A parsed stored string."""

    kind: bytes
    version: int
    expires_ms: int | None
    payload: bytes

    @property
    def is_tombstone(self) -> bool:
        return self.kind == KIND_TOMBSTONE


def _canonical_int(text: bytes) -> int | None:
    if not text.isdigit() or (len(text) > 1 and text[0] == 0x30):  # no leading zeros
        return None
    return int(text)


def decode_record(raw: object) -> Record | None:
    """Parse a stored string; ``None`` when absent or not in this format (unversioned)."""
    if not isinstance(raw, bytes) or not raw.startswith(MARKER + b":"):
        return None
    parts = raw.split(b":", 4)
    if len(parts) != 5 or parts[1] not in _KINDS:
        return None
    version = _canonical_int(parts[2])
    if version is None:
        return None
    expires: int | None = None
    if parts[3]:
        expires = _canonical_int(parts[3])
        if expires is None:
            return None
    return Record(parts[1], version, expires, parts[4])


def decode_value(record: Record, codec: Codec | None) -> object:
    """The value a (non-tombstone) record holds, with its original type."""
    if record.kind == KIND_BYTES:
        return record.payload
    if record.kind == KIND_STR:
        return record.payload.decode("utf-8", "surrogatepass")
    if codec is None:
        raise TypeError(
            "this value was stored with a codec: pass the same codec to get_versioned(codec=...)"
        )
    return codec.loads(record.payload)
