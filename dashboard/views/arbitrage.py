"""The ``/arbitrage`` card grid (plan section 4): one card per live opportunity.

Each card is rendered once and updated in place (only when its HTML changed); filtering
and sorting replace the grid container's list of objects (the grid's ``order``) with
the matching cards in order — never toggling ``visible`` on hundreds of cards — and only
when the list actually changed. Details use a native ``<details>`` element that stays
open when a price move refreshes the card.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import panel as pn

from dashboard import format as fmt
from dashboard.shown import ShownOpportunity
from dashboard.views.common import SELECTED_CSS, STYLES, Context, has, html
from dashboard.views.keyed import KeyedList
from dashboard.views.legging import card_legging, expected_roi

CONFIDENCE_FILTERS = ("All", "HIGH only", "MEDIUM+")

SORTS = ("ROI ▼", "Expected ROI ▼", "ROI/day ▼", "Starts soonest")

_COPY_JS = (
    "const b=this;if(b.disabled||b.closest('.stale'))return;const t=b.dataset.ticket,done=()=>{b.textContent='Copied ✓';"
    "setTimeout(()=>{b.textContent='Copy Trade'},1500)};"
    "const f=()=>{const a=document.createElement('textarea');a.value=t;b.parentNode.appendChild(a);"
    "a.select();document.execCommand('copy');a.remove();done()};"
    "if(navigator.clipboard){navigator.clipboard.writeText(t).then(done,f)}else{f()}"
)


def shown_roi(opp: ShownOpportunity, max_bet: Decimal | None) -> Decimal:
    """The ROI a card shows: at the size ``max_bet`` buys (what the executor would trade
    now), else the opportunity's own (full depth)."""
    at = opp.at_bet(max_bet)
    return at[2] if at is not None else opp.roi


def rules_warning(opp: ShownOpportunity, size: Decimal | None, cost: Decimal | None = None) -> str:
    """What the venues' rules texts mean for this pair, only when it matters: a completed
    game that would not pay $1 (the executor refuses the pair), and each way an unplayed
    game (cancelled, postponed) is settled differently, with the worst case per pair and
    at ``size`` pairs bought for ``cost`` (what the pairs cost minus the least they pay).
    Nothing at all when the rules agree."""
    lines = []
    if opp.rules_outcome_problem and opp.why_not != "rules_outcome_mismatch":  # else the verdict line says it
        lines.append(f'<div class="warn-mark">⛔ Not traded: {fmt.esc(opp.rules_outcome_problem)}</div>')
    for line in opp.rules_differences:
        lines.append(f'<div class="warn-mark">⚠ {fmt.esc(line)}</div>')
    if opp.rules_differences:
        loss = opp.rules_worst_loss
        if loss is None:
            lines.append('<div class="warn-mark">Worst case: unknown (a venue does not say)</div>')
        elif loss > 0 and size is not None and cost is not None:
            # ``loss`` is how far below $1 a pair can pay; against what the pairs cost:
            worst = cost - size * (1 - loss)
            text = f"−{fmt.money(worst)}" if worst > 0 else f"no loss (still +{fmt.money(-worst)})"
            lines.append(f'<div class="warn-mark">Worst case for {fmt.volume(size)} pairs: {text}</div>')
    return f'<div class="rules-warn">{"".join(lines)}</div>' if lines else ""


SUSPICIOUS = "suspicious_roi"  # the worker's reason: above EXECUTOR_SUSPICIOUS_ROI, not confirmed


def suspicion(opp: ShownOpportunity, roi: Decimal, limit: Decimal | None) -> str:
    """What the card says of a large ROI: above ``EXECUTOR_SUSPICIOUS_ROI`` only a
    confirmed game trades. When that refuses the pair the worker's verdict line says so;
    otherwise (it may trade) a warning to check the match; nothing at or below it."""
    if opp.why_not == SUSPICIOUS:
        return ""  # the worker's verdict line says it: "not tradeable: ROI … is above …"
    if limit is None:  # a worker that does not say its limit: the plan's gold band
        if fmt.roi_band(roi) != "roi-gold":
            return ""
        return '<div class="suspicious" data-suspicious="check" title="Check the match">⚠ Suspicious: check the match</div>'
    if roi <= limit:
        return ""
    return (f'<div class="suspicious" data-suspicious="check">⚠ Above the suspicious-ROI limit ({fmt.percent(limit)}): '
            "only a confirmed game trades at such an edge; check the match</div>")


