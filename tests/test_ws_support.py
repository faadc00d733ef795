"""A minimal Hyperliquid-protocol WebSocket server for the WebSocket runtime tests (frame-level control the fake
exchange does not offer: raw malformed frames, exact close codes).  Also: shared channel descriptions."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

from hyperliquid_client.runtime.ws import ChannelInfo

# (``state``: every message is the whole state, as the spec says of these channels: ``initial: state``)
L2BOOK = ChannelInfo("l2Book", ("l2Book",), (("coin", "coin"),), state=True)
BBO = ChannelInfo("bbo", ("bbo",), (("coin", "coin"),), state=True)
TRADES = ChannelInfo("trades", ("trades",), (("coin", "coin"),))
CANDLE = ChannelInfo("candle", ("candle",), (("coin", "s"), ("interval", "i")), state=True)
ALL_MIDS = ChannelInfo("allMids", ("allMids",), (), state=True)
USER_FILLS = ChannelInfo(
    "userFills",
    ("userFills",),
    (("user", "user"),),
    user_param="user",
    market_data=False,
    snapshot=True,
    dedup_key=lambda f: (f["hash"], f["tid"]),
    items_key="fills",
    recovery="userFillsByTime",
    recover_limit=2000,
    recover_windowed=True,
)
ORDER_UPDATES = ChannelInfo(
    "orderUpdates",
    ("orderUpdates",),
    (),
    user_param="user",
    market_data=False,
    dedup_key=lambda u: (u["order"]["oid"], u["status"], u["statusTimestamp"]),
    items_key=None,
    time_key="statusTimestamp",
    recovery="historicalOrders",
    recover_limit=2000,
)
USER_EVENTS = ChannelInfo(
    "userEvents",
    ("user",),
    (),
    user_param="user",
    market_data=False,
    dedup_key=lambda f: (f["hash"], f["tid"]),
    items_key="fills",
    recovery="userFillsByTime",
    recover_limit=2000,
    recover_windowed=True,
)

USER_A = "0x" + "ab" * 20
USER_B = "0x" + "cd" * 20


def _norm(sub: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in sub.items() if v is not None}
    if out.get("type") == "l2Book":
        out = {"type": "l2Book", "coin": out.get("coin"), "nSigFigs": None, "mantissa": None, "fast": False, **out}
    return out


def _ident(sub: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in sub.items() if v is not None and v is not False}, sort_keys=True)


class MiniServer:
    """Loopback WebSocket server speaking the subset of the protocol the tests need."""

    def __init__(self) -> None:
        self.conns: dict[ServerConnection, dict[str, dict[str, Any]]] = {}
        self.ignore_pings = False
        self.post_handler: Callable[[dict[str, Any]], Any] | None = None
        self.refuse: Callable[[dict[str, Any]], str | None] | None = None
        self.received: list[dict[str, Any]] = []
        self.connects = 0
        self._server: Any = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    async def start(self, port: int = 0) -> None:
        self._server = await serve(self._handle, "127.0.0.1", port, max_size=None, compression=None)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for ws in list(self.conns):
                ws.transport.abort()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None
            self.conns.clear()

    async def _handle(self, ws: ServerConnection) -> None:
        self.conns[ws] = {}
        self.connects += 1
        try:
            async for raw in ws:
                try:
                    msg = json.loads(raw)
                except ValueError:
                    await ws.send(json.dumps({"channel": "error", "data": f"Error parsing JSON: {raw}"}))
                    continue
                self.received.append(msg)
                method = msg.get("method")
                if method == "ping":
                    if not self.ignore_pings:
                        await ws.send('{"channel":"pong"}')
                elif method == "subscribe":
                    sub = _norm(msg["subscription"])
                    ident = _ident(sub)
                    refusal = self.refuse(sub) if self.refuse is not None else None
                    if refusal is not None:
                        await ws.send(json.dumps({"channel": "error", "data": refusal}))
                        continue
                    if ident in self.conns[ws]:
                        await ws.send(
                            json.dumps({"channel": "error", "data": f"Already subscribed: {json.dumps(sub)}"})
                        )
                        continue
                    self.conns[ws][ident] = sub
                    await ws.send(
                        json.dumps(
                            {"channel": "subscriptionResponse", "data": {"method": "subscribe", "subscription": sub}}
                        )
                    )
                elif method == "unsubscribe":
                    sub = _norm(msg["subscription"])
                    self.conns[ws].pop(_ident(sub), None)
                    await ws.send(
                        json.dumps(
                            {"channel": "subscriptionResponse", "data": {"method": "unsubscribe", "subscription": sub}}
                        )
                    )
                elif method == "post" and self.post_handler is not None:
                    reply = self.post_handler(msg)
                    if asyncio.iscoroutine(reply):
                        reply = await reply
                    if reply is not None:
                        await ws.send(json.dumps({"channel": "post", "data": {"id": msg["id"], "response": reply}}))
        except Exception:
            pass
        finally:
            self.conns.pop(ws, None)

    def subscriptions(self) -> list[dict[str, Any]]:
        return [s for subs in self.conns.values() for s in subs.values()]

    async def publish(self, sub: dict[str, Any], data: Any, channel: str | None = None) -> int:
        ident = _ident(_norm(sub))
        frame = json.dumps({"channel": channel or sub["type"], "data": data})
        n = 0
        for ws, subs in list(self.conns.items()):
            if ident in subs:
                with contextlib.suppress(Exception):
                    await ws.send(frame)
                    n += 1
        return n

    async def send_raw(self, frame: str | bytes) -> None:
        for ws in list(self.conns):
            with contextlib.suppress(Exception):
                await ws.send(frame)

    async def drop_all(self, code: int | None = None) -> int:
        conns = list(self.conns)
        for ws in conns:
            if code is None:
                ws.transport.abort()
            else:
                with contextlib.suppress(Exception):
                    await ws.close(code, "test")
        return len(conns)


async def wait_for(pred: Callable[[], bool], timeout: float = 5.0, step: float = 0.01) -> None:
    """Poll ``pred`` until true; fail the test after ``timeout`` s."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        if loop.time() > end:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(step)


class BurstyLink:
    """A TCP proxy in front of a server: client → server bytes pass at once; server → client bytes are held and
    written in one piece every ``period`` seconds, so frames sent close together arrive in one read (a bursty link,
    a busy loop).  A dropped server side drops the client side.  Runs on the loop that starts it."""

    def __init__(self, target_port: int, period: float = 0.25) -> None:
        self.target_port = target_port
        self.period = period
        self.port = 0
        self._server: asyncio.Server | None = None

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    async def __aenter__(self) -> BurstyLink:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()

    async def _handle(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        try:
            server_in, server_out = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_out.transport.abort()
            return
        held = bytearray()
        ended = asyncio.Event()

        async def upstream() -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await client_in.read(65536):
                    server_out.write(data)
            server_out.transport.abort()

        async def downstream() -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await server_in.read(65536):
                    held.extend(data)
            ended.set()

        async def flush() -> None:
            while not ended.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ended.wait(), self.period)
                if held:
                    client_out.write(bytes(held))
                    held.clear()
            client_out.transport.abort()

        await asyncio.gather(upstream(), downstream(), flush(), return_exceptions=True)
