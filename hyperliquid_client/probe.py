"""``hyperliquid spec probe``: ask a server every question the spec knows and report where it drifts.

::

    hyperliquid spec probe --network testnet                      # every info endpoint, every public channel
    hyperliquid spec probe --url http://127.0.0.1:8080 --record tests/data/fixtures/new
    hyperliquid spec probe --network mainnet --user 0x...         # user endpoints and channels for that user

The probe calls every info endpoint with its spec sample's parameters (``--user`` replaces the sample's
``user``; a coin the server does not list is replaced by one it lists), subscribes every public
channel (and, with ``--user``, every user channel) for ``--seconds``, and structures each answer with
the generated models.  What does not match the spec is *drift*: a field the spec does not know, a
union variant or enum value it does not know, a required field that is missing, a value of the wrong
type.  The report lists each drift with the endpoint or channel and the JSON path; ``--record DIR``
writes every answer in the repository's fixture format (``tests/data/fixtures/README.md``) so it can
become a test.

The client keeps the IP weight budget (1,200 per minute: the spec's weights plus the per-item surcharge
of each answer); when a call would have to wait for budget past its timeout, the probe waits and asks
again.  It prints its progress on stderr and stops cleanly on Ctrl-C (the report then covers what was
probed).  Exit status: 0 when everything matches
the spec, 1 when something drifted or failed, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any, TextIO, TypeVar

import attrs

from hyperliquid_client.generated.info import InfoAPI
from hyperliquid_client.generated.registry import CHANNELS, ENDPOINTS
from hyperliquid_client.generated.samples import CHANNELS as CHANNEL_SAMPLES
from hyperliquid_client.generated.samples import ENDPOINTS as ENDPOINT_SAMPLES
from hyperliquid_client.generated.streams import Streams
from hyperliquid_client.runtime.errors import (
    ConfigError,
    HyperliquidError,
    InvalidInputError,
    InvalidResponseError,
    RateLimitedError,
)
from hyperliquid_client.runtime.events import Event
from hyperliquid_client.runtime.registry import ChannelSpec, EndpointSpec
from hyperliquid_client.runtime.ws import Message

__all__ = [
    "Drift",
    "Outcome",
    "ProbeReport",
    "add_arguments",
    "probe",
    "run",
    "sample_kwargs",
]

T = TypeVar("T")

_MAX_WAITS = 10  # waits for the weight budget before one call gives up
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_FIRST = ("meta", "spotMeta")  # asked first: their answers tell which coins the server lists


# ------------------------------------------------------------------------------------------------ findings
@attrs.frozen
class Drift:
    """One place where answers do not match the spec (a ``schema.drift`` event of the client).

    ``kind``: ``extra`` (a field the spec does not declare), ``enum``/``variant`` (an enum value or
    union variant it does not know), ``missing`` (a required field is absent), ``type`` (a value of
    the wrong type).  ``path`` is the JSON path, list indexes as ``[*]`` (``$.levels[*][*].px``);
    ``detail`` what the spec expected and the JSON type of what arrived (never a value that may be
    private: only an unknown enum value or variant tag is shown).
    """

    kind: str
    path: str
    detail: str


@attrs.define
class Outcome:
    """What probing one endpoint or channel found."""

    target: str  # "info.l2Book" or "channel.trades"
    status: str = "pending"  # ok | drift | failed | silent | skipped
    drift: list[Drift] = attrs.field(factory=list)
    note: str = ""
    messages: int = 0


@attrs.define
class ProbeReport:
    """Every outcome, in probing order, plus where it ran."""

    server: str
    outcomes: list[Outcome] = attrs.field(factory=list)
    seconds: float = 0.0
    interrupted: bool = False

    def count(self, status: str, prefix: str = "") -> int:
        return sum(1 for o in self.outcomes if o.status == status and o.target.startswith(prefix))

    @property
    def clean(self) -> bool:
        """No drift and no failure (silent channels and skipped targets are not problems)."""
        return not any(o.status in ("drift", "failed") for o in self.outcomes)

    def to_json(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "interrupted": self.interrupted,
            "summary": {s: self.count(s) for s in ("ok", "drift", "failed", "silent", "skipped")},
            "outcomes": [attrs.asdict(o) for o in self.outcomes],
        }

    def render(self) -> str:
        """The report as text (what ``hyperliquid spec probe`` prints)."""
        lines = [f"Spec probe of {self.server}" + (" (interrupted: partial report)" if self.interrupted else "")]
        for label, prefix in (("info", "info."), ("channels", "channel.")):
            done = [o for o in self.outcomes if o.target.startswith(prefix)]
            if done:
                counts = ", ".join(
                    f"{self.count(s, prefix)} {s}"
                    for s in ("ok", "drift", "failed", "silent", "skipped")
                    if self.count(s, prefix)
                )
                lines.append(f"  {label}: {len(done)} probed: {counts}")
        drifted = [o for o in self.outcomes if o.drift]
        if drifted:
            lines += ["", "Drift from the spec:"]
            width = max(len(o.target) for o in drifted)
            path_width = min(max(len(d.path) for o in drifted for d in o.drift), 40)
            for o in drifted:
                for d in o.drift:
                    lines.append(f"  {o.target.ljust(width)}  {d.kind:<8} {d.path.ljust(path_width)}  {d.detail}")
        for status, title in (
            ("failed", "Failed:"),
            ("silent", f"No message within {self.seconds:g} s:"),
            ("skipped", "Skipped:"),
        ):
            chosen = [o for o in self.outcomes if o.status == status]
            if chosen:
                lines += ["", title]
                lines += [f"  {o.target}: {o.note}" if o.note else f"  {o.target}" for o in chosen]
        if self.clean:
            lines += ["", "Everything the server answered matches the spec."]
        return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------ drift
class _DriftLog:
    """The ``schema.drift`` events of the client (its drift monitor reports each one once), by target.

    The one place the probe learns about drift: the runtime structures every answer and message with
    the generated models and reports what does not match the spec (``hyperliquid_client.runtime.drift``).
    """

    def __init__(self, events: Any) -> None:
        self._lock = threading.Lock()
        self._found: dict[str, list[Drift]] = {}
        self._stop = events.subscribe("schema.drift", self._on_drift)

    def _on_drift(self, event: Event) -> None:
        detail = f"expected {event.get('expected')}, got {event.get('got')}"
        if event.get("kind") == "missing":
            detail = "a field the spec marks required is absent"
        elif event.get("value") is not None:
            detail += f" ({event.get('value')!r})"
        with self._lock:
            self._found.setdefault(str(event.get("endpoint")), []).append(
                Drift(str(event.get("kind")), str(event.get("path")), detail)
            )

    def of(self, target: str) -> list[Drift]:
        """What drifted in the answers or messages of ``target`` (``info.l2Book``, ``channel.trades``)."""
        with self._lock:
            return list(self._found.get(target, ()))

    def close(self) -> None:
        self._stop()


# ------------------------------------------------------------------------------------------------ pacing
def _paced(call: Callable[[], T], say: Callable[[str], None], sleep: Callable[[float], None] = time.sleep) -> T:
    """``call()``; when the weight budget holds it back past its timeout, wait for the budget and call again.

    The client keeps the budget (the spec's weights, the per-item surcharges of the answers, one backoff
    after a 429): a call it cannot send in time raises ``RateLimitedError`` saying when budget returns.
    """
    for attempt in range(_MAX_WAITS + 1):
        try:
            return call()
        except RateLimitedError as exc:
            if attempt == _MAX_WAITS:
                raise
            pause = exc.retry_after if exc.retry_after is not None else 1.0  # a 429: the client backs off
            say(f"waiting {pause:.1f} s for the weight budget")
            sleep(pause)
    raise AssertionError("unreachable")


# ------------------------------------------------------------------------------------------------ samples
def _fields(request: Mapping[str, Any], nest: str | None) -> Mapping[str, Any]:
    inner = request.get(nest) if nest else request
    return inner if isinstance(inner, Mapping) else {}


def sample_kwargs(
    entry: EndpointSpec | ChannelSpec, *, user: str | None = None, coins: Callable[[str], str] | None = None
) -> dict[str, Any]:
    """The keyword arguments of the spec sample's call of ``entry`` (Python names, wire values).

    ``user`` replaces the sample's ``user`` parameter; ``coins`` maps each ``coin`` parameter's
    sample value to the one to use.
    """
    if isinstance(entry, ChannelSpec):
        fields = _fields(CHANNEL_SAMPLES[entry.wire]["subscription"], None)
    else:
        sample = ENDPOINT_SAMPLES[entry.qualified_name]
        fields = _fields(sample["request"], sample["nest"])
    out: dict[str, Any] = {}
    for p in entry.params:
        if p.wire not in fields:
            continue
        value = fields[p.wire]
        if user is not None and p.wire == "user":
            value = user
        elif coins is not None and p.type == "coin" and isinstance(value, str):
            value = coins(value)
        out[p.name] = value
    return out


class _Coins:
    """Replaces a sample coin the server does not list by one it lists (perp or spot alike)."""

    def __init__(self) -> None:
        self.perps: list[str] = []
        self.spots: list[str] = []

    def learn(self, wire: str, raw: Any) -> None:
        universe = raw.get("universe") if isinstance(raw, dict) else None
        for item in universe if isinstance(universe, list) else []:
            if not isinstance(item, dict):
                continue
            if wire == "meta" and isinstance(item.get("name"), str):
                self.perps.append(item["name"])
            elif wire == "spotMeta" and isinstance(item.get("name"), str):
                self.spots.append(item["name"])  # "PURR/USDC", else "@<index>"

    def __call__(self, coin: str) -> str:
        spot = coin.startswith("@") or "/" in coin
        known = self.spots if spot else self.perps
        if not known or coin in known or (":" in coin and not spot):
            return coin
        return known[0]


# ------------------------------------------------------------------------------------------------ taps
class _Capture:
    """A caller for the generated info API that keeps the raw answer of each call (no cache)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.reset()

    def reset(self) -> None:
        """Forget the previous call."""
        self.body: dict[str, Any] | None = None
        self.raw: Any = None
        self.answered = False

    def call(self, endpoint: EndpointSpec, body: dict[str, Any], parse: Callable[[Any], T], timeout: float | None) -> T:
        self.body = body
        self.raw = self.inner.raw(endpoint, body, timeout)
        self.answered = True
        result: T = self.inner.drift.parse(parse, self.raw, endpoint.qualified_name)
        return result


