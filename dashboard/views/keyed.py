"""A list of keyed HTML items kept by id in the browser: cards, positions, mappings.

Why one component instead of a Panel layout of widgets per item: a page with hundreds of
cards would otherwise hold thousands of Bokeh models, each with its own shadow root, so
re-filtering took seconds; and a layout change made while a page is still connecting
can be lost. Here:

* ``order`` is the container's list of objects (ids shown, in order). Filtering and
  sorting change only it; the browser re-places its existing elements — nothing is
  rebuilt, nothing is hidden with ``visible``. It travels in messages only (with the items
  it brings, or alone), never as a model property: with many sessions open, a property
  set per update costs the server more than the message.
* An item's HTML travels once, as a message, when it is new or changed (``apply``). A
  message is one JSON text; new items placed on top carry only their ids (``front``),
  not the whole order again.
* A page that (re)renders the component asks for every item with a ``sync`` message, so
  whatever happened before it connected, it starts from the full current list; it asks
  again if ``order`` ever names an item it was not sent.
* Buttons inside an item carry ``data-action``; a click sends ``{action, id, value}`` to
  Python (``value`` is the item's one ``[data-input]`` field's text, or ``{name: text}``
  for fields named ``data-input="name"``). A button with
  ``data-confirm`` needs a second click on its confirmation label within 5 s; a refresh
  of the item in between (a position's mark moved) keeps it armed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import param
from panel.custom import JSComponent

Item = dict[str, str]  # {"cls": classes, "sum": html, "det": html (optional, keeps <details> open)}
ActionHandler = Callable[[str, str, Any], None]


class KeyedList(JSComponent):
    """See the module doc. ``items`` mirrors what every browser view has been sent."""

    empty = param.String(default="", doc="text shown when nothing is")
    list_class = param.String(default="klist")
    stale = param.Boolean(default=False, doc="the items may be out of date: greyed, their copy buttons disabled")

    _esm = """
