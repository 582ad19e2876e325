"""Settlement rules as facts, and what a hedged pair pays in each way a game can end (pure).

A pair (one contract on Kalshi, one on Polymarket / Polymarket US) is a lock only if it
pays exactly $1 however the game ends. Who wins is matched by construction (the mapping
pairs the contract paying on a team with the one paying on the other team), so what is
left to read are the venues' texts for the odd endings:

* **cancelled**: the game is never played (no make-up game);
* **postponed**: the game is played later; a venue may wait for it (possibly only up to
  a deadline, "within two weeks") or settle at once;
* **tie**: only in leagues whose games can end level (:data:`TIE_LEAGUES`);
* **retired**: a match between players (tennis) that ends early, a player retiring or not
  starting: Kalshi settles some of those at a price it sets (real settled markets carry
  ``"result": "scalar"``), so a tennis pair has this scenario of its own.

:func:`extract` turns one venue's text into :class:`RulesFacts`: for each of these what a
contract paying on a team gets (a fixed amount such as 50¢ for "50-50" or "$0.50 for each
team", a price the venue sets ("a fair price", "the last fair market price"), a refund),
whether the market waits for a postponed game and until when, each with the exact
sentence it was read from. A text that says nothing, or says it in words this module does
not know, gives :attr:`Settle.UNKNOWN`: never a guess.

:func:`pair_payouts` sums both legs per scenario as an interval ``[lo, hi]`` of dollars
per pair (a venue-set price can be anything from $0 to $1), and :func:`check_pair` turns
that table into what the scanner publishes and the risk manager enforces: a completed
game (either team wins, or a tie where ties exist) that does not pay exactly $1 is a
reason to refuse; a cancellation or postponement that does not is a difference shown on
the card with its worst case (refused only when the operator asks for it); no difference,
nothing shown.

All money is Decimal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from worker.domain.leagues import TIE_LEAGUES

ZERO = Decimal(0)
HALF = Decimal("0.5")
ONE = Decimal(1)


class Settle(StrEnum):
    """How a venue settles a contract in one scenario."""

    PAYS = "pays"  # a fixed amount (``value``) per contract paying on a team
    FAIR_PRICE = "fair_price"  # a price the venue sets: anything from $0 to $1
    REFUND = "refund"  # the price paid is returned: not a fixed share of $1
    WAITS = "waits"  # the market stays open until the game has been completed
    UNKNOWN = "unknown"  # the text does not say (or not in words we read)


class Scenario(StrEnum):
    HOME_WINS = "home_wins"
    AWAY_WINS = "away_wins"
    TIE = "tie"
    CANCELLED = "cancelled"
    POSTPONED = "postponed"
    RETIRED = "retired"


COMPLETED = (Scenario.HOME_WINS, Scenario.AWAY_WINS, Scenario.TIE)
#: The odd endings: a pair not paying $1 in one is a difference shown with its worst case.
UNPLAYED = (Scenario.CANCELLED, Scenario.POSTPONED, Scenario.RETIRED)


@dataclass(frozen=True, slots=True)
class Payout:
    """What a contract paying on a team gets; its complement (Kalshi NO, the other side)
    gets ``1 − value`` when the amount is fixed."""

    settle: Settle
    value: Decimal | None = None

    def bounds(self, complement: bool = False) -> tuple[Decimal, Decimal] | None:
        """The least and most one contract can pay, or None when unknown."""
        if self.settle is Settle.PAYS and self.value is not None:
            v = ONE - self.value if complement else self.value
            return (v, v)
        if self.settle in (Settle.FAIR_PRICE, Settle.REFUND):
            return (ZERO, ONE)
        return None

    def describe(self) -> str:
        if self.settle is Settle.PAYS and self.value is not None:
            if self.value == HALF:
                return "pays 50¢/50¢"
            return f"pays {_cents(self.value)} to the team's side, {_cents(ONE - self.value)} to the other"
        return {
            Settle.FAIR_PRICE: "pays a price it sets ($0 to $1)",
            Settle.REFUND: "refunds the price paid",
            Settle.WAITS: "waits for the game",
        }.get(self.settle, "does not say (unknown)")


UNKNOWN = Payout(Settle.UNKNOWN)


@dataclass(frozen=True, slots=True)
class Fact:
    """One venue's rule for one scenario, with the sentence it was read from.

    For a postponement, ``waits`` says the market stays open for the played game;
    ``deadline`` (as written, e.g. ``"two weeks"``) and ``deadline_hours`` bound that
    wait, and ``after`` is what is paid once it is exceeded (None: not stated).
    """

    scenario: Scenario
    payout: Payout
    quote: str = ""
    waits: bool = False
    deadline: str | None = None
    deadline_hours: int | None = None
    after: Payout | None = None

    @property
    def known(self) -> bool:
        return self.waits or self.payout.settle is not Settle.UNKNOWN

    def describe(self) -> str:
        if self.waits:
            if self.deadline is None:
                return "waits for the game"
            after = self.after.describe() if self.after is not None else "then does not say"
            return f"waits {self.deadline}, then {after}"
        return self.payout.describe()


@dataclass(frozen=True, slots=True)
class RulesFacts:
    """One venue's text read for the scenarios the winner does not decide."""

    cancelled: Fact
    postponed: Fact
    tie: Fact
    retired: Fact = Fact(Scenario.RETIRED, UNKNOWN)

    def fact(self, scenario: Scenario) -> Fact:
        return {
            Scenario.CANCELLED: self.cancelled, Scenario.POSTPONED: self.postponed, Scenario.RETIRED: self.retired,
        }.get(scenario, self.tie)


