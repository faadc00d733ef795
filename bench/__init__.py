"""Benchmarks (run with ``python -m bench.<area>`` from the repository root)."""
