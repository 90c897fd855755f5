"""Fixtures of the client suite: a live `voicesvc serve` (embedded sandbox) started as a subprocess."""
