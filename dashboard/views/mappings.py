"""The ``/mappings`` review: one group per game (both of its rows, the venues' pages and
names), search, filters (league, date, confidence, status), sort, Confirm / Reject per game
or for the selected games with an optional note, and Undo; below, the listings refused at
discovery.

A decision is sent to the worker; a game changes when the worker's ``mapping_changed``
comes back, so every open page (here or in another dashboard process) shows the same. A
decision never moves a game: the list keeps its order until the operator changes the
search, a filter or the sort (a game that no longer matches stays until then). Undo sends
the decisions that restore each game's previous status and note (``reopen_mapping`` for
a game that was pending). Decisions of one batch go one at a time, each after the
worker's answer to the previous one.

Below the games, "Refused at discovery" counts the markets the worker left out at its
latest discovery (a market a venue parser could not read, or one the matcher refused: a
spread, a total, a polarity in doubt …) and lists the latest of them (venue, id, reason,
first seen), from ``init`` and every ``discovery_refusals``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import panel as pn

from dashboard import format as fmt
from dashboard.views.common import STYLES, Context, changed, has, html
from dashboard.views.keyed import Item, KeyedList
from dashboard.views.mappings_games import (
    ALL_DATES,
    ALL_LEAGUES,
    CONFIDENCE_FILTERS,
    SORTS,
    STATUS_FILTERS,
    STATUS_LABEL,
    Filters,
    Game,
    game_item,
    games_of,
    ordered,
)
from worker.api import schemas
from worker.api import views as wire

#: The action that puts a game back in a status (what Undo sends).
RESTORE = {"candidate": schemas.REOPEN_MAPPING, "confirmed": schemas.CONFIRM_MAPPING,
           "rejected": schemas.REJECT_MAPPING}
DECIDE = {"confirm": "confirmed", "reject": "rejected"}
#: The controls' own styles (their shadow roots): tap targets of at least 44 px.
CONTROL_STYLES = [*STYLES, """
.bk-input, select.bk-input, .bk-btn { min-height:44px; font-size:15px; }
.bk-btn { min-width:44px; }
.bk-btn-group .bk-btn { min-height:44px; padding:0 10px; }
"""]


@dataclass(frozen=True)
class Undo:
    """How to put one game back: its row to send for, its status and note before."""

    key: str
    mapping_id: str
    status: str
    note: str


def discovery_html(d: wire.DiscoveryView | None) -> str:
    """The "Refused at discovery" section: the count and a table (venue, id, reason, when)."""
    if d is None or d.discovered_at is None:
        return (
            '<div class="discovery" data-refused-count="">'
            "<h4 style='margin:8px 0 4px'>Refused at discovery</h4>"
            '<span class="muted">No discovery has run in the worker yet.</span></div>'
        )
    head = (
        f'<div class="discovery" data-refused-count="{d.refused_count}">'
        f"<h4 style='margin:8px 0 4px'>Refused at discovery: <b class=\"refused-count\">{d.refused_count}</b></h4>"
        f'<span class="muted">latest discovery {fmt.stamp(d.discovered_at)}'
    )
    if d.refused_count > len(d.refused):
        head += f"; the {len(d.refused)} first seen most recently are listed"
    head += "</span>"
    if not d.refused:
        return head + '<p class="muted">No listing was refused.</p></div>'
    rows = "".join(
        f'<tr data-venue="{fmt.esc(r.venue.value)}" data-id="{fmt.esc(r.id)}"><td>{fmt.esc(r.venue.value)}</td>'
        f"<td><code>{fmt.esc(r.id)}</code></td><td>{fmt.esc(r.reason)}</td><td>{fmt.stamp(r.at)}</td></tr>"
        for r in d.refused
    )
    return (
        head + '<div style="max-height:420px;overflow-y:auto">'
        '<table class="refusals" style="width:100%;border-collapse:collapse">'
        "<thead><tr><th align='left'>Venue</th><th align='left'>Id</th><th align='left'>Reason</th>"
        "<th align='left'>Since</th></tr></thead><tbody>" + rows + "</tbody></table></div></div>"
    )


class MappingsView:
    """See the module doc. Selection, notes typed, messages and the last batch's undo
    are this session's."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

        def control(kind: Callable[..., Any], **kw: Any) -> Any:
            return kind(stylesheets=CONTROL_STYLES, margin=(4, 5), **kw)

        self.search = control(pn.widgets.TextInput, placeholder="Search teams, titles, tickers", name="",
                              sizing_mode="stretch_width", min_width=200, max_width=420)
        self.league = control(pn.widgets.Select, options=[ALL_LEAGUES], value=ALL_LEAGUES, width=150)
        self.day = control(pn.widgets.Select, options=[ALL_DATES], value=ALL_DATES, width=150)
        self.confidence = control(pn.widgets.Select, options=list(CONFIDENCE_FILTERS), value=CONFIDENCE_FILTERS[0],
                                  width=160)
        self.status = control(pn.widgets.RadioButtonGroup, options=list(STATUS_FILTERS), value="all")
        self.sort = control(pn.widgets.Select, options=list(SORTS), value=SORTS[0], width=210)
        self.search.param.watch(lambda _e: self.refilter(), "value_input")
        for w in (self.league, self.day, self.confidence, self.status, self.sort):
            w.param.watch(lambda _e: self.refilter(), "value")
        self.note = control(pn.widgets.TextInput, placeholder="Note for the selected (optional)",
                            max_length=schemas.MAX_NOTE_LENGTH, sizing_mode="stretch_width", min_width=200,
                            max_width=420)
        self.pick_shown = control(pn.widgets.Button, name="Select shown")
        self.clear = control(pn.widgets.Button, name="Clear selection")
        self.confirm_selected = control(pn.widgets.Button, name="Confirm selected", button_type="success",
                                        disabled=True)
        self.reject_selected = control(pn.widgets.Button, name="Reject selected", button_type="danger",
                                       disabled=True)
        self.undo = control(pn.widgets.Button, name="Undo", disabled=True)
        self.pick_shown.on_click(lambda _e: self._select(self.list.order))
        self.clear.on_click(lambda _e: self._select([]))
        self.confirm_selected.on_click(lambda _e: self.decide_selected("confirm"))
        self.reject_selected.on_click(lambda _e: self.decide_selected("reject"))
        self.undo.on_click(lambda _e: self.undo_last())
        self.count = html("", name="mapping-count")
        self.done = html("", name="mapping-batch")

        self.games: dict[str, Game] = {}
        self._haystacks: dict[str, str] = {}
        self.selected: set[str] = set()
        self.messages: dict[str, str] = {}
        self.drafts: dict[str, str] = {}  # a note typed in a game, kept while it re-renders
        self.last: list[Undo] = []  # the last decision's batch, for the toolbar's Undo
        self.undos: dict[str, Undo] = {}  # per game: what its own Undo restores
        # Per game: the (status, note) of the last decision sent and not yet seen back in
        # a ``mapping_changed``; a second decision's Undo must restore that, not the page's
        # older status.
        self.pending: dict[str, tuple[str, str]] = {}
        self._known: set[str] = set()  # games already placed in the order
        self._queue: deque[tuple[str, dict[str, str], Callable[[wire.ReplyView], None]]] = deque()
        self._busy = False
        self.list = KeyedList(on_action=self._act, empty="No games match.", list_class="klist map-list",
                              sizing_mode="stretch_width", stylesheets=STYLES)
        self.refused = html(discovery_html(ctx.feed.state.discovery), name="discovery-refusals",
                            sizing_mode="stretch_width")
        wrap = {"flex-wrap": "wrap", "align-items": "center"}
        self.layout = pn.Column(
            pn.Row(html("<h3 style='margin:0'>Market mappings</h3>"), self.count, styles=wrap,
                   sizing_mode="stretch_width"),
            pn.FlexBox(self.search, self.league, self.day, self.confidence, self.sort, self.status,
                       sizing_mode="stretch_width", css_classes=["map-filters"], align_items="center"),
            pn.FlexBox(self.pick_shown, self.clear, self.note, self.confirm_selected, self.reject_selected,
                       self.undo, self.done, sizing_mode="stretch_width", css_classes=["map-bulk"],
                       align_items="center"),
            self.list, self.refused, sizing_mode="stretch_width",
        )
        self._load()
        # Discovery may have added pairs since the feed connected: read the list afresh.
        ctx.feed.refresh("mappings")

    def __panel__(self) -> pn.Column:
        return self.layout

    # -- what is shown ---------------------------------------------------------------
    def update(self, topics: set[str]) -> None:
        if has(topics, "mappings"):
            self._load()
        if has(topics, "discovery"):
            changed(self.refused, "object", discovery_html(self.ctx.feed.state.discovery))

    def _load(self) -> None:
        """New rows from the worker: every game's item again (only changed ones travel);
        the order stays, new games that match go after it."""
        self.games = games_of(self.ctx.feed.state.mappings.values())
        self._haystacks = {k: g.haystack() for k, g in self.games.items()}
        self._options()
        kept = [k for k in self.list.order if k in self.games]
        self._known &= set(self.games)  # a game gone and back is new again
        new = [g for k, g in self.games.items() if k not in self._known]
        self._known.update(g.key for g in new)
        filters = self.filters()
        added = [g.key for g in ordered((g for g in new if filters.matches(g, self._haystacks[g.key])),
                                        self.sort.value)]
        self.selected &= set(self.games)
        self.list.apply(self._items(), kept + added)
        self._status_line()

    def _options(self) -> None:
        leagues = [ALL_LEAGUES, *sorted({g.league for g in self.games.values() if g.league})]
        days = [ALL_DATES, *sorted({g.day for g in self.games.values() if g.day})]
        for w, options in ((self.league, leagues), (self.day, days)):
            if w.value not in options:
                options.append(w.value)  # keep the operator's choice while it matches nothing
            changed(w, "options", options)

    def filters(self) -> Filters:
        return Filters(self.search.value_input or "", self.league.value, self.day.value, self.confidence.value,
                       self.status.value)

    def visible_ids(self) -> list[str]:
        """The games that match the search and filters, in the chosen order."""
        filters = self.filters()
        shown = [g for k, g in self.games.items() if filters.matches(g, self._haystacks.get(k))]
        return [g.key for g in ordered(shown, self.sort.value)]

    def refilter(self) -> None:
        """The operator changed the search, a filter or the sort: the order again (only it
        travels); a selected game no longer shown is no longer selected."""
        order = self.visible_ids()
        self._known.update(self.games)
        hidden = self.selected - set(order)
        self.selected -= hidden
        self.list.apply(self._items(), order)
        self._status_line()

    def _item(self, key: str) -> Item:
        return game_item(self.games[key], key in self.selected, self.messages.get(key, ""), self.drafts.get(key, ""))

    def _items(self) -> dict[str, Item]:
        return {k: self._item(k) for k in self.games}

    def _redraw(self, *keys: str) -> None:
        for k in keys:
            if k in self.games:
                self.list.update_item(k, self._item(k))

    def _status_line(self) -> None:
        shown, total, picked = len(self.list.order), len(self.games), len(self.selected)
        rows = sum(len(g.rows) for g in self.games.values())
        changed(self.count, "object", (
            f'<span class="muted" data-shown="{shown}" data-games="{total}" data-selected="{picked}">'
            f"{shown} of {total} games shown ({rows} pairs) · {picked} selected</span>"
        ))
        changed(self.confirm_selected, "disabled", not picked)
        changed(self.reject_selected, "disabled", not picked)
        changed(self.confirm_selected, "name", f"Confirm selected ({picked})" if picked else "Confirm selected")
        changed(self.reject_selected, "name", f"Reject selected ({picked})" if picked else "Reject selected")
        changed(self.undo, "disabled", not self.last)
        changed(self.undo, "name", f"Undo ({len(self.last)})" if self.last else "Undo")
        # What acts on a selection shows once there is one (a phone's first screen is small).
        for w in (self.clear, self.note, self.confirm_selected, self.reject_selected):
            changed(w, "visible", bool(picked))
        changed(self.undo, "visible", bool(self.last))

    def _select(self, keys: list[str]) -> None:
        before = set(self.selected)
        self.selected = set(keys) & set(self.games)
        self._redraw(*(before ^ self.selected))
        self._status_line()

    # -- decisions -------------------------------------------------------------------
    def _act(self, action: str, key: str, value: Any) -> None:
        note = value.strip() if isinstance(value, str) else ""
        self.drafts[key] = value if isinstance(value, str) else ""
        if action == "pick":
            if key in self.selected:
                self.selected.discard(key)
            else:
                self.selected.add(key)
            self._redraw(key)
            self._status_line()
        elif action in DECIDE:
            self.decide([key], action, note)
        elif action == "undo" and key in self.undos:
            self._restore([self.undos[key]])
        else:
            self._redraw(key)  # nothing to do: the button comes back

    def decide_selected(self, action: str) -> None:
        keys = [k for k in self.list.order if k in self.selected]  # in the order shown
        self.decide(keys, action, (self.note.value_input or self.note.value or "").strip())
        self.note.value = ""
        self.selected -= set(keys)
        self._redraw(*keys)
        self._status_line()

    def decide(self, keys: list[str], action: str, note: str) -> None:
        """Confirm or reject each game of ``keys`` (one already there is left alone); the
        batch becomes what the toolbar's Undo restores."""
        status = DECIDE[action]
        batch = []
        for key in keys:
            game = self.games.get(key)
            before = self._before(key)
            if game is None or before is None or before[0] == status:
                self._redraw(key)
                continue
            undo = Undo(key, game.rows[0].id, before[0], before[1])
            self.pending[key] = (status, note)
            batch.append(undo)
            self.undos[key] = undo
            self.drafts.pop(key, None)
            self._send(RESTORE[status], key, undo.mapping_id, note or None, f"{STATUS_LABEL[status]}", True)
        if batch:
            self.last = batch
            changed(self.done, "object", f'<span class="muted" data-batch="{len(batch)}">'
                    f"{len(batch)} game{'s' if len(batch) != 1 else ''} {STATUS_LABEL[status]}</span>")
        self._status_line()

    def undo_last(self) -> None:
        batch, self.last = self.last, []
        self._restore(batch)
        changed(self.done, "object", f'<span class="muted" data-batch="0">{len(batch)} undone</span>' if batch else "")
        self._status_line()

    def _before(self, key: str) -> tuple[str, str] | None:
        """The game's (status, note) a new decision changes: the last one sent while the
        worker has not confirmed it yet, else what the page shows."""
        game = self.games.get(key)
        if game is None:
            return None
        sent = self.pending.get(key)
        if sent is None or sent[0] == game.status:  # nothing in flight, or it has arrived
            self.pending.pop(key, None)
            return game.status, game.note
        return sent

    def _restore(self, batch: list[Undo]) -> None:
        for undo in batch:
            self.undos.pop(undo.key, None)
            self.pending[undo.key] = (undo.status, undo.note)
            self.last = [u for u in self.last if u.key != undo.key]
            self._send(RESTORE[undo.status], undo.key, undo.mapping_id, undo.note or None,
                       f"back to {STATUS_LABEL[undo.status]}", False)
        self._status_line()

    def _send(self, action: str, key: str, mapping_id: str, note: str | None, done: str, undoable: bool) -> None:
        self.messages[key] = ' <span class="muted map-msg">sending…</span>'
        self._redraw(key)

        def reply(r: wire.ReplyView) -> None:
            if isinstance(r, wire.AckView):
                undo = ' <button class="act" data-action="undo">Undo</button>' if undoable and key in self.undos else ""
                self.messages[key] = f' <span class="saved map-msg">✓ {fmt.esc(done)}</span>{undo}'
            else:
                self.pending.pop(key, None)  # not applied: the page's status stands
                if undoable:  # nothing changed: nothing to undo
                    self.undos.pop(key, None)
                    self.last = [u for u in self.last if u.key != key]
                    self._status_line()
                self.messages[key] = f' <span class="field-error map-msg">⚠ {fmt.esc(r.message or "Refused")}</span>'
            self._redraw(key)
            self._busy = False
            self._pump()

        payload = {"mapping_id": mapping_id} | ({"note": note} if note else {})
        self._queue.append((action, payload, reply))
        self._pump()

    def _pump(self) -> None:
        """Send the next queued decision once the worker answered the previous one (the
        worker takes a client's actions one at a time, and limits their rate)."""
        if self._busy or not self._queue:
            return
        action, payload, reply = self._queue.popleft()
        self._busy = True
        self.ctx.send(action, reply, **payload)
