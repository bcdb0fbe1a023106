"""Benchmarks of the whole pipeline: `impacting bench` (a corpus as an export folder, measured runs)."""
