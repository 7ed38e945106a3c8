"""CL102, CL103, CL401, CL402 and CL403: what each detects, and one finding per race.

Each case is a small module; the expected findings are written next to it as
``(line, code)`` pairs, lines counted in the dedented source.
"""

from __future__ import annotations

import textwrap

import pytest

from cachelint.config import Config
from cachelint.engine import analyse_text
from cachelint.rules import Rule, rule_by_code

CODES = ("CL102", "CL103", "CL401", "CL402", "CL403")


def findings(source: str) -> list[tuple[int, str]]:
    text = textwrap.dedent(source).lstrip("\n")
    return sorted((d.line, d.code) for d in analyse_text(text, "case.py", Config()).diagnostics)


def rule(code: str) -> type[Rule]:
    found = rule_by_code(code)
    assert found is not None
    return found


# -- the rule classes -----------------------------------------------------------------


@pytest.mark.parametrize("code", CODES)
def test_page_explains_the_race_and_the_precedence(code: str) -> None:
    page = rule(code).page()
    assert "## What it does" in page and "## Why is this bad?" in page
    assert "One finding per race" in page or "One finding per check" in page


@pytest.mark.parametrize("code", CODES)
def test_each_invalid_example_reports_its_code_once(code: str) -> None:
    for example in rule(code).INVALID:
        assert [c for _, c in findings(example)].count(code) == 1, example


@pytest.mark.parametrize("code", CODES)
def test_valid_examples_are_silent(code: str) -> None:
    for example in rule(code).VALID:
        assert findings(example) == [], example


def test_fix_attributes() -> None:
    assert rule("CL402").fixable == "sometimes" and "on_commit(partial(" in rule("CL402").fix_doc
    assert rule("CL103").fixable == "sometimes" and "**unsafe**" in rule("CL103").fix_doc
    assert rule("CL403").fixable == "sometimes" and "invalidate(" in rule("CL403").fix_doc
    for code in ("CL102", "CL401"):
        assert rule(code).fixable == "never"


# -- detection ----------------------------------------------------------------------------

