"""What the page's own components send to a browser: ``KeyedList`` and ``LiveHTML``.

Both exist because Panel's property updates are costly with many sessions open; these
tests pin the messages a page relies on (the browser side is exercised by the Chromium
tests): the order travels only in messages, new rows on top send their ids only, an
unchanged item sends nothing, a rendered ``LiveHTML`` sends its markup as one message and
answers a page's ``sync`` with what it shows now.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from bokeh.document import Document

from dashboard.views.keyed import KeyedList
from dashboard.views.live_html import LiveHTML


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    out: list[Any] = []
    for cls in (KeyedList, LiveHTML):
        monkeypatch.setattr(cls, "_send_msg", lambda self, data: out.append(data))
    return out


def item(text: str) -> dict[str, str]:
    return {"cls": "row", "sum": text}


def test_new_rows_on_top_send_their_ids_not_the_whole_order(sent: list[Any]) -> None:
    lst = KeyedList()
    a, b, c = item("a"), item("b"), item("c")
    lst.apply({"a": a, "b": b}, ["a", "b"])
    assert json.loads(sent[-1]) == {"upsert": {"a": a, "b": b}, "remove": [], "front": ["a", "b"]}
    # A new row on top, the oldest dropped: the new item, the removal and one id.
    lst.apply({"c": c, "a": a}, ["c", "a"])
    assert json.loads(sent[-1]) == {"upsert": {"c": c}, "remove": ["b"], "front": ["c"]}
    assert lst.order == ["c", "a"]
    # The same items again (the same objects, or equal ones): nothing is sent.
    n = len(sent)
    lst.apply({"c": c, "a": dict(a)}, ["c", "a"])
    assert len(sent) == n
    # A re-sort sends the whole order, and no item.
    lst.apply({"c": c, "a": a}, ["a", "c"])
    assert json.loads(sent[-1]) == {"upsert": {}, "remove": [], "order": ["a", "c"]}
    # A changed item only.
    lst.apply({"c": item("c2"), "a": a}, ["a", "c"])
    assert json.loads(sent[-1]) == {"upsert": {"c": item("c2")}, "remove": []}
    # A page that renders asks for everything: all items and the order.
    lst._handle_msg({"type": "sync"})
    assert json.loads(sent[-1]) == {"upsert": {"c": item("c2"), "a": a}, "remove": [], "full": True,
                                    "order": ["a", "c"]}
    with pytest.raises(AttributeError):
        lst.order = ["c", "a"]  # type: ignore[misc]  # only apply() changes it (and sends it)


def test_live_html_starts_from_its_property_then_sends_each_change_as_one_message(sent: list[Any]) -> None:
    pane = LiveHTML("<b>1</b>")
    pane.object = "<b>2</b>"  # not on a page yet: the property carries it
    assert pane.html == "<b>2</b>" and sent == []
    pane.get_root(Document())
    pane.object = "<b>3</b>"
    assert sent == ["<b>3</b>"] and pane.html == "<b>2</b>" and pane.object == "<b>3</b>"
    pane.object = "<b>3</b>"  # unchanged: nothing sent
    assert sent == ["<b>3</b>"]
    pane._handle_msg("sync")  # a page (re)rendered: what it shows now
    assert sent == ["<b>3</b>", "<b>3</b>"]
