"""Reviewing a staged run: validation (issues) and the diff against the roster (changes)."""
