"""hyperliquid package."""
