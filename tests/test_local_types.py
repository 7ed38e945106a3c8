"""A project's own in-process cache, shared through a module (``cache = Cache()``), is
local wherever ``cachelint check DIR`` sees the module that defines it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import cli_json

LOCAL_CACHE = '''
from time import time


class Cache:
    """get/set over a dict with expiry, like redis but in this process."""

    def __init__(self):
        self._values = {}

    def get(self, key, default=None):
        value, expiry = self._values.get(key, (default, 0))
        return value if expiry > time() else default

    def set(self, key, value, expiry=10):
        self._values[key] = (value, time() + expiry)


cache = Cache()
'''

SHARED_CACHE = '''
import redis


class Cache:
    """get/set over redis: shared by every process."""

    def __init__(self):
        self._redis = redis.Redis()

    def get(self, key):
        return self._redis.get(key)

    def set(self, key, value):
        self._redis.set(key, value)


cache = Cache()
'''

SUBCLASSED_CLIENT = '''
import redis


class Cache(redis.StrictRedis):
    def get(self, name, **kwargs):
        return super().get(name)

    def set(self, name, value, **kwargs):
        super().set(name, value)


cache = Cache(host="redis")
'''

WRAPPED_CLIENT = '''
import json


class Cache:
    """get/set over whatever client the app hands it (a Redis in production)."""

    def __init__(self, client):
        self.client = client

    def get(self, key):
        raw = self.client.get(key)
        return json.loads(raw) if raw else None

    def set(self, key, value):
        self.client.set(key, json.dumps(value))


cache = Cache(None)
'''

VIEWS = '''
from shop.utils.cache import cache
from shop.models import Product


def product_card(pk):
    card = cache.get(f"card:{pk}")
    if card is None:
        card = Product.objects.get(pk=pk).card()
        cache.set(f"card:{pk}", card)
    return card
'''


def _project(root: Path, cache_module: str) -> Path:
    (root / "shop" / "utils").mkdir(parents=True)
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "utils" / "__init__.py").write_text("")
    (root / "shop" / "utils" / "cache.py").write_text(cache_module)
    (root / "shop" / "views.py").write_text(VIEWS)
    return root


@pytest.mark.parametrize(("cache_module", "expected"), [
    (LOCAL_CACHE, []),
    (SHARED_CACHE, [("views.py", 10, "CL101")]),
    (SUBCLASSED_CLIENT, [("views.py", 10, "CL101")]),
    (WRAPPED_CLIENT, [("views.py", 10, "CL101")]),  # nothing held in the process
])
def test_project_cache_instances_resolve_across_modules(
    tmp_path: Path, cache_module: str, expected: list[tuple[str, int, str]]
) -> None:
    project = _project(tmp_path, cache_module)
    document = cli_json(str(project))
    found = [(Path(d["path"]).name, d["line"], d["code"]) for d in document["diagnostics"]]
    assert found == expected


def test_one_file_alone_falls_back_to_the_name(tmp_path: Path) -> None:
    project = _project(tmp_path, LOCAL_CACHE)
    document = cli_json(str(project / "shop" / "views.py"))
    assert [d["code"] for d in document["diagnostics"]] == ["CL101"]
