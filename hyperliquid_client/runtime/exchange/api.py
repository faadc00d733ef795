"""The high-level exchange API: coins, numbers and options in, typed results out.

:class:`Exchange` (sync) and :class:`AsyncExchange` resolve coin names to asset ids through the
:class:`~hyperliquid_client.runtime.markets.MetadataService` (perps, spot pairs ``PURR/USDC`` / ``@n``,
builder-dex perps ``dex:COIN``), turn prices and sizes into exact wire strings (tick and lot
rules, refused before sending when too precise), and call the generated wire-level builders in
:attr:`Exchange.actions`, which hand the action to the sender for signing and posting.

Every signed call accepts ``wallet`` (default: the sender's), ``expires_after`` (ms, L1 actions),
``timeout`` and, for vault-capable actions, ``vault_address``.  No builder fee is ever added
unless ``builder`` is given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from hyperliquid_client.generated.exchange import AsyncExchangeActions, ExchangeActions
from hyperliquid_client.generated.registry import ENDPOINTS
from hyperliquid_client.runtime import validate as _v
from hyperliquid_client.runtime.caller import RecordingSender
from hyperliquid_client.runtime.errors import IndeterminateError, InvalidInputError, MetadataUnavailableError
from hyperliquid_client.runtime.events import EventBus
from hyperliquid_client.runtime.exchange._core import Signer, _fill_user_signed
from hyperliquid_client.runtime.exchange.orders import (
    CancelRequest,
    ModifyRequest,
    OrderRequest,
    TriggerSpec,
    builder_wire,
    cancel_action_parts,
    fee_rate,
    grouping_wire,
    market_price,
    modify_wire,
    multi_sig_signers,
    order_wire,
    transfer_amount,
    usd_micro,
)
from hyperliquid_client.runtime.exchange.sender import ActionSender, AsyncActionSender, _SenderBase
from hyperliquid_client.runtime.markets import Direction, MarketMetadata, MetadataService, to_decimal
from hyperliquid_client.runtime.registry import EndpointSpec
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

__all__ = ["AgentApproval", "AsyncExchange", "Exchange"]

_ABSTRACTIONS = ("unifiedAccount", "portfolioMargin", "disabled")
_AGENT_ABSTRACTIONS = ("u", "p", "i")
_TWAP_MINUTES = (5, 1440)


@attrs.frozen
class AgentApproval:
    """The answer of :meth:`Exchange.approve_agent`.

    ``agent`` is the freshly generated agent :class:`Wallet` when no address was given (keep its
    key safe: it can trade for the account), else ``None``; ``agent_address`` the approved address.
    """

    result: ExchangeResult
    agent_address: str
    agent: Wallet | None = None


def _endpoint(wire: str) -> EndpointSpec:
    return ENDPOINTS["exchange." + wire]


class _ExchangeBase:
    """Pure helpers shared by :class:`Exchange` and :class:`AsyncExchange`."""

    sender: _SenderBase
    markets: MetadataService

    def _user(self, user: str | None) -> str:
        if user is not None:
            return _v.address("user", user)
        found = self.sender.user_address
        if found is None:
            raise InvalidInputError("user", "an address (no wallet or account_address configured)")
        return found

    @staticmethod
    def _order_request(
        coin: str,
        is_buy: bool,
        sz: Any,
        limit_px: Any,
        tif: str,
        reduce_only: bool,
        cloid: Any,
        trigger: Any,
    ) -> OrderRequest:
        return OrderRequest(coin, is_buy, sz, limit_px, tif=tif, reduce_only=reduce_only, cloid=cloid, trigger=trigger)

    @staticmethod
    def _coins(items: Iterable[Any], field: str) -> list[str]:
        coins: dict[str, None] = {}
        for i, item in enumerate(items):
            coin = item.coin if isinstance(item, OrderRequest | CancelRequest) else None
            if isinstance(item, ModifyRequest):
                coin = item.order.coin if isinstance(item.order, OrderRequest) else None
            if isinstance(item, tuple | list) and item:
                coin = item[0]
            coins.setdefault(_v.coin(f"{field}[{i}].coin", coin), None)
        return list(coins)

    @staticmethod
    def _orders_wire(markets: Mapping[str, MarketMetadata], orders: Sequence[OrderRequest]) -> list[dict[str, Any]]:
        return [order_wire(markets[o.coin], o, f"orders[{i}]") for i, o in enumerate(orders)]

    @staticmethod
    def _modifies_wire(
        markets: Mapping[str, MarketMetadata], modifies: Sequence[ModifyRequest]
    ) -> list[dict[str, Any]]:
        out = []
        for i, m in enumerate(modifies):
            if not isinstance(m, ModifyRequest):
                raise InvalidInputError(f"modifies[{i}]", "a ModifyRequest", type(m).__name__)
            out.append(modify_wire(markets[m.order.coin], m, f"modifies[{i}]"))
        return out

    @staticmethod
    def _check_list(value: Any, field: str, kind: type) -> list[Any]:
        if not isinstance(value, list | tuple) or not value:
            raise InvalidInputError(field, f"a non-empty list of {kind.__name__}", value)
        for i, item in enumerate(value):
            if not isinstance(item, kind):
                raise InvalidInputError(f"{field}[{i}]", f"a {kind.__name__}", type(item).__name__)
        return list(value)

    def _class_transfer_amount(self, amount: Any, vault_address: str | None) -> str:
        text = transfer_amount("amount", amount)
        vault = vault_address if vault_address is not None else self.sender.vault_address
        if vault is not None:
            text += f" subaccount:{normalize_address(vault, 'vault_address')}"
        return text

    def _from_sub_account(self, from_sub_account: str | None) -> str:
        if from_sub_account is not None:
            return "" if from_sub_account == "" else normalize_address(from_sub_account, "from_sub_account")
        return self.sender.vault_address or ""

    @staticmethod
    def _twap(
        info_asset: int, is_buy: bool, sz: str, minutes: int, reduce_only: bool, randomize: bool
    ) -> dict[str, Any]:
        m = _v.integer("minutes", minutes)
        if not _TWAP_MINUTES[0] <= m <= _TWAP_MINUTES[1]:
            raise InvalidInputError("minutes", f"an integer between {_TWAP_MINUTES[0]} and {_TWAP_MINUTES[1]}", minutes)
        return {
            "a": info_asset,
            "b": _v.boolean("is_buy", is_buy),
            "s": sz,
            "r": _v.boolean("reduce_only", reduce_only),
            "m": m,
            "t": _v.boolean("randomize", randomize),
        }

    def _multi_sig_action(
        self,
        multi_sig_user: str,
        inner_action: Mapping[str, Any],
        *,
        signers: Sequence[Wallet],
        signatures: Sequence[Signature | Mapping[str, Any]],
        outer: Wallet,
        nonce: int,
        vault: str | None,
        expires_after: int | None,
    ) -> dict[str, Any]:
        if not isinstance(inner_action, Mapping) or not isinstance(inner_action.get("type"), str):
            raise InvalidInputError("inner_action", "an action mapping with a 'type'", inner_action)
        endpoint = ENDPOINTS.get("exchange." + inner_action["type"])
        if endpoint is None or endpoint.signing not in ("l1", "user_signed"):
            raise InvalidInputError(
                "inner_action.type", "the type of an L1 or user-signed exchange action", inner_action["type"]
            )
        user = normalize_address(multi_sig_user, "multi_sig_user")
        signer = self.sender.signer
        inner = _fill_inner(endpoint, dict(inner_action), nonce, signer)
        sigs: list[Signature | Mapping[str, Any]] = list(signatures)
        for i, w in enumerate(signers):
            if not isinstance(w, Wallet):
                raise InvalidInputError(f"signers[{i}]", "a hyperliquid_client Wallet", type(w).__name__)
            sigs.append(self._inner_signature(w, endpoint, inner, user, outer.address, nonce, vault, expires_after))
        if not sigs:
            raise InvalidInputError("signatures", "at least one inner signature (or signers to produce them)")
        return build_multi_sig_action(
            multi_sig_user=user,
            outer_signer=outer.address,
            inner_action=inner,
            signatures=sigs,
            signature_chain_id=signer.signature_chain_id,
        )

    def _inner_signature(
        self,
        wallet: Wallet,
        endpoint: EndpointSpec,
        inner: Mapping[str, Any],
        multi_sig_user: str,
        outer_signer: str,
        nonce: int,
        vault: str | None,
        expires_after: int | None,
    ) -> Signature:
        signer = self.sender.signer
        if endpoint.signing == "user_signed":
            assert endpoint.primary_type is not None
            return sign_multi_sig_inner_user_signed(
                wallet,
                inner,
                multi_sig_user=multi_sig_user,
                outer_signer=outer_signer,
                primary_type=endpoint.primary_type,
                fields=endpoint.eip712_fields,
                backend=signer.backend,
            )
        return sign_multi_sig_inner_l1(
            wallet,
            inner,
            nonce,
            multi_sig_user=multi_sig_user,
            outer_signer=outer_signer,
            vault_address=vault,
            expires_after=expires_after,
            is_mainnet=signer.network.is_mainnet,
            backend=signer.backend,
        )

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
        """One authorised user's signature of ``inner_action`` for a multi-sig request (collect
        these offline and pass them to :meth:`Exchange.multi_sig` with the same ``nonce``)."""
        endpoint = ENDPOINTS.get("exchange." + str(inner_action.get("type")))
        if endpoint is None or endpoint.signing not in ("l1", "user_signed"):
            raise InvalidInputError(
                "inner_action.type", "the type of an L1 or user-signed exchange action", inner_action.get("type")
            )
        inner = _fill_inner(endpoint, dict(inner_action), nonce, self.sender.signer)
        vault = normalize_address(vault_address, "vault_address") if vault_address is not None else None
        return self._inner_signature(
            wallet,
            endpoint,
            inner,
            normalize_address(multi_sig_user, "multi_sig_user"),
            normalize_address(outer_signer, "outer_signer"),
            nonce,
            vault,
            expires_after,
        )

    @staticmethod
    def build_action(name: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The wire action the generated method ``name`` builds for these arguments (nothing is
        signed or sent) — e.g. the inner action of a multi-sig:
        ``Exchange.build_action("usd_send", "0x...", "5")``."""
        recorder = RecordingSender()
        method = getattr(ExchangeActions(recorder), name, None)
        if method is None or name.startswith("_"):
            raise InvalidInputError("name", "the name of a generated exchange action (e.g. 'usd_send')", name)
        method(*args, **kwargs)
        return dict(recorder.sent[-1].action)

    def _indeterminate_user(self, error: IndeterminateError, user: str | None) -> str:
        if user is not None:
            return _v.address("user", user)
        signed = self.sender.signed_body(error.nonce) if error.nonce is not None else None
        if signed is not None and signed.vault_address is not None:
            return signed.vault_address
        return self._user(None)


