"""Which cache objects are accepted, and importing with no client library installed."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections import OrderedDict
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest

from cachelint.runtime import SUPPORTED, get_versioned, invalidate, set_if_newer
from tests.runtime.backends import ensure_django_settings
from tests.servers import HOST

ROOT = Path(__file__).resolve().parents[2]


class Store(MutableMapping[str, Any]):
    """A user-defined MutableMapping."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.data[key] = value

    def __delitem__(self, key: str) -> None:
        del self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


@pytest.mark.parametrize("mapping", [OrderedDict(), Store()], ids=["OrderedDict", "custom"])
def test_any_mutable_mapping(mapping: MutableMapping[str, Any]) -> None:
    assert set_if_newer(mapping, "k", "v2", version=2)
    assert not set_if_newer(mapping, "k", "v1", version=1)
    assert get_versioned(mapping, "k") == ("v2", 2)
    assert mapping["k"] == b"CL1:s:2::v2"  # the documented storage format


@pytest.mark.parametrize(
    "cache", [object(), 42, "a string", ["a", "list"], frozenset(), type], ids=repr
)
def test_unsupported_objects_name_the_supported_ones(cache: object) -> None:
    for call in (
        lambda: set_if_newer(cache, "k", "v", version=1),
        lambda: get_versioned(cache, "k"),
        lambda: invalidate(cache, "k", version=1),
    ):
        with pytest.raises(TypeError, match="unsupported cache object") as info:
            call()
        for name in ("redis.Redis", "pymemcache", "RedisCache", "LocMemCache", "MutableMapping"):
            assert name in str(info.value)


@pytest.mark.parametrize(
    "backend",
    ["django.core.cache.backends.dummy.DummyCache",
     "django.core.cache.backends.filebased.FileBasedCache"],
)
def test_django_backends_without_compare_and_set(backend: str, tmp_path: Path) -> None:
    from django.core.cache import CacheHandler

    cache = CacheHandler({"default": {"BACKEND": backend, "LOCATION": str(tmp_path)}})["default"]
    with pytest.raises(TypeError, match="no atomic compare-and-set") as info:
        set_if_newer(cache, "k", "v", version=1)
    assert backend.rsplit(".", 1)[1] in str(info.value)
    assert SUPPORTED in str(info.value)


def test_django_default_cache_proxy_is_unwrapped() -> None:
    from django.core.cache import CacheHandler
    from django.utils.connection import ConnectionProxy

    handler = CacheHandler(
        {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                     "LOCATION": "proxy-test"}}
    )
    proxy = ConnectionProxy(handler, "default")  # what `django.core.cache.cache` is
    assert set_if_newer(proxy, "k", "v2", version=2)
    assert not set_if_newer(proxy, "k", "v1", version=1)
    assert get_versioned(handler["default"], "k") == ("v2", 2)


def test_django_redis_shard_client(servers: Any) -> None:
    from django_redis.cache import RedisCache

    ensure_django_settings()
    port = servers.redis.port
    cache = RedisCache(
        [f"redis://{HOST}:{port}/1", f"redis://{HOST}:{port}/2"],
        {"OPTIONS": {"CLIENT_CLASS": "django_redis.client.ShardClient"}},
    )
    for i in range(40):  # keys spread over both shards
        assert set_if_newer(cache, f"k{i}", f"v{i}", version=5)
        assert not set_if_newer(cache, f"k{i}", "old", version=4)
        assert get_versioned(cache, f"k{i}") == (f"v{i}", 5)
    import redis

    sizes = [redis.Redis(host=HOST, port=port, db=db).dbsize() for db in (1, 2)]
    assert sum(sizes) == 40 and all(sizes)


def test_django_keys_follow_prefix_and_version(servers: Any) -> None:
    import redis
    from django.core.cache.backends.redis import RedisCache

    url = f"redis://{servers.redis.address}/0"
    v1 = RedisCache(url, {"KEY_PREFIX": "site", "VERSION": 1})
    v2 = RedisCache(url, {"KEY_PREFIX": "site", "VERSION": 2})
    assert set_if_newer(v1, "user:1", "old namespace", version=9)
    assert set_if_newer(v2, "user:1", "new namespace", version=1)  # another key altogether
    raw = redis.Redis(host=HOST, port=servers.redis.port)
    assert sorted(raw.keys()) == [b"site:1:user:1", b"site:2:user:1"]


_NO_CLIENT_LIBS = textwrap.dedent(
    """
    import sys

    class Block:
        blocked = ("redis", "pymemcache", "django", "django_redis", "memcache", "pylibmc",
                   "flask", "flask_caching", "cachelib", "aiocache", "aiomcache")

        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in self.blocked:
                raise ImportError(f"{name} is blocked for this test")
            return None

    sys.meta_path.insert(0, Block())
    for name in list(sys.modules):
        if name.split(".")[0] in Block.blocked:
            del sys.modules[name]

    import cachelint.runtime as rt

    store = {}
    assert rt.set_if_newer(store, "k", "v", version=2**64 + 1)
    assert not rt.set_if_newer(store, "k", "old", version=2**64)
    assert rt.get_versioned(store, "k") == ("v", 2**64 + 1)
    try:
        rt.set_if_newer(object(), "k", "v", version=1)
    except TypeError as exc:
        assert "redis.Redis" in str(exc)
    else:
        raise AssertionError("object() accepted")
    loaded = sorted(n for n in sys.modules if n.split(".")[0] in Block.blocked)
    assert not loaded, loaded
    print("ok")
    """
)


def test_import_without_client_libraries() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _NO_CLIENT_LIBS],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
