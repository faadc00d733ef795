"""Request handlers of the fake exchange (sans-I/O): ``/info``, ``/exchange``, ``/explorer``, stats.

Each handler takes the parsed JSON body and returns a :class:`Reply`; a body that the real server
could not deserialize raises :class:`Undeserializable` (HTTP 422 ``text/plain``, or a parse error
over WebSocket).  The same handlers serve HTTP and WebSocket ``post`` requests.

Precedence for ``/info``: responses set with ``set_info`` (or loaded from fixtures) win; otherwise
state-backed types are answered from :class:`~hyperliquid_client.testing.market.MarketData`,
:class:`~hyperliquid_client.testing.state.ExchangeState` and the engine's trades; every other type the
spec knows gets its spec sample (:mod:`hyperliquid_client.testing.samples`); an unknown type is a 422.
"""

from __future__ import annotations

import copy
import inspect
import json
import re
import threading
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus
from typing import Any

import attrs

from hyperliquid_client.runtime.errors import InvalidInputError
from hyperliquid_client.testing.market import MarketData, now_ms
from hyperliquid_client.testing.samples import missing_key, sample_response
from hyperliquid_client.testing.state import ExchangeState, UserState, empty_clearinghouse_state

__all__ = [
    "DESERIALIZE_ERROR",
    "ExchangeHandler",
    "ExchangeService",
    "ExplorerService",
    "InfoService",
    "OK_ANSWER_ADDRESS",
    "Reply",
    "ResponseTable",
    "Undeserializable",
    "ok_answer",
    "resolve",
]

#: Text of the HTTP 422 answer (followed by ``": <detail>"``).
DESERIALIZE_ERROR = "Failed to deserialize the JSON body into the target type"

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_CLOID = re.compile(r"^0x[0-9a-fA-F]{32}$")


class Undeserializable(Exception):
    """The body does not deserialize into any request the server knows (HTTP 422)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@attrs.frozen
class Reply:
    """An answer: ``status``, and either a JSON ``payload`` or a raw ``body`` with ``content_type``.

    Callables given to ``set_info`` / ``set_exchange_handler`` may return a ``Reply`` to control
    the status, headers or raw bytes; any other return value is the JSON payload of a 200.
    """

    status: int = 200
    payload: Any = None
    body: bytes | None = None
    content_type: str = "application/json"
    headers: Mapping[str, str] = attrs.field(factory=dict)

    def encoded(self) -> bytes:
        """The body bytes (``payload`` serialised compactly when ``body`` is None)."""
        if self.body is not None:
            return self.body
        return json.dumps(self.payload, separators=(",", ":"), ensure_ascii=False).encode()

    def error_text(self) -> str:
        """``"<status> <reason>: <body>"``, as a WebSocket post ``error`` payload."""
        try:
            reason = HTTPStatus(self.status).phrase
        except ValueError:
            reason = "Error"
        return f"{self.status} {reason}: {self.encoded().decode('utf-8', 'replace')}"

    @classmethod
    def text(cls, status: int, text: str) -> Reply:
        """A ``text/plain`` answer."""
        return cls(status=status, body=text.encode(), content_type="text/plain; charset=utf-8")


def unprocessable(detail: str) -> Reply:
    """The HTTP 422 answer for an undeserializable body."""
    return Reply.text(422, f"{DESERIALIZE_ERROR}: {detail}")


async def resolve(value: Any) -> Any:
    """Await ``value`` when it is awaitable (callbacks may be sync or async)."""
    if inspect.isawaitable(value):
        return await value
    return value


def _norm(value: Any) -> Any:
    if isinstance(value, str) and _ADDRESS.match(value):
        return value.lower()
    return value


@attrs.define
class _Entry:
    match: dict[str, Any]
    response: Any
    status: int


class ResponseTable:
    """Canned responses keyed by request ``type`` (+ optional body fields), thread-safe.

    Lookup picks, among the entries of the type whose ``match`` fields all equal the request's
    (an absent field equals ``null``; addresses compare case-insensitively), the one with the
    most fields.  A callable response is called with the request body.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, list[_Entry]] = {}

    def set(self, type_: str, response: Any, *, status: int = 200, match: Mapping[str, Any] | None = None) -> None:
        """Serve ``response`` for ``type_`` (replacing an entry with the same ``match``)."""
        if not isinstance(type_, str) or not type_:
            raise InvalidInputError("type_", "a non-empty request type", type_)
        if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
            raise InvalidInputError("status", "an HTTP status code (100-599)", status)
        fields = {k: _norm(v) for k, v in (match or {}).items() if k != "type"}
        with self._lock:
            entries = [e for e in self._entries.get(type_, []) if e.match != fields]
            entries.append(_Entry(fields, response, status))
            self._entries[type_] = entries

    def remove(self, type_: str) -> None:
        """Forget every entry of ``type_``."""
        with self._lock:
            self._entries.pop(type_, None)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()

    def types(self) -> list[str]:
        """Types with at least one entry."""
        with self._lock:
            return list(self._entries)

    def find(self, type_: str, body: Mapping[str, Any]) -> _Entry | None:
        """The best entry for this request, or None."""
        with self._lock:
            entries = list(self._entries.get(type_, ()))
        best: _Entry | None = None
        for entry in entries:
            if all(_norm(body.get(k)) == v for k, v in entry.match.items()) and (
                best is None or len(entry.match) >= len(best.match)
            ):
                best = entry
        return best

    async def answer(self, type_: str, body: Mapping[str, Any]) -> Reply | None:
        """The reply for this request from the table, or None when no entry matches."""
        entry = self.find(type_, body)
        if entry is None:
            return None
        value = entry.response
        if callable(value):
            value = await resolve(value(dict(body)))
        if isinstance(value, Reply):
            return value
        return Reply(status=entry.status, payload=value)


