"""The trade log on ``/executor``: every row the worker wrote, paged, filtered, expandable.

* Times carry their date, in the display zone (``EXECUTOR_DISPLAY_TZ``, default the
  trading day's), which the header names.
* Rows are a :class:`~dashboard.views.keyed.KeyedList` keyed by trade id: a new trade
  sends one row to each page, not the table again.
* The newest :data:`PAGE` rows show; **Show older** adds a page, from the rows this
  dashboard holds and then from the worker (``/api/trades?before=…&before_id=…``), so
  every row of history can be reached.
* A status or league filter is the worker's (``/api/trades?status=…&league=…``): the
  rows shown are the worker's answer, paged the same way, read again after each trade.
* **Export CSV** downloads ``/api/trades.csv`` with the same filters (the dashboard reads
  it from the worker with its token; the browser never holds the token).
* A row opens to its legs (venue, contract, side, price, quantity, fill, fees, order
  ids), the venues' order ids and its reason.
* **Clear** hides the rows shown so far and says how many; **Undo** shows them again.
  Nothing is deleted: the history stays in the worker's database.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import panel as pn

from dashboard import format as fmt
from dashboard.shown import ShownTrade
from dashboard.views.common import STYLES, Context, changed, html, in_background, server_loop
from dashboard.views.keyed import Item, KeyedList
from worker.api import views as wire
from worker.domain.leagues import LEAGUES
from worker.domain.tradelog import TradeStatus

log = logging.getLogger(__name__)

PAGE = 50
ALL = "All"
STATUS_OPTIONS = [ALL, *(s.value for s in TradeStatus)]
LEAGUE_OPTIONS = [ALL, *(row.code for row in LEAGUES)]
Fetch = Callable[[str, Mapping[str, str]], Awaitable[Any]]
#: Rows' items by key, shared by the sessions: (the row they were made from, zone, item).
_ITEMS: dict[str, tuple[ShownTrade, ZoneInfo, Item]] = {}


class TradeLog:
    """See the module doc. ``rows()`` is what the list shows, newest first."""

    def __init__(self, ctx: Context, fetch: Fetch | None = None) -> None:
        self.ctx = ctx
        self.zone = fmt.display_zone()
        self._fetch: Fetch = fetch or ctx.feed.api_get
        self.limit = PAGE
        self._rows: tuple[list[ShownTrade], tuple[int, int], list[ShownTrade]] | None = None
        #: Rows read from the worker beyond what the dashboard holds (no filter), or the
        #: worker's answer to the filter; ``exhausted``: the worker has no older row.
        self.older: list[ShownTrade] = []
        self.filtered: list[ShownTrade] | None = None
        self.exhausted = False
        self.hidden: set[str] = set()
        self.loading = False
        self.title = html("", name="trades-title")
        self.status = pn.widgets.Select(label="Status", options=STATUS_OPTIONS, value=ALL, width=130)
        self.league = pn.widgets.Select(label="League", options=LEAGUE_OPTIONS, value=ALL, width=100)
        self.status.param.watch(lambda _e: self._filter_changed(), "value")
        self.league.param.watch(lambda _e: self._filter_changed(), "value")
        self.csv = pn.widgets.FileDownload(
            callback=self._csv, filename="trades.csv", label="Export CSV", color="light", width=120,
            embed=False,
        )  # fmt: skip
        self.clear = pn.widgets.Button(label="Clear", color="light", width=80)
        self.clear.on_click(lambda _e: self.clear_shown())
        self.undo = pn.widgets.Button(label="Undo", color="light", width=70, visible=False)
        self.undo.on_click(lambda _e: self.undo_clear())
        self.note = html("", name="trades-note")
        self.list = KeyedList(empty="No trades yet.", list_class="klist trade-log", sizing_mode="stretch_width",
                              stylesheets=STYLES)  # fmt: skip
        self.more = pn.widgets.Button(label="Show older", color="light", width=120)
        self.more.on_click(lambda _e: self.show_older())
        self.more_note = html("", name="trades-more")
        self.layout = pn.Column(
            # A FlexBox, not a Row: a Row is as wide as its fixed-width widgets, which would
            # widen the whole page on a phone; these wrap.
            pn.FlexBox(self.title, pn.FlexBox(self.status, self.league, self.csv, self.clear, self.undo,
                                              flex_wrap="wrap", align_items="flex-end"),
                       flex_wrap="wrap", justify_content="space-between", align_items="flex-end",
                       sizing_mode="stretch_width"),
            self.note, self.list, pn.Row(self.more, self.more_note), sizing_mode="stretch_width",
        )  # fmt: skip

    # -- what is shown ---------------------------------------------------------------
    def filters(self) -> dict[str, str]:
        out = {}
        if self.status.value != ALL:
            out["status"] = str(self.status.value)
        if self.league.value != ALL:
            out["league"] = str(self.league.value).lower()
        return out

    def available(self) -> list[ShownTrade]:
        """Every row this page could show, newest first."""
        if self.filtered is not None:
            return self.filtered
        live = self.ctx.feed.state.trades_newest_first()
        if not self.older:
            return live
        keys = {t.key for t in live}
        return live + [t for t in self.older if t.key not in keys]

    def rows(self) -> list[ShownTrade]:
        """The rows shown: :meth:`available` less what Clear hid, up to ``limit`` (kept
        while none of those changed: most renders of a busy page change nothing here)."""
        available = self.available()
        key = (len(self.hidden), self.limit)
        cached = self._rows
        if cached is not None and cached[0] is available and cached[1] == key:
            return cached[2]
        hidden = self.hidden
        rows = [t for t in available if t.key not in hidden][: self.limit] if hidden else available[: self.limit]
        self._rows = (available, key, rows)
        return rows

    def render(self) -> None:
        # Each value is set only when it changed: a busy page renders ten times a second,
        # and every parameter set costs the server, changed or not.
        now = self.ctx.now()
        changed(self.title, "object", (
            "<h3 style='margin:0'>Recent Trades</h3>"
            f'<span class="muted" data-k="display-zone">Times in {fmt.esc(fmt.zone_name(self.zone, now))}</span>'
        ))
        rows = self.rows()
        changed(self.list, "empty", self._empty_text())
        self.list.apply({t.key: self.cached_item(t) for t in rows}, [t.key for t in rows])
        changed(self.note, "object", (
            f'<span class="muted" data-k="hidden">{len(self.hidden)} row{"s" if len(self.hidden) != 1 else ""} '
            "hidden by Clear</span>" if self.hidden else ""
        ))
        changed(self.undo, "visible", bool(self.hidden))
        changed(self.more, "disabled",
                self.loading or (self.exhausted and len(self.available()) - len(self.hidden) <= self.limit))

    def _empty_text(self) -> str:
        if self.hidden:
            return "No new trades since Clear."
        if self.filtered is not None:
            return "No trades match the filter."
        return "No trades yet."

    def cached_item(self, t: ShownTrade) -> Item:
        """:meth:`item`, made once per row and zone for every session of this process (a
        trade reaches every open page; 50 sessions would otherwise each rebuild 50 rows)."""
        hit = _ITEMS.get(t.key)
        if hit is not None and hit[0] is t and hit[1] == self.zone:
            return hit[2]
        if len(_ITEMS) > 5000:
            _ITEMS.clear()
        item = self.item(t)
        _ITEMS[t.key] = (t, self.zone, item)
        return item

    def item(self, t: ShownTrade) -> Item:
        cls = fmt.STATUS_CLASS.get(t.status, "")
        done = t.status in ("SUCCESS", "CLOSED", "SETTLED")
        last = f"{fmt.percent(t.roi)} ROI" if t.roi is not None and done else fmt.esc(
            t.reason or (fmt.percent(t.roi) + " ROI" if t.roi is not None else ""))
        pnl_cls = "pos" if t.pnl is not None and t.pnl > 0 else ("neg" if t.pnl is not None and t.pnl < 0 else "")
        return {
            "cls": f"trade-row {cls}",
            "sum": (
                f'<span class="t-time" data-id="{fmt.esc(t.id)}">{fmt.local(t.time, self.zone)}</span>'
                f'<span class="status">{fmt.esc(t.status)}</span><span class="t-event">{fmt.esc(t.event)}</span>'
                f'<span class="t-size">{fmt.money(t.size)}</span>'
                f'<span class="t-pnl {pnl_cls}">{fmt.money(t.pnl, signed=True)}</span><span class="t-last">{last}</span>'
            ),
            "det": self.details(t),
        }

    def details(self, t: ShownTrade) -> str:
        """The row's legs, order ids, fees and reason, in a closed ``<details>``."""
        d = t.details or {}
        raw = d.get("legs")
        legs: list[Any] = raw if isinstance(raw, list) else []
        rows = "".join(
            "<tr>"
            f"<td>{fmt.esc(g.get('role', ''))}</td><td>{fmt.esc(fmt.VENUE_LONG.get(str(g.get('venue')), g.get('venue', '')))}</td>"
            f"<td>{fmt.esc(g.get('action', ''))} {fmt.esc(g.get('contract', ''))} ({fmt.esc(g.get('side', ''))})</td>"
            f"<td>{fmt.esc(g.get('quantity', ''))} @ {fmt.esc(g.get('price', ''))}</td>"
            f"<td>filled {fmt.esc(g.get('filled', ''))}"
            f"{' @ ' + fmt.esc(g['avg_price']) if g.get('avg_price') else ''}</td>"
            f"<td>fees {fmt.esc(g.get('fees', ''))}</td>"
            f'<td class="order-id">{fmt.esc(g.get("venue_order_id") or g.get("client_order_id") or "—")}</td>'
            f"<td>{fmt.esc(g.get('state', ''))}{' — ' + fmt.esc(g['error']) if g.get('error') else ''}</td>"
            "</tr>"
            for g in legs if isinstance(g, dict)
        )
        parts = []
        if rows:
            parts.append(f'<table class="trades legs-table">{rows}</table>')
        ids = [f"Kalshi order {fmt.esc(t.kalshi_order_id)}" if t.kalshi_order_id else "",
               f"Polymarket order {fmt.esc(t.poly_order_id)}" if t.poly_order_id else ""]  # fmt: skip
        facts = [x for x in ids if x]
        fees = _decimal(d.get("fees"))
        if fees is not None:
            facts.append(f"fees {fmt.money(fees)}")
        if t.reason:
            facts.append(f"reason: {fmt.esc(t.reason)}")
        if t.attempt_id:
            facts.append(f"attempt {fmt.esc(t.attempt_id)}")
        if facts:
            parts.append(f'<div class="muted">{" · ".join(facts)}</div>')
        if not parts:
            return ""
        return f"<details><summary>Legs and order ids</summary>{''.join(parts)}</details>"

    # -- actions ---------------------------------------------------------------------
    def clear_shown(self) -> None:
        self.hidden |= {t.key for t in self.rows()}
        self.render()

    def undo_clear(self) -> None:
        self.hidden.clear()
        self.render()

    def show_older(self) -> None:
        """One more page: from what is held, else read from the worker."""
        self.limit += PAGE
        if len(self.available()) - len(self.hidden) < self.limit and not self.exhausted:
            self._load(older=True)
        self.render()

    def _filter_changed(self) -> None:
        self.limit = PAGE
        self.exhausted = False
        self.older = []
        self.filtered = None
        if self.filters():
            self.filtered = []
            self._load(older=False)
        self.render()

    def on_trades(self) -> None:
        """The dashboard's rows changed (a trade, a history read)."""
        if self.filtered is not None:
            self._load(older=False)
        self.render()

    def _load(self, older: bool) -> None:
        params = {**self.filters(), "limit": str(PAGE)}
        rows = self.available()
        if older and rows:
            last = next((t for t in reversed(rows) if t.id), None)
            if last is not None:
                params |= {"before": last.time.isoformat(), "before_id": last.id}
        loop = server_loop()
        if loop is None:
            return
        self.loading = True
        self.more_note.object = '<span class="muted">Loading…</span>'
        in_background(loop, self._read(params, older))

    async def _read(self, params: dict[str, str], older: bool) -> None:
        try:
            body = await self._fetch("/api/trades", params)
            views = wire.decode_api_trades(body)
        except Exception as exc:
            why = type(exc).__name__  # the kind only: a message could carry a URL
            log.warning("trade log page not read: %s", why)
            self.ctx.post(lambda: self._loaded([], older, f"⚠ Trades not read from the worker ({why})"))
            return
        got = [ShownTrade.from_view(0, v) for v in views]
        self.ctx.post(lambda: self._loaded(got, older, ""))

    def _loaded(self, got: list[ShownTrade], older: bool, error: str) -> None:
        self.loading = False
        self.more_note.object = f'<span class="field-error">{fmt.esc(error)}</span>' if error else ""
        if not error:
            self.exhausted = len(got) < PAGE
            if self.filtered is not None:
                self.filtered = (self.filtered + got) if older else got
            else:
                keys = {t.key for t in self.older}
                self.older += [t for t in got if t.key not in keys]
        self.render()

    def _csv(self) -> io.BytesIO:
        """``/api/trades.csv`` with the filters shown, read from the worker."""
        return io.BytesIO(self.ctx.feed.api_bytes("/api/trades.csv", self.filters()))


def _decimal(value: Any) -> Decimal | None:
    """An amount from a row's details (written as a string), None when it is not one."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        return None
    return amount if amount.is_finite() else None
