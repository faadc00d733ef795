"""Exchange senders that keep the address allowance and (opt-in) batch concurrent orders and cancels.

:class:`LimitedActionSender` / :class:`AsyncLimitedActionSender` are the client's senders when rate
limits are on.  Before signing, each action is counted against its account's allowance
(:meth:`RateLimiter.check_address`: orders are refused locally when it is used up, cancels always go);
an exchange refusal for the allowance updates it.  With ``batch_window`` set, orders and cancels
that callers send concurrently are merged (:mod:`.batching`) and sent once.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from hyperliquid_client.generated.exchange import ActionSender, AsyncActionSender
from hyperliquid_client.runtime.config import Network
from hyperliquid_client.runtime.errors import ApiRejectedError, IndeterminateError
from hyperliquid_client.runtime.exchange._core import action_weight
from hyperliquid_client.runtime.log import get_logger, log
from hyperliquid_client.runtime.ratelimit.address import requests_of
from hyperliquid_client.runtime.ratelimit.batching import batch_key, merge, saved_weight, split
from hyperliquid_client.runtime.ratelimit.limiter import RateLimiter, Request
from hyperliquid_client.runtime.registry import EndpointSpec
from hyperliquid_client.runtime.results import ExchangeResult
from hyperliquid_client.runtime.transport._core import stating, validate_timeout

__all__ = ["AsyncLimitedActionSender", "LimitedActionSender"]

_log = get_logger("hyperliquid_client.ratelimit")
_Outcome = ExchangeResult | BaseException


class _Group:
    """Actions collected for one batch; ``closed`` tells the leader to send, ``done`` the others to read."""

    def __init__(self, wire: str, closed: Any, done: Any) -> None:
        self.wire = wire
        self.actions: list[Mapping[str, Any]] = []
        self.size = 0
        self.outcomes: list[_Outcome] = []
        self.closed = closed
        self.done = done

    def join(self, action: Mapping[str, Any], batch_max: int) -> tuple[int, bool]:
        """Add ``action``; returns its index and whether the batch is now full."""
        self.actions.append(action)
        self.size += len(action.get("orders") or action.get("cancels") or ())
        return len(self.actions) - 1, self.size >= batch_max


def _abandoned(wire: str) -> IndeterminateError:
    return IndeterminateError(
        f"{wire} batch abandoned: the caller sending it was cancelled, it may or may not have been sent; "
        "look each order up by its cloid",
        action_type=wire,
    )


class _Limited:
    """What both senders add to the plain ones (mixed in before :class:`ActionSender`)."""

    limiter: RateLimiter
    network: Network
    wallet: Any
    vault_address: str | None
    account_address: str | None
    _groups: dict[tuple[Any, ...], _Group]

    def _acting(self, endpoint: EndpointSpec, wallet: Any, vault_address: str | None) -> str | None:
        """The account whose allowance an action uses (a vault or sub-account is its own user)."""
        if endpoint.vault:
            vault = vault_address if vault_address is not None else self.vault_address
            if vault:
                return vault.lower()
        if self.account_address:
            return self.account_address
        chosen = wallet if wallet is not None else self.wallet
        address = getattr(chosen, "address", None)
        return address if isinstance(address, str) else None

    def _key(
        self,
        endpoint: EndpointSpec,
        action: Mapping[str, Any],
        wallet: Any,
        vault: str | None,
        expires: int | None,
        nonce: int | None,
    ) -> tuple[Any, ...] | None:
        """The batch ``action`` may join (``None``: it goes alone)."""
        if self.limiter.config.batch_window is None or nonce is not None:
            return None
        chosen = wallet if wallet is not None else self.wallet
        return batch_key(endpoint.wire, action, getattr(chosen, "address", None), vault, expires)

    def _join(
        self, key: tuple[Any, ...], action: Mapping[str, Any], new: Callable[[], _Group]
    ) -> tuple[_Group, int, bool]:
        """Add ``action`` to the open batch of ``key`` (opening one with ``new``): ``(group, index, leader)``."""
        group = self._groups.get(key)
        leader = group is None
        if group is None:
            group = self._groups[key] = new()
        index, full = group.join(action, self.limiter.config.batch_max)
        if full:
            del self._groups[key]
            group.closed.set()
        return group, index, leader

    def _close(self, key: tuple[Any, ...], group: _Group) -> tuple[dict[str, Any], list[slice]]:
        """Take the batch of ``key`` off the table; the merged action and each caller's slice."""
        if self._groups.get(key) is group:
            del self._groups[key]
        return merge(group.wire, group.actions)

    def _batched(self, endpoint: EndpointSpec, group: _Group, outcome: _Outcome, slices: list[slice]) -> None:
        group.outcomes = split(endpoint.wire, group.actions, slices, outcome)
        sizes = [s.stop - s.start for s in slices]
        weight, saved = saved_weight(sizes)
        log(_log, 10, "batched", action=endpoint.wire, callers=len(sizes), elements=sum(sizes), saved=saved)
        events = self.limiter.events
        if events.wants("rate.batch"):
            events.emit("rate.batch", action=endpoint.wire, size=len(sizes), weight=weight, saved=saved)

    def _request(
        self, endpoint: EndpointSpec, action: Mapping[str, Any], timeout: float | None
    ) -> tuple[Request, float]:
        """The rate-limit view of sending ``action`` and the call's whole timeout (validated)."""
        transport = getattr(self, "transport", None)
        default = transport.config.default_timeout if transport is not None else 10.0
        budget = validate_timeout(timeout if timeout is not None else (endpoint.timeout or default), default)
        exchange_url = self.network.exchange_url
        return Request(
            "exchange", endpoint.qualified_name, action_weight(endpoint, action), exchange_url, budget
        ), budget

    def _refused(self, address: str | None, exc: BaseException) -> None:
        if address is not None and isinstance(exc, ApiRejectedError):
            self.limiter.observe_refusal(address, exc.server_message)

    @staticmethod
    def _mine(group: _Group, index: int) -> ExchangeResult:
        mine = group.outcomes[index]
        if isinstance(mine, BaseException):
            raise mine
        return mine