def _reference_price(px: Any) -> Decimal:
    d = to_decimal(px, "px")
    if d <= 0:
        raise InvalidInputError("px", "a positive reference price", px)
    return d


def _fill_inner(endpoint: EndpointSpec, inner: dict[str, Any], nonce: int, signer: Signer) -> dict[str, Any]:
    """A user-signed inner action of a multi-sig with its chain keys filled and its nonce key set
    (kept when already given, else the outer nonce)."""
    if endpoint.signing != "user_signed":
        return inner
    key = endpoint.nonce_key
    preset = inner.get(key) if key else None
    if key:
        inner = {**inner, key: None}
    return _fill_user_signed(endpoint, inner, preset if preset is not None else nonce, signer)


def _status_by_cloid(error: Any) -> tuple[str, ...]:
    if not isinstance(error, IndeterminateError):
        raise InvalidInputError("error", "an IndeterminateError", type(error).__name__)
    if not error.cloids:
        raise InvalidInputError(
            "error", "an indeterminate order with client order ids (place orders with cloid= to resolve them)", error
        )
    return error.cloids


class Exchange(_ExchangeBase):
    """Synchronous high-level exchange API (``client.exchange``).  See the module docs."""

    sender: ActionSender

    def __init__(
        self, sender: ActionSender, *, markets: MetadataService, info: Any, events: EventBus | None = None
    ) -> None:
        self.sender = sender
        self.markets = markets
        self.info = info
        self.events = events if events is not None else sender.events
        #: The generated wire-level builders bound to :attr:`sender`.
        self.actions = ExchangeActions(sender)

    def __repr__(self) -> str:
        return f"Exchange({self.sender!r})"

    # ------------------------------------------------------------------ metadata helpers
    def _markets(self, coins: Iterable[str]) -> dict[str, MarketMetadata]:
        return {c: self.markets.market(c) for c in coins}

    def asset_id(self, coin: str) -> int:
        """Asset id of ``coin`` (perp, spot pair or builder-dex perp)."""
        coin = _v.coin("coin", coin)
        return self.markets.market(coin).asset_id(coin)

    def round_price(self, coin: str, px: Any, *, direction: Direction = "nearest") -> Decimal:
        """The valid price of ``coin`` nearest to ``px`` (or the next one ``"up"`` / ``"down"``)."""
        coin = _v.coin("coin", coin)
        return self.markets.market(coin).round_price(coin, px, direction=direction)

    def round_size(self, coin: str, sz: Any, *, direction: Direction = "down") -> Decimal:
        """``sz`` rounded to whole lots of ``coin`` (``"down"`` by default)."""
        coin = _v.coin("coin", coin)
        return self.markets.market(coin).round_size(coin, sz, direction=direction)

    # ------------------------------------------------------------------ orders
    def order(
        self,
        coin: str,
        is_buy: bool,
        sz: Any,
        limit_px: Any,
        *,
        tif: str = "Gtc",
        reduce_only: bool = False,
        cloid: str | int | bytes | None = None,
        trigger: TriggerSpec | Mapping[str, Any] | None = None,
        grouping: Any = "na",
        builder: Mapping[str, Any] | None = None,
        wallet: Wallet | None = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Place one order.  ``result.statuses[0]`` is :class:`Resting` (oid), :class:`Filled`
        (size, average price) or :class:`OrderError` (the exchange's message).

        ``tif``: ``Gtc``, ``Ioc``, ``Alo`` (or ``FrontendMarket``); ``trigger``: a
        :class:`TriggerSpec` for stop / take-profit orders; ``cloid``: a client order id
        (``0x`` + 32 hex digits, an int or 16 bytes); ``builder``: ``{"b": address, "f": fee}``.
        """
        request = self._order_request(coin, is_buy, sz, limit_px, tif, reduce_only, cloid, trigger)
        return self.bulk_orders(
            [request],
            grouping=grouping,
            builder=builder,
            wallet=wallet,
            vault_address=vault_address,
            expires_after=expires_after,
            timeout=timeout,
        )

    def bulk_orders(
        self,
        orders: Sequence[OrderRequest],
        *,
        grouping: Any = "na",
        builder: Mapping[str, Any] | None = None,
        wallet: Wallet | None = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Place several orders in one action; one status per order (failed ones do not fail the batch)."""
        orders = self._check_list(orders, "orders", OrderRequest)
        wires = self._orders_wire(self._markets(self._coins(orders, "orders")), orders)
        return self.actions.order(
            wires,
            grouping=grouping_wire(grouping),
            builder=builder_wire(builder),
            wallet=wallet,
            vault_address=vault_address,
            expires_after=expires_after,
            timeout=timeout,
        )

    def market_order(
        self,
        coin: str,
        is_buy: bool,
        sz: Any,
        *,
        slippage: Any = 0.05,
        px: Any = None,
        reduce_only: bool = False,
        cloid: str | int | bytes | None = None,
        builder: Mapping[str, Any] | None = None,
        wallet: Wallet | None = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """An immediate-or-cancel order at ``mid * (1 ± slippage)`` rounded to the tick.

        ``px`` replaces the mid as the reference price (needed for markets without a mid).
        """
        coin = _v.coin("coin", coin)
        market = self.markets.market(coin)
        if px is None:
            reference = self.markets.mid(coin)
            if reference is None:
                raise MetadataUnavailableError(f"no mid price for {coin!r}: pass px= as the reference price")
        else:
            reference = _reference_price(px)
        limit = market_price(market, coin, _v.boolean("is_buy", is_buy), reference, slippage)
        return self.order(
            coin,
            is_buy,
            sz,
            limit,
            tif="Ioc",
            reduce_only=reduce_only,
            cloid=cloid,
            builder=builder,
            wallet=wallet,
            vault_address=vault_address,
            expires_after=expires_after,
            timeout=timeout,
        )

    def cancel(
        self,
        coin: str,
        oid: int,
        *,
        wallet: Wallet | None = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Cancel order ``oid`` of ``coin``."""
        if isinstance(oid, str):
            raise InvalidInputError("oid", "an integer order id (use cancel_by_cloid for client order ids)", oid)
        return self.bulk_cancel(
            [(coin, oid)], wallet=wallet, vault_address=vault_address, expires_after=expires_after, timeout=timeout
        )

    def cancel_by_cloid(
        self,
        coin: str,
        cloid: str,
        *,
        wallet: Wallet | None = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Cancel the order of ``coin`` with client order id ``cloid``."""
        if not isinstance(cloid, str):
            raise InvalidInputError("cloid", "a client order id ('0x' + 32 lowercase hex digits)", cloid)
        return self.bulk_cancel(
            [(coin, cloid)], wallet=wallet, vault_address=vault_address, expires_after=expires_after, timeout=timeout
        )

    def bulk_cancel(
        self,
        cancels: Sequence[CancelRequest | tuple[str, int | str]],
        *,
        wallet: Wallet | None = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Cancel several orders: ``[(coin, oid), ...]`` or ``[(coin, cloid), ...]`` (not mixed)."""
        if not isinstance(cancels, list | tuple) or not cancels:
            raise InvalidInputError("cancels", "a non-empty list of (coin, oid or cloid)", cancels)
        kind, wires = cancel_action_parts(self._markets(self._coins(cancels, "cancels")), cancels)
        method = self.actions.cancel_by_cloid if kind == "cancelByCloid" else self.actions.cancel
        return method(wires, wallet=wallet, vault_address=vault_address, expires_after=expires_after, timeout=timeout)

    def modify(
        self,
        oid: int | str,
        coin: str,
        is_buy: bool,
        sz: Any,
        limit_px: Any,
        *,
        tif: str = "Gtc",
        reduce_only: bool = False,
        cloid: str | int | bytes | None = None,
        trigger: TriggerSpec | Mapping[str, Any] | None = None,
        wallet: Wallet | None = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Replace order ``oid`` (order id or cloid) by a new order; sent as a one-element
        ``batchModify`` (as the official SDK does) so the result has the new order's status."""
        request = self._order_request(coin, is_buy, sz, limit_px, tif, reduce_only, cloid, trigger)
        return self.bulk_modify(
            [ModifyRequest(oid, request)],
            wallet=wallet,
            vault_address=vault_address,
            expires_after=expires_after,
            timeout=timeout,
        )

    def bulk_modify(
        self,
        modifies: Sequence[ModifyRequest],
        *,
        wallet: Wallet | None = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Modify several orders in one ``batchModify``; one status per modify."""
        modifies = self._check_list(modifies, "modifies", ModifyRequest)
        wires = self._modifies_wire(self._markets(self._coins(modifies, "modifies")), modifies)
        return self.actions.batch_modify(
            wires, wallet=wallet, vault_address=vault_address, expires_after=expires_after, timeout=timeout
        )

    def schedule_cancel(
        self,
        time: int | None = None,
        *,
        wallet: Wallet | None = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Cancel all open orders at ``time`` (ms, at least 5 s ahead); ``None`` clears the schedule."""
        return self.actions.schedule_cancel(
            time=time, wallet=wallet, vault_address=vault_address, expires_after=expires_after, timeout=timeout
        )

    def update_leverage(
        self,
        coin: str,
        leverage: int,
        *,
        is_cross: bool = True,
        wallet: Wallet | None = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Set the leverage of ``coin`` (cross margin unless ``is_cross=False``)."""
        asset = self.asset_id(coin)
        return self.actions.update_leverage(
            asset,
            _v.boolean("is_cross", is_cross),
            _v.integer("leverage", leverage, minimum=1),
            wallet=wallet,
            vault_address=vault_address,
            expires_after=expires_after,
            timeout=timeout,
        )

    def update_isolated_margin(
        self,
        coin: str,
        amount_usd: Any,
        *,
        wallet: Wallet | None = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Add (positive) or remove (negative) ``amount_usd`` USDC of isolated margin on ``coin``."""
        asset = self.asset_id(coin)
        ntli = usd_micro("amount_usd", amount_usd, signed=True)
        return self.actions.update_isolated_margin(
            asset, True, ntli, wallet=wallet, vault_address=vault_address, expires_after=expires_after, timeout=timeout
        )

    def twap_order(
        self,
        coin: str,
        is_buy: bool,
        sz: Any,
        minutes: int,
        *,
        reduce_only: bool = False,
        randomize: bool = False,
        wallet: Wallet | None = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Start a TWAP of ``sz`` over ``minutes`` (5..1440); ``statuses[0]`` is :class:`TwapRunning`."""
        coin = _v.coin("coin", coin)
        market = self.markets.market(coin)
        size = market.size_to_wire(coin, sz, field="sz")
        twap = self._twap(market.asset_id(coin), is_buy, size, minutes, reduce_only, randomize)
        return self.actions.twap_order(
            twap, wallet=wallet, vault_address=vault_address, expires_after=expires_after, timeout=timeout
        )

    def twap_cancel(
        self,
        coin: str,
        twap_id: int,
        *,
        wallet: Wallet | None = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Cancel the TWAP ``twap_id`` of ``coin``."""
        return self.actions.twap_cancel(
            self.asset_id(coin),
            _v.integer("twap_id", twap_id, minimum=0),
            wallet=wallet,
            vault_address=vault_address,
            expires_after=expires_after,
            timeout=timeout,
        )

    # ------------------------------------------------------------------ transfers
    def usd_send(
        self, destination: str, amount: Any, *, wallet: Wallet | None = None, timeout: float | None = None
    ) -> ExchangeResult:
        """Send ``amount`` USDC of perp balance to ``destination`` (signed by the account itself)."""
        return self.actions.usd_send(destination, transfer_amount("amount", amount), wallet=wallet, timeout=timeout)

    def spot_send(
        self, destination: str, token: str, amount: Any, *, wallet: Wallet | None = None, timeout: float | None = None
    ) -> ExchangeResult:
        """Send ``amount`` of spot ``token`` (``"NAME:0x<token id>"``) to ``destination``."""
        return self.actions.spot_send(
            destination, _v.string("token", token), transfer_amount("amount", amount), wallet=wallet, timeout=timeout
        )

    def withdraw(
        self, destination: str, amount: Any, *, wallet: Wallet | None = None, timeout: float | None = None
    ) -> ExchangeResult:
        """Withdraw ``amount`` USDC to ``destination`` on Arbitrum (``withdraw3``; fee about 1 USDC)."""
        return self.actions.withdraw3(destination, transfer_amount("amount", amount), wallet=wallet, timeout=timeout)

    def usd_class_transfer(
        self,
        amount: Any,
        to_perp: bool,
        *,
        vault_address: str | None = None,
        wallet: Wallet | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Move USDC between the spot and perp balances.

        For a sub-account (``vault_address``, default the sender's) the amount is sent as
        ``"<amount> subaccount:<address>"`` inside the action, as the exchange requires.
        """
        text = self._class_transfer_amount(amount, vault_address)
        return self.actions.usd_class_transfer(text, _v.boolean("to_perp", to_perp), wallet=wallet, timeout=timeout)

    def send_asset(
        self,
        destination: str,
        source_dex: str,
        destination_dex: str,
        token: str,
        amount: Any,
        *,
        from_sub_account: str | None = None,
        wallet: Wallet | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Move ``amount`` of ``token`` between dexes (``""`` = default perp dex, ``"spot"``) and accounts."""
        return self.actions.send_asset(
            destination,
            _v.string("source_dex", source_dex),
            _v.string("destination_dex", destination_dex),
            _v.string("token", token),
            transfer_amount("amount", amount),
            self._from_sub_account(from_sub_account),
            wallet=wallet,
            timeout=timeout,
        )

    def vault_transfer(
        self,
        vault: str,
        is_deposit: bool,
        amount_usd: Any,
        *,
        wallet: Wallet | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Deposit into (or withdraw from) ``vault`` ``amount_usd`` USDC."""
        return self.actions.vault_transfer(
            vault,
            _v.boolean("is_deposit", is_deposit),
            usd_micro("amount_usd", amount_usd),
            wallet=wallet,
            expires_after=expires_after,
            timeout=timeout,
        )

    def create_sub_account(
        self, name: str, *, wallet: Wallet | None = None, expires_after: int | None = None, timeout: float | None = None
    ) -> ExchangeResult:
        """Create a sub-account; ``result.data`` is its address."""
        return self.actions.create_sub_account(name, wallet=wallet, expires_after=expires_after, timeout=timeout)

    def sub_account_transfer(
        self,
        sub_account: str,
        is_deposit: bool,
        amount_usd: Any,
        *,
        wallet: Wallet | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Move ``amount_usd`` USDC (perp balance) to (``is_deposit``) or from a sub-account."""
        return self.actions.sub_account_transfer(
            sub_account,
            _v.boolean("is_deposit", is_deposit),
            usd_micro("amount_usd", amount_usd),
            wallet=wallet,
            expires_after=expires_after,
            timeout=timeout,
        )

    def sub_account_spot_transfer(
        self,
        sub_account: str,
        is_deposit: bool,
        token: str,
        amount: Any,
        *,
        wallet: Wallet | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Move ``amount`` of spot ``token`` to (``is_deposit``) or from a sub-account."""
        return self.actions.sub_account_spot_transfer(
            sub_account,
            _v.boolean("is_deposit", is_deposit),
            _v.string("token", token),
            transfer_amount("amount", amount),
            wallet=wallet,
            expires_after=expires_after,
            timeout=timeout,
        )

    # ------------------------------------------------------------------ account settings
    def approve_agent(
        self,
        agent_address: str | None = None,
        *,
        name: str | None = None,
        wallet: Wallet | None = None,
        timeout: float | None = None,
    ) -> AgentApproval:
        """Approve an agent (API wallet) to sign L1 actions for the account.

        Without ``agent_address`` a new agent wallet is generated and returned in
        :attr:`AgentApproval.agent`.  ``name`` makes it a named agent (``"<name> valid_until <ms>"``
        sets an expiry).
        """
        agent = Wallet.generate() if agent_address is None else None
        address = checksum_address(agent.address) if agent is not None else agent_address
        result = self.actions.approve_agent(address, agent_name=name, wallet=wallet, timeout=timeout)  # type: ignore[arg-type]
        return AgentApproval(result=result, agent_address=str(address), agent=agent)

    def approve_builder_fee(
        self, builder: str, max_fee_rate: str, *, wallet: Wallet | None = None, timeout: float | None = None
    ) -> ExchangeResult:
        """Allow ``builder`` to charge up to ``max_fee_rate`` (e.g. ``"0.001%"``) on orders that name it."""
        return self.actions.approve_builder_fee(fee_rate(max_fee_rate), builder, wallet=wallet, timeout=timeout)

    def set_referrer(
        self, code: str, *, wallet: Wallet | None = None, expires_after: int | None = None, timeout: float | None = None
    ) -> ExchangeResult:
        """Use referral ``code``."""
        return self.actions.set_referrer(code, wallet=wallet, expires_after=expires_after, timeout=timeout)

    def token_delegate(
        self,
        validator: str,
        wei: int,
        *,
        is_undelegate: bool = False,
        wallet: Wallet | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Delegate (or undelegate) ``wei`` of staked HYPE (8 decimals) to ``validator``."""
        return self.actions.token_delegate(
            validator,
            _v.integer("wei", wei, minimum=1),
            _v.boolean("is_undelegate", is_undelegate),
            wallet=wallet,
            timeout=timeout,
        )

    def staking_deposit(
        self, wei: int, *, wallet: Wallet | None = None, timeout: float | None = None
    ) -> ExchangeResult:
        """Move ``wei`` HYPE from spot into staking (``cDeposit``)."""
        return self.actions.c_deposit(_v.integer("wei", wei, minimum=1), wallet=wallet, timeout=timeout)

    def staking_withdraw(
        self, wei: int, *, wallet: Wallet | None = None, timeout: float | None = None
    ) -> ExchangeResult:
        """Move ``wei`` HYPE from staking back to spot (``cWithdraw``)."""
        return self.actions.c_withdraw(_v.integer("wei", wei, minimum=1), wallet=wallet, timeout=timeout)

    def convert_to_multi_sig_user(
        self,
        authorized_users: Iterable[str] | None,
        threshold: int | None,
        *,
        wallet: Wallet | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Make the account a multi-sig of ``authorized_users`` with ``threshold``
        (``None, None`` converts a multi-sig account back to a normal user)."""
        return self.actions.convert_to_multi_sig_user(
            multi_sig_signers(authorized_users, threshold), wallet=wallet, timeout=timeout
        )

    def multi_sig(
        self,
        multi_sig_user: str,
        inner_action: Mapping[str, Any],
        *,
        signers: Sequence[Wallet] = (),
        signatures: Sequence[Signature | Mapping[str, Any]] = (),
        nonce: int | None = None,
        wallet: Wallet | None = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Send ``inner_action`` for the multi-sig account ``multi_sig_user``.

        The wallet (the outer signer, an authorised user or its agent) signs the ``multiSig``
        wrapper; ``signers`` (wallets of authorised users) sign the inner action here, and/or
        ``signatures`` collected offline with :meth:`sign_multi_sig_inner` are included (then
        pass the ``nonce`` they signed).  Build the inner action with :meth:`build_action`.
        """
        outer = self.sender._wallet(wallet)
        n = self.sender.next_nonce(outer) if nonce is None else _v.integer("nonce", nonce, minimum=0)
        vault = vault_address if vault_address is not None else self.sender.vault_address
        vault = normalize_address(vault, "vault_address") if vault is not None else None
        action = self._multi_sig_action(
            multi_sig_user,
            inner_action,
            signers=signers,
            signatures=signatures,
            outer=outer,
            nonce=n,
            vault=vault,
            expires_after=expires_after,
        )
        built = self.build_action("multi_sig", action["signatureChainId"], action["signatures"], action["payload"])
        return self.sender.send(
            _endpoint("multiSig"),
            built,
            wallet=outer,
            vault_address=vault,
            expires_after=expires_after,
            timeout=timeout,
            nonce=n,
        )

    def evm_user_modify(
        self,
        using_big_blocks: bool,
        *,
        wallet: Wallet | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Use big (slow, high gas limit) or small HyperEVM blocks for this account's transactions."""
        return self.actions.evm_user_modify(
            using_big_blocks, wallet=wallet, expires_after=expires_after, timeout=timeout
        )

    def noop(
        self,
        *,
        wallet: Wallet | None = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Burn a nonce (e.g. to invalidate a signed action that may still be in flight)."""
        return self.actions.noop(
            wallet=wallet, vault_address=vault_address, expires_after=expires_after, timeout=timeout
        )

    def reserve_request_weight(
        self,
        weight: int,
        *,
        wallet: Wallet | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Buy ``weight`` extra address-based requests (paid from the perp balance)."""
        return self.actions.reserve_request_weight(
            _v.integer("weight", weight, minimum=1), wallet=wallet, expires_after=expires_after, timeout=timeout
        )

    def user_dex_abstraction(
        self, enabled: bool, *, user: str | None = None, wallet: Wallet | None = None, timeout: float | None = None
    ) -> ExchangeResult:
        """Enable or disable dex abstraction for ``user`` (default: the account)."""
        return self.actions.user_dex_abstraction(self._user(user), enabled, wallet=wallet, timeout=timeout)

    def user_set_abstraction(
        self, abstraction: str, *, user: str | None = None, wallet: Wallet | None = None, timeout: float | None = None
    ) -> ExchangeResult:
        """Set the account abstraction: ``unifiedAccount``, ``portfolioMargin`` or ``disabled``."""
        _v.check_choices("abstraction", abstraction, _ABSTRACTIONS)
        return self.actions.user_set_abstraction(self._user(user), abstraction, wallet=wallet, timeout=timeout)

    def agent_enable_dex_abstraction(
        self,
        *,
        wallet: Wallet | None = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Enable dex abstraction (signed by an agent)."""
        return self.actions.agent_enable_dex_abstraction(
            wallet=wallet, vault_address=vault_address, expires_after=expires_after, timeout=timeout
        )

    def agent_set_abstraction(
        self,
        abstraction: str,
        *,
        wallet: Wallet | None = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Set the abstraction (signed by an agent): ``"u"`` unified, ``"p"`` portfolio margin, ``"i"`` disabled."""
        _v.check_choices("abstraction", abstraction, _AGENT_ABSTRACTIONS)
        return self.actions.agent_set_abstraction(
            abstraction, wallet=wallet, vault_address=vault_address, expires_after=expires_after, timeout=timeout
        )

    def spot_deploy(
        self,
        variant: Mapping[str, Any],
        *,
        wallet: Wallet | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """One spot deployment step, e.g. ``{"registerSpot": {"tokens": [1, 0]}}`` (see the spec docs)."""
        return self.actions.spot_deploy(variant, wallet=wallet, expires_after=expires_after, timeout=timeout)

    def perp_deploy(
        self,
        variant: Mapping[str, Any],
        *,
        wallet: Wallet | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """One builder-perp deployment step (``registerAsset`` / ``setOracle``)."""
        return self.actions.perp_deploy(variant, wallet=wallet, expires_after=expires_after, timeout=timeout)

    # ------------------------------------------------------------------ uncertainty
    def resend(self, error: IndeterminateError, *, timeout: float | None = None) -> ExchangeResult:
        """Opt-in: post the same signed body of an indeterminate action again (see :meth:`ActionSender.resend`)."""
        return self.sender.resend(error, timeout=timeout)

    def resolve_indeterminate(
        self, error: IndeterminateError, *, user: str | None = None, timeout: float | None = None
    ) -> dict[str, Any]:
        """The ``orderStatus`` of each cloid of an indeterminate order action, ``{cloid: status}``.

        ``status.status == "unknownOid"`` means the order never reached the book.  ``user``
        defaults to the vault the action was for, else the account.
        """
        cloids = _status_by_cloid(error)
        who = self._indeterminate_user(error, user)
        return {c: self.info.order_status(who, c, timeout=timeout) for c in cloids}


class AsyncExchange(_ExchangeBase):
    """Asynchronous high-level exchange API; same methods as :class:`Exchange`, awaitable."""

    sender: AsyncActionSender

    def __init__(
        self, sender: AsyncActionSender, *, markets: MetadataService, info: Any, events: EventBus | None = None
    ) -> None:
        self.sender = sender
        self.markets = markets
        self.info = info
        self.events = events if events is not None else sender.events
        #: The generated wire-level builders bound to :attr:`sender`.
        self.actions = AsyncExchangeActions(sender)

    def __repr__(self) -> str:
        return f"AsyncExchange({self.sender!r})"

    async def _markets(self, coins: Iterable[str]) -> dict[str, MarketMetadata]:
        return {c: await self.markets.amarket(c) for c in coins}

    async def asset_id(self, coin: str) -> int:
        """Asset id of ``coin``."""
        coin = _v.coin("coin", coin)
        return (await self.markets.amarket(coin)).asset_id(coin)

    async def round_price(self, coin: str, px: Any, *, direction: Direction = "nearest") -> Decimal:
        """The valid price of ``coin`` nearest to ``px``."""
        coin = _v.coin("coin", coin)
        return (await self.markets.amarket(coin)).round_price(coin, px, direction=direction)

    async def round_size(self, coin: str, sz: Any, *, direction: Direction = "down") -> Decimal:
        """``sz`` rounded to whole lots of ``coin``."""
        coin = _v.coin("coin", coin)
        return (await self.markets.amarket(coin)).round_size(coin, sz, direction=direction)

    async def order(
        self,
        coin: str,
        is_buy: bool,
        sz: Any,
        limit_px: Any,
        *,
        tif: str = "Gtc",
        reduce_only: bool = False,
        cloid: str | int | bytes | None = None,
        trigger: TriggerSpec | Mapping[str, Any] | None = None,
        grouping: Any = "na",
        builder: Mapping[str, Any] | None = None,
        wallet: Wallet | None = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Async :meth:`Exchange.order`."""
        request = self._order_request(coin, is_buy, sz, limit_px, tif, reduce_only, cloid, trigger)
        return await self.bulk_orders(
            [request],
            grouping=grouping,
            builder=builder,
            wallet=wallet,
            vault_address=vault_address,
            expires_after=expires_after,
            timeout=timeout,
        )

    async def bulk_orders(
        self,
        orders: Sequence[OrderRequest],
        *,
        grouping: Any = "na",
        builder: Mapping[str, Any] | None = None,
        wallet: Wallet | None = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Async :meth:`Exchange.bulk_orders`."""
        orders = self._check_list(orders, "orders", OrderRequest)
        wires = self._orders_wire(await self._markets(self._coins(orders, "orders")), orders)
        return await self.actions.order(
            wires,
            grouping=grouping_wire(grouping),
            builder=builder_wire(builder),
            wallet=wallet,
            vault_address=vault_address,
            expires_after=expires_after,
            timeout=timeout,
        )

    async def market_order(
        self,
        coin: str,
        is_buy: bool,
        sz: Any,
        *,
        slippage: Any = 0.05,
        px: Any = None,
        reduce_only: bool = False,
        cloid: str | int | bytes | None = None,
        builder: Mapping[str, Any] | None = None,
        wallet: Wallet | None = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Async :meth:`Exchange.market_order`."""
        coin = _v.coin("coin", coin)
        market = await self.markets.amarket(coin)
        if px is None:
            reference = await self.markets.amid(coin)
            if reference is None:
                raise MetadataUnavailableError(f"no mid price for {coin!r}: pass px= as the reference price")
        else:
            reference = _reference_price(px)
        limit = market_price(market, coin, _v.boolean("is_buy", is_buy), reference, slippage)
        return await self.order(
            coin,
            is_buy,
            sz,
            limit,
            tif="Ioc",
            reduce_only=reduce_only,
            cloid=cloid,
            builder=builder,
            wallet=wallet,
            vault_address=vault_address,
            expires_after=expires_after,
            timeout=timeout,
        )

    async def cancel(
        self,
        coin: str,
        oid: int,
        *,
        wallet: Wallet | None = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Async :meth:`Exchange.cancel`."""
        if isinstance(oid, str):
            raise InvalidInputError("oid", "an integer order id (use cancel_by_cloid for client order ids)", oid)
        return await self.bulk_cancel(
            [(coin, oid)], wallet=wallet, vault_address=vault_address, expires_after=expires_after, timeout=timeout
        )

    async def cancel_by_cloid(
        self,
        coin: str,
        cloid: str,
        *,
        wallet: Wallet | None = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Async :meth:`Exchange.cancel_by_cloid`."""
        if not isinstance(cloid, str):
            raise InvalidInputError("cloid", "a client order id ('0x' + 32 lowercase hex digits)", cloid)
        return await self.bulk_cancel(
            [(coin, cloid)], wallet=wallet, vault_address=vault_address, expires_after=expires_after, timeout=timeout
        )

    async def bulk_cancel(
        self,
        cancels: Sequence[CancelRequest | tuple[str, int | str]],
        *,
        wallet: Wallet | None = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Async :meth:`Exchange.bulk_cancel`."""
        if not isinstance(cancels, list | tuple) or not cancels:
            raise InvalidInputError("cancels", "a non-empty list of (coin, oid or cloid)", cancels)
        kind, wires = cancel_action_parts(await self._markets(self._coins(cancels, "cancels")), cancels)
        method = self.actions.cancel_by_cloid if kind == "cancelByCloid" else self.actions.cancel
        return await method(
            wires, wallet=wallet, vault_address=vault_address, expires_after=expires_after, timeout=timeout
        )

    async def modify(
        self,
        oid: int | str,
        coin: str,
        is_buy: bool,
        sz: Any,
        limit_px: Any,
        *,
        tif: str = "Gtc",
        reduce_only: bool = False,
        cloid: str | int | bytes | None = None,
        trigger: TriggerSpec | Mapping[str, Any] | None = None,
        wallet: Wallet | None = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Async :meth:`Exchange.modify`."""
        request = self._order_request(coin, is_buy, sz, limit_px, tif, reduce_only, cloid, trigger)
        return await self.bulk_modify(
            [ModifyRequest(oid, request)],
            wallet=wallet,
            vault_address=vault_address,
            expires_after=expires_after,
            timeout=timeout,
        )

    async def bulk_modify(
        self,
        modifies: Sequence[ModifyRequest],
        *,
        wallet: Wallet | None = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Async :meth:`Exchange.bulk_modify`."""
        modifies = self._check_list(modifies, "modifies", ModifyRequest)
        wires = self._modifies_wire(await self._markets(self._coins(modifies, "modifies")), modifies)
        return await self.actions.batch_modify(
            wires, wallet=wallet, vault_address=vault_address, expires_after=expires_after, timeout=timeout
        )

    async def schedule_cancel(
        self,
        time: int | None = None,
        *,
        wallet: Wallet | None = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Async :meth:`Exchange.schedule_cancel`."""
        return await self.actions.schedule_cancel(
            time=time, wallet=wallet, vault_address=vault_address, expires_after=expires_after, timeout=timeout
        )

    async def update_leverage(
        self,
        coin: str,
        leverage: int,
        *,
        is_cross: bool = True,
        wallet: Wallet | None = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Async :meth:`Exchange.update_leverage`."""
        asset = await self.asset_id(coin)
        return await self.actions.update_leverage(
            asset,
            _v.boolean("is_cross", is_cross),
            _v.integer("leverage", leverage, minimum=1),
            wallet=wallet,
            vault_address=vault_address,
            expires_after=expires_after,
            timeout=timeout,
        )

    async def update_isolated_margin(
        self,
        coin: str,
        amount_usd: Any,
        *,
        wallet: Wallet | None = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Async :meth:`Exchange.update_isolated_margin`."""
        asset = await self.asset_id(coin)
        ntli = usd_micro("amount_usd", amount_usd, signed=True)
        return await self.actions.update_isolated_margin(
            asset, True, ntli, wallet=wallet, vault_address=vault_address, expires_after=expires_after, timeout=timeout
        )

    async def twap_order(
        self,
        coin: str,
        is_buy: bool,
        sz: Any,
        minutes: int,
        *,
        reduce_only: bool = False,
        randomize: bool = False,
        wallet: Wallet | None = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Async :meth:`Exchange.twap_order`."""
        coin = _v.coin("coin", coin)
        market = await self.markets.amarket(coin)
        size = market.size_to_wire(coin, sz, field="sz")
        twap = self._twap(market.asset_id(coin), is_buy, size, minutes, reduce_only, randomize)
        return await self.actions.twap_order(
            twap, wallet=wallet, vault_address=vault_address, expires_after=expires_after, timeout=timeout
        )

    async def twap_cancel(
        self,
        coin: str,
        twap_id: int,
        *,
        wallet: Wallet | None = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Async :meth:`Exchange.twap_cancel`."""
        return await self.actions.twap_cancel(
            await self.asset_id(coin),
            _v.integer("twap_id", twap_id, minimum=0),
            wallet=wallet,
            vault_address=vault_address,
            expires_after=expires_after,
            timeout=timeout,
        )

    async def usd_send(
        self, destination: str, amount: Any, *, wallet: Wallet | None = None, timeout: float | None = None
    ) -> ExchangeResult:
        """Async :meth:`Exchange.usd_send`."""
        return await self.actions.usd_send(
            destination, transfer_amount("amount", amount), wallet=wallet, timeout=timeout
        )

    async def spot_send(
        self, destination: str, token: str, amount: Any, *, wallet: Wallet | None = None, timeout: float | None = None
    ) -> ExchangeResult:
        """Async :meth:`Exchange.spot_send`."""
        return await self.actions.spot_send(
            destination, _v.string("token", token), transfer_amount("amount", amount), wallet=wallet, timeout=timeout
        )

    async def withdraw(
        self, destination: str, amount: Any, *, wallet: Wallet | None = None, timeout: float | None = None
    ) -> ExchangeResult:
        """Async :meth:`Exchange.withdraw`."""
        return await self.actions.withdraw3(
            destination, transfer_amount("amount", amount), wallet=wallet, timeout=timeout
        )

    async def usd_class_transfer(
        self,
        amount: Any,
        to_perp: bool,
        *,
        vault_address: str | None = None,
        wallet: Wallet | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Async :meth:`Exchange.usd_class_transfer`."""
        text = self._class_transfer_amount(amount, vault_address)
        return await self.actions.usd_class_transfer(
            text, _v.boolean("to_perp", to_perp), wallet=wallet, timeout=timeout
        )

    async def send_asset(
        self,
        destination: str,
        source_dex: str,
        destination_dex: str,
        token: str,
        amount: Any,
        *,
        from_sub_account: str | None = None,
        wallet: Wallet | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Async :meth:`Exchange.send_asset`."""
        return await self.actions.send_asset(
            destination,
            _v.string("source_dex", source_dex),
            _v.string("destination_dex", destination_dex),
            _v.string("token", token),
            transfer_amount("amount", amount),
            self._from_sub_account(from_sub_account),
            wallet=wallet,
            timeout=timeout,
        )

    async def vault_transfer(
        self,
        vault: str,
        is_deposit: bool,
        amount_usd: Any,
        *,
        wallet: Wallet | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Async :meth:`Exchange.vault_transfer`."""
        return await self.actions.vault_transfer(
            vault,
            _v.boolean("is_deposit", is_deposit),
            usd_micro("amount_usd", amount_usd),
            wallet=wallet,
            expires_after=expires_after,
            timeout=timeout,
        )

    async def create_sub_account(
        self, name: str, *, wallet: Wallet | None = None, expires_after: int | None = None, timeout: float | None = None
    ) -> ExchangeResult:
        """Async :meth:`Exchange.create_sub_account`."""
        return await self.actions.create_sub_account(name, wallet=wallet, expires_after=expires_after, timeout=timeout)

    async def sub_account_transfer(
        self,
        sub_account: str,
        is_deposit: bool,
        amount_usd: Any,
        *,
        wallet: Wallet | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Async :meth:`Exchange.sub_account_transfer`."""
        return await self.actions.sub_account_transfer(
            sub_account,
            _v.boolean("is_deposit", is_deposit),
            usd_micro("amount_usd", amount_usd),
            wallet=wallet,
            expires_after=expires_after,
            timeout=timeout,
        )

    async def sub_account_spot_transfer(
        self,
        sub_account: str,
        is_deposit: bool,
        token: str,
        amount: Any,
        *,
        wallet: Wallet | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Async :meth:`Exchange.sub_account_spot_transfer`."""
        return await self.actions.sub_account_spot_transfer(
            sub_account,
            _v.boolean("is_deposit", is_deposit),
            _v.string("token", token),
            transfer_amount("amount", amount),
            wallet=wallet,
            expires_after=expires_after,
            timeout=timeout,
        )

    async def approve_agent(
        self,
        agent_address: str | None = None,
        *,
        name: str | None = None,
        wallet: Wallet | None = None,
        timeout: float | None = None,
    ) -> AgentApproval:
        """Async :meth:`Exchange.approve_agent`."""
        agent = Wallet.generate() if agent_address is None else None
        address = checksum_address(agent.address) if agent is not None else agent_address
        result = await self.actions.approve_agent(address, agent_name=name, wallet=wallet, timeout=timeout)  # type: ignore[arg-type]
        return AgentApproval(result=result, agent_address=str(address), agent=agent)

    async def approve_builder_fee(
        self, builder: str, max_fee_rate: str, *, wallet: Wallet | None = None, timeout: float | None = None
    ) -> ExchangeResult:
        """Async :meth:`Exchange.approve_builder_fee`."""
        return await self.actions.approve_builder_fee(fee_rate(max_fee_rate), builder, wallet=wallet, timeout=timeout)

    async def set_referrer(
        self, code: str, *, wallet: Wallet | None = None, expires_after: int | None = None, timeout: float | None = None
    ) -> ExchangeResult:
        """Async :meth:`Exchange.set_referrer`."""
        return await self.actions.set_referrer(code, wallet=wallet, expires_after=expires_after, timeout=timeout)

    async def token_delegate(
        self,
        validator: str,
        wei: int,
        *,
        is_undelegate: bool = False,
        wallet: Wallet | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Async :meth:`Exchange.token_delegate`."""
        return await self.actions.token_delegate(
            validator,
            _v.integer("wei", wei, minimum=1),
            _v.boolean("is_undelegate", is_undelegate),
            wallet=wallet,
            timeout=timeout,
        )

    async def staking_deposit(
        self, wei: int, *, wallet: Wallet | None = None, timeout: float | None = None
    ) -> ExchangeResult:
        """Async :meth:`Exchange.staking_deposit`."""
        return await self.actions.c_deposit(_v.integer("wei", wei, minimum=1), wallet=wallet, timeout=timeout)

    async def staking_withdraw(
        self, wei: int, *, wallet: Wallet | None = None, timeout: float | None = None
    ) -> ExchangeResult:
        """Async :meth:`Exchange.staking_withdraw`."""
        return await self.actions.c_withdraw(_v.integer("wei", wei, minimum=1), wallet=wallet, timeout=timeout)

    async def convert_to_multi_sig_user(
        self,
        authorized_users: Iterable[str] | None,
        threshold: int | None,
        *,
        wallet: Wallet | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Async :meth:`Exchange.convert_to_multi_sig_user`."""
        return await self.actions.convert_to_multi_sig_user(
            multi_sig_signers(authorized_users, threshold), wallet=wallet, timeout=timeout
        )

    async def multi_sig(
        self,
        multi_sig_user: str,
        inner_action: Mapping[str, Any],
        *,
        signers: Sequence[Wallet] = (),
        signatures: Sequence[Signature | Mapping[str, Any]] = (),
        nonce: int | None = None,
        wallet: Wallet | None = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Async :meth:`Exchange.multi_sig`."""
        outer = self.sender._wallet(wallet)
        n = self.sender.next_nonce(outer) if nonce is None else _v.integer("nonce", nonce, minimum=0)
        vault = vault_address if vault_address is not None else self.sender.vault_address
        vault = normalize_address(vault, "vault_address") if vault is not None else None
        action = self._multi_sig_action(
            multi_sig_user,
            inner_action,
            signers=signers,
            signatures=signatures,
            outer=outer,
            nonce=n,
            vault=vault,
            expires_after=expires_after,
        )
        built = self.build_action("multi_sig", action["signatureChainId"], action["signatures"], action["payload"])
        return await self.sender.send(
            _endpoint("multiSig"),
            built,
            wallet=outer,
            vault_address=vault,
            expires_after=expires_after,
            timeout=timeout,
            nonce=n,
        )

    async def evm_user_modify(
        self,
        using_big_blocks: bool,
        *,
        wallet: Wallet | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Async :meth:`Exchange.evm_user_modify`."""
        return await self.actions.evm_user_modify(
            using_big_blocks, wallet=wallet, expires_after=expires_after, timeout=timeout
        )

    async def noop(
        self,
        *,
        wallet: Wallet | None = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Async :meth:`Exchange.noop`."""
        return await self.actions.noop(
            wallet=wallet, vault_address=vault_address, expires_after=expires_after, timeout=timeout
        )

    async def reserve_request_weight(
        self,
        weight: int,
        *,
        wallet: Wallet | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Async :meth:`Exchange.reserve_request_weight`."""
        return await self.actions.reserve_request_weight(
            _v.integer("weight", weight, minimum=1), wallet=wallet, expires_after=expires_after, timeout=timeout
        )

    async def user_dex_abstraction(
        self, enabled: bool, *, user: str | None = None, wallet: Wallet | None = None, timeout: float | None = None
    ) -> ExchangeResult:
        """Async :meth:`Exchange.user_dex_abstraction`."""
        return await self.actions.user_dex_abstraction(self._user(user), enabled, wallet=wallet, timeout=timeout)

    async def user_set_abstraction(
        self, abstraction: str, *, user: str | None = None, wallet: Wallet | None = None, timeout: float | None = None
    ) -> ExchangeResult:
        """Async :meth:`Exchange.user_set_abstraction`."""
        _v.check_choices("abstraction", abstraction, _ABSTRACTIONS)
        return await self.actions.user_set_abstraction(self._user(user), abstraction, wallet=wallet, timeout=timeout)

    async def agent_enable_dex_abstraction(
        self,
        *,
        wallet: Wallet | None = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Async :meth:`Exchange.agent_enable_dex_abstraction`."""
        return await self.actions.agent_enable_dex_abstraction(
            wallet=wallet, vault_address=vault_address, expires_after=expires_after, timeout=timeout
        )

    async def agent_set_abstraction(
        self,
        abstraction: str,
        *,
        wallet: Wallet | None = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Async :meth:`Exchange.agent_set_abstraction`."""
        _v.check_choices("abstraction", abstraction, _AGENT_ABSTRACTIONS)
        return await self.actions.agent_set_abstraction(
            abstraction, wallet=wallet, vault_address=vault_address, expires_after=expires_after, timeout=timeout
        )

    async def spot_deploy(
        self,
        variant: Mapping[str, Any],
        *,
        wallet: Wallet | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Async :meth:`Exchange.spot_deploy`."""
        return await self.actions.spot_deploy(variant, wallet=wallet, expires_after=expires_after, timeout=timeout)

    async def perp_deploy(
        self,
        variant: Mapping[str, Any],
        *,
        wallet: Wallet | None = None,
        expires_after: int | None = None,
        timeout: float | None = None,
    ) -> ExchangeResult:
        """Async :meth:`Exchange.perp_deploy`."""
        return await self.actions.perp_deploy(variant, wallet=wallet, expires_after=expires_after, timeout=timeout)

    async def resend(self, error: IndeterminateError, *, timeout: float | None = None) -> ExchangeResult:
        """Async :meth:`Exchange.resend`."""
        return await self.sender.resend(error, timeout=timeout)

    async def resolve_indeterminate(
        self, error: IndeterminateError, *, user: str | None = None, timeout: float | None = None
    ) -> dict[str, Any]:
        """Async :meth:`Exchange.resolve_indeterminate`."""
        cloids = _status_by_cloid(error)
        who = self._indeterminate_user(error, user)
        return {c: await self.info.order_status(who, c, timeout=timeout) for c in cloids}
