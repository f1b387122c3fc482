"""Where rosters come from: one module per provider, each yielding the same entity records."""
