"""Exceptions raised by :mod:`cachelint.runtime`."""

from __future__ import annotations


class VersionConflictError(Exception):
    """A memcached ``gets``/``cas`` loop lost the race on every one of its attempts.

    Other writers kept changing the key, so the write could be neither applied
    nor ruled out as stale.  Nothing was written; retrying later is safe.
    """

    def __init__(self, key: object, attempts: int) -> None:
        super().__init__(
            f"could not compare-and-set {key!r} within {attempts} attempts: "
            "the key kept changing under contention"
        )
        self.key = key
        self.attempts = attempts
