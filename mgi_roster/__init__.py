"""MGI Roster Review: bring a district's Clever roster into the MGI, and check it first."""

__version__ = "0.1.0"
