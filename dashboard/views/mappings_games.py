"""The ``/mappings`` review's games: the worker's mapping rows grouped per game, what the
filters and the search match, the sort orders, and each game's HTML.

A game (the worker's ``review_key``) has two rows, one per Kalshi market of the event,
each paired with its team's Polymarket contract; a decision applies to the whole game.
Each row is shown with both ways of buying the pair (Kalshi YES + the other team's
Polymarket contract, Kalshi NO + the same team's), the venues' own pages and names; a raw
id (a 77-digit Polymarket token) only where nothing better exists, and it wraps.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from dashboard import format as fmt
from dashboard.shown import ShownMapping
from dashboard.views.keyed import Item
from worker.api.schemas import MAX_NOTE_LENGTH

#: The status filter's options; "pending" is the worker's ``candidate``.
STATUS_FILTERS = ("all", "pending", "confirmed", "rejected")
STATUS_LABEL = {"candidate": "pending", "confirmed": "confirmed", "rejected": "rejected"}
ALL_LEAGUES = "All leagues"
ALL_DATES = "All dates"
CONFIDENCE_FILTERS = ("Any confidence", "HIGH", "MEDIUM", "LOW")
SORTS = ("Starts soonest", "Weakest confidence first", "League")
VENUE_NAME = {"polymarket": "Polymarket", "polymarket_us": "Polymarket US", "kalshi": "Kalshi"}
_FAR = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Game:
    """One game's rows (sorted by Kalshi ticker) and what the page reads from them."""

    key: str
    rows: tuple[ShownMapping, ...]

    @property
    def status(self) -> str:
        """As the worker decides a game: any rejected row rejects it, else any confirmed
        row confirms it, else it is pending."""
        statuses = {r.status for r in self.rows}
        for s in ("rejected", "confirmed"):
            if s in statuses:
                return s
        return "candidate"

    @property
    def confidence(self) -> str:
        """The weakest of its rows'."""
        return min((r.confidence for r in self.rows), key=lambda c: fmt.CONFIDENCE_RANK.get(c, 0))

    @property
    def league(self) -> str:
        return self.rows[0].league

    @property
    def starts_at(self) -> datetime | None:
        return min((r.starts_at for r in self.rows if r.starts_at is not None), default=None)

    @property
    def day(self) -> str:
        """The game's date as the venues name it (its local date), else its UTC start date."""
        first = self.rows[0]
        if first.game_date:
            return first.game_date
        start = self.starts_at
        return start.astimezone(UTC).date().isoformat() if start is not None else ""

    @property
    def title(self) -> str:
        return next((r.title for r in self.rows if r.title), "") or self.rows[0].kalshi

    @property
    def note(self) -> str:
        return next((r.note for r in self.rows if r.note), "")

    def haystack(self) -> str:
        """What the search looks in: titles, team and outcome names, tickers, ids, note."""
        parts = [self.league, self.day]
        for r in self.rows:
            parts += [r.title, r.kalshi, r.kalshi_outcome, r.poly_title, r.poly_outcome, r.poly_other_outcome,
                      r.poly_market, r.note]
        return " ".join(p for p in parts if p).lower()


def games_of(mappings: Iterable[ShownMapping]) -> dict[str, Game]:
    """The rows grouped per game (``review_key``), each game's rows by Kalshi ticker."""
    groups: dict[str, list[ShownMapping]] = {}
    for m in mappings:
        groups.setdefault(m.game, []).append(m)
    return {k: Game(k, tuple(sorted(rows, key=lambda r: (r.kalshi, r.id)))) for k, rows in groups.items()}


@dataclass(frozen=True)
class Filters:
    """What the operator chose: search text, league, date, confidence, status."""

    query: str = ""
    league: str = ALL_LEAGUES
    day: str = ALL_DATES
    confidence: str = CONFIDENCE_FILTERS[0]
    status: str = "all"

    def matches(self, game: Game, haystack: str | None = None) -> bool:
        if self.status != "all" and STATUS_LABEL.get(game.status) != self.status:
            return False
        if self.league != ALL_LEAGUES and game.league != self.league:
            return False
        if self.day != ALL_DATES and game.day != self.day:
            return False
        if self.confidence in fmt.CONFIDENCE_RANK and game.confidence != self.confidence:
            return False
        terms = self.query.lower().split()
        if terms:
            text = haystack if haystack is not None else game.haystack()
            return all(t in text for t in terms)
        return True


def ordered(games: Iterable[Game], sort: str) -> list[Game]:
    """``games`` in the chosen order (ties by start, then title, then key: stable)."""

    def start(g: Game) -> datetime:
        return g.starts_at or _FAR

    if sort == SORTS[1]:
        return sorted(games, key=lambda g: (fmt.CONFIDENCE_RANK.get(g.confidence, 0), start(g), g.title, g.key))
    if sort == SORTS[2]:
        return sorted(games, key=lambda g: (g.league, start(g), g.title, g.key))
    return sorted(games, key=lambda g: (start(g), g.title, g.key))


# --- HTML ------------------------------------------------------------------------------


def _link(url: str, text: str, cls: str = "venue-link") -> str:
    """A venue's public page, opened in a new tab; plain text when the worker gave no
    https address (never another scheme in an ``href``)."""
    if not url.startswith("https://"):
        return f'<span class="{cls} nolink">{fmt.esc(text)}</span>'
    return f'<a class="{cls}" href="{fmt.esc(url)}" target="_blank" rel="noopener noreferrer">{fmt.esc(text)} ↗</a>'


