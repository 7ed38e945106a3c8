from __future__ import annotations

from cachelint.rules._write_race import WriteRaceRule


class UnorderedEventWrite(WriteRaceRule):
    """
    ## What it does
    Finds an event or queue consumer (Celery `@task`/`@shared_task`, Django
    `@receiver`, dramatiq `@actor`, Kafka/pub-sub consumer loops, `handle_*`/`on_*`
    functions taking an event or message) that writes data taken from the event
    into a shared cache with no version comparison.

    ## Why is this bad?
    Queues redeliver, retry and reorder: an older event delivered later overwrites
    the newer data that a later event already wrote. A consumer that re-reads the
    row from the source of truth is a refill instead (CL101).
    """

    code = "CL401"
    name = "unordered-event-write"
    summary = "An event consumer writes the payload to the cache without comparing versions."
    references = ("Celery: task retries and acks_late", "Kafka: delivery semantics")
    INVALID = (
        """
        from celery import shared_task
        from django.core.cache import cache

        @shared_task
        def apply_price_change(event):
            cache.set(f"price:{event['sku']}", event["price"])
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
