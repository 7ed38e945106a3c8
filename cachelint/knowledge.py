"""What cachelint knows about the libraries it reads: data, not code.

Qualified names are dotted paths as a user imports them.  Each cache kind names
the client library, because argument positions (TTLs, values) differ per client.
User configuration extends these tables (see ``cachelint.config``).
"""

from __future__ import annotations

# --- cache clients --------------------------------------------------------------------

# Qualified names that *are* a shared cache object (no call needed).
SHARED_CACHE_OBJECTS: dict[str, str] = {
    "django.core.cache.cache": "django",
    "flask_caching.cache": "flask-caching",
    # edx-django-utils: a request cache in front of Django's cache, written to both
    "edx_django_utils.cache.TieredCache": "edx-tiered",
    "edx_django_utils.cache.utils.TieredCache": "edx-tiered",
}

# Qualified names whose subscript is a shared cache (``caches["default"]``).
SHARED_CACHE_MAPS: dict[str, str] = {
    "django.core.cache.caches": "django",
    "aiocache.caches": "aiocache",
}

# Callables that return a shared cache client: qualified name -> client library.
SHARED_CACHE_FACTORIES: dict[str, str] = {
    # Django and django-redis
    "django.core.cache.cache._connections": "django",
    "django.core.cache.backends.redis.RedisCache": "django",
    "django.core.cache.backends.memcached.PyMemcacheCache": "django",
    "django_redis.get_redis_connection": "redis",
    # redis-py, sync and asyncio
    "redis.Redis": "redis",
    "redis.StrictRedis": "redis",
    "redis.from_url": "redis",
    "redis.Redis.from_url": "redis",
    "redis.StrictRedis.from_url": "redis",
    "redis.client.Redis": "redis",
    "redis.client.StrictRedis": "redis",
    "redis.cluster.RedisCluster": "redis",
    "redis.RedisCluster": "redis",
    "redis.sentinel.Sentinel.master_for": "redis",
    "redis.asyncio.Redis": "redis-async",
    "redis.asyncio.StrictRedis": "redis-async",
    "redis.asyncio.from_url": "redis-async",
    "redis.asyncio.Redis.from_url": "redis-async",
    "redis.asyncio.client.Redis": "redis-async",
    "redis.asyncio.cluster.RedisCluster": "redis-async",
    "redis.asyncio.RedisCluster": "redis-async",
    "aioredis.Redis": "redis-async",
    "aioredis.from_url": "redis-async",
    # pymemcache
    "pymemcache.Client": "pymemcache",
    "pymemcache.HashClient": "pymemcache",
    "pymemcache.PooledClient": "pymemcache",
    "pymemcache.RetryingClient": "pymemcache",
    "pymemcache.client.Client": "pymemcache",
    "pymemcache.client.base.Client": "pymemcache",
    "pymemcache.client.base.PooledClient": "pymemcache",
    "pymemcache.client.hash.HashClient": "pymemcache",
    "pymemcache.client.retrying.RetryingClient": "pymemcache",
    # python-memcached, pylibmc
    "memcache.Client": "memcache",
    "pylibmc.Client": "memcache",
    # flask-caching
    "flask_caching.Cache": "flask-caching",
    # aiocache
    "aiocache.Cache": "aiocache",
    "aiocache.RedisCache": "aiocache",
    "aiocache.MemcachedCache": "aiocache",
    "aiocache.SimpleMemoryCache": "aiocache-local",
    "aiocache.caches.get": "aiocache",
    "aiocache.caches.create": "aiocache",
    # dogpile.cache
    "dogpile.cache.make_region": "dogpile",
    "dogpile.cache.region.make_region": "dogpile",
    "dogpile.cache.CacheRegion": "dogpile",
}

# Types used in annotations (``client: Redis``) that denote a shared cache.
SHARED_CACHE_TYPES: dict[str, str] = {
    **SHARED_CACHE_FACTORIES,
    "django.core.cache.backends.base.BaseCache": "django",
    "django_redis.cache.RedisCache": "django",
    "redis.asyncio.client.Pipeline": "redis-async",
    "redis.client.Pipeline": "redis",
    "flask_caching.Cache": "flask-caching",
    "aiocache.base.BaseCache": "aiocache",
    "dogpile.cache.region.CacheRegion": "dogpile",
}

