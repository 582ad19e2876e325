"""Detection benchmark: time per book update with 5,000 matched pairs.

Builds 5,000 mappings (Kalshi × Gamma) on generated markets, seeds every book, then
applies random book updates (Kalshi YES/NO pairs and Polymarket tokens, five levels a
side, prices drifting around each game's fair value) through the worker's own entry
point, :meth:`OpportunityPipeline.on_book <worker.engine.executor.pipeline.OpportunityPipeline.on_book>`
(which runs the scanner on it; the scanner's events are queued by the feed), and prints the p50/p95/p99/max time per update, how many updates were measured
and the share of updates that opened, updated or closed an opportunity. A Kalshi update
is one venue message: its YES and NO books, handed over one after the other as the Kalshi
stream yields them, timed together. (Figures before 2026-11-29 timed
``Scanner.on_books``/``on_book`` directly, with one call for a Kalshi message: they are
a little lower than this method gives for the same code.)

Two workloads (``--workload``), both printed by ``--workload both`` (the default):

* ``stress`` — the original workload, unchanged (same seed, same random stream): every
  book's asks sit at fair value + 1¢ + U{−4…+3}¢, so a cross-venue dislocation larger than
  both venues' fees (≈ 2–3¢) is common. About 30 % of updates open, update or close an
  opportunity and ~12 % of directions are open at any time: far more than real markets,
  kept as the worst case, because every such update pays for a full depth walk and a new
  :class:`~worker.domain.mapping.Opportunity`.
* ``realistic`` — what live sports books look like: both venues quote within a cent of
  the same fair value (U{−1…+1}¢), and 3 % of book updates are dislocated by 3–7¢ (a
  stale quote, a news move one venue prices first). Then ~1–2 % of directions are open
  and a few percent of updates change an opportunity — still more arbitrage than one
  usually finds, so the figure is not flattered.

Realistic here means ~2.4 % of directions open at the end and ~5.7 % of updates changing
an opportunity (stress: 12.3 % and 29.1 %); the run prints both figures.

Both run the same code path and the same number of updates; only the price noise
differs. Two ways of feeding the books (``--books``, both by default):

* ``prebuilt`` — the original method: all updates' books are built before the clock
  starts; by the time one is applied it has long left the CPU caches;
* ``fresh`` — each update's books are built just before it is applied, as the venue
  client's parser hands them over in the worker; the replaced book is freed inside the
  timed call, and building it has pushed the scanner's own data out of the caches. On
  this 2-core machine this is the slower of the two.

Same random stream and the same updates in the same order either way. Each update is
timed on the wall clock (the figure that counts) and on the thread's CPU clock: on a
shared machine the wall-clock tail also holds the time other processes ran on our core,
which the CPU figure leaves out, so the pair tells a slow scanner from a busy machine.

What the worker does is mirrored: ``gc.freeze()`` after start-up (the mappings, markets
and seeded books are long-lived; freezing keeps full collections from traversing them on
the hot path), and what happens to an event after the update is what the worker's pipeline
tasks do, after the timed call: the publishing task hands each event, in order, to the
``on_event`` hook, which here encodes it for the wire as the worker's broadcaster does
(``worker.api.schemas.event_message``: the size–ROI curve, built on its first read, is
encoded with the rest), and the executor's consumer takes the latest quotes. The hook
keeps the last 1000 events, as a bounded subscriber would. Timings include every garbage
collection that happens, those that the encoder's allocations bring on included.

The encoding is not part of the update, but nothing is hidden: the last line of each run
gives its cost per event. (Until 2026-11-29 the worker ran that hook inside the book
update, where this benchmark did not look: each update that published an event paid
~60 µs more in the worker than here. The feed now queues events and encodes them in a
task of its own.)

    .venv/bin/python bench/detection.py [PAIRS] [UPDATES] [--workload stress|realistic|both]
        [--books fresh|prebuilt|both] [--against REF]
    # defaults 5000 pairs, 50000 updates, both workloads, both ways of feeding books

``--against REF`` runs version ``REF`` of this benchmark first (its own copy, in a
temporary git worktree, same arguments and interpreter), then this checkout, on the same
machine in one run: compare the two blocks it prints.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from against import head, run_other

from worker.api.schemas import event_message
from worker.clock import FakeClock
from worker.domain.books import OrderBook, PriceLevel, two_sided_from_bids
from worker.domain.events import opportunity_change
from worker.domain.fees import FeeSchedule
from worker.domain.mapping import (
    Confidence,
    MarketMapping,
    OpportunityEvent,
    OpportunityEventKind,
)
from worker.domain.markets import (
    ContractRef,
    League,
    Market,
    MarketKind,
    MarketStatus,
    Outcome,
    OutcomeSide,
    Venue,
)
from worker.engine.executor.pipeline import OpportunityPipeline

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
CENT = Decimal("0.01")
#: Realistic workload: share of book updates that are dislocated from fair value.
P_DISLOCATION = 0.03

Noise = Callable[[random.Random], int]


def stress_noise(rnd: random.Random) -> int:
    """The original benchmark's noise: U{−4…+3} cents on every book."""
    return rnd.randrange(-4, 4)


