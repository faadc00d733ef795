"""The event loop an asyncio object belongs to: the one it was first used in (see :class:`EventLoopError`)."""

from __future__ import annotations

import asyncio

from hyperliquid_client.runtime.errors import EventLoopError

__all__ = ["LoopBound"]


class LoopBound:
    """Remembers the loop ``owner`` (e.g. ``"AsyncClient"``) was first used in and refuses every other one."""

    __slots__ = ("loop", "owner")

    def __init__(self, owner: str) -> None:
        self.owner = owner
        #: the loop of the first use (``None`` before it)
        self.loop: asyncio.AbstractEventLoop | None = None

    def check(self) -> None:
        """Bind to the running loop on first use; raise :class:`EventLoopError` when called from another one."""
        loop = asyncio.get_running_loop()
        if self.loop is loop:
            return
        if self.loop is None:
            self.loop = loop
            return
        raise EventLoopError(
            f"an {self.owner} belongs to the event loop it was first used in, and this call runs in another one "
            f"(e.g. a second asyncio.run()): create one {self.owner} per event loop"
        )

    def foreign(self) -> bool:
        """Whether the running loop is not the bound one (False before the first use)."""
        return self.loop is not None and self.loop is not asyncio.get_running_loop()
