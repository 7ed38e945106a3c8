from __future__ import annotations

from cachelint.rules._write_race import WriteRaceRule


class NonAtomicVersionCheck(WriteRaceRule):
    """
    ## What it does
    Finds a hand-written version check: the cached entry (or its version) is read,
    compared with `<`/`>`, and the new value written, as separate round trips,
    without Redis `WATCH`/`MULTI`, memcached `gets`/`cas`, or a server-side script.

    ## Why is this bad?
    Another writer can write between the read and the set: both see the old
    version, both decide to write, and the slower one (possibly the older value)
    wins. The check must be atomic with the write.
    """

    code = "CL103"
    name = "non-atomic-version-check"
    summary = "Check-then-set in two round trips: a writer can slip in between."
    references = ("Redis: transactions (WATCH/MULTI)", "memcached: gets/cas")
    INVALID = (
        """
        from django.core.cache import cache

        def store_price(sku, price, version):
            current = cache.get(f"price:{sku}")
            if current is None or current["version"] < version:
                cache.set(f"price:{sku}", {"price": price, "version": version})
        """,
    )
    VALID = (
        """
        from django.core.cache import cache
        from cachelint.runtime import set_if_newer

        def store_price(sku, price, version):
            set_if_newer(cache, f"price:{sku}", {"price": price, "version": version},
                         version=version)
        """,
    )

    def message(self, method: str) -> str:
        return (
            f"version checked and `{method}()` written in separate round trips: another "
            "writer can slip in between the check and the write; use set_if_newer, "
            "WATCH/MULTI, gets/cas or a server-side script"
        )
