"""Open positions on ``/executor``: a keyed, sortable table across the page's width.

One row per position, kept by id in the browser (:class:`~dashboard.views.keyed.KeyedList`):
the game (the venues' title and its league), each leg as its venue names it with the
contracts held, the price paid and the mark (its best bid, from the worker's books), the
cost, the locked edge (what the hedged pair pays at settlement less its cost), the
unrealised P&L at mark (the books' figure: for a hedged pair its locked edge), when the
game starts (in the display zone) and how long until then, when it should settle (its
start plus the league's usual game length: an estimate), and Close. Sorting reorders the
rows the browser has; nothing is re-sent. The plan's "Open Positions (X)" heading stays.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import panel as pn

from dashboard import format as fmt
from dashboard.shown import ShownPosition
from dashboard.views.common import STYLES, Context, html
from dashboard.views.keyed import Item, KeyedList
from worker.api import views as wire
from worker.domain.leagues import game_length

SORTS: dict[str, Callable[[ShownPosition, datetime | None], Any]] = {
    "Newest first": lambda p, _s: -p.opened_at.timestamp(),
    "Game start": lambda p, s: (s is None, s.timestamp() if s else 0.0),
    "Cost": lambda p, _s: -(p.cost or Decimal(0)),
    "Locked edge": lambda p, _s: -(p.locked_edge if p.locked_edge is not None else Decimal(-10**9)),
    "Game": lambda p, _s: p.event.lower(),
}
_NONE_LAST = Decimal(10**9)
HEAD = (
    '<div class="pos-head"><span>Game</span><span>Kalshi leg</span><span>Polymarket leg</span>'
    "<span>Cost</span><span>Locked edge</span><span>Unrealised</span><span>Game start</span><span></span></div>"
)


class PositionsTable:
    """See the module doc. ``on_close(position_id)`` asks the worker to close one."""

    def __init__(self, ctx: Context, on_action: Callable[[str, str, Any], None]) -> None:
        self.ctx = ctx
        self.zone = fmt.display_zone()
        self.messages: dict[str, str] = {}
        self.title = html("", name="positions-title")
        self.sort = pn.widgets.Select(label="Sort", options=[*SORTS, "Unrealised"], value="Newest first", width=140)
        self.sort.param.watch(lambda _e: self.render(), "value")
        self.list = KeyedList(on_action=on_action, empty="No open positions.", list_class="klist positions-table",
                              sizing_mode="stretch_width", stylesheets=STYLES)  # fmt: skip
        self.head = html(HEAD, sizing_mode="stretch_width")
        self.layout = pn.Column(
            pn.FlexBox(self.title, self.sort, flex_wrap="wrap", justify_content="space-between",
                       align_items="flex-end", sizing_mode="stretch_width"),
            self.head, self.list, sizing_mode="stretch_width",
        )  # fmt: skip

    def game_times(self, pos: ShownPosition) -> tuple[datetime | None, datetime | None]:
        """The game's start (the position's own, else its mapping's, found by Kalshi
        ticker) and when the position should settle: that start plus the league's usual
        game length (an estimate; the venues settle once they have the result)."""
        mapping = next((m for m in self.ctx.feed.state.mappings.values() if m.kalshi == pos.kalshi.market), None)
        start = pos.starts_at if pos.starts_at is not None else (None if mapping is None else mapping.starts_at)
        settle = None if start is None or mapping is None else start + game_length(mapping.league)
        return start, settle

    def item(self, pos: ShownPosition, times: tuple[datetime | None, datetime | None], now: datetime,
             at: wire.HoldingView | None) -> Item:
        start, settle = times

        def leg(side: str, shown: Any, qty: int | None) -> str:
            held = f"{qty} × " if qty is not None else ""
            return (f'<span class="legs" data-leg="{side}">{fmt.esc(fmt.leg_name(shown))}</span>'
                    f'<span class="muted qty" data-qty="{side}">{held}{fmt.price(shown.price)}</span>'
                    f'<span class="muted mark" data-mark="{side}">{mark(side)}</span>')  # fmt: skip

        def mark(side: str) -> str:
            if at is None:
                return ""
            venue = "kalshi" if side == "kalshi" else pos.poly.venue
            bids = [g.bid for g in at.legs if g.venue.value == venue]
            if not bids:
                return ""
            return "no mark" if bids[0] is None else f"bid {fmt.price(bids[0])}"

        unreal = None if at is None else at.unrealised
        unreal_cls = "pos" if unreal is not None and unreal > 0 else ("neg" if unreal is not None and unreal < 0 else "muted")
        unreal_text = fmt.money(unreal, signed=True) if unreal is not None else ("no mark" if at is not None else "—")

        edge = pos.locked_edge
        edge_cls = "pos" if edge is not None and edge > 0 else ("neg" if edge is not None and edge < 0 else "")
        if start is None:
            when = '<span class="muted">—</span>'
        else:
            left = (start - now).total_seconds()
            rel = f"in {fmt.age(left)}" if left > 0 else f"started {fmt.age(-left)} ago"
            when = f'{fmt.local(start, self.zone)[:-3]}<br><span class="muted">{rel}</span>'
            if settle is not None:
                due = (settle - now).total_seconds()
                eta = f"in ~{fmt.age(due)}" if due > 0 else "due (awaiting the result)"
                when += f'<br><span class="muted" data-k="settles">settles {eta}</span>'
        return {
            "cls": "position pos-row",
            "sum": (
                f'<span class="pos-game"><b>{fmt.esc(pos.event)}</b><br><span class="muted">opened '
                f"{fmt.local(pos.opened_at, self.zone)[:-3]}</span></span>"
                f'<span>{leg("kalshi", pos.kalshi, pos.kalshi_qty)}</span>'
                f'<span>{leg("poly", pos.poly, pos.poly_qty)}</span>'
                f'<span data-k="cost">{fmt.money(pos.cost)}</span>'
                f'<span class="{edge_cls}" data-k="edge">{fmt.money(edge, signed=True) if edge is not None else "not hedged"}</span>'
                f'<span class="{unreal_cls}" data-k="unrealised">{unreal_text}</span>'
                f'<span data-k="start">{when}</span>'
                '<span><button class="act warn" data-action="close" data-confirm="Confirm close">Close Position</button>'
                f"{self.messages.get(pos.id, '')}</span>"
            ),
        }

    def render(self) -> None:
        positions = self.ctx.feed.state.positions
        now = self.ctx.now()
        self.title.object = f"<h3 style='margin:0'>Open Positions ({len(positions)})</h3>"
        times = {pid: self.game_times(p) for pid, p in positions.items()}
        key = SORTS[str(self.sort.value)]
        books = self.ctx.feed.state.books
        marks = {pid: books.holding(pid) if books is not None else None for pid in positions}
        if self.sort.value == "Unrealised":
            def unreal(pid: str) -> Decimal:
                u = marks[pid]
                return -(u.unrealised if u is not None and u.unrealised is not None else -_NONE_LAST)
            order = sorted(positions, key=unreal)
        else:
            order = sorted(positions, key=lambda pid: key(positions[pid], times[pid][0]))
        self.list.apply({pid: self.item(p, times[pid], now, marks[pid]) for pid, p in positions.items()}, order)
        self.head.visible = bool(positions)
