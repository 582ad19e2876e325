"""How the dashboard writes money, prices, ROI, times and contracts. Pure functions.

Money arrives as exact ``Decimal`` and is only rounded here, for display (half-even to the
cent). ROI is a percentage everywhere (ARCHITECTURE.md "Units and vocabulary").
"""

from __future__ import annotations

import html
import os
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dashboard.shown import ShownLeg, ShownOpportunity

CENT = Decimal("0.01")
VENUE_SHORT = {"polymarket": "Poly", "polymarket_us": "Poly US", "kalshi": "Kalshi"}
VENUE_LONG = {"polymarket": "Polymarket", "polymarket_us": "Polymarket US", "kalshi": "Kalshi"}
SPORT_EMOJI = {
    "nba": "🏀", "wnba": "🏀", "ncaab": "🏀", "nfl": "🏈", "ncaaf": "🏈", "nhl": "🏒", "mlb": "⚾",
    "mls": "⚽", "epl": "⚽", "ucl": "⚽", "atp": "🎾", "wta": "🎾",
}
CONFIDENCE_RANK = {"HIGH": 3, "MEDIUM": 2, "LOW": 1}
STATUS_CLASS = {
    "SUCCESS": "st-success",
    "FAILED": "st-failed",
    "ROLLED_BACK": "st-rolled",
    "STRANDED": "st-stranded",
    "CLOSED": "st-closed",
    "SETTLED": "st-settled",
}


def money(value: Decimal | None, signed: bool = False) -> str:
    """``$1,234.50``; with ``signed`` a P&L: ``+$0.12`` / ``-$0.80``. ``—`` when unknown."""
    if value is None:
        return "—"
    q = value.quantize(CENT, rounding=ROUND_HALF_EVEN)
    sign = ""
    if q < 0:
        sign = "-"
    elif signed:
        sign = "+"
    return f"{sign}${abs(q):,.2f}"


def price(value: Decimal | None) -> str:
    """A contract price in dollars as venues quote it: ``0.51`` (more places if given)."""
    if value is None:
        return "—"
    q = value.normalize()
    if q == q.quantize(CENT):
        return f"{value.quantize(CENT):f}"
    return f"{q:f}"


def percent(value: Decimal | None, places: int = 1) -> str:
    if value is None:
        return "—"
    return f"{value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN):f}%"


def volume(value: Decimal | None) -> str:
    """``1.2K``, ``3.4M``, ``850``."""
    if value is None:
        return "—"
    for limit, suffix in ((Decimal(1_000_000), "M"), (Decimal(1000), "K")):
        if abs(value) >= limit:
            return f"{(value / limit).quantize(Decimal('0.1'), rounding=ROUND_HALF_EVEN):f}{suffix}"
    return f"{value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN):f}"


def volumes(opp: ShownOpportunity) -> str:
    """Each venue's traded volume in its own unit — Polymarket in dollars, Kalshi in
    contracts — never added together; ``—`` when neither venue reports one."""
    parts = []
    if opp.volume is not None:
        dollars = opp.poly_venue == "polymarket"
        parts.append(f"{VENUE_SHORT.get(opp.poly_venue, 'Poly')} {'$' if dollars else ''}{volume(opp.volume)}")
    if opp.kalshi_volume is not None:
        parts.append(f"Kalshi {volume(opp.kalshi_volume)} ct")
    return " · ".join(parts) if parts else "—"


def clock(value: datetime | None) -> str:
    """``14:32:15`` in UTC (the dashboard labels its times UTC)."""
    return "—" if value is None else value.astimezone(UTC).strftime("%H:%M:%S")


def display_zone() -> ZoneInfo:
    """The zone the trade log writes times in: ``EXECUTOR_DISPLAY_TZ``, else the trading
    day's (``EXECUTOR_DAY_TZ``), else New York's. The launcher refuses an unknown zone
    (``python -m worker dashboard`` exits 78 naming the variable); here one falls back."""
    for name in ("EXECUTOR_DISPLAY_TZ", "EXECUTOR_DAY_TZ"):
        value = os.environ.get(name, "").strip()
        if value:
            try:
                return ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                break
    return ZoneInfo("America/New_York")


