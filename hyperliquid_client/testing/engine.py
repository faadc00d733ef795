"""The fake exchange's ``/exchange`` engine: signed actions, accounts and per-asset matching.

:class:`ExchangeEngine` answers a validated ``/exchange`` body the way the real server does
(https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/exchange-endpoint):
it recovers the signer (:mod:`hyperliquid_client.testing.auth`), maps it to an
account (approved agents act for their master; ``vaultAddress`` acts for a sub-account or vault
the account controls; a ``multiSig`` action acts for its multi-sig user once the outer and
inner signatures check out), applies the nonce rules, then executes the action against per-user
accounts and one price-time :class:`~hyperliquid_client.testing.book.Book` per asset, writing the
wire-shaped :class:`~hyperliquid_client.testing.state.ExchangeState` (read by ``/info``) and
:class:`~hyperliquid_client.testing.market.MarketData` (books, mids) and publishing ``orderUpdates``,
``userFills``, ``userEvents`` (channel ``user``), ``trades``, ``l2Book``, ``bbo``, ``allMids``,
``clearinghouseState``, ``openOrders``, ``spotState`` and ledger updates.

Everything runs under one lock (``state.lock``) and is deterministic.  What is simplified is
listed in ``docs/testing.md`` ("Trading").
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import attrs

from hyperliquid_client.runtime.log import get_logger, log
from hyperliquid_client.runtime.registry import key_order_problem
from hyperliquid_client.runtime.signing._keccak import keccak256
from hyperliquid_client.testing.auth import (
    DAY_MS,
    NonceBook,
    Rejected,
    action_spec,
    recover_multi_sig_inner_signer,
    recover_multi_sig_outer_signer,
    recover_signer,
)
from hyperliquid_client.testing.book import Book, BookOrder, Match, price_is_valid, size_is_valid
from hyperliquid_client.testing.handlers import Undeserializable
from hyperliquid_client.testing.market import MarketData, fmt_decimal, now_ms
from hyperliquid_client.testing.state import ExchangeState

__all__ = [
    "HOUSE_ADDRESS",
    "MISSING_ORDER",
    "Account",
    "Agent",
    "ExchangeEngine",
    "MultiSigConfig",
    "Position",
]

_log = get_logger("hyperliquid_client.testing.engine")

#: The counterparty of the anonymous seeded liquidity (``users`` of trades against it).
HOUSE_ADDRESS = "0x0000000000000000000000000000000000000000"
MISSING_ORDER = "Order was never placed, already canceled, or filled."
MISSING_TWAP = "TWAP was never placed, already canceled, or filled."
IOC_CANCEL = "Order could not immediately match against any resting orders."
TICK = "Price must be divisible by tick size."
REDUCE_ONLY = "Reduce only order would increase position."
MIN_NOTIONAL = Decimal(10)
PERP_TAKER_FEE = Decimal("0.00045")
PERP_MAKER_FEE = Decimal("0.00015")
SPOT_TAKER_FEE = Decimal("0.0007")
SPOT_MAKER_FEE = Decimal("0.0004")
DEFAULT_LEVERAGE = 20
AGENT_VALIDITY_MS = 180 * DAY_MS
MAX_TRIGGER_ROUNDS = 50
#: Most authorized users a multi-sig user may have.
MAX_MULTI_SIG_USERS = 10
MULTI_SIG_DIRECT = "User {user} is a multi-sig user: its actions must be sent as multiSig actions."

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_CLOID = re.compile(r"^0x[0-9a-fA-F]{32}$")
_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
_TIFS = ("Gtc", "Ioc", "Alo", "FrontendMarket", "LiquidationMarket")
_USD6 = Decimal("0.000001")
_PX8 = Decimal("0.00000001")
_ZERO = Decimal(0)
#: the list of a batch action, whose length is the number of address requests it counts
_BATCH_KEYS = {"order": "orders", "cancel": "cancels", "cancelByCloid": "cancels", "batchModify": "modifies"}
_CANCEL_TYPES = frozenset({"cancel", "cancelByCloid", "scheduleCancel", "twapCancel"})
_FUNDING_ZERO = {"allTime": "0.0", "sinceOpen": "0.0", "sinceChange": "0.0"}


def _usd(value: Decimal) -> str:
    return fmt_decimal(value.quantize(_USD6))


def _px(value: Decimal) -> str:
    return fmt_decimal(value.quantize(_PX8))


def _ok(response_type: str, data: Any = None) -> dict[str, Any]:
    response: dict[str, Any] = {"type": response_type}
    if data is not None:
        response["data"] = data
    return {"status": "ok", "response": response}


# ================================================================ model
@attrs.define
class Position:
    """A one-way perp position: signed size and average entry price."""

    szi: Decimal = _ZERO
    entry_px: Decimal = _ZERO


@attrs.define
class Account:
    """Balances of one user, sub-account or vault.

    ``usdc`` is the perp account's cash (raw USD, realised PnL and fees included); ``spot``
    maps token names to totals; ``kind`` is ``"user"``, ``"subAccount"`` or ``"vault"``.
    """

    address: str
    kind: str = "user"
    usdc: Decimal = _ZERO
    spot: dict[str, Decimal] = attrs.field(factory=dict)
    positions: dict[str, Position] = attrs.field(factory=dict)
    leverage: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    master: str | None = None
    name: str | None = None
    scheduled_cancel: int | None = None
    builder_fees: dict[str, int] = attrs.field(factory=dict)

    def is_empty(self) -> bool:
        """True when nothing was ever deposited (no cash, no tokens, no position)."""
        return (
            self.usdc == 0
            and not any(v > 0 for v in self.spot.values())
            and not any(p.szi != 0 for p in self.positions.values())
        )


@attrs.define
class Agent:
    """An approved API wallet: signs L1 actions for ``master`` until ``valid_until`` (ms)."""

    address: str
    master: str
    name: str
    valid_until: int


@attrs.frozen
class MultiSigConfig:
    """The signers of a multi-sig user: lowercase ``authorized_users`` (sorted) and ``threshold``."""

    authorized_users: tuple[str, ...]
    threshold: int


@attrs.frozen
class _MultiSigParts:
    """A parsed ``multiSig`` action: the payload's addresses, the inner action and signatures."""

    user: str
    outer_signer: str
    action: dict[str, Any]
    spec: Any
    parsed: Any
    signatures: list[dict[str, Any]]


@attrs.frozen
class _Market:
    coin: str
    asset: int
    sz_decimals: int
    spot: bool
    max_leverage: int
    base: str
    quote: str


@attrs.define
class _Order:
    """A parsed order wire (``trigger_px`` set for trigger orders)."""

    asset: int
    is_buy: bool
    px: Decimal
    sz: Decimal
    reduce_only: bool
    tif: str | None
    cloid: str | None
    trigger_px: Decimal | None = None
    is_market: bool = False
    tpsl: str | None = None


@attrs.define(eq=False)
class _Trigger:
    oid: int
    user: str
    market: _Market
    order: _Order
    record: dict[str, Any]
    group: int | None = None


@attrs.define
class _Ctx:
    signer: str
    account: str
    acting: str
    nonce: int
    time: int
    hash: str


@attrs.define
class _Events:
    """What an action changed, published together at its end."""

    coins: set[str] = attrs.field(factory=set)
    users: set[str] = attrs.field(factory=set)
    fills: dict[str, list[dict[str, Any]]] = attrs.field(factory=dict)
    trades: dict[str, list[dict[str, Any]]] = attrs.field(factory=dict)
    marks: dict[str, list[Decimal]] = attrs.field(factory=dict)
    mids_changed: bool = False


# ================================================================ parsing (422 on bad shapes)
def _field(obj: Mapping[str, Any], name: str, where: str) -> Any:
    if name not in obj or obj[name] is None:
        raise Undeserializable(f"missing field `{name}` in `{where}`")
    return obj[name]


def _int_field(obj: Mapping[str, Any], name: str, where: str, *, signed: bool = False) -> int:
    value = _field(obj, name, where)
    if not isinstance(value, int) or isinstance(value, bool) or (value < 0 and not signed):
        raise Undeserializable(f"invalid type for `{where}.{name}`: expected an integer")
    return value


def _bool_field(obj: Mapping[str, Any], name: str, where: str) -> bool:
    value = _field(obj, name, where)
    if not isinstance(value, bool):
        raise Undeserializable(f"invalid type for `{where}.{name}`: expected a boolean")
    return value


def _str_field(obj: Mapping[str, Any], name: str, where: str) -> str:
    value = _field(obj, name, where)
    if not isinstance(value, str):
        raise Undeserializable(f"invalid type for `{where}.{name}`: expected a string")
    return value


def _num_field(obj: Mapping[str, Any], name: str, where: str) -> Decimal:
    value = _str_field(obj, name, where)
    if not _NUMBER.match(value):
        raise Undeserializable(f"invalid value for `{where}.{name}`: expected a decimal string")
    return Decimal(value)


def _addr_field(obj: Mapping[str, Any], name: str, where: str) -> str:
    value = _str_field(obj, name, where)
    if not _ADDRESS.match(value):
        raise Undeserializable(f"invalid value for `{where}.{name}`: expected an address")
    return value.lower()