class LimitedActionSender(_Limited, ActionSender):
    """An :class:`ActionSender` that keeps the address allowance and batches (see the module docs)."""

    def __init__(self, *args: Any, limiter: RateLimiter, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limiter = limiter
        self._groups = {}
        self._groups_lock = threading.Lock()

    def send(
        self,
        endpoint: EndpointSpec,
        action: dict[str, Any],
        *,
        wallet: Any = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
        nonce: int | None = None,
    ) -> ExchangeResult:
        """:meth:`ActionSender.send` after the allowance check; joins a batch when batching is on."""
        address = self._acting(endpoint, wallet, vault_address)
        if address is not None:
            self.limiter.check_address(address, endpoint.wire, requests_of(endpoint.wire, action))
        key = self._key(endpoint, action, wallet, vault_address, expires_after, nonce)
        if key is None:
            merged, group = action, None
        else:
            with self._groups_lock:
                group, index, leader = self._join(
                    key, action, lambda: _Group(endpoint.wire, threading.Event(), threading.Event())
                )
            if not leader:
                group.done.wait()
                return self._mine(group, index)
            group.closed.wait(self.limiter.config.batch_window)
            with self._groups_lock:
                merged, slices = self._close(key, group)
        try:
            # the weight is admitted before the sender takes a connection and a nonce
            request, budget = self._request(endpoint, merged, timeout)
            started = time.monotonic()
            ticket = self.limiter.admit(request, budget)
            with self.limiter.admitted(ticket), stating(budget):
                result = super().send(
                    endpoint,
                    merged,
                    wallet=wallet,
                    vault_address=vault_address,
                    expires_after=expires_after,
                    timeout=max(budget - (time.monotonic() - started), 0.001),
                    nonce=nonce,
                )
        except Exception as exc:
            self._refused(address, exc)
            if group is None:
                raise
            self._batched(endpoint, group, exc, slices)
        else:
            if group is None:
                return result
            self._batched(endpoint, group, result, slices)
        group.done.set()
        return self._mine(group, index)


class AsyncLimitedActionSender(_Limited, AsyncActionSender):
    """The asynchronous :class:`LimitedActionSender`."""

    def __init__(self, *args: Any, limiter: RateLimiter, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limiter = limiter
        self._groups = {}

    async def send(
        self,
        endpoint: EndpointSpec,
        action: dict[str, Any],
        *,
        wallet: Any = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
        nonce: int | None = None,
    ) -> ExchangeResult:
        """:meth:`AsyncActionSender.send` after the allowance check; joins a batch when batching is on."""
        address = self._acting(endpoint, wallet, vault_address)
        if address is not None:
            n = requests_of(endpoint.wire, action)
            if self.limiter.store is not None:  # a Redis round trip: off the event loop
                await asyncio.to_thread(self.limiter.check_address, address, endpoint.wire, n)
            else:
                self.limiter.check_address(address, endpoint.wire, n)
        key = self._key(endpoint, action, wallet, vault_address, expires_after, nonce)
        if key is None:
            merged, group = action, None
        else:
            group, index, leader = self._join(
                key, action, lambda: _Group(endpoint.wire, asyncio.Event(), asyncio.Event())
            )
            if not leader:
                await group.done.wait()
                return self._mine(group, index)
            try:
                await asyncio.wait_for(group.closed.wait(), self.limiter.config.batch_window)
            except TimeoutError:
                pass
            merged, slices = self._close(key, group)
        try:
            request, budget = self._request(endpoint, merged, timeout)
            started = time.monotonic()
            ticket = await self.limiter.aadmit(request, budget)
            with self.limiter.admitted(ticket), stating(budget):
                result = await super().send(
                    endpoint,
                    merged,
                    wallet=wallet,
                    vault_address=vault_address,
                    expires_after=expires_after,
                    timeout=max(budget - (time.monotonic() - started), 0.001),
                    nonce=nonce,
                )
        except Exception as exc:
            self._refused(address, exc)
            if group is None:
                raise
            self._batched(endpoint, group, exc, slices)
        except BaseException:  # the leader was cancelled: the others must not wait for ever
            if group is not None:
                self._batched(endpoint, group, _abandoned(endpoint.wire), slices)
                group.done.set()
            raise
        else:
            if group is None:
                return result
            self._batched(endpoint, group, result, slices)
        group.done.set()
        return self._mine(group, index)