@attrs.define
class _Seen:
    """The raw messages of one subscription (filled in the WebSocket thread)."""

    channel: ChannelSpec
    subscription: dict[str, Any] = attrs.field(factory=dict)
    raw: list[Any] = attrs.field(factory=list)


class _Tap:
    """A stream hub for the generated streams API whose decoders keep each raw message."""

    def __init__(self, hub: Any) -> None:
        self.hub = hub
        self.lock = threading.Lock()
        self.seen: dict[str, _Seen] = {}

    def subscribe(
        self, channel: ChannelSpec, subscription: dict[str, Any], decode: Callable[[Any], Any] | None, **options: Any
    ) -> Any:
        seen = self.seen.setdefault(channel.wire, _Seen(channel, dict(subscription)))

        def tapped(raw: Any) -> Any:
            with self.lock:
                if not seen.raw or seen.raw[-1] is not raw:  # the drift monitor may decode a message twice
                    seen.raw.append(raw)
            return raw if decode is None else decode(raw)

        return self.hub.subscribe(channel, subscription, tapped, **options)


# ------------------------------------------------------------------------------------------------ recording
def _utc_now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())


class _Recorder:
    """Writes answers as fixture files (``tests/data/fixtures/README.md``) into one folder."""

    def __init__(self, folder: Path | None, server: str) -> None:
        self.folder = folder
        self.server = server
        self.written: list[Path] = []
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    def write(self, stem: str, transport: str, request: Any, response: Any, notes: str) -> None:
        if self.folder is None:
            return
        n = 1
        while (self.folder / f"{stem}__{n}.json").exists():
            n += 1
        path = self.folder / f"{stem}__{n}.json"
        doc = {
            "source": f"hyperliquid spec probe:{self.server}",
            "transport": transport,
            "request": request,
            "response": response,
            "notes": f"Recorded by `hyperliquid spec probe` on {_utc_now()}. {notes}",
        }
        path.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
        self.written.append(path)


