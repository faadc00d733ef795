"""How generated API methods reach the network.

A generated method validates its arguments, builds the request body and calls
``caller.call(endpoint, body, parse, timeout)``.  :class:`HttpCaller` / :class:`AsyncHttpCaller`
(in :mod:`hyperliquid_client.runtime.http_caller`) do the real work — timeout and retry policy from the
endpoint, the cache policy, the transport, and structuring with ``parse``.  The recording callers
here answer from canned data and remember every call, for unit tests of code built on the
generated API (ours and our users').
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

import attrs

from hyperliquid_client.runtime.registry import EndpointSpec
from hyperliquid_client.runtime.results import ExchangeResult, classify
from hyperliquid_client.runtime.struct import parse_with

__all__ = [
    "AsyncCaller",
    "AsyncRecordingCaller",
    "AsyncRecordingSender",
    "AsyncSender",
    "RecordedCall",
    "RecordedSend",
    "RecordingCaller",
    "RecordingSender",
    "SyncCaller",
    "SyncSender",
]

T = TypeVar("T")


class SyncCaller(Protocol):
    """What synchronous generated API classes call."""

    def call(self, endpoint: EndpointSpec, body: dict[str, Any], parse: Callable[[Any], T], timeout: float | None) -> T:
        """Send ``body`` to ``endpoint`` and return the response structured by ``parse``."""
        ...


class AsyncCaller(Protocol):
    """What asynchronous generated API classes await."""

    async def call(
        self, endpoint: EndpointSpec, body: dict[str, Any], parse: Callable[[Any], T], timeout: float | None
    ) -> T:
        """Send ``body`` to ``endpoint`` and return the response structured by ``parse``."""
        ...


@attrs.frozen
class RecordedCall:
    """One call seen by a recording caller."""

    endpoint: EndpointSpec
    body: dict[str, Any]
    timeout: float | None


Responses = Mapping[str, Any] | Callable[[EndpointSpec, dict[str, Any]], Any]


class RecordingCaller:
    """A :class:`SyncCaller` that answers from ``responses`` and records every call.

    ``responses`` maps qualified endpoint names (``info.l2Book``) to raw JSON answers, or is a
    function ``(endpoint, body) -> raw JSON``.  Answers are structured exactly as real ones.
    """

    def __init__(self, responses: Responses) -> None:
        self._responses = responses
        self.calls: list[RecordedCall] = []

    def _answer(self, endpoint: EndpointSpec, body: dict[str, Any]) -> Any:
        if callable(self._responses):
            return self._responses(endpoint, body)
        try:
            return self._responses[endpoint.qualified_name]
        except KeyError:
            raise KeyError(f"no canned response for {endpoint.qualified_name}") from None

    def call(self, endpoint: EndpointSpec, body: dict[str, Any], parse: Callable[[Any], T], timeout: float | None) -> T:
        """Record the call and return the canned answer structured by ``parse``."""
        self.calls.append(RecordedCall(endpoint, body, timeout))
        return parse_with(parse, self._answer(endpoint, body), endpoint=endpoint.qualified_name)


class AsyncRecordingCaller(RecordingCaller):
    """The asynchronous twin of :class:`RecordingCaller`."""

    async def call(  # type: ignore[override,unused-ignore]
        self, endpoint: EndpointSpec, body: dict[str, Any], parse: Callable[[Any], T], timeout: float | None
    ) -> T:
        """Record the call and return the canned answer structured by ``parse``."""
        return RecordingCaller.call(self, endpoint, body, parse, timeout)


class SyncSender(Protocol):
    """What the generated synchronous exchange actions call: sign ``action`` and send it."""

    def send(
        self,
        endpoint: EndpointSpec,
        action: dict[str, Any],
        *,
        wallet: Any = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Sign and send ``action``; return the classified answer."""
        ...


class AsyncSender(Protocol):
    """What the generated asynchronous exchange actions await."""

    async def send(
        self,
        endpoint: EndpointSpec,
        action: dict[str, Any],
        *,
        wallet: Any = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Sign and send ``action``; return the classified answer."""
        ...


@attrs.frozen
class RecordedSend:
    """One action seen by a recording sender (unsigned, as built)."""

    endpoint: EndpointSpec
    action: dict[str, Any]
    wallet: Any
    vault_address: str | None
    expires_after: int | None
    timeout: float | None


_DEFAULT_OK = {"status": "ok", "response": {"type": "default"}}


class RecordingSender:
    """A :class:`SyncSender` that records built actions and answers ``response``.

    ``response`` is classified like a real answer (for this action, so a bulk answer needs one
    status per element).  Without one, every action gets an ok result with no statuses.
    """

    def __init__(self, response: Any = None) -> None:
        self._response = response
        self.sent: list[RecordedSend] = []

    def send(
        self,
        endpoint: EndpointSpec,
        action: dict[str, Any],
        *,
        wallet: Any = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Record the action and classify the canned answer."""
        self.sent.append(RecordedSend(endpoint, action, wallet, vault_address, expires_after, timeout))
        if self._response is None:
            return ExchangeResult(action=endpoint.wire, response_type="default", raw=_DEFAULT_OK)
        return classify(self._response, endpoint, sent=action)


class AsyncRecordingSender(RecordingSender):
    """The asynchronous twin of :class:`RecordingSender`."""

    async def send(  # type: ignore[override,unused-ignore]
        self,
        endpoint: EndpointSpec,
        action: dict[str, Any],
        *,
        wallet: Any = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Record the action and classify the canned answer."""
        return RecordingSender.send(
            self,
            endpoint,
            action,
            wallet=wallet,
            vault_address=vault_address,
            expires_after=expires_after,
            timeout=timeout,
        )
