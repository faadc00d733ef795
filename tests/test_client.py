"""The public clients: start-up never waits on the network, timeouts and caching per the spec, several clients."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from hyperliquid_client import AsyncClient, Client, ClientConfig, SubscriptionFailedError, Wallet
from hyperliquid_client.runtime import errors
from hyperliquid_client.runtime.events import Event, EventBus
from hyperliquid_client.runtime.transport import RetryPolicy, TransportConfig
from hyperliquid_client.testing import FakeExchange, Fault

KEY = "0x" + "11" * 32


@pytest.fixture
def hanging_port() -> Iterator[int]:
    """A server that accepts connections and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    conns: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.1)
        while not stop.is_set():
            try:
                c, _ = srv.accept()
                conns.append(c)
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield srv.getsockname()[1]
    stop.set()
    t.join()
    for c in conns:
        c.close()
    srv.close()


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.parametrize("kind", ["refusing", "hanging", "unresolvable"])
def test_sync_start_up_never_waits(kind: str, hanging_port: int) -> None:
    url = {
        "refusing": f"http://127.0.0.1:{_closed_port()}",
        "hanging": f"http://127.0.0.1:{hanging_port}",
        "unresolvable": "http://no-such-host.invalid",
    }[kind]
    started = time.perf_counter()
    client = Client(http_url=url, wallet=KEY)
    with client:
        elapsed = time.perf_counter() - started
        assert client.warm_status.state in ("pending", "failed", "partial")
    # A start-up that waited on the network would take at least the request timeout (seconds); 1 s leaves room
    # for a loaded machine (first imports of the signing backend) without a timing claim about the library.
    assert elapsed < 1.0, f"start-up took {elapsed * 1000:.1f} ms"


@pytest.mark.parametrize("kind", ["refusing", "hanging"])
async def test_async_start_up_never_waits(kind: str, hanging_port: int) -> None:
    url = f"http://127.0.0.1:{_closed_port() if kind == 'refusing' else hanging_port}"
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    t = asyncio.create_task(ticker())
    started = time.perf_counter()
    async with AsyncClient(http_url=url, wallet=KEY) as client:
        elapsed = time.perf_counter() - started
        await asyncio.sleep(0.1)
        assert client.warm_status.state in ("pending", "failed")
    t.cancel()
    assert elapsed < 1.0, f"start-up took {elapsed * 1000:.1f} ms"  # waiting on the network would take seconds
    assert ticks >= 5, "the event loop was blocked"


def test_metadata_needed_before_warm_up_fails_clearly_when_api_down() -> None:
    config = ClientConfig(warm=False, metadata_timeout=0.5)
    with Client(http_url=f"http://127.0.0.1:{_closed_port()}", wallet=KEY, config=config) as client:
        started = time.perf_counter()
        with pytest.raises(errors.HyperliquidError) as info:
            client.exchange.order("BTC", True, "0.01", "50000")
        assert time.perf_counter() - started < 3
        assert "meta" in str(info.value).lower()


def test_a_signed_calls_timeout_bounds_its_wait_for_metadata() -> None:
    config = ClientConfig(warm=False, metadata_timeout=5)
    with FakeExchange() as fx, Client(http_url=fx.http_url, wallet=KEY, config=config) as client:
        fx.add_fault("/info", Fault.hang(), match={"type": "meta"})
        exchange = client.exchange
        for call in (
            lambda: exchange.order("BTC", True, "0.01", "50000", timeout=0.5),
            lambda: exchange.market_open("BTC", True, "0.01", timeout=0.5),
            lambda: exchange.round_price("BTC", 50000.5, timeout=0.5),
        ):
            started = time.monotonic()
            with pytest.raises(
                errors.MetadataUnavailableError, match=r"still loading when the call's timeout ran out \(after 0\.5s\)"
            ):
                call()
            assert time.monotonic() - started < 2.5  # its own 0.5 s, not metadata_timeout's 5 s
        assert fx.requests_for("/exchange") == []
        assert len(fx.requests_for("/info", type="meta")) == 1  # every call waited on the one load in flight


