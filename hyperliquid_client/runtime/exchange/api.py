"""The high-level exchange API: the methods generated from ``spec/exchange`` plus what no spec can say.

:class:`Exchange` (sync) and :class:`AsyncExchange` inherit one generated method per spec method
(``order``, ``bulk_orders``, ``cancel``, ``usd_send``, ...: coin names, exact numbers, request
classes) and supply ``_send``: build the action against a snapshot of the market metadata (loading a
missing piece once, through the cache) and hand it to the sender.  Hand-written here: market orders
and closes (mid ± slippage), ``bulk_cancel`` (order ids or cloids), ``approve_agent`` (generates the
agent key), multi-sig assembly, indeterminate outcomes, and metadata helpers.

Every signed call accepts ``wallet`` (default: the sender's), ``expires_after`` (ms, L1 actions),
``timeout`` and, for vault-capable actions, ``vault_address``.  No builder fee is ever added
unless ``builder`` is given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, TypedDict, Unpack

import attrs

from hyperliquid_client.generated.exchange import (
    AsyncExchangeActions,
    AsyncExchangeMethods,
    Builder,
    ExchangeActions,
    ExchangeMethods,
)
from hyperliquid_client.generated.registry import ENDPOINTS
from hyperliquid_client.generated.requests import BuilderFee, CancelByCloidRequest, CancelRequest
from hyperliquid_client.runtime import validate as _v
from hyperliquid_client.runtime.caller import RecordingSender
from hyperliquid_client.runtime.errors import IndeterminateError, InvalidInputError, MetadataUnavailableError
from hyperliquid_client.runtime.events import EventBus
from hyperliquid_client.runtime.exchange._core import fill_action
from hyperliquid_client.runtime.exchange.sender import ActionSender, AsyncActionSender, _SenderBase
from hyperliquid_client.runtime.markets import (
    BuildContext,
    Direction,
    MarketMetadata,
    MetadataService,
    _MetadataMissing,
    market_price,
    to_decimal,
)
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

__all__ = ["AgentApproval", "AsyncExchange", "CancelOptions", "Exchange", "MultiSigOptions", "OrderOptions"]

_MULTI_SIG = ENDPOINTS["exchange.multiSig"]

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
    """Keyword options of :meth:`Exchange.market_order` / :meth:`Exchange.market_close` (see ``order``)."""

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


def _limit_price(market: MarketMetadata, coin: str, is_buy: Any, mid: Decimal | None, slippage: Any) -> Decimal:
    """The limit price of a market order: ``mid × (1 ± slippage)`` rounded to a valid price."""
    if mid is None:
        raise MetadataUnavailableError(f"no mid price for {coin!r}: pass px= as the reference price")
    if mid <= 0:
        raise InvalidInputError("px", "a positive reference price", mid)
    return market_price(market, coin, _v.boolean("is_buy", is_buy), mid, slippage)


def _close(state: Any, coin: str, sz: Any) -> tuple[bool, Any]:
    """``(is_buy, size)`` of the order closing the position in ``coin`` (all of it when ``sz`` is None)."""
    for entry in getattr(state, "asset_positions", ()):
        position = entry.position
        if position.coin == coin and position.szi != 0:
            return position.szi < 0, abs(position.szi) if sz is None else sz
    raise InvalidInputError("coin", "a coin with an open position to close", coin)


def _cancels(cancels: Any) -> tuple[str, list[Any]]:
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


def _status_by_cloid(error: Any) -> tuple[str, ...]:
    if not isinstance(error, IndeterminateError):
        raise InvalidInputError("error", "an IndeterminateError", type(error).__name__)
    if not error.cloids:
        raise InvalidInputError(
            "error", "an indeterminate order with client order ids (place orders with cloid= to resolve them)", error
        )
    return error.cloids


def _new_agent(agent_address: str | None) -> tuple[Wallet | None, str]:
    agent = Wallet.generate() if agent_address is None else None
    return agent, checksum_address(agent.address) if agent is not None else str(agent_address)


def _inner_endpoint(inner_action: Any) -> EndpointSpec:
    endpoint = ENDPOINTS.get("exchange." + str(inner_action.get("type"))) if isinstance(inner_action, Mapping) else None
    if endpoint is None or endpoint.signing not in ("l1", "user_signed"):
        raise InvalidInputError("inner_action", "an L1 or user-signed exchange action (see build_action)", inner_action)
    return endpoint


class _ExchangeBase:
    """What :class:`Exchange` and :class:`AsyncExchange` share (no I/O)."""

    sender: _SenderBase
    markets: MetadataService

    def __init__(self, sender: Any, *, markets: MetadataService, info: Any, events: EventBus | None = None) -> None:
        self.sender = sender
        self.markets = markets
        self.info = info
        self.events = events if events is not None else sender.events

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.sender!r})"

    def _context(self, tried: frozenset[str]) -> BuildContext:
        sender = self.sender
        return BuildContext(self.markets.snapshot(), vault=sender.vault_address, user=sender.user_address, tried=tried)

    @staticmethod
    def build_action(name: str, /, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The wire action the generated wire-level method ``name`` builds (nothing is signed or sent) —
        e.g. the inner action of a multi-sig: ``Exchange.build_action("usd_send", "0x...", "5")``."""
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
        vault = options.get("vault_address") or self.sender.vault_address
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


