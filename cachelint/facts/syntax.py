"""Small judgements on CST nodes and names, shared by the facts walk."""

from __future__ import annotations

import re

import libcst as cst

from cachelint import keys, knowledge
from cachelint.names import (
    descendants,
    has_word,
    keyword,
    method_call,
    positional,
    terminal_name,
    words,
)

HIT = "!"  # marks a branch where the cached value was found
MUTATORS = frozenset({"append", "extend", "insert", "update", "add", "setdefault", "appendleft"})
MAX_KEY_HOPS = 4
# Attributes naming a row's identity: a cached identifier never goes stale.
IDENTIFIER_ATTRIBUTES = frozenset({"id", "pk", "uuid"})
# A helper whose name has one of these words builds cache keys (``user_cache_key()``).
KEY_HELPER_WORDS = frozenset({"key", "keys", "cache", "cachekey", "prefix", "prefixed"})
# ... and the words naming a class of key helpers (``CacheKeys``, not ``CacheService``).
OWNER_KEY_WORDS = frozenset({"key", "keys", "cachekey", "cachekeys", "prefix", "prefixes"})
# ... and words too common to tell one key method from another (``get_cache_key``).
GENERIC_KEY_WORDS = frozenset({"get", "make", "build", "gen", "generate", "create", "compute",
                               "to", "for", "of", "the", "default", "full", "name", "cached"})


def string_index(node: cst.Subscript) -> str | None:
    """``data["version"]``: the string a subscript indexes with, if constant."""
    if len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
        return keys.string_value(node.slice[0].slice.value)
    return None


TOKEN_CALLS = re.compile(r"uuid|token|secrets|getpid|gethostname|random|urandom")
# Generators of fresh tokens, by qualified name (prefixes end with a dot).
TOKEN_GENERATORS = ("uuid.", "secrets.", "random.", "os.urandom", "os.getpid",
                    "socket.gethostname", "shortuuid.", "ulid.", "nanoid.")
# Whole words of a key, or of a camelCase part (``adblocklist`` is not a lock).
LOCK_KEY = re.compile(
    r"(?:^|[^a-z])(?:locks?|locked|lockout|mutex|semaphore|leader|throttled?|ratelimit"
    r"|rate_?limit(?:ed)?)(?:$|[^a-z])"
)
# ``cache.add(f"fill_claim:{rx}", worker)``: claiming work, when what is stored is not a
# loaded row (``claim:{id}`` may also be an insurance claim's data).
CLAIM_KEY = re.compile(r"(?:^|[^a-z])claim(?:s|ed)?(?:$|[^a-z])")
# Words of a key that a plain ``set`` uses to claim something rather than to cache it.
LOCK_WORDS = frozenset({"lock", "locked", "locks", "mutex", "semaphore", "leader"})
NON_CACHE_TYPES = frozenset(
    {
        "set", "list", "tuple", "str", "int", "frozenset", "bytes", "contextvars.ContextVar",
        "threading.Event", "asyncio.Event", "threading.local", "functools.lru_cache",
        "functools.cache", "functools.cached_property", "property",
    }
)


MODEL_GETTER_WORDS = frozenset({"get", "filter", "all", "first", "select", "find", "fetch",
                                 "load", "query", "lookup", "by"})


def is_model_getter(receiver_name: str, method: str) -> bool:
    """``DataSource.get_by_id(...)``, ``User.query.filter_by(...)``: a model class read."""
    if receiver_name == "query":  # Flask-SQLAlchemy's ``Model.query``
        return True
    if not receiver_name[:1].isupper() or receiver_name.isupper():
        return False
    method_words = words(method)
    return bool(method_words) and method_words[0] in MODEL_GETTER_WORDS


def ends_flow(body: cst.BaseSuite) -> bool:
    statements = body.body
    if not statements:
        return False
    last = statements[-1]
    if isinstance(last, cst.SimpleStatementLine):
        return isinstance(last.body[-1], (cst.Return, cst.Raise, cst.Continue, cst.Break))
    return isinstance(last, (cst.Return, cst.Raise, cst.Continue, cst.Break))


def leaves_on_success(body: cst.BaseSuite) -> bool:
    """The block ends the flow, or ends with a ``with``/``try`` whose own block does
    (``with suppress(ValueError): return json.loads(hit)``): what follows runs only
    when that block failed."""
    if ends_flow(body):
        return True
    last = body.body[-1] if body.body else None
    if isinstance(last, (cst.With, cst.Try, cst.TryStar)):
        return leaves_on_success(last.body)
    return False


_ORDERING_OPERATORS = (cst.LessThan, cst.LessThanEqual, cst.GreaterThan, cst.GreaterThanEqual)
# Words naming what orders cache entries: versions, update and event times, offsets.
_ORDERING_WORDS = knowledge.VERSION_WORDS | frozenset(
    {"updated", "modified", "created", "generated", "seen", "timestamp", "stamp", "ts", "mtime",
     "offset", "serial"}
)