# Callables / types that make an in-process cache.
LOCAL_CACHE_FACTORIES: frozenset[str] = frozenset(
    {
        "dict",
        "collections.OrderedDict",
        "collections.defaultdict",
        "collections.ChainMap",
        "types.MappingProxyType",
        "typing.Dict",
        "typing.Mapping",
        "typing.MutableMapping",
        "collections.abc.Mapping",
        "collections.abc.MutableMapping",
        "weakref.WeakValueDictionary",
        "weakref.WeakKeyDictionary",
        "cachetools.Cache",
        "cachetools.LRUCache",
        "cachetools.LFUCache",
        "cachetools.TTLCache",
        "cachetools.TLRUCache",
        "cachetools.FIFOCache",
        "cachetools.MRUCache",
        "cachetools.RRCache",
        "django.core.cache.backends.locmem.LocMemCache",
        "aiocache.SimpleMemoryCache",
        "edx_django_utils.cache.RequestCache",
        "edx_django_utils.cache.utils.RequestCache",
    }
)

# Writes whose value is a callable run on a miss (a loading default).
LOADING_DEFAULT_METHODS: frozenset[str] = frozenset({"get_or_set", "aget_or_set", "get_or_create"})
# Methods on a cache client: what each does to the cached value.
WRITE_METHODS: frozenset[str] = frozenset(
    {
        "set", "setex", "psetex", "setnx", "set_many", "mset", "msetnx", "hset", "hmset",
        "add", "replace", "get_or_set", "set_multi", "multi_set", "add_multi",
        # Django's asyncio cache API
        "aset", "aadd", "aset_many", "aget_or_set",
        # edx-django-utils TieredCache
        "set_all_tiers",
        # dogpile.cache: the creator's value on a miss, like ``get_or_set``
        "get_or_create",
    }
)
DELETE_METHODS: frozenset[str] = frozenset(
    {"delete", "delete_many", "unlink", "hdel", "delete_multi", "multi_delete", "getdel",
     "adelete", "adelete_many",
     # django-redis: every key matching a glob
     "delete_pattern",
     # edx-django-utils TieredCache
     "delete_all_tiers"}
)
READ_METHODS: frozenset[str] = frozenset(
    {
        "get", "get_many", "mget", "hget", "hgetall", "hmget", "get_multi", "multi_get",
        "exists", "has_key", "gets", "gets_many", "get_value",
        "aget", "aget_many", "ahas_key",
        # edx-django-utils TieredCache: a CachedResponse with ``is_found`` and ``value``
        "get_cached_response",
    }
)
# Calls that list the keys matching a glob (redis-py, django-redis).
KEY_LISTING_METHODS: frozenset[str] = frozenset({"scan_iter", "keys", "iter_keys"})
# Never a blind write: compare-and-set, counters, versioned helpers.
SAFE_METHODS: frozenset[str] = frozenset(
    {"cas", "incr", "decr", "incrby", "decrby", "incrbyfloat", "hincrby", "incr_version",
     "decr_version", "touch", "expire", "pexpire", "aincr", "adecr", "atouch",
     "aincr_version", "adecr_version"}
)
# Redis commands on sets, sorted sets, lists, streams and other structures: they touch
# the shared server (a process-local lock around them is CL301) but do not write a
# cached snapshot of a row.
STRUCTURE_METHODS: frozenset[str] = frozenset(
    {"sadd", "srem", "smembers", "sismember", "smismember", "scard", "spop", "srandmember",
     "smove", "sinter", "sunion", "sdiff", "zadd", "zrem", "zscore", "zrank", "zrevrank",
     "zrange", "zrevrange", "zrangebyscore", "zrevrangebyscore", "zcard", "zcount",
     "zincrby", "zpopmin", "zpopmax", "lpush", "rpush", "lpop", "rpop", "lrange", "llen",
     "lindex", "lrem", "ltrim", "lset", "linsert", "blpop", "brpop", "rpoplpush", "lmove",
     "hlen", "hkeys", "hvals", "hexists", "hsetnx", "getset", "getex", "append",
     "setrange", "getrange", "strlen", "ttl", "pttl", "persist", "pfadd", "pfcount",
     "xrange", "xlen", "geoadd", "geosearch", "setbit", "getbit",
     "bitcount"}
)
# Methods that derive another shared client (``r.pipeline()``).
PIPELINE_METHODS: frozenset[str] = frozenset({"pipeline", "transaction"})