async def test_an_async_signed_calls_timeout_bounds_its_wait_for_metadata() -> None:
    config = ClientConfig(warm=False, metadata_timeout=5)
    with FakeExchange() as fx:
        fx.add_fault("/info", Fault.hang(), match={"type": "meta"})
        async with AsyncClient(http_url=fx.http_url, wallet=KEY, config=config) as client:
            started = time.monotonic()
            with pytest.raises(
                errors.MetadataUnavailableError, match=r"still loading when the call's timeout ran out \(after 0\.5s\)"
            ):
                await client.exchange.order("BTC", True, "0.01", "50000", timeout=0.5)
            assert time.monotonic() - started < 2.5
        assert fx.requests_for("/exchange") == []


def test_warm_up_succeeds_against_the_fake_and_lookups_work() -> None:
    with FakeExchange() as fx, Client(http_url=fx.http_url, wallet=KEY) as client:
        deadline = time.monotonic() + 10
        while client.warm_status.state != "ok":
            assert time.monotonic() < deadline, client.warm_status.describe()
            time.sleep(0.02)
        market = client.markets.market()
        assert market.asset_id("BTC") == 0
        assert market.asset_id("PURR/USDC") == 10000
        assert market.sz_decimals("ETH") == 4
        before = len(fx.requests_for("/info", type="meta"))
        client.markets.market("BTC")  # served from the warmed cache
        assert len(fx.requests_for("/info", type="meta")) == before


def test_per_endpoint_and_per_call_timeouts_through_the_client() -> None:
    config = ClientConfig(warm=False, transport=TransportConfig(default_timeout=30, retry=RetryPolicy(max_attempts=1)))
    with FakeExchange() as fx, Client(http_url=fx.http_url, config=config) as client:
        fx.add_fault("/info", Fault.hang(), match={"type": "l2Book"})
        started = time.perf_counter()
        with pytest.raises(errors.TimeoutError):
            client.info.l2_book("BTC", timeout=0.3)  # per call beats the spec's 5 s
        assert time.perf_counter() - started < 0.8
        started = time.perf_counter()
        with pytest.raises(errors.TimeoutError) as info:
            client.info.l2_book("ETH")  # the spec's timeout (5 s) beats the client default (30 s)
        elapsed = time.perf_counter() - started
        assert 4.5 < elapsed < 6.0
        assert info.value.timeout == 5.0


def test_cache_policy_from_the_spec_and_events() -> None:
    bus = EventBus()
    seen: list[Event] = []
    bus.subscribe("*", seen.append)
    with FakeExchange() as fx, Client(http_url=fx.http_url, config=ClientConfig(warm=False), events=bus) as client:
        first = client.info.meta()  # cache ttl 60 s in the spec
        second = client.info.meta()
        assert first == second
        assert len(fx.requests_for("/info", type="meta")) == 1
        client.info.user_fills("0x" + "ab" * 20)  # no cache policy: every call goes out
        client.info.user_fills("0x" + "ab" * 20)
        assert len(fx.requests_for("/info", type="userFills")) == 2
    names = [e.name for e in seen]
    assert "cache.miss" in names and "cache.hit" in names
    ends = [e for e in seen if e.name == "request.end"]
    assert {e["endpoint"] for e in ends} >= {"info.meta", "info.userFills"}  # one name per endpoint
    assert all(e["context"] == "info" for e in ends)


def test_several_independent_clients_coexist() -> None:
    with FakeExchange() as a, FakeExchange() as b:
        ca = Client(http_url=a.http_url, wallet=KEY, config=ClientConfig(warm=False))
        cb = Client(http_url=b.http_url, wallet="0x" + "22" * 32, config=ClientConfig(warm=False))
        cm = Client("mainnet", config=ClientConfig(warm=False))
        ct = Client("testnet", config=ClientConfig(warm=False))
        try:
            assert ca.info.all_mids() and cb.info.all_mids()
            assert a.requests_for("/info", type="allMids") and b.requests_for("/info", type="allMids")
            assert ca.wallet is not None and cb.wallet is not None and ca.wallet.address != cb.wallet.address
            assert cm.network.is_mainnet and not ct.network.is_mainnet
        finally:
            for c in (ca, cb, cm, ct):
                c.close()


def test_client_repr_hides_the_key() -> None:
    client = Client(http_url="http://127.0.0.1:1", wallet=KEY, config=ClientConfig(warm=False))
    try:
        assert "11" * 32 not in repr(client) and "11" * 32 not in str(client.wallet)
        assert client.wallet is not None and client.wallet.address in repr(client)
    finally:
        client.close()


