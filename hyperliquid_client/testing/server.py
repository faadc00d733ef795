"""The local fake Hyperliquid exchange: a real HTTP/1.1 + WebSocket server on 127.0.0.1.

Built on aiohttp (keep-alive HTTP and WebSocket in one server, with access to the transport for
fault injection).  Two ways to run it:

* sync: ``with FakeExchange() as fx:`` (or ``fx.start()`` / ``fx.stop()``) runs the server on its
  own event loop in a daemon thread; every method may be called from any thread.
* async: ``async with FakeExchange() as fx:`` (or ``await fx.astart()`` / ``await fx.aclose()``)
  runs it on the current event loop.

See ``docs/testing.md`` for the whole API and the wire behaviour it reproduces.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation, localcontext, setcontext
from types import TracebackType
from typing import Any

from aiohttp import WSMsgType, web

from hyperliquid_client.generated.registry import CHANNELS
from hyperliquid_client.runtime.errors import InvalidInputError
from hyperliquid_client.runtime.log import get_logger, log
from hyperliquid_client.testing.engine import ExchangeEngine
from hyperliquid_client.testing.faults import Fault, FaultHandle, FaultKind, FaultRules
from hyperliquid_client.testing.fixtures import Fixture, iter_fixtures
from hyperliquid_client.testing.handlers import (
    ExchangeHandler,
    ExchangeService,
    ExplorerService,
    InfoService,
    Reply,
    ResponseTable,
    Undeserializable,
    resolve,
    unprocessable,
)
from hyperliquid_client.testing.market import DECIMALS, MarketData, now_ms, seed_market
from hyperliquid_client.testing.ratelimits import WeightLimiter, request_weight, surcharge
from hyperliquid_client.testing.recording import RecordedRequest, RequestLog
from hyperliquid_client.testing.samples import sample_message
from hyperliquid_client.testing.state import ExchangeState, empty_clearinghouse_state
from hyperliquid_client.testing.subscriptions import (
    SNAPSHOT_FEEDS,
    InvalidSubscription,
    RefusedSubscription,
    channel_for,
    compact_json,
    normalize_subscription,
    subscription_key,
    user_of,
)

__all__ = ["FakeExchange", "SubscribeHook"]

_log = get_logger("hyperliquid_client.testing.fake")

#: ``hook(subscription) -> data | None`` (sync or async), see :meth:`FakeExchange.on_subscribe`.
SubscribeHook = Callable[[dict[str, Any]], Any]

PARSE_ERROR = "Error parsing JSON into valid websocket request: "
_WS_MESSAGE_FAULTS = frozenset({FaultKind.WS_DROP, FaultKind.HANG, FaultKind.STATUS})
_WS_CONNECT_FAULTS = frozenset({FaultKind.WS_DROP, FaultKind.HANG, FaultKind.STATUS})
_DEFAULT_MALFORMED = b'{"status":"ok","response":{"type":"order","data":{"statuses":[{"resting":{"oid":1}},,]}}'
_CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "*"}
_ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")
#: Queued on a connection's writer: send what is queued before it, then drop the socket (no close frame).
_ABORT: tuple[str, str | None] = ("", "abort")
#: Snapshot feeds the real server sends whole (the ledger snapshot is the whole history).
_UNBOUNDED_SNAPSHOTS = frozenset({"userNonFundingLedgerUpdates"})


def _parse(raw: bytes | str) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None


def _peer(request: web.Request) -> str | None:
    transport = request.transport
    info = transport.get_extra_info("peername") if transport is not None else None
    if isinstance(info, tuple) and len(info) >= 2:
        return f"{info[0]}:{info[1]}"
    return None


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _bare(norm: Mapping[str, Any]) -> bool:
    """Whether the subscription's data frames are bare (the explorer's feeds: no ``channel``/``data`` envelope)."""
    spec = CHANNELS.get(norm["type"])
    return spec is not None and spec.explorer


def _data_frame(norm: Mapping[str, Any], channel: str, data: Any) -> str:
    """The text of one data frame of the subscription ``norm``, framed as the real server frames it."""
    return _dumps(data) if _bare(norm) else _dumps({"channel": channel, "data": data})


class _Conn:
    """One WebSocket connection (lives on the server loop)."""

    def __init__(self, cid: int, ws: web.WebSocketResponse, request: web.Request, now: float) -> None:
        self.id = cid
        self.ws = ws
        self.transport = request.transport
        self.ip = request.remote or ""
        self.peer = _peer(request)
        self.queue: asyncio.Queue[tuple[str, str | None] | None] = asyncio.Queue()
        self.subs: dict[str, dict[str, Any]] = {}
        self.last_sent = now
        self.closing = False
        #: a refused subscription: nothing more is read, the socket drops once the queue is sent
        self.doomed = False

    def enqueue(self, text: str, channel: str | None) -> None:
        if not self.closing:
            self.queue.put_nowait((text, channel))


class FakeExchange:
    """A local fake Hyperliquid exchange (HTTP ``/info``, ``/exchange``, ``/explorer``, ``/stats``, WS ``/ws``).

    Args:
        seed: start with the built-in realistic market (:func:`~hyperliquid_client.testing.market.seed_market`)
            and stats (empty leaderboard and vault list).  ``False`` starts empty.
        host, port: where to listen; port 0 (default) picks a free port.
        idle_timeout: seconds without *server-to-client* traffic after which a WebSocket is closed
            abruptly (as the real server does after 60 s); ``None`` disables it.
        max_subscriptions: subscriptions allowed per WebSocket connection.
        max_users: distinct users allowed across user-specific subscriptions, per client IP.
        snapshots: send the ``isSnapshot: true`` first message of user snapshot feeds
            (``userFills``, ``userFundings``, ...) from :attr:`state`, as the real server does.
        snapshot_cap: most rows in such a snapshot (the most recent ones; ``None``: all), like the real
            server's bounded snapshots (``userFills`` holds the 2000 most recent fills, as the info
            request does); ``userNonFundingLedgerUpdates`` is always whole.
        close_on_bad_subscription: answer a subscription with an unknown coin or a refused value
            (``l2Book`` ``nSigFigs: 6``) by dropping the socket without a reply (1006, no close frame),
            as the real server does; ``False`` answers with the parse error and keeps the socket.
        market_snapshots: send the first message the real server sends right after the ack of the
            other subscriptions (the spec's ``initial``: the current book, mids, contexts and account
            state from the market and the engine, the ``trades`` backfill, else the spec's sample);
            ``False`` sends only what is published later.
        greeting: send the legacy ``Websocket connection established.`` text frame on connect.
        require_json_content_type: answer POSTs without ``Content-Type: application/json`` with 415.
        fills_cap: most fills returned by ``userFills`` / ``userFillsByTime``.
        max_recorded: requests kept in :attr:`requests` (oldest dropped first).
        chain: ``"Testnet"`` (default) or ``"Mainnet"``: the chain whose signatures ``/exchange``
            accepts (L1 phantom-agent source ``b``/``a``; user-signed ``hyperliquidChain``).
        nonce_window: nonces remembered per signer (100 on the real exchange).
        clock: ``() -> ms`` used by the trading engine (nonce window, ``expiresAfter``,
            timestamps of orders and fills, scheduled cancels); default wall-clock time.
        weight_limit, weight_window: the IP weight limit (1200 per 60 s, as the real API): weight
            counted per IP per fixed window of ``weight_window`` seconds (spec weights; HTTP and
            WebSocket posts); a request past it is answered 429 with the body ``null``.  A test knob:
            a smaller limit per shorter window keeps rate-limit tests fast; ``None`` turns it off.
            :attr:`weights` holds the counts per window and every 429 given.
    """

    def __init__(
        self,
        *,
        seed: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        idle_timeout: float | None = 60.0,
        max_subscriptions: int = 1000,
        max_users: int = 10,
        snapshots: bool = True,
        snapshot_cap: int | None = 2000,
        close_on_bad_subscription: bool = False,
        market_snapshots: bool = True,
        greeting: bool = False,
        require_json_content_type: bool = True,
        fills_cap: int = 2000,
        max_recorded: int = 100_000,
        chain: str = "Testnet",
        nonce_window: int = 100,
        clock: Callable[[], int] | None = None,
        weight_limit: int | None = 1200,
        weight_window: float = 60.0,
    ) -> None:
        if weight_limit is not None and (
            not isinstance(weight_limit, int) or isinstance(weight_limit, bool) or weight_limit < 1
        ):
            raise InvalidInputError("weight_limit", "an integer >= 1 or None", weight_limit)
        if not isinstance(weight_window, int | float) or isinstance(weight_window, bool) or weight_window <= 0:
            raise InvalidInputError("weight_window", "a positive number of seconds", weight_window)
        if idle_timeout is not None and (not isinstance(idle_timeout, int | float) or idle_timeout <= 0):
            raise InvalidInputError("idle_timeout", "a positive number of seconds or None", idle_timeout)
        for name, value in (("max_subscriptions", max_subscriptions), ("max_users", max_users)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InvalidInputError(name, "an integer >= 0", value)
        if snapshot_cap is not None and (
            not isinstance(snapshot_cap, int) or isinstance(snapshot_cap, bool) or snapshot_cap < 1
        ):
            raise InvalidInputError("snapshot_cap", "a positive integer or None", snapshot_cap)
        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise InvalidInputError("port", "a TCP port (0 = any free port)", port)
        if chain not in ("Mainnet", "Testnet"):
            raise InvalidInputError("chain", '"Mainnet" or "Testnet"', chain)
        if not isinstance(nonce_window, int) or isinstance(nonce_window, bool) or nonce_window < 1:
            raise InvalidInputError("nonce_window", "an integer >= 1", nonce_window)
        if clock is not None and not callable(clock):
            raise InvalidInputError("clock", "a callable returning milliseconds", type(clock).__name__)
        self.chain = chain
        self.host = host
        self._wanted_port = port
        self.idle_timeout = idle_timeout
        self.max_subscriptions = max_subscriptions
        self.max_users = max_users
        self.snapshots = snapshots
        self.snapshot_cap = snapshot_cap
        self.close_on_bad_subscription = close_on_bad_subscription
        #: Subscriptions answered by dropping the socket (``close_on_bad_subscription``), in order.
        self.refused_subscriptions: list[Any] = []
        self.market_snapshots = market_snapshots
        self.greeting = greeting
        self.require_json_content_type = require_json_content_type

        self._lock = threading.RLock()
        with localcontext(DECIMALS):  # (its own arithmetic, whatever the caller's decimal context)
            self.market: MarketData = seed_market() if seed else MarketData()
        self.state = ExchangeState(publisher=self.publish)
        self._info_table = ResponseTable()
        self._explorer_table = ResponseTable()
        #: The trading engine behind ``/exchange`` (accounts, agents, nonces, books).
        self.engine = ExchangeEngine(
            self.market, self.state, chain=chain, nonce_window=nonce_window, clock=clock or now_ms
        )
        self._info = InfoService(
            self.market, self.state, self._info_table, fills_cap=fills_cap, trades=self._recent_trades
        )
        self._exchange = ExchangeService(self.state, self.engine.handle)
        self._explorer = ExplorerService(self._explorer_table)
        self._stats: dict[str, Any] = {"leaderboard": {"leaderboardRows": []}, "vaults": []} if seed else {}
        self._faults = FaultRules()
        #: Weight counted per IP and window, and every 429 it gave (see :mod:`.ratelimits`).
        self.weights = WeightLimiter(weight_limit, float(weight_window))
        self._log = RequestLog(max_recorded)
        self._hooks: list[SubscribeHook] = []
        self._replays: dict[str, list[tuple[str, Any]]] = {}

        self._conns: dict[int, _Conn] = {}
        self._subs: dict[str, dict[int, _Conn]] = {}
        self._next_conn = 0
        self._accepted = 0
        self._tasks: set[asyncio.Task[Any]] = set()

        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        self._port: int | None = None

    # ================================================================ lifecycle
    @property
    def running(self) -> bool:
        """True between start and stop."""
        return self._port is not None

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        if self._port is None:
            raise RuntimeError("the fake exchange is not running; call start() / astart() first")
        return self._port

    @property
    def http_url(self) -> str:
        """``http://127.0.0.1:<port>`` (base of ``/info``, ``/exchange``, ``/explorer``, ``/stats``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """``ws://127.0.0.1:<port>/ws``."""
        return f"ws://{self.host}:{self.port}/ws"

    def start(self) -> FakeExchange:
        """Start on a private event loop in a daemon thread; returns self once it accepts connections."""
        if self._loop is not None:
            raise RuntimeError("the fake exchange is already started")
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        thread = threading.Thread(target=run, name="hyperliquid-fake-exchange", daemon=True)
        thread.start()
        ready.wait()
        self._loop, self._thread = loop, thread
        try:
            asyncio.run_coroutine_threadsafe(self._serve(), loop).result(timeout=30)
        except BaseException:
            self._stop_thread()
            raise
        return self

    def stop(self) -> None:
        """Stop a server started with :meth:`start` (idempotent)."""
        if self._thread is None:
            if self._loop is not None:
                raise RuntimeError("this fake exchange runs on an asyncio loop: use `await aclose()`")
            return
        loop = self._loop
        assert loop is not None
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=30)
        finally:
            self._stop_thread()

    def _stop_thread(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            if not thread.is_alive():
                loop.close()
        self._loop = self._thread = None

    async def astart(self) -> FakeExchange:
        """Start on the running event loop; returns self."""
        if self._loop is not None:
            raise RuntimeError("the fake exchange is already started")
        self._loop = asyncio.get_running_loop()
        try:
            await self._serve()
        except BaseException:
            self._loop = None
            raise
        return self

    async def aclose(self) -> None:
        """Stop a server started with :meth:`astart` (idempotent)."""
        if self._thread is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.stop)
            return
        if self._loop is None:
            return
        try:
            await self._shutdown()
        finally:
            self._loop = None

    def __enter__(self) -> FakeExchange:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> FakeExchange:
        return await self.astart()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _serve(self) -> None:
        # its own decimal arithmetic, whatever the starting thread's (a task shares that thread's context object,
        # which a caller may change: ``getcontext().prec = 8``); what the server's callbacks run in copies this
        setcontext(DECIMALS.copy())
        self._stopping = asyncio.Event()
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post("/info", self._on_info)
        app.router.add_post("/exchange", self._on_exchange)
        app.router.add_post("/explorer", self._on_explorer)
        app.router.add_get("/stats/{chain}/{name}", self._on_stats)
        app.router.add_get("/ws", self._on_ws)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
        await runner.setup()
        self._count_connections(runner.server)
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self._wanted_port))
            site = web.SockSite(runner, sock, backlog=1024)
            await site.start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = sock.getsockname()[1]
        log(_log, 20, "fake exchange listening", http_url=self.http_url, ws_url=self.ws_url)

    def _count_connections(self, server: web.Server | None) -> None:
        """Count every TCP connection the server accepts (see :attr:`tcp_connections_accepted`)."""
        if server is None:
            return
        made = server.connection_made

        def counting(handler: Any, transport: Any) -> None:
            with self._lock:
                self._accepted += 1
            made(handler, transport)

        server.connection_made = counting  # type: ignore[method-assign]

    @property
    def tcp_connections_accepted(self) -> int:
        """TCP connections accepted since the start (HTTP keep-alive connections and WebSockets).

        Tells whether a client reuses its keep-alive connections: N requests over a pool of P
        connections should open about P, not N.
        """
        with self._lock:
            return self._accepted

    async def _shutdown(self) -> None:
        if self._runner is None:
            return
        if self._stopping is not None:
            self._stopping.set()
        with self._lock:
            conns = list(self._conns.values())
        for conn in conns:
            self._drop(conn, None)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        runner, self._runner = self._runner, None
        await runner.cleanup()
        log(_log, 20, "fake exchange stopped", port=self._port)
        self._port = None

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _in_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    def _call(self, fn: Callable[[], Any], *, wait: bool = True) -> None:
        """Run ``fn`` on the server loop (now when already there)."""
        loop = self._loop
        if loop is None or self._in_loop():
            fn()
            return
        if not wait:
            loop.call_soon_threadsafe(fn)
            return

        async def run() -> None:
            fn()

        asyncio.run_coroutine_threadsafe(run(), loop).result(timeout=10)

    # ================================================================ data
    def set_info(
        self,
        type_: str,
        response: Any,
        *,
        status: int = 200,
        match: Mapping[str, Any] | None = None,
    ) -> None:
        """Serve ``response`` for ``POST /info {"type": type_, ...}`` (HTTP and WS post).

        ``response`` is a JSON value, a :class:`~hyperliquid_client.testing.handlers.Reply`, or a callable
        ``fn(body) -> value | Reply`` (sync or async).  ``match`` restricts it to bodies whose fields
        equal these (the most specific entry wins).  Overrides the built-in answer for that type.
        """
        self._info_table.set(type_, response, status=status, match=match)

    def set_explorer(
        self, type_: str, response: Any, *, status: int = 200, match: Mapping[str, Any] | None = None
    ) -> None:
        """Serve ``response`` for ``POST /explorer {"type": type_, ...}`` (same rules as :meth:`set_info`)."""
        self._explorer_table.set(type_, response, status=status, match=match)

    def set_stats(self, name: str, response: Any) -> None:
        """Serve ``response`` (JSON value or :class:`Reply`) for ``GET /stats/<Chain>/<name>``."""
        if not isinstance(name, str) or not name or "/" in name:
            raise InvalidInputError("name", "a stats file name such as 'leaderboard'", name)
        with self._lock:
            self._stats[name] = response

    def set_exchange_handler(self, handler: ExchangeHandler | None) -> None:
        """Answer every well-formed ``/exchange`` body (and WS action post) with ``handler(body)``.

        The handler returns the JSON payload (HTTP 200) or a :class:`Reply`; it may be async.
        ``None`` restores the default (canned responses per action type, else ``status: err``).
        """
        if handler is not None and not callable(handler):
            raise InvalidInputError("handler", "a callable(body) or None", type(handler).__name__)
        self._exchange.handler = handler

    def fund(
        self, address: str, usdc: Decimal | str | int | float = 0, *, spot: Mapping[str, Any] | None = None
    ) -> None:
        """Deposit ``usdc`` into ``address``'s perp account and ``spot`` token amounts (``{"PURR": 100}``).

        The account then exists: its signed actions are accepted (an unknown signer gets
        ``User or API Wallet 0x... does not exist.``; a known one with nothing deposited gets
        ``Must deposit before performing actions. User: 0x...``).  Publishes ``clearinghouseState``
        / ``spotState`` / a ``deposit`` ledger update.
        """
        if not isinstance(address, str) or not _ADDRESS_RE.match(address):
            raise InvalidInputError("address", "0x followed by 40 hex digits", address)
        try:
            amount = Decimal(str(usdc))
            tokens = {str(k): Decimal(str(v)) for k, v in (spot or {}).items()}
        except (InvalidOperation, ValueError) as exc:
            raise InvalidInputError("usdc", "a decimal amount", usdc) from exc
        if amount < 0 or any(v < 0 for v in tokens.values()):
            raise InvalidInputError("usdc", "a non-negative amount", usdc)
        self.engine.fund(address, amount, spot=tokens)

    def set_exchange_response(self, action_type: str, response: Any) -> None:
        """Canned answer for actions of ``action_type`` (JSON value, :class:`Reply` or callable(body))."""
        self._exchange.set_response(action_type, response)

    def load_fixtures(self, directory: str | os.PathLike[str]) -> list[str]:
        """Serve the recorded payloads in ``directory`` (``source/transport/request/response/notes`` files).

        HTTP ``/info`` files become :meth:`set_info` responses keyed by request type, plus the
        request's body fields when several files share a type; the recorded status is kept (e.g.
        500).  ``exchange_*`` files become canned ``/exchange`` responses per action type.  WS files
        are replayed to a client subscribing to the same (normalized) subscription, right after the
        ack.  Returns the names of the files loaded.
        """
        fixtures = list(iter_fixtures(directory))
        by_type: dict[str, list[Fixture]] = {}
        loaded: list[str] = []
        for fx in fixtures:
            kind = fx.kind
            if kind == "info":
                type_ = fx.request.get("type") if isinstance(fx.request, dict) else None
                if not isinstance(type_, str):
                    raise InvalidInputError("directory", "info fixtures whose request has a type", fx.name)
                by_type.setdefault(type_, []).append(fx)
            elif kind == "exchange":
                self.set_exchange_response(fx.request["action"]["type"], Reply(fx.status, fx.response))
                loaded.append(fx.name)
            else:
                sub = fx.request.get("subscription") if isinstance(fx.request, dict) else None
                try:
                    norm = normalize_subscription(sub)
                except InvalidSubscription as exc:
                    raise InvalidInputError("directory", "ws fixtures with a valid subscription", fx.name) from exc
                messages = [
                    (m["channel"], m.get("data"))
                    for m in fx.response
                    if isinstance(m, dict) and m.get("channel") not in ("subscriptionResponse", None)
                ]
                if _bare(norm):  # the explorer's feeds were recorded as they come: bare arrays
                    messages = [(norm["type"], m) for m in fx.response if isinstance(m, list)]
                with self._lock:
                    self._replays[subscription_key(norm)] = messages
                loaded.append(fx.name)
        for type_, group in by_type.items():
            for fx in group:
                match = None
                if len(group) > 1:
                    match = {k: v for k, v in fx.request.items() if k != "type"}
                self.set_info(type_, fx.response, status=fx.status, match=match)
                loaded.append(fx.name)
        log(_log, 20, "fixtures loaded", directory=str(directory), files=len(loaded))
        return sorted(loaded)

    # ================================================================ recording
    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received (HTTP requests, WS upgrades and WS client messages), oldest first."""
        return self._log.all()

    def requests_for(self, path: str, **body_fields: Any) -> list[RecordedRequest]:
        """Recorded requests on ``path`` whose body has these fields (``"/stats"`` = any stats file)."""
        return self._log.filter(path, body_fields)

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        self._log.clear()

    def _record(
        self,
        request: web.Request | None,
        path: str,
        method: str,
        raw: bytes,
        body: Any,
        conn: _Conn | None,
        cid: int | None = None,
    ) -> None:
        headers: dict[str, str] = {}
        peer = conn.peer if conn is not None else None
        if request is not None:
            headers = dict(request.headers)
            peer = _peer(request)
        if conn is not None:
            cid = conn.id
        self._log.append(RecordedRequest(path, method, body, raw, headers, time.time(), cid, peer))

    # ================================================================ faults
    def add_fault(
        self, route: str, fault: Fault, *, count: int | None = None, match: Mapping[str, Any] | None = None
    ) -> FaultHandle:
        """Inject ``fault`` on ``route`` for the next ``count`` matching events (``None`` = until removed).

        ``match`` holds body fields that must be equal (dotted keys descend: ``{"action.type": "order"}``).
        On ``"/ws"`` the fields are those of the client message plus ``connection`` (its id) and
        ``event`` (``"connect"``, ``"message"``, or ``"send"`` with ``channel`` for ws_silence).
        """
        handle = self._faults.add(route, fault, count=count, match=match)
        log(_log, 10, "fault added", route=route, fault=fault.kind.value, count=count, match=match)
        return handle

    def remove_fault(self, handle: FaultHandle) -> None:
        """Detach a fault returned by :meth:`add_fault`."""
        self._faults.remove(handle)

    def clear_faults(self) -> None:
        """Detach every fault."""
        self._faults.clear()

    # ================================================================ HTTP
    async def _on_info(self, request: web.Request) -> web.StreamResponse:
        return await self._http(request, "/info", self._info.handle)

    async def _on_exchange(self, request: web.Request) -> web.StreamResponse:
        return await self._http(request, "/exchange", self._exchange.handle)

    async def _on_explorer(self, request: web.Request) -> web.StreamResponse:
        return await self._http(request, "/explorer", self._explorer.handle)

    async def _on_stats(self, request: web.Request) -> web.StreamResponse:
        chain, name = request.match_info["chain"], request.match_info["name"]

        async def answer(_: Any) -> Reply:
            with self._lock:
                value = self._stats.get(name, _MISSING)
            if chain not in ("Mainnet", "Testnet") or value is _MISSING:
                return Reply.text(404, "Not Found")
            value = await resolve(value(chain) if callable(value) else value)
            return value if isinstance(value, Reply) else Reply(payload=value)

        return await self._http(request, "/stats", answer, view={"chain": chain, "name": name})

    async def _http(
        self,
        request: web.Request,
        route: str,
        dispatch: Callable[[Any], Any],
        *,
        view: Mapping[str, Any] | None = None,
    ) -> web.StreamResponse:
        try:
            raw = await request.read()
        except ConnectionResetError:  # the client went away mid-request: nothing to answer
            log(_log, 10, "client went away before its request was read", route=route, remote=request.remote)
            return web.Response(status=400)
        body = _parse(raw) if raw else None
        self._record(request, request.path, request.method, raw, body, None)
        if view is None:
            view = body if isinstance(body, Mapping) else {}
        selection = self._faults.select(route, view)
        fault = selection.fault
        if selection.delay and await self._stopped_within(selection.delay):
            return await self._hang(request)
        if fault is not None:
            log(_log, 10, "fault injected", route=route, fault=fault.kind.value)
            if fault.kind is FaultKind.HANG:
                return await self._hang(request)
            if fault.kind is FaultKind.STATUS:
                return self._status_response(fault)
        ip = request.remote or ""
        if not self.weights.charge(ip, request_weight(route, body), route):
            return await self._respond(request, Reply(status=429, payload=None), None)
        if request.method == "POST" and self.require_json_content_type and request.content_type != "application/json":
            reply = Reply.text(415, "Expected request with `Content-Type: application/json`")
        elif request.method == "POST" and body is None:
            reply = unprocessable("expected a JSON body")
        else:
            try:
                reply = await dispatch(body)
            except Undeserializable as exc:
                reply = unprocessable(exc.detail)
            except Exception as exc:  # a test's callback failed: answer 500 and say so
                _log.exception("fake exchange handler failed on %s", route)
                reply = Reply.text(500, f"fake exchange handler error: {type(exc).__name__}: {exc}")
        if reply.status == 200 and reply.body is None:
            self.weights.add(ip, surcharge(route, body, reply.payload))
        return await self._respond(request, reply, fault)

    async def _stopped_within(self, seconds: float) -> bool:
        """Wait ``seconds`` (a latency fault), or less when the fake stops meanwhile (then True: the request ends
        at once, aborted as a hang's is, instead of outliving the server's loop)."""
        assert self._stopping is not None
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def _hang(self, request: web.Request) -> web.StreamResponse:
        assert self._stopping is not None
        await self._stopping.wait()
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=503)

    @staticmethod
    def _status_response(fault: Fault) -> web.Response:
        headers = {"Content-Type": fault.content_type, **_CORS, **dict(fault.headers)}
        return web.Response(status=fault.code or 500, body=fault.body or b"", headers=headers)

    async def _respond(self, request: web.Request, reply: Reply, fault: Fault | None) -> web.StreamResponse:
        data = reply.encoded()
        status = reply.status
        headers = {"Content-Type": reply.content_type, **_CORS, **dict(reply.headers)}
        kind = fault.kind if fault is not None else None
        if kind is FaultKind.MALFORMED_JSON:
            assert fault is not None
            data, status = fault.body or _DEFAULT_MALFORMED, 200
            headers["Content-Type"] = "application/json"
        elif kind is FaultKind.TRUNCATED_JSON:
            cut = len(data) // 2
            while cut > 0 and _parse(data[:cut]) is not None:
                cut -= 1
            data, status = data[:cut], 200
            headers["Content-Type"] = "application/json"
        elif kind is FaultKind.CLOSE_MID_BODY:
            if not data:
                data = b"null"
            resp = web.StreamResponse(status=status, headers=headers)
            resp.content_length = len(data)
            await resp.prepare(request)
            await resp.write(data[: len(data) // 2])
            if request.transport is not None:
                request.transport.close()
            return resp
        return web.Response(status=status, body=data, headers=headers)

    # ================================================================ WebSocket
    @property
    def ws_connection_count(self) -> int:
        """Open WebSocket connections."""
        with self._lock:
            return len(self._conns)

    @property
    def ws_subscriptions(self) -> list[tuple[int, dict[str, Any]]]:
        """``(connection id, normalized subscription)`` for every active subscription."""
        with self._lock:
            return [(cid, dict(sub)) for cid, conn in sorted(self._conns.items()) for sub in conn.subs.values()]

    def on_subscribe(self, callback: SubscribeHook) -> Callable[[], None]:
        """Call ``callback(subscription)`` (sync or async, on the server loop) after each subscribe ack.

        A non-``None`` return value is sent to the subscribing connection only, as the data of that
        subscription's channel (e.g. a ``userFills`` snapshot with ``isSnapshot: true``); it then
        replaces the built-in snapshot.  Returns a function that removes the hook.
        """
        if not callable(callback):
            raise InvalidInputError("callback", "a callable(subscription)", type(callback).__name__)
        with self._lock:
            self._hooks.append(callback)

        def remove() -> None:
            with self._lock:
                if callback in self._hooks:
                    self._hooks.remove(callback)

        return remove

    def publish(self, subscription: Mapping[str, Any], data: Any, *, channel: str | None = None) -> int:
        """Send ``{"channel", "data"}`` to every connection subscribed to ``subscription``.

        The subscription is normalized first (``{"type": "l2Book", "coin": "BTC"}`` reaches clients
        that subscribed with explicit nulls).  ``channel`` defaults to the subscription's channel.
        Returns how many connections it was sent to.  Callable from any thread.
        """
        try:
            norm = normalize_subscription(subscription)
        except InvalidSubscription as exc:
            raise InvalidInputError(
                "subscription", "a valid subscription", dict(subscription), detail=str(exc)
            ) from exc
        key = subscription_key(norm)
        if channel is None:
            channel = self._channel(norm)
        with self._lock:
            conns = list(self._subs.get(key, {}).values())
        if not conns:
            return 0
        text = _data_frame(norm, channel, data)
        ch = channel

        def send() -> None:
            for conn in conns:
                conn.enqueue(text, ch)

        self._call(send, wait=False)
        return len(conns)

    def drop_ws_connections(self, code: int | None = None) -> int:
        """Close every WebSocket connection now (``None`` = abrupt TCP close); returns how many."""
        if code is not None and (not isinstance(code, int) or not 1000 <= code <= 4999):
            raise InvalidInputError("code", "a WebSocket close code (1000-4999) or None", code)
        with self._lock:
            conns = [c for c in self._conns.values() if not c.closing]

        def drop() -> None:
            for conn in conns:
                self._drop(conn, code)

        self._call(drop)
        return len(conns)

    def _channel(self, norm: Mapping[str, Any]) -> str:
        coin = norm.get("coin")
        spot = self.market.is_spot(coin) if isinstance(coin, str) else None
        return channel_for(norm, spot=spot)

    def _drop(self, conn: _Conn, code: int | None) -> None:
        if conn.closing:
            return
        conn.closing = True
        log(_log, 10, "ws connection dropped", connection=conn.id, code=code)
        if code is None:
            if conn.transport is not None:
                conn.transport.abort()
        else:
            self._spawn(conn.ws.close(code=code))

    async def _on_ws(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            self._next_conn += 1
            cid = self._next_conn
        self._record(request, "/ws", request.method, b"", None, None, cid)
        selection = self._faults.select("/ws", {"event": "connect", "connection": cid}, kinds=_WS_CONNECT_FAULTS)
        if selection.delay and await self._stopped_within(selection.delay):
            return await self._hang(request)
        fault = selection.fault
        if fault is not None and fault.kind is FaultKind.HANG:
            return await self._hang(request)
        if fault is not None and fault.kind is FaultKind.STATUS:
            return self._status_response(fault)

        ws = web.WebSocketResponse(autoping=False, compress=False, timeout=2.0, max_msg_size=16 * 1024 * 1024)
        await ws.prepare(request)
        loop = asyncio.get_running_loop()
        conn = _Conn(cid, ws, request, loop.time())
        with self._lock:
            self._conns[cid] = conn
        writer = self._spawn(self._writer(conn))
        watchdog = self._spawn(self._watchdog(conn)) if self.idle_timeout is not None else None
        log(_log, 10, "ws connected", connection=cid, remote=conn.ip)
        if self.greeting:
            conn.enqueue("Websocket connection established.", None)
        if fault is not None and fault.kind is FaultKind.WS_DROP:
            self._drop(conn, fault.code)
        try:
            async for msg in ws:
                if conn.closing:
                    break
                if msg.type is WSMsgType.TEXT:
                    await self._on_ws_text(conn, msg.data)
                elif msg.type is WSMsgType.BINARY:
                    await self._on_ws_text(conn, msg.data.decode("utf-8", "replace"))
                elif msg.type is WSMsgType.PING:
                    view = {"connection": cid, "event": "ping_frame", "method": "ping"}
                    if not self._faults.mode_applies(FaultKind.WS_IGNORE_PINGS, cid, view) and not self._silenced(
                        conn, None
                    ):
                        await ws.pong(msg.data)
                        conn.last_sent = loop.time()
                elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            conn.closing = True
            with self._lock:
                self._conns.pop(cid, None)
                for key in conn.subs:
                    holders = self._subs.get(key)
                    if holders is not None:
                        holders.pop(cid, None)
                        if not holders:
                            del self._subs[key]
            conn.queue.put_nowait(None)
            if watchdog is not None:
                watchdog.cancel()
            writer.cancel()
            log(_log, 10, "ws disconnected", connection=cid)
        return ws

    def _silenced(self, conn: _Conn, channel: str | None) -> bool:
        view = {"connection": conn.id, "event": "send", "channel": channel}
        return self._faults.mode_applies(FaultKind.WS_SILENCE, conn.id, view)

    async def _writer(self, conn: _Conn) -> None:
        loop = asyncio.get_running_loop()
        while True:
            item = await conn.queue.get()
            if item is None or conn.closing:
                return
            if item is _ABORT:
                self._drop(conn, None)
                return
            text, channel = item
            if self._silenced(conn, channel):
                log(_log, 10, "ws frame withheld (ws_silence)", connection=conn.id, channel=channel)
                continue
            try:
                await conn.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return
            conn.last_sent = loop.time()

    async def _watchdog(self, conn: _Conn) -> None:
        assert self.idle_timeout is not None
        loop = asyncio.get_running_loop()
        while not conn.closing:
            remaining = conn.last_sent + self.idle_timeout - loop.time()
            if remaining <= 0:
                log(_log, 20, "ws idle timeout: closing", connection=conn.id, idle_timeout=self.idle_timeout)
                self._drop(conn, None)
                return
            await asyncio.sleep(remaining)

    def _send(self, conn: _Conn, message: Mapping[str, Any]) -> None:
        conn.enqueue(_dumps(message), str(message.get("channel")))

    def _error(self, conn: _Conn, text: str) -> None:
        self._send(conn, {"channel": "error", "data": text})

    async def _on_ws_text(self, conn: _Conn, raw: str) -> None:
        if conn.doomed:
            return
        msg = _parse(raw)
        self._record(None, "/ws", "WS", raw.encode(), msg, conn)
        view: dict[str, Any] = dict(msg) if isinstance(msg, dict) else {}
        view.update(connection=conn.id, event="message")
        selection = self._faults.select("/ws", view, kinds=_WS_MESSAGE_FAULTS)
        fault = selection.fault
        if fault is not None and fault.kind is FaultKind.WS_DROP:
            self._drop(conn, fault.code)
            return
        if fault is not None and fault.kind is FaultKind.HANG:
            log(_log, 10, "ws message swallowed (hang fault)", connection=conn.id)
            return
        if selection.delay:
            self._spawn(self._delayed(conn, selection.delay, msg, raw, view, fault))
            return
        await self._process(conn, msg, raw, view, fault)

    async def _delayed(
        self, conn: _Conn, delay: float, msg: Any, raw: str, view: dict[str, Any], fault: Fault | None
    ) -> None:
        await asyncio.sleep(delay)
        if not conn.closing:
            await self._process(conn, msg, raw, view, fault)

    async def _process(self, conn: _Conn, msg: Any, raw: str, view: dict[str, Any], fault: Fault | None) -> None:
        method = msg.get("method") if isinstance(msg, dict) else None
        if method == "ping":
            if self._faults.mode_applies(FaultKind.WS_IGNORE_PINGS, conn.id, view):
                log(_log, 10, "ws ping ignored (ws_ignore_pings)", connection=conn.id)
                return
            self._send(conn, {"channel": "pong"})
        elif method in ("subscribe", "unsubscribe"):
            assert isinstance(msg, dict)
            try:
                norm = normalize_subscription(msg.get("subscription"))
            except InvalidSubscription as exc:
                if method == "subscribe" and isinstance(exc, RefusedSubscription) and self.close_on_bad_subscription:
                    self._refuse(conn, msg.get("subscription"), str(exc))
                else:
                    self._error(conn, PARSE_ERROR + raw)
                return
            coin = norm.get("coin")
            if (
                method == "subscribe"
                and self.close_on_bad_subscription
                and isinstance(coin, str)
                and not self.market.knows(coin)
            ):
                self._refuse(conn, norm, f"unknown coin {coin!r}")
                return
            if method == "subscribe":
                await self._subscribe(conn, norm)
            else:
                self._unsubscribe(conn, norm)
        elif method == "post":
            assert isinstance(msg, dict)
            await self._post(conn, msg, raw, fault)
        else:
            self._error(conn, PARSE_ERROR + raw)

    async def _subscribe(self, conn: _Conn, norm: dict[str, Any]) -> None:
        key = subscription_key(norm)
        user = user_of(norm)
        with self._lock:
            if key in conn.subs:
                error = "Already subscribed: " + compact_json(norm)
            elif len(conn.subs) >= self.max_subscriptions:
                error = f"Cannot subscribe to more than {self.max_subscriptions} subscriptions."
            elif (
                user is not None
                and user not in (users := self._users_of_ip(conn.ip))
                and (len(users) >= self.max_users)
            ):
                error = f"Cannot track more than {self.max_users} total users."
            else:
                error = None
                conn.subs[key] = norm
                self._subs.setdefault(key, {})[conn.id] = conn
        if error is not None:
            self._error(conn, error)
            return
        self._send(conn, {"channel": "subscriptionResponse", "data": {"method": "subscribe", "subscription": norm}})
        await self._initial_data(conn, norm, key)

    def _refuse(self, conn: _Conn, subscription: Any, why: str) -> None:
        """Drop the socket without a reply once what is already queued is sent (as the real server does)."""
        log(_log, 20, "bad subscription: dropping the socket", connection=conn.id, reason=why)
        with self._lock:
            self.refused_subscriptions.append(subscription)
        conn.doomed = True
        if not conn.closing:
            conn.queue.put_nowait(_ABORT)

    def _users_of_ip(self, ip: str) -> set[str]:
        users: set[str] = set()
        for other in self._conns.values():
            if other.ip == ip:
                users.update(u for u in (user_of(s) for s in other.subs.values()) if u is not None)
        return users

    def _unsubscribe(self, conn: _Conn, norm: dict[str, Any]) -> None:
        key = subscription_key(norm)
        with self._lock:
            found = conn.subs.pop(key, None) is not None
            if found:
                holders = self._subs.get(key, {})
                holders.pop(conn.id, None)
                if not holders:
                    self._subs.pop(key, None)
        if not found:
            self._error(conn, "Already unsubscribed: " + compact_json(norm))
            return
        self._send(conn, {"channel": "subscriptionResponse", "data": {"method": "unsubscribe", "subscription": norm}})

    async def _initial_data(self, conn: _Conn, norm: dict[str, Any], key: str) -> None:
        channel = self._channel(norm)
        with self._lock:
            hooks = list(self._hooks)
            replay = self._replays.get(key)
        sent = False
        for hook in hooks:
            try:
                data = await resolve(hook(dict(norm)))
            except Exception:
                _log.exception("on_subscribe hook %r failed", hook)
                continue
            if data is not None:
                conn.enqueue(_data_frame(norm, channel, data), channel)
                sent = True
        if sent:
            return
        if replay is not None:
            for ch, data in replay:
                conn.enqueue(_data_frame(norm, ch, data), ch)
            return
        data = self._builtin_snapshot(norm)
        if data is not None:
            conn.enqueue(_data_frame(norm, channel, data), channel)

    def _builtin_snapshot(self, norm: Mapping[str, Any]) -> Any:
        """Data of the first message after the ack, as the spec's ``initial`` says the real server sends it.

        ``snapshot``: the user's history from :attr:`state` with ``isSnapshot: true``; ``state`` and
        ``backfill``: the current data from the market and the engine where they hold it, else the spec's
        sample with the subscription's values in place; ``none``: nothing.
        """
        type_ = norm["type"]
        spec = CHANNELS.get(type_)
        initial = spec.initial if spec is not None else "none"
        user = user_of(norm)
        if initial == "snapshot":
            return self._user_snapshot(type_, user) if self.snapshots and user is not None else None
        if initial == "none" or not self.market_snapshots:
            return None
        feed = _STATE_FEEDS.get(type_)
        if feed is not None:
            return feed(self, norm)
        return sample_message(type_, norm)

    def _user_snapshot(self, type_: str, user: str) -> dict[str, Any]:
        with self.state.lock:
            state = self.state.peek(user)
            rows: list[Any] = []
            if state is not None:
                source = {
                    "userFills": state.fills,
                    "userFundings": state.fundings,
                    "userNonFundingLedgerUpdates": state.ledger,
                    "userTwapSliceFills": state.twap_slice_fills,
                    "userTwapHistory": state.twap_history,
                    "userHistoricalOrders": state.order_history,
                }[type_]
                cap = None if type_ in _UNBOUNDED_SNAPSHOTS else self.snapshot_cap
                rows = list(source) if cap is None else list(source[-cap:])
                if type_ == "userFills":
                    rows.reverse()
        return {"isSnapshot": True, "user": user, SNAPSHOT_FEEDS[type_]: rows}

    def _recent_trades(self, coin: str) -> list[dict[str, Any]]:
        """The engine's recent trades of ``coin``, oldest first."""
        with self.engine.lock:
            return [dict(t) for t in self.engine.trades.get(coin, [])]

    def _coin_feed(self, norm: Mapping[str, Any]) -> Any:
        coin = str(norm.get("coin"))
        type_ = norm["type"]
        if type_ == "l2Book":
            return self.market.l2_book(coin)
        if type_ == "bbo":
            return self.market.bbo(coin)
        if type_ == "trades":  # the backfill: the most recent trades, oldest first (nothing before the first)
            return self._recent_trades(coin)[-_TRADES_BACKFILL:] or None
        return self.market.asset_ctx(coin)

    def _market_feed(self, norm: Mapping[str, Any]) -> Any:
        type_, dex = norm["type"], norm.get("dex") or ""
        if type_ == "allMids":
            with self.market.lock:
                return {"mids": {} if dex else dict(self.market.mids), **({"dex": dex} if dex else {})}
        if type_ == "spotAssetCtxs":
            return self.market.spot_meta_and_asset_ctxs()[1]
        ctxs = [] if dex else self.market.meta_and_asset_ctxs()[1]
        if type_ == "allDexsAssetCtxs":
            return {"ctxs": [["", ctxs]]}
        return {"dex": dex, "ctxs": ctxs}

    def _user_feed(self, norm: Mapping[str, Any]) -> Any:
        type_, user = norm["type"], str(user_of(norm))
        state = self.state.peek(user)
        if type_ == "spotState":
            spot = state.spot_clearinghouse_state() if state is not None else {"balances": []}
            return {"user": user, "spotState": spot}
        if type_ == "openOrders":
            orders = [dict(o) for o in state.open_orders] if state is not None else []
            return {"dex": norm.get("dex", ""), "user": user, "orders": orders}
        ch = state.clearinghouse_state() if state is not None else empty_clearinghouse_state()
        if type_ == "allDexsClearinghouseState":
            return {"user": user, "clearinghouseStates": [["", ch]]}
        return {"dex": norm.get("dex", ""), "user": user, "clearinghouseState": ch}

    async def _post(self, conn: _Conn, msg: dict[str, Any], raw: str, fault: Fault | None) -> None:
        post_id = msg.get("id")
        request = msg.get("request")
        if (
            not isinstance(post_id, int)
            or isinstance(post_id, bool)
            or post_id < 0
            or not isinstance(request, dict)
            or request.get("type") not in ("info", "action")
            or not isinstance(request.get("payload"), dict)
        ):
            self._error(conn, PARSE_ERROR + raw)
            return
        kind, payload = request["type"], request["payload"]
        route = "/info" if kind == "info" else "/exchange"
        if not self.weights.charge(conn.ip, request_weight(route, payload), route):
            self._post_reply(conn, post_id, {"type": "error", "payload": Reply(status=429, payload=None).error_text()})
            return
        if fault is not None and fault.kind is FaultKind.STATUS:
            reply = Reply(status=fault.code or 500, body=fault.body or b"", content_type=fault.content_type)
            self._post_reply(conn, post_id, {"type": "error", "payload": reply.error_text()})
            return
        try:
            reply = await (self._info.handle(payload) if kind == "info" else self._exchange.handle(payload))
        except Undeserializable:
            self._error(conn, PARSE_ERROR + raw)
            return
        except Exception as exc:
            _log.exception("fake exchange handler failed on a ws post")
            reply = Reply.text(500, f"fake exchange handler error: {type(exc).__name__}: {exc}")
        if reply.status != 200:
            self._post_reply(conn, post_id, {"type": "error", "payload": reply.error_text()})
            return
        data = reply.payload if reply.body is None else _parse(reply.body)
        self.weights.add(conn.ip, surcharge(route, payload, data))
        if kind == "info":
            self._post_reply(conn, post_id, {"type": "info", "payload": {"type": payload["type"], "data": data}})
        else:
            self._post_reply(conn, post_id, {"type": "action", "payload": data})

    def _post_reply(self, conn: _Conn, post_id: int, response: dict[str, Any]) -> None:
        self._send(conn, {"channel": "post", "data": {"id": post_id, "response": response}})


_MISSING = object()

#: Trades sent in the ``trades`` backfill (the real server sends about 30).
_TRADES_BACKFILL = 30
#: Subscription types whose first message comes from the market or the engine (others: the spec's sample).
_STATE_FEEDS: dict[str, Callable[[FakeExchange, Mapping[str, Any]], Any]] = {
    **dict.fromkeys(("l2Book", "bbo", "trades", "activeAssetCtx", "activeSpotAssetCtx"), FakeExchange._coin_feed),
    **dict.fromkeys(("allMids", "assetCtxs", "spotAssetCtxs", "allDexsAssetCtxs"), FakeExchange._market_feed),
    **dict.fromkeys(
        ("clearinghouseState", "allDexsClearinghouseState", "openOrders", "spotState"), FakeExchange._user_feed
    ),
}
