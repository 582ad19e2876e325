"""The ``/executor`` page, laid out as the plan draws it (section 2).

Header (status badge, toggle, last update, kill switch) · three columns (settings,
balances and today's stats, open positions) · recent trades with Clear, STRANDED attempts
standing out with Retry unwind / Mark resolved.

Widgets are built once and updated. The settings column is ``settings_form.py`` (each
invalid value explained next to its field), the kill switch ``kill_switch.py``
(confirmation that says what it will do, flattening progress); this module lays them out.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import panel as pn

from dashboard import format as fmt
from dashboard.shown import ShownTrade
from dashboard.views.alert_history import AlertHistory
from dashboard.views.common import STYLES, Context, has, html, live_html
from dashboard.views.keyed import Item, KeyedList
from dashboard.views.kill_switch import KillSwitch
from dashboard.views.money import money_html
from dashboard.views.positions import PositionsTable
from dashboard.views.settings_form import SettingsPanel
from dashboard.views.trade_log import TradeLog
from worker.api import schemas
from worker.api import views as wire


class ExecutorView:
    """The whole ``/executor`` page body."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        # header
        self.badge = html("", name="status-badge")
        self.toggle = pn.widgets.Button(label="…", color="success", width=190, height=48)
        self.toggle.on_click(lambda _e: self._toggle())
        self.updated = live_html("", name="last-update")
        self.action_msg = html("", name="action-message")
        self.kill_switch = KillSwitch(ctx, self._say)
        self.kill = self.kill_switch.button
        header = pn.Column(
            pn.Row(self.badge, self.toggle, self.updated, pn.layout.HSpacer(), self.kill,
                   sizing_mode="stretch_width", styles={"align-items": "center", "flex-wrap": "wrap"}),
            self.kill_switch.layout, self.action_msg, sizing_mode="stretch_width",
        )
        # columns
        self.settings = SettingsPanel(ctx)
        self.balances = live_html("", name="balances", sizing_mode="stretch_width")
        self.money = live_html("", name="money", sizing_mode="stretch_width")
        self.stats = live_html("", name="stats", sizing_mode="stretch_width")
        self.freshness = live_html("", name="freshness", sizing_mode="stretch_width")
        self.venues = live_html("", name="venues", sizing_mode="stretch_width")
        self.refusals = live_html("", name="refusals", sizing_mode="stretch_width")
        self.positions_table = PositionsTable(ctx, self._position_action)
        self.positions_title = self.positions_table.title
        self.position_msgs = self.positions_table.messages
        self.positions = self.positions_table.list
        box = {"border": "1px solid #d0d7de", "border-radius": "6px"}
        self.figures = pn.Column(
            self.freshness, html("<h3 style='margin:0'>Balances</h3>"), self.balances, self.money,
            html("<h3 style='margin:0'>Today's Stats</h3>"), self.stats,
            styles={**box, "flex": "1 1 260px"}, sizing_mode="stretch_width",
        )
        # Positions across the page's width: a table that grows downwards in one place,
        # not a third column many times taller than the other two.
        self.positions_box = pn.Column(self.positions_table.layout, styles=box, sizing_mode="stretch_width")
        columns = pn.FlexBox(
            pn.Column(self.settings.layout, styles={"flex": "1 1 260px"}, sizing_mode="stretch_width"),
            self.figures,
            flex_wrap="wrap", gap="12px", sizing_mode="stretch_width",
        )
        health = pn.FlexBox(
            pn.Column(html("<h3 style='margin:0'>Venues</h3>"), self.venues,
                      styles={**box, "flex": "1 1 300px"}, sizing_mode="stretch_width"),
            pn.Column(html("<h3 style='margin:0'>Last refusals</h3>"), self.refusals,
                      styles={**box, "flex": "2 1 420px"}, sizing_mode="stretch_width"),
            flex_wrap="wrap", gap="12px", sizing_mode="stretch_width",
        )
        # trades
        self.stranded_msgs: dict[str, str] = {}
        self.stranded = KeyedList(on_action=self._stranded_action, sizing_mode="stretch_width", stylesheets=STYLES)
        self._resolved: set[str] = set()
        self.trades = TradeLog(ctx)
        trades = pn.Column(self.stranded, self.trades.layout, sizing_mode="stretch_width", styles=box)
        self.alert_history = AlertHistory(ctx)
        history = pn.Column(self.alert_history.layout, sizing_mode="stretch_width", styles=box)
        self.layout = pn.Column(header, columns, self.positions_box, health, trades, history, sizing_mode="stretch_width")

    def __panel__(self) -> pn.Column:
        return self.layout

    # -- actions ---------------------------------------------------------------------
    def _say(self, reply: wire.ReplyView, ok: str) -> None:
        if isinstance(reply, wire.AckView):
            self.action_msg.object = f'<span class="saved">✓ {fmt.esc(ok)}</span>'
        else:
            self.action_msg.object = f'<span class="field-error">⚠ {fmt.esc(reply.message or "Refused")}</span>'

    def _toggle(self) -> None:
        target = not self.ctx.feed.state.enabled
        self.ctx.send(schemas.TOGGLE_ENABLED, lambda r: self._say(r, "Trading " + ("started" if target else "paused")), value=target)

    # -- rendering -------------------------------------------------------------------
    def update(self, topics: set[str]) -> None:
        state = self.ctx.feed.state
        stale = self.ctx.stale()
        if has(topics, "freshness", "connection"):
            self._render_freshness(stale)
            topics = set(topics) | {"status", "venues"}
        if has(topics, "status") and stale:
            # Never ACTIVE/PAUSED from memory: the worker may have stopped or changed it.
            self.badge.object = ('<span class="badge unknown" data-enabled="unknown" '
                                 f'title="No word from the worker: {fmt.esc(self.ctx.as_of())}">UNKNOWN</span>')
        elif has(topics, "status"):
            if state.enabled:
                self.badge.object = '<span class="badge active" data-enabled="true">ACTIVE</span>'
                self.toggle.label, self.toggle.color = "⏸ Pause trading", "danger"
            else:
                self.badge.object = '<span class="badge paused" data-enabled="false">PAUSED</span>'
                self.toggle.label, self.toggle.color = "▶ Start trading", "success"
        # Changes with nearly every message, sent at most once a second (when the text does).
        self.updated.object = f'<span class="muted" data-k="last-update">Last update {fmt.clock(state.updated_at)} UTC</span>'
        self.settings.update(topics)
        self.kill_switch.update(topics)
        self.alert_history.update(topics)
        if has(topics, "balances", "status"):
            poly_label = "Polymarket US" if state.poly_venue == "polymarket_us" else "Polymarket"
            b = state.balances
            self.balances.object = (
                '<table class="kv">'
                f'<tr><td>{poly_label}:</td><td class="v" data-k="poly">{fmt.money(b.poly)}</td></tr>'
                f'<tr><td>Kalshi:</td><td class="v" data-k="kalshi">{fmt.money(b.kalshi)}</td></tr>'
                f'<tr class="total"><td>Total:</td><td class="v" data-k="total">{fmt.money(state.total_balance())}</td></tr>'
                "</table>" + self._books_html()
            )
            self.money.object = money_html(state.books, state.poly_venue)
        if has(topics, "stats", "settings", "status", "trades"):
            self._render_stats()
        if has(topics, "positions", "mappings", "balances"):
            self._render_positions()
        if has(topics, "trades"):
            self.trades.on_trades()
            self._render_stranded()
        if has(topics, "venues"):
            self._render_venues(stale)
        if has(topics, "refusals"):
            self._render_refusals()

    def _render_freshness(self, stale: bool) -> None:
        """Grey the figures out, with their age, while they may be out of date."""
        # Inline: a class on a layout would sit in its parent's shadow root, out of reach
        # of the stylesheet each component loads.
        grey = {"opacity": "0.55", "filter": "grayscale(1)"} if stale else {"opacity": "1", "filter": "none"}
        for box in (self.figures, self.positions_box):
            styles = {**box.styles, **grey}
            if box.styles != styles:
                box.styles = styles
        self.freshness.object = (
            f'<div class="stale-note" data-stale="true">⚠ Figures {fmt.esc(self.ctx.as_of())}: may be out of date</div>'
            if stale else ""
        )
        self.positions.stale = stale

    def _render_venues(self, stale: bool) -> None:
        state = self.ctx.feed.state
        now = self.ctx.now()
        rows = []
        for name, info in sorted(state.venues.items()):
            venue_state = "unknown" if stale else info.state.value
            age = "—"
            if info.data_age_ms is not None:
                seen = state.venues_at
                extra = (now - seen).total_seconds() if seen is not None else 0.0
                age = fmt.age(info.data_age_ms / 1000 + max(extra, 0.0))
            since = info.since
            detail = info.detail or ""
            rows.append(
                f'<tr data-venue="{fmt.esc(name)}"><td>{fmt.esc(fmt.VENUE_LONG.get(name, name))}</td>'
                f'<td><span class="vstate {fmt.esc(venue_state)}">{fmt.esc(venue_state)}</span></td>'
                f"<td>data {fmt.esc(age)} old</td>"
                f'<td class="muted">{fmt.esc(detail)}{" · since " + fmt.clock(since) + " UTC" if since else ""}</td></tr>'
            )
        body = "".join(rows) or '<tr><td class="muted">No venue reported yet.</td></tr>'
        self.venues.object = f'<table class="kv venues">{body}</table>'

    def _render_refusals(self) -> None:
        rows = [
            f'<tr><td>{fmt.clock(r.timestamp)}</td><td>{fmt.esc(r.event)}</td>'
            f'<td class="reason" data-reason="{fmt.esc(r.reason.value)}">{fmt.esc(r.reason.value.replace("_", " "))}</td>'
            f'<td class="muted">{fmt.esc(r.detail)}</td></tr>'
            for r in list(self.ctx.feed.state.refusals)[:10]
        ]
        body = "".join(rows) or '<tr><td class="muted">No refusals yet.</td></tr>'
        self.refusals.object = f'<table class="trades refusals">{body}</table>'

    def _books_html(self) -> str:
        """Whether our books match the venues' cash, and what is won but still to redeem."""
        books = self.ctx.feed.state.books
        if books is None:
            return ""
        diff = books.difference
        if books.in_flight:
            verdict = '<span class="muted">checked when no trade is in flight</span>'
        elif diff is None:
            verdict = '<span class="muted">not yet checked</span>'
        elif books.agrees:
            verdict = '<span class="pos">match the venues</span>'
        else:
            verdict = f'<span class="neg">differ by {fmt.money(diff, signed=True)}</span>'
        out = f'<div class="books" data-k="books">Books: {verdict}</div>'
        owed = books.resolved_to_redeem
        if owed > 0:
            rows = "".join(
                f"<li>{fmt.money(i.amount)} on {fmt.esc(i.venue.value)}: {fmt.esc(i.what or '')}</li>"
                for i in books.to_redeem
            )
            out += (
                f'<div class="to-redeem" data-k="to-redeem"><b>Resolved, to redeem: {fmt.money(owed)}</b>'
                f"<ul>{rows}</ul>"
                '<span class="muted">Owed to you until redeemed: on Polymarket, Portfolio → Claim '
                "(redeemPositions on the conditional-tokens contract); on the paper exchange, "
                "POST /paper/redeem.</span></div>"
            )
        return out

    def stopping_limit(self) -> str:
        """Which limit, if any, stops new trades now."""
        state = self.ctx.feed.state
        stats, settings = state.stats, state.settings
        if not state.enabled:
            return "Paused: no new trades"
        if stats is not None and settings is not None and stats.trades >= settings.max_daily_trades:
            return "Stopped by Max Daily Trades"
        if stats is not None and settings is not None and -stats.pnl >= settings.max_daily_loss:
            return "Stopped by Max Daily Loss"
        if state.stopping_limit:
            return f"Stopped by {state.stopping_limit.replace('_', ' ').title()}"
        return ""

    def _render_stats(self) -> None:
        state = self.ctx.feed.state
        stats = state.stats
        trades = stats.trades if stats is not None else 0
        wins = stats.wins if stats is not None else 0
        pnl = stats.pnl if stats is not None else None
        max_trades: int | str = state.settings.max_daily_trades if state.settings is not None else "—"
        rate = "—"
        if trades > 0:
            rate = f"{(Decimal(wins) * 100 / Decimal(trades)).quantize(Decimal(1))}%"
        pnl_cls = "pos" if pnl is not None and pnl > 0 else ("neg" if pnl is not None and pnl < 0 else "")
        limit = self.stopping_limit()
        self.stats.object = (
            '<table class="kv">'
            f'<tr><td>Trades:</td><td class="v" data-k="trades">{trades} / {max_trades}</td></tr>'
            f'<tr><td>P&amp;L:</td><td class="v {pnl_cls}" data-k="pnl">{fmt.money(pnl, signed=True)}</td></tr>'
            f'<tr><td>Win Rate:</td><td class="v" data-k="winrate">{rate}</td></tr>'
            "</table>"
            + (f'<div class="limit" data-k="limit">{fmt.esc(limit)}</div>' if limit else "")
        )

    def _position_action(self, action: str, pid: str, _value: Any) -> None:
        if action != "close":
            return

        def reply(r: wire.ReplyView) -> None:
            if isinstance(r, wire.AckView):
                self.position_msgs[pid] = ' <span class="saved">Closing…</span>'
            else:
                self.position_msgs[pid] = f' <span class="field-error">⚠ {fmt.esc(r.message or "Refused")}</span>'
            self.positions_table.render()

        self.ctx.send(schemas.CLOSE_POSITION, reply, position_id=pid)

    def _render_positions(self) -> None:
        self.positions_table.render()

    def stranded_attempts(self) -> dict[str, ShownTrade]:
        """Attempts whose latest row is STRANDED and that were not resolved here."""
        return {a: t for a, t in self.ctx.feed.state.stranded().items() if a not in self._resolved}

    def _render_stranded(self) -> None:
        items: dict[str, Item] = {}
        for a, t in self.stranded_attempts().items():
            items[a] = {
                "cls": "stranded-box",
                "sum": (
                    f"<b>⚠ STRANDED</b> {fmt.esc(t.event)} — {fmt.money(t.size)} — "
                    f"{fmt.esc(t.reason or 'one leg open that could not be unwound')}<br>"
                    '<button class="act bad" data-action="retry">Retry unwind</button> '
                    '<input class="note" data-input="note" placeholder="note: how it was resolved"> '
                    '<input class="proceeds" data-input="proceeds" inputmode="decimal" size="9" '
                    'placeholder="$ it brought in" title="What selling the stranded contracts by hand brought in '
                    '(0 if worthless): the loss is booked now. Empty: the leg is settled when its market resolves."> '
                    '<button class="act warn" data-action="resolve" data-confirm="Confirm resolved">Mark resolved</button>'
                    f"{self.stranded_msgs.get(a, '')}"
                ),
            }
        self.stranded.apply(items, list(items))

    def _stranded_action(self, action: str, attempt_id: str, value: Any) -> None:
        def reply(r: wire.ReplyView, ok: str, resolved: bool = False) -> None:
            if isinstance(r, wire.AckView):
                self.stranded_msgs[attempt_id] = f' <span class="saved">✓ {ok}</span>'
                if resolved:
                    self._resolved.add(attempt_id)
            else:
                self.stranded_msgs[attempt_id] = f' <span class="field-error">⚠ {fmt.esc(r.message or "Refused")}</span>'
            self._render_stranded()

        if action == "retry":
            self.ctx.send(schemas.RETRY_UNWIND, lambda r: reply(r, "Unwind retried"), attempt_id=attempt_id)
        elif action == "resolve":
            fields = value if isinstance(value, dict) else {"note": value}
            raw_note, raw_proceeds = fields.get("note"), fields.get("proceeds")
            note = raw_note.strip() if isinstance(raw_note, str) and raw_note.strip() else "resolved by operator"
            payload: dict[str, Any] = {"attempt_id": attempt_id, "note": note}
            if isinstance(raw_proceeds, str) and raw_proceeds.strip():
                try:
                    proceeds = Decimal(raw_proceeds.strip().lstrip("$").replace(",", ""))
                except ArithmeticError:
                    proceeds = None
                if proceeds is None or not proceeds.is_finite() or proceeds < 0:
                    self.stranded_msgs[attempt_id] = (
                        ' <span class="field-error">⚠ Proceeds must be an amount in dollars, 0 or more</span>')
                    self._render_stranded()
                    return
                payload["proceeds"] = proceeds
            self.ctx.send(schemas.RESOLVE_STRANDED, lambda r: reply(r, "Marked resolved", True), **payload)