# ---------------------------------------------------------------- field checks
def _require(body: Mapping[str, Any], name: str) -> Any:
    if body.get(name) is None:
        raise Undeserializable(f"missing field `{name}`")
    return body[name]


def _user(body: Mapping[str, Any], name: str = "user") -> str:
    value = _require(body, name)
    if not isinstance(value, str) or not _ADDRESS.match(value):
        raise Undeserializable(f"invalid value for `{name}`: expected an address")
    return value.lower()


def _str(body: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise Undeserializable(f"missing field `{name}`")
        return None
    if not isinstance(value, str):
        raise Undeserializable(f"invalid type for `{name}`: expected a string")
    return value


def _int(body: Mapping[str, Any], name: str, *, required: bool = True) -> int | None:
    value = body.get(name)
    if value is None:
        if required:
            raise Undeserializable(f"missing field `{name}`")
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise Undeserializable(f"invalid type for `{name}`: expected an unsigned integer")
    return value


def _bool(body: Mapping[str, Any], name: str) -> bool:
    value = body.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise Undeserializable(f"invalid type for `{name}`: expected a boolean")
    return value


def _dex(body: Mapping[str, Any]) -> str:
    return _str(body, "dex", required=False) or ""


InfoFn = Callable[["InfoService", Mapping[str, Any]], Any]


class InfoService:
    """Answers ``/info`` bodies (see the module docstring for the precedence)."""

    def __init__(
        self,
        market: MarketData,
        state: ExchangeState,
        table: ResponseTable,
        *,
        fills_cap: int = 2000,
        trades: Callable[[str], list[dict[str, Any]]] | None = None,
    ):
        self.market = market
        self.state = state
        self.table = table
        self.fills_cap = fills_cap
        #: ``trades(coin)``: the recent public trades of a coin, oldest first (the engine's)
        self.trades = trades or (lambda coin: [])
        self._builtins: dict[str, InfoFn] = {
            "meta": InfoService._meta,
            "spotMeta": lambda s, b: s.market.spot_meta,
            "metaAndAssetCtxs": InfoService._meta_and_ctxs,
            "spotMetaAndAssetCtxs": lambda s, b: s.market.spot_meta_and_asset_ctxs(),
            "perpDexs": lambda s, b: s.market.perp_dexs,
            "allMids": InfoService._all_mids,
            "l2Book": InfoService._l2_book,
            "exchangeStatus": lambda s, b: {"time": now_ms(), "specialStatuses": s.market.special_statuses},
            "perpsAtOpenInterestCap": lambda s, b: [],
            "clearinghouseState": InfoService._clearinghouse,
            "spotClearinghouseState": lambda s, b: s._u(b, UserState.spot_clearinghouse_state, {"balances": []}),
            "openOrders": InfoService._open_orders,
            "frontendOpenOrders": InfoService._frontend_open_orders,
            "orderStatus": InfoService._order_status,
            "historicalOrders": lambda s, b: s._u(b, lambda u: list(reversed(u.order_history))[:2000], []),
            "userFills": InfoService._user_fills,
            "userFillsByTime": InfoService._user_fills_by_time,
            "userFunding": InfoService._user_funding,
            "userNonFundingLedgerUpdates": InfoService._user_ledger,
            "userTwapSliceFills": lambda s, b: s._u(b, lambda u: list(reversed(u.twap_slice_fills))[:2000], []),
            "userTwapSliceFillsByTime": InfoService._user_twap_slice_fills_by_time,
            "twapHistory": lambda s, b: s._u(b, lambda u: copy.deepcopy(u.twap_history), []),
            "recentTrades": InfoService._recent_trades,
            "batchClearinghouseStates": InfoService._batch_clearinghouse,
            "userRateLimit": InfoService._user_rate_limit,
            "userRole": InfoService._user_role,
            "subAccounts": InfoService._sub_accounts,
            "extraAgents": lambda s, b: s._u(b, lambda u: [dict(a) for a in u.extra_agents], []),
            "maxBuilderFee": InfoService._max_builder_fee,
            "userToMultiSigSigners": lambda s, b: s._u(b, lambda u: copy.deepcopy(u.multi_sig_signers), None),
        }

    @property
    def builtin_types(self) -> list[str]:
        """Info types answered from the market, the per-user state and the engine (the rest: spec samples)."""
        return list(self._builtins)

    async def handle(self, body: Any) -> Reply:
        """Answer one ``/info`` body; raises :class:`Undeserializable` for a bad body."""
        if not isinstance(body, Mapping):
            raise Undeserializable("expected an object with a `type` field")
        type_ = body.get("type")
        if not isinstance(type_, str):
            raise Undeserializable("missing field `type`")
        canned = await self.table.answer(type_, body)
        if canned is not None:
            return canned
        fn = self._builtins.get(type_)
        if fn is not None:
            return Reply(payload=fn(self, body))
        try:
            missing = missing_key(f"info.{type_}", body)
        except KeyError:
            raise Undeserializable(f"unknown variant `{type_}`") from None
        if missing is not None:
            raise Undeserializable(f"missing field `{missing}`")
        return Reply(payload=sample_response(f"info.{type_}"))

    # -------------------------------------------------------------- helpers
    def _check_user(self, body: Mapping[str, Any]) -> str:
        return _user(body)

    def _u(self, body: Mapping[str, Any], fn: Callable[[UserState], Any], empty: Any) -> Any:
        user = _user(body)
        with self.state.lock:
            state = self.state.peek(user)
            return empty if state is None else fn(state)

    def _meta(self, body: Mapping[str, Any]) -> Any:
        dex = _dex(body)
        if dex:
            return None
        return self.market.meta

    def _meta_and_ctxs(self, body: Mapping[str, Any]) -> Any:
        if _dex(body):
            return None
        return self.market.meta_and_asset_ctxs()

    def _all_mids(self, body: Mapping[str, Any]) -> Any:
        if _dex(body):
            return {}
        with self.market.lock:
            return dict(self.market.mids)

    def _l2_book(self, body: Mapping[str, Any]) -> Any:
        coin = _str(body, "coin")
        n_sig = body.get("nSigFigs")
        if n_sig is not None and (isinstance(n_sig, bool) or n_sig not in (2, 3, 4, 5)):
            raise Undeserializable("invalid value for `nSigFigs`")
        mantissa = body.get("mantissa")
        if mantissa is not None and (isinstance(mantissa, bool) or mantissa not in (1, 2, 5)):
            raise Undeserializable("invalid value for `mantissa`")
        assert coin is not None
        return self.market.l2_book(coin)

    def _clearinghouse(self, body: Mapping[str, Any]) -> Any:
        _dex(body)
        return self._u(body, UserState.clearinghouse_state, None) or empty_clearinghouse_state()

    def _open_orders(self, body: Mapping[str, Any]) -> Any:
        _dex(body)
        return self._u(body, UserState.basic_open_orders, [])

    def _frontend_open_orders(self, body: Mapping[str, Any]) -> Any:
        _dex(body)
        return self._u(body, lambda u: [dict(o) for o in u.open_orders], [])

    def _order_status(self, body: Mapping[str, Any]) -> Any:
        _user(body)
        oid = _require(body, "oid")
        if isinstance(oid, bool) or not (
            (isinstance(oid, int) and oid >= 0) or (isinstance(oid, str) and _CLOID.match(oid))
        ):
            raise Undeserializable("invalid value for `oid`: expected an order id or a cloid")
        found = self._u(body, lambda u: u.find_order(oid), None)
        if found is None:
            return {"status": "unknownOid"}
        return {"status": "order", "order": found}

    def _user_fills(self, body: Mapping[str, Any]) -> Any:
        _bool(body, "aggregateByTime")
        return self._u(body, lambda u: list(reversed(u.fills))[: self.fills_cap], [])

    def _user_fills_by_time(self, body: Mapping[str, Any]) -> Any:
        start = _int(body, "startTime")
        end = _int(body, "endTime", required=False)
        _bool(body, "aggregateByTime")
        newest_first = _bool(body, "reversed")
        assert start is not None

        def pick(u: UserState) -> list[dict[str, Any]]:
            rows = [f for f in u.fills if start <= f.get("time", 0) and (end is None or f.get("time", 0) <= end)]
            rows.sort(key=lambda f: f.get("time", 0), reverse=newest_first)
            return rows[: self.fills_cap]

        return self._u(body, pick, [])

    def _user_twap_slice_fills_by_time(self, body: Mapping[str, Any]) -> Any:
        start = _int(body, "startTime")
        end = _int(body, "endTime", required=False)
        _bool(body, "aggregateByTime")
        assert start is not None

        def pick(u: UserState) -> list[dict[str, Any]]:
            rows = [f for f in u.twap_slice_fills if start <= f["fill"].get("time", 0)]
            return [f for f in rows if end is None or f["fill"].get("time", 0) <= end][: self.fills_cap]

        return self._u(body, pick, [])

    def _recent_trades(self, body: Mapping[str, Any]) -> Any:
        coin = _str(body, "coin")
        assert coin is not None
        return list(reversed(self.trades(coin)))

    def _batch_clearinghouse(self, body: Mapping[str, Any]) -> Any:
        users = _require(body, "users")
        if not isinstance(users, list):
            raise Undeserializable("invalid type for `users`: expected a sequence")
        _dex(body)
        return [self._u({"user": user}, UserState.clearinghouse_state, None) for user in users]

    def _time_filtered(self, body: Mapping[str, Any], attr: str) -> Any:
        start = _int(body, "startTime", required=False) or 0
        end = _int(body, "endTime", required=False)
        return self._u(
            body,
            lambda u: [
                r for r in getattr(u, attr) if start <= r.get("time", 0) and (end is None or r.get("time", 0) <= end)
            ][:500],
            [],
        )

    def _user_funding(self, body: Mapping[str, Any]) -> Any:
        return self._time_filtered(body, "fundings")

    def _user_ledger(self, body: Mapping[str, Any]) -> Any:
        return self._time_filtered(body, "ledger")

    def _user_rate_limit(self, body: Mapping[str, Any]) -> Any:
        default = UserState("").rate_limit
        return self._u(body, lambda u: dict(u.rate_limit), default)

    def _user_role(self, body: Mapping[str, Any]) -> Any:
        return self._u(body, lambda u: u.role or {"role": "user"}, {"role": "missing"})

    def _max_builder_fee(self, body: Mapping[str, Any]) -> Any:
        _user(body)
        builder = _user(body, "builder")
        return self._u(body, lambda u: u.builder_fees.get(builder, 0), 0)

    def _sub_accounts(self, body: Mapping[str, Any]) -> Any:
        master = _user(body)
        with self.state.lock:
            state = self.state.peek(master)
            if state is None or not state.sub_accounts:
                return None
            out = []
            for entry in state.sub_accounts:
                sub = self.state.user(entry["address"])
                out.append(
                    {
                        "name": entry["name"],
                        "subAccountUser": entry["address"],
                        "master": master,
                        "clearinghouseState": sub.clearinghouse_state(),
                        "spotState": sub.spot_clearinghouse_state(),
                    }
                )
            return out


# ------------------------------------------------------------------ /exchange
#: ``fn(body) -> payload | Reply`` (sync or async): answers a validated ``/exchange`` body.
ExchangeHandler = Callable[[dict[str, Any]], "Any | Awaitable[Any]"]


def validate_exchange_body(body: Any) -> dict[str, Any]:
    """Check the envelope ``{action:{type,...}, nonce, signature:{r,s,v}, vaultAddress?, expiresAfter?}``."""
    if not isinstance(body, dict):
        raise Undeserializable("expected an object")
    action = body.get("action")
    if not isinstance(action, dict) or not isinstance(action.get("type"), str):
        raise Undeserializable("missing field `action.type`")
    nonce = body.get("nonce")
    if not isinstance(nonce, int) or isinstance(nonce, bool) or nonce < 0:
        raise Undeserializable("missing or invalid field `nonce`")
    sig = body.get("signature")
    if not isinstance(sig, dict) or not all(k in sig for k in ("r", "s", "v")):
        raise Undeserializable("missing or invalid field `signature`")
    vault = body.get("vaultAddress")
    if vault is not None and (not isinstance(vault, str) or not _ADDRESS.match(vault)):
        raise Undeserializable("invalid value for `vaultAddress`")
    expires = body.get("expiresAfter")
    if expires is not None and (not isinstance(expires, int) or isinstance(expires, bool)):
        raise Undeserializable("invalid value for `expiresAfter`")
    return body


class ExchangeService:
    """Answers ``/exchange`` bodies.

    The envelope is validated (422 otherwise), then the body goes to the handler set with
    ``set_exchange_handler``, else to a canned response for its action type
    (``set_exchange_response`` / fixtures), else to :attr:`engine` (the signature-checking
    matching engine, :class:`~hyperliquid_client.testing.engine.ExchangeEngine`); without an engine an
    action gets ``{"status": "err", "response": "..."}``.
    """

    def __init__(self, state: ExchangeState, engine: ExchangeHandler | None = None) -> None:
        self.state = state
        self.canned: dict[str, Any] = {}
        self.handler: ExchangeHandler | None = None
        self.engine: ExchangeHandler | None = engine
        self._lock = threading.Lock()

    def set_response(self, action_type: str, response: Any) -> None:
        """Answer every ``action_type`` action with ``response`` (JSON value, Reply or callable(body))."""
        if not isinstance(action_type, str) or not action_type:
            raise InvalidInputError("action_type", "a non-empty action type", action_type)
        with self._lock:
            self.canned[action_type] = response

    async def handle(self, body: Any) -> Reply:
        """Answer one ``/exchange`` body; raises :class:`Undeserializable` for a bad envelope."""
        body = validate_exchange_body(body)
        handler = self.handler
        if handler is not None:
            value = await resolve(handler(body))
        else:
            action_type = body["action"]["type"]
            with self._lock:
                canned = self.canned.get(action_type, _MISSING)
            if canned is _MISSING and self.engine is not None:
                value = await resolve(self.engine(body))
            elif canned is _MISSING:
                value = {
                    "status": "err",
                    "response": f"The fake exchange has no handler for action '{action_type}' "
                    "(set one with set_exchange_handler or set_exchange_response)",
                }
            elif callable(canned):
                value = await resolve(canned(body))
            else:
                value = canned
        return value if isinstance(value, Reply) else Reply(payload=value)


_MISSING = object()

#: The address ``ok_answer`` gives a new sub-account or vault.
OK_ANSWER_ADDRESS = "0x" + "5a" * 20


def ok_answer(body: Mapping[str, Any]) -> dict[str, Any]:
    """A well-formed acceptance of the action in ``body``, as the real exchange would shape it.

    For ``set_exchange_handler(ok_answer)``: a test that only pins what is sent gets an answer the
    client can read.  Orders (and modifies) rest with oids 1, 2, ... (echoing their cloids), cancels
    succeed, a TWAP runs with id 1, a new sub-account or vault is :data:`OK_ANSWER_ADDRESS`; a
    ``multiSig`` gets the answer of the action it wraps; anything else ``{"type": "default"}``.
    """
    action = body.get("action")
    action = action if isinstance(action, Mapping) else {}
    type_ = action.get("type")
    if type_ == "multiSig":
        payload = action.get("payload")
        inner = payload.get("action") if isinstance(payload, Mapping) else None
        return ok_answer({"action": inner if isinstance(inner, Mapping) else {}})
    data: Any
    if type_ in ("order", "batchModify"):
        items = action.get("orders") if type_ == "order" else action.get("modifies")
        statuses = []
        for i, item in enumerate(items if isinstance(items, list) else []):
            order = item.get("order", item) if isinstance(item, Mapping) else {}
            resting: dict[str, Any] = {"oid": i + 1}
            if isinstance(order, Mapping) and order.get("c") is not None:
                resting["cloid"] = order["c"]
            statuses.append({"resting": resting})
        type_, data = "order", {"statuses": statuses}
    elif type_ in ("cancel", "cancelByCloid"):
        cancels = action.get("cancels")
        data = {"statuses": ["success"] * (len(cancels) if isinstance(cancels, list) else 0)}
    elif type_ == "twapOrder":
        data = {"status": {"running": {"twapId": 1}}}
    elif type_ == "twapCancel":
        data = {"status": "success"}
    elif type_ in ("createSubAccount", "createVault"):
        data = OK_ANSWER_ADDRESS
    else:
        return {"status": "ok", "response": {"type": "default"}}
    return {"status": "ok", "response": {"type": type_, "data": data}}


# ------------------------------------------------------------------ /explorer
class ExplorerService:
    """Answers ``/explorer`` bodies from a :class:`ResponseTable`; built-in empty answers otherwise."""

    KNOWN = ("blockDetails", "txDetails", "userDetails", "blockList")

    def __init__(self, table: ResponseTable) -> None:
        self.table = table

    async def handle(self, body: Any) -> Reply:
        """Answer one ``/explorer`` body; raises :class:`Undeserializable` for a bad body."""
        if not isinstance(body, Mapping) or not isinstance(body.get("type"), str):
            raise Undeserializable("missing field `type`")
        type_ = body["type"]
        canned = await self.table.answer(type_, body)
        if canned is not None:
            return canned
        if type_ not in self.KNOWN:
            raise Undeserializable(f"unknown variant `{type_}`")
        if type_ == "userDetails":
            _user(body)
            return Reply(payload={"type": "userDetails", "txs": []})
        return Reply(payload={"type": "error", "message": f"{type_}: not found"})