# Positional index of the written value, per method (default 1: ``set(key, value)``).
VALUE_POSITION: dict[str, int | None] = {
    "setex": 2,
    "psetex": 2,
    "hset": 2,
    "set_many": 0,
    "mset": 0,
    "msetnx": 0,
    "hmset": 1,
    "set_multi": 0,
    "multi_set": 0,
    "add_multi": 0,
    "aset_many": 0,
}
# Methods taking several keys (a mapping or a list) instead of one.
MULTI_KEY_METHODS: frozenset[str] = frozenset(
    {"set_many", "mset", "msetnx", "set_multi", "multi_set", "add_multi", "delete_many",
     "delete_multi", "multi_delete", "get_many", "mget", "get_multi", "multi_get",
     "aset_many", "adelete_many", "aget_many"}
)
VALUE_KEYWORDS: frozenset[str] = frozenset({"value", "val", "default", "mapping", "data"})
# Writes whose value is a mapping of keys (or hash fields) to values.
MAPPING_WRITE_METHODS: frozenset[str] = frozenset(
    {"set_many", "mset", "msetnx", "set_multi", "multi_set", "add_multi", "aset_many",
     "hset", "hmset"}
)

# Calls that queue a job and return its handle (whose ``.id`` is a fresh token).
JOB_DISPATCH_METHODS: frozenset[str] = frozenset(
    {"delay", "apply_async", "send_task", "enqueue", "enqueue_call", "enqueue_in"}
)

# Pure encoders: ``json.dumps({"missing": True})`` is as constant as its argument.
SERIALISERS: frozenset[str] = frozenset(
    {"json.dumps", "orjson.dumps", "ujson.dumps", "simplejson.dumps", "pickle.dumps",
     "msgpack.packb", "msgpack.dumps", "str", "int"}
)

# Keyword arguments carrying an expiry, per client library; ``px`` is milliseconds.
TTL_KEYWORDS: dict[str, tuple[str, ...]] = {
    "django": ("timeout",),
    "flask-caching": ("timeout",),
    "redis": ("ex", "px"),
    "redis-async": ("ex", "px"),
    "pymemcache": ("expire",),
    "memcache": ("time",),
    "aiocache": ("ttl",),
    "dogpile": (),
    "unknown": ("timeout", "ex", "px", "expire", "time", "ttl"),
}
MILLISECOND_TTL_KEYWORDS: frozenset[str] = frozenset({"px"})

# --- the source of truth --------------------------------------------------------------

