"""The demo: the library doing its real job, by default on the built-in fake exchange.

Steps (each timed): mids and the top of the BTC and ETH books as tables; a few seconds of live
trades and book updates over the WebSocket; a signed limit order that rests, a second wallet's
order that fills it, the fill arriving on ``userFills``; a cancel; the final account state; a
closing line with the signing backend and each step's duration.

``hyperliquid demo`` (or ``make demo``) runs it on a fresh fake exchange.  With ``--network testnet``
and a key (``HYPERLIQUID_PRIVATE_KEY``, ``--key-file`` or ``--key``) it runs the read-only steps and
the resting order + cancel against that network (a real network has no second wallet of ours to
fill the order).  Every order the demo places carries a client order id; whatever happens (a
failed step, Ctrl-C) the demo cancels each of its orders still open before it ends.  On mainnet
it asks for confirmation first unless ``yes=True`` (``--yes``).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, TextIO

from hyperliquid_client.client import Client, ClientConfig
from hyperliquid_client.runtime.config import resolve_network
from hyperliquid_client.runtime.errors import HyperliquidError
from hyperliquid_client.runtime.exchange import Tif
from hyperliquid_client.runtime.results import ExchangeResult, Filled, OrderError, Resting
from hyperliquid_client.runtime.signing import Wallet, default_backend
from hyperliquid_client.runtime.ws import Message

__all__ = ["run_demo"]


class DemoError(Exception):
    """A demo step did not do what it should."""


class _Steps:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.durations: list[tuple[str, float]] = []

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        self.say(f"\n== {title}")
        started = time.perf_counter()
        yield
        self.durations.append((title, time.perf_counter() - started))


class _Orders:
    """Every order the demo places, tagged with a client order id, so that all of them can be cancelled."""

    def __init__(self, client: Client, s: _Steps) -> None:
        self.client = client
        self.s = s
        self.cloids: set[str] = set()

    def order(self, coin: str, is_buy: bool, sz: Any, limit_px: Any, tif: Tif) -> ExchangeResult:
        """Place an order; its cloid is recorded before sending (an outcome lost in transit is cleaned up too)."""
        cloid = "0x" + secrets.token_hex(16)
        self.cloids.add(cloid)
        return self.client.exchange.order(coin, is_buy, sz, limit_px, tif=tif, cloid=cloid)

    def open(self) -> list[Any]:
        """The demo's orders still resting on the book."""
        assert self.client.wallet is not None
        return [o for o in self.client.info.open_orders(self.client.wallet.address) if o.cloid in self.cloids]

    def cancel_all(self, attempts: int = 3) -> None:
        """Cancel every order of the demo that is still open; say loudly what could not be cancelled."""
        if not self.cloids:
            return
        left: list[Any] = []
        problem: Exception | None = None
        for attempt in range(attempts):
            try:
                left = self.open()
                if not left:
                    return
                self.s.say(f"  cleaning up: cancelling {len(left)} open order(s) of the demo")
                self.client.exchange.bulk_cancel([(o.coin, o.oid) for o in left])
                left = self.open()
                if not left:
                    return
            except HyperliquidError as exc:
                problem = exc
            time.sleep(0.5 * (attempt + 1))
        oids = ", ".join(str(o.oid) for o in left) or "unknown (open orders could not be read)"
        self.s.say(f"  WARNING: could not cancel the demo's orders ({oids}); cancel them yourself: {problem or ''}")


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows)
    return "\n".join("  " + line for line in lines)


def _fmt(d: Decimal | None) -> str:
    return "-" if d is None else format(d, "f")


def _wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise DemoError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _show_mids_and_books(s: _Steps, client: Client) -> None:
    with s.step("Mids"):
        mids = client.info.all_mids()
        coins = [c for c in sorted(mids) if not c.startswith("@") and "/" not in c][:8]
        s.say(_table([[c, _fmt(mids[c])] for c in coins], ["coin", "mid"]))
    with s.step("Top of the BTC and ETH books"):
        for coin in ("BTC", "ETH"):
            book = client.info.l2_book(coin)
            if book is None:
                raise DemoError(f"no book for {coin}")
            bids, asks = book.levels
            rows = []
            for i in range(min(5, max(len(bids), len(asks)))):
                b = bids[i] if i < len(bids) else None
                a = asks[i] if i < len(asks) else None
                rows.append(
                    [
                        _fmt(b.sz) if b else "",
                        _fmt(b.px) if b else "",
                        _fmt(a.px) if a else "",
                        _fmt(a.sz) if a else "",
                    ]
                )
            s.say(f"  {coin}")
            s.say(_table(rows, ["bid size", "bid", "ask", "ask size"]))