def card_summary(opp: ShownOpportunity, now: datetime, max_bet: Decimal | None = None,
                 suspicious_roi: Decimal | None = None, min_roi: Decimal | None = None) -> str:
    """The card's always-visible part, as HTML (``min_roi``: the settings', for the
    legging line)."""
    emoji = fmt.SPORT_EMOJI.get(opp.league, "🎯")
    roi = shown_roi(opp, max_bet)
    at = opp.at_bet(max_bet)
    sized = f' <span class="muted">for {fmt.volume(at[0])}</span>' if at is not None else ""
    band = fmt.roi_band(roi)
    suspicious = suspicion(opp, roi, suspicious_roi)
    if at is not None:
        rules = rules_warning(opp, at[0], at[1])
    else:
        full_cost = opp.cost * opp.size if opp.cost is not None and opp.size is not None else None
        rules = rules_warning(opp, opp.size, full_cost)
    expired = ' <span class="expired-tag">expired</span>' if opp.is_expired(now) else ""
    per_day = f" | {fmt.percent(opp.roi_per_day, 2)}/day" if opp.roi_per_day is not None else ""
    verdict = fmt.trade_verdict(opp.tradeable, opp.why_not, opp.why_not_text)
    trade = f'<div class="trade">{verdict}</div>' if verdict else ""
    return (
        f'<div class="card" data-id="{fmt.esc(opp.id)}" data-roi="{roi}" data-confidence="{opp.confidence}">'
        f'<div class="card-head"><span>{emoji} {fmt.esc(opp.title)}{expired}</span>'
        f'<span class="conf-tag {fmt.confidence_class(opp.confidence)}">{fmt.esc(opp.confidence)} ●</span></div>'
        f'<div class="legs">{fmt.esc(fmt.legs_line(opp))}</div>'
        f'<div class="figs">ROI: <span class="roi {band}">{fmt.percent(roi)}</span>{sized}'
        f" | Cost: {fmt.money(opp.cost)} | Vol: {fmt.esc(fmt.volumes(opp))}{per_day}</div>"
        f"{card_legging(opp, min_roi)}{trade}{suspicious}{rules}"
        f'<div style="margin-top:4px"><button class="copy-btn" data-ticket="{fmt.esc(fmt.order_ticket(opp))}" '
        f'onclick="{_COPY_JS}">Copy Trade</button></div></div>'
    )


def card_details(opp: ShownOpportunity) -> str:
    """The expandable part: ids, URLs, times, the full-depth figures and both rules texts."""
    rows = []
    for leg in opp.legs:
        venue = fmt.VENUE_LONG.get(leg.venue, leg.venue)
        ident = "Ticker" if leg.venue == "kalshi" else ("Market slug" if leg.venue == "polymarket_us" else "Token id")
        url = opp.kalshi_url if leg.venue == "kalshi" else opp.poly_url
        link = (f'<br><a class="venue-link" data-venue="{fmt.esc(leg.venue)}" href="{fmt.esc(url)}" target="_blank" '
                f'rel="noopener noreferrer">Open on {venue} ↗</a>') if url.startswith("https://") else ""
        rows.append(f"<tr><td>{venue}</td><td>{ident}: <code>{fmt.esc(leg.market or '—')}</code>{link}</td></tr>")
    depth = (
        f"{fmt.volume(opp.size)} pairs · ROI {fmt.percent(opp.roi)}" if opp.size is not None else fmt.percent(opp.roi)
    )
    times = (
        f"<tr><td>Full depth</td><td>{depth}</td></tr>"
        f"<tr><td>Starts</td><td>{fmt.stamp(opp.starts_at)}</td></tr>"
        f"<tr><td>Seen</td><td>{fmt.stamp(opp.updated_at)}</td></tr>"
    )
    rules_k = fmt.esc(opp.rules_kalshi or "—")
    rules_p = fmt.esc(opp.rules_poly or "—")
    diff = "".join(f'<div class="warn-mark">{fmt.esc(line)}</div>' for line in opp.rules_differences)
    facts = "".join(f"<li>{fmt.esc(line)}</li>" for line in opp.rules_facts)
    if facts:
        diff += f'<div class="rules-facts"><b>Read from the rules</b><ul>{facts}</ul></div>'
    return (
        "<details><summary>Details ▼</summary>"
        f"<table>{''.join(rows)}{times}</table>{diff}"
        f'<div class="rules"><div><b>Kalshi rules</b><br>{rules_k}</div><div><b>Polymarket rules</b><br>{rules_p}</div></div>'
        "</details>"
    )


def matches(opp: ShownOpportunity, confidence: str, hide_expired: bool, now: datetime) -> bool:
    rank = fmt.CONFIDENCE_RANK.get(opp.confidence, 0)
    if confidence == "HIGH only" and rank < 3:
        return False
    if confidence == "MEDIUM+" and rank < 2:
        return False
    return not (hide_expired and opp.is_expired(now))


def sort_key(sort: str, now: datetime, max_bet: Decimal | None = None) -> object:
    far = datetime.max.replace(tzinfo=now.tzinfo)
    if sort == "Expected ROI ▼":
        return lambda o: (-expected_roi(o), o.id)
    if sort == "ROI/day ▼":
        return lambda o: (-(o.roi_per_day if o.roi_per_day is not None else o.roi), o.id)
    if sort == "Starts soonest":
        return lambda o: (o.starts_at or far, -shown_roi(o, max_bet), o.id)
    return lambda o: (-shown_roi(o, max_bet), o.id)


