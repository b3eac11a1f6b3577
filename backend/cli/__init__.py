"""Command-line interfaces: ``quire`` (console script) and ``flask quire`` (admin)."""
