"""Polymarket US: gateway metadata and books, Ed25519-signed orders and portfolio."""
