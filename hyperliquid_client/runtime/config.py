"""Networks and where to reach them.

Three named networks exist: ``mainnet``, ``testnet`` and ``custom`` (any base URL, e.g. the
local fake exchange).  Precedence, most specific first: explicit arguments, then the
environment (``HYPERLIQUID_NETWORK``, ``HYPERLIQUID_HTTP_URL``, ``HYPERLIQUID_WS_URL``), then
mainnet.  An invalid value raises :class:`~hyperliquid_client.runtime.errors.ConfigError` naming the
setting.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from typing import Any, TypeGuard
from urllib.parse import urlsplit

from hyperliquid_client.runtime.errors import ConfigError, hide_password, shown
from hyperliquid_client.runtime.record import frozen

__all__ = [
    "MAINNET",
    "TESTNET",
    "Network",
    "check_number",
    "finite",
    "repr_hiding",
    "resolve_network",
]

ENV_NETWORK = "HYPERLIQUID_NETWORK"
ENV_HTTP_URL = "HYPERLIQUID_HTTP_URL"
ENV_WS_URL = "HYPERLIQUID_WS_URL"


def repr_hiding(config: Any, *secret: str) -> str:
    """A dataclass's repr with the password of each field named in ``secret`` (text or ``None``) hidden."""
    shown = (
        f"{f.name}={hide_password(v) if f.name in secret and v is not None else v!r}"
        for f in dataclasses.fields(config)
        if f.repr
        for v in (getattr(config, f.name),)
    )
    return f"{type(config).__name__}({', '.join(shown)})"