def _live(s: _Steps, client: Client, seconds: float, taker: Client | None) -> None:
    with s.step(f"Live trades and book updates for {seconds:g} s"):
        trades = client.streams.trades("BTC")
        books = client.streams.l2_book("BTC")
        stop = threading.Event()

        def trade_now_and_then() -> None:  # on the fake exchange, a second wallet makes some trades happen
            assert taker is not None
            side = True
            while not stop.wait(0.4):
                try:
                    taker.exchange.market_open("BTC", side, "0.001", slippage=0.05)
                except HyperliquidError:
                    pass
                side = not side

        worker = threading.Thread(target=trade_now_and_then, daemon=True) if taker is not None else None
        if worker is not None:
            worker.start()
        n_trades = n_books = 0
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                for item in trades.drain():
                    if isinstance(item, Message):
                        for t in item.data:
                            n_trades += 1
                            if n_trades <= 5:
                                side = "buy " if t.side == "B" else "sell"
                                s.say(f"  trade  {t.coin} {side} {_fmt(t.sz)} @ {_fmt(t.px)}")
                for update in books.drain():
                    if isinstance(update, Message):
                        n_books += 1
                        bid, ask = update.data.levels[0][:1], update.data.levels[1][:1]
                        if n_books <= 3 and bid and ask:
                            s.say(f"  book   {update.data.coin} {_fmt(bid[0].px)} / {_fmt(ask[0].px)}")
                time.sleep(0.05)
        finally:
            stop.set()
            if worker is not None:
                worker.join()
            trades.close()
            books.close()
        s.say(f"  received {n_trades} trades and {n_books} book snapshots")


def _trade(s: _Steps, alice: Client, bob: Client | None, orders: _Orders) -> None:
    assert alice.wallet is not None
    user = alice.wallet.address
    fills = alice.streams.user_fills(user)
    try:
        book = alice.info.l2_book("ETH")
        if book is None or not book.levels[0]:
            raise DemoError("no ETH bids to price the order from")
        best_bid = book.levels[0][0]
        # join the best bid: a resting order behind the queue that a taker's sell reaches
        price = best_bid.px if bob is not None else alice.exchange.round_price("ETH", best_bid.px * Decimal("0.98"))
        with s.step("A signed limit order that rests"):
            result = orders.order("ETH", True, "0.05", price, tif="Gtc")
            status = result.statuses[0]
            if not isinstance(status, Resting):
                raise DemoError(f"expected a resting order, got {status}")
            s.say(f"  alice buys 0.05 ETH @ {_fmt(price)} -> resting, oid {status.oid}")
            resting_oid = status.oid
        if bob is not None:
            with s.step("A second wallet's order fills it; the fill arrives on userFills"):
                taken = bob.exchange.order("ETH", False, best_bid.sz + Decimal("0.05"), price, tif="Ioc")
                taker_status = taken.statuses[0]
                if not isinstance(taker_status, Filled):
                    raise DemoError(f"expected the taker to fill, got {taker_status}")
                s.say(
                    f"  bob sells {_fmt(taker_status.total_sz)} ETH @ {_fmt(price)} (Ioc): "
                    f"takes the {_fmt(best_bid.sz)} ahead in the queue, then alice's 0.05"
                )
                got: list[Any] = []
                deadline = time.monotonic() + 10
                while not got:
                    if time.monotonic() > deadline:
                        raise DemoError("the fill did not arrive on userFills")
                    try:
                        item = fills.get(timeout=max(0.01, deadline - time.monotonic()))
                    except TimeoutError:
                        continue
                    if isinstance(item, Message):  # the fill may come in the snapshot if the ack was slower
                        got.extend(f for f in item.data.fills if f.oid == resting_oid)
                f = got[0]
                s.say(f"  userFills: {f.coin} {f.dir} {_fmt(f.sz)} @ {_fmt(f.px)}, fee {_fmt(f.fee)} (tid {f.tid})")
        with s.step("A cancel"):
            low = alice.exchange.round_price("ETH", price * Decimal("0.98"))
            result = orders.order("ETH", True, "0.05", low, tif="Gtc")
            status = result.statuses[0]
            if not isinstance(status, Resting):
                raise DemoError(f"expected a resting order, got {status}")
            cancelled = alice.exchange.cancel("ETH", status.oid)
            if isinstance(cancelled.statuses[0], OrderError):
                raise DemoError(f"cancel failed: {cancelled.statuses[0].message}")
            s.say(f"  placed oid {status.oid}, cancelled it -> {type(cancelled.statuses[0]).__name__}")
        with s.step("Final account state"):
            state = alice.info.clearinghouse_state(user)
            s.say(f"  account value {_fmt(state.margin_summary.account_value)} USDC")
            rows = [
                [p.position.coin, _fmt(p.position.szi), _fmt(p.position.entry_px), _fmt(p.position.unrealized_pnl)]
                for p in state.asset_positions
            ]
            s.say(_table(rows, ["coin", "size", "entry", "uPnL"]) if rows else "  no open positions")
            open_orders = alice.info.open_orders(user)
            s.say(f"  open orders: {len(open_orders)}")
    finally:
        fills.close()