# Attribute names that mark a Django ORM manager in a call chain (``User.objects.get``).
ORM_MANAGERS: frozenset[str] = frozenset({"objects", "_default_manager", "_base_manager"})
ORM_READ_SHORTCUTS: frozenset[str] = frozenset(
    {"django.shortcuts.get_object_or_404", "django.shortcuts.get_list_or_404"}
)
ORM_WRITE_METHODS: frozenset[str] = frozenset(
    {"create", "update", "bulk_create", "bulk_update", "update_or_create", "save", "delete"}
)
# Methods that read rows on a SQLAlchemy session or a DB-API cursor/connection.
SESSION_READ_METHODS: frozenset[str] = frozenset(
    {"query", "get", "execute", "scalars", "scalar", "scalar_one", "fetchone", "fetchall",
     "fetchmany", "fetch", "fetchrow", "fetchval", "first", "one", "one_or_none", "all",
     "stream", "stream_scalars"}
)
SESSION_NAMES: frozenset[str] = frozenset(
    {"session", "db", "cursor", "cur", "conn", "connection", "engine", "tx", "uow"}
)
DBAPI_FETCH_METHODS: frozenset[str] = frozenset({"fetchone", "fetchall", "fetchmany"})
# boto3 DynamoDB table methods: reads of the source of truth, and writes whose returned
# attributes (``ReturnValues="ALL_NEW"``) were just written.
DYNAMODB_METHODS: dict[str, tuple[str, ...]] = {
    "get_item": ("source",), "batch_get_item": ("source",), "query": ("source",),
    "scan": ("source",), "update_item": ("source", "written"), "put_item": ("source", "written"),
}
HTTP_CLIENT_MODULES: frozenset[str] = frozenset({"requests", "httpx", "aiohttp", "urllib3"})
HTTP_FUNCTIONS: frozenset[str] = frozenset({"urllib.request.urlopen", "feedparser.parse"})
HTTP_METHODS: frozenset[str] = frozenset(
    {"get", "post", "put", "patch", "request", "head", "options", "send_request"}
)
HTTP_CLIENT_NAMES: frozenset[str] = frozenset(
    {"requests", "httpx", "http", "http_client", "httpclient", "api", "api_client",
     "client_session"}
)
# A call whose name starts with one of these whole words loads data.
LOADER_WORDS: frozenset[str] = frozenset(
    {"fetch", "load", "query", "lookup", "read", "find", "compute", "build", "render"}
)
# ... unless it is a well-known (de)serialiser or string helper.
NOT_LOADERS: frozenset[str] = frozenset(
    {
        "json.load", "json.loads", "pickle.load", "pickle.loads", "marshal.loads",
        "yaml.load", "yaml.safe_load", "orjson.loads", "ujson.loads", "simplejson.loads",
        "msgpack.loads", "tomllib.loads", "tomli.loads", "toml.loads", "ast.literal_eval",
    }
)

# Calls that commit or write to the source of truth.
COMMIT_METHODS: frozenset[str] = frozenset({"commit"})
SOURCE_WRITE_METHODS: frozenset[str] = frozenset(
    {"save", "create", "update", "bulk_create", "bulk_update", "update_or_create",
     "get_or_create", "commit", "flush", "executemany"}
)
# Django's and DRF's generic views: ``self.get_object()`` reads the row of the request.
VIEW_OBJECT_GETTERS: frozenset[str] = frozenset({"get_object", "get_queryset"})

# Queryset methods that hardly mean anything else: ``user.groups.prefetch_related(...)``.
DISTINCT_QUERYSET_METHODS: frozenset[str] = frozenset(
    {"prefetch_related", "select_related", "values_list", "annotate", "only", "defer",
     "in_bulk"}
)

# The queryset API, called on ``self`` inside a custom ``Manager``/``QuerySet`` class.
QUERYSET_METHODS: frozenset[str] = frozenset(
    {"all", "filter", "exclude", "get", "first", "last", "values", "values_list", "annotate",
     "aggregate", "count", "exists", "in_bulk", "select_related", "prefetch_related",
     "order_by", "only", "defer", "create", "get_or_create", "update_or_create",
     "bulk_create", "bulk_update", "update", "delete"}
)
SQL_WRITE_WORDS: tuple[str, ...] = ("insert", "update", "delete", "replace", "upsert", "merge")
# Text that can only be a write statement, for calls other than ``execute()`` handed it
# (``conn.fetchrow("UPDATE bins SET ... RETURNING ...")``); "Updated 3 rows" is not.
SQL_WRITE_STATEMENT = (
    r"\s*(insert\s+into|update\s+[\w.\"]+\s+set|delete\s+from|replace\s+into|merge\s+into)\b"
)

# Words in a function name that say it refills a cache (whole snake_case words).
REFILL_WORDS: frozenset[str] = frozenset(
    {"refresh", "refill", "reload", "warm", "prime", "rebuild", "repopulate"}
)

# --- clocks, versions, locks ----------------------------------------------------------

