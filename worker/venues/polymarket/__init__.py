"""Polymarket (international): Gamma metadata, CLOB books and V2 signed orders."""