# ------------------------------------------------------------------------------------------------ the probe
Progress = Callable[[str], None]


def _info_order(endpoints: Sequence[EndpointSpec]) -> list[EndpointSpec]:
    return sorted(
        endpoints, key=lambda e: (e.wire not in _FIRST, _FIRST.index(e.wire) if e.wire in _FIRST else 0, e.wire)
    )


def probe(
    client: Any,
    *,
    user: str | None = None,
    seconds: float = 5.0,
    record: str | Path | None = None,
    timeout: float | None = None,
    progress: Progress | None = None,
    only: Sequence[str] = (),
) -> ProbeReport:
    """Probe the server of ``client`` (a :class:`~hyperliquid_client.client.Client`); see the module docs.

    ``only`` restricts the probe to targets whose wire name or qualified name (``info.l2Book``,
    ``channel.trades``) is listed.  Returns the report; a Ctrl-C stops the probe and marks the
    report ``interrupted``.
    """
    if user is not None and not _ADDRESS.match(user):
        raise InvalidInputError("user", "0x followed by 40 hex digits", user)
    if not seconds > 0:
        raise InvalidInputError("seconds", "a positive number of seconds", seconds)
    server = client.network.http_url
    report = ProbeReport(server, seconds=seconds)
    recorder = _Recorder(Path(record) if record is not None else None, server)
    say = progress or (lambda text: None)
    wanted = set(only)

    def selected(entry: EndpointSpec | ChannelSpec) -> bool:
        return not wanted or entry.wire in wanted or entry.qualified_name in wanted

    infos = _info_order([e for e in ENDPOINTS.values() if e.context == "info" and selected(e)])
    channels = [c for c in CHANNELS.values() if selected(c)]
    coins = _Coins()
    drift = _DriftLog(client.events)
    try:
        _probe_info(client, infos, report, recorder, drift, say, user=user, coins=coins, timeout=timeout)
        _probe_channels(client, channels, report, recorder, drift, say, user=user, coins=coins, seconds=seconds)
    except KeyboardInterrupt:
        report.interrupted = True
        say("interrupted: stopping")
    finally:
        drift.close()
    return report