CASES = {
    "sqlalchemy add, delete, commit": (
        """
        import redis
        r = redis.Redis()
        def ship(session, order):
            order.status = "shipped"
            session.add(order)
            r.delete(f"order:{order.id}")
            session.commit()
            r.delete(f"order-list:{order.customer_id}")
        """,
        [(6, "CL402")],
    ),
    "sqlalchemy write-through after commit": (
        """
        import redis
        r = redis.Redis()
        def rename(session, order, label):
            order.label = label
            session.add(order)
            session.commit()
            r.set(f"order-label:{order.id}", label)
        """,
        [(7, "CL102")],
    ),
    "sqlalchemy core update in session.begin()": (
        """
        import redis
        from sqlalchemy import update
        r = redis.Redis()
        def void(session, invoice_id):
            with session.begin():
                session.execute(update(Invoice).where(Invoice.id == invoice_id).values(void=True))
                r.delete(f"invoice:{invoice_id}")
            r.delete(f"invoice-list:{invoice_id}")
        """,
        [(7, "CL402")],
    ),
    "dbapi execute in a local, delete, commit": (
        """
        from django.core.cache import cache
        def set_price(conn, sku, price):
            sql = "UPDATE prices SET amount = %s WHERE sku = %s"
            cur = conn.cursor()
            cur.execute(sql, (price, sku))
            cache.delete(f"price:{sku}")
            conn.commit()
            cache.set(f"price-amount:{sku}", price)
        """,
        [(6, "CL402"), (8, "CL102")],
    ),
    "dbapi select then commit is not a write": (
        """
        from django.core.cache import cache
        def report(conn, sku):
            cur = conn.cursor()
            cur.execute("SELECT amount FROM prices WHERE sku = %s", (sku,))
            cache.delete(f"report:{sku}")
            conn.commit()
        """,
        [],
    ),
    "a pipeline that deletes and rewrites the key in one MULTI": (
        """
        import redis
        client = redis.Redis()
        def register(worker):
            with client.pipeline() as pipe:
                pipe.delete(f"worker:{worker.name}")
                pipe.hset(f"worker:{worker.name}", mapping=worker.describe())
                pipe.execute()
        def refresh_worker(worker, registry):
            row = registry.load(worker.name)
            client.hset(f"worker:{worker.name}", mapping=row)
        """,
        [(10, "CL101")],
    ),
    "the cached value decoded in place, then refilled on a miss": (
        """
        import json
        from django.core.cache import cache
        def payload(pk):
            data = cache.get(f"payload:{pk}")
            data = json.loads(data) if data else None
            if data is None:
                data = assemble(pk)
                cache.set(f"payload:{pk}", json.dumps(data))
            return data
        def price(pk):
            raw = cache.get(f"price:{pk}")
            if raw is None:
                raw = compute_price(pk)
                if raw is not None:
                    cache.set(f"price:{pk}", raw)
            return raw
        """,
        [(8, "CL101"), (15, "CL101")],
    ),
    "a callee's writes committed after the cache write": (
        """
        from flask_caching import Cache
        cache = Cache()
        def refresh_notices(db):
            notices = load_notices()
            cache.set("notices", notices)
            db.session.commit()
        """,
        [(5, "CL402")],
    ),
    "a new unit of work after a commit": (
        """
        from django.core.cache import cache
        def import_rows(session, first, second):
            session.add(first)
            session.commit()
            cache.delete(f"row:{first.id}")
            session.add(second)
            session.commit()
        """,
        [],
    ),
    "invalidate first, then write and commit": (
        """
        from django.core.cache import cache
        def retitle(session, doc, title):
            cache.delete(f"doc:{doc.id}")
            doc.title = title
            session.add(doc)
            session.commit()
        """,
        [(3, "CL402")],
    ),
    "django atomic in every spelling": (
        """
        from django.core.cache import cache
        from django.db import transaction
        from django.db.transaction import atomic
        @transaction.atomic
        def a(row):
            row.save()
            cache.delete(f"a:{row.pk}")
        @transaction.atomic(using="replica")
        def b(row):
            row.save()
            cache.delete(f"b:{row.pk}")
        @atomic
        def c(row):
            row.save()
            cache.delete(f"c:{row.pk}")
        def d(row):
            with atomic(savepoint=False):
                row.save()
                cache.delete(f"d:{row.pk}")
            cache.delete(f"e:{row.pk}")
        """,
        [(7, "CL402"), (11, "CL402"), (15, "CL402"), (19, "CL402")],
    ),
    "deferred with on_commit": (
        """
        from functools import partial
        from django.core.cache import cache
        from django.db import transaction
        @transaction.atomic
        def a(row):
            row.save()
            transaction.on_commit(partial(cache.delete, f"a:{row.pk}"))
            transaction.on_commit(lambda: cache.delete(f"b:{row.pk}"))
        """,
        [],
    ),
    "kafka iteration and poll": (
        """
        import json
        import redis
        from kafka import KafkaConsumer
        from confluent_kafka import Consumer
        r = redis.Redis()
        def loop():
            for msg in KafkaConsumer("prices"):
                r.set(f"px:{msg.key}", msg.value)
        def poll_loop(consumer: Consumer):
            while True:
                msg = consumer.poll(1.0)
                data = json.loads(msg.value())
                r.set(f"py:{data['id']}", data["price"])
        """,
        [(8, "CL401"), (13, "CL401")],
    ),
    "aiokafka getmany batches": (
        """
        import redis.asyncio as aioredis
        from aiokafka import AIOKafkaConsumer
        r = aioredis.Redis()
        async def run():
            consumer = AIOKafkaConsumer("stock")
            batches = await consumer.getmany(timeout_ms=500)
            for _tp, messages in batches.items():
                for msg in messages:
                    await r.set(f"stock:{msg.key}", msg.value)
        """,
        [(9, "CL401")],
    ),
    "handle_ and on_ functions with an event parameter": (
        """
        from django.core.cache import cache
        def handle_shipment(event):
            cache.set(f"ship:{event['id']}", event["state"])
        def on_refund(message):
            cache.set(f"refund:{message['id']}", message["amount"])
        def on_startup(app):
            cache.set(f"boot:{app.name}", app.version_string)
        def handle_request(request):
            cache.set(f"req:{request.id}", request.body)
        """,
        [(3, "CL401"), (5, "CL401")],
    ),
    "handlers connected at module level": (
        """
        from django.core.cache import cache
        from django.db.models.signals import post_save
        from google.cloud import pubsub_v1
        def remember_title(sender, instance, **kwargs):
            cache.set(f"title:{instance.pk}", instance.title)
        def deliver(message):
            cache.set(f"delivery:{message.attributes['id']}", message.data)
        def connected_in_app_ready(sender, instance, **kwargs):  # Django's receiver shape
            cache.set(f"other:{instance.pk}", instance.title)
        def not_registered(instance, payload):
            cache.set(f"other:{instance.pk}", payload)
        post_save.connect(remember_title, sender=Article)
        subscriber = pubsub_v1.SubscriberClient()
        subscriber.subscribe("projects/p/subscriptions/s", callback=deliver)
        """,
        [(5, "CL401"), (7, "CL401"), (9, "CL401")],
    ),
    "celery bind=True: the first parameter is the task": (
        """
        from celery import shared_task
        from django.core.cache import cache
        @shared_task(bind=True)
        def remember(task, order_id):
            cache.set(f"worker:{order_id}", task.request.hostname)
        @shared_task(bind=True)
        def apply(self, order_id, status):
            cache.set(f"status:{order_id}", status)
        """,
        [(8, "CL401")],
    ),
    "hand-written check next to WATCH/MULTI": (
        """
        import redis
        r = redis.Redis()
        def watched(k, value, version):
            with r.pipeline() as pipe:
                pipe.watch(k)
                current = pipe.hget(k, "version")
                if current is not None and int(current) >= version:
                    return
                pipe.multi()
                pipe.hset(k, mapping={"value": value, "version": version})
                pipe.execute()
        def hand_written(k, value, version):
            current = r.hget(k, "version")
            if current is not None and int(current) >= version:
                return
            r.hset(k, mapping={"value": value, "version": version})
        """,
        [(16, "CL103")],
    ),
    "gets/cas with add for the absent key": (
        """
        from pymemcache.client.base import Client
        mc = Client(("mc", 11211))
        def store(k, payload, version):
            raw, token = mc.gets(k)
            if raw is None:
                mc.add(k, payload)
            elif raw["version"] < version:
                mc.cas(k, payload, token)
        """,
        [],
    ),
    "lua script": (
        """
        import redis
        r = redis.Redis()
        script = r.register_script("return redis.call('SET', KEYS[1], ARGV[1])")
        def store(k, value, version):
            current = r.get(k + ":v")
            if current is not None and int(current) >= version:
                return
            script(keys=[k], args=[value, version])
            r.eval("return 1", 1, k)
        """,
        [],
    ),
    "a glob delete covers the families it matches, and only those": (
        """
        from django.core.cache import cache
        from shop.models import Product
        def product_card(pk):
            card = Product.objects.get(pk=pk).card()
            cache.set(f"cards:product:{pk}", card)
            return card
        def clear_cards():
            cache.delete_pattern("cards:product:*")
        def clear_reports():
            cache.delete_pattern("reports:*")
        """,
        [(5, "CL101"), (8, "CL403")],
    ),
    "keys listed by a glob and deleted one by one cover the glob's families": (
        """
        import redis
        from django.core.cache import cache
        from shop.models import Product
        r = redis.Redis()
        def card(pk):
            value = Product.objects.get(pk=pk).card()
            r.set(f"cards:{pk}", value)
            cache.set(f"tiles:{pk}", value)
        def clear_cards():
            for key in r.scan_iter(match="cards:*"):
                r.delete(key)
        def clear_tiles():
            cache.delete_many(cache.keys("tiles:*"))
        def clear_reports():
            for key in r.scan_iter("reports:*"):
                r.delete(key)
        """,
        [(7, "CL101"), (8, "CL101"), (11, "CL403"), (13, "CL403")],
    ),
    "an imported key constant pairs by where it is defined": (
        """
        from django.core.cache import cache
        from shop.constants import BANNER_KEY, FOOTER_KEY
        from shop.models import Banner
        def banner():
            text = Banner.objects.latest("pk").text
            cache.set(BANNER_KEY, text)
            return text
        def banner_saved():
            cache.delete(BANNER_KEY)
        def footer_saved():
            cache.delete(FOOTER_KEY)
        """,
        [(6, "CL101"), (9, "CL403")],
    ),
    "a counter compared with a limit is not a version check": (
        """
        from django.core.cache import cache
        def hit(user_id, limit):
            count = cache.get(f"hits:{user_id}") or 0
            if count < limit:
                cache.set(f"hits:{user_id}", count + 1)
        """,
        [],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_detection(name: str) -> None:
    source, expected = CASES[name]
    assert findings(source) == sorted(expected)


# -- one finding per race ---------------------------------------------------------------

PRECEDENCE = {
    "CL103 over CL402: a version check inside a transaction": (
        """
        from django.core.cache import cache
        from django.db import transaction
        def store(row, version):
            with transaction.atomic():
                row.save()
                current = cache.get(f"row:{row.pk}")
                if current is None or current["version"] < version:
                    cache.set(f"row:{row.pk}", {"v": row.value, "version": version})
        """,
        [(8, "CL103")],
    ),
    "CL402 over CL401: an event written inside a transaction": (
        """
        from celery import shared_task
        from django.core.cache import cache
        from django.db import transaction
        @shared_task
        def apply(order_id, status):
            with transaction.atomic():
                Order.objects.filter(pk=order_id).update(status=status)
                cache.set(f"order-status:{order_id}", status)
        """,
        [(8, "CL402")],
    ),
    "CL401 over CL102: an event payload saved, then cached": (
        """
        from django.core.cache import cache
        def handle_rename(event):
            Product.objects.filter(pk=event["id"]).update(name=event["name"])
            cache.set(f"product-name:{event['id']}", event["name"])
        """,
        [(4, "CL401")],
    ),
    "CL102 over CL101: a created row is a write, not a refill": (
        """
        from django.core.cache import cache
        def add_tag(name):
            tag = Tag.objects.create(name=name)
            cache.set(f"tag:{tag.pk}", tag.name)
        """,
        [(4, "CL102")],
    ),
    "CL101 over CL401: a consumer that re-reads the row refills": (
        """
        from django.core.cache import cache
        def handle_changed(event):
            product = Product.objects.get(pk=event["id"])
            cache.set(f"product-card:{product.pk}", product.card())
        """,
        [(4, "CL101")],
    ),
    "one CL103 for a check guarding two writes": (
        """
        import redis
        r = redis.Redis()
        def store(k, value, version):
            current = r.get(f"{k}:version")
            if current is None or int(current) < version:
                r.set(f"{k}:value", value)
                r.set(f"{k}:version", version)
        """,
        [(6, "CL103")],
    ),
    "CL402 over CL403 on a delete before the commit": (
        """
        from django.core.cache import cache
        from django.db import transaction
        def load_badge(badge_id):
            badge = Badge.objects.get(pk=badge_id)
            cache.set(f"badge:{badge_id}", badge.render())
        def rename_badge(badge, name):
            with transaction.atomic():
                badge.name = name
                badge.save()
                cache.delete(f"badge:{badge.pk}")
        """,
        [(5, "CL101"), (10, "CL402")],
    ),
    "CL403 once the delete runs after the commit": (
        """
        from functools import partial
        from django.core.cache import cache
        from django.db import transaction
        def load_badge(badge_id):
            badge = Badge.objects.get(pk=badge_id)
            cache.set(f"badge:{badge_id}", badge.render())
        def rename_badge(badge, name):
            with transaction.atomic():
                badge.name = name
                badge.save()
                transaction.on_commit(partial(cache.delete, f"badge:{badge.pk}"))
        """,
        [(6, "CL101"), (11, "CL403")],
    ),
}


@pytest.mark.parametrize("name", sorted(PRECEDENCE))
def test_one_finding_per_race(name: str) -> None:
    source, expected = PRECEDENCE[name]
    assert findings(source) == sorted(expected)


def test_cl403_message_names_the_refill_line() -> None:
    source = PRECEDENCE["CL403 once the delete runs after the commit"][0]
    text = textwrap.dedent(source).lstrip("\n")
    (cl403,) = [d for d in analyse_text(text, "badges.py", Config()).diagnostics
                if d.code == "CL403"]
    assert "blind refill at badges.py:6:" in cl403.message
    assert "`badge:{}`" in cl403.message


def test_django_async_cache_api_and_sentinel_misses() -> None:
    source = """
        from django.core.cache import cache
        from shop.models import Product
        _missing = object()

        async def product_name(pk):
            name = await cache.aget(f"name:{pk}")
            if name is None:
                product = await Product.objects.aget(pk=pk)
                name = product.name
                await cache.aset(f"name:{pk}", name)
            return name

        def memoized(key, compute):
            value = cache.get(key, _missing)
            if value is _missing:
                value = compute()
                cache.set(key, value)
            return value

        async def forget(pk):
            await cache.adelete(f"name:{pk}")
    """
    assert findings(source) == [(10, "CL101"), (17, "CL101"), (21, "CL403")]


def test_cleanup_deletes_fresh_keys_and_file_saves_are_not_races() -> None:
    source = """
        import io
        import uuid
        from django.core.cache import cache
        from rooms.models import Room

        def room_names():
            names = [r.name for r in Room.objects.all()]
            cache.set("rooms:names", names)
            return names

        def latest_names():
            try:
                return cache.get("rooms:names")
            except Exception:
                cache.delete("rooms:names")  # a value that cannot be unpickled
                return None

        def export_rooms():
            token = str(uuid.uuid4())
            cache.set(f"export:{token}", [r.name for r in Room.objects.all()])
            return token

        def sprite(image):
            output = io.BytesIO()
            image.save(output, "JPEG")
            rooms = list(Room.objects.values_list("name", flat=True))
            cache.set("rooms:sprite", output.getvalue() + str(rooms).encode())
    """
    assert findings(source) == [(8, "CL101"), (27, "CL101")]
