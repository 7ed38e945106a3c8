from __future__ import annotations

from cachelint.rules._write_race import WriteRaceRule


class UnorderedEventWrite(WriteRaceRule):
    """
    ## What it does
    Finds an event or queue consumer that writes data taken from the event into
    a shared cache with no version comparison. Consumers are:

    - functions decorated as tasks or receivers: Celery `@task`/`@shared_task`/
      `@app.task` (with `bind=True` the first parameter is the task, not data),
      Django `@receiver`, dramatiq `@actor`, rq `@job`;
    - `handle`, `consume`, `handle_*`, `on_*`, `consume_*`, `process_*` functions
      and `*_callback`/
      `*_handler`/`*_listener` functions taking an `event`, `message`, `msg`,
      `payload`, `record`, `body`, `data`, `instance`... parameter (a Google
      Pub/Sub or SQS callback);
    - functions registered at module level: `post_save.connect(handler)`,
      `subscriber.subscribe(path, callback=handler)`, and functions with Django's
      receiver signature `(sender, ..., **kwargs)` wherever they are connected
      (often in `AppConfig.ready()`);
    - `receive`/`receive_json`/`websocket_receive` of a Django Channels consumer
      class (`class Live(AsyncJsonWebsocketConsumer)`);
    - messages of consumer loops: `for msg in KafkaConsumer(...)`,
      `msg = consumer.poll(...)`, `await consumer.getmany()`,
      `pubsub.listen()`/`get_message()`, `xreadgroup`, `blpop`;
    - the parameters of a same-module function or method handed event data:
      `self.apply_decision(msg.value)` or `processor.dispatch(msg.value)` (a local
      instance of a module class) in a consumer loop, a table of handlers
      (module-level `HANDLERS[event["type"]](event)`, `HANDLERS.get(kind)`, or
      `self.handlers = {"x": self.on_x}` set in `__init__`), and jobs queued with
      rq's `queue.enqueue(sync_status, permit_id, status)`; SQS's
      `receive_message()` batches.

    ## Why is this bad?
    Queues redeliver, retry and reorder: an older event delivered later
    overwrites the newer data that a later event already wrote. Kafka orders
    messages only within a partition and redelivers after a rebalance; Celery
    retries and `acks_late` rerun tasks; signals of two concurrent saves run in
    either order.

    One finding per race, by precedence: a consumer that re-reads the row from
    the source of truth is a refill (CL101); a write inside an open transaction
    is CL402 and one guarded by a hand-written version check is CL103. An event
    payload written to the cache takes precedence over CL102 (the event is older
    than the row it describes).
    """
    code = "CL401"
    name = "unordered-event-write"
    summary = "An event consumer writes the payload to the cache without comparing versions."
    references = (
        "Celery: task retries and acks_late",
        "Kafka: delivery semantics, ordering within a partition",
        "Google Cloud Pub/Sub: ordering and redelivery",
    )
    INVALID = (
        """
        from celery import shared_task
        from django.core.cache import cache

        @shared_task
        def apply_price_change(event):
            cache.set(f"price:{event['sku']}", event["price"])
        """,
        """
        import json

        import redis
        from kafka import KafkaConsumer

        r = redis.Redis()

        def run():
            consumer = KafkaConsumer("inventory", group_id="cache-sync")
            for message in consumer:
                event = json.loads(message.value)
                r.set(f"inventory:{event['sku']}", event["quantity"])
        """,
    )
    VALID = (
        """
        from celery import shared_task
        from django.core.cache import cache
        from cachelint.runtime import set_if_newer

        @shared_task
        def apply_price_change(event):
            set_if_newer(cache, f"price:{event['sku']}", event["price"],
                         version=event["version"])
        """,
    )

    def message(self, method: str) -> str:
        return (
            f"event consumer writes the payload with `{method}()` and no version check: an "
            "older event delivered later overwrites newer data; compare versions atomically "
            "(set_if_newer with the event's version)"
        )