def _session(s: _Steps, client: Client, taker: Client | None, seconds: float) -> None:
    """Every step as ``client``; whatever happens, no order of the demo stays open."""
    orders = _Orders(client, s)
    try:
        _show_mids_and_books(s, client)
        _live(s, client, seconds, taker)
        _trade(s, client, taker, orders)
    finally:
        orders.cancel_all()


def _confirm_mainnet(s: _Steps, wallet: Wallet, confirm: Callable[[str], str]) -> bool:
    s.say(f"This demo places and cancels small real orders (0.05 ETH, below the book) on MAINNET as {wallet}.")
    try:
        answer = confirm("Type 'yes' to continue: ")
    except EOFError:
        answer = ""
    return answer.strip().lower() in ("y", "yes")


def run_demo(
    out: TextIO,
    *,
    network: str | None = None,
    url: str | None = None,
    key: str | None = None,
    seconds: float = 3.0,
    yes: bool = False,
    confirm: Callable[[str], str] = input,
) -> int:
    """Run the demo, writing to ``out``; returns the exit status (0 on success).

    With ``network`` or ``url`` it runs on that server as ``key``'s account: every order it placed is
    cancelled before it returns (also after a failure or ``KeyboardInterrupt``, which is re-raised), and
    on mainnet ``confirm`` is asked first unless ``yes``.
    """
    s = _Steps(out)
    started = time.perf_counter()
    try:
        if network or url:
            if not key:
                s.say("a real network needs a funded account's private key (HYPERLIQUID_PRIVATE_KEY or --key-file)")
                return 2
            net, wallet = resolve_network(network, http_url=url), Wallet.from_key(key)
            s.say(f"demo on {net.name} ({net.http_url}) as {wallet}")
            if net.is_mainnet and not yes and not _confirm_mainnet(s, wallet, confirm):
                s.say("aborted: nothing was sent")  # no client exists yet: not even a metadata read
                return 1
            with Client(net, wallet=wallet, config=ClientConfig()) as client:
                _session(s, client, None, seconds)
        else:
            from hyperliquid_client.testing import FakeExchange

            with FakeExchange() as fx:
                alice_key, bob_key = Wallet.generate(), Wallet.generate()
                for w in (alice_key, bob_key):
                    fx.fund(w.address, usdc=100_000)
                s.say(f"demo on the built-in fake exchange at {fx.http_url}")
                config = ClientConfig(verify_signatures=True)
                with (
                    Client(http_url=fx.http_url, wallet=alice_key, config=config) as alice,
                    Client(http_url=fx.http_url, wallet=bob_key, config=config) as bob,
                ):
                    _session(s, alice, bob, seconds)
    except (HyperliquidError, DemoError) as exc:
        s.say(f"\ndemo failed: {type(exc).__name__}: {exc}")
        return 1
    total = time.perf_counter() - started
    steps = ", ".join(f"{name} {d * 1000:.0f} ms" for name, d in s.durations)
    s.say(f"\nOK in {total:.1f} s — signing backend: {default_backend().name}; steps: {steps}")
    return 0