# -- reading a text ----------------------------------------------------------------------
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”']?\s+(?=[A-Z\"“(])|\n+")
_TIE = re.compile(r"\b(?:tie|ties|tied|draw|draws)\b", re.I)
_CANCEL = re.compile(
    r"cancel|not (?:be )?played|not (?:be )?completed|not (?:be )?started|is not started"
    r"|abandon|no make-?up|\bvoid",
    re.I,
)
_POSTPONE = re.compile(r"postpon|delayed|reschedul|suspend", re.I)
_RETIRE = re.compile(r"retire|retirement|walk-?over|disqualif", re.I)
_WAITS = re.compile(r"remains? open|stay(?:s)? open|will remain open", re.I)
_FIFTY = re.compile(r"\b50\s*[-/]\s*50\b|fifty[\s-]fifty", re.I)
_HALF = re.compile(r"\$0?\.50?\b|\b0\.50?\b(?!\d)|50\s*(?:¢|cents)", re.I)
_FAIR = re.compile(r"fair (?:market )?(?:price|value)|last (?:fair market |traded )?price", re.I)
_REFUND = re.compile(r"refund", re.I)
_NOT_STARTED_WITHIN = re.compile(r"not (?:be )?started within", re.I)
_RESOLVES_NO = re.compile(r"(?:resolve|settle)[sd]? (?:to |as )?[\"“']?no\b", re.I)
_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "ten": 10, "fourteen": 14, "twenty-four": 24, "forty-eight": 48, "seventy-two": 72,
}  # fmt: skip
_DEADLINE = re.compile(
    r"(?:within|over|further than|more than|beyond|later than)\s+(?:a\s+)?"
    r"(\d+|" + "|".join(_NUMBERS) + r")\s+(hour|day|week)s?\b",
    re.I,
)
_UNIT_HOURS = {"hour": 1, "day": 24, "week": 168}


def sentences(text: str) -> list[str]:
    """The text cut into sentences (an abbreviation such as "Iowa St. at" does not end one:
    a sentence ends only before a capital letter or a new line)."""
    return [s.strip() for s in _SENTENCE_END.split(text or "") if s.strip()]