class Exchange(_ExchangeBase, ExchangeMethods):
    """Synchronous high-level exchange API (``client.exchange``).  See the module docs."""

    sender: ActionSender

    def __init__(self, sender: ActionSender, *, markets: MetadataService, info: Any, events: EventBus | None = None):
        super().__init__(sender, markets=markets, info=info, events=events)
        #: The generated wire-level builders bound to :attr:`sender`.
        self.actions = ExchangeActions(sender)

    def _send(
        self,
        endpoint: EndpointSpec,
        build: Builder,
        values: tuple[Any, ...],
        wallet: Wallet | None,
        vault_address: str | None,
        expires_after: int | None,
        timeout: float | None,
    ) -> ExchangeResult:
        tried: frozenset[str] = frozenset()
        while True:
            try:
                action = build(self._context(tried), *values)
                break
            except _MetadataMissing as missing:
                tried |= {missing.coin}
                self.markets.market(missing.coin)
        return self.sender.send(
            endpoint, action, wallet=wallet, vault_address=vault_address, expires_after=expires_after, timeout=timeout
        )

    def asset_id(self, coin: str) -> int:
        """Asset id of ``coin`` (perp, spot pair or builder-dex perp)."""
        return self.markets.market(_v.coin("coin", coin)).asset_id(coin)

    def round_price(self, coin: str, px: Number, *, direction: Direction = "nearest") -> Decimal:
        """The valid price of ``coin`` nearest to ``px`` (or the next one ``"up"`` / ``"down"``)."""
        return self.markets.market(_v.coin("coin", coin)).round_price(coin, px, direction=direction)

    def round_size(self, coin: str, sz: Number, *, direction: Direction = "down") -> Decimal:
        """``sz`` rounded to whole lots of ``coin`` (``"down"`` by default)."""
        return self.markets.market(_v.coin("coin", coin)).round_size(coin, sz, direction=direction)

    def market_order(
        self,
        coin: str,
        is_buy: bool,
        sz: Number,
        *,
        slippage: Number = 0.05,
        px: Number | None = None,
        **options: Unpack[OrderOptions],
    ) -> ExchangeResult:
        """An immediate-or-cancel order at ``mid × (1 ± slippage)`` rounded to the tick (``px`` replaces
        the mid as the reference price, e.g. for markets without one).  Options as for ``order``."""
        market = self.markets.market(_v.coin("coin", coin))
        mid = self.markets.mid(coin) if px is None else to_decimal(px, "px")
        return self.order(coin, is_buy, sz, _limit_price(market, coin, is_buy, mid, slippage), tif="Ioc", **options)

    def market_close(
        self,
        coin: str,
        sz: Number | None = None,
        *,
        slippage: Number = 0.05,
        px: Number | None = None,
        **options: Unpack[OrderOptions],
    ) -> ExchangeResult:
        """Close the position in ``coin`` (``sz`` of it; all when None) with a reduce-only market order
        for the account (or ``vault_address``), like the official SDK's ``market_close``."""
        user = options.get("vault_address") or self.sender.vault_address or self.sender.user_address
        is_buy, size = _close(self.info.clearinghouse_state(_v.address("user", user)), _v.coin("coin", coin), sz)
        options["reduce_only"] = True
        return self.market_order(coin, is_buy, size, slippage=slippage, px=px, **options)

    def bulk_cancel(
        self, cancels: Sequence[CancelRequest | tuple[str, int | str]], **options: Unpack[CancelOptions]
    ) -> ExchangeResult:
        """Cancel several orders: ``[(coin, oid), ...]`` (``cancel``) or ``[(coin, cloid), ...]``
        (``cancelByCloid``); one action cannot mix them."""
        method, items = _cancels(cancels)
        return getattr(self, method)(items, **options)

    def approve_agent(
        self,
        agent_address: str | None = None,
        *,
        name: str | None = None,
        wallet: Wallet | None = None,
        timeout: float | None = None,
    ) -> AgentApproval:
        """Approve an agent (API wallet) to sign L1 actions for the account; without ``agent_address`` a
        new agent wallet is generated and returned in :attr:`AgentApproval.agent`.  ``name`` makes it
        a named agent (``"<name> valid_until <ms>"`` sets an expiry)."""
        agent, address = _new_agent(agent_address)
        result = self._approve_agent(address, name=name, wallet=wallet, timeout=timeout)
        return AgentApproval(result=result, agent_address=address, agent=agent)

    def multi_sig(
        self, multi_sig_user: str, inner_action: Mapping[str, Any], **options: Unpack[MultiSigOptions]
    ) -> ExchangeResult:
        """Send ``inner_action`` (see :meth:`build_action`) for the multi-sig account ``multi_sig_user``.

        The wallet (the outer signer, an authorised user or its agent) signs the ``multiSig`` wrapper;
        ``signers`` (wallets of authorised users) sign the inner action here, and/or ``signatures``
        collected offline with :meth:`sign_multi_sig_inner` are included (then pass their ``nonce``).
        Other options: ``vault_address``, ``expires_after``, ``timeout``.
        """
        action, send = self._multi_sig(multi_sig_user, inner_action, options)
        return self.sender.send(_MULTI_SIG, action, **send)

    def resend(self, error: IndeterminateError, *, timeout: float | None = None) -> ExchangeResult:
        """Opt-in: post the same signed body of an indeterminate action again (see :meth:`ActionSender.resend`)."""
        return self.sender.resend(error, timeout=timeout)

    def resolve_indeterminate(
        self, error: IndeterminateError, *, user: str | None = None, timeout: float | None = None
    ) -> dict[str, Any]:
        """The ``orderStatus`` of each cloid of an indeterminate order action, ``{cloid: status}``
        (``status.status == "unknownOid"``: it never reached the book).  ``user`` defaults to the
        vault the action was for, else the account."""
        who = self._indeterminate_user(error, user)
        return {c: self.info.order_status(who, c, timeout=timeout) for c in _status_by_cloid(error)}


