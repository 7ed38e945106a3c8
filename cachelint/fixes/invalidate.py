"""Fix for CL403: a blind delete becomes ``invalidate(cache, key, version=...)``.

The tombstone ``invalidate`` leaves carries the version just committed, so a refill
that read an older row loses against it (``set_if_newer`` refuses older versions),
where a blind delete leaves an empty key any late refill can fill.
"""

from __future__ import annotations

import libcst as cst

from cachelint.config import Config
from cachelint.diagnostics import Fix
from cachelint.facts import CacheOp
from cachelint.fixes.set_if_newer import ASYNC_LIBS, SUPPORTED_LIBS, FixOrReason
from cachelint.names import descendants


def build(op: CacheOp, module: cst.Module, config: Config) -> FixOrReason:
    if op.method != "delete" or op.key is None or len(op.call.args) != 1:
        return FixOrReason(None, f"`{op.method}()` with these arguments: no automatic fix")
    if op.kind.lib not in SUPPORTED_LIBS:
        return FixOrReason(None, f"cachelint.runtime cannot invalidate {op.kind.lib} keys")
    version = _version(op, config)
    if version is None:
        return FixOrReason(None, "no version found for a tombstone: expose the committed version")
    asynchronous = op.kind.lib in ASYNC_LIBS or (op.awaited and op.function.is_async)
    helper = "ainvalidate" if asynchronous else "invalidate"
    code = module.code_for_node
    replacement = f"{helper}({code(op.receiver)}, {code(op.key)}, version={version})"
    return FixOrReason(
        Fix(
            title=f"Replace with `{helper}(..., version={version})` (a tombstone)",
            # Readers that use the client's own get() would see the tombstone record.
            safety="unsafe",
            replacements=[(op.call, replacement)],
            imports=[("cachelint.runtime", helper)],
        ),
        None,
    )


def _version(op: CacheOp, config: Config) -> str | None:
    """A version attribute of an object in the key, else of the one object in the
    function that has one (``item.version += 1; item.save(); cache.delete(...)``)."""
    reads = op.function.attribute_reads
    key = op.key
    assert key is not None
    in_key = [n.value for n in [key, *descendants(key)] if isinstance(n, cst.Name)]
    for attribute in config.version_attributes:
        for name in in_key:
            if attribute in reads.get(name, ()):
                return f"{name}.{attribute}"
    candidates = sorted(
        f"{name}.{attribute}" for name, attributes in reads.items()
        for attribute in config.version_attributes if attribute in attributes
        and name not in {"self", "cls"}
    )
    return candidates[0] if len(candidates) == 1 else None
