"""The environment's risk settings (``EXECUTOR_MIN_CONFIDENCE``, ``EXECUTOR_SUSPICIOUS_ROI``,
…) as the executor takes them: the worker's composition root and ``python -m worker
replay`` both read them here, so a replay need not load the root's venue clients and
server to know them."""

from __future__ import annotations

from worker.config import Config
from worker.domain.mapping import Confidence
from worker.engine.executor import RiskConfig


def risk_config(config: Config) -> RiskConfig:
    """The environment's risk settings, as the worker's executor and a replay's take them."""
    return RiskConfig(
        min_confidence=Confidence(config.min_confidence),
        require_confirmation=config.require_confirmation,
        max_book_age_ms=config.max_book_age_ms,
        no_trade_before_start_s=config.no_trade_before_start_s,
        day_tz=config.day_tz,
        refuse_cancellation_mismatch=config.refuse_cancellation_mismatch,
        suspicious_roi=config.suspicious_roi,
        price_legging_risk=config.price_legging_risk,
    )
