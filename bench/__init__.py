"""Benchmarks: `make bench` (python -m bench) prints one table. Loopback only, bounded loops."""