CLOCKS: frozenset[str] = frozenset(
    {
        "time.time", "time.time_ns", "time.monotonic", "time.monotonic_ns",
        "time.perf_counter", "time.perf_counter_ns",
        "datetime.datetime.now", "datetime.datetime.utcnow", "datetime.datetime.today",
        "datetime.date.today",
        "django.utils.timezone.now", "arrow.now", "arrow.utcnow", "pendulum.now",
        "pendulum.today",
    }
)
# Calls that keep a clock a clock (``int(time.time())``, ``now().timestamp()``).
CLOCK_PRESERVING_CALLS: frozenset[str] = frozenset({"int", "float", "round", "str", "math.floor"})
CLOCK_PRESERVING_METHODS: frozenset[str] = frozenset(
    {"timestamp", "isoformat", "strftime", "replace", "astimezone", "int_timestamp",
     "float_timestamp"}
)
# snake_case words that make a name an ordering token.
VERSION_WORDS: frozenset[str] = frozenset(
    {"version", "ver", "vsn", "seq", "sequence", "revision", "rev", "generation", "lsn"}
)
# Calls that publish an event (a version inside the payload orders consumers).
PUBLISH_METHODS: frozenset[str] = frozenset(
    {"publish", "send", "send_and_wait", "send_message", "produce", "xadd", "delay",
     "apply_async", "send_task", "emit", "put", "put_nowait", "basic_publish", "send_json"}
)
# ... and the words of a plain function that publishes one (``publish_event(...)``).
PUBLISH_WORDS: frozenset[str] = frozenset({"publish", "emit", "broadcast"})

PROCESS_LOCKS: frozenset[str] = frozenset(
    {
        "threading.Lock", "threading.RLock", "threading.Semaphore",
        "threading.BoundedSemaphore", "threading.Condition",
        "asyncio.Lock", "asyncio.Semaphore", "asyncio.BoundedSemaphore", "asyncio.Condition",
        "anyio.Lock", "anyio.Semaphore", "anyio.Condition", "trio.Lock", "trio.Semaphore",
        "multiprocessing.Lock", "multiprocessing.RLock", "multiprocessing.Semaphore",
        "multiprocessing.synchronize.Lock", "filelock.FileLock", "filelock.SoftFileLock",
        "fasteners.InterProcessLock", "fasteners.ReaderWriterLock", "_thread.allocate_lock",
        "gevent.lock.Semaphore", "gevent.lock.RLock",
    }
)
DISTRIBUTED_LOCKS: frozenset[str] = frozenset(
    {"redis_lock.Lock", "redlock.Redlock", "pottery.Redlock", "sherlock.Lock"}
)
# ``cache.lock(...)`` on a shared client is a distributed lock.
DISTRIBUTED_LOCK_METHODS: frozenset[str] = frozenset({"lock"})

# --- event consumers ------------------------------------------------------------------

