"""Shared shape of the rules that classify one blind write (see ``cachelint.races``)."""

from __future__ import annotations

from collections.abc import Iterator

from cachelint import races
from cachelint.diagnostics import Diagnostic
from cachelint.rules import Rule, RuleContext


class WriteRaceRule(Rule):
    """A rule reporting the writes that ``races.write_race`` assigns to its code."""

    def message(self, method: str) -> str:
        raise NotImplementedError

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        for op in ctx.facts.ops:
            if races.write_race(op, ctx.facts) == self.code:
                yield self.report(op.call, self.message(op.method))
