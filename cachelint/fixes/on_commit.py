"""Fix: an invalidation inside a Django transaction runs after the commit instead.

    cache.delete(f"team:{team.pk}")
    transaction.on_commit(partial(cache.delete, f"team:{team.pk}"))

``partial`` binds the arguments now, so a loop variable keeps the value it had at
this iteration (a ``lambda`` would read it when the callback runs: the last one).
Offered only for a delete call that is a whole statement inside
``transaction.atomic`` (block or decorator); imports ``partial`` from
``functools`` and ``transaction`` from ``django.db`` when the module lacks them.
"""

from __future__ import annotations

import io
import tokenize

import libcst as cst

from cachelint.diagnostics import Fix, Safety
from cachelint.facts import CacheOp, ModuleFacts
from cachelint.fixes.set_if_newer import FixOrReason

ON_COMMIT = "django.db.transaction.on_commit"
PARTIAL = "functools.partial"


def build(op: CacheOp, module: cst.Module, facts: ModuleFacts) -> FixOrReason:
    if op.category != "delete":
        return FixOrReason(None, "a write needs a version, not only a later time: no automatic fix")
    if op.transaction != "django":
        return FixOrReason(
            None, "move the invalidation after the commit (no automatic fix outside Django)"
        )
    if not op.standalone or op.awaited:
        return FixOrReason(None, "the result of the delete is used: no automatic fix")
    bound = _top_level_bindings(module)
    imports: list[tuple[str, str]] = []
    on_commit = _local_name(bound, ON_COMMIT)
    if on_commit is None:
        transaction = _local_name(bound, "django.db.transaction")
        if transaction is None:
            if "transaction" in bound or _bound_elsewhere(facts, "transaction",
                                                          "django.db.transaction"):
                return FixOrReason(None, "`transaction` names something else here: no automatic fix")
            transaction = "transaction"
            imports.append(("django.db", "transaction"))
        on_commit = f"{transaction}.on_commit"
    partial = _local_name(bound, PARTIAL)
    if partial is None:
        functools = _local_name(bound, "functools")
        if functools is not None:
            partial = f"{functools}.partial"
        elif "partial" in bound or _bound_elsewhere(facts, "partial", PARTIAL):
            return FixOrReason(None, "`partial` names something else here: no automatic fix")
        else:
            partial = "partial"
            imports.append(("functools", "partial"))
    arguments = _arguments(op.call, module)
    if arguments is None:
        return FixOrReason(None, "an argument spans several lines: no automatic fix")
    using = f", using={op.transaction_using}" if op.transaction_using not in (None, "None") else ""
    replacement = f"{on_commit}({partial}({', '.join(arguments)}){using})"
    fix = Fix(
        title=f"Invalidate after the commit: `{on_commit}({partial}(...))`",
        safety=_safety(op),
        replacements=[(op.call, replacement)],
        imports=imports,
    )
    return FixOrReason(fix, None)


def _arguments(call: cst.Call, module: cst.Module) -> list[str] | None:
    """``cache.delete``, then each argument on one line (comments between them are dropped,
    so a call holding any is left alone)."""
    texts = [module.code_for_node(call.func)]
    for arg in call.args:
        value = module.code_for_node(arg.value)
        if arg.keyword is not None:
            value = f"{arg.keyword.value}={value}"
        texts.append(f"{arg.star}{value}")
    if any("\n" in text or "\r" in text for text in texts):
        return None
    if _has_comment(module.code_for_node(call)):
        return None
    return texts


def _has_comment(code: str) -> bool:
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError):
        return True
    return any(token.type == tokenize.COMMENT for token in tokens)


def _safety(op: CacheOp) -> Safety:
    """Unsafe when the receiver is only name-resolved, or when the same function reads the
    key again before the commit: that read now sees the old cached value."""
    if not op.kind.resolved:
        return "unsafe"
    later_reads = any(
        other.category == "read" and other.index > op.index and other.in_transaction
        and other.key_text == op.key_text
        for other in op.function.ops
    )
    return "unsafe" if later_reads else "safe"


def _top_level_bindings(module: cst.Module) -> dict[str, str]:
    """Local name -> qualified name of the module's top-level imports; other top-level
    assignments and definitions map to an empty string."""
    bound: dict[str, str] = {}
    for statement in module.body:
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            bound[statement.name.value] = ""
            continue
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Import):
                for alias in small.names:
                    full = _dotted(alias.name)
                    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                        bound[alias.asname.name.value] = full
                    else:
                        head = full.split(".")[0]
                        bound[head] = head
            elif isinstance(small, cst.ImportFrom) and not small.relative \
                    and small.module is not None and not isinstance(small.names, cst.ImportStar):
                source = _dotted(small.module)
                for alias in small.names:
                    name = _dotted(alias.name)
                    local = name
                    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                        local = alias.asname.name.value
                    bound[local] = f"{source}.{name}"
            elif isinstance(small, cst.Assign):
                for target in small.targets:
                    if isinstance(target.target, cst.Name):
                        bound[target.target.value] = ""
    return bound


def _bound_elsewhere(facts: ModuleFacts, name: str, qualified: str) -> bool:
    """``name`` is imported as something other than ``qualified`` somewhere (a function
    may import it), or assigned as a local in some function."""
    imported = facts.imports.get(name)
    return (imported is not None and imported != qualified) or any(
        name in f.bound_values for f in facts.functions
    )


def _local_name(bound: dict[str, str], qualified: str) -> str | None:
    for local, target in bound.items():
        if target == qualified:
            return local
    return None


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return node.value if isinstance(node, cst.Name) else ""
