"""Kalshi (Trade API v2): parsers, request signing, REST client, WebSocket feed."""