def _probe_info(
    client: Any,
    endpoints: list[EndpointSpec],
    report: ProbeReport,
    recorder: _Recorder,
    drift: _DriftLog,
    say: Progress,
    *,
    user: str | None,
    coins: _Coins,
    timeout: float | None,
) -> None:
    capture = _Capture(client.caller)
    api = InfoAPI(capture)
    for i, endpoint in enumerate(endpoints, 1):
        outcome = Outcome(endpoint.qualified_name)
        report.outcomes.append(outcome)
        kwargs = sample_kwargs(endpoint, user=user, coins=coins)
        capture.reset()
        try:
            _paced(lambda: getattr(api, endpoint.name)(**kwargs, timeout=timeout), say)  # noqa: B023 - called now
        except InvalidResponseError as exc:  # drift that stops structuring (reported as drift too)
            outcome.note = str(exc)
            outcome.status = "failed"
        except HyperliquidError as exc:
            outcome.status, outcome.note = "failed", f"{type(exc).__name__}: {exc}"
        if capture.answered:
            coins.learn(endpoint.wire, capture.raw)
            recorder.write(
                endpoint.wire,
                "http",
                capture.body,
                capture.raw,
                "Sample parameters of the spec" + (" with --user." if user and "user" in kwargs else "."),
            )
        outcome.drift = drift.of(endpoint.qualified_name)
        if outcome.drift:
            outcome.status, outcome.note = "drift", ""
        elif outcome.status == "pending":
            outcome.status = "ok"
        say(f"[{i}/{len(endpoints)}] {endpoint.qualified_name}: {outcome.status}")


def _probe_channels(
    client: Any,
    channels: list[ChannelSpec],
    report: ProbeReport,
    recorder: _Recorder,
    drift: _DriftLog,
    say: Progress,
    *,
    user: str | None,
    coins: _Coins,
    seconds: float,
) -> None:
    tap = _Tap(client._hub)
    streams = Streams(tap)
    subs: list[tuple[ChannelSpec, Outcome, Any]] = []
    try:
        for channel in channels:
            outcome = Outcome(channel.qualified_name)
            report.outcomes.append(outcome)
            if channel.explorer:
                outcome.status, outcome.note = "skipped", "explorer feed (raw frames on the explorer's WebSocket)"
                continue
            if channel.user_param is not None and user is None:
                outcome.status, outcome.note = "skipped", "user channel (give --user)"
                continue
            try:
                sub = getattr(streams, channel.name)(**sample_kwargs(channel, user=user, coins=coins))
            except HyperliquidError as exc:
                outcome.status, outcome.note = "failed", f"{type(exc).__name__}: {exc}"
                continue
            subs.append((channel, outcome, sub))
        say(f"listening to {len(subs)} channels for {seconds:g} s")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(min(0.2, max(deadline - time.monotonic(), 0)))
    finally:
        for channel, outcome, sub in subs:
            names = _drain(sub)
            with suppress(Exception):
                sub.close()
            seen = tap.seen.get(channel.wire)
            _conclude(channel, outcome, seen, names, recorder, drift.of(channel.qualified_name))
            say(f"{channel.qualified_name}: {outcome.status} ({outcome.messages} messages)")


