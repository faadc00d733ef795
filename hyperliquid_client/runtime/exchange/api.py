"""The high-level exchange API's core: what no spec can say, without I/O.

``Exchange`` (sync) and ``AsyncExchange`` are generated from one template into
:mod:`hyperliquid_client.generated.exchange`: one method per spec method (``order``, ``bulk_orders``,
``cancel``, ``usd_send``, ...: coin names, exact numbers, request classes) and thin shells around
:class:`ExchangeCore` for the rest.  Hand-written here: market orders (``market_open``) and closes (mid ± slippage),
``bulk_cancel`` (order ids or cloids), ``approve_agent`` (generates the agent key), multi-sig assembly,
indeterminate outcomes, and the build context of an action (a snapshot of the market metadata).

Every signed call accepts ``wallet`` (default: the sender's), ``expires_after`` (ms, L1 actions),
``timeout`` and, for vault-capable actions, ``vault_address``.  No builder fee is ever added
unless ``builder`` is given.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, TypedDict

import attrs

from hyperliquid_client.generated.registry import ENDPOINTS
from hyperliquid_client.generated.requests import BuilderFee, CancelByCloidRequest, CancelRequest
from hyperliquid_client.runtime import validate as _v
from hyperliquid_client.runtime.caller import RecordingSender
from hyperliquid_client.runtime.errors import IndeterminateError, InvalidInputError, MetadataUnavailableError
from hyperliquid_client.runtime.events import EventBus
from hyperliquid_client.runtime.exchange._core import fill_action
from hyperliquid_client.runtime.exchange.sender import SenderCore
from hyperliquid_client.runtime.markets import BuildContext, MarketMetadata, MetadataService, market_price
from hyperliquid_client.runtime.registry import EndpointSpec, key_order
from hyperliquid_client.runtime.results import ExchangeResult
from hyperliquid_client.runtime.signing import (
    Signature,
    Wallet,
    build_multi_sig_action,
    checksum_address,
    normalize_address,
    sign_multi_sig_inner_l1,
    sign_multi_sig_inner_user_signed,
)
from hyperliquid_client.runtime.transport._core import validate_timeout

__all__ = ["AgentApproval", "CancelOptions", "ExchangeCore", "MultiSigOptions", "OrderOptions"]

Number = Decimal | str | int | float


@attrs.frozen
class AgentApproval:
    """The answer of :meth:`Exchange.approve_agent`.

    ``agent`` is the freshly generated agent :class:`Wallet` when no address was given (keep its
    key safe: it can trade for the account), else ``None``; ``agent_address`` the approved address.
    """

    result: ExchangeResult
    agent_address: str
    agent: Wallet | None = None


class OrderOptions(TypedDict, total=False):
    """Keyword options of :meth:`Exchange.market_open` / :meth:`Exchange.market_close` (see ``order``)."""

    reduce_only: bool
    cloid: str | int | bytes | None
    builder: BuilderFee | Mapping[str, Any] | None
    wallet: Wallet | None
    vault_address: str | None
    expires_after: int | None
    timeout: float | None


class MultiSigOptions(TypedDict, total=False):
    """Keyword options of :meth:`Exchange.multi_sig`."""

    signers: Sequence[Wallet]
    signatures: Sequence[Signature | Mapping[str, Any]]
    nonce: int | None
    wallet: Wallet | None
    vault_address: str | None
    expires_after: int | None
    timeout: float | None


class CancelOptions(TypedDict, total=False):
    """Keyword options of :meth:`Exchange.bulk_cancel`."""

    fast: bool
    wallet: Wallet | None
    vault_address: str | None
    expires_after: int | None
    timeout: float | None


def limit_price(
    market: MarketMetadata, coin: str, is_buy: Any, mid: Decimal | None, slippage: Any, *, given: bool = True
) -> Decimal:
    """The limit price of a market order: ``mid × (1 ± slippage)`` rounded to a valid price.  ``given``: ``mid`` is
    the caller's ``px`` (refused naming it), else the API's mid (one that gives no valid price is the API's)."""
    if mid is None:
        raise MetadataUnavailableError(f"no mid price for {coin!r}: pass px= as the reference price")
    buy = _v.boolean("is_buy", is_buy)
    try:
        if mid <= 0:
            raise InvalidInputError("px", "a positive reference price", mid)
        return market_price(market, coin, buy, mid, slippage)
    except InvalidInputError as exc:
        if given or exc.field != "px":
            raise
    raise MetadataUnavailableError(
        f"the mid price of {coin!r} the API gave ({mid}) gives no valid price: pass px= as the reference price"
    )


def deadline(timeout: float | None) -> float | None:
    """The monotonic deadline of a call's ``timeout`` (``None``: none given)."""
    return None if timeout is None else time.monotonic() + validate_timeout(timeout, 0.0)


def left(end: float | None) -> float | None:
    """Seconds left before ``end`` (at least 1 ms: the callee reports the timeout itself), ``None`` without one."""
    return None if end is None else max(0.001, end - time.monotonic())


def close_side(state: Any, coin: str, sz: Any) -> tuple[bool, Any]:
    """``(is_buy, size)`` of the order closing the position in ``coin`` (all of it when ``sz`` is None)."""
    for entry in getattr(state, "asset_positions", ()):
        position = entry.position
        if position.coin == coin and position.szi != 0:
            return position.szi < 0, abs(position.szi) if sz is None else sz
    raise InvalidInputError("coin", "a coin with an open position to close", coin)


def cancel_requests(cancels: Any) -> tuple[str, list[Any]]:
    """``bulk_cancel``'s items as the requests of one action: ``cancel`` (order ids) or ``cancelByCloid``."""
    if not isinstance(cancels, list | tuple) or not cancels:
        raise InvalidInputError("cancels", "a non-empty list of (coin, oid or cloid)", cancels)
    pairs = [(c.coin, c.oid) if isinstance(c, CancelRequest) else c for c in cancels]
    for i, c in enumerate(pairs):
        if not (isinstance(c, list | tuple) and len(c) == 2):
            raise InvalidInputError(f"cancels[{i}]", "a CancelRequest or a (coin, oid or cloid) pair", c)
    by_cloid = [isinstance(oid, str) for _, oid in pairs]
    if any(by_cloid) and not all(by_cloid):
        raise InvalidInputError("cancels", "all order ids or all cloids (one action cannot mix them)", cancels)
    if all(by_cloid):
        return "bulk_cancel_by_cloid", [CancelByCloidRequest(coin, oid) for coin, oid in pairs]
    return "bulk_cancel_by_oid", [CancelRequest(coin, oid) for coin, oid in pairs]


def status_cloids(error: Any) -> tuple[str, ...]:
    if not isinstance(error, IndeterminateError):
        raise InvalidInputError("error", "an IndeterminateError", type(error).__name__)
    if not error.cloids:
        raise InvalidInputError(
            "error", "an indeterminate order with client order ids (place orders with cloid= to resolve them)", error
        )
    return error.cloids


def new_agent(agent_address: str | None) -> tuple[Wallet | None, str]:
    agent = Wallet.generate() if agent_address is None else None
    return agent, checksum_address(agent.address) if agent is not None else str(agent_address)


def _inner_endpoint(inner_action: Any) -> EndpointSpec:
    endpoint = ENDPOINTS.get("exchange." + str(inner_action.get("type"))) if isinstance(inner_action, Mapping) else None
    if endpoint is None or endpoint.signing not in ("l1", "user_signed"):
        raise InvalidInputError("inner_action", "an L1 or user-signed exchange action (see build_action)", inner_action)
    return endpoint


class ExchangeCore:
    """What ``Exchange`` and ``AsyncExchange`` share (no I/O)."""

    sender: SenderCore
    markets: MetadataService

    def __init__(
        self,
        sender: Any,
        *,
        markets: MetadataService,
        info: Any,
        events: EventBus | None = None,
        auto_cloid: bool = False,
    ) -> None:
        self.sender = sender
        self.markets = markets
        self.info = info
        self.events = events if events is not None else sender.events
        #: give every new order without a cloid a random one (``ClientConfig.auto_cloid``)
        self.auto_cloid = auto_cloid
        self._last_context: BuildContext | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.sender!r})"

    def _context(self, tried: frozenset[str]) -> BuildContext:
        sender = self.sender
        snapshot, vault, user = self.markets.snapshot(), sender.vault_address, sender.user_address
        last = self._last_context
        if (
            last is not None
            and not tried
            and not last.tried
            and last.markets is snapshot
            and last.vault is vault
            and last.user is user
        ):
            return last  # (builders only read a context: the same pieces give the same one, made once)
        context = BuildContext(snapshot, vault=vault, user=user, tried=tried)
        if not tried:
            self._last_context = context
        return context

    @staticmethod
    def build_action(name: str, /, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The wire action the generated wire-level method ``name`` builds (nothing is signed or sent) —
        e.g. the inner action of a multi-sig: ``Exchange.build_action("usd_send", "0x...", "5")``."""
        from hyperliquid_client.generated.exchange import ExchangeActions  # (the generated module imports this one)

        recorder = RecordingSender()
        method = getattr(ExchangeActions(recorder), name, None)
        if method is None or name.startswith("_"):
            raise InvalidInputError("name", "the name of a generated exchange action (e.g. 'usd_send')", name)
        method(*args, **kwargs)
        return dict(recorder.sent[-1].action)

    def _inner(self, inner_action: Any, nonce: int) -> tuple[EndpointSpec, dict[str, Any]]:
        """The inner action of a multi-sig in the spec's key order, its nonce and chain keys filled."""
        endpoint = _inner_endpoint(inner_action)
        inner = key_order(endpoint.action_shape, dict(inner_action))
        key = endpoint.nonce_key
        preset = inner.get(key) if key else None
        if key:
            inner[key] = None
        return endpoint, fill_action(endpoint, inner, preset if preset is not None else nonce, self.sender.signer)

    def sign_multi_sig_inner(
        self,
        wallet: Wallet,
        inner_action: Mapping[str, Any],
        *,
        multi_sig_user: str,
        outer_signer: str,
        nonce: int,
        vault_address: str | None = None,
        expires_after: int | None = None,
    ) -> Signature:
        """One authorised user's signature of ``inner_action`` for a multi-sig request (collect these
        offline and pass them to :meth:`Exchange.multi_sig` with the same ``nonce``)."""
        endpoint, inner = self._inner(inner_action, nonce)
        user = normalize_address(multi_sig_user, "multi_sig_user")
        outer = normalize_address(outer_signer, "outer_signer")
        backend = self.sender.signer.backend
        if not isinstance(wallet, Wallet):
            raise InvalidInputError("wallet", "a hyperliquid_client Wallet", type(wallet).__name__)
        if endpoint.signing == "user_signed":
            assert endpoint.primary_type is not None
            return sign_multi_sig_inner_user_signed(
                wallet, inner, multi_sig_user=user, outer_signer=outer, primary_type=endpoint.primary_type,
                fields=endpoint.eip712_fields, backend=backend,
            )  # fmt: skip
        vault = normalize_address(vault_address, "vault_address") if vault_address is not None else None
        return sign_multi_sig_inner_l1(
            wallet, inner, nonce, multi_sig_user=user, outer_signer=outer, vault_address=vault,
            expires_after=expires_after, is_mainnet=self.sender.signer.network.is_mainnet, backend=backend,
        )  # fmt: skip

    def _multi_sig(
        self, multi_sig_user: str, inner_action: Mapping[str, Any], options: MultiSigOptions
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The ``multiSig`` action and the sender's arguments (outer wallet, nonce, vault, expiry, timeout)."""
        outer = self.sender._wallet(options.get("wallet"))
        nonce = options.get("nonce")
        n = self.sender.next_nonce(outer) if nonce is None else _v.integer("nonce", nonce, minimum=0)
        vault = options.get("vault_address")  # (explicit only: the sender's default vault is its own account's)
        vault = normalize_address(vault, "vault_address") if vault is not None else None
        expires = options.get("expires_after")
        _, inner = self._inner(inner_action, n)
        sigs: list[Signature | Mapping[str, Any]] = list(options.get("signatures", ()))
        for w in options.get("signers", ()):
            sigs.append(self.sign_multi_sig_inner(w, inner, multi_sig_user=multi_sig_user, outer_signer=outer.address,
                                                  nonce=n, vault_address=vault, expires_after=expires))  # fmt: skip
        if not sigs:
            raise InvalidInputError("signatures", "at least one inner signature (or signers to produce them)")
        action = build_multi_sig_action(
            multi_sig_user=multi_sig_user, outer_signer=outer.address, inner_action=inner, signatures=sigs,
            signature_chain_id=self.sender.signer.signature_chain_id,
        )  # fmt: skip
        built = self.build_action("multi_sig", action["signatureChainId"], action["signatures"], action["payload"])
        send = {"wallet": outer, "nonce": n, "vault_address": vault, "expires_after": expires}
        return built, {**send, "timeout": options.get("timeout")}

    def _close_user(self, options: OrderOptions) -> str:
        """Whose position ``market_close`` closes: the call's vault, else the sender's, else the account."""
        user = options.get("vault_address") or self.sender.vault_address or self.sender.user_address
        return _v.address("user", user)

    def _indeterminate_user(self, error: IndeterminateError, user: str | None) -> str:
        if user is not None:
            return _v.address("user", user)
        signed = self.sender.signed_body(error.nonce) if error.nonce is not None else None
        if signed is not None and signed.vault_address is not None:
            return signed.vault_address
        found = self.sender.user_address
        if found is None:
            raise InvalidInputError("user", "an address (no wallet or account_address configured)")
        return found