def _cloid(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _CLOID.match(value):
        raise Undeserializable(f"invalid value for `{where}`: expected a cloid (0x + 32 hex)")
    return value.lower()


def parse_order(wire: Any, where: str = "order") -> _Order:
    """Parse one order wire ``{a, b, p, s, r, t, c?}``; raises :class:`Undeserializable`."""
    if not isinstance(wire, dict):
        raise Undeserializable(f"invalid type for `{where}`: expected an object")
    kind = _field(wire, "t", where)
    if not isinstance(kind, dict) or ("limit" not in kind and "trigger" not in kind):
        raise Undeserializable(f"invalid value for `{where}.t`: expected limit or trigger")
    order = _Order(
        asset=_int_field(wire, "a", where),
        is_buy=_bool_field(wire, "b", where),
        px=_num_field(wire, "p", where),
        sz=_num_field(wire, "s", where),
        reduce_only=_bool_field(wire, "r", where),
        tif=None,
        cloid=_cloid(wire["c"], where + ".c") if wire.get("c") is not None else None,
    )
    if "limit" in kind:
        limit = kind["limit"]
        tif = limit.get("tif") if isinstance(limit, dict) else None
        if tif not in _TIFS:
            raise Undeserializable(f"unknown variant `{tif}` for `{where}.t.limit.tif`")
        order.tif = tif
    else:
        trigger = kind["trigger"]
        if not isinstance(trigger, dict):
            raise Undeserializable(f"invalid type for `{where}.t.trigger`")
        order.is_market = _bool_field(trigger, "isMarket", where + ".t.trigger")
        order.trigger_px = _num_field(trigger, "triggerPx", where + ".t.trigger")
        tpsl = trigger.get("tpsl")
        if tpsl not in ("tp", "sl"):
            raise Undeserializable(f"unknown variant `{tpsl}` for `{where}.t.trigger.tpsl`")
        order.tpsl = tpsl
    return order


def _list_field(action: Mapping[str, Any], name: str) -> list[Any]:
    value = _field(action, name, "action")
    if not isinstance(value, list):
        raise Undeserializable(f"invalid type for `action.{name}`: expected a list")
    return value


def _oid_or_cloid(value: Any, where: str) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return _cloid(value, where)


def _parse_action(action: Mapping[str, Any]) -> Any:
    """Shape checks of the actions the engine executes (422 on failure); returns parsed parts."""
    type_ = action["type"]
    if type_ == "order":
        orders = [parse_order(o, f"action.orders[{i}]") for i, o in enumerate(_list_field(action, "orders"))]
        grouping = action.get("grouping", "na")
        if grouping not in ("na", "normalTpsl", "positionTpsl") and not isinstance(grouping, dict):
            raise Undeserializable(f"unknown variant `{grouping}` for `action.grouping`")
        builder = action.get("builder")
        if builder is not None:
            if not isinstance(builder, dict):
                raise Undeserializable("invalid type for `action.builder`")
            builder = (_addr_field(builder, "b", "action.builder"), _int_field(builder, "f", "action.builder"))
        return orders, grouping, builder
    if type_ == "cancel":
        return [
            (_int_field(c, "a", "action.cancels"), _int_field(c, "o", "action.cancels"))
            if isinstance(c, dict)
            else _bad("action.cancels")
            for c in _list_field(action, "cancels")
        ]
    if type_ == "cancelByCloid":
        return [
            (_int_field(c, "asset", "action.cancels"), _cloid(c.get("cloid"), "action.cancels.cloid"))
            if isinstance(c, dict)
            else _bad("action.cancels")
            for c in _list_field(action, "cancels")
        ]
    if type_ == "modify":
        return [(_oid_or_cloid(_field(action, "oid", "action"), "action.oid"), parse_order(action.get("order")))]
    if type_ == "batchModify":
        out = []
        for i, m in enumerate(_list_field(action, "modifies")):
            where = f"action.modifies[{i}]"
            if not isinstance(m, dict):
                _bad(where)
            out.append((_oid_or_cloid(_field(m, "oid", where), where + ".oid"), parse_order(m.get("order"), where)))
        return out
    if type_ == "scheduleCancel":
        return _int_field(action, "time", "action") if action.get("time") is not None else None
    if type_ == "updateLeverage":
        return (
            _int_field(action, "asset", "action"),
            _bool_field(action, "isCross", "action"),
            _int_field(action, "leverage", "action"),
        )
    if type_ == "updateIsolatedMargin":
        return (
            _int_field(action, "asset", "action"),
            _bool_field(action, "isBuy", "action"),
            _int_field(action, "ntli", "action", signed=True),
        )
    if type_ == "twapOrder":
        twap = _field(action, "twap", "action")
        if not isinstance(twap, dict):
            _bad("action.twap")
        return (
            _int_field(twap, "a", "twap"),
            _bool_field(twap, "b", "twap"),
            _num_field(twap, "s", "twap"),
            _bool_field(twap, "r", "twap"),
            _int_field(twap, "m", "twap"),
            _bool_field(twap, "t", "twap"),
        )
    if type_ == "twapCancel":
        return _int_field(action, "a", "action"), _int_field(action, "t", "action")
    if type_ in ("usdSend", "withdraw3"):
        return _str_field(action, "destination", "action"), _num_field(action, "amount", "action")
    if type_ == "spotSend":
        return (
            _str_field(action, "destination", "action"),
            _str_field(action, "token", "action"),
            _num_field(action, "amount", "action"),
        )
    if type_ == "usdClassTransfer":
        return _str_field(action, "amount", "action"), _bool_field(action, "toPerp", "action")
    if type_ == "subAccountTransfer":
        return (
            _addr_field(action, "subAccountUser", "action"),
            _bool_field(action, "isDeposit", "action"),
            _int_field(action, "usd", "action"),
        )
    if type_ == "subAccountSpotTransfer":
        return (
            _addr_field(action, "subAccountUser", "action"),
            _bool_field(action, "isDeposit", "action"),
            _str_field(action, "token", "action"),
            _num_field(action, "amount", "action"),
        )
    if type_ == "vaultTransfer":
        return (
            _addr_field(action, "vaultAddress", "action"),
            _bool_field(action, "isDeposit", "action"),
            _int_field(action, "usd", "action"),
        )
    if type_ == "createSubAccount":
        return _str_field(action, "name", "action")
    if type_ == "createVault":
        return _str_field(action, "name", "action"), _int_field(action, "initialUsd", "action")
    if type_ == "approveAgent":
        name = action.get("agentName")
        if name is not None and not isinstance(name, str):
            _bad("action.agentName")
        return _addr_field(action, "agentAddress", "action"), name or ""
    if type_ == "approveBuilderFee":
        rate = _str_field(action, "maxFeeRate", "action")
        match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)%", rate)
        if match is None:
            raise Undeserializable("invalid value for `action.maxFeeRate`: expected a percentage like 0.001%")
        return _addr_field(action, "builder", "action"), Decimal(match.group(1))
    return None


def _bad(where: str) -> Any:
    raise Undeserializable(f"invalid type for `{where}`: expected an object")


def _parse_multi_sig(action: Mapping[str, Any]) -> _MultiSigParts:
    """Shape checks of a ``multiSig`` action and of the action it wraps (422 on failure)."""
    payload = _field(action, "payload", "action")
    if not isinstance(payload, dict):
        _bad("action.payload")
    user = _addr_field(payload, "multiSigUser", "action.payload")
    outer = _addr_field(payload, "outerSigner", "action.payload")
    inner = _field(payload, "action", "action.payload")
    if not isinstance(inner, dict):
        _bad("action.payload.action")
    inner_type = inner.get("type")
    if not isinstance(inner_type, str):
        raise Undeserializable("missing field `type` in `action.payload.action`")
    spec = action_spec(inner_type)
    if spec is None:
        raise Undeserializable(f"unknown variant `{inner_type}` for `action.payload.action.type`")
    signatures = _list_field(action, "signatures")
    for i, sig in enumerate(signatures):
        where = f"action.signatures[{i}]"
        if not isinstance(sig, dict):
            _bad(where)
        _str_field(sig, "r", where)
        _str_field(sig, "s", where)
        _int_field(sig, "v", where)
    parsed = _parse_action(inner) if spec.signing != "multi_sig" else None
    return _MultiSigParts(user, outer, inner, spec, parsed, signatures)


def _key_order(spec: Any, action: Mapping[str, Any]) -> str | None:
    """Refuse a hashed action whose keys are not in the spec's order (msgpack hashes them in the order
    sent; the real exchange hashes its own order and would recover an unrelated signer)."""
    if spec.signing == "user_signed":
        return None  # an EIP-712 signature does not depend on JSON key order
    problem = key_order_problem(spec.action_shape, action)
    if problem is None and spec.signing == "multi_sig":
        inner = action["payload"]["action"]
        inner_spec = action_spec(inner["type"])  # known: the shape checks passed
        problem = key_order_problem(getattr(inner_spec, "action_shape", None), inner, "action.payload.action")
    if problem is None:
        return None
    return f"Action keys out of the exchange's order ({problem}): the signature cannot match."


def _parse_signers(text: Any) -> MultiSigConfig | None:
    """The ``signers`` string of ``convertToMultiSigUser`` (``"null"`` → ``None``); raises
    :class:`Rejected` with our texts when it is not valid."""
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        value = text
    if value is None:
        return None
    users = value.get("authorizedUsers") if isinstance(value, dict) else None
    threshold = value.get("threshold") if isinstance(value, dict) else None
    if (
        not isinstance(users, list)
        or not all(isinstance(u, str) and _ADDRESS.match(u) for u in users)
        or not isinstance(threshold, int)
        or isinstance(threshold, bool)
    ):
        raise Rejected('Invalid multi-sig signers: expected {"authorizedUsers": [addresses], "threshold": n} or null.')
    lowered = sorted({u.lower() for u in users})
    if len(lowered) != len(users):
        raise Rejected("Invalid multi-sig signers: duplicate authorized user.")
    if not 1 <= len(lowered) <= MAX_MULTI_SIG_USERS:
        raise Rejected(f"Invalid multi-sig signers: between 1 and {MAX_MULTI_SIG_USERS} authorized users required.")
    if not 1 <= threshold <= len(lowered):
        raise Rejected(f"Invalid multi-sig threshold {threshold}: must be between 1 and {len(lowered)}.")
    return MultiSigConfig(tuple(lowered), threshold)


