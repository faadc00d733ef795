"""Signing benchmark: ``python -m bench.signing`` (see bench/README.md, section "Signing")."""
