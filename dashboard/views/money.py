"""The money view on ``/executor``, beside the plan's Balances block: what the account is
worth, not only its cash.

Per venue and in total, from the worker's books (``books`` of ``init``,
``balance_update`` and ``/api/status``): cash; exposure (what the open positions cost);
resolved, to redeem (won, not yet paid out); equity = cash + exposure + to redeem, plus,
in total, the locked edge — a hedged pair pays $1 a contract whichever team wins, so its
value is its cost plus that edge; realised today; unrealised = the locked edge of the
hedged pairs. A leg held without its hedge (a stranded leg) counts at its cost and is
marked "no mark": its market value needs the held contract's bid, which the books do not
carry yet. Nothing is computed from a figure that is unknown: a sum with an unknown part
shows "—".
"""

from __future__ import annotations

from decimal import Decimal

from dashboard import format as fmt
from worker.api import views as wire

ZERO = Decimal(0)


def _sum(*parts: Decimal | None) -> Decimal | None:
    if any(p is None for p in parts):
        return None
    return sum((p for p in parts if p is not None), ZERO)


def equity(m: wire.MoneyView, locked_edge: Decimal | None = ZERO) -> Decimal | None:
    """Cash + what open positions cost + what is won and not yet paid (+ locked edge)."""
    return _sum(m.cash, m.open_cost, m.to_redeem, locked_edge)


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
    edge = books.locked_edge

    def cell(key: str, col: str, value: Decimal | None, signed: bool = False) -> str:
        return f'<td class="v" data-money="{key}-{col}">{fmt.money(value, signed=signed)}</td>'

    def row(key: str, label: str, per: list[Decimal | None] | None, tot: Decimal | None, signed: bool = False,
            note: str = "") -> str:
        venues = (
            "".join(cell(key, c[0], v, signed) for c, v in zip(columns, per, strict=True)) if per is not None
            else "".join(f'<td class="v muted" data-money="{key}-{c[0]}">{note}</td>' for c in columns)
        )  # fmt: skip
        return f"<tr><td>{label}</td>{venues}{cell(key, 'total', tot, signed)}</tr>"

    head = "".join(f'<th class="v">{fmt.esc(c[1])}</th>' for c in columns)
    body = "".join([
        row("cash", "Cash", [c[2].cash for c in columns], total.cash),
        row("exposure", "Exposure (at cost)", [c[2].open_cost for c in columns], total.open_cost),
        row("redeem", "Resolved, to redeem", [c[2].to_redeem for c in columns], total.to_redeem),
        row("locked", "Locked edge", None, edge, signed=True, note="—"),
        row("equity", "Equity", [equity(c[2]) for c in columns], equity(total, edge)),
        row("realised", "Realised today", None, books.realised_today, signed=True, note="—"),
        row("unrealised", "Unrealised", None, edge, signed=True, note="no mark"),
    ])  # fmt: skip
    return (
        '<table class="kv money" data-k="money">'
        f'<thead><tr><th></th>{head}<th class="v">Total</th></tr></thead><tbody>{body}</tbody></table>'
        '<div class="muted">Equity counts open positions at cost and, in total, hedged pairs at what they '
        "pay ($1 a contract); unrealised is their locked edge. Legs held without a hedge have no mark yet.</div>"
    )