def _payout(sentence: str) -> Payout:
    if _FIFTY.search(sentence) or _HALF.search(sentence):
        return Payout(Settle.PAYS, HALF)
    if _FAIR.search(sentence):
        return Payout(Settle.FAIR_PRICE)
    if _REFUND.search(sentence):
        return Payout(Settle.REFUND)
    if _RESOLVES_NO.search(sentence):
        return Payout(Settle.PAYS, ZERO)
    return UNKNOWN


def _deadline(sentence: str) -> tuple[str, int] | None:
    m = _DEADLINE.search(sentence)
    if m is None:
        return None
    n_text, unit = m.group(1).lower(), m.group(2).lower()
    n = int(n_text) if n_text.isdigit() else _NUMBERS[n_text]
    unit_text = unit if n == 1 else f"{unit}s"
    return f"{n_text} {unit_text}", n * _UNIT_HOURS[unit]


def _first(candidates: list[str]) -> str | None:
    """The first sentence that states a payout, else the first at all."""
    for s in candidates:
        if _payout(s).settle is not Settle.UNKNOWN:
            return s
    return candidates[0] if candidates else None


def extract(text: str) -> RulesFacts:
    """A venue's settlement facts for cancellation, postponement, ties and retirements."""
    parts = sentences(text)
    cancel_s = _first([s for s in parts if _CANCEL.search(s) and not _only_waits(s)])
    tie_s = _first([s for s in parts if _TIE.search(s)])
    postpone_s = [s for s in parts if _POSTPONE.search(s)]
    retire_s = _first([s for s in parts if _RETIRE.search(s)])

    cancelled = (
        Fact(Scenario.CANCELLED, _payout(cancel_s), cancel_s) if cancel_s else Fact(Scenario.CANCELLED, UNKNOWN)
    )
    tie = Fact(Scenario.TIE, _payout(tie_s), tie_s) if tie_s else Fact(Scenario.TIE, UNKNOWN)
    retired = Fact(Scenario.RETIRED, _payout(retire_s), retire_s) if retire_s else Fact(Scenario.RETIRED, UNKNOWN)
    return RulesFacts(cancelled, _postponement(postpone_s, cancel_s, cancelled.payout), tie, retired)


def _only_waits(sentence: str) -> bool:
    return bool(_WAITS.search(sentence)) and _payout(sentence).settle is Settle.UNKNOWN


def _postponement(candidates: list[str], cancel_s: str | None, cancel_pays: Payout) -> Fact:
    """Whether a postponed game is waited for, until when, and what is paid after.

    The deadline and what follows it are often in the cancellation sentence ("If the
    cancelled game is not played or is rescheduled further than two weeks out, …")."""
    waits = next((s for s in candidates if _WAITS.search(s)), None)
    cancel_deadline = None
    if cancel_s is not None and (_POSTPONE.search(cancel_s) or _NOT_STARTED_WITHIN.search(cancel_s)):
        cancel_deadline = _deadline(cancel_s)
    if waits is not None:
        own = _deadline(waits)
        pays = _payout(waits)
        if own is not None and pays.settle is not Settle.UNKNOWN:  # "… not rescheduled within two days, … settle to …"
            return Fact(Scenario.POSTPONED, Payout(Settle.WAITS), waits, True, own[0], own[1], pays)
        deadline = own or cancel_deadline
        if deadline is None:
            return Fact(Scenario.POSTPONED, Payout(Settle.WAITS), waits, True)
        if cancel_s is None or cancel_deadline is None:
            # What follows the deadline is not stated (a cancellation sentence that does not
            # speak of rescheduling is not read as one).
            return Fact(Scenario.POSTPONED, Payout(Settle.WAITS), waits, True, deadline[0], deadline[1])
        quote = f"{waits} {cancel_s}"  # what follows the deadline is the cancellation sentence's
        return Fact(Scenario.POSTPONED, Payout(Settle.WAITS), quote, True, deadline[0], deadline[1], cancel_pays)
    for s in candidates:  # a postponement settled at once, or after a stated deadline
        pays = _payout(s)
        if pays.settle is Settle.UNKNOWN:
            continue
        own = _deadline(s)
        if own is not None:
            return Fact(Scenario.POSTPONED, Payout(Settle.WAITS), s, True, own[0], own[1], pays)
        return Fact(Scenario.POSTPONED, pays, s)
    if cancel_s is not None and cancel_deadline is not None:  # "cancelled or rescheduled to over 48 hours away"
        return Fact(
            Scenario.POSTPONED, Payout(Settle.WAITS), cancel_s, True, cancel_deadline[0], cancel_deadline[1], cancel_pays
        )
    if candidates:
        return Fact(Scenario.POSTPONED, UNKNOWN, candidates[0])
    return Fact(Scenario.POSTPONED, UNKNOWN)


