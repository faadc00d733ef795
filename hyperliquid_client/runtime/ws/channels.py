"""Channel descriptions, subscription identity and parameter validation (pure, no I/O).

A subscription's identity (:class:`SubscriptionKey`) is its type plus *all* its parameters, normalized the way the
server normalizes them: ``None`` values are dropped (the server treats an explicit ``null`` like an absent key) and
addresses are lower-cased.  Two ``l2Book`` subscriptions differing only in ``nSigFigs`` are different keys.

Routing is a different question: the server's data messages do not carry every parameter (``l2Book`` data has no
``nSigFigs``), so :class:`ChannelInfo.route_fields` names the parameters that *can* be read back from a data message.
Subscriptions of one type whose route values are equal but whose keys differ are never placed on the same connection,
which is how "never receive each other's data" holds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from hyperliquid_client.runtime.errors import InvalidInputError
from hyperliquid_client.runtime.record import frozen

__all__ = ["ChannelInfo", "SubscriptionKey", "make_key", "route_value", "validate_params"]

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_TYPE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


@frozen
class ChannelInfo:
    """Static description of one subscription type (the generated registry builds one per channel spec).

    ``type``: the subscription type sent to the server (``"l2Book"``, ``"userEvents"``).
    ``channels``: data channel names its messages arrive on (``("user",)`` for ``userEvents``;
    ``("activeAssetCtx", "activeSpotAssetCtx")`` for ``activeAssetCtx``).
    ``route_fields``: ``(param name, data path)`` pairs whose values in a data message tell which same-type
    subscription it belongs to (``(("coin", "s"), ("interval", "i"))`` for ``candle``); dotted paths allowed; when the
    data is a list the first element is inspected.
    ``user_param``: name of the user address parameter (counts toward user limits; required and validated).
    ``market_data``: market data defaults to the ``drop_oldest`` overflow policy and may be flagged stale; user data
    defaults to the ``error`` policy with a large hard cap (never dropped silently) and is recovered after gaps.
    ``snapshot``: the first message carries ``isSnapshot``.
    ``dedup_key``: item -> hashable identity, enables de-duplication and gap recovery (fills: ``(hash, tid)``).
    ``items_key``: where the items live in a data message (``"fills"``); ``None`` means the data itself is the list
    (``orderUpdates``).
    ``time_key``: item field holding its time in ms (``"time"``; ``"statusTimestamp"`` for order updates); recovery
    fetches from the newest delivered item's time.
    ``required``: parameters that must be present and not ``None``; by default the route parameters and the user
    parameter.
    ``recovery``: name of the HTTP request that fetches items missed during a gap (``"userFillsByTime"``); ``None``:
    not recoverable.  ``recover_limit``: most items one answer of it holds (an answer that full may be truncated:
    recovery pages on); ``recover_windowed``: it takes a time window (``startTime`` / ``endTime``), so recovery can
    page by time; otherwise a full answer that does not reach back to the gap's start leaves a :class:`~.Gap`.
    ``stale_after``: seconds of silence after which this (normally busy) market-data channel is flagged stale under
    ``WsConfig(stale_after="auto")``; ``None``: never flagged by default.
    ``frame_field``: the channel's messages arrive as bare JSON arrays without the ``channel``/``data`` envelope (the
    explorer's feeds); a bare frame whose first item has this field is this channel's.
    ``state``: the server sends the current state first and every message is the whole state (``l2Book``, ``bbo``):
    a subscriber joining a live market-data stream of it gets the newest message first, as a new subscription would.
    """

    type: str
    channels: tuple[str, ...]
    route_fields: tuple[tuple[str, str], ...] = ()
    user_param: str | None = None
    market_data: bool = True
    snapshot: bool = False
    dedup_key: Callable[[Any], Hashable] | None = None
    items_key: str | None = None
    time_key: str = "time"
    required: tuple[str, ...] | None = None
    recovery: str | None = None
    recover_limit: int | None = None
    recover_windowed: bool = False
    stale_after: float | None = None
    frame_field: str | None = None
    state: bool = False

    @property
    def required_params(self) -> tuple[str, ...]:
        """Names of the parameters that must be given."""
        if self.required is not None:
            return self.required
        names = [p for p, _ in self.route_fields]
        if self.user_param and self.user_param not in names:
            names.append(self.user_param)
        return tuple(names)

    def items_of(self, data: Any) -> list[Any] | None:
        """The de-duplicable items of one data message, or ``None`` when the message holds none."""
        if self.items_key is None:
            return data if type(data) is list or isinstance(data, list) else None
        if type(data) is dict or isinstance(data, Mapping):
            items = data.get(self.items_key)
            return items if isinstance(items, list) else None
        return None

    def with_items(self, data: Any, items: list[Any]) -> Any:
        """A copy of ``data`` whose items are replaced by ``items``."""
        if self.items_key is None:
            return items
        out = dict(data)
        out[self.items_key] = items
        return out

    def wrap_recovered(self, params: Mapping[str, Any], items: list[Any]) -> Any:
        """Build a data message (same shape as the channel's) carrying recovered ``items``."""
        if self.items_key is None:
            return items
        data: dict[str, Any] = {}
        for param, path in self.route_fields:
            if "." not in path and param in params:
                data[path] = params[param]
        data[self.items_key] = items
        return data

    def item_time(self, item: Any) -> int | None:
        """The item's time in ms, when it has one."""
        if isinstance(item, Mapping):
            t = item.get(self.time_key)
            if isinstance(t, int) and not isinstance(t, bool):
                return t
        return None


def _norm(value: Any) -> Any:
    if type(value) is str and len(value) == 42 and _ADDRESS.match(value):
        return value.lower()
    return value


def plain_route(route_fields: tuple[tuple[str, str], ...]) -> str | None:
    """The data key when a channel is routed by one plain (undotted) field, else ``None``: such channels' routing
    keys are the values themselves (no tuple to build per message)."""
    if len(route_fields) == 1 and "." not in route_fields[0][1]:
        return route_fields[0][1]
    return None


def make_router(route_fields: tuple[tuple[str, str], ...]) -> Callable[[Any], Any]:
    """A function computing the routing key of a data message: the route tuple, or the value itself for one plain
    field (:func:`plain_route`)."""
    paths = tuple(path for _, path in route_fields)
    if not paths:
        return lambda data: ()
    path = plain_route(route_fields)
    if path is not None:
        return lambda data: route_value(data, path)
    return lambda data: tuple([route_value(data, p) for p in paths])


@frozen
class SubscriptionKey:
    """Identity of one upstream subscription: type plus every (normalized) parameter, hashable and ordered."""

    type: str
    params: tuple[tuple[str, str], ...]  # (name, JSON text of the normalized value), sorted by name

    @property
    def subscription(self) -> dict[str, Any]:
        """The ``subscription`` object sent to the server."""
        out: dict[str, Any] = {"type": self.type}
        for name, text in self.params:
            out[name] = json.loads(text)
        return out

    def param(self, name: str) -> Any:
        """The normalized value of parameter ``name`` (``None`` when absent)."""
        for n, text in self.params:
            if n == name:
                return json.loads(text)
        return None

    def __str__(self) -> str:
        return json.dumps(self.subscription, sort_keys=True, separators=(",", ":"))


def make_key(type_: str, params: Mapping[str, Any]) -> SubscriptionKey:
    """Normalize ``type_`` and ``params`` into a :class:`SubscriptionKey` (``None`` dropped, addresses lower-cased)."""
    items = []
    for name in sorted(params):
        value = params[name]
        if value is None or name == "type":
            continue
        items.append((name, json.dumps(_norm(value), sort_keys=True, separators=(",", ":"))))
    return SubscriptionKey(type_, tuple(items))


def key_from_echo(subscription: Mapping[str, Any]) -> SubscriptionKey | None:
    """Key of a server echo (``subscriptionResponse`` / error strings); ``None`` when it has no type."""
    type_ = subscription.get("type")
    if not isinstance(type_, str):
        return None
    return make_key(type_, {k: v for k, v in subscription.items() if k != "type"})


def echo_matches(key: SubscriptionKey, echo: SubscriptionKey) -> bool:
    """True when the normalized server echo ``echo`` acknowledges ``key``: same type, every param of ``key`` present
    with the same value; extra echo params must hold defaults (``null`` is already dropped, ``false``)."""
    if key.type != echo.type:
        return False
    mine = dict(key.params)
    theirs = dict(echo.params)
    for name, text in mine.items():
        if theirs.get(name) != text:
            return False
    return all(name in mine or text in ("false", '""') for name, text in theirs.items())


def route_value(data: Any, path: str) -> Any:
    """Read ``path`` (dotted) from a data message for routing; lists are routed by their first element."""
    node = data
    if isinstance(node, list):
        if not node:
            return None
        node = node[0]
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return _norm(node)


def route_of_params(channel: ChannelInfo, params: Mapping[str, Any]) -> tuple[Any, ...]:
    """The route tuple a subscription expects in its data messages."""
    return tuple(_norm(params.get(p)) for p, _ in channel.route_fields)


def routing_key(channel: ChannelInfo, params: Mapping[str, Any]) -> Any:
    """The key :func:`make_router` computes from the data messages a subscription expects."""
    route = route_of_params(channel, params)
    return route[0] if plain_route(channel.route_fields) is not None else route


def validate_params(channel: ChannelInfo, params: Any) -> dict[str, Any]:
    """Check ``params`` for ``channel`` before anything is sent; return a clean copy (``None`` values dropped).

    Raises :class:`InvalidInputError` naming the bad parameter.
    """
    if not isinstance(channel, ChannelInfo):
        raise InvalidInputError("channel", "a ChannelInfo", type(channel).__name__)
    if not _TYPE_NAME.match(channel.type):
        raise InvalidInputError("channel.type", "an alphanumeric subscription type", channel.type)
    if not isinstance(params, Mapping):
        raise InvalidInputError("params", "a mapping of parameter names to values", type(params).__name__)
    clean: dict[str, Any] = {}
    for name, value in params.items():
        if not isinstance(name, str) or not name:
            raise InvalidInputError("params", "string parameter names", name)
        if name == "type":
            if value != channel.type:
                raise InvalidInputError("params.type", f"absent or {channel.type!r}", value)
            continue
        if value is None:
            continue
        if isinstance(value, float) and value != value:  # NaN
            raise InvalidInputError(f"params.{name}", "a finite number", value)
        if not isinstance(value, str | int | float | bool):
            raise InvalidInputError(f"params.{name}", "a string, number or boolean", value)
        if isinstance(value, str) and (not value or len(value) > 200):
            raise InvalidInputError(f"params.{name}", "a non-empty string of at most 200 characters", value)
        clean[name] = value
    for name in channel.required_params:
        if name not in clean:
            raise InvalidInputError(f"params.{name}", f"a value (required by {channel.type})")
    if channel.user_param is not None:
        user = clean.get(channel.user_param)
        if user is not None and not (isinstance(user, str) and _ADDRESS.match(user)):
            raise InvalidInputError(f"params.{channel.user_param}", "a 0x-prefixed 40-hex-digit address", user)
    return clean
