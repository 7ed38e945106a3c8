"""Fix: a hand-written get/compare/set becomes one atomic ``set_if_newer``.

    current = cache.get(key)
    if current is None or current["version"] < version:
        cache.set(key, value, timeout=300)

becomes

    current = get_value(cache, key, codec=JsonCodec())
    set_if_newer(cache, key, value, version=version, ttl=300, codec=JsonCodec())

Offered only when the whole ``if`` is the check and the write: the test is
``cached < v`` / ``v > cached`` (``<=``/``>=`` too), optionally after
``cached is None or`` / ``not cached or``; the body is the single write of the
key that was read; there is no ``else``; the version ``v`` is a plain
expression. Anything else keeps the diagnostic without a fix.
"""

from __future__ import annotations

import io
import tokenize

import libcst as cst

from cachelint.config import Config
from cachelint.diagnostics import Fix
from cachelint.facts import CacheOp, VersionGuard
from cachelint.fixes.set_if_newer import (
    ASYNC_LIBS,
    BLOCKING_KEYWORDS,
    SAFE_METHODS,
    SUPPORTED_LIBS,
    FixOrReason,
    versioned_write,
)
from cachelint.names import descendants, unwrap_await

NO_FIX = "no automatic fix"


def build(op: CacheOp, module: cst.Module, config: Config) -> FixOrReason:
    guard = op.guard
    if guard is None or guard.after_exit or guard.newer is None:
        return FixOrReason(None, f"the check is not `if cached < version:` around the write: {NO_FIX}")
    statement = guard.statement
    if statement.orelse is not None or _single_write(statement) is not op.call:
        return FixOrReason(None, f"the `if` does more than this write: {NO_FIX}")
    if not _only_the_check(statement.test, guard):
        return FixOrReason(None, f"the `if` tests more than the version: {NO_FIX}")
    if op.key_text not in guard.read_keys:
        return FixOrReason(None, f"the version is read from another key: {NO_FIX}")
    if op.method not in SAFE_METHODS or op.kind.lib not in SUPPORTED_LIBS:
        return FixOrReason(None, f"cachelint.runtime cannot replace `{op.method}()` here: {NO_FIX}")
    if any(a.star or (a.keyword is not None and a.keyword.value in BLOCKING_KEYWORDS)
           for a in op.call.args):
        return FixOrReason(None, f"an argument has no equivalent in set_if_newer: {NO_FIX}")
    if not _plain(guard.newer):
        return FixOrReason(None, f"the version is not a plain expression: {NO_FIX}")
    indent = _indentation(module, statement)
    if indent is None or _has_multiline_string(module.code_for_node(statement)):
        return FixOrReason(None, f"a multi-line string would change: {NO_FIX}")
    assert op.key is not None and op.value is not None
    version = module.code_for_node(guard.newer)
    asynchronous = op.kind.lib in ASYNC_LIBS or (op.awaited and op.function.is_async)
    written = versioned_write(op, module, config, version)
    write = f"{'await ' if asynchronous else ''}{written.call}"
    comments = _comments(statement)
    text = "".join(f"{c}\n{indent}" for c in comments) + write.replace("\n", "\n" + indent)
    replacements: list[tuple[cst.CSTNode, str]] = [(statement, text), *written.reads]
    helper, imports = written.helper, written.imports
    fix = Fix(
        title=f"Replace the check and the write with `{helper}(..., version={version})`",
        safety="unsafe",
        replacements=replacements,
        imports=imports,
    )
    return FixOrReason(fix, None)


def _single_write(statement: cst.If) -> cst.BaseExpression | None:
    """The call of ``if ...: cache.set(...)`` when the body is that one statement."""
    body = statement.body
    lines = body.body if isinstance(body, cst.IndentedBlock) else [body]
    if len(lines) != 1:
        return None
    line = lines[0]
    smalls = line.body if isinstance(line, (cst.SimpleStatementLine, cst.SimpleStatementSuite)) \
        else ()
    if len(smalls) != 1 or not isinstance(smalls[0], cst.Expr):
        return None
    return unwrap_await(smalls[0].value)


def _only_the_check(test: cst.BaseExpression, guard: VersionGuard) -> bool:
    """``cached < v``, or ``<absent> or cached < v`` where ``<absent>`` tests the cached read."""
    if test is guard.comparison:
        return True
    if not isinstance(test, cst.BooleanOperation) or not isinstance(test.operator, cst.Or):
        return False
    if test.right is not guard.comparison:
        return False
    cached_names = {n.value for n in [guard.cached, *descendants(guard.cached)]
                    if isinstance(n, cst.Name)}
    absent = test.left
    if isinstance(absent, cst.UnaryOperation) and isinstance(absent.operator, cst.Not):
        return isinstance(absent.expression, cst.Name) and absent.expression.value in cached_names
    if isinstance(absent, cst.Comparison) and len(absent.comparisons) == 1:
        target = absent.comparisons[0]
        return (
            isinstance(absent.left, cst.Name) and absent.left.value in cached_names
            and isinstance(target.operator, (cst.Is, cst.Equal))
            and isinstance(target.comparator, cst.Name) and target.comparator.value == "None"
        )
    return False


def _plain(node: cst.BaseExpression) -> bool:
    """A name, attribute, subscript or ``int(...)`` of one: a version that is just there."""
    if isinstance(node, cst.Call):
        return (
            isinstance(node.func, cst.Name) and node.func.value == "int"
            and len(node.args) == 1 and _plain(node.args[0].value)
        )
    if isinstance(node, cst.Subscript):
        return _plain(node.value)
    if isinstance(node, cst.Attribute):
        return _plain(node.value)
    return isinstance(node, cst.Name)


def _indentation(module: cst.Module, target: cst.CSTNode) -> str | None:
    """The indentation of ``target``'s line, from the blocks that enclose it."""
    stack: list[tuple[cst.CSTNode, str]] = [(module, "")]
    while stack:
        node, indent = stack.pop()
        if node is target:
            return indent
        if isinstance(node, cst.IndentedBlock):
            indent += node.indent if node.indent is not None else module.default_indent
        if isinstance(node, cst.BaseExpression):
            continue  # statements never live inside expressions
        stack.extend((child, indent) for child in node.children)
    return None


def _comments(statement: cst.If) -> list[str]:
    """Comments that would vanish with the ``if``: its header's and those above the write."""
    found: list[str] = []
    body = statement.body
    if isinstance(body, cst.IndentedBlock):
        if body.header.comment is not None:
            found.append(body.header.comment.value)
        first = body.body[0]
        if isinstance(first, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            found.extend(line.comment.value for line in first.leading_lines
                         if line.comment is not None)
    return found


def _has_multiline_string(code: str) -> bool:
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return True
    return any(t.type == tokenize.STRING and t.start[0] != t.end[0] for t in tokens)