def trading_zone() -> ZoneInfo:
    """The trading day's zone (``EXECUTOR_DAY_TZ``, else New York's): where "today" starts."""
    value = os.environ.get("EXECUTOR_DAY_TZ", "").strip()
    try:
        return ZoneInfo(value) if value else ZoneInfo("America/New_York")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("America/New_York")


def zone_name(zone: ZoneInfo, at: datetime) -> str:
    """``America/New_York (EST)``: the zone's name and its abbreviation at ``at``."""
    return f"{str(zone).replace('_', ' ')} ({at.astimezone(zone).tzname()})"


def local(value: datetime | None, zone: ZoneInfo) -> str:
    """``2026-12-06 09:32:15`` in ``zone`` (the header names it)."""
    return "—" if value is None else value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def stamp(value: datetime | None) -> str:
    return "—" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def age(seconds: float) -> str:
    """Age of the data: ``0.4 s``, ``12 s``, ``3 min``, ``2 h``."""
    if seconds < 10:
        return f"{max(seconds, 0):.1f} s"
    if seconds < 120:
        return f"{int(seconds)} s"
    if seconds < 7200:
        return f"{int(seconds // 60)} min"
    return f"{int(seconds // 3600)} h"


def age_whole(seconds: float) -> str:
    """:func:`age` in whole units: ``<1 s``, ``4 s``, ``12 s``, ``3 min``."""
    if seconds < 1:
        return "<1 s"
    if seconds < 10:
        return f"{int(seconds)} s"
    return age(seconds)


def roi_band(roi: Decimal) -> str:
    """The plan's ROI colours: < 1 % gray, 1–3 % green, 3–5 % bright green, > 5 % gold."""
    if roi < 1:
        return "roi-gray"
    if roi <= 3:
        return "roi-green"
    if roi <= 5:
        return "roi-bright"
    return "roi-gold"


def confidence_class(confidence: str) -> str:
    c = confidence.upper()
    return f"conf-{c.lower()}" if c in CONFIDENCE_RANK else "conf-low"


def leg_name(leg: ShownLeg) -> str:
    """A leg by its contract's own name: ``Poly Rockets @ 0.51``, ``Kalshi NO HOU @ 0.48``."""
    return f"{VENUE_SHORT.get(leg.venue, leg.venue)} {leg.contract} @ {price(leg.price)}"


def legs_line(opp: ShownOpportunity) -> str:
    """``BUY Rockets Poly @ 0.51 → BUY NO HOU Kalshi @ 0.48``."""
    return " → ".join(
        f"BUY {leg.contract} {VENUE_SHORT.get(leg.venue, leg.venue)} @ {price(leg.price)}" for leg in opp.legs
    )


def order_ticket(opp: ShownOpportunity) -> str:
    """The plain-text order ticket [Copy Trade] puts on the clipboard."""
    lines = [f"{opp.title} ({opp.league.upper()}) — {opp.confidence} confidence"]
    for n, leg in enumerate(opp.legs, 1):
        market = f" [{leg.market}]" if leg.market else ""
        lines.append(
            f"Leg {n}: BUY {leg.contract} on {VENUE_LONG.get(leg.venue, leg.venue)} @ {price(leg.price)}{market}"
        )
    lines.append(f"ROI {percent(opp.roi, 2)} | Cost {money(opp.cost)} per pair | Vol {volumes(opp)}")
    if opp.starts_at:
        lines.append(f"Starts {stamp(opp.starts_at)}")
    if opp.rules_outcome_problem:
        lines.append(f"NOT TRADED: {opp.rules_outcome_problem}")
    for line in opp.rules_differences:
        lines.append(f"WARNING: {line}")
    return "\n".join(lines)


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def trade_verdict(tradeable: bool | None, why_not: str, text: str, ok: str = "may trade") -> str:
    """Whether a pair may trade, as the worker judged it (``tradeable``, ``why_not``):
    ``ok`` or "not tradeable: <why>"; empty when the worker did not say."""
    if tradeable is None:
        return ""
    if tradeable:
        return f'<span class="trade-verdict ok" data-tradeable="true">{esc(ok)}</span>'
    why = text or why_not or "not allowed"
    return (
        f'<span class="trade-verdict no" data-tradeable="false" data-why-not="{esc(why_not)}">'
        f"not tradeable: {esc(why)}</span>"
    )
