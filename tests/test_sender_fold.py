"""The senders' usual send in one frame (an action sent alone, its nonce from the signer's window) agrees with the
general path it folds (``_admitted`` -> ``_send`` -> ``post``), sync and async, step by step: the result or the error
(naming the user's parameter), the request handed to the transport (with the stated timeout, the connection turn and
the limiter's ticket), the events, the nonces and the limiter's state (weight, allowance, breaker)."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

import pytest

from hyperliquid_client.generated.registry import ENDPOINTS
from hyperliquid_client.runtime.config import custom_network
from hyperliquid_client.runtime.errors import HTTPStatusError, HyperliquidError, TransportError
from hyperliquid_client.runtime.events import Event, EventBus
from hyperliquid_client.runtime.exchange import ActionSender, AsyncActionSender
from hyperliquid_client.runtime.ratelimit import RateLimitConfig, RateLimiter
from hyperliquid_client.runtime.ratelimit.limiter import _PREADMITTED
from hyperliquid_client.runtime.signing import NonceManager, Wallet
from hyperliquid_client.runtime.transport import AsyncHttpTransport, HttpTransport
from hyperliquid_client.runtime.transport._core import STATED_TIMEOUT

KEY_A = "0x" + "11" * 32
KEY_B = "0x" + "22" * 32
URL = "https://api.fold.example"
VAULT = "0x" + "cd" * 20
VAULT2 = "0x" + "ef" * 20
CLOID = "0x" + "00" * 15 + "07"


def order(n: int = 1, cloid: str | None = None) -> dict[str, Any]:
    wire: dict[str, Any] = {"a": 4, "b": True, "p": "1670.1", "s": "0.0147", "r": False, "t": {"limit": {"tif": "Gtc"}}}
    if cloid is not None:
        wire["c"] = cloid
    return {"type": "order", "orders": [dict(wire) for _ in range(n)], "grouping": "na"}


def resting(n: int, cloid: str | None = None) -> dict[str, Any]:
    one = {"resting": {"oid": 77, **({"cloid": cloid} if cloid else {})}}
    return {"status": "ok", "response": {"type": "order", "data": {"statuses": [one] * n}}}


def answer_of(rng: random.Random, n: int, cloid: str | None) -> Any:
    """What the stubbed transport does: an answer to return, or an exception to raise."""
    return rng.choice(
        [
            resting(n, cloid),
            resting(n, cloid),
            {"status": "ok", "response": {"type": "order", "data": {"statuses": [{"error": "Too small"}] * n}}},
            {"status": "err", "response": "Too many cumulative requests sent (990 > 1000) for cumulative volume"},
            {"status": "err", "response": "User or API Wallet 0x00 does not exist."},
            {"status": "ok", "response": {"type": "order", "data": {"statuses": [{"garbage": 1}] * n}}},
            resting(n + 1),  # one status too many
            TransportError("connection reset", request_sent=True),
            TransportError("connection refused", request_sent=False),
            HTTPStatusError(502, body="bad gateway"),
        ]
    )


def case_of(rng: random.Random, other: Wallet) -> dict[str, Any]:
    """One send: an order or a noop (no vault), with good and bad wallets, vaults, timeouts, expiries."""
    n = rng.choice((1, 1, 2, 41))
    cloid = CLOID if rng.random() < 0.3 else None
    wire = "noop" if rng.random() < 0.15 else "order"
    case = {
        "wire": wire,
        "action": {"type": "noop"} if wire == "noop" else order(n, cloid),
        "wallet": rng.choice([None, None, other]),
        "vault_address": rng.choice([None, None, None, VAULT]),
        "timeout": rng.choice([None, None, 7.0, 3]),
        "expires_after": rng.choice([None, None, None, 1_900_000_000_000]),
        "answer": answer_of(rng, n, cloid) if wire == "order" else {"status": "ok", "response": {"type": "default"}},
        "transport_takes_ticket": rng.random() < 0.5,
    }
    if rng.random() < 0.25:  # one bad parameter, refused naming it
        key, bad = rng.choice(BAD)
        case[key] = bad
        if key == "vault_address" and bad == VAULT:  # a vault for an action never hashed with one
            case["wire"], case["action"], case["answer"] = "noop", {"type": "noop"}, {"status": "ok"}
    return case


BAD = [
    ("wallet", "not a wallet"),
    ("vault_address", VAULT),
    ("vault_address", "0xnot-an-address"),
    ("timeout", -1.0),
    ("timeout", "soon"),
    ("expires_after", -5),
]


class Rig:
    """A sender over a stubbed ``request_json`` that records what the transport was handed."""

    def __init__(self, cls: type, transport_cls: type, wallet: Wallet, *, budget: int, vault: str | None) -> None:
        self.events: list[Event] = []
        bus = EventBus()
        bus.subscribe("*", self.events.append)
        rate = RateLimitConfig(policy="fail", budget=budget, ip_key=uuid.uuid4().hex, breaker_failures=2)
        self.limiter = RateLimiter(rate, api_url=URL, events=bus, clock=lambda: 1000.0)  # (waits worded alike)
        self.nonces = NonceManager(clock=lambda: 1_800_000_000_000)
        self.transport = transport_cls()
        self.sender = cls(
            self.transport,
            custom_network(URL),
            wallet=wallet,
            nonces=self.nonces,
            events=bus,
            limiter=self.limiter,
            verify_signatures=True,
            vault_address=vault,
        )
        self.posted: list[dict[str, Any]] = []
        self.answer: Any = None
        self.takes_ticket = False

    def request_json(self, method: str, url: str, **kw: Any) -> Any:
        held = _PREADMITTED.get()
        ticket = held[0] if held else None
        self.posted.append(
            {
                "method": method,
                "url": url,
                "stated": STATED_TIMEOUT.get(),
                "timeout_ok": 0 < kw.pop("timeout") <= 10.0,
                "ticket": None if ticket is None else (ticket.request, ticket.probe),
                **kw,
            }
        )
        if self.takes_ticket and held:  # as the transport does: take the ticket, settle it with the answer
            taken = held.pop()
            self.limiter.settle(taken, status=None if isinstance(self.answer, Exception) else 200)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    def state(self, *addresses: str) -> tuple[Any, ...]:
        lim = self.limiter
        windows = tuple((self.nonces.last(a), self.nonces.in_flight(a)) for a in addresses)
        allowances = tuple(lim.address(a) for a in addresses)
        return lim.used, lim.paused_for, lim.circuit(URL), allowances, windows


def outcome_of(call: Any) -> Any:
    try:
        result = call()
    except HyperliquidError as exc:
        return ("error", type(exc).__name__, str(exc), getattr(exc, "field", None))
    return ("ok", result)


async def aoutcome_of(call: Any) -> Any:
    try:
        result = await call()
    except HyperliquidError as exc:
        return ("error", type(exc).__name__, str(exc), getattr(exc, "field", None))
    return ("ok", result)


def general(sender: Any, endpoint: Any, case: dict[str, Any]) -> Any:
    """The general path, as ``send`` took it before the fold (and still takes it with a given nonce)."""
    gate = sender.gate
    address = gate.account(sender, endpoint, case["wallet"], case["vault_address"])
    try:
        return sender._admitted(endpoint, case["action"], case["wallet"], case["vault_address"],
                                case["expires_after"], case["timeout"], None, address)  # fmt: skip
    except Exception as exc:
        gate.refused(address, exc)
        raise


async def ageneral(sender: Any, endpoint: Any, case: dict[str, Any]) -> Any:
    gate = sender.gate
    address = gate.account(sender, endpoint, case["wallet"], case["vault_address"])
    try:
        return await sender._admitted(endpoint, case["action"], case["wallet"], case["vault_address"],
                                      case["expires_after"], case["timeout"], None, address)  # fmt: skip
    except Exception as exc:
        gate.refused(address, exc)
        raise


def heard(events: list[Event]) -> list[tuple[str, dict[str, Any]]]:
    return [(e.name, {k: v for k, v in e.fields.items() if k not in ("scope", "duration")}) for e in events]


def next_case(rng: random.Random, other: Wallet, *rigs: Rig) -> tuple[dict[str, Any], Any, dict[str, Any]]:
    """The next case, its endpoint and the send's keyword arguments; the rigs' transports set to answer it."""
    case = case_of(rng, other)
    for rig in rigs:
        rig.answer, rig.takes_ticket = case["answer"], case["transport_takes_ticket"]
    kwargs = {k: case[k] for k in ("wallet", "vault_address", "timeout", "expires_after")}
    return case, ENDPOINTS["exchange." + case["wire"]], kwargs


def agree(fast: Rig, full: Rig, got: Any, want: Any, case: dict[str, Any], *addresses: str) -> None:
    """The same outcome, request, events, nonces and limits on both paths after one case."""
    assert got == want, case
    assert fast.posted == full.posted
    assert heard(fast.events) == heard(full.events)
    assert fast.state(*addresses) == full.state(*addresses)
    assert _PREADMITTED.get() is None and STATED_TIMEOUT.get() is None


@pytest.mark.parametrize("seed", range(4))
def test_the_one_frame_send_agrees_with_the_general_path_step_by_step(seed: int) -> None:
    rng = random.Random(seed)
    main, other = Wallet.from_key(KEY_A), Wallet.from_key(KEY_B)
    budget = (30, 45, 10**6, 10**6)[seed]  # near the weight budget (refusals) and far from it
    vault = (None, VAULT2)[seed % 2]  # the client's default vault (orders are hashed with it)
    fast, full = (Rig(ActionSender, HttpTransport, main, budget=budget, vault=vault) for _ in range(2))
    try:
        for rig in (fast, full):
            rig.transport.request_json = rig.request_json
        for _ in range(60):
            case, endpoint, kwargs = next_case(rng, other, fast, full)
            got = outcome_of(lambda e=endpoint, c=case, k=kwargs: fast.sender.send(e, c["action"], **k))
            want = outcome_of(lambda e=endpoint, c=case: general(full.sender, e, c))
            agree(fast, full, got, want, case, main.address, other.address)
            assert fast.transport._turns._free == full.transport._turns._free  # (every turn given back)
        assert any(o["ticket"] for o in fast.posted) and fast.events  # (the cases reached the transport)
    finally:
        fast.transport.close()
        full.transport.close()


class AsyncRig(Rig):
    async def arequest_json(self, method: str, url: str, **kw: Any) -> Any:
        return self.request_json(method, url, **kw)


@pytest.mark.parametrize("seed", range(2))
def test_the_async_one_frame_send_agrees_with_the_general_path(seed: int) -> None:
    async def run() -> None:
        rng = random.Random(100 + seed)
        main, other = Wallet.from_key(KEY_A), Wallet.from_key(KEY_B)
        budget = (30, 10**6)[seed]
        rigs = (AsyncRig(AsyncActionSender, AsyncHttpTransport, main, budget=budget, vault=VAULT2) for _ in range(2))
        fast, full = rigs
        try:
            for rig in (fast, full):
                rig.transport.request_json = rig.arequest_json
            for _ in range(40):
                case, endpoint, kwargs = next_case(rng, other, fast, full)
                got = await aoutcome_of(lambda e=endpoint, c=case, k=kwargs: fast.sender.send(e, c["action"], **k))
                want = await aoutcome_of(lambda e=endpoint, c=case: ageneral(full.sender, e, c))
                agree(fast, full, got, want, case, main.address, other.address)
            assert any(o["ticket"] for o in fast.posted)
        finally:
            await fast.transport.aclose()
            await full.transport.aclose()

    asyncio.run(run())


def test_the_gate_reuses_a_request_only_where_a_fresh_one_would_be_equal() -> None:
    from hyperliquid_client.runtime.errors import InvalidInputError
    from hyperliquid_client.runtime.ratelimit.limiter import Request
    from hyperliquid_client.runtime.ratelimit.senders import SendGate

    gate = SendGate(RateLimiter(RateLimitConfig(ip_key=uuid.uuid4().hex), api_url=URL))
    order_ep, cancel_ep = ENDPOINTS["exchange.order"], ENDPOINTS["exchange.cancel"]
    for endpoint, action, weight in (
        (order_ep, order(1), 1),
        (order_ep, order(41), 2),
        (cancel_ep, {"cancels": []}, 1),
    ):
        for url, default in ((URL, 10.0), (URL, 3.0), (URL + "/other", 10.0)):
            first = gate.request(endpoint, action, url, None, default)
            again = gate.request(endpoint, action, url, None, default)
            assert first == again == (Request("exchange", endpoint.qualified_name, weight, url, default), default)
            given = gate.request(endpoint, action, url, 2.5, default)
            assert given == (Request("exchange", endpoint.qualified_name, weight, url, 2.5), 2.5)
    for bad in (-1.0, "soon", [1]):
        with pytest.raises(InvalidInputError) as info:
            gate.request(order_ep, order(1), URL, bad, 10.0)  # type: ignore[arg-type]
        assert info.value.field == "timeout"