class Card:
    """One opportunity's rendered parts; :meth:`update` re-renders only what changed."""

    def __init__(self, opp: ShownOpportunity, now: datetime, max_bet: Decimal | None = None,
                 suspicious_roi: Decimal | None = None, min_roi: Decimal | None = None) -> None:
        self.opp = opp
        self.summary = card_summary(opp, now, max_bet, suspicious_roi, min_roi)
        self.details = card_details(opp)
        self.classes = f"opp-card {fmt.confidence_class(opp.confidence)}"

    def update(self, opp: ShownOpportunity, now: datetime, max_bet: Decimal | None = None,
               suspicious_roi: Decimal | None = None, min_roi: Decimal | None = None) -> bool:
        """Re-render for ``opp``; True when anything the browser shows changed."""
        self.opp = opp
        summary, details = card_summary(opp, now, max_bet, suspicious_roi, min_roi), card_details(opp)
        classes = f"opp-card {fmt.confidence_class(opp.confidence)}"
        changed = (summary, details, classes) != (self.summary, self.details, self.classes)
        self.summary, self.details, self.classes = summary, details, classes
        return changed

    def wire(self) -> dict[str, str]:
        return {"cls": self.classes, "sum": self.summary, "det": self.details}


class ArbitrageView:
    """Quick filters, sort, and the grid of opportunity cards."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        # The chosen filter and sort stand out: solid primary among outlined buttons.
        self.confidence = pn.widgets.RadioButtonGroup(options=list(CONFIDENCE_FILTERS), value="All",
                                                      color="primary", variant="outline",
                                                      stylesheets=[SELECTED_CSS])
        self.hide_expired = pn.widgets.Toggle(label="Hide expired", value=False, width=120,
                                              color="primary", variant="outline", stylesheets=[SELECTED_CSS])
        self.sort = pn.widgets.RadioButtonGroup(options=list(SORTS), value="ROI ▼", color="primary",
                                                variant="outline", stylesheets=[SELECTED_CSS])
        for w in (self.confidence, self.hide_expired, self.sort):
            w.param.watch(lambda _e: self.refilter(), "value")
        self.count = html("", name="opp-count")
        self.cards: dict[str, Card] = {}
        # max_bet, suspicious ROI, min_roi
        self._drawn_with: tuple[Decimal | None, Decimal | None, Decimal | None] = (None, None, None)
        self.grid = KeyedList(list_class="grid", empty="No live opportunities match.", sizing_mode="stretch_width",
                              stylesheets=STYLES)
        bar = pn.Row(
            self.confidence, html("<span class='muted'>|</span>"), self.hide_expired,
            html("<span class='muted'>| Sort:</span>"), self.sort, self.count,
            sizing_mode="stretch_width", styles={"flex-wrap": "wrap", "align-items": "center"},
        )
        self.layout = pn.Column(bar, self.grid, sizing_mode="stretch_width")

    def __panel__(self) -> pn.Column:
        return self.layout

    def max_bet(self) -> Decimal | None:
        settings = self.ctx.feed.state.settings
        return settings.max_bet if settings is not None else None

    def update(self, topics: set[str]) -> None:
        if has(topics, "freshness", "connection"):
            self.grid.stale = self.ctx.stale()
        if not has(topics, "opportunities", "settings"):
            return
        now = self.ctx.now()
        opps = self.ctx.feed.state.opportunities
        max_bet = self.max_bet()
        limit = self.ctx.feed.state.suspicious_roi
        settings = self.ctx.feed.state.settings
        min_roi = settings.min_roi if settings is not None else None
        resize = (max_bet, limit, min_roi) != self._drawn_with  # every card shows the ROI at max_bet
        self._drawn_with = (max_bet, limit, min_roi)
        for oid in [oid for oid in self.cards if oid not in opps]:
            del self.cards[oid]
        for oid, opp in opps.items():
            card = self.cards.get(oid)
            if card is None:
                self.cards[oid] = Card(opp, now, max_bet, limit, min_roi)
            elif card.opp is not opp or resize:
                card.update(opp, now, max_bet, limit, min_roi)
        self.grid.apply({oid: c.wire() for oid, c in self.cards.items()}, self.visible_ids())
        self._count()

    def _count(self) -> None:
        self.count.object = (
            f'<span class="muted" data-shown="{len(self.grid.order)}">{len(self.grid.order)} of {len(self.cards)} shown</span>'
        )

    def visible_ids(self) -> list[str]:
        now = self.ctx.now()
        shown = [c.opp for c in self.cards.values() if matches(c.opp, self.confidence.value, self.hide_expired.value, now)]
        shown.sort(key=sort_key(self.sort.value, now, self.max_bet()))  # type: ignore[arg-type]
        return [o.id for o in shown]

    def refilter(self) -> None:
        self.grid.apply(self.grid.items, self.visible_ids())  # the order only: nothing re-sent
        self._count()
