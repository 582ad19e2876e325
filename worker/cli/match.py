"""``python -m worker match``: pair Kalshi game winners with a Polymarket venue's contracts.

Reads the venues' raw listing responses (a Kalshi ``{"events": [...]}`` object, a Gamma
``/events`` list, a Polymarket US ``{"events": [...]}`` object) and prints one JSON object
per mapping on standard output; logs go to standard error. Without ``--save`` nothing is
written and no database is needed; with ``--save`` the mappings are stored as candidates
and decisions already taken by the operator are kept (and shown).

A market the parsers cannot read (no ``clobTokenIds``, outcomes that do not pair with
tokens, a bad number …) is refused alone: it is logged once with its reason and counted,
and every other market of the file is matched. Only a file that is not the venue's
listing shape at all is an input error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from worker.clock import utcnow
from worker.domain.mapping import MarketMapping
from worker.domain.markets import Market, Venue
from worker.engine.scanner.matcher import match_markets

log = logging.getLogger("worker.match")


class InputError(Exception):
    """A listing file is missing, not JSON, or not in the venue's format."""


Parse = Callable[[Any, list[Any]], list[Market]]


def _load(path: Path, parse: Parse, what: str, refused: list[Any]) -> list[Market]:
    try:
        raw = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc.__class__.__name__})") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    try:
        return parse(raw, refused)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InputError(f"{path}: not a {what}: {exc}") from None


def _parse_kalshi(raw: Any, refused: list[Any]) -> list[Market]:
    from worker.venues.kalshi.parse import parse_events

    if not isinstance(raw, dict) or not isinstance(raw.get("events"), list):
        raise ValueError('expected an object with an "events" list')
    markets, _ = parse_events(raw, refused)
    return markets


def _parse_gamma(raw: Any, refused: list[Any]) -> list[Market]:
    from worker.venues.polymarket.parse import parse_events

    if not isinstance(raw, list):
        raise ValueError("expected a JSON list of events")
    return parse_events(raw, refused)


def _parse_pmus(raw: Any, refused: list[Any]) -> list[Market]:
    from worker.venues.polymarket_us.parse import parse_events

    if not isinstance(raw, dict) or not isinstance(raw.get("events"), list):
        raise ValueError('expected an object with an "events" list')
    return parse_events(raw, refused)


def _log_refused(venue: str, refused: list[Any]) -> None:
    for exc in refused:
        log.warning("%s market %s refused: %s", venue, exc.market_id, exc.reason)


def mapping_line(m: MarketMapping) -> dict[str, Any]:
    """The output object of one mapping (the CLI contract of issue 6)."""
    out: dict[str, Any] = {"kalshi_ticker": m.kalshi_ticker}
    if m.poly_venue is Venue.POLYMARKET:
        out["polymarket_token_id"] = m.poly_market
    else:
        out["polymarket_market"] = m.poly_market
        out["polymarket_side"] = m.poly_side
    out.update(
        {
            "league": m.league.lower(),
            "game_date": m.game_date.isoformat(),
            "confidence": m.confidence.value,
            "reasons": list(m.reasons),
        }
    )
    if m.status.value != "candidate":
        out["status"] = m.status.value
    return out


async def _save(mappings: list[MarketMapping]) -> list[MarketMapping]:
    from db.engine import Database
    from db.mappings import SqlMappingStore
    from db.migrate import migrate
    from worker.cli.common import config_or_exit

    config = config_or_exit()
    db = Database(config.database_url)
    try:
        await migrate(db, config.mode)
        return await SqlMappingStore(db).save_discovered(mappings, utcnow())
    finally:
        await db.dispose()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m worker match", description=__doc__)
    parser.add_argument("--kalshi", required=True, type=Path, metavar="KALSHI_EVENTS.json")
    poly = parser.add_mutually_exclusive_group(required=True)
    poly.add_argument("--polymarket", type=Path, metavar="GAMMA_EVENTS.json")
    poly.add_argument("--polymarket-us", type=Path, metavar="PMUS_EVENTS.json")
    parser.add_argument("--save", action="store_true", help="store mappings in the database")
    args = parser.parse_args(argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
        )
    kalshi_refused: list[Any] = []
    poly_refused: list[Any] = []
    poly_name = "polymarket" if args.polymarket is not None else "polymarket_us"
    try:
        kalshi = _load(args.kalshi, _parse_kalshi, "Kalshi events response", kalshi_refused)
        if args.polymarket is not None:
            poly_markets = _load(args.polymarket, _parse_gamma, "Gamma /events list", poly_refused)
        else:
            poly_markets = _load(
                args.polymarket_us, _parse_pmus, "Polymarket US events response", poly_refused
            )
    except InputError as exc:
        print(f"match: {exc}", file=sys.stderr)
        return 2
    _log_refused("kalshi", kalshi_refused)
    _log_refused(poly_name, poly_refused)
    from worker.venues.normalize import NORMALISERS

    result = match_markets(kalshi, poly_markets, NORMALISERS)
    log.info(
        "%d kalshi and %d polymarket markets (%d and %d unreadable, refused): "
        "%d mappings, %d refused, %d unmatched",
        len(kalshi),
        len(poly_markets),
        len(kalshi_refused),
        len(poly_refused),
        len(result.mappings),
        len(result.refused),
        len(result.unmatched),
    )
    for r in result.refused:
        log.debug("refused %s %s: %s", r.venue.value, r.market_id, r.reason)
    mappings = result.mappings
    if args.save:
        mappings = asyncio.run(_save(mappings))
        log.info("saved %d mappings", len(mappings))
    out = sys.stdout
    try:
        for m in mappings:
            out.write(json.dumps(mapping_line(m), ensure_ascii=False) + "\n")
        out.flush()
    except BrokenPipeError:
        # The reader went away (``| head``): not an error of ours.
        sys.stdout = None
    return 0