def finite(value: object) -> TypeGuard[int | float]:
    """Whether ``value`` is a number (not a ``bool``) a float holds finitely: an int past a float's range is a
    refused setting, not an ``OverflowError`` where it is first used."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def check_number(name: str, value: object, *, zero: bool = False, none: bool = False, integer: bool = False) -> None:
    """Refuse setting ``name`` (:class:`ConfigError`) unless ``value`` is a finite number > 0: ``zero`` allows 0,
    ``none`` allows ``None``, ``integer`` asks for an ``int`` (a ``bool`` is never a number here)."""
    if value is None and none:
        return
    if not finite(value) or (integer and not isinstance(value, int)) or value < 0 or (value == 0 and not zero):
        kind = f"{'an integer' if integer else 'a finite number'} {'>= 0' if zero else '> 0'}"
        raise ConfigError(name, f"expected {kind}{' or None' if none else ''}, got {shown(value)}")


@frozen
class Network:
    """Every URL the client talks to on one network, and which chain it signs for.

    ``is_mainnet`` selects the L1 signing source (``"a"`` mainnet, ``"b"`` otherwise) and the
    ``hyperliquidChain`` of user-signed actions.  Custom networks sign as testnet unless told
    otherwise, so a signature made for a test server can never be replayed on mainnet.
    """

    name: str
    http_url: str
    ws_url: str
    explorer_url: str
    explorer_ws_url: str
    stats_url: str
    is_mainnet: bool

    @property
    def info_url(self) -> str:
        """``POST`` URL of the info API."""
        return self.http_url + "/info"

    @property
    def exchange_url(self) -> str:
        """``POST`` URL of the exchange API."""
        return self.http_url + "/exchange"

    @property
    def chain_name(self) -> str:
        """``"Mainnet"`` or ``"Testnet"`` as written into user-signed actions."""
        return "Mainnet" if self.is_mainnet else "Testnet"

    @property
    def stats_path(self) -> str:
        """Path segment of the stats host (``Mainnet``/``Testnet``)."""
        return self.chain_name


MAINNET = Network(
    name="mainnet",
    http_url="https://api.hyperliquid.xyz",
    ws_url="wss://api.hyperliquid.xyz/ws",
    explorer_url="https://rpc.hyperliquid.xyz/explorer",
    explorer_ws_url="wss://rpc.hyperliquid.xyz/ws",
    stats_url="https://stats-data.hyperliquid.xyz/Mainnet",
    is_mainnet=True,
)

TESTNET = Network(
    name="testnet",
    http_url="https://api.hyperliquid-testnet.xyz",
    ws_url="wss://api.hyperliquid-testnet.xyz/ws",
    explorer_url="https://rpc.hyperliquid-testnet.xyz/explorer",
    explorer_ws_url="wss://rpc.hyperliquid-testnet.xyz/ws",
    stats_url="https://stats-data.hyperliquid-testnet.xyz/Testnet",
    is_mainnet=False,
)

_NAMED = {"mainnet": MAINNET, "testnet": TESTNET}


def _check_url(setting: str, url: str, schemes: tuple[str, ...]) -> str:
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(setting, f"expected a URL with scheme {'/'.join(schemes)}, got {shown(url)}")
    parts = urlsplit(url.strip())
    if parts.scheme not in schemes or not parts.netloc:
        raise ConfigError(setting, f"expected a URL with scheme {'/'.join(schemes)}, got {shown(url)}")
    return url.strip().rstrip("/")


def custom_network(http_url: str, ws_url: str | None = None, *, is_mainnet: bool = False) -> Network:
    """A network at ``http_url`` (for example the fake exchange).

    The WebSocket URL defaults to the HTTP one with ``ws``/``wss`` and ``/ws``; explorer and
    stats are served under ``/explorer`` and ``/stats/<Chain>`` of the same base.
    """
    base = _check_url("http_url", http_url, ("http", "https"))
    if ws_url is None:
        ws = ("wss" + base[5:] if base.startswith("https") else "ws" + base[4:]) + "/ws"
    else:
        ws = _check_url("ws_url", ws_url, ("ws", "wss"))
    chain = "Mainnet" if is_mainnet else "Testnet"
    return Network(
        name="custom",
        http_url=base,
        ws_url=ws,
        explorer_url=base + "/explorer",
        explorer_ws_url=ws,
        stats_url=f"{base}/stats/{chain}",
        is_mainnet=is_mainnet,
    )


def _same_url(a: str, b: str) -> bool:
    return isinstance(a, str) and a.strip().rstrip("/").lower() == b.lower()


def _official(url: str | None) -> Network | None:
    """The named network whose HTTP or WebSocket URL ``url`` is, if any."""
    if url is None:
        return None
    return next((n for n in _NAMED.values() if _same_url(url, n.http_url) or _same_url(url, n.ws_url)), None)


def resolve_network(
    network: str | Network | None = None,
    *,
    http_url: str | None = None,
    ws_url: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Network:
    """Work out the :class:`Network` from arguments, then the environment, then mainnet.

    ``network`` is ``"mainnet"``, ``"testnet"`` or a :class:`Network`.  ``http_url`` /
    ``ws_url`` replace the URLs of the chosen network: a custom URL on an explicitly named network
    keeps that network's chain for signing; a custom URL alone signs as testnet, so a signature
    made for a test server can never be replayed on mainnet.  The official URLs (HTTP or WebSocket) of
    mainnet and testnet name their network; naming the other network with them is a ``ConfigError``.
    """
    if env is not None and not isinstance(env, Mapping):
        raise ConfigError("env", f"expected a mapping of environment variables, got {type(env).__name__}")
    environ = os.environ if env is None else env
    for name in (ENV_NETWORK, ENV_HTTP_URL, ENV_WS_URL):
        if not isinstance(environ.get(name, ""), str):
            raise ConfigError(name, f"expected text, got {type(environ[name]).__name__}")
    setting = "network"
    if network is None:
        raw = environ.get(ENV_NETWORK)
        if raw is not None and raw.strip():
            network, setting = raw.strip().lower(), ENV_NETWORK
    explicit = network is not None
    if network is None:
        base = MAINNET
    elif isinstance(network, Network):
        base = network
    elif isinstance(network, str) and network.lower() in _NAMED:
        base = _NAMED[network.lower()]
    else:
        raise ConfigError(setting, f"expected one of {sorted(_NAMED)}, got {shown(network)}")

    http_setting, ws_setting = "http_url", "ws_url"
    if http_url is None and environ.get(ENV_HTTP_URL):
        http_url, http_setting = environ[ENV_HTTP_URL], ENV_HTTP_URL
    explicit_http = http_url is not None and http_setting == "http_url"
    if ws_url is None and environ.get(ENV_WS_URL) and not explicit_http:
        # an explicit http_url derives its own WebSocket URL rather than mixing in the environment's
        ws_url, ws_setting = environ[ENV_WS_URL], ENV_WS_URL
    for url, url_setting in ((http_url, http_setting), (ws_url, ws_setting)):
        official = _official(url)
        if official is None:
            continue
        if explicit and official.is_mainnet != base.is_mainnet:
            raise ConfigError(
                url_setting, f"{url!r} is {official.name}'s URL, but the network named signs for {base.chain_name}"
            )
        base, explicit = official, True  # an official URL names its network (and the chain it signs for)
    if (http_url is None or _same_url(http_url, base.http_url)) and (ws_url is None or _same_url(ws_url, base.ws_url)):
        return base
    if http_url is not None:
        try:
            # a custom server signs for the named network's chain; with no network named, as testnet
            custom = custom_network(http_url, None, is_mainnet=base.is_mainnet and explicit)
        except ConfigError as exc:
            raise ConfigError(http_setting, str(exc).split(": ", 1)[1]) from None
    else:
        custom = dataclasses.replace(base, name="custom")
    if ws_url is not None:
        ws = _check_url(ws_setting, ws_url, ("ws", "wss"))
        custom = dataclasses.replace(custom, ws_url=ws, explorer_ws_url=ws)
    return custom