def realistic_noise(rnd: random.Random) -> int:
    """Within a cent of fair value; 3 % of updates dislocated 3–7 cents cheaper."""
    if rnd.random() < P_DISLOCATION:
        return -rnd.randrange(3, 8)
    return rnd.randrange(-1, 2)


WORKLOADS: dict[str, Noise] = {"stress": stress_noise, "realistic": realistic_noise}


def ladder(rnd: random.Random, best: int, up: bool) -> list[PriceLevel]:
    levels = []
    for i in range(5):
        p = best + i if up else best - i
        if 1 <= p <= 99:
            levels.append(PriceLevel(Decimal(p) * CENT, Decimal(rnd.randrange(5, 200))))
    return levels


def _markets(i: int, start: datetime) -> tuple[MarketMapping, Market, Market]:
    tk = f"KXNBAGAME-26JAN01G{i:05d}-A"
    k = Market(
        Venue.KALSHI,
        tk,
        tk[:-2],
        "A at B",
        "",
        League.NBA,
        MarketKind.GAME_WINNER,
        (
            Outcome(Venue.KALSHI, tk, tk, OutcomeSide.YES, "A"),
            Outcome(Venue.KALSHI, tk, tk, OutcomeSide.NO, "A"),
        ),
        CENT,
        Decimal(1),
        FeeSchedule.kalshi(),
        MarketStatus.OPEN,
        start_time=start,
        rules="If A wins, Yes.",
    )
    mid = f"m{i}"
    p = Market(
        Venue.POLYMARKET,
        mid,
        mid,
        "A vs. B",
        "",
        League.NBA,
        MarketKind.GAME_WINNER,
        (
            Outcome(Venue.POLYMARKET, mid, f"t{i}a", OutcomeSide.TOKEN, "A"),
            Outcome(Venue.POLYMARKET, mid, f"t{i}b", OutcomeSide.TOKEN, "B"),
        ),
        CENT,
        Decimal(5),
        # The rate this workload was calibrated with (the shares of updates and open
        # directions quoted above); sports markets list 0.03 in 2026.
        FeeSchedule.polymarket(Decimal("0.05")),
        MarketStatus.OPEN,
        start_time=start,
        rules="Winner.",
    )
    m = MarketMapping(
        tk,
        tk[:-2],
        Venue.POLYMARKET,
        f"t{i}a",
        "",
        f"t{i}b",
        "nba",
        date(2026, 1, 1),
        "nba:A",
        "nba:B",
        "nba:A",
        "A at B",
        Confidence.HIGH,
        (),
        start,
        mid,
    )
    return m, k, p