def _drain(sub: Any) -> list[str]:
    """Data channel names of the messages waiting in ``sub`` (in order)."""
    names: list[str] = []
    while True:
        try:
            item = sub.get_nowait()  # None once nothing is waiting (also after the end)
        except HyperliquidError:
            return names
        if item is None:
            return names
        if isinstance(item, Message):
            names.append(item.channel)


def _conclude(
    channel: ChannelSpec,
    outcome: Outcome,
    seen: _Seen | None,
    names: list[str],
    recorder: _Recorder,
    drift: list[Drift],
) -> None:
    raw = list(seen.raw) if seen is not None else []
    outcome.messages = len(raw)
    outcome.drift = drift
    if outcome.drift:
        outcome.status = "drift"
    elif not raw:
        outcome.status = "silent"
        outcome.note = (
            "the server sends nothing until something happens"
            if channel.initial == "none"
            else (f"expected a first message ({channel.initial})")
        )
    else:
        outcome.status = "ok"
    if raw and seen is not None:
        request = {"method": "subscribe", "subscription": seen.subscription}
        messages = [
            {"channel": names[i] if i < len(names) else channel.channels[0], "data": r} for i, r in enumerate(raw)
        ]
        ack = {"channel": "subscriptionResponse", "data": {"method": "subscribe", "subscription": seen.subscription}}
        recorder.write(
            f"ws_{channel.wire}",
            "ws",
            request,
            [ack, *messages],
            "The acknowledgement echoes the subscription as sent (the server's own echo is not recorded).",
        )


# ------------------------------------------------------------------------------------------------ command
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``hyperliquid spec probe`` (the server: the global ``--network``/``--url``)."""
    parser.add_argument("--user", help="address for user endpoints and channels (default: the samples' users)")
    parser.add_argument("--record", metavar="DIR", help="write every answer as a fixture file into DIR")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long to listen to the channels (default 5)")
    parser.add_argument(
        "--weight-per-minute",
        type=int,
        default=1200,
        help="the IP weight budget the client keeps (default 1200, the exchange's limit)",
    )
    parser.add_argument("--timeout", type=float, help="seconds per request (default: each endpoint's)")
    parser.add_argument("--only", action="append", default=[], help="probe only this endpoint or channel (repeatable)")
    parser.add_argument("--format", choices=["text", "json"], default="text", help="report format (default text)")


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run ``spec probe``; returns 0 (matches the spec), 1 (drift or failures), 2 (bad arguments), 130 (Ctrl-C)."""
    from hyperliquid_client.client import Client, ClientConfig
    from hyperliquid_client.runtime.ratelimit import RateLimitConfig

    def progress(text: str) -> None:
        sys.stderr.write(f"{text}\n")
        sys.stderr.flush()

    try:
        config = ClientConfig(warm=False, rate=RateLimitConfig(budget=args.weight_per_minute))
        with Client(
            getattr(args, "network", None),
            http_url=getattr(args, "url", None),
            ws_url=getattr(args, "ws_url", None),
            config=config,
        ) as client:
            report = probe(
                client,
                user=args.user,
                seconds=args.seconds,
                record=args.record,
                timeout=args.timeout,
                progress=progress,
                only=args.only,
            )
    except (InvalidInputError, ConfigError) as exc:
        sys.stderr.write(f"hyperliquid spec probe: {exc}\n")
        return 2
    if args.format == "json" or getattr(args, "json", False):
        out.write(json.dumps(report.to_json(), indent=2) + "\n")
    else:
        out.write(report.render())
    if report.interrupted:
        return 130
    return 0 if report.clean else 1
