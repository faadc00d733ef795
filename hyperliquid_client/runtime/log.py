"""Logging helpers: loggers under ``hyperliquid_client.*`` with structured context.

Library code never prints; it logs through :func:`get_logger` and passes structured
context with :func:`log`, which puts the fields both into the message (``key=value``) and
into ``record.hl`` (a dict) for structured handlers.  Nothing secret is ever passed here.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["get_logger", "log"]


def get_logger(name: str) -> logging.Logger:
    """The logger ``hyperliquid_client.<name>`` (``name`` may already start with ``hyperliquid_client``)."""
    if name == "hyperliquid_client" or name.startswith("hyperliquid_client."):
        return logging.getLogger(name)
    return logging.getLogger("hyperliquid_client." + name)


def log(
    logger: logging.Logger,
    level: int,
    message: str,
    /,
    *,
    exc_info: BaseException | None = None,
    **context: Any,
) -> None:
    """Log ``message`` at ``level`` with ``context`` as ``key=value`` pairs and ``record.hl``.

    ``exc_info``: an exception whose traceback goes with the record.
    """
    if not logger.isEnabledFor(level):
        return
    if context:
        rendered = " ".join(f"{k}={v}" for k, v in context.items())
        logger.log(level, "%s %s", message, rendered, extra={"hl": context}, exc_info=exc_info, stacklevel=2)
    else:
        logger.log(level, "%s", message, extra={"hl": {}}, exc_info=exc_info, stacklevel=2)
