"""Cache benchmark: ``python -m bench.cache`` (start-up, get throughput, memory under a flood)."""
