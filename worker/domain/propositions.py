"""Binary propositions about one game: what a pair of contracts is bought on (pure).

A cross-venue pair is one proposition on both venues, bought YES on one venue and its
complement (NO, the other token, the other side) on the other, so that exactly one leg
pays $1 however the game ends. The propositions a market can stand for:

* ``WIN`` — this team wins (``team``);
* ``DRAW`` — the game ends level (soccer's third market; Kalshi's ``…-TIE``);
* ``SPREAD`` — this team covers ``line`` (``-4.5``: wins by more than 4.5; ``+4.5``: loses
  by less than 4.5 or wins);
* ``TOTAL`` — the total score is over ``line``.

``terms`` says what counts: ``""`` for the whole game as the league plays it (overtime,
extra innings and extra time included where they count), ``"regulation"`` when only
regulation time counts. Two propositions are the same only with the same kind, team,
line and terms: a half-point difference or a regulation-only total is another
proposition, never paired.

Where a game can end level and the venues list the draw as its own market (soccer), one
team's win and the other team's win are **not** complements (a draw makes both lose):
such a pair is never formed, because only the same proposition's two sides are paired.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class PropKind(StrEnum):
    WIN = "win"
    DRAW = "draw"
    SPREAD = "spread"
    TOTAL = "total"


#: Settlement terms: the whole game, or regulation time only.
FULL_GAME = ""
REGULATION = "regulation"


def line_text(line: Decimal, signed: bool = False) -> str:
    """``-4.5`` → ``-4.5``; ``221.50`` → ``221.5``; ``7`` → ``7`` (``+7`` when ``signed``)."""
    text = f"{line.normalize():f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if signed and line > 0:
        text = "+" + text
    return text


@dataclass(frozen=True, slots=True)
class Proposition:
    """One binary proposition about a game (see the module docstring)."""

    kind: PropKind
    team: str = ""
    line: Decimal | None = None
    terms: str = FULL_GAME

    def __post_init__(self) -> None:
        needs_team = self.kind in (PropKind.WIN, PropKind.SPREAD)
        needs_line = self.kind in (PropKind.SPREAD, PropKind.TOTAL)
        if needs_team != bool(self.team):
            raise ValueError(f"a {self.kind.value} proposition {'needs' if needs_team else 'has no'} team")
        if needs_line != (self.line is not None):
            raise ValueError(f"a {self.kind.value} proposition {'needs' if needs_line else 'has no'} line")
        if self.terms not in (FULL_GAME, REGULATION):
            raise ValueError(f"unknown settlement terms {self.terms!r}")

    @property
    def key(self) -> str:
        """Canonical text, equal for equal propositions: ``win:nba:HOU``, ``draw``,
        ``spread:nfl:KC:-7.5``, ``total:over:45.5``, with ``|regulation`` when only
        regulation counts."""
        if self.kind is PropKind.WIN:
            base = f"win:{self.team}"
        elif self.kind is PropKind.DRAW:
            base = "draw"
        elif self.kind is PropKind.SPREAD:
            assert self.line is not None
            base = f"spread:{self.team}:{line_text(self.line, signed=True)}"
        else:
            assert self.line is not None
            base = f"total:over:{line_text(self.line)}"
        return base + (f"|{self.terms}" if self.terms else "")

    @property
    def family(self) -> tuple[PropKind, str, str]:
        """What a proposition with another line would share with this one (its kind, team
        and terms): two listings of one family on different lines are told apart by
        their line (the refusal names both)."""
        return (self.kind, self.team, self.terms)

    @property
    def is_line(self) -> bool:
        return self.kind in (PropKind.SPREAD, PropKind.TOTAL)

    def describe(self, name_of: dict[str, str] | None = None) -> str:
        """For a person: ``Houston wins``, ``Draw``, ``Kansas City -7.5``, ``Over 45.5``
        (``name_of`` maps team ids to display names; the id is shown otherwise)."""
        names = name_of or {}
        suffix = " (regulation)" if self.terms == REGULATION else ""
        if self.kind is PropKind.WIN:
            return f"{names.get(self.team, self.team)} wins{suffix}"
        if self.kind is PropKind.DRAW:
            return f"Draw{suffix}"
        assert self.line is not None
        if self.kind is PropKind.SPREAD:
            return f"{names.get(self.team, self.team)} {line_text(self.line, signed=True)}{suffix}"
        return f"Over {line_text(self.line)}{suffix}"

    @classmethod
    def parse(cls, key: str) -> Proposition:
        """The inverse of :attr:`key` (ValueError on anything else)."""
        base, _, terms = key.partition("|")
        parts = base.split(":")
        try:
            if parts[0] == PropKind.WIN.value and len(parts) == 3:
                return cls(PropKind.WIN, f"{parts[1]}:{parts[2]}", terms=terms)
            if parts == [PropKind.DRAW.value]:
                return cls(PropKind.DRAW, terms=terms)
            if parts[0] == PropKind.SPREAD.value and len(parts) == 4:
                return cls(PropKind.SPREAD, f"{parts[1]}:{parts[2]}", Decimal(parts[3]), terms)
            if parts[0] == PropKind.TOTAL.value and len(parts) == 3 and parts[1] == "over":
                return cls(PropKind.TOTAL, line=Decimal(parts[2]), terms=terms)
        except ArithmeticError as exc:
            raise ValueError(f"bad line in proposition {key!r}") from exc
        raise ValueError(f"not a proposition: {key!r}")


def win(team: str) -> Proposition:
    return Proposition(PropKind.WIN, team)


DRAW = Proposition(PropKind.DRAW)


__all__ = ["DRAW", "FULL_GAME", "REGULATION", "PropKind", "Proposition", "line_text", "win"]
