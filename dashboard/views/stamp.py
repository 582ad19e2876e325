"""The plan's "Last update" timestamp, drawn in the browser from one number.

It changes with nearly every worker message. As an HTML pane, every change re-rendered
and re-sent the pane for every open session; here the page starts from one integer
property (the time, in whole seconds, as epoch milliseconds), each later second shown
comes as a message of one number (cheaper for the server than a property set), a page
that (re)renders asks for the current one (``sync``), and the browser writes the text.
"""

from __future__ import annotations

from datetime import datetime

import param
from panel.custom import JSComponent


class Stamp(JSComponent):
    """``{label} HH:MM:SS UTC``, or ``{label} —`` while ``at`` is 0."""

    at = param.Integer(default=0, doc="epoch milliseconds, whole seconds; 0: nothing yet")
    label = param.String(default="Last update")

    _esm = """
export function render({ model, el }) {
  const span = document.createElement('span');
  span.className = 'muted';
  span.dataset.k = 'last-update';
  el.appendChild(span);
  let at = model.at;
  const draw = () => {
    const t = at ? new Date(at).toISOString().slice(11, 19) + ' UTC' : '—';
    span.textContent = `${model.label} ${t}`;
  };
  draw();
  model.on('at', () => { at = model.at; draw(); });
  model.on('msg:custom', (msg) => { at = msg; draw(); });
  model.send_msg('sync');
}
"""

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self._shown: int = self.at

    def stamp(self, when: datetime | None) -> None:
        """Show ``when`` (to the second); sent only when the second shown changes."""
        at = 0 if when is None else int(when.timestamp()) * 1000
        if at == self._shown:
            return
        self._shown = at
        if self._models:
            self._send_msg(at)  # on the page already: one number
        else:
            self.at = at  # not rendered yet: the page starts from the property

    def _handle_msg(self, msg: object) -> None:
        if msg == "sync":  # a page (re)rendered: what it missed while connecting
            self._send_msg(self._shown)
