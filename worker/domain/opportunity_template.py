"""An opportunity made from a template: what the scanner builds per new quote.

Split from :mod:`worker.domain.mapping` (which defines :class:`Opportunity`): the
template is the scanner's fast way to make one, equal to the constructor's.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from worker.domain.deferred import Deferred
from worker.domain.mapping import CurvePoint, Leg, LeggingQuote, Opportunity

#: The fields of an opportunity that change with the books (the quote).
QUOTE_FIELDS = (
    "kalshi_leg", "poly_leg", "size", "cost", "edge", "roi_pct", "roi_per_day_pct", "updated_at", "curve",
    "legging",
)  # fmt: skip
_new = object.__new__
_set_dict = Opportunity.__dict__["__dict__"].__set__


class OpportunityTemplate:
    """What one direction's opportunities share: every field but the quote.

    The scanner makes one per direction when a mapping is added and an opportunity per
    new quote from it (:meth:`priced`). Why not ``Opportunity(...)``: a frozen
    dataclass's ``__init__`` sets its 22 fields one ``object.__setattr__`` call each,
    about four times what a book update's depth walk costs; here a new opportunity is a
    copy of the template's field dict given to the instance as its ``__dict__``. The
    result is an ordinary frozen :class:`Opportunity`, equal to the one the constructor
    builds from the same values (``tests/worker/domain/test_opportunity_template.py``).
    """

    __slots__ = ("_fields",)

    def __init__(self, **fixed: Any) -> None:
        names = [f.name for f in fields(Opportunity)]
        wrong = set(fixed).symmetric_difference(set(names) - set(QUOTE_FIELDS))
        if wrong:
            raise TypeError(f"an opportunity template takes every field but the quote: {sorted(wrong)}")
        # Keys in field order, as ``__init__`` would store them (the curve under its
        # DeferredField's key).
        self._fields = {("_deferred_curve" if n == "curve" else n): fixed.get(n) for n in names}

    def priced(
        self,
        kalshi_leg: Leg,
        poly_leg: Leg,
        size: Decimal,
        cost: Decimal,
        edge: Decimal,
        roi_pct: Decimal,
        roi_per_day_pct: Decimal,
        updated_at: datetime,
        curve: tuple[CurvePoint, ...] | Deferred[tuple[CurvePoint, ...]],
        legging: LeggingQuote | None = None,
    ) -> Opportunity:
        """An opportunity with this template's fields and the given quote."""
        d = self._fields.copy()
        d["kalshi_leg"] = kalshi_leg
        d["poly_leg"] = poly_leg
        d["size"] = size
        d["cost"] = cost
        d["edge"] = edge
        d["roi_pct"] = roi_pct
        d["roi_per_day_pct"] = roi_per_day_pct
        d["updated_at"] = updated_at
        d["_deferred_curve"] = curve
        d["legging"] = legging
        o = _new(Opportunity)
        _set_dict(o, d)
        return o


def with_legging(opp: Opportunity, legging: LeggingQuote | None) -> Opportunity:
    """``opp`` with its legging quote: a copy of its fields (the curve still deferred, not
    built as ``dataclasses.replace`` would)."""
    d = dict(opp.__dict__)
    d["legging"] = legging
    o = _new(Opportunity)
    _set_dict(o, d)
    return o
