"""Polymarket US on the paper exchange: its routes, wire formats and request signatures.

The gateway and API paths alike under :data:`PREFIX` (``/v1/...``; a request signs its path
without the prefix, what the real venue verifies), the market WebSocket at :data:`WS`.
"""

PREFIX = "/polymarket-us"
WS = f"{PREFIX}/v1/ws/markets"
