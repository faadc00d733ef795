"""WebSocket pipeline benchmark (``python -m bench.ws``)."""