@dataclass
class Result:
    workload: str
    pairs: int
    times_us: list[float]
    cpu_us: list[float]
    changed: int
    kinds: Counter[str]
    open_now: int
    encode_us: list[float]

    @staticmethod
    def pct(xs: list[float], q: float) -> float:
        return xs[min(len(xs) - 1, int(len(xs) * q))]

    def line(self, xs: list[float]) -> str:
        if not xs:
            return "none measured"
        p = self.pct
        return (
            f"p50={p(xs, 0.50):.1f} us  p95={p(xs, 0.95):.1f} us  "
            f"p99={p(xs, 0.99):.1f} us  max={xs[-1]:.1f} us"
        )

    def report(self) -> str:
        n = len(self.times_us)
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.kinds.items()))
        return "\n".join(
            [
                f"workload {self.workload}: {self.pairs} pairs, {n} book updates measured",
                f"  per update (wall clock): {self.line(self.times_us)}",
                f"  per update (thread CPU): {self.line(self.cpu_us)}",
                f"  updates that changed an opportunity: {self.changed} "
                f"({100 * self.changed / n:.1f} %); events: {kinds}",
                f"  open opportunities at the end: {self.open_now} of {2 * self.pairs} "
                f"directions ({100 * self.open_now / (2 * self.pairs):.1f} %)",
                f"  after the update, per event: encoded for the wire by the feed's "
                f"publishing task (size–ROI curve built on that first read), "
                f"{len(self.encode_us)} events: {self.line(self.encode_us)}",
            ]
        )


Update = tuple[int, object]


def build_world(
    workload: str, pairs: int, on_event: Callable[[OpportunityEvent], None]
) -> tuple[OpportunityPipeline, Callable[[], Update]]:
    """The worker's feed (its scanner holding ``pairs`` mappings, every book seeded) and
    the stream of updates.

    Books enter through :meth:`OpportunityPipeline.on_book`, as the venues' streams hand them
    to the worker; the feed queues the scanner's events for ``on_event`` (the worker's
    wire encoder), which gets them from :meth:`OpportunityPipeline.flush_events`.

    One random stream (seed 11) draws the games' fair values, the seeded books and then
    the updates, in that order, so every run sees the same updates. An update is ``(0,
    (Kalshi YES book, Kalshi NO book))``, the two books of one Kalshi message, or ``(1,
    token book)``; its books are built when it is drawn.
    """
    noise = WORKLOADS[workload]
    rnd = random.Random(11)
    # The bench drives the books and reads the events itself: no venue ports, no executor.
    feed = OpportunityPipeline(None, None, None, clock=FakeClock(NOW), on_event=on_event)  # type: ignore[arg-type]
    sc = feed.scanner
    start = NOW + timedelta(days=1)
    fair: list[int] = []
    for i in range(pairs):
        sc.add_mapping(*_markets(i, start))
        fair.append(rnd.randrange(20, 80))

    def kalshi_books(i: int) -> tuple[OrderBook, OrderBook]:
        tk = f"KXNBAGAME-26JAN01G{i:05d}-A"
        yes = ContractRef(Venue.KALSHI, tk, tk, OutcomeSide.YES)
        no = ContractRef(Venue.KALSHI, tk, tk, OutcomeSide.NO)
        f = fair[i] + noise(rnd)
        return two_sided_from_bids(
            yes, no, ladder(rnd, f - 1, False), ladder(rnd, 100 - f - 1, False), NOW
        )

    def token_book(i: int, side: str) -> OrderBook:
        ref = ContractRef(Venue.POLYMARKET, f"m{i}", f"t{i}{side}", OutcomeSide.TOKEN)
        f = fair[i] if side == "a" else 100 - fair[i]
        f += noise(rnd)
        return OrderBook.build(ref, ladder(rnd, f - 1, False), ladder(rnd, f + 1, True), NOW)

    for i in range(pairs):
        apply(feed, (0, kalshi_books(i)))
        feed.on_book(token_book(i, "a"))
        feed.on_book(token_book(i, "b"))

    def next_update() -> Update:
        i = rnd.randrange(pairs)
        r = rnd.random()
        if r < 0.5:
            return 0, kalshi_books(i)
        return 1, token_book(i, "a" if r < 0.75 else "b")

    return feed, next_update


