"""An HTML pane whose changes travel as messages: for the panes a busy page redraws.

A Panel ``HTML`` pane re-sends itself through Panel's property machinery on every change
(about a millisecond of server time per change and session); with 50 sessions open and
the stats, balances and venues changing every second, that alone held the server's loop
for tens of milliseconds at a time, delaying every other page's update behind it. Here
the page starts from the ``html`` property, each later change is one message carrying the
new markup, and a page that (re)renders the component asks for the current markup with a
``sync`` message, so nothing sent before it connected is missed. ``object`` reads and
sets the markup as on an ``HTML`` pane; setting the same markup again sends nothing.
"""

from __future__ import annotations

from typing import Any

import param
from panel.custom import JSComponent


class LiveHTML(JSComponent):
    """See the module doc."""

    html = param.String(default="", doc="the markup a page starts from")

    _esm = """
export function render({ model, el }) {
  const box = document.createElement('div');
  box.className = 'live-html';
  el.appendChild(box);
  box.innerHTML = model.html;
  model.on('html', () => { box.innerHTML = model.html; });
  model.on('msg:custom', (text) => { box.innerHTML = text; });
  model.send_msg('sync');
}
"""

    def __init__(self, text: str = "", **params: Any) -> None:
        super().__init__(html=text, **params)
        self._text = text

    @property
    def object(self) -> str:
        """The markup shown."""
        return self._text

    @object.setter
    def object(self, text: str) -> None:
        if text == self._text:
            return
        self._text = text
        if self._models:
            self._send_msg(text)  # on a page already: one message
        else:
            self.html = text  # not rendered yet: the page starts from the property

    def _handle_msg(self, msg: Any) -> None:
        if msg == "sync":
            self._send_msg(self._text)