def _team(r: ShownMapping) -> str:
    """The Kalshi market's team: its YES outcome's name, else the ticker's last part."""
    return r.kalshi_outcome or r.kalshi.rsplit("-", 1)[-1]


def _poly(name: str, fallback: str) -> str:
    """A Polymarket contract by its name; its id (wrapping) only when it has none."""
    return f"“{fmt.esc(name)}”" if name else f'<code class="id">{fmt.esc(fallback)}</code>'


def row_html(r: ShownMapping) -> str:
    """One row of a game (one Kalshi market and its team's Polymarket contract), with both
    ways of buying the pair."""
    team = fmt.esc(_team(r))
    # A team's YES is named with "wins"; a draw, spread or total by its own YES outcome
    # ("Tie", "Over 8.5 runs scored", "Philadelphia wins by over 1.5 runs").
    claim = f"<b>{team}</b> wins" if r.proposition.startswith("win:") or not r.proposition else f"<b>{team}</b>"
    poly = VENUE_NAME.get(r.poly_venue, "Polymarket")
    same = _poly(r.poly_outcome, r.poly)
    other = _poly(r.poly_other_outcome, "the other team")
    label = STATUS_LABEL.get(r.status, r.status)
    verdict = fmt.trade_verdict(r.tradeable, r.why_not, r.why_not_text, ok="may trade (rules: see its cards)")
    return (
        f'<div class="map-dir" data-mapping="{fmt.esc(r.id)}">'
        f'<div>Kalshi {claim} ↔ {poly} {same} '
        f'<span class="map-status {fmt.esc(r.status)}" data-status="{fmt.esc(r.status)}">{fmt.esc(label)}</span> '
        f"{verdict}</div>"
        f'<div class="ways">Buy Kalshi YES {team} + {poly} {other} · '
        f"buy Kalshi NO {team} + {poly} {same}</div>"
        f'<div class="muted ids">Kalshi <code class="id">{fmt.esc(r.kalshi)}</code> · {poly} '
        f'<code class="id">{fmt.esc(r.poly)}</code></div></div>'
    )


def game_item(game: Game, selected: bool = False, message: str = "", draft: str = "") -> Item:
    """A game's HTML: a checkbox to select it, title, confidence, status, the venues'
    pages, its rows, the note, Confirm / Reject with an optional note; why it was matched."""
    first = game.rows[0]
    status = game.status
    conf = fmt.confidence_class(game.confidence)
    emoji = fmt.SPORT_EMOJI.get(game.league, "🎯")
    poly_venue = VENUE_NAME.get(first.poly_venue, "Polymarket")
    poly_title = next((r.poly_title for r in game.rows if r.poly_title), "")
    kalshi_url = next((r.kalshi_url for r in game.rows if r.kalshi_url), "")
    poly_url = next((r.poly_url for r in game.rows if r.poly_url), "")
    reasons = sorted({reason for r in game.rows for reason in r.reasons})
    checked = " checked" if selected else ""
    note = f'<div class="map-note">Note: {fmt.esc(game.note)}</div>' if game.note else ""
    confirm_off = " disabled" if status == "confirmed" else ""
    reject_off = " disabled" if status == "rejected" else ""
    start = fmt.stamp(game.starts_at) if game.starts_at else "start unknown"
    summary = (
        f'<div class="map-game" data-game="{fmt.esc(game.key)}" data-status="{fmt.esc(status)}">'
        '<div class="mg-head">'
        f'<label class="pick" title="Select this game"><input type="checkbox" data-action="pick"{checked} '
        f'aria-label="Select {fmt.esc(game.title)}"></label>'
        f'<b class="mg-title">{emoji} {fmt.esc(game.title)}</b> '
        f'<span class="conf-tag {conf}">{fmt.esc(game.confidence)}</span> '
        f'<span class="game-status {fmt.esc(status)}">{fmt.esc(STATUS_LABEL.get(status, status))}</span></div>'
        f'<div class="muted">{fmt.esc(game.league.upper())} · {fmt.esc(game.day)} · starts {start}</div>'
        '<div class="venues">'
        f"{_link(kalshi_url, f'Kalshi: {game.title}')}"
        f"{_link(poly_url, f'{poly_venue}: {poly_title or game.title}')}</div>"
        + "".join(row_html(r) for r in game.rows)
        + note
        + '<div class="mg-actions">'
        f'<input class="note" data-input placeholder="Note (optional)" maxlength="{MAX_NOTE_LENGTH}" '
        f'value="{fmt.esc(draft)}" '
        'aria-label="Note for this decision">'
        f'<button class="act ok" data-action="confirm"{confirm_off}>Confirm</button>'
        f'<button class="act bad" data-action="reject" data-confirm="Reject game?"{reject_off}>Reject</button>'
        f"{message}</div></div>"
    )
    # In the item's details part: it stays open when the game changes.
    why = (f'<details class="why"><summary>Why matched</summary><div class="muted">{fmt.esc("; ".join(reasons) or "—")}'
           "</div></details>")
    return {"cls": f"map-group {status} {conf}", "sum": summary, "det": why}