def apply(feed: OpportunityPipeline, update: Update) -> None:
    """Hand one update to the feed, as the worker's book streams do: a Kalshi message's
    YES and NO books one after the other (the Kalshi stream yields one ``BookUpdate``
    each), a Polymarket token's book on its own."""
    kind, payload = update
    if kind == 0:
        for book in payload:  # type: ignore[attr-defined]
            feed.on_book(book)
    else:
        feed.on_book(payload)  # type: ignore[arg-type]


def run(workload: str, pairs: int, updates: int, prebuilt: bool) -> Result:
    recent: deque[OpportunityEvent] = deque(maxlen=1000)
    kinds: Counter[str] = Counter()
    by_kind: list[OpportunityEventKind] = []
    encode_us: list[float] = []
    perf = time.perf_counter_ns
    encoding = [False]

    # The worker's ``on_event`` hook: encode the event for the wire. The feed calls it
    # from its publishing task, after the book update (``flush_events`` below, outside
    # the timed region); its cost per event is timed and printed on its own line. It
    # keeps the last 1000 events, as a bounded subscriber would; one it lets go of is
    # freed here, by the consumer.
    def on_event(e: OpportunityEvent) -> None:
        by_kind.append(e.kind)  # counted by identity, without ``Enum.value``
        recent.append(e)
        if encoding[0]:
            t0 = perf()
            event_message(opportunity_change(e))
            encode_us.append((perf() - t0) / 1000)

    feed, next_update = build_world(workload, pairs, on_event)
    feed.flush_events()
    feed.take_pending()

    # Prebuilt: every update's books made before the clock starts (the original method;
    # by the time one is applied it has long left the CPU caches). Fresh: each update's
    # books are made just before it is applied, as the venue client's parser hands them
    # over in the worker. Same random stream, same updates in the same order either way.
    work: list[tuple[int, object]] = [next_update() for _ in range(updates)] if prebuilt else []
    by_kind.clear()
    encoding[0] = True
    # As the worker does after start-up: long-lived set-up objects leave the collector's
    # generations, so a full collection on the hot path does not walk them.
    gc.collect()
    gc.freeze()
    times: list[float] = []
    cpu: list[float] = []
    changed = 0
    thread = time.thread_time_ns
    for n in range(updates):
        update = work[n] if prebuilt else next_update()
        c0 = thread()
        t0 = perf()
        apply(feed, update)
        t1 = perf()
        c1 = thread()
        times.append((t1 - t0) / 1000)
        cpu.append((c1 - c0) / 1000)
        # After the update, as the worker's feed tasks do: the publishing task encodes
        # the events for the wire, the executor's consumer takes the latest quotes.
        if feed.flush_events():
            changed += 1
        feed.take_pending()
    encode_us.sort()
    kinds.update(k.value for k in by_kind)
    gc.unfreeze()
    times.sort()
    cpu.sort()
    mode = f"{workload}, {'prebuilt' if prebuilt else 'fresh'} books"
    return Result(
        mode, pairs, times, cpu, changed, kinds, len(feed.scanner.open_opportunities), encode_us
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pairs", nargs="?", type=int, default=5000)
    ap.add_argument("updates", nargs="?", type=int, default=50000)
    ap.add_argument("--workload", choices=[*WORKLOADS, "both"], default="both")
    ap.add_argument("--books", choices=["fresh", "prebuilt", "both"], default="both")
    ap.add_argument(
        "--against",
        metavar="REF",
        help="run version REF of this benchmark first (a temporary git worktree), then this checkout",
    )
    args = ap.parse_args()
    if args.against:
        print(f"== {args.against}", flush=True)
        print(run_other(args.against, "detection.py", sys.argv[1:]), end="", flush=True)
        print(f"== {head()} (this checkout)", flush=True)
    names = list(WORKLOADS) if args.workload == "both" else [args.workload]
    modes = [False, True] if args.books == "both" else [args.books == "prebuilt"]
    for name in names:
        for prebuilt in modes:
            print(run(name, args.pairs, args.updates, prebuilt).report(), flush=True)


if __name__ == "__main__":
    main()