class AsyncExchange(_ExchangeBase, AsyncExchangeMethods):
    """Asynchronous high-level exchange API; same methods as :class:`Exchange`, awaitable."""

    sender: AsyncActionSender

    def __init__(
        self, sender: AsyncActionSender, *, markets: MetadataService, info: Any, events: EventBus | None = None
    ):
        super().__init__(sender, markets=markets, info=info, events=events)
        #: The generated wire-level builders bound to :attr:`sender`.
        self.actions = AsyncExchangeActions(sender)

    async def _send(
        self,
        endpoint: EndpointSpec,
        build: Builder,
        values: tuple[Any, ...],
        wallet: Wallet | None,
        vault_address: str | None,
        expires_after: int | None,
        timeout: float | None,
    ) -> ExchangeResult:
        tried: frozenset[str] = frozenset()
        while True:
            try:
                action = build(self._context(tried), *values)
                break
            except _MetadataMissing as missing:
                tried |= {missing.coin}
                await self.markets.amarket(missing.coin)
        return await self.sender.send(
            endpoint, action, wallet=wallet, vault_address=vault_address, expires_after=expires_after, timeout=timeout
        )

    async def asset_id(self, coin: str) -> int:
        """Async :meth:`Exchange.asset_id`."""
        return (await self.markets.amarket(_v.coin("coin", coin))).asset_id(coin)

    async def round_price(self, coin: str, px: Number, *, direction: Direction = "nearest") -> Decimal:
        """Async :meth:`Exchange.round_price`."""
        return (await self.markets.amarket(_v.coin("coin", coin))).round_price(coin, px, direction=direction)

    async def round_size(self, coin: str, sz: Number, *, direction: Direction = "down") -> Decimal:
        """Async :meth:`Exchange.round_size`."""
        return (await self.markets.amarket(_v.coin("coin", coin))).round_size(coin, sz, direction=direction)

    async def market_order(
        self,
        coin: str,
        is_buy: bool,
        sz: Number,
        *,
        slippage: Number = 0.05,
        px: Number | None = None,
        **options: Unpack[OrderOptions],
    ) -> ExchangeResult:
        """Async :meth:`Exchange.market_order`."""
        market = await self.markets.amarket(_v.coin("coin", coin))
        mid = await self.markets.amid(coin) if px is None else to_decimal(px, "px")
        limit = _limit_price(market, coin, is_buy, mid, slippage)
        return await self.order(coin, is_buy, sz, limit, tif="Ioc", **options)

    async def market_close(
        self,
        coin: str,
        sz: Number | None = None,
        *,
        slippage: Number = 0.05,
        px: Number | None = None,
        **options: Unpack[OrderOptions],
    ) -> ExchangeResult:
        """Async :meth:`Exchange.market_close`."""
        user = options.get("vault_address") or self.sender.vault_address or self.sender.user_address
        state = await self.info.clearinghouse_state(_v.address("user", user))
        is_buy, size = _close(state, _v.coin("coin", coin), sz)
        options["reduce_only"] = True
        return await self.market_order(coin, is_buy, size, slippage=slippage, px=px, **options)

    async def bulk_cancel(
        self, cancels: Sequence[CancelRequest | tuple[str, int | str]], **options: Unpack[CancelOptions]
    ) -> ExchangeResult:
        """Async :meth:`Exchange.bulk_cancel`."""
        method, items = _cancels(cancels)
        return await getattr(self, method)(items, **options)

    async def approve_agent(
        self,
        agent_address: str | None = None,
        *,
        name: str | None = None,
        wallet: Wallet | None = None,
        timeout: float | None = None,
    ) -> AgentApproval:
        """Async :meth:`Exchange.approve_agent`."""
        agent, address = _new_agent(agent_address)
        result = await self._approve_agent(address, name=name, wallet=wallet, timeout=timeout)
        return AgentApproval(result=result, agent_address=address, agent=agent)

    async def multi_sig(
        self, multi_sig_user: str, inner_action: Mapping[str, Any], **options: Unpack[MultiSigOptions]
    ) -> ExchangeResult:
        """Async :meth:`Exchange.multi_sig`."""
        action, send = self._multi_sig(multi_sig_user, inner_action, options)
        return await self.sender.send(_MULTI_SIG, action, **send)

    async def resend(self, error: IndeterminateError, *, timeout: float | None = None) -> ExchangeResult:
        """Async :meth:`Exchange.resend`."""
        return await self.sender.resend(error, timeout=timeout)

    async def resolve_indeterminate(
        self, error: IndeterminateError, *, user: str | None = None, timeout: float | None = None
    ) -> dict[str, Any]:
        """Async :meth:`Exchange.resolve_indeterminate`."""
        who = self._indeterminate_user(error, user)
        return {c: await self.info.order_status(who, c, timeout=timeout) for c in _status_by_cloid(error)}
