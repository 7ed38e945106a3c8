"""Fix: a blind cache write becomes ``set_if_newer(cache, key, value, version=..., ttl=...)``.

Offered only when a trusted version exists in the code and the runtime has an
atomic compare-and-set for the client; otherwise the reason says what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from cachelint import keys, knowledge
from cachelint.config import Config
from cachelint.diagnostics import Fix, Safety
from cachelint.facts import CacheOp, ModuleFacts
from cachelint.names import keyword, positional, unwrap_await

# Client libraries ``cachelint.runtime`` can write to atomically.
SUPPORTED_LIBS = frozenset(
    {"django", "redis", "redis-async", "pymemcache", "memcache", "flask-caching", "aiocache",
     "unknown"}
)
ASYNC_LIBS = frozenset({"redis-async", "aiocache"})
# The runtime refuses some configurations of these at run time (python-memcached without
# ``cache_cas=True``, flask-caching over a backend with no compare-and-set): never "safe".
CONFIG_DEPENDENT_LIBS = frozenset({"memcache", "flask-caching"})
# Methods with one key and one value; ``add``/``replace``/``nx`` change meaning: unsafe.
FIXABLE_METHODS = frozenset({"set", "setex", "psetex", "add", "replace", "setnx"})
SAFE_METHODS = frozenset({"set", "setex", "psetex"})
# Keyword arguments the helper has no equivalent for: no fix.
BLOCKING_KEYWORDS = frozenset({"version", "xx", "keepttl", "get", "exat", "pxat", "key_prefix"})
DROPPED_KEYWORDS = frozenset({"noreply", "nx", "flags"})


@dataclass
class FixOrReason:
    fix: Fix | None
    reason: str | None


def build(op: CacheOp, module: cst.Module, facts: ModuleFacts, config: Config) -> FixOrReason:
    if op.method not in FIXABLE_METHODS:
        what = "writes several values" if op.method in knowledge.MULTI_KEY_METHODS \
            else "has no set_if_newer equivalent"
        return FixOrReason(None, f"`{op.method}()` {what}: no automatic fix")
    if op.kind.lib not in SUPPORTED_LIBS:
        return FixOrReason(
            None, f"cachelint.runtime has no atomic compare-and-set for {op.kind.lib}"
        )
    blocking = [
        a.keyword.value for a in op.call.args
        if a.keyword is not None and a.keyword.value in BLOCKING_KEYWORDS
    ]
    if blocking or any(a.star for a in op.call.args):
        what = ", ".join(f"`{b}=`" for b in blocking) or "`*args`/`**kwargs`"
        return FixOrReason(None, f"{what} has no equivalent in set_if_newer: no automatic fix")
    version = version_expression(op, module, config)
    if version is None:
        return FixOrReason(None, "no version found: expose one from the source of truth")
    written = versioned_write(op, module, config, version)
    replacements: list[tuple[cst.CSTNode, str]] = [(op.call, written.call),
                                                   *written.reads]
    codec = written.codec
    readers = written.readers
    unsafe = (
        op.method not in SAFE_METHODS
        or not op.kind.resolved
        or op.kind.lib in CONFIG_DEPENDENT_LIBS
        or any(a.keyword is not None and a.keyword.value == "nx" for a in op.call.args)
        or (codec and not _is_json_literal(op))
        or _other_readers(op, facts, readers)
    )
    safety: Safety = "unsafe" if unsafe else "safe"
    fix = Fix(
        title=f"Replace with `{written.helper}(..., version={version})`",
        safety=safety,
        replacements=replacements,
        imports=written.imports,
    )
    return FixOrReason(fix, None)


@dataclass
class VersionedWrite:
    """The ``set_if_newer(...)`` call replacing a write, and what comes with it."""

    helper: str
    call: str
    reads: list[tuple[cst.CSTNode, str]]  # the same key's reads, now ``get_value(...)``
    readers: list[CacheOp]
    imports: list[tuple[str, str]]
    codec: bool


def versioned_write(op: CacheOp, module: cst.Module, config: Config, version: str) -> VersionedWrite:
    """``set_if_newer(cache, key, value, version=..., ttl=...)`` for ``op`` (the ``a*``
    helper for asyncio clients), with the function's reads of the key moved to
    ``get_value``: keys written by the runtime carry a version header that plain
    ``get`` cannot read."""
    assert op.key is not None and op.value is not None
    code = module.code_for_node
    prefix = "a" if op.kind.lib in ASYNC_LIBS or (op.awaited and op.function.is_async) else ""
    codec = [] if _is_text(op.value, op) else ["codec=JsonCodec()"]
    arguments = [code(op.receiver), code(op.key), code(op.value), f"version={version}"]
    ttl = ttl_expression(op, module)
    if ttl is not None:
        arguments.append(f"ttl={ttl}")
    helper = f"{prefix}set_if_newer"
    readers = _same_key_reads(op)
    reads: list[tuple[cst.CSTNode, str]] = []
    for read in readers:
        read_arguments = [code(read.receiver), code(read.key)] if read.key else []
        default = positional(read.call, 1)
        if default is not None:
            read_arguments.append(code(default.value))
        reads.append((read.call, f"{prefix}get_value({', '.join(read_arguments + codec)})"))
    imports = [(config.helper_module, helper)]
    if readers:
        imports.append(("cachelint.runtime", f"{prefix}get_value"))
    if codec:
        imports.append(("cachelint.runtime", "JsonCodec"))
    call = f"{helper}({', '.join([*arguments, *codec])})"
    return VersionedWrite(helper, call, reads, readers, imports, bool(codec))


_TEXT_CALLS = frozenset({"str", "dumps", "encode", "decode", "render_to_string", "format",
                         "join", "hexdigest", "isoformat", "to_json", "model_dump_json"})


def _is_text(node: cst.BaseExpression | None, op: CacheOp) -> bool:
    """Syntactically a ``str`` or ``bytes``: stored natively, no codec needed."""
    if node is None:
        return False
    node = unwrap_await(node)
    if isinstance(node, (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString)):
        return True
    if isinstance(node, cst.Call):
        func = node.func
        name = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")
        return name in _TEXT_CALLS
    if isinstance(node, cst.Name):
        bound = op.function.bound_values.get(node.value)
        return bound is not None and bound is not node and _is_text(bound, op)
    return False


def _is_json_literal(op: CacheOp) -> bool:
    """A dict or list literal (or a name bound to one): JSON keeps its shape."""
    return _dict_literal(op) is not None or isinstance(op.value, cst.List)


def _same_key_reads(op: CacheOp) -> list[CacheOp]:
    return [
        other for other in op.function.ops
        if other.category == "read" and other.method == "get" and other.key_text == op.key_text
        and other.key is not None
        and other.receiver_text == op.receiver_text
    ]


def _other_readers(op: CacheOp, facts: ModuleFacts, rewritten: list[CacheOp]) -> bool:
    """Reads of the same key family elsewhere in the module would see the versioned format."""
    if op.key_family is None:
        return False
    return any(
        other.category == "read" and other.key_family == op.key_family and other not in rewritten
        for other in facts.ops
    )


def version_expression(op: CacheOp, module: cst.Module, config: Config) -> str | None:
    """A version that exists in the code: a ``"version"`` entry of the dict being written,
    or a version attribute read, in this function, from an object the value derives from."""
    literal = _dict_literal(op)
    if literal is not None:
        for element in literal.elements:
            if isinstance(element, cst.DictElement):
                key = keys.string_value(element.key)
                if key in config.version_attributes:
                    return module.code_for_node(element.value)
    reads = op.function.attribute_reads
    for attribute in config.version_attributes:
        for root in sorted(op.roots):
            if attribute in reads.get(root, ()):
                return f"{root}.{attribute}"
    return None


def _dict_literal(op: CacheOp) -> cst.Dict | None:
    value = op.value
    if value is None:
        return None
    value = unwrap_await(value)
    if isinstance(value, cst.Dict):
        return value
    if isinstance(value, cst.Name):
        return op.function.dict_literals.get(value.value)
    return None


def ttl_expression(op: CacheOp, module: cst.Module) -> str | None:
    """The original expiry in seconds, for every client's spelling of it."""
    code = module.code_for_node
    call = op.call
    if op.method in {"setex", "psetex"}:
        arg = keyword(call, "time") or positional(call, 1)
        if arg is None:
            return None
        return _seconds(code(arg.value), arg.value, op.method == "psetex")
    names = knowledge.TTL_KEYWORDS.get(op.kind.lib, knowledge.TTL_KEYWORDS["unknown"])
    for name in names:
        arg = keyword(call, name)
        if arg is not None:
            return _seconds(code(arg.value), arg.value, name in knowledge.MILLISECOND_TTL_KEYWORDS)
    arg = positional(call, 2)  # set(key, value, <expiry in seconds>) for every client
    if arg is not None:
        return _seconds(code(arg.value), arg.value, False)
    if op.kind.lib == "django":
        # Django's omitted timeout means the cache's default, not "never".
        return f"{code(op.receiver)}.default_timeout"
    return None


def _seconds(text: str, node: cst.BaseExpression, milliseconds: bool) -> str:
    if isinstance(node, cst.Call) and (
        getattr(node.func, "value", None) == "timedelta"
        or getattr(getattr(node.func, "attr", None), "value", None) == "timedelta"
    ):
        return f"{text}.total_seconds()"
    if milliseconds:
        if isinstance(node, (cst.Name, cst.Attribute, cst.Integer, cst.Call, cst.Subscript)):
            return f"{text} / 1000"
        return f"({text}) / 1000"
    return text
