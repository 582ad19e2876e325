"""Scanner: cross-venue matching (normalise, block, pair with polarity and confidence) and
fee- and depth-aware arbitrage detection with an opportunity lifecycle."""

from worker.engine.scanner.depth import walk
from worker.engine.scanner.detect import Pair, build_pair, evaluate_pair
from worker.engine.scanner.matcher import MatchResult, match_markets
from worker.engine.scanner.scanner import Publish, Scanner

__all__ = [
    "MatchResult",
    "Pair",
    "Publish",
    "Scanner",
    "build_pair",
    "evaluate_pair",
    "match_markets",
    "walk",
]