# ================================================================ engine
class ExchangeEngine:
    """Executes signed ``/exchange`` actions (see the module docstring).

    Args:
        market: the market data (books are imported from and written back to it).
        state: the per-user wire state (``/info`` reads it); its ``publisher`` sends WS data.
        chain: ``"Testnet"`` (L1 source ``b``, user-signed ``hyperliquidChain`` ``Testnet``) or
            ``"Mainnet"``; signatures for the other chain recover an unrelated address.
        nonce_window: nonces kept per signer (100 on the real exchange).
        clock: current time in ms (nonce window, ``expiresAfter``, timestamps, scheduled cancels).
    """

    def __init__(
        self,
        market: MarketData,
        state: ExchangeState,
        *,
        chain: str = "Testnet",
        nonce_window: int = 100,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        if chain not in ("Mainnet", "Testnet"):
            raise ValueError('chain must be "Mainnet" or "Testnet"')
        self.market = market
        self.state = state
        self.chain = chain
        self.clock = clock
        self.lock = state.lock
        self.nonces = NonceBook(nonce_window)
        self.accounts: dict[str, Account] = {}
        self.agents: dict[str, Agent] = {}
        #: Multi-sig users (lowercase address) and their signers.
        self.multi_sigs: dict[str, MultiSigConfig] = {}
        self.books: dict[str, Book] = {}
        self._written: dict[str, Any] = {}
        self.triggers: dict[str, list[_Trigger]] = {}
        self._pending_children: dict[int, list[_Trigger]] = {}
        self._twaps: dict[int, tuple[str, dict[str, Any]]] = {}
        self._next_twap = 0
        self._next_group = 0
        self._over_at: dict[str, int] = {}
        self.trades: dict[str, list[dict[str, Any]]] = {}
        market.add_mid_listener(self._on_mid)

    # ------------------------------------------------------------ public helpers
    def fund(self, address: str, usdc: Decimal | str | int = 0, *, spot: Mapping[str, Any] | None = None) -> None:
        """Deposit ``usdc`` into ``address``'s perp account and ``spot`` token amounts (by name).

        Creates the account (so its signatures are accepted).  ``fund(addr)`` with nothing makes
        a known but empty account ("Must deposit before performing actions").
        """
        key = address.lower()
        amount = Decimal(str(usdc))
        with self.lock:
            acct = self._account(key)
            acct.usdc += amount
            for token, value in (spot or {}).items():
                acct.spot[token] = acct.spot.get(token, _ZERO) + Decimal(str(value))
            if amount:
                self._ledger(key, {"type": "deposit", "usdc": _usd(amount)}, self.clock(), "0x" + "0" * 64)
            self._sync(key)

    def account(self, address: str) -> Account | None:
        """The engine's account record for ``address`` (``None`` when unknown)."""
        with self.lock:
            return self.accounts.get(address.lower())

    def position(self, address: str, coin: str) -> Decimal:
        """Signed perp position size of ``address`` in ``coin`` (0 when none)."""
        with self.lock:
            acct = self.accounts.get(address.lower())
            pos = acct.positions.get(coin) if acct is not None else None
            return pos.szi if pos is not None else _ZERO

    def run_scheduled(self) -> int:
        """Apply due ``scheduleCancel`` deadlines now; returns how many orders were canceled."""
        with self.lock:
            return self._run_scheduled(self.clock())

    # ------------------------------------------------------------ entry point
    def handle(self, body: dict[str, Any]) -> dict[str, Any]:
        """Answer a ``/exchange`` body whose envelope was validated (422s raise Undeserializable)."""
        action = body["action"]
        spec = action_spec(action["type"])
        if spec is None:
            raise Undeserializable(f"unknown variant `{action['type']}`")
        parsed = _parse_multi_sig(action) if spec.signing == "multi_sig" else _parse_action(action)
        problem = _key_order(spec, action)
        if problem is not None:
            return {"status": "err", "response": problem}
        with self.lock:
            try:
                return self._handle(body, spec, parsed)
            except Rejected as rejected:
                log(_log, 10, "action rejected", action=action["type"], reason=rejected.text)
                return {"status": "err", "response": rejected.text}

    def _handle(self, body: dict[str, Any], spec: Any, parsed: Any) -> dict[str, Any]:
        action = body["action"]
        now = self.clock()
        self._run_scheduled(now)
        if spec.signing == "multi_sig":
            return self._handle_multi_sig(body, parsed, now)
        try:
            signer = recover_signer(body, spec, chain=self.chain)
        except KeyError as exc:
            raise Undeserializable(f"missing field `{exc.args[0]}`") from exc
        agent = self.agents.get(signer)
        if agent is not None and agent.valid_until <= now:
            agent = None
        account = agent.master if (agent is not None and spec.signing == "l1") else signer
        acct = self.accounts.get(account)
        if acct is None:
            raise Rejected(f"User or API Wallet {signer} does not exist.")
        if account in self.multi_sigs:
            raise Rejected(MULTI_SIG_DIRECT.format(user=account))
        if spec.signing == "user_signed" and body.get("expiresAfter") is not None:
            raise Rejected("expiresAfter is not supported on user-signed actions.")
        return self._run_action(body, spec, action, parsed, signer=signer, account=account, now=now)

    def _run_action(
        self,
        body: dict[str, Any],
        spec: Any,
        action: dict[str, Any],
        parsed: Any,
        *,
        signer: str,
        account: str,
        now: int,
    ) -> dict[str, Any]:
        """Checks shared by direct and multi-sig actions (deposit, vault, nonces), then the action.

        ``action``/``spec`` are the action executed (the inner one of a ``multiSig``), ``signer``
        the address whose nonce set is used, ``account`` the account it acts for.
        """
        type_ = action["type"]
        nonce = body["nonce"]
        acct = self.accounts[account]
        if acct.is_empty() and acct.kind == "user":
            raise Rejected(f"Must deposit before performing actions. User: {account}")
        acting = account
        vault = body.get("vaultAddress")
        if vault is not None and spec.vault:
            target = self.accounts.get(vault.lower())
            if target is None or target.master != account:
                raise Rejected(f"User {account} is not the master or leader of {vault.lower()}.")
            acting = target.address
        if spec.nonce_key:  # user-signed actions, agentSendAsset, createVault
            inner = action.get(spec.nonce_key)
            if inner != nonce:
                raise Rejected(f"Invalid nonce: action {spec.nonce_key} {inner} does not match request nonce {nonce}")
        expires = body.get("expiresAfter")
        if expires is not None and expires < now:
            raise Rejected(f"Action expired: expiresAfter {expires} is before the current time {now}")
        self.nonces.check(signer, nonce, now)
        self.nonces.record(signer, nonce)
        sig = body["signature"]
        digest = hashlib.sha256(f"{signer}:{nonce}:{sig.get('r')}:{sig.get('s')}".encode()).hexdigest()
        ctx = _Ctx(signer, account, acting, nonce, now, "0x" + digest)
        self._count_request(acting, type_, action, now)
        handler = _ACTIONS.get(type_)
        if handler is None:
            return _ok("default")
        return handler(self, ctx, action, parsed)

    # ------------------------------------------------------------ multi-sig
    def multi_sig_signers(self, address: str) -> MultiSigConfig | None:
        """The authorized users and threshold of a multi-sig user (``None`` for other users)."""
        with self.lock:
            return self.multi_sigs.get(address.lower())

    def _handle_multi_sig(self, body: dict[str, Any], parsed: _MultiSigParts, now: int) -> dict[str, Any]:
        """A ``multiSig`` action (signed as in ``docs/signing.md``); the order of checks is in ``docs/testing.md``."""
        if parsed.spec.signing not in ("l1", "user_signed"):
            raise Rejected(f"A multiSig action cannot wrap a {parsed.action['type']} action.")
        try:
            outer = recover_multi_sig_outer_signer(body, chain=self.chain)
        except KeyError as exc:
            raise Undeserializable(f"missing field `{exc.args[0]}`") from exc
        if outer != parsed.outer_signer:
            raise Rejected(f"Multi-sig outer signer {outer} does not match payload outerSigner {parsed.outer_signer}.")
        user = parsed.user
        config = self.multi_sigs.get(user)
        if config is None:
            raise Rejected(f"User {user} is not a multi-sig user.")
        agent = self.agents.get(outer)
        if agent is not None and agent.valid_until <= now:
            agent = None
        if outer not in config.authorized_users and (agent is None or agent.master not in config.authorized_users):
            raise Rejected(
                f"Outer signer {outer} is not an authorized user of multi-sig user {user} or an agent of one."
            )
        signers: set[str] = set()
        for i, signature in enumerate(parsed.signatures):
            try:
                inner = recover_multi_sig_inner_signer(body, parsed.spec, signature, chain=self.chain)
            except KeyError as exc:
                raise Undeserializable(f"missing field `{exc.args[0]}` in `action.payload.action`") from exc
            except Rejected as exc:
                raise Rejected(f"Multi-sig signature {i}: unable to recover signer.") from exc
            if inner not in config.authorized_users:
                raise Rejected(f"Multi-sig signature {i} is by {inner}, not an authorized user of {user}.")
            signers.add(inner)
        if len(signers) < config.threshold:
            raise Rejected(
                f"Multi-sig threshold not met: {len(signers)} distinct authorized signature(s), "
                f"{config.threshold} required."
            )
        return self._run_action(body, parsed.spec, parsed.action, parsed.parsed, signer=outer, account=user, now=now)

    def _act_convert_multi_sig(self, ctx: _Ctx, action: dict[str, Any], parsed: Any) -> dict[str, Any]:
        config = _parse_signers(action.get("signers"))
        user = ctx.account
        if config is None:
            if user not in self.multi_sigs:
                raise Rejected(f"User {user} is not a multi-sig user.")
            del self.multi_sigs[user]
            self.state.user(user).multi_sig_signers = None
        else:
            for member in config.authorized_users:
                if member not in self.accounts:
                    raise Rejected(f"Authorized user {member} does not exist.")
            self.multi_sigs[user] = config
            self.state.user(user).multi_sig_signers = {
                "authorizedUsers": list(config.authorized_users),
                "threshold": config.threshold,
            }
        log(_log, 20, "multi-sig signers changed", user=user, threshold=config.threshold if config else None)
        return _ok("default")

    # ------------------------------------------------------------ accounts
    def _account(self, address: str, kind: str = "user") -> Account:
        acct = self.accounts.get(address)
        if acct is None:
            acct = self.accounts[address] = Account(address, kind=kind)
            role = self.state.user(address)
            if role.role is None:
                role.role = {"role": "user"} if kind == "user" else {"role": kind}
        return acct

    def _count_request(self, user: str, type_: str, action: dict[str, Any], now: int) -> None:
        """Count the action against ``user``'s request allowance, refusing it as the exchange does.

        A batch of ``n`` orders, cancels or modifies counts ``n``; the cap is ``nRequestsCap`` (+ surplus),
        ``min(cap + 100000, 2 * cap)`` for cancels; past it one request per 10 s is let through.
        """
        key = _BATCH_KEYS.get(type_)
        items = action.get(key) if key else None
        n = max(1, len(items)) if isinstance(items, list) else 1
        limits = self.state.user(user).rate_limit
        used = int(limits.get("nRequestsUsed", 0))
        cap = int(limits.get("nRequestsCap", 10000)) + int(limits.get("nRequestsSurplus") or 0)
        limit = min(cap + 100_000, 2 * cap) if type_ in _CANCEL_TYPES else cap
        if used + n > limit:
            last = self._over_at.get(user)
            if last is not None and now - last < 10_000:
                raise Rejected(
                    f"Too many cumulative requests sent ({used + n} > {limit}) for cumulative volume traded "
                    f"${limits.get('cumVlm', '0.0')}. Place taker orders to free up 1 request per USDC traded."
                )
            self._over_at[user] = now
        limits["nRequestsUsed"] = used + n

    def _leverage(self, acct: Account, market: _Market) -> dict[str, Any]:
        lev = acct.leverage.get(market.coin)
        if lev is None:
            return {"type": "cross", "value": min(DEFAULT_LEVERAGE, market.max_leverage)}
        return lev

    def _mark(self, coin: str) -> Decimal | None:
        with self.market.lock:
            mid = self.market.mids.get(coin)
        return Decimal(mid) if mid is not None else None

    def _perp_summary(self, acct: Account) -> tuple[list[dict[str, Any]], dict[str, Decimal]]:
        positions: list[dict[str, Any]] = []
        ntl = upnl_total = margin = signed_value = _ZERO
        for coin, pos in acct.positions.items():
            if pos.szi == 0:
                continue
            market = self._market_by_coin(coin)
            mark = self._mark(coin) or pos.entry_px
            lev: dict[str, Any] = (
                self._leverage(acct, market) if market else {"type": "cross", "value": DEFAULT_LEVERAGE}
            )
            lev_value = int(lev["value"])
            value = abs(pos.szi) * mark
            upnl = pos.szi * (mark - pos.entry_px)
            used = value / lev_value
            basis = abs(pos.szi) * pos.entry_px / lev_value
            ntl += value
            upnl_total += upnl
            margin += used
            signed_value += pos.szi * mark
            positions.append(
                {
                    "type": "oneWay",
                    "position": {
                        "coin": coin,
                        "szi": fmt_decimal(pos.szi),
                        "leverage": dict(lev),
                        "entryPx": _px(pos.entry_px),
                        "positionValue": _usd(value),
                        "unrealizedPnl": _usd(upnl),
                        "returnOnEquity": _usd(upnl / basis) if basis else "0.0",
                        "liquidationPx": None,
                        "marginUsed": _usd(used),
                        "maxLeverage": market.max_leverage if market else DEFAULT_LEVERAGE,
                        "cumFunding": dict(_FUNDING_ZERO),
                    },
                }
            )
        value = acct.usdc + upnl_total
        totals = {"accountValue": value, "ntl": ntl, "margin": margin, "raw": value - signed_value}
        return positions, totals

    def _order_margin(self, user: str) -> Decimal:
        acct = self.accounts[user]
        total = _ZERO
        for book in self.books.values():
            market = self._market_by_coin(book.coin)
            if market is None or market.spot:
                continue
            lev = self._leverage(acct, market)["value"]
            for order in (*book.bids, *book.asks):
                if order.user == user and not order.reduce_only:
                    total += order.px * order.sz / lev
        return total

    def _spot_holds(self, user: str) -> dict[str, Decimal]:
        holds: dict[str, Decimal] = {}
        for book in self.books.values():
            market = self._market_by_coin(book.coin)
            if market is None or not market.spot:
                continue
            for order in (*book.bids, *book.asks):
                if order.user != user:
                    continue
                token, amount = (market.quote, order.px * order.sz) if order.is_buy else (market.base, order.sz)
                holds[token] = holds.get(token, _ZERO) + amount
        return holds

    def _clearinghouse(self, acct: Account) -> dict[str, Any]:
        positions, t = self._perp_summary(acct)
        summary = {
            "accountValue": _usd(t["accountValue"]),
            "totalNtlPos": _usd(t["ntl"]),
            "totalRawUsd": _usd(t["raw"]),
            "totalMarginUsed": _usd(t["margin"]),
        }
        withdrawable = max(_ZERO, t["accountValue"] - t["margin"] - self._order_margin(acct.address))
        return {
            "marginSummary": summary,
            "crossMarginSummary": dict(summary),
            "crossMaintenanceMarginUsed": _usd(t["margin"] / 2),
            "withdrawable": _usd(withdrawable),
            "assetPositions": positions,
            "time": self.clock(),
        }

    def _spot_state(self, acct: Account) -> dict[str, Any]:
        tokens = {t["name"]: t["index"] for t in self.market.spot_meta.get("tokens", [])}
        holds = self._spot_holds(acct.address)
        names = sorted(acct.spot, key=lambda n: (n != "USDC", tokens.get(n, 1 << 30), n))
        balances = [
            {
                "coin": name,
                "token": tokens.get(name, -1),
                "total": fmt_decimal(acct.spot[name]),
                "hold": fmt_decimal(holds.get(name, _ZERO)),
                "entryNtl": "0.0",
            }
            for name in names
        ]
        return {"balances": balances}

    def _withdrawable(self, acct: Account) -> Decimal:
        _, t = self._perp_summary(acct)
        return t["accountValue"] - t["margin"] - self._order_margin(acct.address)

    def _sync(self, user: str) -> None:
        """Write ``user``'s clearinghouse/spot state for ``/info`` and push the user feeds."""
        acct = self.accounts.get(user)
        if acct is None:
            return
        state = self.state.user(user)
        state.clearinghouse = self._clearinghouse(acct)
        state.spot = self._spot_state(acct)
        self._publish(
            {"type": "clearinghouseState", "user": user},
            {"dex": "", "user": user, "clearinghouseState": state.clearinghouse_state()},
        )
        self._publish(
            {"type": "spotState", "user": user}, {"user": user, "spotState": state.spot_clearinghouse_state()}
        )
        self._publish(
            {"type": "openOrders", "user": user},
            {"dex": "", "user": user, "orders": [dict(o) for o in state.open_orders]},
        )

    def _ledger(self, user: str, delta: dict[str, Any], time: int, tx_hash: str) -> None:
        entry = {"time": time, "hash": tx_hash, "delta": delta}
        self.state.user(user).ledger.append(entry)
        self._publish(
            {"type": "userNonFundingLedgerUpdates", "user": user}, {"user": user, "nonFundingLedgerUpdates": [entry]}
        )

    def _publish(self, subscription: dict[str, Any], data: Any) -> None:
        if self.state.publisher is not None:
            self.state.publisher(subscription, data)

    # ------------------------------------------------------------ markets and books
    def _market_by_asset(self, asset: int) -> _Market | None:
        with self.market.lock:
            if asset >= 10000:
                index = asset - 10000
                tokens = self.market.spot_meta.get("tokens", [])
                for pair in self.market.spot_meta.get("universe", []):
                    if pair.get("index") == index:
                        base_i, quote_i = pair["tokens"]
                        base = next((t for t in tokens if t["index"] == base_i), None)
                        quote = next((t for t in tokens if t["index"] == quote_i), None)
                        if base is None or quote is None:
                            return None
                        return _Market(
                            pair["name"], asset, int(base["szDecimals"]), True, 1, base["name"], quote["name"]
                        )
                return None
            universe = self.market.meta.get("universe", [])
            if asset >= len(universe):
                return None
            entry = universe[asset]
            return _Market(
                entry["name"], asset, int(entry["szDecimals"]), False, int(entry["maxLeverage"]), entry["name"], "USDC"
            )

    def _market_by_coin(self, coin: str) -> _Market | None:
        with self.market.lock:
            names = self.market.perp_names()
            if coin in names:
                return self._market_by_asset(names.index(coin))
            for pair in self.market.spot_meta.get("universe", []):
                if pair["name"] == coin:
                    return self._market_by_asset(10000 + int(pair["index"]))
        return None

    def _book(self, coin: str) -> Book:
        book = self.books.get(coin)
        with self.market.lock:
            current = self.market.books.get(coin)
            if book is None or (current is not None and current is not self._written.get(coin)):
                if book is None:
                    book = self.books[coin] = Book(coin)
                bids, asks = current if current is not None else ([], [])
                book.replace_house(
                    [(lv["px"], lv["sz"], lv.get("n", 1)) for lv in bids],
                    [(lv["px"], lv["sz"], lv.get("n", 1)) for lv in asks],
                )
                self._written[coin] = current
        return book

    def _write_book(self, coin: str) -> bool:
        """Copy the engine's book into MarketData (levels, mid, contexts); True when the mid changed."""
        book = self._book(coin)
        levels = book.levels()
        mid = book.mid()
        with self.market.lock:
            self.market.books[coin] = levels
            self._written[coin] = levels
            old = self.market.mids.get(coin)
            if mid is not None:
                self.market.mids[coin] = fmt_decimal(mid)
            new = self.market.mids.get(coin)
            ctx = self.market.perp_ctxs.get(coin) or self.market.spot_ctxs.get(coin)
            if ctx is not None and new is not None:
                ctx["midPx"] = new
                ctx["markPx"] = new
                if "impactPxs" in ctx and levels[0] and levels[1]:
                    ctx["impactPxs"] = [levels[0][0]["px"], levels[1][0]["px"]]
        return old != new

    def _bbo_text(self, book: Book) -> str:
        bid, ask = book.best(True), book.best(False)
        return f"{fmt_decimal(bid.px) if bid else 'None'}@{fmt_decimal(ask.px) if ask else 'None'}"

    # ------------------------------------------------------------ orders
    def _record(
        self, market: _Market, order: _Order, oid: int, time: int, *, position_tpsl: bool = False
    ) -> dict[str, Any]:
        trigger = order.trigger_px is not None
        if trigger:
            kind = "Take Profit" if order.tpsl == "tp" else "Stop"
            order_type = f"{kind} {'Market' if order.is_market else 'Limit'}"
            above = (order.tpsl == "tp") != order.is_buy
            condition = f"Price {'above' if above else 'below'} {fmt_decimal(order.trigger_px or _ZERO)}"
        else:
            order_type = "Market" if order.tif in ("Ioc", "FrontendMarket") else "Limit"
            condition = "N/A"
        return {
            "coin": market.coin,
            "side": "B" if order.is_buy else "A",
            "limitPx": fmt_decimal(order.px),
            "sz": fmt_decimal(order.sz),
            "oid": oid,
            "timestamp": time,
            "triggerCondition": condition,
            "isTrigger": trigger,
            "triggerPx": fmt_decimal(order.trigger_px) if trigger and order.trigger_px is not None else "0.0",
            "children": [],
            "isPositionTpsl": position_tpsl,
            "reduceOnly": order.reduce_only,
            "orderType": order_type,
            "origSz": fmt_decimal(order.sz),
            "tif": None if trigger else order.tif,
            "cloid": order.cloid,
        }

    def _reject(self, user: str, record: dict[str, Any], text: str, status: str, time: int) -> dict[str, Any]:
        self.state.user(user).order_history.append({"order": record, "status": status, "statusTimestamp": time})
        self.state.publish_order_update(user, record, status, time)
        return {"error": text}

    def _precheck(self, market: _Market | None, order: _Order) -> tuple[str, str] | None:
        """Static validity (tick, lot, notional): ``(error text, history status)`` or None."""
        if market is None:
            return f"Invalid asset {order.asset}.", "rejected"
        if not price_is_valid(order.px, market.sz_decimals, spot=market.spot) or (
            order.trigger_px is not None and not price_is_valid(order.trigger_px, market.sz_decimals, spot=market.spot)
        ):
            return TICK, "tickRejected"
        if not size_is_valid(order.sz, market.sz_decimals):
            return "Order has invalid size.", "rejected"
        if not order.reduce_only and order.px * order.sz < MIN_NOTIONAL:
            if market.spot:
                return f"Order must have minimum value of 10 {market.quote}.", "minTradeNtlRejected"
            return "Order must have minimum value of $10.", "minTradeNtlRejected"
        return None

    def _place(
        self,
        user: str,
        order: _Order,
        ctx: _Ctx,
        ev: _Events,
        *,
        oid: int | None = None,
        builder: tuple[str, int] | None = None,
        position_tpsl: bool = False,
        group: int | None = None,
    ) -> Any:
        """Place one order for ``user``; returns its status (``resting``/``filled``/``error``/bare string)."""
        market = self._market_by_asset(order.asset)
        oid = oid if oid is not None else self.state.next_oid()
        if market is None:
            return {"error": f"Invalid asset {order.asset}."}
        record = self._record(market, order, oid, ctx.time, position_tpsl=position_tpsl)
        problem = self._precheck(market, order)
        if problem is not None:
            return self._reject(user, record, problem[0], problem[1], ctx.time)
        acct = self.accounts[user]
        ev.users.add(user)
        if order.trigger_px is not None:
            trigger = _Trigger(oid, user, market, order, record, group)
            self.triggers.setdefault(market.coin, []).append(trigger)
            trigger.record = self.state.add_open_order(user, record)
            mark = self._mark(market.coin)
            if mark is not None:
                ev.marks.setdefault(market.coin, []).append(mark)
            return "waitingForTrigger"
        book = self._book(market.coin)
        sz = order.sz
        if order.reduce_only and not market.spot:
            pos = acct.positions.get(market.coin, Position()).szi
            if pos == 0 or (pos > 0) == order.is_buy:
                return self._reject(user, record, REDUCE_ONLY, "reduceOnlyRejected", ctx.time)
            sz = min(sz, abs(pos))
        taker_only = order.tif in ("Ioc", "FrontendMarket", "LiquidationMarket")
        if order.tif == "Alo" and book.would_cross(order.is_buy, order.px):
            text = f"Post only order would have immediately matched, bbo was {self._bbo_text(book)}."
            return self._reject(user, record, text, "badAloPxRejected", ctx.time)
        if taker_only and not book.would_cross(order.is_buy, order.px):
            return self._reject(user, record, IOC_CANCEL, "iocCancelRejected", ctx.time)
        if not order.reduce_only:
            if market.spot:
                holds = self._spot_holds(user)
                token, need = (market.quote, order.px * sz) if order.is_buy else (market.base, sz)
                if acct.spot.get(token, _ZERO) - holds.get(token, _ZERO) < need:
                    text = "Order has insufficient spot balance to trade"
                    return self._reject(user, record, text, "insufficientSpotBalanceRejected", ctx.time)
            else:
                lev = self._leverage(acct, market)["value"]
                if order.px * sz / lev > self._withdrawable(acct):
                    text = f"Insufficient margin to place order. asset={order.asset}"
                    return self._reject(user, record, text, "perpMarginRejected", ctx.time)
        self_trades: list[BookOrder] = []

        def skip(maker: BookOrder) -> bool:
            if maker.user == user:
                self_trades.append(maker)
                return True
            return False

        matches = book.match(order.is_buy, order.px, sz, skip=skip)
        for maker in self_trades:
            self.state.close_order(user, maker.oid, "selfTradeCanceled")
        filled = sum((m.sz for m in matches), _ZERO)
        notional = sum((m.px * m.sz for m in matches), _ZERO)
        self._execute(market, user, order.is_buy, oid, order.cloid, matches, ctx, ev, builder)
        if matches or self_trades:
            ev.coins.add(market.coin)
        remaining = sz - filled
        if remaining <= 0 or taker_only:
            record["sz"] = fmt_decimal(remaining if remaining > 0 else _ZERO)
            self.state.user(user).order_history.append(
                {"order": record, "status": "filled", "statusTimestamp": ctx.time}
            )
            self.state.publish_order_update(user, record, "filled", ctx.time)
            if not matches:  # reduce-only clamped to nothing
                return {"error": IOC_CANCEL}
            result: dict[str, Any] = {
                "totalSz": fmt_decimal(filled),
                "avgPx": _px(notional / filled),
                "oid": oid,
            }
            if order.cloid is not None:
                result["cloid"] = order.cloid
            self._activate_children(oid, ev)
            return {"filled": result}
        record["sz"] = fmt_decimal(remaining)
        stored = self.state.add_open_order(user, record)
        resting = BookOrder(
            oid, user, order.is_buy, order.px, remaining, book.next_seq(), 1, stored, order.cloid, order.reduce_only
        )
        book.add(resting)
        ev.coins.add(market.coin)
        if filled:
            self._activate_children(oid, ev)
        status: dict[str, Any] = {"oid": oid}
        if order.cloid is not None:
            status["cloid"] = order.cloid
        return {"resting": status}

    def _execute(
        self,
        market: _Market,
        taker: str,
        is_buy: bool,
        oid: int,
        cloid: str | None,
        matches: list[Match],
        ctx: _Ctx,
        ev: _Events,
        builder: tuple[str, int] | None,
    ) -> None:
        for m in matches:
            tid = self.state.next_tid()
            maker_user = m.maker.user or HOUSE_ADDRESS
            buyer, seller = (taker, maker_user) if is_buy else (maker_user, taker)
            ev.trades.setdefault(market.coin, []).append(
                {
                    "coin": market.coin,
                    "side": "B" if is_buy else "A",
                    "px": fmt_decimal(m.px),
                    "sz": fmt_decimal(m.sz),
                    "time": ctx.time,
                    "hash": ctx.hash,
                    "tid": tid,
                    "users": [buyer, seller],
                }
            )
            ev.marks.setdefault(market.coin, []).append(m.px)
            self._fill(market, taker, is_buy, m.px, m.sz, oid, cloid, True, tid, ctx, ev, builder)
            maker = m.maker
            if maker.user is not None:
                self._fill(
                    market, maker.user, maker.is_buy, m.px, m.sz, maker.oid, maker.cloid, False, tid, ctx, ev, None
                )
                if maker.record is not None:
                    maker.record["sz"] = fmt_decimal(maker.sz)
                if maker.sz <= 0:
                    self.state.close_order(maker.user, maker.oid, "filled")
                elif maker.record is not None:
                    self.state.publish_order_update(maker.user, maker.record, "open", ctx.time)
                self._activate_children(maker.oid, ev)

    def _fill(
        self,
        market: _Market,
        user: str,
        is_buy: bool,
        px: Decimal,
        sz: Decimal,
        oid: int,
        cloid: str | None,
        crossed: bool,
        tid: int,
        ctx: _Ctx,
        ev: _Events,
        builder: tuple[str, int] | None,
    ) -> None:
        acct = self.accounts[user]
        notional = px * sz
        closed = _ZERO
        if market.spot:
            rate = SPOT_TAKER_FEE if crossed else SPOT_MAKER_FEE
            fee = (notional * rate).quantize(_USD6)
            start = acct.spot.get(market.base, _ZERO)
            acct.spot[market.base] = start + (sz if is_buy else -sz)
            quote = acct.spot.get(market.quote, _ZERO)
            acct.spot[market.quote] = quote + (-notional if is_buy else notional) - fee
            direction = "Buy" if is_buy else "Sell"
        else:
            rate = PERP_TAKER_FEE if crossed else PERP_MAKER_FEE
            fee = (notional * rate).quantize(_USD6)
            pos = acct.positions.setdefault(market.coin, Position())
            start = pos.szi
            new = start + (sz if is_buy else -sz)
            if start != 0 and (start > 0) != is_buy:
                closing = min(abs(start), sz)
                closed = (px - pos.entry_px) * closing * (1 if start > 0 else -1)
            if new == 0:
                pos.entry_px = _ZERO
            elif start == 0 or (start > 0) != (new > 0):
                pos.entry_px = px
            elif abs(new) > abs(start):
                pos.entry_px = (pos.entry_px * abs(start) + px * sz) / abs(new)
            pos.szi = new
            acct.usdc += closed - fee
            direction = _direction(start, is_buy, sz)
        builder_fee = _ZERO
        if builder is not None and builder[1] > 0:
            builder_fee = (notional * builder[1] / Decimal(100_000)).quantize(_USD6)
            if market.spot:
                acct.spot[market.quote] = acct.spot.get(market.quote, _ZERO) - builder_fee
            else:
                acct.usdc -= builder_fee
            receiver = self.accounts.get(builder[0])
            if receiver is not None:
                receiver.usdc += builder_fee
                ev.users.add(receiver.address)
        fill: dict[str, Any] = {
            "coin": market.coin,
            "px": fmt_decimal(px),
            "sz": fmt_decimal(sz),
            "side": "B" if is_buy else "A",
            "time": ctx.time,
            "startPosition": fmt_decimal(start),
            "dir": direction,
            "closedPnl": _usd(closed),
            "hash": ctx.hash,
            "oid": oid,
            "crossed": crossed,
            "fee": _usd(fee + builder_fee),
            "tid": tid,
            "feeToken": "USDC",
            "twapId": None,
        }
        if builder_fee:
            fill["builderFee"] = _usd(builder_fee)
        if cloid is not None:
            fill["cloid"] = cloid
        self.state.add_fill(user, fill, publish=False)
        ev.fills.setdefault(user, []).append(fill)
        ev.users.add(user)
        limits = self.state.user(user).rate_limit
        cum = Decimal(str(limits.get("cumVlm", "0"))) + notional
        limits["cumVlm"] = fmt_decimal(cum.quantize(_USD6))
        limits["nRequestsCap"] = 10000 + int(cum)

    def _activate_children(self, parent_oid: int, ev: _Events) -> None:
        for child in self._pending_children.pop(parent_oid, []):
            self.triggers.setdefault(child.market.coin, []).append(child)
            child.record = self.state.add_open_order(child.user, child.record)
            mark = self._mark(child.market.coin)
            if mark is not None:
                ev.marks.setdefault(child.market.coin, []).append(mark)

    def _find_resting(self, user: str, key: int | str, asset: int | None) -> tuple[str, Any] | None:
        """``("book", BookOrder)``, ``("trigger", _Trigger)`` or ``("pending", _Trigger)`` for an oid/cloid."""
        field = "cloid" if isinstance(key, str) else "oid"
        for coin, book in self.books.items():
            market = self._market_by_coin(coin)
            if asset is not None and (market is None or market.asset != asset):
                continue
            for order in (*book.bids, *book.asks):
                if order.user == user and getattr(order, field) == key:
                    return "book", order
        for kind, groups in (("trigger", self.triggers.values()), ("pending", self._pending_children.values())):
            for trig in (t for group in groups for t in group):
                if (
                    trig.user == user
                    and (asset is None or trig.market.asset == asset)
                    and (trig.oid if field == "oid" else trig.order.cloid) == key
                ):
                    return kind, trig
        return None

    def _remove(self, user: str, found: tuple[str, Any], status: str, ev: _Events) -> None:
        kind, obj = found
        if kind == "book":
            book = self._book(self._market_of_order(obj))
            book.remove(obj)
            ev.coins.add(book.coin)
            self.state.close_order(user, obj.oid, status)
            for child in self._pending_children.pop(obj.oid, []):
                self._history(child.user, child.record, status)
        elif kind == "trigger":
            self.triggers[obj.market.coin].remove(obj)
            self.state.close_order(user, obj.oid, status)
        else:
            for children in self._pending_children.values():
                if obj in children:
                    children.remove(obj)
            self._history(user, obj.record, status)
        ev.users.add(user)

    def _history(self, user: str, record: dict[str, Any], status: str) -> None:
        ts = self.clock()
        self.state.user(user).order_history.append({"order": record, "status": status, "statusTimestamp": ts})
        self.state.publish_order_update(user, record, status, ts)

    def _market_of_order(self, order: BookOrder) -> str:
        for coin, book in self.books.items():
            if order in book.bids or order in book.asks:
                return coin
        raise KeyError(order.oid)

    # ------------------------------------------------------------ triggers, settlement, publishing
    def _due(self, trig: _Trigger, mark: Decimal) -> bool:
        tp = trig.order.tpsl == "tp"
        above = tp != trig.order.is_buy  # sell tp / buy sl fire on the way up
        assert trig.order.trigger_px is not None
        return mark >= trig.order.trigger_px if above else mark <= trig.order.trigger_px

    def _settle(self, ev: _Events, ctx: _Ctx) -> None:
        """Fire due triggers (repeatedly, as their fills move prices), then publish everything."""
        for _ in range(MAX_TRIGGER_ROUNDS):
            for coin in sorted(ev.coins):
                ev.mids_changed |= self._write_book(coin)
                mid = self._mark(coin)
                if mid is not None:
                    ev.marks.setdefault(coin, []).append(mid)
            marks, ev.marks = ev.marks, {}
            fired = [
                trig
                for coin, prices in marks.items()
                for trig in self.triggers.get(coin, [])
                if any(self._due(trig, p) for p in prices)
            ]
            if not fired:
                break
            for trig in fired:
                if trig not in self.triggers.get(trig.market.coin, []):
                    continue  # canceled as a sibling of one fired earlier in this round
                self.triggers[trig.market.coin].remove(trig)
                self.state.close_order(trig.user, trig.oid, "triggered")
                if trig.group is not None:
                    for sibling in list(self.triggers.get(trig.market.coin, [])):
                        if sibling.group == trig.group:
                            self.triggers[trig.market.coin].remove(sibling)
                            self.state.close_order(sibling.user, sibling.oid, "siblingFilledCanceled")
                order = attrs.evolve(
                    trig.order, trigger_px=None, tif="Ioc" if trig.order.is_market else "Gtc", tpsl=None
                )
                self._place(trig.user, order, ctx, ev, oid=trig.oid)
        self._flush(ev)

    def _flush(self, ev: _Events) -> None:
        mids_changed = ev.mids_changed
        for coin in sorted(ev.coins):
            mids_changed |= self._write_book(coin)
        for coin, trades in ev.trades.items():
            kept = self.trades.setdefault(coin, [])
            kept.extend(trades)
            del kept[:-100]
            self._publish({"type": "trades", "coin": coin}, trades)
        for coin in sorted(ev.coins):
            book = self.market.l2_book(coin)
            self._publish({"type": "l2Book", "coin": coin}, book)
            self._publish({"type": "bbo", "coin": coin}, self.market.bbo(coin))
        if mids_changed:
            with self.market.lock:
                mids = dict(self.market.mids)
            self._publish({"type": "allMids"}, {"mids": mids})
            for coin in ev.coins:
                ev.users.update(a.address for a in self.accounts.values() if coin in a.positions)
        for user, fills in ev.fills.items():
            self._publish({"type": "userFills", "user": user}, {"user": user, "fills": fills})
            self._publish({"type": "userEvents", "user": user}, {"fills": fills})
        for user in sorted(ev.users):
            self._sync(user)
        ev.coins.clear()
        ev.trades.clear()
        ev.fills.clear()
        ev.users.clear()
        ev.mids_changed = False

    def _on_mid(self, coin: str, mid: str) -> None:
        """MarketData listener: a test moved a mid (``set_mid``/``set_book``): fire triggers."""
        with self.lock:
            self._book(coin)
            now = self.clock()
            tx_hash = "0x" + hashlib.sha256(f"mark:{coin}:{mid}:{now}".encode()).hexdigest()
            ctx = _Ctx(HOUSE_ADDRESS, HOUSE_ADDRESS, HOUSE_ADDRESS, 0, now, tx_hash)
            ev = _Events()
            ev.marks[coin] = [Decimal(mid)]
            ev.users.update(a.address for a in self.accounts.values() if coin in a.positions)
            self._settle(ev, ctx)
            with self.market.lock:
                mids = dict(self.market.mids)
            self._publish({"type": "allMids"}, {"mids": mids})

    def _run_scheduled(self, now: int) -> int:
        count = 0
        for acct in list(self.accounts.values()):
            if acct.scheduled_cancel is not None and acct.scheduled_cancel <= now:
                acct.scheduled_cancel = None
                ev = _Events()
                for oid in [o["oid"] for o in self.state.user(acct.address).open_orders]:
                    found = self._find_resting(acct.address, oid, None)
                    if found is not None:
                        self._remove(acct.address, found, "scheduledCancel", ev)
                        count += 1
                self._flush(ev)
        return count

    # ------------------------------------------------------------ actions
    def _act_order(self, ctx: _Ctx, action: dict[str, Any], parsed: Any) -> dict[str, Any]:
        orders, grouping, builder = parsed
        if not orders:
            raise Rejected("Order batch is empty.")
        if builder is not None:
            approved = self.accounts[ctx.acting].builder_fees.get(builder[0])
            master = self.accounts[ctx.acting].master
            if approved is None and master is not None:
                approved = self.accounts[master].builder_fees.get(builder[0])
            if approved is None or approved < builder[1]:
                raise Rejected("Builder fee has not been approved.")
        ev = _Events()
        statuses: list[Any] = []
        group: int | None = None
        if grouping in ("normalTpsl", "positionTpsl"):
            self._next_group += 1
            group = self._next_group
        parent_oid: int | None = None
        parent_rests = False
        for i, order in enumerate(orders):
            if grouping == "normalTpsl" and i > 0 and order.trigger_px is not None and parent_rests:
                market = self._market_by_asset(order.asset)
                problem = self._precheck(market, order)
                oid = self.state.next_oid()
                if market is None or problem is not None:
                    statuses.append({"error": problem[0] if problem else f"Invalid asset {order.asset}."})
                    continue
                assert parent_oid is not None
                record = self._record(market, order, oid, ctx.time)
                child = _Trigger(oid, ctx.acting, market, order, record, group)
                self._pending_children.setdefault(parent_oid, []).append(child)
                statuses.append("waitingForFill")
                continue
            status = self._place(
                ctx.acting,
                order,
                ctx,
                ev,
                builder=builder,
                position_tpsl=grouping == "positionTpsl" and order.trigger_px is not None,
                group=group if order.trigger_px is not None else None,
            )
            if i == 0 and isinstance(status, dict) and "resting" in status:
                parent_oid, parent_rests = status["resting"]["oid"], True
            statuses.append(status)
        self._settle(ev, ctx)
        return _ok("order", {"statuses": statuses})

    def _act_cancel(self, ctx: _Ctx, action: dict[str, Any], parsed: Any) -> dict[str, Any]:
        ev = _Events()
        statuses: list[Any] = []
        for asset, key in parsed:
            found = self._find_resting(ctx.acting, key, asset)
            if found is None:
                statuses.append({"error": MISSING_ORDER})
            else:
                self._remove(ctx.acting, found, "canceled", ev)
                statuses.append("success")
        self._flush(ev)
        return _ok(action["type"], {"statuses": statuses})

    def _modify_one(self, ctx: _Ctx, key: int | str, order: _Order, ev: _Events) -> Any:
        found = self._find_resting(ctx.acting, key, None)
        if found is None:
            return {"error": MISSING_ORDER}
        problem = self._precheck(self._market_by_asset(order.asset), order)
        if problem is not None:
            return {"error": problem[0]}
        self._remove(ctx.acting, found, "canceled", ev)
        return self._place(ctx.acting, order, ctx, ev)

    def _act_modify(self, ctx: _Ctx, action: dict[str, Any], parsed: Any) -> dict[str, Any]:
        ev = _Events()
        statuses = [self._modify_one(ctx, key, order, ev) for key, order in parsed]
        self._settle(ev, ctx)
        if action["type"] == "modify":
            status = statuses[0]
            if isinstance(status, dict) and "error" in status:
                raise Rejected(status["error"])
            return _ok("default")
        return _ok("order", {"statuses": statuses})

    def _act_schedule_cancel(self, ctx: _Ctx, action: dict[str, Any], parsed: Any) -> dict[str, Any]:
        acct = self.accounts[ctx.acting]
        if parsed is not None and parsed < ctx.time + 5000:
            raise Rejected("Scheduled cancel time too early, must be at least 5 seconds from now.")
        acct.scheduled_cancel = parsed
        return _ok("default")

    def _act_update_leverage(self, ctx: _Ctx, action: dict[str, Any], parsed: Any) -> dict[str, Any]:
        asset, is_cross, leverage = parsed
        market = self._market_by_asset(asset)
        if market is None or market.spot:
            raise Rejected(f"Invalid asset {asset}.")
        if not 1 <= leverage <= market.max_leverage:
            raise Rejected(f"Invalid leverage value {leverage}; maximum for {market.coin} is {market.max_leverage}.")
        acct = self.accounts[ctx.acting]
        lev: dict[str, Any] = {"type": "cross" if is_cross else "isolated", "value": leverage}
        if not is_cross:
            lev["rawUsd"] = "0.0"
        acct.leverage[market.coin] = lev
        self._sync(ctx.acting)
        return _ok("default")

    def _act_isolated_margin(self, ctx: _Ctx, action: dict[str, Any], parsed: Any) -> dict[str, Any]:
        asset, _is_buy, ntli = parsed
        market = self._market_by_asset(asset)
        acct = self.accounts[ctx.acting]
        pos = acct.positions.get(market.coin) if market is not None else None
        if market is None or pos is None or pos.szi == 0:
            raise Rejected("Cannot update margin for empty position.")
        lev = acct.leverage.get(market.coin)
        if lev is None or lev["type"] != "isolated":
            raise Rejected("Cannot update margin for a cross position.")
        lev["rawUsd"] = _usd(Decimal(lev.get("rawUsd", "0")) + Decimal(ntli) / 1_000_000)
        self._sync(ctx.acting)
        return _ok("default")

    def _act_twap(self, ctx: _Ctx, action: dict[str, Any], parsed: Any) -> dict[str, Any]:
        asset, is_buy, sz, reduce_only, minutes, randomize = parsed
        market = self._market_by_asset(asset)
        if market is None:
            return _ok("twapOrder", {"status": {"error": f"Invalid asset {asset}."}})
        if not 5 <= minutes <= 1440:
            return _ok("twapOrder", {"status": {"error": f"Invalid TWAP duration: {minutes} min(s)"}})
        self._next_twap += 1
        twap_id = self._next_twap
        entry = {
            "time": ctx.time // 1000,
            "state": {
                "coin": market.coin,
                "user": ctx.acting,
                "side": "B" if is_buy else "A",
                "sz": fmt_decimal(sz),
                "executedSz": "0.0",
                "executedNtl": "0.0",
                "minutes": minutes,
                "randomize": randomize,
                "reduceOnly": reduce_only,
                "timestamp": ctx.time,
            },
            "status": {"status": "activated"},
            "twapId": twap_id,
        }
        self.state.user(ctx.acting).twap_history.append(entry)
        self._twaps[twap_id] = (ctx.acting, entry)
        self._publish({"type": "userTwapHistory", "user": ctx.acting}, {"user": ctx.acting, "history": [entry]})
        return _ok("twapOrder", {"status": {"running": {"twapId": twap_id}}})

    def _act_twap_cancel(self, ctx: _Ctx, action: dict[str, Any], parsed: Any) -> dict[str, Any]:
        asset, twap_id = parsed
        found = self._twaps.get(twap_id)
        market = self._market_by_asset(asset)
        if found is None or found[0] != ctx.acting or market is None or found[1]["state"]["coin"] != market.coin:
            return _ok("twapCancel", {"status": {"error": MISSING_TWAP}})
        del self._twaps[twap_id]
        entry = dict(found[1], time=ctx.time // 1000, status={"status": "terminated"})
        self.state.user(ctx.acting).twap_history.append(entry)
        self._publish({"type": "userTwapHistory", "user": ctx.acting}, {"user": ctx.acting, "history": [entry]})
        return _ok("twapCancel", {"status": "success"})

    def _move_usdc(self, source: Account, dest: Account, amount: Decimal) -> None:
        if amount <= 0:
            raise Rejected("Invalid transfer amount.")
        if self._withdrawable(source) < amount:
            raise Rejected("Insufficient balance for transfer.")
        source.usdc -= amount
        dest.usdc += amount

    def _move_token(self, source: Account, dest: Account, token: str, amount: Decimal) -> None:
        if amount <= 0:
            raise Rejected("Invalid transfer amount.")
        free = source.spot.get(token, _ZERO) - self._spot_holds(source.address).get(token, _ZERO)
        if free < amount:
            raise Rejected("Insufficient balance for transfer.")
        source.spot[token] = source.spot.get(token, _ZERO) - amount
        dest.spot[token] = dest.spot.get(token, _ZERO) + amount

    def _destination(self, text: str) -> Account:
        if not _ADDRESS.match(text):
            raise Rejected(f"Invalid destination {text}.")
        return self._account(text.lower())

    def _done(self, ctx: _Ctx, *users: str) -> dict[str, Any]:
        for user in users:
            self._sync(user)
        return _ok("default")

    def _act_usd_send(self, ctx: _Ctx, action: dict[str, Any], parsed: Any) -> dict[str, Any]:
        destination, amount = parsed
        source = self.accounts[ctx.account]
        dest = self._destination(destination)
        self._move_usdc(source, dest, amount)
        delta = {
            "type": "internalTransfer",
            "usdc": _usd(amount),
            "user": source.address,
            "destination": dest.address,
            "fee": "0.0",
        }
        self._ledger(source.address, delta, ctx.time, ctx.hash)
        self._ledger(dest.address, delta, ctx.time, ctx.hash)
        return self._done(ctx, source.address, dest.address)

    def _act_withdraw(self, ctx: _Ctx, action: dict[str, Any], parsed: Any) -> dict[str, Any]:
        _destination, amount = parsed
        source = self.accounts[ctx.account]
        if amount <= 0:
            raise Rejected("Invalid transfer amount.")
        if self._withdrawable(source) < amount:
            raise Rejected("Insufficient balance for withdrawal.")
        source.usdc -= amount
        self._ledger(
            source.address,
            {"type": "withdraw", "usdc": _usd(amount), "nonce": ctx.nonce, "fee": "1.0"},
            ctx.time,
            ctx.hash,
        )
        return self._done(ctx, source.address)

    def _act_spot_send(self, ctx: _Ctx, action: dict[str, Any], parsed: Any) -> dict[str, Any]:
        destination, token, amount = parsed
        name = token.split(":", 1)[0]
        source = self.accounts[ctx.account]
        dest = self._destination(destination)
        self._move_token(source, dest, name, amount)
        delta = {
            "type": "spotTransfer",
            "token": name,
            "amount": fmt_decimal(amount),
            "usdcValue": fmt_decimal(amount) if name == "USDC" else "0.0",
            "user": source.address,
            "destination": dest.address,
            "fee": "0.0",
            "nativeTokenFee": "0.0",
            "nonce": ctx.nonce,
            "feeToken": "",
        }
        self._ledger(source.address, delta, ctx.time, ctx.hash)
        self._ledger(dest.address, delta, ctx.time, ctx.hash)
        return self._done(ctx, source.address, dest.address)

    def _act_class_transfer(self, ctx: _Ctx, action: dict[str, Any], parsed: Any) -> dict[str, Any]:
        text, to_perp = parsed
        amount_text, _, sub = text.partition(" subaccount:")
        if not _NUMBER.match(amount_text):
            raise Undeserializable("invalid value for `action.amount`")
        amount = Decimal(amount_text)
        acct = self.accounts[ctx.account]
        if sub:
            target = self.accounts.get(sub.lower())
            if target is None or target.master != acct.address:
                raise Rejected(f"User {acct.address} is not the master of {sub.lower()}.")
            acct = target
        if amount <= 0:
            raise Rejected("Invalid transfer amount.")
        if to_perp:
            if acct.spot.get("USDC", _ZERO) - self._spot_holds(acct.address).get("USDC", _ZERO) < amount:
                raise Rejected("Insufficient balance for transfer.")
            acct.spot["USDC"] = acct.spot.get("USDC", _ZERO) - amount
            acct.usdc += amount
        else:
            if self._withdrawable(acct) < amount:
                raise Rejected("Insufficient balance for transfer.")
            acct.usdc -= amount
            acct.spot["USDC"] = acct.spot.get("USDC", _ZERO) + amount
        self._ledger(
            acct.address, {"type": "accountClassTransfer", "usdc": _usd(amount), "toPerp": to_perp}, ctx.time, ctx.hash
        )
        return self._done(ctx, acct.address)

    def _sub_of(self, ctx: _Ctx, address: str, kind: str) -> Account:
        target = self.accounts.get(address)
        if target is None or target.kind != kind or target.master != ctx.account:
            label = "sub-account" if kind == "subAccount" else "vault"
            raise Rejected(f"User {ctx.account} is not the master of {label} {address}.")
        return target

    def _act_sub_transfer(self, ctx: _Ctx, action: dict[str, Any], parsed: Any) -> dict[str, Any]:
        sub_address, is_deposit, usd = parsed
        sub = self._sub_of(ctx, sub_address, "subAccount")
        master = self.accounts[ctx.account]
        amount = Decimal(usd) / 1_000_000
        source, dest = (master, sub) if is_deposit else (sub, master)
        self._move_usdc(source, dest, amount)
        delta = {
            "type": "subAccountTransfer",
            "usdc": _usd(amount),
            "user": source.address,
            "destination": dest.address,
        }
        self._ledger(master.address, delta, ctx.time, ctx.hash)
        self._ledger(sub.address, delta, ctx.time, ctx.hash)
        return self._done(ctx, master.address, sub.address)

    def _act_sub_spot_transfer(self, ctx: _Ctx, action: dict[str, Any], parsed: Any) -> dict[str, Any]:
        sub_address, is_deposit, token, amount = parsed
        sub = self._sub_of(ctx, sub_address, "subAccount")
        master = self.accounts[ctx.account]
        source, dest = (master, sub) if is_deposit else (sub, master)
        self._move_token(source, dest, token.split(":", 1)[0], amount)
        return self._done(ctx, master.address, sub.address)

    def _act_vault_transfer(self, ctx: _Ctx, action: dict[str, Any], parsed: Any) -> dict[str, Any]:
        vault_address, is_deposit, usd = parsed
        vault = self.accounts.get(vault_address)
        if vault is None or vault.kind != "vault":
            raise Rejected(f"Vault {vault_address} does not exist.")
        user = self.accounts[ctx.account]
        amount = Decimal(usd) / 1_000_000
        source, dest = (user, vault) if is_deposit else (vault, user)
        self._move_usdc(source, dest, amount)
        kind = "vaultDeposit" if is_deposit else "vaultWithdraw"
        delta: dict[str, Any] = {"type": kind, "vault": vault.address, "usdc": _usd(amount)}
        self._ledger(user.address, delta, ctx.time, ctx.hash)
        return self._done(ctx, user.address, vault.address)

    def _derived(self, master: str, kind: str, name: str) -> str:
        return "0x" + keccak256(f"{kind}:{master}:{name}".encode()).hex()[-40:]

    def _act_create_sub(self, ctx: _Ctx, action: dict[str, Any], parsed: Any) -> dict[str, Any]:
        name = parsed
        address = self._derived(ctx.account, "subAccount", name)
        if address in self.accounts:
            raise Rejected(f"Sub-account name {name!r} is already used.")
        sub = self._account(address, "subAccount")
        sub.master, sub.name = ctx.account, name
        self.state.user(address).role = {"role": "subAccount", "data": {"master": ctx.account}}
        self.state.user(ctx.account).sub_accounts.append({"name": name, "address": address})
        self._sync(address)
        return _ok("createSubAccount", address)

    def _act_create_vault(self, ctx: _Ctx, action: dict[str, Any], parsed: Any) -> dict[str, Any]:
        name, initial = parsed
        address = self._derived(ctx.account, "vault", name)
        if address in self.accounts:
            raise Rejected(f"Vault name {name!r} is already used.")
        leader = self.accounts[ctx.account]
        vault = self._account(address, "vault")
        vault.master, vault.name = ctx.account, name
        self.state.user(address).role = {"role": "vault"}
        self._move_usdc(leader, vault, Decimal(initial) / 1_000_000)
        self._sync(address)
        self._sync(leader.address)
        return _ok("createVault", address)

    def _act_approve_agent(self, ctx: _Ctx, action: dict[str, Any], parsed: Any) -> dict[str, Any]:
        address, raw_name = parsed
        name, valid_until = raw_name, ctx.time + AGENT_VALIDITY_MS
        match = re.fullmatch(r"(.*) valid_until ([0-9]+)", raw_name)
        if match is not None:
            name, valid_until = match.group(1), int(match.group(2))
        if address == ctx.account or address in self.accounts:
            raise Rejected(f"Agent address {address} is already a user.")
        for old in list(self.agents.values()):
            if old.master == ctx.account and old.name == name:
                del self.agents[old.address]
                self.state.user(old.address).role = {"role": "missing"}
        existing = self.agents.get(address)
        if existing is not None and existing.master != ctx.account:
            raise Rejected(f"Agent address {address} is already used.")
        self.agents[address] = Agent(address, ctx.account, name, valid_until)
        self.state.user(address).role = {"role": "agent", "data": {"user": ctx.account}}
        named = [
            {"name": a.name, "address": a.address, "validUntil": a.valid_until}
            for a in self.agents.values()
            if a.master == ctx.account and a.name
        ]
        self.state.user(ctx.account).extra_agents = named
        return _ok("default")

    def _act_approve_builder(self, ctx: _Ctx, action: dict[str, Any], parsed: Any) -> dict[str, Any]:
        builder, percent = parsed
        tenths_bp = int(percent * 1000)
        self.accounts[ctx.account].builder_fees[builder] = tenths_bp
        self.state.user(ctx.account).builder_fees[builder] = tenths_bp
        return _ok("default")


def _direction(start: Decimal, is_buy: bool, sz: Decimal) -> str:
    if is_buy:
        if start >= 0:
            return "Open Long"
        return "Close Short" if sz <= -start else "Short > Long"
    if start <= 0:
        return "Open Short"
    return "Close Long" if sz <= start else "Long > Short"


ActionFn = Callable[[ExchangeEngine, _Ctx, dict[str, Any], Any], dict[str, Any]]

_ACTIONS: dict[str, ActionFn] = {
    "order": ExchangeEngine._act_order,
    "cancel": ExchangeEngine._act_cancel,
    "cancelByCloid": ExchangeEngine._act_cancel,
    "modify": ExchangeEngine._act_modify,
    "batchModify": ExchangeEngine._act_modify,
    "scheduleCancel": ExchangeEngine._act_schedule_cancel,
    "updateLeverage": ExchangeEngine._act_update_leverage,
    "updateIsolatedMargin": ExchangeEngine._act_isolated_margin,
    "twapOrder": ExchangeEngine._act_twap,
    "twapCancel": ExchangeEngine._act_twap_cancel,
    "usdSend": ExchangeEngine._act_usd_send,
    "withdraw3": ExchangeEngine._act_withdraw,
    "spotSend": ExchangeEngine._act_spot_send,
    "usdClassTransfer": ExchangeEngine._act_class_transfer,
    "subAccountTransfer": ExchangeEngine._act_sub_transfer,
    "subAccountSpotTransfer": ExchangeEngine._act_sub_spot_transfer,
    "vaultTransfer": ExchangeEngine._act_vault_transfer,
    "createSubAccount": ExchangeEngine._act_create_sub,
    "createVault": ExchangeEngine._act_create_vault,
    "approveAgent": ExchangeEngine._act_approve_agent,
    "approveBuilderFee": ExchangeEngine._act_approve_builder,
    "convertToMultiSigUser": ExchangeEngine._act_convert_multi_sig,
}
