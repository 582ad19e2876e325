"""The money view on ``/executor``, beside the plan's Balances block: what the account is
worth, not only its cash.

Per venue and in total, every figure as the worker's books give it (``books`` of
``init``, ``balance_update`` and ``/api/status``; see :mod:`worker.domain.marks`): cash;
exposure (what the open positions cost); held contracts at mark (per venue each contract
at its best bid, what selling it there now would bring; in total a hedged pair at the $1
it pays whichever side wins, the rest at its bid); resolved, to redeem (won, not yet paid
out); locked edge; equity = cash + at mark + to redeem; realised today; unrealised = at
mark − exposure. A held contract whose book is older than the worker's
``EXECUTOR_MAX_BOOK_AGE_MS`` has "no mark", and a figure that needs it shows that instead
of a number: nothing is guessed.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from dashboard import format as fmt
from worker.api import views as wire


def money_html(books: wire.BooksView | None, poly_venue: str) -> str:
    """The money table, or nothing until the worker has sent its books."""
    if books is None or books.total is None:
        return ""
    poly = "Polymarket US" if poly_venue == "polymarket_us" else "Polymarket"
    columns: list[tuple[str, str, wire.MoneyView]] = []
    for name, label in (("kalshi", "Kalshi"), (poly_venue, poly)):
        if name in books.venues:
            columns.append((name, label, books.venues[name]))
    total = books.total

    unmarked = sum(c[2].unmarked for c in columns)

    def cell(key: str, col: str, n: int, value: Decimal | None, signed: bool) -> str:
        if value is None and n and key in _MARKED:
            title = f"{n} held contract{'s' if n != 1 else ''} without a fresh book"
            return f'<td class="v muted" data-money="{key}-{col}" title="{title}">no mark</td>'
        return f'<td class="v" data-money="{key}-{col}">{fmt.money(value, signed=signed)}</td>'

    def row(key: str, label: str, get: Callable[[wire.MoneyView], Decimal | None] | None,
            tot: Decimal | None, signed: bool = False) -> str:
        venues = "".join(
            cell(key, c[0], c[2].unmarked, get(c[2]), signed) if get is not None
            else f'<td class="v muted" data-money="{key}-{c[0]}">—</td>'
            for c in columns
        )
        return f"<tr><td>{label}</td>{venues}{cell(key, 'total', unmarked, tot, signed)}</tr>"

    head = "".join(f'<th class="v">{fmt.esc(c[1])}</th>' for c in columns)
    body = "".join([
        row("cash", "Cash", lambda m: m.cash, total.cash),
        row("exposure", "Exposure (at cost)", lambda m: m.open_cost, total.open_cost),
        row("at-mark", "Held, at mark", lambda m: m.at_mark, total.at_mark),
        row("redeem", "Resolved, to redeem", lambda m: m.to_redeem, total.to_redeem),
        row("locked", "Locked edge", None, books.locked_edge, signed=True),
        row("equity", "Equity", lambda m: m.equity, total.equity),
        row("realised", "Realised today", None, books.realised_today, signed=True),
        row("unrealised", "Unrealised", lambda m: m.unrealised, total.unrealised, signed=True),
    ])  # fmt: skip
    age = "" if books.mark_max_age_ms is None else f" older than {books.mark_max_age_ms} ms"
    return (
        '<table class="kv money" data-k="money">'
        f'<thead><tr><th></th>{head}<th class="v">Total</th></tr></thead><tbody>{body}</tbody></table>'
        '<div class="muted">At mark: per venue each held contract at its best bid (what selling it now '
        "would bring); in total a hedged pair counts the $1 it pays whichever side wins, so its "
        f"unrealised P&amp;L is its locked edge. No mark: the contract's book is missing or{age or ' too old'}.</div>"
    )


#: Rows whose total needs a mark (the total's "no mark" explains a missing figure).
_MARKED = frozenset({"at-mark", "equity", "unrealised"})