def test_bad_input_is_refused_before_sending() -> None:
    with FakeExchange() as fx, Client(http_url=fx.http_url, config=ClientConfig(warm=False)) as client:
        with pytest.raises(errors.InvalidInputError) as info:
            client.info.clearinghouse_state("not-an-address")
        assert info.value.field == "user"
        with pytest.raises(errors.InvalidInputError):
            client.info.l2_book("BTC", n_sig_figs=7)
        assert fx.requests_for("/info") == []


def test_invalid_response_names_the_path() -> None:
    with FakeExchange() as fx, Client(http_url=fx.http_url, config=ClientConfig(warm=False)) as client:
        fx.set_info("l2Book", {"coin": "BTC", "time": 1, "levels": [[{"px": "1", "sz": "x", "n": 1}], []]})
        with pytest.raises(errors.InvalidResponseError) as info:
            client.info.l2_book("BTC")
        assert info.value.path == "$.levels[0][0].sz"
        assert info.value.endpoint == "info.l2Book"


def test_unknown_fields_are_kept() -> None:
    with FakeExchange() as fx, Client(http_url=fx.http_url, config=ClientConfig(warm=False)) as client:
        fx.set_info("l2Book", {"coin": "BTC", "time": 1, "levels": [[], []], "brandNew": {"x": 1}})
        book = client.info.l2_book("BTC")
        assert book is not None and book.extra == {"brandNew": {"x": 1}}


def test_latest_values_and_posts_over_the_socket() -> None:
    with FakeExchange() as fx, Client(http_url=fx.http_url, config=ClientConfig(warm=False)) as client:
        assert client.latest("l2Book", coin="BTC") is None
        book = client.streams.l2_book("BTC")
        deadline = time.monotonic() + 5
        while client.latest("l2Book", coin="BTC") is None:  # the book the server sends after the ack
            assert time.monotonic() < deadline
            time.sleep(0.01)
        fx.publish({"type": "l2Book", "coin": "BTC"}, {"coin": "BTC", "time": 7, "levels": [[], []]})
        while client.latest("l2Book", coin="BTC").time != 7:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        latest = client.latest("l2Book", coin="BTC")
        assert latest.coin == "BTC" and latest.time == 7
        mids = client.post("info", {"type": "allMids"}, timeout=5)
        assert mids["BTC"] == "97000.5"
        book.close()


def test_unknown_coin_is_refused_once_metadata_is_known() -> None:
    with FakeExchange() as fx, Client(http_url=fx.http_url, config=ClientConfig(warm=False)) as client:
        early = client.streams.trades("NOPE")  # metadata not loaded yet: subscribing never waits
        early.close()
        client.markets.market("BTC")  # perp metadata now cached
        with pytest.raises(errors.InvalidInputError) as info:
            client.streams.l2_book("NOPE")
        assert info.value.field == "coin"
        ok = client.streams.l2_book("ETH")
        ok.close()
        assert all(s.get("coin") != "NOPE" or s.get("type") == "trades" for _, s in fx.ws_subscriptions)


def test_an_unknown_coin_raises_the_same_error_whenever_it_is_found() -> None:
    """Before the metadata is loaded the coin is checked in the background: ``get()`` and ``wait_live()`` then raise
    what subscribing raises once it is loaded (an InvalidInputError naming ``coin``), also a SubscriptionFailedError."""
    with FakeExchange() as fx:
        for wait in ("get", "wait_live"):
            with Client(http_url=fx.http_url, config=ClientConfig(warm=False)) as client:
                early = client.streams.trades("NOPE")  # metadata not loaded yet: checked in the background
                with pytest.raises(errors.InvalidInputError) as info:
                    getattr(early, wait)(timeout=10)
                assert info.value.field == "coin" and info.value.got == "NOPE", wait
                assert isinstance(info.value, SubscriptionFailedError) and early.error is info.value
                with pytest.raises(errors.InvalidInputError) as late:  # metadata loaded: refused at once
                    client.streams.trades("NOPE")
                assert late.value.field == "coin" and str(late.value) in str(info.value)


def test_a_closed_client_opens_nothing_new() -> None:
    with FakeExchange() as fx:
        client = Client(http_url=fx.http_url, config=ClientConfig(warm=False))
        client.streams.trades("BTC").close()
        client.close()
        with pytest.raises(errors.TransportError):
            client.info.all_mids()
        with pytest.raises(errors.WebSocketError):
            client.streams.trades("BTC")
        with pytest.raises(errors.WebSocketError):
            client.post("info", {"type": "meta"})
        deadline = time.monotonic() + 5
        while fx.ws_connection_count:
            assert time.monotonic() < deadline, "the socket stayed open"
            time.sleep(0.02)


