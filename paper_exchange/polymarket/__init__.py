"""Polymarket on the paper exchange: its routes, wire formats and request signatures.

Gamma under :data:`GAMMA`, the CLOB under :data:`CLOB` (a request signs its path without
it, as the real CLOB verifies), the Data API under :data:`DATA`, the market WebSocket at
:data:`WS`.
"""

GAMMA = "/polymarket/gamma"
CLOB = "/polymarket/clob"
DATA = "/polymarket/data"
WS = "/polymarket/ws/market"