CONSUMER_DECORATORS: frozenset[str] = frozenset(
    {
        "task", "shared_task", "celery.shared_task", "celery.task", "receiver",
        "django.dispatch.receiver", "actor", "dramatiq.actor", "periodic_task",
        "job", "rq.decorators.job", "subscriber", "consumer", "handler",
    }
)
# Methods of a Django Channels consumer (``class Live(AsyncJsonWebsocketConsumer)``)
# that receive one message.
CHANNELS_RECEIVE_METHODS: frozenset[str] = frozenset(
    {"receive", "receive_json", "websocket_receive"}
)
CONSUMER_PREFIXES: tuple[str, ...] = ("handle_", "on_", "consume_", "process_")
# A consumer class's ``handle(self, event)``: a handler by its whole name.
CONSUMER_NAMES: frozenset[str] = frozenset({"handle", "consume"})
EVENT_PARAM_NAMES: frozenset[str] = frozenset(
    {"event", "message", "msg", "payload", "evt", "record", "body", "data", "instance",
     "notification", "update", "delivery"}
)
# RQ's ``queue.enqueue(fn, *args)`` and friends: ``fn`` runs later in a worker.
ENQUEUE_METHODS: frozenset[str] = frozenset(
    {"enqueue", "enqueue_call", "enqueue_at", "enqueue_in"}
)
CONSUMER_FACTORIES: frozenset[str] = frozenset(
    {
        "kafka.KafkaConsumer", "aiokafka.AIOKafkaConsumer", "confluent_kafka.Consumer",
        "google.cloud.pubsub_v1.SubscriberClient", "pika.BlockingConnection",
        "nats.connect",
    }
)
CONSUMER_ITER_METHODS: frozenset[str] = frozenset(
    {"listen", "poll", "consume", "getmany", "messages", "get_message", "xread",
     "xreadgroup", "receive_messages", "subscribe"}
)
# Calls that return one delivered message or a batch of them, whatever the receiver
# (redis pub/sub and streams, queue pops, aiokafka, SQS); ``poll``/``consume`` only on a
# resolved consumer (``select.poll``, ``Popen.poll`` are not queues).
CONSUMER_RECEIVE_METHODS: frozenset[str] = frozenset(
    {"get_message", "receive_message", "receive_messages", "xread", "xreadgroup", "getmany", "getone",
     "blpop", "brpop", "brpoplpush", "blmove", "bzpopmin", "bzpopmax"}
)

# --- names, as a last resort ----------------------------------------------------------

# Receiver names that mean a shared cache when nothing else resolves them.
SHARED_NAME_PATTERN = (
    r"^(cache|caches|redis|rds|mc|memcache|memcached|region|cache_region)$"
    r"|_(cache|redis|rds|mc|memcache|memcached|region)$"
    r"|^(cache|redis|memcache|memcached|mc)_(client|conn|connection|backend|db|store|pool|cli)$"
)
# Project functions that hand out a shared client: ``redis_instance()``, ``get_redis()``.
SHARED_FACTORY_PATTERN = (
    r"^(get_|make_|new_|create_)?(redis|memcache|memcached)"
    r"(_(client|conn|connection|instance|pool|db|cli))?$"
)
# Words that name a project's own cache class (``CacheService``, ``RedisStore``).
CACHE_CLASS_WORDS = frozenset({"cache", "redis", "memcache", "memcached"})
LOCAL_NAME_PATTERN = r"(^|_)(local|memo|lru|inproc|process|in_memory|l1)(_|$)"

# Version attributes the CL101 fix may use (config: ``version-attributes``).
DEFAULT_VERSION_ATTRIBUTES: tuple[str, ...] = (
    "version", "revision", "row_version", "seq", "lsn", "generation",
)
# The runtime's reads: with the versioned helpers, calls that touch the cache they get.
RUNTIME_READS: frozenset[str] = frozenset({
    "cachelint.runtime.get_versioned", "cachelint.runtime.get_value",
    "cachelint.runtime.aget_versioned", "cachelint.runtime.aget_value",
})
DEFAULT_VERSIONED_HELPERS: tuple[str, ...] = (
    "cachelint.runtime.set_if_newer",
    "cachelint.runtime.aset_if_newer",
    "cachelint.runtime.invalidate",
    "cachelint.runtime.ainvalidate",
)

# Top-level packages that are never a project's own modules: those the tables above
# name, and the frameworks around them.  ``from django.core.cache.utils import
# make_template_fragment_key`` is not the project's ``cache/utils.py``.
LIBRARY_ROOTS: frozenset[str] = frozenset(
    {name.split(".", 1)[0]
     for table in (SHARED_CACHE_OBJECTS, SHARED_CACHE_MAPS, SHARED_CACHE_FACTORIES,
                   SHARED_CACHE_TYPES, LOCAL_CACHE_FACTORIES, ORM_READ_SHORTCUTS,
                   HTTP_FUNCTIONS, CLOCKS, PROCESS_LOCKS, DISTRIBUTED_LOCKS,
                   CONSUMER_DECORATORS, CONSUMER_FACTORIES)
     for name in table if "." in name}
    | {"flask", "fastapi", "starlette", "aiohttp", "sqlalchemy", "rest_framework", "werkzeug"}
)