def ordering_named(node: cst.BaseExpression) -> bool:
    """``cached["version"]``, ``cached.get("version")``, ``int(cur_ver)``,
    ``row.updated_at``: names an ordering token."""
    for current in [node, *descendants(node)]:
        if isinstance(current, cst.Subscript) and current.slice:
            index = current.slice[0].slice
            if isinstance(index, cst.Index):
                key = keys.string_value(index.value)
                if key is not None and (key == "v" or has_word(key, _ORDERING_WORDS)):
                    return True  # ``cached["v"]``: the short spelling, only as an entry
        elif isinstance(current, (cst.Name, cst.Attribute)):
            name = terminal_name(current)
            if name is not None and has_word(name, _ORDERING_WORDS):
                return True
        elif isinstance(current, cst.Call) and current.args:  # ``cached.get("revision", -1)``
            pair = method_call(current)
            key = keys.string_value(current.args[0].value)
            if pair is not None and pair[1] == "get" and key is not None \
                    and (key == "v" or has_word(key, _ORDERING_WORDS)):
                return True
    return False


def newer_operand(
    comparison: cst.Comparison, cached: cst.BaseExpression
) -> cst.BaseExpression | None:
    """``v`` in ``cached < v`` / ``cached <= v`` / ``v > cached`` / ``v >= cached``."""
    if len(comparison.comparisons) != 1:
        return None
    target = comparison.comparisons[0]
    operator = target.operator
    if cached is comparison.left and isinstance(operator, (cst.LessThan, cst.LessThanEqual)):
        return target.comparator
    if cached is target.comparator and isinstance(operator, (cst.GreaterThan,
                                                             cst.GreaterThanEqual)):
        return comparison.left
    return None


def version_named(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.Subscript) and node.slice:
        index = node.slice[0].slice
        if isinstance(index, cst.Index):
            key = keys.string_value(index.value)
            return key is not None and has_word(key, knowledge.VERSION_WORDS)
    name = terminal_name(node)
    return name is not None and has_word(name, knowledge.VERSION_WORDS)


def writes_cache_text(body: cst.BaseSuite) -> bool:
    for node in descendants(body):
        pair = method_call(node) if isinstance(node, cst.Call) else None
        if pair is not None and pair[1] in knowledge.WRITE_METHODS:
            return True
    return False


def target_names(target: cst.BaseExpression) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for e in target.elements for n in target_names(e.value)]
    return []


def using(module: cst.Module, node: cst.BaseExpression) -> str | None:
    """The database alias of ``atomic(using="x")`` / ``atomic("x")`` as source text."""
    if not isinstance(node, cst.Call):
        return None
    arg = keyword(node, "using") or positional(node, 0)
    return module.code_for_node(arg.value) if arg is not None else None


def transaction_kind(qualified: str | None) -> str | None:
    """``django`` for ``transaction.atomic``, ``sqlalchemy`` for ``session.begin()``."""
    if qualified is None:
        return None
    if qualified in {"django.db.transaction.atomic", "transaction.atomic"}:
        return "django"
    if qualified.endswith((".begin", ".begin_nested")):
        return "sqlalchemy"
    if qualified.endswith((".transaction", ".atomic")):  # psycopg 3, asyncpg, peewee
        return "dbapi"
    return None


# Methods that make a class a cache: reads and writes by key.
CACHE_METHOD_SETS = (frozenset({"get", "set"}), frozenset({"__getitem__", "__setitem__"}))
_MAPPING_BASES = frozenset({"dict", "OrderedDict", "UserDict", "defaultdict"})
_MAPPING_FACTORIES = frozenset({
    "dict", "OrderedDict", "defaultdict", "WeakValueDictionary", "ChainMap",
    "TTLCache", "LRUCache", "LFUCache", "RRCache", "TLRUCache", "FIFOCache",
})


def has_cache_methods(node: cst.ClassDef) -> bool:
    methods = {s.name.value for s in node.body.body if isinstance(s, cst.FunctionDef)}
    return any(wanted <= methods for wanted in CACHE_METHOD_SETS)


def mapping_backed(node: cst.ClassDef) -> bool:
    """A class that keeps its entries in the process: a ``dict`` subclass, or one that
    assigns a dict, ``OrderedDict()``, ``TTLCache(...)``... to an attribute."""
    if any(terminal_name(base.value) in _MAPPING_BASES for base in node.bases):
        return True
    for item in descendants(node.body):
        value = item.value if isinstance(item, (cst.Assign, cst.AnnAssign)) else None
        if isinstance(value, (cst.Dict, cst.DictComp)) or (
            isinstance(value, cst.Call) and terminal_name(value.func) in _MAPPING_FACTORIES
        ):
            return True
    return False
