"""What the exchange senders do for rate limits, sans-I/O: address allowance, batches, the weight request.

A sender given a limiter (the client's senders always are) keeps :class:`SendGate`: before signing, each
action is counted against its account's allowance (:meth:`RateLimiter.check_address`: orders are refused
locally when it is used up, cancels always go); an exchange refusal for the allowance updates it.  With
``batch_window`` set, orders and cancels that callers send concurrently are merged (:mod:`.batching`) and
sent once.  The waiting (sync or async) is in the generated ``ActionSender`` / ``AsyncActionSender``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from hyperliquid_client.runtime.errors import ApiRejectedError, IndeterminateError
from hyperliquid_client.runtime.exchange._core import action_weight
from hyperliquid_client.runtime.log import get_logger, log
from hyperliquid_client.runtime.ratelimit.address import requests_of
from hyperliquid_client.runtime.ratelimit.batching import batch_key, merge, saved_weight, split
from hyperliquid_client.runtime.ratelimit.limiter import RateLimiter, Request
from hyperliquid_client.runtime.registry import EndpointSpec
from hyperliquid_client.runtime.results import ExchangeResult
from hyperliquid_client.runtime.transport._core import validate_timeout

__all__ = ["Group", "SendGate", "abandoned"]

_log = get_logger("hyperliquid_client.ratelimit")
_Outcome = ExchangeResult | BaseException
_KEEP_REQUESTS = 256  # requests remembered per sender (one per action, batch weight, URL and default timeout)


class Group:
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

    def mine(self, index: int) -> ExchangeResult:
        """The outcome of the caller at ``index`` (raised when it is an error)."""
        outcome = self.outcomes[index]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def abandoned(wire: str) -> IndeterminateError:
    """What the other callers of a batch get when its leader was cancelled while sending it."""
    return IndeterminateError(
        f"{wire} batch abandoned: the caller sending it was cancelled, it may or may not have been sent; "
        "look each order up by its cloid",
        action_type=wire,
    )


class SendGate:
    """The rate-limit steps of one sender (sans-I/O; the open batches are shared by its threads)."""

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter
        self._groups: dict[tuple[Any, ...], Group] = {}
        self._requests: dict[tuple[str, int, str, float], tuple[Request, float]] = {}
        self._lock = threading.Lock()

    @property
    def window(self) -> float | None:
        """Seconds a batch stays open (``None``: batching is off)."""
        return self.limiter.config.batch_window

    @staticmethod
    def account(sender: Any, endpoint: EndpointSpec, wallet: Any, vault_address: str | None) -> str | None:
        """The account whose allowance an action of ``sender`` uses (a vault or sub-account is its own user)."""
        if endpoint.vault:
            vault = vault_address if vault_address is not None else sender.vault_address
            if vault:
                return str(vault).lower()
        if sender.account_address:
            return str(sender.account_address)
        address = getattr(wallet if wallet is not None else sender.wallet, "address", None)
        return address if isinstance(address, str) else None

    def check(self, address: str | None, endpoint: EndpointSpec, action: Mapping[str, Any]) -> None:
        """Count ``action`` against ``address``'s allowance (refused with :class:`AddressLimitError`)."""
        if address is not None:
            self.limiter.check_address(address, endpoint.wire, requests_of(endpoint.wire, action))

    def key(
        self,
        endpoint: EndpointSpec,
        action: Mapping[str, Any],
        signer: str | None,
        vault: str | None,
        expires: int | None,
        nonce: int | None,
    ) -> tuple[Any, ...] | None:
        """The batch ``action`` may join (``None``: it goes alone)."""
        if self.limiter.config.batch_window is None or nonce is not None:
            return None
        return batch_key(endpoint.wire, action, signer, vault, expires)

    def join(
        self, key: tuple[Any, ...], wire: str, action: Mapping[str, Any], event: Callable[[], Any]
    ) -> tuple[Group, int, bool]:
        """Add ``action`` to the open batch of ``key`` (opening one with ``event`` for its signals):
        ``(group, index, leader)``."""
        with self._lock:
            group = self._groups.get(key)
            leader = group is None
            if group is None:
                group = self._groups[key] = Group(wire, event(), event())
            index, full = group.join(action, self.limiter.config.batch_max)
            if full:
                del self._groups[key]
                group.closed.set()
        return group, index, leader

    def close(self, key: tuple[Any, ...], group: Group) -> tuple[dict[str, Any], list[slice]]:
        """Take the batch of ``key`` off the table; the merged action and each caller's slice."""
        with self._lock:
            if self._groups.get(key) is group:
                del self._groups[key]
        return merge(group.wire, group.actions)

    def settle(self, endpoint: EndpointSpec, group: Group, outcome: _Outcome, slices: list[slice]) -> None:
        """Share ``outcome`` of the merged action among the batch's callers."""
        group.outcomes = split(endpoint.wire, group.actions, slices, outcome)
        sizes = [s.stop - s.start for s in slices]
        weight, saved = saved_weight(sizes)
        log(_log, 10, "batched", action=endpoint.wire, callers=len(sizes), elements=sum(sizes), saved=saved)
        events = self.limiter.events
        if events.wants("rate.batch"):
            events.emit("rate.batch", action=endpoint.wire, size=len(sizes), weight=weight, saved=saved)

    def request(
        self, endpoint: EndpointSpec, action: Mapping[str, Any], url: str, timeout: float | None, default: float
    ) -> tuple[Request, float]:
        """The rate-limit view of sending ``action`` to ``url`` and the call's whole timeout (validated); without a
        ``timeout`` the same (immutable) request for the same endpoint, weight, URL and default."""
        weight = action_weight(endpoint, action)
        key = (endpoint.qualified_name, weight, url, default) if timeout is None else None
        found = self._requests.get(key) if key is not None else None
        if found is None:
            budget = validate_timeout(timeout if timeout is not None else (endpoint.timeout or default), default)
            found = (Request("exchange", endpoint.qualified_name, weight, url, budget), budget)
            if key is not None:
                if len(self._requests) >= _KEEP_REQUESTS:
                    self._requests.clear()
                self._requests[key] = found
        return found

    def refused(self, address: str | None, exc: BaseException) -> None:
        """Learn the allowance from an exchange refusal of ``address``'s action."""
        if address is not None and isinstance(exc, ApiRejectedError):
            self.limiter.observe_refusal(address, exc.server_message)
