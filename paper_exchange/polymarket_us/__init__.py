"""Polymarket US on the paper exchange: its routes, wire formats and request signatures."""