async def test_a_closed_async_client_opens_nothing_new() -> None:
    with FakeExchange() as fx:
        async with AsyncClient(http_url=fx.http_url, config=ClientConfig(warm=False)) as client:
            pass
        with pytest.raises(errors.WebSocketError):
            await client.streams.trades("BTC")


async def test_many_concurrent_orders_from_one_wallet_are_all_accepted() -> None:
    from hyperliquid_client.runtime.signing import Wallet

    with FakeExchange() as fx:
        wallet = Wallet.generate()
        fx.fund(wallet.address, usdc=10_000_000)
        async with AsyncClient(http_url=fx.http_url, wallet=wallet, config=ClientConfig(warm=False)) as client:
            results = await asyncio.gather(
                # a generous deadline: on a loaded machine 250 calls may queue long for the pool's connections
                *[client.exchange.order("ETH", True, "0.01", 3000, timeout=60) for _ in range(250)],
                return_exceptions=True,
            )
    failures = [r for r in results if isinstance(r, BaseException)]
    assert failures == []  # more than 100 in flight would get "nonce too low" for the slowest


def test_a_forgotten_client_is_collected_and_stops_its_threads() -> None:
    import gc
    import threading
    import warnings

    with FakeExchange() as fx:

        def use_and_forget() -> None:
            client = Client(http_url=fx.http_url)
            client.info.l2_book("BTC")

        before = {t.ident for t in threading.enumerate()}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            use_and_forget()
            deadline = time.monotonic() + 30  # generous: a loaded machine
            # a warmer in the middle of a fetch holds the client until that fetch returns
            # wait for the client's own warning (another ResourceWarning, e.g. a socket's, may come first)
            while not any("unclosed Client" in str(w.message) for w in caught):
                assert time.monotonic() < deadline, "the forgotten client was never collected"
                gc.collect()
                time.sleep(0.05)
        assert any("unclosed Client" in str(w.message) for w in caught)
        while any(t.ident not in before and t.name.startswith("hl-warm") for t in threading.enumerate()):
            assert time.monotonic() < deadline, "the warmer threads of a collected client kept running"
            time.sleep(0.05)


def test_a_client_nobody_holds_stays_open_while_what_it_handed_out_is_in_use() -> None:
    """``Client(...).info.all_mids()``: the API object in use keeps the client's resources open; once nothing the
    client handed out is held, it is closed by reference counting alone (no garbage collector needed, no cycle), with
    its threads stopped. A stream cannot outlive its client: asking one of a client nobody holds fails loudly."""
    import gc
    import warnings
    import weakref

    def unclosed(caught: list[warnings.WarningMessage]) -> int:
        return sum("unclosed Client" in str(w.message) for w in caught)

    with FakeExchange() as fx, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wallet = Wallet.generate()
        fx.fund(wallet.address, usdc=10_000)
        before = {t.ident for t in threading.enumerate()}
        gc.disable()  # everything below must happen without the collector
        try:
            assert Client(http_url=fx.http_url).info.all_mids()["BTC"]
            assert unclosed(caught) == 1
            result = Client(http_url=fx.http_url, wallet=wallet).exchange.order("ETH", True, "0.01", 1000)
            assert result.ok
            assert unclosed(caught) == 2
            info = Client(http_url=fx.http_url).info  # the client object itself is gone now
            assert unclosed(caught) == 2
            assert info.all_mids()["ETH"]
            del info
            assert unclosed(caught) == 3
            client = Client(http_url=fx.http_url)
            client.info.all_mids()
            ref = weakref.ref(client)
            del client
            assert ref() is None and unclosed(caught) == 4
            markets = Client(http_url=fx.http_url).markets  # (held by the warmers: it cannot keep the client)
            with pytest.raises(errors.MetadataUnavailableError, match="the client was garbage-collected without close"):
                markets.market("BTC")
            with pytest.raises(errors.WebSocketError, match="the client was garbage-collected without close"):
                Client(http_url=fx.http_url, ws_url=fx.ws_url).streams.trades("BTC")
        finally:
            gc.enable()
        deadline = time.monotonic() + 30  # generous: a loaded machine
        while any(t.ident not in before and t.name.startswith("hl-warm") for t in threading.enumerate()):
            assert time.monotonic() < deadline, "the warmer threads of a closed client kept running"
            time.sleep(0.05)


