"""Storage benchmark: rows per second through the batching writer vs one INSERT per row."""
