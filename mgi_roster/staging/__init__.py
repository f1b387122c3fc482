"""Staging: one run's records in DuckDB, before anyone has reviewed them."""