# -- a pair ------------------------------------------------------------------------------
Bounds = tuple[Decimal, Decimal]


@dataclass(frozen=True, slots=True)
class ScenarioPayout:
    """What one pair pays in one scenario: ``lo``..``hi`` dollars (None: unknown)."""

    scenario: Scenario
    lo: Decimal | None
    hi: Decimal | None
    kalshi: str  # what the Kalshi leg's venue does, in words
    poly: str

    @property
    def known(self) -> bool:
        return self.lo is not None and self.hi is not None

    @property
    def exact_dollar(self) -> bool:
        return self.lo == ONE and self.hi == ONE

    @property
    def worst_loss(self) -> Decimal | None:
        """How much less than $1 the pair can pay (None: unknown; zero: never less)."""
        return None if self.lo is None else max(ONE - self.lo, ZERO)


def _add(a: Bounds | None, b: Bounds | None) -> tuple[Decimal | None, Decimal | None]:
    if a is None or b is None:
        return None, None
    return a[0] + b[0], a[1] + b[1]


def _postponed(k: Fact, p: Fact, k_complement: bool) -> tuple[Decimal | None, Decimal | None]:
    """A postponed game: both markets waiting equally long settle on the played game ($1);
    otherwise the venue that stops waiting first pays its ``after`` while the other's leg
    still depends on the game (0 or 1)."""
    if not (k.known and p.known):
        return None, None
    game: Bounds = (ZERO, ONE)
    if k.waits and p.waits:
        if k.deadline_hours == p.deadline_hours:
            return ONE, ONE
        first_is_k = p.deadline_hours is None or (k.deadline_hours is not None and k.deadline_hours < p.deadline_hours)
        stops = k if first_is_k else p
        after = stops.after.bounds(k_complement if first_is_k else False) if stops.after is not None else None
        return _add(after, game)
    k_b = game if k.waits else k.payout.bounds(k_complement)
    p_b = game if p.waits else p.payout.bounds()
    return _add(k_b, p_b)


def pair_payouts(
    kalshi: RulesFacts, poly: RulesFacts, league: str, kalshi_side_yes: bool, players: bool = False
) -> tuple[ScenarioPayout, ...]:
    """The payout table of one pair.

    ``kalshi_side_yes``: the Kalshi leg is YES (paying on the mapped team) — then the
    Polymarket leg pays on the other team; else it is NO and the Polymarket leg pays on
    the mapped team. A tie row only for :data:`TIE_LEAGUES`; a retirement row only for
    matches between ``players``.
    """
    comp = not kalshi_side_yes
    rows = [
        ScenarioPayout(Scenario.HOME_WINS, ONE, ONE, "pays the winner", "pays the winner"),
        ScenarioPayout(Scenario.AWAY_WINS, ONE, ONE, "pays the winner", "pays the winner"),
    ]
    if league.lower() in TIE_LEAGUES:
        k, p = kalshi.tie, poly.tie
        lo, hi = _add(k.payout.bounds(comp), p.payout.bounds())
        rows.append(ScenarioPayout(Scenario.TIE, lo, hi, k.describe(), p.describe()))
    k, p = kalshi.cancelled, poly.cancelled
    lo, hi = _add(k.payout.bounds(comp), p.payout.bounds())
    rows.append(ScenarioPayout(Scenario.CANCELLED, lo, hi, k.describe(), p.describe()))
    k, p = kalshi.postponed, poly.postponed
    lo, hi = _postponed(k, p, comp)
    rows.append(ScenarioPayout(Scenario.POSTPONED, lo, hi, k.describe(), p.describe()))
    if players:
        k, p = kalshi.retired, poly.retired
        lo, hi = _add(k.payout.bounds(comp), p.payout.bounds())
        rows.append(ScenarioPayout(Scenario.RETIRED, lo, hi, k.describe(), p.describe()))
    return tuple(rows)