export function render({ model, el }) {
  const box = document.createElement('div');
  box.className = model.list_class;
  el.appendChild(box);
  const items = new Map();
  let asked = 0;
  // The order shown: the last one a message carried (the first comes with the sync).
  let order = [];
  const place = () => {
    const kids = [];
    let missing = false;
    for (const id of order) { const it = items.get(id); if (it) kids.push(it.el); else missing = true; }
    // An id we were never sent (a message lost while the page connected): ask for all.
    if (missing && Date.now() - asked > 500) { asked = Date.now(); model.send_msg({ type: 'sync' }); }
    const shown = kids.length;
    if (!shown && model.empty) {
      const e = document.createElement('div'); e.className = 'muted'; e.textContent = model.empty; kids.push(e);
    }
    box.replaceChildren(...kids);
    box.dataset.shown = String(shown);
    mark();
  };
  // Stale data: the list is greyed and marked, and nothing can be copied from it.
  const mark = () => {
    const stale = !!model.stale;
    box.classList.toggle('stale', stale);
    box.dataset.stale = String(stale);
    for (const b of box.querySelectorAll('.copy-btn')) {
      b.disabled = stale;
      b.title = stale ? 'Prices are stale: no word from the worker' : '';
    }
  };
  const make = (id) => {
    const e = document.createElement('div');
    e.dataset.key = id;
    const sum = document.createElement('div');
    const det = document.createElement('div');
    e.append(sum, det);
    e.addEventListener('click', (ev) => {
      const b = ev.target.closest('[data-action]');
      if (!b || !e.contains(b) || b.disabled) return;
      if (b.dataset.confirm && b.dataset.armed !== '1') {
        it.held = { action: b.dataset.action, until: Date.now() + 5000 };
        arm(b, it.held.until);
        return;
      }
      // One unnamed input: its text; named inputs (data-input="proceeds"): {name: text}.
      const inputs = [...e.querySelectorAll('[data-input]')];
      let value = null;
      if (inputs.length === 1 && !inputs[0].dataset.input) value = inputs[0].value;
      else if (inputs.length) value = Object.fromEntries(inputs.map((i) => [i.dataset.input, i.value]));
      model.send_msg({ type: 'action', action: b.dataset.action, id, value });
      it.held = null;
      b.disabled = true;
      b.textContent = 'sending…';
    });
    const it = { el: e, sum, det, s: null, d: null, held: null };
    return it;
  };
  // An armed button (its confirmation label shown for 5 s) lives in the page: a refresh
  // of the item's HTML (a position's mark moved) keeps it armed until its 5 s are up.
  const arm = (b, until) => {
    b.dataset.armed = '1'; b.dataset.label = b.textContent; b.textContent = b.dataset.confirm;
    b.classList.add('armed');
    setTimeout(() => {
      if (b.isConnected && b.dataset.armed === '1') {
        b.dataset.armed = ''; b.textContent = b.dataset.label; b.classList.remove('armed');
      }
    }, Math.max(until - Date.now(), 0));
  };
  const rehold = (it) => {
    const h = it.held;
    if (!h || Date.now() >= h.until) { it.held = null; return; }
    const b = [...it.el.querySelectorAll('[data-action]')].find((x) => x.dataset.action === h.action);
    if (b && !b.disabled && b.dataset.confirm) arm(b, h.until);
  };
  const upsert = (id, c) => {
    let it = items.get(id);
    if (!it) { it = make(id); items.set(id, it); }
    it.el.className = c.cls || '';
    if (it.s !== c.sum) { it.sum.innerHTML = c.sum; it.s = c.sum; rehold(it); }
    const det = c.det || '';
    if (it.d !== det) {
      // Keep an opened Details section open across a refresh of the item.
      const open = it.det.querySelector('details')?.open;
      it.det.innerHTML = det;
      it.d = det;
      if (open) { const d = it.det.querySelector('details'); if (d) d.open = true; }
    }
  };
  model.on('msg:custom', (raw) => {
    const msg = typeof raw === 'string' ? JSON.parse(raw) : raw;
    if (msg.full) { for (const id of [...items.keys()]) if (!(id in msg.upsert)) items.delete(id); }
    for (const [id, c] of Object.entries(msg.upsert || {})) upsert(id, c);
    const removed = new Set(msg.remove || []);
    for (const id of removed) items.delete(id);
    // The whole order, or the ids placed on top of the rest (less what was removed).
    if (msg.order) order = msg.order;
    else if (msg.front) order = msg.front.concat(order.filter((id) => !removed.has(id)));
    place();
  });
  model.on('empty', place);
  model.on('stale', mark);
  asked = Date.now();
  model.send_msg({ type: 'sync' });
}
"""

    def __init__(self, on_action: ActionHandler | None = None, **params: Any) -> None:
        super().__init__(**params)
        self.items: dict[str, Item] = {}
        self._order: list[str] = []
        self._on_action = on_action

    @property
    def order(self) -> list[str]:
        """The ids shown, in order, as every browser view has been sent them (changed
        only through :meth:`apply`, which sends the change)."""
        return self._order

    def apply(self, items: Mapping[str, Item], order: list[str] | None = None) -> None:
        """Make the browser's items and order equal ``items`` and ``order``, sending only
        the difference, in one message when both changed (with many sessions open, each
        message to each session costs the server more than what it carries). An item is
        kept as given: never change it afterwards, give a new one."""
        removed = [k for k in self.items if k not in items]
        # Items are kept as given (never changed after): a row built once for every
        # session is the same object again, found unchanged without comparing its text.
        known = self.items
        upsert = {k: v for k, v in items.items() if (old := known.get(k)) is not v and old != v}
        for k in removed:
            del self.items[k]
        self.items.update(upsert)
        new_order = order is not None and order != self.order
        if upsert or removed or new_order:
            msg: dict[str, Any] = {"upsert": upsert, "remove": removed}
            if order is not None and new_order:
                gone = set(removed)
                kept = [k for k in self._order if k not in gone]
                n = len(order) - len(kept)
                if n >= 0 and order[n:] == kept:
                    msg["front"] = order[:n]  # new rows on top of the rest: not the whole list again
                else:
                    msg["order"] = list(order)
                self._order = list(order)
            self._send(msg)

    def update_item(self, key: str, item: Item) -> None:
        if key in self.items and self.items[key] != item:
            self.items[key] = item
            self._send({"upsert": {key: item}, "remove": []})

    def _send(self, msg: Mapping[str, Any]) -> None:
        """One message, as one JSON text: Bokeh serializes a dict item by item, in Python,
        for every session it goes to; a string it passes on as it is."""
        self._send_msg(json.dumps(msg, separators=(",", ":")))

    def _handle_msg(self, msg: Any) -> None:
        if not isinstance(msg, dict):
            return
        if msg.get("type") == "sync":
            self._send({"upsert": dict(self.items), "remove": [], "full": True, "order": list(self.order)})
        elif msg.get("type") == "action" and self._on_action is not None:
            key, action = msg.get("id"), msg.get("action")
            if isinstance(key, str) and isinstance(action, str) and key in self.items:
                self._on_action(action, key, msg.get("value"))

    def click(self, key: str, action: str, value: Any = None) -> None:
        """What a click on an item's ``data-action`` button does (used by tests)."""
        self._handle_msg({"type": "action", "action": action, "id": key, "value": value})
