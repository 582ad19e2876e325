"""From venues to the executor: markets matched, books streamed, opportunities submitted.

:class:`OpportunityPipeline` lists both venues' markets, matches them (the scanner's matcher,
decisions of the operator kept through the mapping store), streams every mapped
contract's book into the scanner, and hands each OPENED / UPDATED opportunity to the
executor as a :class:`~worker.engine.executor.risk.Candidate` carrying the mapping's
game, confidence, operator status and the time each leg's book was received.

Concurrency: the scanner publishes synchronously, inside its handling of a book update,
so the pipeline's part of that call is kept to queueing: events for the executor go through a
queue in which only the latest quote per opportunity is kept, and one consumer submits
them, so a burst of updates never queues stale quotes behind fresh ones. An opportunity
refused only because its game was busy (the risk manager's one attempt per game) is handed
to the executor again when that attempt ends, if the scanner still shows it: an arbitrage
that still stands gets its turn even when its books do not move again (every check of
admission applies to it again, the books' age included). The ended attempt's own
opportunity is not: a quote that just failed is tried again only once it changes. Events
for the ``on_event`` hook (the worker encodes them for the wire) wait in an outbox, in order,
which a task of their own drains on the same loop (:meth:`OpportunityPipeline.flush_events`),
a slice at a time. Encoding an opportunity (its size–ROI curve included) is thus charged
neither to the book update that found it nor to the executor's submission of it: the
card may reach the wire just after the first attempt message on it (the dashboard does
not tie the two together).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from worker.clock import SYSTEM_CLOCK, Clock
from worker.domain.attempts import AttemptRecord, Refusal, RefusalReason
from worker.domain.books import OrderBook, depth_to
from worker.domain.discovery import DiscoveryRefusals, ListingRefusal
from worker.domain.errors import VenueError
from worker.domain.fees import FeeSchedule
from worker.domain.listings import NotNormalised, VenueNormaliser
from worker.domain.mapping import (
    CurvePoint,
    MappingStatus,
    MappingStore,
    MarketMapping,
    OpportunityEvent,
    OpportunityEventKind,
    RulesCheck,
    TradePermission,
    game_status,
)
from worker.domain.markets import ContractRef, Market, Venue
from worker.domain.ports import ListingRefusalSource, VenuePort
from worker.engine.executor.executor import Executor
from worker.engine.executor.risk import Candidate
from worker.engine.legging import LeggingPricer
from worker.engine.scanner.matcher import match_markets
from worker.engine.scanner.scanner import Scanner

log = logging.getLogger(__name__)

#: The receive time given to a leg whose book time is unknown: older than any age limit.
_UNKNOWN_AGE = datetime.min.replace(tzinfo=UTC)
#: Events handed on per turn of the publishing task before it lets other tasks run.
_FLUSH_SLICE = 100


class OpportunityPipeline:
    """Venues → matcher → scanner → executor, for one Kalshi + one Polymarket venue."""

    def __init__(
        self,
        executor: Executor,
        kalshi: VenuePort,
        poly: VenuePort,
        mappings: MappingStore | None = None,
        clock: Clock = SYSTEM_CLOCK,
        on_event: Callable[[OpportunityEvent], None] | None = None,
        refusals: DiscoveryRefusals | None = None,
        on_refusals: Callable[[DiscoveryRefusals], None] | None = None,
        normalisers: Mapping[Venue, VenueNormaliser] | None = None,
        legging: LeggingPricer | None = None,
        decision_delay_s: float = 0.0,
    ) -> None:
        self.executor = executor
        #: How long after a quote changes the executor takes it (a replay's model of the
        #: live worker's own lag, ``--decision-ms``; 0 for the worker, which decides as
        #: soon as its loop gets to it): the latest quote then is the one submitted.
        self.decision_delay_s = decision_delay_s
        self.kalshi = kalshi
        self.poly = poly
        self.mappings_store = mappings
        self.clock = clock
        self.scanner = Scanner(self._on_event)
        # The books value held contracts at the scanner's marks (their best bids); a
        # pipeline that only discovers has no executor.
        if executor is not None:
            executor.marks = self.scanner.mark
        # Legging risk: each published quote carries its expected edge, and the risk
        # manager reads the same estimates (EXECUTOR_PRICE_LEGGING_RISK).
        if legging is not None:
            self.scanner.legging = legging.price
            if executor is not None:
                executor.risk.legging = legging
        self.mappings: dict[str, MarketMapping] = {}
        #: Each mapping's two listed markets, to track its pair again once un-rejected.
        self._markets: dict[str, tuple[Market, Market]] = {}
        self.min_sizes: dict[ContractRef, Decimal] = {}
        self.fees: dict[ContractRef, FeeSchedule] = {}
        self._pending: dict[str, OpportunityEvent] = {}
        #: Opportunities refused because their game had an attempt in flight, by game key
        #: (a dict as an ordered set): submitted again once that attempt has ended.
        self._game_busy: dict[str, dict[str, None]] = {}
        #: By game key: how many attempts have ended, and the last one's opportunity id.
        self._ended: dict[str, tuple[int, object]] = {}
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._on_event_hook = on_event
        self._outbox: deque[OpportunityEvent] = deque()
        self._outbox_ready = asyncio.Event()
        self.events = 0
        self.book_updates = 0
        #: Listings refused at discovery (parsers and matcher), kept across discoveries.
        self.refusals = refusals if refusals is not None else DiscoveryRefusals()
        self._on_refusals = on_refusals
        #: Each venue's normaliser (the composition root's): needed to discover.
        self.normalisers = normalisers

    async def discover(self) -> int:
        """List, match and (when a store is given) persist mappings; returns how many trade."""
        if self.normalisers is None:
            raise ValueError("the feed was given no venue normalisers: it cannot match markets")
        kalshi_markets = await self.kalshi.list_markets()
        poly_markets = await self.poly.list_markets()
        result = match_markets(kalshi_markets, poly_markets, self.normalisers)
        self._record_refusals(result.refused)
        found = result.mappings
        if self.mappings_store is not None and found:
            # Stored status wins: an operator's rejection or confirmation survives rediscovery.
            found = await self.mappings_store.save_discovered(found, self.clock.now())
        # One decision per game: should its rows ever disagree, a rejection wins.
        games: dict[str, list[MarketMapping]] = {}
        for row in found:
            games.setdefault(row.review_key, []).append(row)
        decided = {key: game_status(g.status for g in game) for key, game in games.items()}
        found = [g if g.status is decided[g.review_key] else replace(g, status=decided[g.review_key]) for g in found]
        k_by_id = {m.market_id: m for m in kalshi_markets}
        p_by_id: dict[str, Market] = {}
        for m in poly_markets:
            p_by_id[m.market_id] = m
            for o in m.outcomes:
                p_by_id.setdefault(o.contract_id, m)
        items: list[tuple[MarketMapping, Market, Market]] = []
        for mapping in found:
            k = k_by_id.get(mapping.kalshi_ticker)
            p = p_by_id.get(mapping.poly_market_id) or p_by_id.get(mapping.poly_market)
            if k is None or p is None:
                continue
            self.mappings[mapping.id] = mapping
            self._markets[mapping.id] = (k, p)
            items.append((mapping, k, p))
            for ref in (mapping.kalshi_yes, mapping.kalshi_no):
                self.min_sizes[ref] = k.min_size
                self.fees[ref] = k.fees
            for ref in (mapping.poly_same, mapping.poly_other):
                self.min_sizes[ref] = p.min_size
                self.fees[ref] = p.fees
        self.scanner.add_mappings(items)
        log.info(
            "%d mappings (%d listings refused at discovery: see /mappings)", len(items), self.refusals.count
        )
        return len(items)

    def _record_refusals(self, matcher_refused: list[NotNormalised]) -> None:
        """Both venues' unreadable markets and the matcher's refusals, as one set."""
        found: list[ListingRefusal] = []
        for port in (self.kalshi, self.poly):
            if isinstance(port, ListingRefusalSource):
                found.extend(port.listing_refusals())
        found.extend(ListingRefusal(r.venue, r.market_id, r.reason) for r in matcher_refused)
        if self.refusals.update(found, self.clock.now()) and self._on_refusals is not None:
            self._on_refusals(self.refusals)

    def game(self, mapping_id: str) -> list[MarketMapping]:
        """The mappings of ``mapping_id``'s game (same review key) this pipeline tracks."""
        mapping = self.mappings.get(mapping_id)
        if mapping is None:
            return []
        key = mapping.review_key
        return [m for m in self.mappings.values() if m.review_key == key]

    def decide(self, mapping_id: str, status: MappingStatus) -> None:
        """An operator's decision, live, on the mapping's whole game (both directions):
        a rejected game is never traded (its opportunities close at once); a confirmed
        one may trade whatever its confidence, and its open opportunities are handed to
        the executor and the wire again with that verdict. All in one synchronous step,
        so no submission sees one direction decided and the other not."""
        game = self.game(mapping_id)
        now = self.clock.now()
        for mapping in game:
            self.mappings[mapping.id] = replace(mapping, status=status)
        for mapping in game:
            self.scanner.decide(mapping.id, status, now)
        if status is MappingStatus.REJECTED:
            for mapping in game:
                for opp_id in [k for k, e in self._pending.items() if e.opportunity.mapping_id == mapping.id]:
                    del self._pending[opp_id]
            return
        for mapping in game:
            markets = self._markets.get(mapping.id)
            if markets is not None and not self.scanner.tracks(mapping.id):
                # Un-rejected: the pair is priced again from the books already held.
                self.scanner.add_mapping(self.mappings[mapping.id], *markets)
        ids = {m.id for m in game}
        for opp in self.scanner.open_opportunities:
            if opp.mapping_id in ids:
                self._on_event(OpportunityEvent(OpportunityEventKind.UPDATED, opp, now))

    def permission(self, mapping_id: str, rules: RulesCheck | None = None,
                   curve: Sequence[CurvePoint] | None = None) -> TradePermission | None:
        """Whether the mapping's pair may trade and why not (the risk manager's verdict,
        before any limit or book check; with an opportunity's ``rules``, theirs too, and
        with its ``curve``, ``EXECUTOR_SUSPICIOUS_ROI`` at the size the settings take);
        None for a mapping this pipeline does not track."""
        mapping = self.mappings.get(mapping_id)
        if mapping is None:
            return None
        if rules is not None and curve is not None:
            return self.executor.risk.sized_permission(mapping.status, mapping.confidence, rules, curve)
        if rules is not None:
            return self.executor.risk.opportunity_permission(mapping.status, mapping.confidence, rules)
        return self.executor.risk.permission_of(mapping.status, mapping.confidence)

    def contracts(self) -> tuple[list[ContractRef], list[ContractRef]]:
        kalshi: dict[ContractRef, None] = {}
        poly: dict[ContractRef, None] = {}
        for m in self.mappings.values():
            kalshi[m.kalshi_yes] = None
            kalshi[m.kalshi_no] = None
            poly[m.poly_same] = None
            poly[m.poly_other] = None
        return list(kalshi), list(poly)

    # -- books ---------------------------------------------------------------------------
    def on_book(self, book: OrderBook) -> None:
        # The scanner keeps each book's receive time with its asks (``book_time``).
        self.book_updates += 1
        self.scanner.on_book(book, self.clock.now())

    async def _stream(self, port: VenuePort, contracts: list[ContractRef]) -> None:
        while True:
            try:
                async for update in port.stream_books(contracts):
                    self.on_book(update.book)
            except VenueError as exc:
                log.warning("%s book stream: %s; reconnecting", port.venue.value, exc)
            except (OSError, TimeoutError) as exc:
                log.warning("%s book stream dropped (%s); reconnecting", port.venue.value, type(exc).__name__)
            await self.clock.sleep(0.5)

    async def _clock_loop(self) -> None:
        while True:
            await self.clock.sleep(1.0)
            self.scanner.on_clock(self.clock.now())

    # -- opportunities -------------------------------------------------------------------
    def _on_event(self, event: OpportunityEvent) -> None:
        self.events += 1
        if self._on_event_hook is not None:
            self._outbox.append(event)
            self._outbox_ready.set()
        if event.kind is OpportunityEventKind.CLOSED:
            self._pending.pop(event.opportunity.id, None)
            return
        self._pending[event.opportunity.id] = event
        self._wake.set()

    def candidate(self, event: OpportunityEvent) -> Candidate | None:
        opp = event.opportunity
        mapping = self.mappings.get(opp.mapping_id)
        if mapping is None:
            return None
        # Each leg's book age, for the risk manager (a Polymarket US SHORT leg's is its
        # LONG book's: the same book prices both sides). A priced leg always has one; if
        # one were missing, its age is unknown, which the age check must refuse.
        times = {leg.contract: self.scanner.book_time(leg.contract) or _UNKNOWN_AGE for leg in opp.legs}
        return Candidate(
            opportunity=opp,
            game_key=mapping.kalshi_event_ticker or mapping.kalshi_ticker,
            confidence=mapping.confidence,
            mapping_status=mapping.status,
            current_status=lambda: (self.mappings.get(mapping.id) or mapping).status,
            start_time=mapping.start_time or opp.expires_at,
            book_times=times,
            # Contracts available up to each leg's limit: the thinner leg goes first.
            depth={
                leg.contract: depth_to(asks, leg.price)
                for leg in opp.legs
                if (asks := self.scanner.asks(leg.contract)) is not None
            },
            top={leg.contract: asks[0] for leg in opp.legs if (asks := self.scanner.asks(leg.contract))},
            min_sizes={leg.contract: self.min_sizes[leg.contract] for leg in opp.legs if leg.contract in self.min_sizes},
            fees={leg.contract: self.fees[leg.contract] for leg in opp.legs if leg.contract in self.fees},
        )

    def take_pending(self) -> list[OpportunityEvent]:
        """The latest OPENED/UPDATED event of each opportunity still open, in the order
        they were first queued, handed over once (the executor's consumer submits them)."""
        batch = list(self._pending.values())
        self._pending.clear()
        return batch

    def flush_events(self, limit: int | None = None) -> int:
        """Hand the queued events (at most ``limit``) to the ``on_event`` hook, oldest
        first; how many."""
        hook, outbox = self._on_event_hook, self._outbox
        if hook is None:
            return 0  # nothing is queued without a hook
        n = 0
        while outbox and (limit is None or n < limit):
            event = outbox.popleft()
            n += 1
            try:
                hook(event)
            except Exception:
                log.exception("on_event hook failed for %s", event.opportunity.id)
        return n

    async def _publish_events(self) -> None:
        while True:
            await self._outbox_ready.wait()
            self._outbox_ready.clear()
            # A burst (every book after a reconnect) is handed on in slices, so that book
            # updates, order acknowledgements and the lease heartbeat run in between (the
            # server's broadcaster writes the wire messages, in slices of its own).
            if self.flush_events(_FLUSH_SLICE) == _FLUSH_SLICE:
                self._outbox_ready.set()  # more queued: go on after the others had a turn
                await self.clock.sleep(0)

    def attempt_ended(self, attempt: AttemptRecord) -> None:
        """An attempt ended: its game's opportunities that were refused while it ran, and
        still stand, go to the executor again (their latest quote), except the attempt's own."""
        count, _ = self._ended.get(attempt.game_key, (0, None))
        own = attempt.details.get("opportunity_id")
        self._ended[attempt.game_key] = (count + 1, own)
        for opp_id in self._game_busy.pop(attempt.game_key, {}):
            self._retry(opp_id, own)

    def _retry(self, opp_id: str, own: object) -> None:
        opp = self.scanner.opportunity(opp_id)
        if opp is None or opp_id == own or opp_id in self._pending:
            return  # closed, the quote that just failed, or already queued afresh
        self._pending[opp_id] = OpportunityEvent(OpportunityEventKind.UPDATED, opp, self.clock.now())
        self._wake.set()

    async def _consume(self) -> None:
        while True:
            await self._wake.wait()
            if self.decision_delay_s:
                await self.clock.sleep(self.decision_delay_s)
            self._wake.clear()
            # Orders first: the cards (published by the publishing task) never delay a submit.
            for event in self.take_pending():
                cand = self.candidate(event)
                if cand is None:
                    continue
                ended_before, _ = self._ended.get(cand.game_key, (0, None))
                result = await self.executor.submit(cand)
                if isinstance(result, Refusal) and result.reason is RefusalReason.GAME_BUSY:
                    ended, own = self._ended.get(cand.game_key, (0, None))
                    if ended != ended_before:
                        self._retry(event.opportunity.id, own)  # the game freed meanwhile
                    else:
                        self._game_busy.setdefault(cand.game_key, {})[event.opportunity.id] = None

    def start(self) -> None:
        kalshi, poly = self.contracts()
        self.executor.on_attempt_end(self.attempt_ended)
        self._tasks = [
            asyncio.create_task(self._stream(self.kalshi, kalshi), name="kalshi-books"),
            asyncio.create_task(self._stream(self.poly, poly), name="poly-books"),
            asyncio.create_task(self._clock_loop(), name="scanner-clock"),
            asyncio.create_task(self._consume(), name="executor-feed"),
            asyncio.create_task(self._publish_events(), name="opportunity-events"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        try:
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        finally:
            self._tasks = []
            self.executor.off_attempt_end(self.attempt_ended)
            self._pending.clear()  # quotes from before the stop are never submitted later
            self._game_busy.clear()
            self.flush_events()  # what the scanner published before the stop still goes out


def venue_pair(venues: Mapping[Venue, VenuePort], poly_venue: Venue) -> tuple[VenuePort, VenuePort]:
    return venues[Venue.KALSHI], venues[poly_venue]
