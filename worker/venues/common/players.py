"""Tennis players as both venues name them: a match is keyed by its two players, not by a
team table (there are thousands of players, and each venue writes the full name).

A player's key is the surname and the first initial of the given name (``Alexander
Zverev``, ``A. Zverev`` and ``Zverev, Alexander`` are ``zverev-a``): robust to initials
and to the order the venue lists the two players in. Accents, case and punctuation do not
count. Two players of one match never share a key; a name of one word has no key.
"""

from __future__ import annotations

from datetime import date

from worker.data.index import norm
from worker.domain.listings import Contract, Listing, two_way_offers
from worker.domain.markets import Market, Venue


def player_key(league: str, name: str) -> str | None:
    """``atp:zverev-a`` for ``Alexander Zverev`` in the ATP, or None for a name it cannot
    read (one word, empty)."""
    text = name.strip()
    if "," in text:  # "Zverev, Alexander"
        surname, _, given = text.partition(",")
        text = f"{given} {surname}"
    words = norm(text).split()
    if len(words) < 2:
        return None
    return f"{league}:{words[-1]}-{words[0][0]}"


def players_listing(
    market: Market, venue: Venue, league: str, day: date, players: dict[str, Contract], yes: str | None = None
) -> Listing | str:
    """A match's listing from its two players' names (name → the contract paying on that
    player's win; with ``yes``, only that player's win is offered, as a Kalshi market's
    YES), or why not. The players are keyed by :func:`player_key`; the pair rests on their
    names, so it is marked as text (never HIGH confidence)."""
    keys = {name: player_key(league, name) for name in players}
    if len(keys) != 2 or None in keys.values() or len(set(keys.values())) != 2:
        return f"players {sorted(players)} are not two players named in full"
    key_of = {name: str(key) for name, key in keys.items()}
    by_key = {key_of[name]: contract for name, contract in players.items()}
    first, second = sorted(by_key)
    offers = two_way_offers(by_key)
    if yes is not None:
        offers = {k: o for k, o in offers.items() if o.proposition.team == key_of[yes]}
    return Listing(
        market=market,
        venue=venue,
        league=league,
        game_date=day,
        away=first,
        home=second,
        offers=offers,
        text_fields=["players by name"],
        evidence=[f"players {' / '.join(sorted(players))}"],
        names={key: name for name, key in key_of.items()},
    )
