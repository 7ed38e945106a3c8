"""The fixed code, run against a real redis-server, no longer loses the race.

`fixtures/race/inventory.py` is the picture in DESIGN.md: a refill reads item v7, a
rename commits v8 and deletes the key, the refill writes v7 late.  The original module
serves the stale label afterwards; the copy `cachelint check --fix --unsafe-fixes`
writes (set_if_newer + get_value on the refill, invalidate on the rename) never does.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType

import pytest

from tests.helpers import cli
from tests.servers import Server, flush_redis, start_redis

MODULE = Path(__file__).resolve().parent.parent / "fixtures" / "race" / "inventory.py"


@dataclass
class Item:
    name: str
    version: int


class SlowDatabase:
    """The source of truth; the first read of a refill can be held after it read the row."""

    def __init__(self) -> None:
        self.rows = {1: Item("lamp", 7)}
        self.lock = threading.Lock()
        self.hold_next_read = False
        self.row_read = threading.Event()
        self.release = threading.Event()

    def fetch_item(self, item_id: int) -> Item:
        with self.lock:
            row = replace(self.rows[item_id])
            hold, self.hold_next_read = self.hold_next_read, False
        if hold:
            self.row_read.set()
            assert self.release.wait(10)
        return row

    def save(self, item: Item) -> None:
        with self.lock:
            self.rows[1] = replace(item)


@pytest.fixture(scope="module")
def redis_server() -> Iterator[Server]:
    with start_redis() as server:
        yield server


def load(path: Path, db: SlowDatabase, server: Server, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    shopdb = ModuleType("shopdb")
    shopdb.db = db  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "shopdb", shopdb)
    monkeypatch.setenv("SHOP_REDIS_PORT", str(server.port))
    spec = importlib.util.spec_from_file_location(f"inventory_{path.parent.name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def race(module: ModuleType, db: SlowDatabase) -> str:
    """Refill A reads v7 and stalls; B renames (v8) and invalidates; A writes; then read."""
    db.hold_next_read = True
    refill = threading.Thread(target=module.item_label, args=(1,))
    refill.start()
    assert db.row_read.wait(10)
    module.rename_item(1, "desk lamp")
    db.release.set()
    refill.join(10)
    label = module.item_label(1)
    return label.decode() if isinstance(label, bytes) else label


@pytest.fixture
def fixed_module(tmp_path: Path) -> Path:
    target = tmp_path / "fixed" / "inventory.py"
    target.parent.mkdir()
    shutil.copyfile(MODULE, target)
    code, _, err = cli("check", "--no-cache", "--fix", "--unsafe-fixes", str(target))
    assert code == 0, err  # every finding fixed
    text = target.read_text()
    assert "set_if_newer(client, key, label, version=item.version, ttl=60)" in text
    assert 'invalidate(client, f"item:{item_id}", version=item.version)' in text
    return target


def test_original_code_serves_the_stale_value(
    redis_server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    flush_redis(redis_server)
    db = SlowDatabase()
    module = load(MODULE, db, redis_server, monkeypatch)
    assert race(module, db) == "lamp v7"  # the bug: v8 is committed, v7 is served


def test_fixed_code_never_serves_the_stale_value(
    redis_server: Server, fixed_module: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flush_redis(redis_server)
    db = SlowDatabase()
    module = load(fixed_module, db, redis_server, monkeypatch)
    assert race(module, db) == "desk lamp v8"
    assert module.item_label(1) == "desk lamp v8"  # and it stays cached correctly
