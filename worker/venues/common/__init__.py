"""Helpers shared by the venue clients: parsing, HTTP, rate limiting, backoff."""
