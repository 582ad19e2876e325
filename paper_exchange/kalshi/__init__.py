"""Kalshi on the paper exchange: its routes, wire formats and request signatures.

REST under :data:`API`, the market-data WebSocket at :data:`WS`; a request signs its path
without :data:`PREFIX` (what the real venue verifies).
"""

PREFIX = "/kalshi"
API = f"{PREFIX}/trade-api/v2"
WS = f"{PREFIX}/trade-api/ws/v2"