def test_absurd_sizes_and_prices_are_refused_before_sending() -> None:
    from hyperliquid_client.runtime.signing import Wallet

    with FakeExchange() as fx:
        wallet = Wallet.generate()
        fx.fund(wallet.address, usdc=10_000)
        with Client(http_url=fx.http_url, wallet=wallet, config=ClientConfig(warm=False)) as client:
            for kwargs in ({"sz": 10**30, "limit_px": "3000"}, {"sz": "0.01", "limit_px": 10**40}):
                with pytest.raises(errors.InvalidInputError):
                    client.exchange.order("ETH", True, **kwargs)
            assert fx.requests_for("/exchange") == []


def test_an_async_client_belongs_to_the_event_loop_it_was_first_used_in() -> None:
    """Used from a second loop (a second ``asyncio.run()``, pytest's per-test loops) it refuses at once with a typed
    error saying what to do, where its streams used to never connect; ``aclose()`` from that other loop works."""
    with FakeExchange() as fx:
        client = AsyncClient(http_url=fx.http_url, config=ClientConfig(warm=False))

        async def use() -> None:
            assert "BTC" in await client.info.all_mids()
            stream = await client.streams.trades("BTC")
            await stream.wait_live(timeout=10)

        asyncio.run(use())
        for second_use in (use, lambda: client.streams.trades("ETH"), lambda: client.post("info", {"type": "meta"})):
            with pytest.raises(errors.EventLoopError, match="create one AsyncClient per event loop"):
                asyncio.run(second_use())  # type: ignore[arg-type]
        asyncio.run(client.aclose())  # from another loop, after its own loop closed: no "Event loop is closed"
        assert client._hub.opened is False
        with pytest.raises(errors.HyperliquidError):
            asyncio.run(client.info.all_mids())


def test_an_async_client_is_closed_on_its_own_loop_when_that_loop_still_runs() -> None:
    with FakeExchange() as fx:
        own = asyncio.new_event_loop()
        thread = threading.Thread(target=own.run_forever, daemon=True)
        thread.start()
        try:
            client = AsyncClient(http_url=fx.http_url, config=ClientConfig(warm=False))

            async def subscribe() -> object:
                stream = await client.streams.trades("BTC")
                await stream.wait_live(timeout=10)
                return stream

            stream = asyncio.run_coroutine_threadsafe(subscribe(), own).result(30)
            asyncio.run(client.close())  # the awaitable alias of aclose(), from another loop
            assert stream.closed  # type: ignore[attr-defined]  # closed on its own loop: its streams ended
        finally:
            own.call_soon_threadsafe(own.stop)
            thread.join(5)
            own.close()


def test_auto_cloid_lets_an_order_placed_without_a_cloid_be_resolved() -> None:
    from hyperliquid_client import Resting

    with FakeExchange() as fx:
        fx.fund(Wallet.from_key(KEY).address, 10_000)
        with Client(http_url=fx.http_url, wallet=KEY, config=ClientConfig(warm=False)) as plain:
            plain.exchange.order("BTC", True, "0.001", 90000)
            assert "c" not in fx.requests_for("/exchange")[-1].body["action"]["orders"][0]  # off: signed as given
        config = ClientConfig(warm=False, auto_cloid=True)
        with Client(http_url=fx.http_url, wallet=KEY, config=config) as client:
            resting = client.exchange.order("BTC", True, "0.001", 90000).statuses[0]
            assert isinstance(resting, Resting) and resting.cloid is not None
            mine = "0x" + "00" * 15 + "09"
            kept = client.exchange.modify(resting.oid, "BTC", True, "0.002", 90000, cloid=mine).statuses[0]
            assert isinstance(kept, Resting) and kept.cloid == mine  # a cloid given is never replaced
            fx.add_fault("/exchange", Fault.latency(1.0), count=1)  # the answer arrives too late
            with pytest.raises(errors.IndeterminateError) as info:
                client.exchange.order("BTC", True, "0.001", 89000, timeout=0.3)
            (cloid,) = info.value.cloids
            deadline = time.monotonic() + 10
            while (status := client.exchange.resolve_indeterminate(info.value)[cloid].status) != "order":
                assert time.monotonic() < deadline, status
                time.sleep(0.1)