@dataclass(frozen=True, slots=True)
class PairRules:
    """What the scanner publishes about a pair's rules (see :func:`check_pair`).

    ``outcome_problem``: why a completed game does not pay $1 per pair (the pair must not
    trade), empty when it does. ``differences``: one line per cancellation/postponement
    scenario that does not pay exactly $1, with its worst case. ``worst_loss``: the
    largest shortfall under $1 per pair among those (None when one is unknown, zero when
    there is no difference).
    """

    payouts: tuple[ScenarioPayout, ...]
    outcome_problem: str
    differences: tuple[str, ...]
    worst_loss: Decimal | None


_LABEL = {
    Scenario.HOME_WINS: "Home team wins",
    Scenario.AWAY_WINS: "Away team wins",
    Scenario.TIE: "Tie",
    Scenario.CANCELLED: "Cancelled",
    Scenario.POSTPONED: "Postponed",
    Scenario.RETIRED: "A player retires or does not start",
}


def _cents(value: Decimal) -> str:
    cents = value * 100
    return f"{cents.normalize():f}¢" if value < ONE else f"${value.normalize():f}"


def _dollars(value: Decimal) -> str:
    return f"${value.quantize(Decimal('0.01'))}"


def describe_row(row: ScenarioPayout, poly_name: str) -> str:
    head = f"{_LABEL[row.scenario]}: Kalshi {row.kalshi}, {poly_name} {row.poly}"
    if not row.known:
        return f"{head} → unknown payout"
    assert row.lo is not None and row.hi is not None
    if row.exact_dollar:
        return f"{head} → no loss"
    loss = row.worst_loss
    assert loss is not None
    span = _dollars(row.lo) if row.lo == row.hi else f"{_dollars(row.lo)} to {_dollars(row.hi)}"
    worst = f"worst case −{_dollars(loss)} per pair" if loss > 0 else "never less than $1"
    return f"{head} → pays {span} per pair, {worst}"


def fact_lines(venue: str, facts: RulesFacts, players: bool = False) -> tuple[str, ...]:
    """One line per scenario: what the venue does and the sentence it says it in (a
    retirement only for matches between ``players``)."""
    out = []
    for fact in (facts.cancelled, facts.postponed, facts.tie) + ((facts.retired,) if players else ()):
        quote = f' — "{fact.quote}"' if fact.quote else " — not stated"
        out.append(f"{venue}, {fact.scenario.value}: {fact.describe()}{quote}")
    return tuple(out)


def check_pair(payouts: tuple[ScenarioPayout, ...], poly_name: str) -> PairRules:
    problems = [describe_row(r, poly_name) for r in payouts if r.scenario in COMPLETED and not r.exact_dollar]
    unplayed = [r for r in payouts if r.scenario in UNPLAYED and not r.exact_dollar]
    worst: Decimal | None = ZERO
    for r in unplayed:
        loss = r.worst_loss
        worst = None if loss is None or worst is None else max(worst, loss)
    return PairRules(
        payouts=payouts,
        outcome_problem="; ".join(problems),
        differences=tuple(describe_row(r, poly_name) for r in unplayed),
        worst_loss=worst,
    )
