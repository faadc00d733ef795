"""hyperliquid_client package."""
